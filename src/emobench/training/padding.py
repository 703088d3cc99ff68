"""Padding token-id sequences into rectangular arrays (numpy only: used by training, and by ONNX inference,
which needs no torch)."""
from __future__ import annotations

import math

import numpy as np


def pad_arrays(items: list[dict], pad_values: dict[str, int], left: bool = False, multiple: int = 1,
               length: int | None = None, keep_end: bool = False) -> dict[str, np.ndarray]:
    """Tokenised examples (dicts of integer sequences) as int64 arrays, without per-token Python work: every
    key padded with its pad value, on the right or (``left``) on the left, to the longest example rounded up
    to ``multiple`` -- or to a fixed ``length``, truncating (keeping the end with ``keep_end``). Adds
    ``attention_mask`` (1 for tokens) and ``lengths``."""
    lengths = np.fromiter((len(item["input_ids"]) for item in items), dtype=np.int64, count=len(items))
    width = length or max(1, int(math.ceil(lengths.max() / multiple) * multiple))
    kept = np.minimum(lengths, width)
    out = {}
    for key, pad in pad_values.items():
        array = np.full((len(items), width), pad, dtype=np.int64)
        for row, (item, n) in enumerate(zip(items, kept)):
            values = item[key][-n:] if keep_end else item[key][:n]
            if left:
                array[row, width - n:] = values
            else:
                array[row, :n] = values
        out[key] = array
    positions = np.arange(width)[None, :]
    mask = positions >= (width - kept)[:, None] if left else positions < kept[:, None]
    out["attention_mask"] = mask.astype(np.int64)
    out["lengths"] = kept
    return out


# Padded tokens per inference batch of a transformer on a CPU (benchmarks/inference.py picked it).
CPU_MAX_TOKENS = 512


def length_order(lengths: list[int], batch_size: int, max_tokens: int | None = None) -> list[np.ndarray]:
    """Batches of example indices sorted by length (little padding at inference). With ``max_tokens`` a batch
    also ends before its padded size (texts x longest) would pass it: on a CPU, attention over padding is
    wasted work and a transformer is as fast per text at batch 8-16 as at 128, so a call with 64 mixed-length
    texts runs as a few batches of similar lengths instead of one padded to the longest."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    if max_tokens is None:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    batches, start = [], 0
    for end in range(1, len(order) + 1):
        longest = lengths[order[end - 1]]
        if end - start > batch_size or (end - start > 1 and (end - start) * longest > max_tokens):
            batches.append(order[start : end - 1])
            start = end - 1
    if start < len(order):
        batches.append(order[start:])
    return batches
