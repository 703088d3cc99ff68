"""Logits to probabilities, in one place: softmax over labels, or a sigmoid per label (multi-label)."""
from __future__ import annotations

import numpy as np


def sigmoid(logits) -> np.ndarray:
    # exp(-logit) overflows to inf for a very negative logit: 1 / inf is the 0 wanted, not a warning
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-np.asarray(logits)))


def softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def probabilities(logits: np.ndarray, multi_label: bool) -> np.ndarray:
    """Softmax over labels, or (multi-label) a sigmoid per label."""
    return sigmoid(logits) if multi_label else softmax(logits)
