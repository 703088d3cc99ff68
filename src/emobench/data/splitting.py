"""Deterministic stratified splitting, recorded so a later run can rebuild exactly the same split."""
from __future__ import annotations

import numpy as np


def stratified_split(labels: list[int], fractions: dict[str, float], seed: int) -> dict[str, list[int]]:
    """Split example indices by label so every split keeps the label shares.

    ``fractions`` maps split names to shares summing to 1; the first name takes what rounding leaves.
    Per label, indices are shuffled with one seeded generator, so the result depends only on
    (labels, fractions, seed).
    """
    total = sum(fractions.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"split fractions must sum to 1, got {total}")
    names = list(fractions)
    rng = np.random.default_rng(seed)
    out: dict[str, list[int]] = {name: [] for name in names}
    by_label: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    for label in sorted(by_label):
        indices = np.array(by_label[label])
        rng.shuffle(indices)
        start = 0
        for name in names[1:]:
            take = int(round(len(indices) * fractions[name]))
            out[name].extend(indices[start : start + take].tolist())
            start += take
        out[names[0]].extend(indices[start:].tolist())
    return {name: sorted(idx) for name, idx in out.items()}
