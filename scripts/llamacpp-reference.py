#!/usr/bin/env python3
"""llama.cpp's view of a GGUF file, as JSON, for tloom's parity tests and recordings.

  llamacpp-reference.py logits MODEL       stdin {"ids": [...]}
      -> {"logits": [[...], ...]}    one row of next-token logits per input position
  llamacpp-reference.py tokenize MODEL     stdin {"texts": [...]}
      -> {"ids": [[...], ...]}       add_bos=False, special=True (as tloom's prompts)
  llamacpp-reference.py greedy MODEL       stdin {"prompts": [...], "steps": 64}
      -> {"cases": [{"prompt", "prompt_ids", "greedy_ids", "gaps"}]}
         prompt_ids with BOS when the model adds it; gaps[i] is the logprob margin of
         greedy token i over the runner-up (near-ties diverge between engines).

Needs llama-cpp-python (scripts/start-test-server.sh install builds it into a venv).
"""
import json
import math
import sys

from llama_cpp import Llama


def log_softmax(row):
    m = max(row)
    lse = m + math.log(sum(math.exp(v - m) for v in row))
    return [v - lse for v in row]


def logits(model, request):
    ids = request["ids"]
    llm = Llama(model_path=model, n_ctx=max(64, len(ids) + 8), n_batch=max(64, len(ids)),
                logits_all=True, n_threads=2, verbose=False)
    llm.eval(ids)
    return {"logits": [[float(v) for v in llm.scores[i]] for i in range(len(ids))]}


def tokenize(model, request):
    llm = Llama(model_path=model, vocab_only=True, verbose=False)
    return {"ids": [llm.tokenize(t.encode("utf-8"), add_bos=False, special=True)
                    for t in request["texts"]]}


def greedy(model, request):
    steps = request.get("steps", 64)
    cases = []
    for prompt in request["prompts"]:
        # logits_all: without it this llama-cpp-python leaves gemma3's scores at zero.
        llm = Llama(model_path=model, n_ctx=steps + 8 + len(prompt.encode("utf-8")),
                    logits_all=True, n_threads=2, verbose=False)
        add_bos = llm.metadata.get("tokenizer.ggml.add_bos_token", "false") == "true"
        ids = llm.tokenize(prompt.encode("utf-8"), add_bos=add_bos, special=True)
        llm.eval(ids)
        out, gaps = [], []
        for _ in range(steps):
            row = [float(v) for v in llm.scores[llm.n_tokens - 1]]
            order = sorted(range(len(row)), key=lambda i: -row[i])[:2]
            lp = log_softmax(row)
            tok = order[0]
            if tok == llm.token_eos():
                break
            out.append(tok)
            gaps.append(round(lp[order[0]] - lp[order[1]], 4))
            llm.eval([tok])
        cases.append({"prompt": prompt, "prompt_ids": ids, "greedy_ids": out, "gaps": gaps})
    return {"cases": cases, "source": f"llama-cpp-python {__import__('llama_cpp').__version__}"}


def main():
    command, model = sys.argv[1], sys.argv[2]
    request = json.load(sys.stdin)
    result = {"logits": logits, "tokenize": tokenize, "greedy": greedy}[command](model, request)
    json.dump(result, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
