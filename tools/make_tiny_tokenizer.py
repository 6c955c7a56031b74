#!/usr/bin/env python3
"""Writes a small tokenizer.json in the exact Qwen2 format (NFC, the Qwen2 split pattern,
byte-level BPE, ChatML special tokens) for the tiny test checkpoints, whose vocabularies are
far smaller than Qwen's 151k. Its merges are learned from a short English text, so prompts
tokenize into real multi-byte tokens. Pure Python, no dependencies; deterministic.

    python3 tools/make_tiny_tokenizer.py --vocab-size 768 --out tests/fixtures/qwen2_odd5_tied/tokenizer.json

A checkpoint whose config fixes special token ids inside a vocabulary too small for all 256 byte
tokens (llava_ov_tiny: 256 ids, <image> = 250, <video> = 251) takes --special-id to pin them
and --utf8-bytes to leave out the 13 bytes that never occur in UTF-8 (C0, C1, F5..FF); the other
specials go to the top free ids and merges fill the ids left:
    python3 tools/make_tiny_tokenizer.py --vocab-size 256 --utf8-bytes \
        --special-id '<image>=250' --special-id '<video>=251' \
        --out tests/fixtures/llava_ov_tiny/tokenizer.json
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


NOT_UTF8 = {0xC0, 0xC1} | set(range(0xF5, 0x100))


def pinned_layout(args, byte_map):
    """Byte tokens, then merges in the free ids; specials at their pinned ids or the top ones."""
    pinned = {}
    for item in args.special_id:
        token, _, value = item.rpartition("=")
        assert token in SPECIALS, f"--special-id: {token} is not one of {SPECIALS}"
        pinned[token] = int(value)
    byte_values = [b for b in sorted(byte_map) if not (args.utf8_bytes and b in NOT_UTF8)]
    vocab = {byte_map[b]: i for i, b in enumerate(byte_values)}
    taken = set(pinned.values())
    free_top = [i for i in range(args.vocab_size - 1, len(vocab) - 1, -1) if i not in taken]
    for token in SPECIALS:
        if token not in pinned:
            pinned[token] = free_top.pop(0)
    assert all(len(vocab) <= i < args.vocab_size for i in pinned.values()), "special id out of range"
    free = sorted(set(range(len(vocab), args.vocab_size)) - set(pinned.values()))
    merges = learn_merges(len(free), byte_map)
    for (a, b), token_id in zip(merges, free):
        vocab.setdefault(a + b, token_id)
    return vocab, merges, [(pinned[token], token) for token in SPECIALS]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vocab-size", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--special-id", action="append", default=[], metavar="TOKEN=ID",
                        help="pin a special token's id (e.g. '<video>=251')")
    parser.add_argument("--utf8-bytes", action="store_true",
                        help="leave out the byte tokens of bytes that UTF-8 text never holds")
    args = parser.parse_args()
    byte_map = bytes_to_unicode()
    if args.special_id or args.utf8_bytes:
        vocab, merges, specials = pinned_layout(args, byte_map)
    else:
        vocab = {byte_map[b]: i for i, b in enumerate(sorted(byte_map))}
        room = args.vocab_size - len(vocab) - len(SPECIALS)
        assert room >= 0, "vocabulary too small"
        merges = learn_merges(room, byte_map)
        for a, b in merges:
            vocab.setdefault(a + b, len(vocab))
        specials = [(len(vocab) + i, s) for i, s in enumerate(SPECIALS)]
    added = [{"id": token_id, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for token_id, s in sorted(specials)]
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
    print(f"{args.out}: {len(vocab)} tokens, {len(merges)} merges, specials",
          ", ".join(f"{a['content']}={a['id']}" for a in added))


if __name__ == "__main__":
    main()
