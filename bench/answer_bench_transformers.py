#!/usr/bin/env python3
"""transformers' side of bench/answer_bench.cpp's recompute curve, on the same checkpoint and
card: answering by full-context recompute, the way an offline pipeline does it. For each length
of N frames: one forward over the whole prompt (14 tokens of prompt opening, N x 196 video
tokens, a 30-token question) with a fresh cache, the last token's logits, the argmax read back:
time to first token and peak GPU memory, until the card runs out of memory (the longest length
it fits ends the curve). bf16, sdpa. Random ids stand for the video tokens: the language model's
cost does not depend on them (vision encoding is not included on either side).

    python3 bench/answer_bench_transformers.py --model /tmp/qwen2-7b-random --frames 32,256,512
"""
import argparse
import json
import time

import torch
import transformers

SINK_TOKENS = 14
FRAME_TOKENS = 196


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--frames", default="32,256,512,1024")
    parser.add_argument("--question-tokens", type=int, default=30)
    args = parser.parse_args()
    model = transformers.AutoModelForCausalLM.from_pretrained(
        args.model, dtype=torch.bfloat16, attn_implementation="sdpa").cuda().eval()
    vocab = model.config.vocab_size
    results = []
    with torch.no_grad():
        warm = torch.randint(0, vocab, (1, 64), device="cuda")
        model(input_ids=warm, use_cache=True, logits_to_keep=1)
        for frames in [int(x) for x in args.frames.split(",")]:
            length = SINK_TOKENS + frames * FRAME_TOKENS + args.question_tokens
            ids = torch.randint(0, vocab, (1, length), device="cuda")
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            row = {"peer": "transformers", "path": "recompute", "frames": frames,
                   "prompt_tokens": length}
            try:
                def first_token():
                    out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
                    return int(out.logits[0, -1].argmax())

                first_token()  # warm-up at this length
                torch.cuda.synchronize()
                start = time.perf_counter()
                first_token()
                row["ttft_ms"] = (time.perf_counter() - start) * 1000
                row["peak_gib"] = torch.cuda.max_memory_allocated() / 2 ** 30
            except torch.OutOfMemoryError as error:
                row["error"] = "out of memory: " + str(error).splitlines()[0][:160]
            results.append(row)
            print(json.dumps(row), flush=True)
            if "error" in row:
                break
    print(json.dumps({"transformers": transformers.__version__, "torch": torch.__version__,
                      "card": torch.cuda.get_device_name(), "results": results}))


if __name__ == "__main__":
    main()
