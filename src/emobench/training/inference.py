"""Inference without the training machinery: batches sorted by length, padded per batch, run under
``torch.inference_mode`` on one device. Needs torch only (no Accelerate), so a prediction starts fast."""
from __future__ import annotations

import contextlib
from typing import Callable

import numpy as np
import torch

from .padding import length_order


def length_of(features: dict) -> int:
    return len(features["input_ids"])


@torch.inference_mode()
def batch_logits(module: torch.nn.Module, features: list[dict], collate: Callable[[list[dict]], dict],
                 batches: list[list[int]], device, autocast=contextlib.nullcontext) -> tuple[np.ndarray, np.ndarray]:
    """(example indices, logits) for the given batches of example indices."""
    indices, outputs = [], []
    for batch_indices in batches:
        batch = {k: v.to(device) for k, v in collate([features[i] for i in batch_indices]).items()}
        with autocast():
            logits = module(**batch)
        indices.append(np.asarray(batch_indices))
        outputs.append(logits.float().cpu().numpy())
    num_labels = outputs[0].shape[1] if outputs else 0
    return (np.concatenate(indices) if indices else np.zeros(0, int),
            np.concatenate(outputs) if outputs else np.zeros((0, num_labels), np.float32))


def predict_logits(module: torch.nn.Module, features: list[dict], collate: Callable[[list[dict]], dict],
                   batch_size: int = 128, device: str | torch.device | None = None,
                   cpu_max_tokens: int | None = None) -> np.ndarray:
    """Logits of every example, in input order. ``cpu_max_tokens`` bounds a batch's padded size on a CPU
    (see :func:`~emobench.training.padding.length_order`)."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if str(device) == "cpu":
        from ..environment import limit_torch_threads

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
