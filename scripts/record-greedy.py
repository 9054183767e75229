#!/usr/bin/env python3
"""Record llama.cpp's greedy continuation (token ids) of a few prompts, for the engine tests.

Usage: python3 scripts/record-greedy.py MODEL.gguf tests/data/smollm2_greedy.json
Needs llama-cpp-python. Writes ids only.
"""
import json
import sys

from llama_cpp import Llama

PROMPTS = [
    "The history of the printing press",
    "def fibonacci(n):\n",
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
]
STEPS = 24


def main() -> None:
    llm = Llama(model_path=sys.argv[1], n_ctx=512, n_threads=2, verbose=False)
    cases = []
    for prompt in PROMPTS:
        ids = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        llm.reset()
        out = []
        for tok in llm.generate(ids, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0):
            if tok == llm.token_eos() or len(out) == STEPS:
                break
            out.append(tok)
        cases.append({"prompt": prompt, "prompt_ids": ids, "greedy_ids": out})
    version = __import__("llama_cpp").__version__
    lines = [json.dumps(c, ensure_ascii=False) for c in cases]
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write('{"model": "SmolLM2-135M-Instruct.Q4_1.gguf",\n')
        f.write(f' "source": "llama-cpp-python {version}, greedy, {STEPS} tokens max",\n')
        f.write(' "cases": [\n  ' + ",\n  ".join(lines) + "\n ]}\n")


if __name__ == "__main__":
    main()
