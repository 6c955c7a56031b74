#!/usr/bin/env python3
"""Writes a small tokenizer.json in the exact Qwen2 format (NFC, the Qwen2 split pattern,
byte-level BPE, ChatML special tokens) for the tiny test checkpoints, whose vocabularies are
far smaller than Qwen's 151k. Its merges are learned from a short English text, so prompts
tokenize into real multi-byte tokens. Pure Python, no dependencies; deterministic.

    python3 tools/make_tiny_tokenizer.py --vocab-size 768 --out tests/fixtures/qwen2_odd5_tied/tokenizer.json
"""
import argparse
import collections
import json
import re

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"]
PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
           r"\s*[\r\n]+|\s+(?!\S)|\s+")
TEXT = """The camera watches the street. A person walks past the shop, a car stops at the light,
and the birds on the wire fly away when the bus arrives. What happened in the video? The man in
the red coat opened the door and the dog ran outside. Answer the question about the video."""


def bytes_to_unicode():
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    chars = keep[:]
    extra = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(keep, chars)}


def words(text, byte_map):
    # An ASCII approximation of the split pattern is enough to learn merges from English.
    for piece in re.findall(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]| ?[^\sA-Za-z0-9]+|\s+", text):
        yield tuple(byte_map[b] for b in piece.encode("utf-8"))


def learn_merges(count, byte_map):
    corpus = collections.Counter(words(TEXT, byte_map))
    merges = []
    for _ in range(count):
        pairs = collections.Counter()
        for word, freq in corpus.items():
            for a, b in zip(word, word[1:]):
                pairs[(a, b)] += freq
        if not pairs:
            break
        best = max(sorted(pairs), key=lambda p: pairs[p])
        if pairs[best] < 2:
            break
        merges.append(best)
        merged = collections.Counter()
        for word, freq in corpus.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += freq
        corpus = merged
    return merges


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vocab-size", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    byte_map = bytes_to_unicode()
    vocab = {byte_map[b]: i for i, b in enumerate(sorted(byte_map))}
    room = args.vocab_size - len(vocab) - len(SPECIALS)
    assert room >= 0, "vocabulary too small"
    merges = learn_merges(room, byte_map)
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    added = [{"id": len(vocab) + i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, s in enumerate(SPECIALS)]
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": PATTERN}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                           "use_regex": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False, "vocab": vocab, "merges": [[a, b] for a, b in merges]},
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False, indent=1)
    print(f"{args.out}: {len(vocab)} tokens, {len(merges)} merges, specials at {added[0]['id']}..{added[-1]['id']}")


if __name__ == "__main__":
    main()
