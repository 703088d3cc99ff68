"""Decision thresholds for multi-label models, tuned on validation.

Two candidates: one global threshold for every label, and one per label (each maximising that label's F1).
The one with the better validation macro-F1 is kept; both are recorded. When every training text has a
label, a text whose probabilities all fall below the thresholds gets its most probable label anyway.
"""
from __future__ import annotations

import numpy as np

from typing import Literal

from pydantic import Field

from ..probability import sigmoid
from ..schema import OpenRecord, Share
from .metrics import label_f1, macro_f1

GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)


class Decision(OpenRecord):
    """A multi-label model's thresholds: 0.5 by default, or tuned on validation (the candidates' thresholds and
    validation macro-F1 are carried as ``global``, ``per_label`` and ``validation_macro_f1``)."""

    kind: Literal["default", "global", "per_label"]
    thresholds: list[Share] = Field(min_length=1)
    at_least_one: bool


def decide(probs: np.ndarray, thresholds: np.ndarray, at_least_one: bool) -> np.ndarray:
    """0/1 label decisions from probabilities."""
    predicted = (probs >= thresholds).astype(np.int8)
    if at_least_one and len(probs):
        empty = predicted.sum(axis=1) == 0
        predicted[empty, probs[empty].argmax(axis=1)] = 1
    return predicted


def _label_f1(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return label_f1((predicted & truth).sum(axis=0), predicted.sum(axis=0), truth.sum(axis=0))


def decisions_macro_f1(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Macro-F1 over every label of 0/1 decisions against 0/1 truth."""
    predicted, truth = predicted.astype(np.int8), truth.astype(np.int8)
    return float(macro_f1((predicted & truth).sum(axis=0), predicted.sum(axis=0), truth.sum(axis=0)))


def tune_thresholds(probs: np.ndarray, truth: np.ndarray, at_least_one: bool) -> Decision:
    """The better of a global and a per-label threshold on validation macro-F1 (ties: global, the simpler)."""
    truth = truth.astype(np.int8)
    global_scores = [decisions_macro_f1(decide(probs, np.full(probs.shape[1], t), at_least_one), truth) for t in GRID]
    best_global = float(GRID[int(np.argmax(global_scores))])
    per_label = np.empty(probs.shape[1])
    for k in range(probs.shape[1]):
        f1 = [_label_f1((probs[:, [k]] >= t).astype(np.int8), truth[:, [k]])[0] for t in GRID]
        per_label[k] = GRID[int(np.argmax(f1))]  # the lowest of tied thresholds
    scores = {"global": max(global_scores), "per_label": decisions_macro_f1(decide(probs, per_label, at_least_one), truth)}
    kind = "per_label" if scores["per_label"] > scores["global"] else "global"
    chosen = per_label if kind == "per_label" else np.full(probs.shape[1], best_global)
    return Decision.model_validate({"kind": kind, "thresholds": chosen.tolist(), "global": best_global,
                                    "per_label": per_label.tolist(), "validation_macro_f1": scores,
                                    "at_least_one": at_least_one})


def validation_scores(logits: np.ndarray, truth: np.ndarray) -> dict:
    """Per-epoch validation record of a multi-label model: binary cross-entropy, and macro-F1, micro-F1 and
    subset accuracy at the best global threshold (so epochs are compared as they will be used)."""
    truth = truth.astype(np.int8)
    probs = sigmoid(logits)
    loss = float(np.mean(np.logaddexp(0, logits) - truth * logits))
    scores = [decisions_macro_f1((probs >= t).astype(np.int8), truth) for t in GRID]
    best = int(np.argmax(scores))
    predicted = (probs >= GRID[best]).astype(np.int8)
    tp = int((predicted & truth).sum())
    micro = 2 * tp / max(int(predicted.sum() + truth.sum()), 1)
    return {"val_loss": loss, "val_accuracy": float((predicted == truth).all(axis=1).mean()),
            "val_macro_f1": float(scores[best]), "val_micro_f1": float(micro), "val_threshold": float(GRID[best]),
            "val_n": int(len(truth))}
