#!/usr/bin/env python3
"""transformers' side of bench/vision_bench.cpp: frames/s of SiglipVisionModel (sdpa) + the
LLaVA-OneVision projector + apply_pooling at LLaVA-OneVision-7B's shapes with random weights, on
one card, at batch 1, 16 and 64; with preprocessing (LlavaOnevisionVideoProcessor on uint8 frames
of --width x --height: torchvision resize + normalise) and without (pixels already on the card).
Prints one JSON line per batch and a summary with the card's measured bf16 matmul rate.

    python3 bench/vision_bench_transformers.py --layers 27 --batches 1,16,64
"""
import argparse
import json
import math
import time

import torch
import transformers
from torch import nn


def matmul_rate(device, dtype):
    n = 8192
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    torch.matmul(a, b)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(50):
        torch.matmul(a, b)
    torch.cuda.synchronize()
    return 2 * n ** 3 * 50 / (time.perf_counter() - start)


def flops_per_frame(layers, hidden=1152, inner=4304, patches=729, text_hidden=3584):
    conv = 2 * patches * 3 * 14 * 14 * hidden
    layer = 2 * patches * hidden * hidden * 4 + 4 * patches * patches * hidden + 4 * patches * hidden * inner
    projector = 2 * patches * (hidden * text_hidden + text_hidden * text_hidden)
    return conv + layers * layer + projector


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, default=27)
    parser.add_argument("--batches", default="1,16,64")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    args = parser.parse_args()
    device, dtype = "cuda", torch.bfloat16
    torch.manual_seed(0)
    config = transformers.SiglipVisionConfig(
        hidden_size=1152, intermediate_size=4304, num_hidden_layers=args.layers, num_attention_heads=16,
        image_size=384, patch_size=14, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6)
    tower = transformers.SiglipVisionModel._from_config(config, attn_implementation="sdpa",
                                                        dtype=dtype).to(device).eval()
    projector = nn.Sequential(nn.Linear(1152, 3584), nn.GELU(), nn.Linear(3584, 3584)).to(device, dtype).eval()
    processor = transformers.LlavaOnevisionVideoProcessor(image_mean=[0.5] * 3, image_std=[0.5] * 3)

    def pool(features):  # LlavaOnevisionModel.apply_pooling
        frames, _, dim = features.shape
        grid = features.view(frames, 27, 27, dim).permute(0, 3, 1, 2)
        grid = nn.functional.interpolate(grid, size=[math.ceil(27 / 2)] * 2, mode="bilinear")
        return grid.permute(0, 2, 3, 1).reshape(frames, -1, dim)

    def encode(pixels):
        hidden = tower(pixels, output_hidden_states=True).hidden_states[-1]
        return pool(projector(hidden))

    peak = matmul_rate(device, dtype)
    per_frame = flops_per_frame(args.layers)
    results = []
    for batch in [int(b) for b in args.batches.split(",")]:
        video = torch.randint(0, 256, (batch, args.height, args.width, 3), dtype=torch.uint8).numpy()

        def with_preprocessing():
            pixels = processor(videos=[video], return_tensors="pt")["pixel_values_videos"][0]
            return encode(pixels.to(device, dtype))

        pixels = processor(videos=[video], return_tensors="pt")["pixel_values_videos"][0].to(device, dtype)
        timings = {}
        with torch.no_grad():
            for name, run in (("full", with_preprocessing), ("model_only", lambda: encode(pixels))):
                for _ in range(2):
                    run()
                torch.cuda.synchronize()
                start = time.perf_counter()
                for _ in range(args.iterations):
                    run()
                torch.cuda.synchronize()
                timings[name] = (time.perf_counter() - start) / args.iterations
        fps = batch / timings["full"]
        results.append({"batch": batch, "frames_per_second": fps,
                        "frames_per_second_model_only": batch / timings["model_only"],
                        "tflops": fps * per_frame / 1e12, "share_of_matmul_rate": fps * per_frame / peak})
        print(json.dumps(results[-1]), flush=True)
    print(json.dumps({"transformers": transformers.__version__, "torch": torch.__version__,
                      "card": torch.cuda.get_device_name(), "tower_layers": args.layers,
                      "gflop_per_frame": per_frame / 1e9, "matmul_tflops": peak / 1e12, "results": results}))


if __name__ == "__main__":
    main()
