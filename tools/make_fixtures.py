#!/usr/bin/env python3
"""Makes the tiny random checkpoints and reference outputs that vigil's model tests compare
against, with Hugging Face transformers on CPU in fp32 (eager attention).

Run on the GPU machine (it has transformers 5.17 and torch 2.11; nothing is downloaded):
    python3 tools/make_fixtures.py --frames .gpu/fixture_frames --out tests/fixtures
Every fixture folder holds a loadable checkpoint (config.json + model.safetensors in the hub
key layout, as save_pretrained writes it) and reference.safetensors with the inputs and
outputs; VERSIONS.json records the versions that made them. Each folder stays under 8 MiB.

Fixtures (shapes chosen to catch mistakes):
  qwen2_gqa3_untied   Qwen2, 6 heads / 2 KV heads (GQA ratio 3), untied lm_head, theta 1e6
  qwen2_odd5_tied     Qwen2, 5 heads (odd) / 1 KV head (ratio 5), tied embeddings, theta 1e4
  qwen2_bf16          the first model stored in bf16 (references from the bf16-rounded weights)
  llava_ov_tiny       LLaVA-OneVision: SigLIP 2 layers, 70x70 input (5x5 patches -> pooled 3x3),
                      Qwen2 text model; video of real frames; intermediate vision features
  preprocess          torchvision uint8 bicubic+antialias resize of real frames to 384x384 and 70x70
"""
import argparse
import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file

GREEDY_TOKENS = 32


def log(*args):
    print("[make_fixtures]", *args, flush=True)


def greedy(model, input_ids, **kwargs):
    # Plain argmax loop with a KV cache through generate; no EOS so exactly N tokens come.
    out = model.generate(input_ids=input_ids, max_new_tokens=GREEDY_TOKENS, min_new_tokens=GREEDY_TOKENS,
                         do_sample=False, eos_token_id=None, pad_token_id=0, **kwargs)
    assert out.shape[1] == input_ids.shape[1] + GREEDY_TOKENS, out.shape
    return out


def qwen2_config(hidden, heads, kv_heads, layers, vocab, intermediate, theta, tied):
    return transformers.Qwen2Config(
        hidden_size=hidden, num_attention_heads=heads, num_key_value_heads=kv_heads,
        num_hidden_layers=layers, vocab_size=vocab, intermediate_size=intermediate,
        rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": theta},
        tie_word_embeddings=tied, bos_token_id=None, eos_token_id=None, max_position_embeddings=4096,
        use_sliding_window=False)


def make_qwen2(name, config, out_dir, seed, dtype=torch.float32):
    torch.manual_seed(seed)
    model = transformers.Qwen2ForCausalLM._from_config(config, attn_implementation="eager",
                                                       dtype=torch.float32).eval()
    with torch.no_grad():
        # Random init has tiny logits; scale the head so the greedy path is decisive.
        model.lm_head.weight.mul_(4.0) if not config.tie_word_embeddings else None
    if dtype != torch.float32:
        model = model.to(dtype).to(torch.float32)  # references from the rounded weights
    folder = os.path.join(out_dir, name)
    save_model = model.to(dtype) if dtype != torch.float32 else model
    save_model.save_pretrained(folder, safe_serialization=True)
    model = model.to(torch.float32)
    g = torch.Generator().manual_seed(seed + 1)
    input_ids = torch.randint(0, config.vocab_size, (1, 24), generator=g)
    with torch.no_grad():
        logits = model(input_ids=input_ids).logits.float()
        greedy_ids = greedy(model, input_ids)
    save_file({"input_ids": input_ids.contiguous(), "logits": logits.contiguous(),
               "greedy_ids": greedy_ids.contiguous()},
              os.path.join(folder, "reference.safetensors"),
              metadata={"transformers": transformers.__version__, "torch": torch.__version__,
                        "dtype": str(dtype), "device": "cpu", "attention": "eager"})
    log(name, "logits", tuple(logits.shape), "max", float(logits.abs().max()))


def load_frames(frames_dir):
    """uint8 RGB frames [H, W, 3] from raw files named NAME_WxH.rgb (made by vigil decode)."""
    frames = []
    for file in sorted(os.listdir(frames_dir)):
        if not file.endswith(".rgb"):
            continue
        size = file.rsplit("_", 1)[1][:-4]
        width, height = (int(v) for v in size.split("x"))
        data = open(os.path.join(frames_dir, file), "rb").read()
        assert len(data) == width * height * 3, file
        frames.append((file, torch.frombuffer(bytearray(data), dtype=torch.uint8).view(height, width, 3)))
    if not frames:
        sys.exit(f"no frames in {frames_dir}")
    return frames


def make_preprocess(frames, out_dir):
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as tvF
    folder = os.path.join(out_dir, "preprocess")
    os.makedirs(folder, exist_ok=True)
    tensors = {}
    for index, (file, frame) in enumerate(frames):
        chw = frame.permute(2, 0, 1).contiguous()
        tensors[f"frame_{index}"] = frame.contiguous()
        for size in (384, 70):
            resized = tvF.resize(chw, [size, size], interpolation=InterpolationMode.BICUBIC, antialias=True)
            tensors[f"frame_{index}_resized_{size}"] = resized.permute(1, 2, 0).contiguous()
    save_file(tensors, os.path.join(folder, "reference.safetensors"),
              metadata={"transformers": transformers.__version__, "torch": torch.__version__,
                        "torchvision": __import__("torchvision").__version__,
                        "frames": json.dumps([f for f, _ in frames])})
    log("preprocess", len(frames), "frames")
    return tensors


def make_llava(frames, out_dir, seed):
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as tvF
    rope = {"rope_type": "default", "rope_theta": 1e6}
    config = transformers.LlavaOnevisionConfig(
        vision_config=dict(model_type="siglip_vision_model", hidden_size=32, intermediate_size=64,
                           num_hidden_layers=2, num_attention_heads=4, image_size=70, patch_size=14,
                           vision_use_head=False, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6),
        text_config=dict(model_type="qwen2", hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, vocab_size=256, rms_norm_eps=1e-6,
                         rope_parameters=rope, tie_word_embeddings=False, bos_token_id=None,
                         eos_token_id=None),
        image_token_index=250, video_token_index=251, vision_feature_layer=-1,
        vision_feature_select_strategy="full",
        image_grid_pinpoints=[[70, 70], [70, 140], [140, 70], [140, 140]])
    torch.manual_seed(seed)
    model = transformers.LlavaOnevisionForConditionalGeneration._from_config(
        config, attn_implementation="eager", dtype=torch.float32).eval()
    folder = os.path.join(out_dir, "llava_ov_tiny")
    model.save_pretrained(folder, safe_serialization=True)
    # The video: the real frames resized like the video processor does, mean = std = 0.5.
    video = torch.stack([tvF.resize(f.permute(2, 0, 1), [70, 70], interpolation=InterpolationMode.BICUBIC,
                                    antialias=True) for _, f in frames])
    pixel_values = ((video.float() / 255.0 - 0.5) / 0.5).unsqueeze(0).contiguous()  # [1, F, 3, 70, 70]
    num_frames = pixel_values.shape[1]
    prefix = [5, 17, 200, 33]
    suffix = [41, 9, 120, 7, 77]
    input_ids = torch.tensor([prefix + [251] * (num_frames * 9 + 1) + suffix])
    with torch.no_grad():
        inner = model.model
        flat = pixel_values.view(-1, 3, 70, 70)
        hidden = inner.vision_tower(flat, output_hidden_states=True).hidden_states[-1]
        projected = inner.multi_modal_projector(hidden)
        pooled = inner.apply_pooling(projected)
        logits = model(input_ids=input_ids, pixel_values_videos=pixel_values).logits.float()
        greedy_ids = greedy(model, input_ids, pixel_values_videos=pixel_values)
    save_file({"input_ids": input_ids.contiguous(), "pixel_values_videos": pixel_values,
               "video_uint8": video.contiguous(), "vision_features": hidden.contiguous(),
               "projected_features": projected.contiguous(), "pooled_features": pooled.contiguous(),
               "logits": logits.contiguous(), "greedy_ids": greedy_ids.contiguous()},
              os.path.join(folder, "reference.safetensors"),
              metadata={"transformers": transformers.__version__, "torch": torch.__version__,
                        "dtype": "torch.float32", "device": "cpu", "attention": "eager",
                        "video_token_id": "251", "frames": str(num_frames)})
    log("llava_ov_tiny", "pooled", tuple(pooled.shape), "logits", tuple(logits.shape))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", required=True, help="folder of NAME_WxH.rgb frames")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(4)
    os.makedirs(args.out, exist_ok=True)
    frames = load_frames(args.frames)
    make_qwen2("qwen2_gqa3_untied", qwen2_config(96, 6, 2, 2, 1024, 160, 1e6, False), args.out, seed=11)
    make_qwen2("qwen2_odd5_tied", qwen2_config(60, 5, 1, 3, 768, 112, 1e4, True), args.out, seed=12)
    make_qwen2("qwen2_bf16", qwen2_config(96, 6, 2, 2, 1024, 160, 1e6, False), args.out, seed=11,
               dtype=torch.bfloat16)
    make_preprocess(frames, args.out)
    make_llava(frames[:3], args.out, seed=13)
    versions = {"transformers": transformers.__version__, "torch": torch.__version__,
                "python": sys.version.split()[0], "made_by": "tools/make_fixtures.py"}
    with open(os.path.join(args.out, "VERSIONS.json"), "w") as f:
        json.dump(versions, f, indent=2)
    for root, _, files in os.walk(args.out):
        size = sum(os.path.getsize(os.path.join(root, f)) for f in files)
        assert size < 8 * 1024 * 1024, (root, size)
    log("done", versions)


if __name__ == "__main__":
    main()
