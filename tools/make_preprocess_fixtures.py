#!/usr/bin/env python3
"""Makes tests/fixtures/preprocess/transformers.safetensors: what transformers' LLaVA-OneVision video
processor computes on the real frames stored in tests/fixtures/preprocess/reference.safetensors.

Two torchvision resizes of a uint8 tensor give different bytes:
  - torchvision.transforms.functional.resize (the v1 API, used by tools/make_fixtures.py for
    reference.safetensors) converts to float32, runs F.interpolate(bicubic, antialias=True), clamps
    and rounds half to even;
  - torchvision.transforms.v2.functional.resize (what transformers calls) resizes uint8 natively on
    CPU with torch's integer kernel (int16 weights, uint8 between the two passes).
This file stores the v2 bytes (frame_{i}_native_{size}) and the processor's own float output:
  pixel_values_{i}_70_clip    [1, 1, 3, 70, 70]   class defaults (OpenAI-CLIP mean/std), size 70x70
  pixel_values_1_384_half     [1, 1, 3, 384, 384] released checkpoints' mean = std = 0.5, size 384x384

Run on the GPU machine (CPU only, nothing downloaded; transformers 5.17, torch 2.11, torchvision 0.26):
    python3 tools/make_preprocess_fixtures.py --fixtures tests/fixtures
"""
import argparse
import json
import os

import torch
import torchvision
import transformers
from safetensors.torch import load_file, save_file
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as tv1
from torchvision.transforms.v2 import functional as tv2


def log(*args):
    print("[make_preprocess_fixtures]", *args, flush=True)


def video_processor(**overrides):
    return transformers.LlavaOnevisionVideoProcessor(**overrides)


def run_processor(processor, frame_hwc):
    video = frame_hwc.unsqueeze(0)  # [T=1, H, W, 3]
    out = processor(videos=[video], return_tensors="pt", input_data_format="channels_last")
    return out["pixel_values_videos"].contiguous()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixtures", default="tests/fixtures")
    parser.add_argument("--out", default=None, help="output file (default: FIXTURES/preprocess/transformers.safetensors)")
    args = parser.parse_args()
    folder = os.path.join(args.fixtures, "preprocess")
    reference = load_file(os.path.join(folder, "reference.safetensors"))
    capability = torch.backends.cpu.get_cpu_capability()
    log("torch", torch.__version__, "torchvision", torchvision.__version__, "transformers",
        transformers.__version__, "cpu capability", capability)

    tensors = {}
    diffs = {}
    index = 0
    while f"frame_{index}" in reference:
        frame = reference[f"frame_{index}"]
        chw = frame.permute(2, 0, 1).contiguous()
        for size in (384, 70):
            v1 = tv1.resize(chw, [size, size], interpolation=InterpolationMode.BICUBIC, antialias=True)
            stored = reference[f"frame_{index}_resized_{size}"]
            assert torch.equal(v1.permute(1, 2, 0), stored), f"v1 resize no longer gives frame_{index}_resized_{size}"
            native = tv2.resize(chw, [size, size], interpolation=InterpolationMode.BICUBIC, antialias=True)
            tensors[f"frame_{index}_native_{size}"] = native.permute(1, 2, 0).contiguous()
            delta = (native.int() - v1.int()).abs()
            diffs[f"{index}_{size}"] = [int((delta > 0).sum()), int(delta.max())]
        index += 1
    log("v2 vs v1 (differing bytes, max diff):", diffs)

    clip = video_processor(size={"height": 70, "width": 70})
    for i in range(index):
        pixels = run_processor(clip, reference[f"frame_{i}"])
        tensors[f"pixel_values_{i}_70_clip"] = pixels
        native = tensors[f"frame_{i}_native_70"].permute(2, 0, 1).float()
        mean = torch.tensor(clip.image_mean).view(3, 1, 1) * 255.0
        std = torch.tensor(clip.image_std).view(3, 1, 1) * 255.0
        log(f"frame {i} 70 clip: max |processor - fused(native)|",
            float((pixels[0, 0] - (native - mean) / std).abs().max()))
    half = video_processor(image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    tensors["pixel_values_1_384_half"] = run_processor(half, reference["frame_1"])
    log("released-checkpoint-like config:", half.to_json_string())
    log("class-default config:", video_processor().to_json_string())

    out = args.out or os.path.join(folder, "transformers.safetensors")
    save_file(tensors, out, metadata={
        "transformers": transformers.__version__, "torch": torch.__version__,
        "torchvision": torchvision.__version__, "cpu_capability": capability,
        "made_by": "tools/make_preprocess_fixtures.py", "v2_vs_v1_diffs": json.dumps(diffs)})
    log("wrote", out, os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
