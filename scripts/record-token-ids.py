#!/usr/bin/env python3
"""Record llama.cpp's token ids for the engine's tokenizer test texts: a fixed set of hard
texts, then RANDOM seeded random strings (numbers, emoji, CJK, code, whitespace runs, chat
markers, combining accents, mixed).

Usage: python3 scripts/record-token-ids.py MODEL.gguf OUT.json [RANDOM]
  e.g. tests/data/smollm2_token_ids.json, tests/data/gemma3_token_ids.json
Needs llama-cpp-python (scripts/start-test-server.sh install). Writes ids only.
"""
import json
import os
import random
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
    "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n",
    "<bos>text<eos> and <unk> <pad>",
    "e\u0301 a\u0308 n\u0303 combining: Cafe\u0301 Zoe\u0308",
    "tabs\t\t\tand    four spaces\n\n\n\nfour newlines",
    "  \n  \n\t \n",
    "0123456789 3.141592653589793 -42 1e-9 0x1F 1,234,567.89",
    "中文文本，日本語の文章、한국어 텍스트。",
    "🦀🦀🦀 👨‍👩‍👧‍👦 🇫🇷 ✨️",
    "<html><body class=\"x\">&amp;</body></html>",
    "SELECT * FROM t WHERE a >= 10 AND b <> 'x';",
    "    if x:\n        return [i ** 2 for i in range(10)]\n",
    "Ünïcödé ÀÉÎÕÜ ßẞ ﬁ ﬂ Ⅻ ½ ²",
]

POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789",
    "     \t\n\r",
    ".,;:!?'\"()[]{}<>/\\|@#$%^&*-_=+~`",
    "éèêëàâäôöûüçñßøåæœ",
    "\u0301\u0308\u0303\u0327",
    "中文日本語한국어テキスト",
    "🦀🚀👩‍💻❤️✨🇫🇷",
    "αβγδεζηθλμπσωжзийклмн",
]
MARKERS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<start_of_turn>", "<end_of_turn>",
           "<bos>", "<eos>", "\n\n", "  "]


def random_texts(n, seed=17):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            if rng.random() < 0.08:
                parts.append(rng.choice(MARKERS))
            else:
                pool = rng.choice(POOLS)
                parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 8))))
        out.append("".join(parts))
    return out


def main() -> None:
    llm = Llama(model_path=sys.argv[1], vocab_only=True, verbose=False)
    texts = TEXTS + random_texts(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    cases = [
        {"text": t, "ids": llm.tokenize(t.encode("utf-8"), add_bos=False, special=True)}
        for t in texts
    ]
    version = __import__("llama_cpp").__version__
    lines = [json.dumps({"text": c["text"], "ids": c["ids"]}, ensure_ascii=False) for c in cases]
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        out.write(f'{{"model": "{os.path.basename(sys.argv[1])}",\n')
        out.write(f' "source": "llama-cpp-python {version}, add_bos=False, special=True",\n')
        out.write(' "cases": [\n  ' + ",\n  ".join(lines) + "\n ]}\n")


if __name__ == "__main__":
    main()
