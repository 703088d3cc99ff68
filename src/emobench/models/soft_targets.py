"""Soft targets: a teacher's probabilities as a fit input (``Classifier.fit(soft_targets=...)``, ``emobench distill``;
models/registry.py FIT_INPUTS says which families learn from them): checked once, then mixed with the true labels."""
from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import EmobenchError


@dataclasses.dataclass(frozen=True)
class SoftTargets:
    """A teacher's probabilities to learn from (``emobench distill``): ``probs`` has one row per training text, then
    one per text of ``texts`` (unlabeled texts, learnt from through their row alone). On a labelled text the target
    is ``weight`` x the teacher's row + (1 - weight) x its true label: cross-entropy (and binary cross-entropy) is
    linear in its target, so this is exactly that mix of the soft and the hard loss."""

    probs: np.ndarray
    texts: list[str]
    weight: float

    def targets(self, hard: np.ndarray, num_labels: int, multi_label: bool) -> np.ndarray:
        """The float targets of the training texts (``hard``: label ids, or a 0/1 matrix) and then the unlabeled ones."""
        onehot = np.asarray(hard, np.float32) if multi_label else np.eye(num_labels, dtype=np.float32)[np.asarray(hard)]
        mixed = self.weight * self.probs[: len(onehot)] + (1 - self.weight) * onehot
        return np.concatenate([mixed, self.probs[len(onehot):]]).astype(np.float32)


def check_soft_targets(probs, rows: int, labels: int, multi_label: bool, weight) -> np.ndarray:
    """``soft_targets`` as ``fit`` takes them: finite probabilities, one row per text and a column per label, each
    row summing to 1 (single-label) or each value in [0, 1] (multi-label); ``weight`` (of the soft targets) in [0, 1]."""
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 1:
        raise EmobenchError(f"soft_weight {weight!r}: expected a number from 0 to 1 (the soft targets' share of the loss)")
    try:
        array = np.asarray(probs, dtype=np.float64)
    except (TypeError, ValueError):
        raise EmobenchError("soft_targets: expected a float array of probabilities") from None
    if array.shape != (rows, labels):
        raise EmobenchError(f"soft_targets: shape {array.shape}, expected ({rows}, {labels}): one row per training "
                            "text (then per unlabeled text), one column per label")
    bad = np.flatnonzero(~np.isfinite(array).all(axis=1) | (array < 0).any(axis=1) | (array > 1).any(axis=1))
    if len(bad):
        raise EmobenchError(f"soft_targets: row {bad[0]} holds {array[bad[0]].tolist()[:6]}; expected probabilities in [0, 1]")
    sums = array.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1) > 1e-3) if not multi_label else []
    if len(off):
        raise EmobenchError(f"soft_targets: row {off[0]} sums to {sums[off[0]]:.6g}; a single-label teacher's "
                            "probabilities sum to 1")
    return array.astype(np.float32)
