#!/usr/bin/env python3
"""Record llama.cpp's token ids for the engine's tokenizer test texts.

Usage: python3 scripts/record-token-ids.py MODEL.gguf tests/data/smollm2_token_ids.json
Needs llama-cpp-python (pip install llama-cpp-python). Writes ids only.
"""
import json
import sys

from llama_cpp import Llama

TEXTS = [
    "Hello, world!",
    "The year 2024 had 365 days, not 12345.",
    "3.14159 and 1,000,000",
    "naïve café, Straße, Ελληνικά, русский, 日本語のテキスト",
    "emoji: 🦀🚀👩‍💻 and ❤️",
    " leading space",
    "double  spaces  here",
    "   three leading",
    "tabs\tand\t\ttwo tabs",
    "CRLF line\r\nnext line\r\n",
    "new\n\nlines\n",
    "def add(a, b):\n    return a + b  # sum\n",
    "fn main() { println!(\"{}\", x[0]); }",
    "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
    "text<|endoftext|>more",
    "don't won't it's I'M",
    "",
]


def main() -> None:
    llm = Llama(model_path=sys.argv[1], vocab_only=True, verbose=False)
    cases = [
        {"text": t, "ids": llm.tokenize(t.encode("utf-8"), add_bos=False, special=True)}
        for t in TEXTS
    ]
    version = __import__("llama_cpp").__version__
    lines = [json.dumps({"text": c["text"], "ids": c["ids"]}, ensure_ascii=False) for c in cases]
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        out.write('{"model": "SmolLM2-135M-Instruct.Q4_1.gguf",\n')
        out.write(f' "source": "llama-cpp-python {version}, add_bos=False, special=True",\n')
        out.write(' "cases": [\n  ' + ",\n  ".join(lines) + "\n ]}\n")


if __name__ == "__main__":
    main()
