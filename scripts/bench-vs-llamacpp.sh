#!/usr/bin/env bash
# tloom's local engine against llama.cpp on the same GGUF, the same threads and the same
# work, in one go: `tloom bench loom-session` and `tloom bench engine` beside
# scripts/bench-llamacpp.py (llama-cpp-python, its own prefix reuse and state save/load).
# Prints both results as JSON and the ratios; the table in docs/performance.md comes from it.
#
#   scripts/bench-vs-llamacpp.sh            # session and engine benchmarks
#   scripts/bench-vs-llamacpp.sh session    # only the loom session
#   TLOOM_BENCH_MODEL=gemma3-270m scripts/bench-vs-llamacpp.sh   # another built-in model
#   scripts/bench-vs-llamacpp.sh shapes     # loom sessions on the bigger random-weight
#                                           # shapes (tloom bench shape-file), with ratios
#
# Builds tloom in release mode, fetches the default model (tloom model fetch) and reuses the
# llama-cpp-python venv of scripts/start-test-server.sh (built there on first use, minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

what="${1:-all}"
threads="${TLOOM_BENCH_THREADS:-2}"
log() { echo "bench-vs-llamacpp: $*" >&2; }

cargo build --release --quiet
tloom=target/release/tloom
scripts/start-test-server.sh install
cache_root="${TLOOM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tloom}"
python="${TLOOM_LLAMA_VENV:-$cache_root/venvs/llama-server}/bin/python"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

if [[ "$what" == shapes ]]; then
    for shape in ${TLOOM_BENCH_SHAPES:-llama3-1b qwen3-4b}; do
        file="$("$tloom" bench shape-file --shape "$shape" | tail -n 1)"
        log "$shape: tloom"
        "$tloom" --threads "$threads" bench loom-session --model "$file" --json >"$out/tloom-$shape.json"
        log "$shape: llama.cpp"
        # Random weights write tokens like `<x123>` that come back as 7 tokens when the
        # cursor text is tokenized again, so the text grows past 2048 tokens: both engines
        # get 4096 positions (the shape files' context) and do the same work.
        "$python" scripts/bench-llamacpp.py "$file" --threads "$threads" --session --ctx 4096 \
            --json >"$out/llamacpp-$shape.json"
        python3 - "$shape" "$out/tloom-$shape.json" "$out/llamacpp-$shape.json" <<'PY'
import json, sys
name, t, l = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
print(f"{name}: loom session wall {t['wall_s']:.2f} s vs {l['wall_s']:.2f} s, ratio "
      f"{t['wall_s'] / l['wall_s']:.2f}; worst cached first token {max(t['ttft_ms'][1:]):.0f} vs "
      f"{max(l['ttft_ms'][1:]):.0f} ms; decode {t['decode_tok_s']:.1f} vs {l['decode_tok_s']:.1f} "
      f"tok/s; peak RSS {t['peak_rss_mb']:.0f} vs {l['peak_rss_mb']:.0f} MB")
print(json.dumps({"tloom": t, "llama.cpp": l}))
PY
    done
    exit 0
fi

model="$("$tloom" model fetch ${TLOOM_BENCH_MODEL:-} 2>/dev/null | tail -n 1)"
[[ -f "$model" ]] || { log "could not fetch the model ${TLOOM_BENCH_MODEL:-(default)}"; exit 1; }
log "model: $model"

if [[ "$what" == all || "$what" == session ]]; then
    log "loom session: tloom"
    "$tloom" --threads "$threads" bench loom-session --model "$model" --json >"$out/tloom-session.json"
    log "loom session: llama.cpp, prefix reuse"
    "$python" scripts/bench-llamacpp.py "$model" --threads "$threads" --session --json \
        >"$out/llamacpp-session.json"
    log "loom session: llama.cpp, prefix reuse and state save/load"
    "$python" scripts/bench-llamacpp.py "$model" --threads "$threads" --session --state --json \
        >"$out/llamacpp-session-state.json"
fi
if [[ "$what" == all || "$what" == engine ]]; then
    log "engine: tloom"
    "$tloom" --threads "$threads" bench engine --model "$model" --json >"$out/tloom-engine.json"
    log "engine: llama.cpp"
    "$python" scripts/bench-llamacpp.py "$model" --threads "$threads" --json \
        >"$out/llamacpp-engine.json"
fi

python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
def load(name):
    path = os.path.join(out, name)
    return json.load(open(path)) if os.path.exists(path) else None
t, l = load("tloom-session.json"), load("llamacpp-session.json")
s = load("llamacpp-session-state.json")
if t and l:
    # Compare with llama.cpp's faster way of reusing its cache.
    if s and s["wall_s"] < l["wall_s"]:
        l, s = s, l
    print("loom session (1000-token root, 6 rounds of 4 x 48 tokens)")
    print(json.dumps({"tloom": t, "llama.cpp": l, "llama.cpp, other reuse": s}, indent=2))
    cached = lambda r: max(r["ttft_ms"][1:])
    print(f"  wall            {t['wall_s']:7.2f} s  vs {l['wall_s']:7.2f} s   ratio {t['wall_s'] / l['wall_s']:.2f}")
    print(f"  first token, cached ancestry (worst of rounds 2-6)  {cached(t):6.0f} ms vs {cached(l):6.0f} ms")
    print(f"  decode          {t['decode_tok_s']:7.1f} tok/s vs {l['decode_tok_s']:7.1f}   ratio {t['decode_tok_s'] / l['decode_tok_s']:.2f}")
    print(f"  peak RSS        {t['peak_rss_mb']:7.0f} MB  vs {l['peak_rss_mb']:7.0f} MB")
t, l = load("tloom-engine.json"), load("llamacpp-engine.json")
if t and l:
    print("engine (512-token prompt, 64 decoded tokens)")
    print(json.dumps({"tloom": t, "llama.cpp": l}, indent=2))
    print(f"  prefill         {t['prefill_tok_s']:7.1f} tok/s vs {l['prefill_tok_s']:7.1f}   ratio {t['prefill_tok_s'] / l['prefill_tok_s']:.2f}")
    print(f"  decode, 1 stream {t['decode_tok_s']:6.1f} tok/s vs {l['decode_tok_s']:7.1f}   ratio {t['decode_tok_s'] / l['decode_tok_s']:.2f}")
    for (n, rate), (_, x) in zip(t["batched_decode_tok_s"], t["batched_speedup"]):
        print(f"  decode, batch of {n}: {rate:6.1f} tok/s aggregate = {x:.2f} x tloom's single stream (median of per-run ratios)")
PY
