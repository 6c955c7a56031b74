#!/usr/bin/env python3
"""CUDA bf16 parity of vigil's Qwen2 against transformers bf16 on the same card.

For each tiny text fixture: transformers 5.17 (sdpa, bf16, cuda) computes logits and a 32-token
greedy continuation; `vigil logits --device cuda --dtype bf16 --generate 32` computes the same;
we require relative error <= 2e-2 (max |Δlogit| / max |logit|) and identical greedy ids.
The LLaVA-OneVision fixture (llava_ov_tiny) runs with its video (pixel_values_videos) through
LlavaOnevisionForConditionalGeneration; its pooled video features are compared too.
Run on the GPU machine (tools/gpu_check.sh calls it):
    python3 tools/cuda_parity.py --vigil build-cuda/service/vigil --fixtures tests/fixtures
Exits non-zero on any failure and prints one JSON line per fixture.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import torch
import transformers
from safetensors.torch import load_file

FIXTURES = ["qwen2_gqa3_untied", "qwen2_odd5_tied", "qwen2_bf16"]
TOLERANCE = 2e-2


def reference(folder, input_ids, steps):
    model = transformers.AutoModelForCausalLM.from_pretrained(
        folder, dtype=torch.bfloat16, attn_implementation="sdpa").cuda().eval()
    ids = input_ids.cuda()
    with torch.no_grad():
        logits = model(input_ids=ids).logits.float().cpu()
        greedy = model.generate(input_ids=ids, max_new_tokens=steps, min_new_tokens=steps, do_sample=False,
                                eos_token_id=None, pad_token_id=0).cpu()
    return logits, greedy


def reference_llava(folder, inputs, steps):
    model = transformers.LlavaOnevisionForConditionalGeneration.from_pretrained(
        folder, dtype=torch.bfloat16, attn_implementation="sdpa").cuda().eval()
    ids = inputs["input_ids"].cuda()
    pixels = inputs["pixel_values_videos"].cuda().to(torch.bfloat16)
    with torch.no_grad():
        inner = model.model
        features = inner.get_video_features(pixels, vision_feature_layer=model.config.vision_feature_layer,
                                            vision_feature_select_strategy="full").pooler_output
        features = features.float().cpu().view(pixels.shape[1], -1, features.shape[-1])
        logits = model(input_ids=ids, pixel_values_videos=pixels).logits.float().cpu()
        greedy = model.generate(input_ids=ids, pixel_values_videos=pixels, max_new_tokens=steps,
                                min_new_tokens=steps, do_sample=False, eos_token_id=None, pad_token_id=0).cpu()
    return logits, greedy, features


def check_llava(args):
    name = "llava_ov_tiny"
    folder = os.path.join(args.fixtures, name)
    inputs_path = os.path.join(folder, "reference.safetensors")
    ref_logits, ref_greedy, ref_features = reference_llava(folder, load_file(inputs_path), args.steps)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.safetensors")
        subprocess.run([args.vigil, "logits", "--model", folder, "--inputs", inputs_path, "--output", out,
                        "--generate", str(args.steps), "--device", "cuda", "--dtype", "bf16"], check=True)
        ours = load_file(out)
    error = float((ours["logits"] - ref_logits).abs().max() / ref_logits.abs().max())
    feature_error = float((ours["video_features"] - ref_features).abs().max() / ref_features.abs().max())
    same = bool(torch.equal(ours["greedy_ids"], ref_greedy))
    ok = error <= TOLERANCE and feature_error <= TOLERANCE and same
    print(json.dumps({"fixture": name, "relative_error": error, "video_features_relative_error": feature_error,
                      "greedy_identical": same, "ok": ok, "card": torch.cuda.get_device_name(),
                      "transformers": transformers.__version__}), flush=True)
    return ok


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vigil", required=True)
    parser.add_argument("--fixtures", default="tests/fixtures")
    parser.add_argument("--steps", type=int, default=32)
    args = parser.parse_args()
    failures = 0
    for name in FIXTURES:
        folder = os.path.join(args.fixtures, name)
        inputs_path = os.path.join(folder, "reference.safetensors")
        input_ids = load_file(inputs_path)["input_ids"]
        ref_logits, ref_greedy = reference(folder, input_ids, args.steps)
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "out.safetensors")
            subprocess.run([args.vigil, "logits", "--model", folder, "--inputs", inputs_path, "--output", out,
                            "--generate", str(args.steps), "--device", "cuda", "--dtype", "bf16"], check=True)
            ours = load_file(out)
        error = float((ours["logits"] - ref_logits).abs().max() / ref_logits.abs().max())
        same = bool(torch.equal(ours["greedy_ids"], ref_greedy))
        ok = error <= TOLERANCE and same
        failures += not ok
        print(json.dumps({"fixture": name, "relative_error": error, "greedy_identical": same, "ok": ok,
                          "card": torch.cuda.get_device_name(), "transformers": transformers.__version__}),
              flush=True)
    failures += not check_llava(args)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
