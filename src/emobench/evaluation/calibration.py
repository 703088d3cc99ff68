"""Are the probabilities honest? Expected calibration error (ECE), Brier score, log-loss and reliability
bins, for single-label probabilities (one distribution per text) and multi-label ones (a probability per
label, each judged as a binary prediction)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..probability import sigmoid, softmax

BINS = 15
EPS = 1e-12


def _confidence_and_correct(probs: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Single-label: the top label's probability and whether it is right. Multi-label: every (text, label)
    probability and whether the label is present."""
    probs, y = np.asarray(probs, dtype=float), np.asarray(y)
    if y.ndim == 2:
        return probs.ravel(), y.ravel().astype(float)
    return probs.max(axis=1), (probs.argmax(axis=1) == y).astype(float)


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = BINS) -> float:
    """sum over equal-width confidence bins of |accuracy - confidence| weighted by the bin's share.
    Bins are (lo, hi], the first [0, 1/bins]."""
    confidence, correct = _confidence_and_correct(probs, y)
    if not len(confidence):
        return 0.0
    index = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        inside = index == b
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(total)


def brier_score(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean squared distance between the probabilities and the truth (single-label: summed over labels)."""
    probs, y = np.asarray(probs, dtype=float), np.asarray(y)
    if y.ndim == 2:
        return float(np.mean((probs - y) ** 2))
    onehot = np.zeros_like(probs)
    onehot[np.arange(len(y)), y] = 1
    return float(np.mean(np.sum((probs - onehot) ** 2, axis=1)))


def log_loss(probs: np.ndarray, y: np.ndarray) -> float:
    """Negative log-likelihood of the truth (multi-label: binary cross-entropy per label)."""
    probs, y = np.clip(np.asarray(probs, dtype=float), EPS, 1 - EPS), np.asarray(y)
    if y.ndim == 2:
        return float(-np.mean(y * np.log(probs) + (1 - y) * np.log(1 - probs)))
    return float(-np.mean(np.log(probs[np.arange(len(y)), y])))


def calibration_scores(probs: np.ndarray, y: np.ndarray) -> dict:
    return {"ece": expected_calibration_error(probs, y), "brier": brier_score(probs, y), "log_loss": log_loss(probs, y)}


@dataclass
class ReliabilityBin:
    low: float
    high: float
    count: int
    confidence: float | None
    accuracy: float | None


def reliability(probs: np.ndarray, y: np.ndarray, bins: int = BINS) -> list[ReliabilityBin]:
    """The reliability diagram's bins: mean confidence and accuracy of the predictions in each."""
    confidence, correct = _confidence_and_correct(probs, y)
    index = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    out = []
    for b in range(bins):
        inside = index == b
        out.append(ReliabilityBin(b / bins, (b + 1) / bins, int(inside.sum()),
                                  float(confidence[inside].mean()) if inside.any() else None,
                                  float(correct[inside].mean()) if inside.any() else None))
    return out


def uncalibrated(probs: np.ndarray, temperature: float, multi_label: bool) -> np.ndarray:
    """The probabilities before temperature scaling, recovered from the calibrated ones: logits are
    ``temperature * log p`` up to a constant per text (softmax), or ``temperature * logit(p)`` (sigmoid)."""
    probs = np.clip(np.asarray(probs, dtype=float), 1e-7, 1 - 1e-7)
    if multi_label:
        return sigmoid(temperature * np.log(probs / (1 - probs)))
    return softmax(temperature * np.log(probs))
