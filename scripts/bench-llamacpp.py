#!/usr/bin/env python3
"""llama.cpp's side of `tloom bench engine`: the same prompt length, decode length and thread
count on the same GGUF, measured with llama-cpp-python.

Usage: python3 scripts/bench-llamacpp.py MODEL.gguf [--threads 2] [--runs 3] [--json]
       python3 scripts/bench-llamacpp.py MODEL.gguf --session [--state] [--json]
                                                             (bench loom-session)
Needs llama-cpp-python (pip install llama-cpp-python; it builds llama.cpp, about 6.5 min).
"""
import argparse
import json
import resource
import statistics
import time

from llama_cpp import Llama

PARAGRAPH = ("The loom weaves many threads at once. Each thread is a story that could have "
             "been, and the weaver chooses which to follow, which to cut, and which to tie back "
             "into the cloth. In 1804 Joseph Marie Jacquard showed a loom driven by punched cards; "
             "two centuries later the cards are prompts and the threads are continuations. ")


def one_run(llm, ids, decode_tokens):
    llm.reset()
    t0 = time.perf_counter()
    first = None
    count = 0
    for _ in llm.generate(ids, top_k=1, temp=0.0, repeat_penalty=1.0, reset=True):
        count += 1
        if first is None:
            first = time.perf_counter()
        if count == decode_tokens + 1:
            break
    end = time.perf_counter()
    return len(ids) / (first - t0), decode_tokens / (end - first), (first - t0) * 1e3


def session(llm, args):
    """The loom session of `tloom bench loom-session`, with llama.cpp's means of reuse:
    `generate` keeps the KV cache of the longest common token prefix, so every branch after
    the first skips the prompt's prefill. With --state, the followed branch's state is also
    saved when it is generated and loaded at the start of the next round, so that round
    prefills only what re-tokenizing the cursor text changed (as tloom's prefix cache does);
    copying the state costs more than it saves on this model, so it is not the default."""
    text = ""
    ids = []
    while len(ids) < 1000:
        text += PARAGRAPH
        ids = llm.tokenize(text.encode(), add_bos=False, special=True)
    cursor = llm.detokenize(ids[:1000]).decode("utf-8", errors="replace")
    ttft = []
    decode_s = 0.0
    generated = 0
    t0 = time.perf_counter()
    followed = None
    for rnd in range(6):
        start = time.perf_counter()
        if followed is not None:
            llm.load_state(followed)
        prompt = llm.tokenize(cursor.encode(), add_bos=False, special=True)
        first = None
        texts = []
        for b in range(4):
            llm.set_seed(rnd * 100 + b)
            out = []
            for tok in llm.generate(prompt, temp=0.8, top_p=1.0, top_k=0, min_p=0.0,
                                    repeat_penalty=1.0):
                if first is None:
                    first = time.perf_counter() - start
                if tok == llm.token_eos():
                    break
                out.append(tok)
                generated += 1
                if len(out) == 48:
                    break
            texts.append(llm.detokenize(out).decode("utf-8", errors="replace"))
            if b == 1 and args.state:
                followed = llm.save_state()
        ttft.append(first * 1e3)
        decode_s += time.perf_counter() - start - first
        cursor += texts[1]
    return {
        "engine": "llama.cpp (llama-cpp-python " + __import__("llama_cpp").__version__ + ")",
        "reuse": "prefix + state save/load" if args.state else "prefix",
        "threads": args.threads,
        "wall_s": time.perf_counter() - t0,
        "ttft_ms": ttft,
        "decode_tok_s": generated / decode_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--prompt-tokens", type=int, default=512)
    ap.add_argument("--decode-tokens", type=int, default=64)
    ap.add_argument("--ctx", type=int, default=2048, help="context window")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--session", action="store_true")
    ap.add_argument("--state", action="store_true",
                    help="session: also save/load the followed branch's state")
    args = ap.parse_args()
    llm = Llama(model_path=args.model, n_ctx=args.ctx, n_batch=512, n_threads=args.threads,
                n_threads_batch=args.threads, verbose=False)
    if args.session:
        result = session(llm, args)
        print(json.dumps(result, indent=2) if args.json else result)
        return
    text = ""
    ids = []
    while len(ids) < args.prompt_tokens:
        text += PARAGRAPH
        ids = llm.tokenize(text.encode(), add_bos=False, special=True)
    ids = ids[: args.prompt_tokens]
    runs = [one_run(llm, ids, args.decode_tokens) for _ in range(args.runs)]
    result = {
        "engine": "llama.cpp (llama-cpp-python " + __import__("llama_cpp").__version__ + ")",
        "threads": args.threads,
        "runs": args.runs,
        "prompt_tokens": len(ids),
        "prefill_tok_s": statistics.median(r[0] for r in runs),
        "decode_tok_s": statistics.median(r[1] for r in runs),
        "ttft_ms": statistics.median(r[2] for r in runs),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            print(f"{k:>16}: {v:.1f}" if isinstance(v, float) else f"{k:>16}: {v}")


if __name__ == "__main__":
    main()
