"""Batches of tokenised texts for inference and training: padding into rectangular arrays (numpy only, so
ONNX inference needs no torch), batches in length order, and running a torch module over them.

Shared by the training loop, the torch model families and the ONNX model; it imports torch only inside the
functions that run a module.
"""
from __future__ import annotations

import contextlib
import math
from typing import Callable

import numpy as np

# Padded tokens per inference batch of a transformer on a CPU (benchmarks/inference.py picked it).
CPU_MAX_TOKENS = 512


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


def pad_features(items: list[dict], pad_values: dict[str, int], left: bool = False, multiple: int = 1,
                 length: int | None = None, keep_end: bool = False) -> dict:
    """:func:`pad_arrays` as torch tensors."""
    import torch

    return {k: torch.from_numpy(v) for k, v in pad_arrays(items, pad_values, left, multiple, length, keep_end).items()}


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


def length_of(features: dict) -> int:
    return len(features["input_ids"])


def batch_logits(module, features: list[dict], collate: Callable[[list[dict]], dict], batches: list,
                 device, autocast=contextlib.nullcontext) -> tuple[np.ndarray, np.ndarray]:
    """(example indices, logits) for the given batches of example indices, under ``torch.inference_mode``."""
    import torch

    indices, outputs = [], []
    with torch.inference_mode():
        for batch_indices in batches:
            batch = {k: v.to(device) for k, v in collate([features[i] for i in batch_indices]).items()}
            with autocast():
                logits = module(**batch)
            indices.append(np.asarray(batch_indices))
            outputs.append(logits.float().cpu().numpy())
    num_labels = outputs[0].shape[1] if outputs else 0
    return (np.concatenate(indices) if indices else np.zeros(0, int),
            np.concatenate(outputs) if outputs else np.zeros((0, num_labels), np.float32))


def predict_logits(module, features: list[dict], collate: Callable[[list[dict]], dict], batch_size: int = 128,
                   device=None, cpu_max_tokens: int | None = None) -> np.ndarray:
    """Logits of every example, in input order, on one device (a GPU if there is one). ``cpu_max_tokens``
    bounds a batch's padded size on a CPU (see :func:`length_order`)."""
    import torch

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if str(device) == "cpu":
        from .environment import limit_torch_threads

        limit_torch_threads()
    module = module.to(device)
    was_training = module.training
    module.eval()
    try:
        batches = length_order([length_of(f) for f in features], batch_size,
                               cpu_max_tokens if str(device) == "cpu" else None)
        indices, logits = batch_logits(module, features, collate, batches, device)
    finally:
        module.train(was_training)
    ordered = np.empty_like(logits)
    ordered[indices] = logits
    return ordered
