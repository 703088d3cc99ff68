"""Deterministic stratified splitting, recorded so a later run can rebuild exactly the same split."""
from __future__ import annotations

import numpy as np

from ..errors import DataError, option


def minimum_per_label(fractions: dict[str, float]) -> int:
    """The fewest examples of a label for which every split gets at least one."""
    names = list(fractions)
    for n in range(1, 10_000):
        taken = [int(round(n * fractions[name])) for name in names[1:]]
        if all(t >= 1 for t in taken) and n - sum(taken) >= 1:
            return n
    raise ValueError(f"split fractions {fractions} leave a split empty")


def stratified_split(labels: list[int], fractions: dict[str, float], seed: int, label_names: list[str] | None = None,
                     where=None) -> dict[str, list[int]]:
    """Split example indices by label so every split keeps the label shares.

    ``fractions`` maps split names to shares summing to 1; the first name takes what rounding leaves.
    Per label, indices are shuffled with one seeded generator, so the result depends only on
    (labels, fractions, seed). A label too rare for every split to get one example is an error.
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
    needed = minimum_per_label(fractions)
    for label, indices in sorted(by_label.items()):
        if len(indices) < needed:
            name = (label_names[label] if label >= 0 else "(no label)") if label_names else label
            raise DataError(
                f"label {name!r} has {len(indices)} example(s); a stratified split into "
                f"{', '.join(f'{k} {v:g}' for k, v in fractions.items())} needs at least {needed} per label so that "
                f"every split gets one (give split files or {option('split_column')} instead, or drop the label)", where)
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
