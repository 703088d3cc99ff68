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


def length_order(items: list[dict], batch_size: int) -> list[np.ndarray]:
    """Batches of example indices sorted by length (little padding at inference)."""
    order = np.argsort([len(item["input_ids"]) for item in items], kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
