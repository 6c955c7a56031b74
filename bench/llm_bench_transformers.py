#!/usr/bin/env python3
"""transformers' side of bench/llm_bench.cpp, on the same checkpoint and card: prefill tokens/s
(one forward over random ids with a fresh cache, logits of the last token only) and decode
tokens/s (the usual loop: a DynamicCache prefilled with a context, then one greedy token per
step for every row of the batch), with peak GPU memory. bf16, sdpa. Prints one JSON line per
measurement and a summary line.

    python3 bench/llm_bench_transformers.py --model /tmp/qwen2-7b-random
"""
import argparse
import json
import time

import torch
import transformers


def timed(run, iterations):
    run()  # warm-up
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(iterations):
        run()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / iterations


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--prefill", default="1024,8192,32768")
    parser.add_argument("--context", type=int, default=4096)
    parser.add_argument("--batches", default="1,16")
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=3)
    args = parser.parse_args()
    model = transformers.AutoModelForCausalLM.from_pretrained(
        args.model, dtype=torch.bfloat16, attn_implementation="sdpa").cuda().eval()
    vocab = model.config.vocab_size
    results = []
    with torch.no_grad():
        for length in [int(x) for x in args.prefill.split(",")]:
            ids = torch.randint(0, vocab, (1, length), device="cuda")
            torch.cuda.reset_peak_memory_stats()
            seconds = timed(lambda: model(input_ids=ids, use_cache=True, logits_to_keep=1),
                            args.iterations)
            results.append({"peer": "transformers", "work": "prefill", "tokens": length,
                            "tokens_per_second": length / seconds,
                            "peak_gib": torch.cuda.max_memory_allocated() / 2 ** 30})
            print(json.dumps(results[-1]), flush=True)
        for batch in [int(x) for x in args.batches.split(",")]:
            ids = torch.randint(0, vocab, (batch, args.context), device="cuda")
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()

            def decode():
                try:
                    cache = transformers.DynamicCache(config=model.config)
                except TypeError:
                    cache = transformers.DynamicCache()
                out = model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
                token = out.logits[:, -1].argmax(-1, keepdim=True)
                torch.cuda.synchronize()
                start = time.perf_counter()
                for _ in range(args.steps):
                    out = model(input_ids=token, past_key_values=cache, use_cache=True)
                    token = out.logits[:, -1].argmax(-1, keepdim=True)
                torch.cuda.synchronize()
                return time.perf_counter() - start

            decode()  # warm-up
            seconds = min(decode() for _ in range(2))
            results.append({"peer": "transformers", "work": "decode", "batch": batch,
                            "context": args.context, "tokens_per_second": batch * args.steps / seconds,
                            "peak_gib": torch.cuda.max_memory_allocated() / 2 ** 30})
            print(json.dumps(results[-1]), flush=True)
    print(json.dumps({"transformers": transformers.__version__, "torch": torch.__version__,
                      "card": torch.cuda.get_device_name(), "results": results}))


if __name__ == "__main__":
    main()
