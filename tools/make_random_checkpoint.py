#!/usr/bin/env python3
"""Writes a random-weight Hugging Face checkpoint of Qwen2-7B's shapes (config.json +
safetensors, bf16, about 15 GB) for the LLM benchmarks; never commit it. Runs on the GPU
machine (transformers 5.17): the weights are drawn on the card, then saved.

    python3 tools/make_random_checkpoint.py --out /tmp/qwen2-7b-random [--layers 28]
"""
import argparse
import json
import os
import time

import torch
import transformers

# Qwen2-7B-Instruct's config.json (the text model of LLaVA-OneVision-7B has the same shapes).
QWEN2_7B = dict(vocab_size=152064, hidden_size=3584, intermediate_size=18944,
                num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4,
                max_position_embeddings=32768, rope_theta=1000000.0, rms_norm_eps=1e-6,
                tie_word_embeddings=False, hidden_act="silu", bos_token_id=151643,
                eos_token_id=151645)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--layers", type=int, default=28)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if os.path.exists(os.path.join(args.out, "config.json")):
        print(f"{args.out} exists, kept")
        return
    start = time.perf_counter()
    torch.manual_seed(args.seed)
    config = transformers.Qwen2Config(**{**QWEN2_7B, "num_hidden_layers": args.layers})
    with torch.device("cuda"):
        model = transformers.Qwen2ForCausalLM._from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(args.out, max_shard_size="4GB")
    with open(os.path.join(args.out, "vigil_random_checkpoint.json"), "w") as f:
        json.dump({"shapes": "Qwen2-7B", "layers": args.layers, "seed": args.seed,
                   "transformers": transformers.__version__, "torch": torch.__version__}, f)
    size = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"wrote {args.out}: {size / 1e9:.2f} GB in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
