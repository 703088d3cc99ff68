"""Data budgets: a stratified subsample of the training split (and, when asked, of the validation split), the
same for every model at a given size and seed, recorded row by row.

A size is a number of texts per class ("16"), a share of the split ("0.1"), or "all". Single-label data: each
label keeps ``size`` texts (all of a rarer label's, with a warning), drawn with one seeded generator per label.
Multi-label data keeps every label present: labels are visited from the rarest up, and each adds texts carrying it
(not chosen yet, in a seeded order) until ``size`` chosen texts carry it; texts without any label count as a class
of their own. A share keeps that share of each stratum (its rarest label), at least one text.
"""
from __future__ import annotations

import re
import warnings

import numpy as np

from ..errors import EmobenchError, option
from .corpus import Corpus, Split

ALL = "all"


def parse_size(value: str | int | float | None) -> str | None:
    """A budget as its canonical string: "16" (per class), "0.25" (a share), or None for the whole split."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text == ALL:
        return None
    if re.fullmatch(r"[0-9]+", text) and int(text) >= 1:
        return str(int(text))
    if re.fullmatch(r"0?\.[0-9]+", text) and 0 < float(text) < 1:
        return repr(float(text))
    raise EmobenchError(f"{option('train_size')} {value!r}: expected texts per class (an integer >= 1), a share between 0 "
                        "and 1 (e.g. 0.1), or all")


def _shuffled(indices, rng: np.random.Generator) -> list[int]:
    indices = np.array(sorted(indices), dtype=np.int64)
    rng.shuffle(indices)
    return indices.tolist()


def choose(split: Split, num_labels: int, size: str, seed: int, label_names: list[str], what: str) -> tuple[list[int], dict]:
    """The rows of ``split`` a budget keeps (sorted) and the texts each label has among them."""
    rng = np.random.default_rng(seed)
    matrix = split.label_matrix(num_labels)
    share = "." in size
    if not split.multi_label:
        by_label = {k: np.flatnonzero(matrix[:, k]).tolist() for k in range(num_labels)}
        chosen, short = [], []
        for k, rows in by_label.items():
            if not rows:
                continue
            want = max(1, round(len(rows) * float(size))) if share else int(size)
            if want > len(rows):
                short.append(f"{label_names[k]} ({len(rows)})")
            chosen += _shuffled(rows, rng)[:want]
        if short:
            warnings.warn(f"budget {size} per class on the {what} split: {', '.join(short)} have fewer texts; all of them "
                          "are kept", _warning(), stacklevel=3)
    else:
        counts = matrix.sum(axis=0)
        order = [k for k in np.argsort(counts, kind="stable") if counts[k]]
        chosen_set: set[int] = set()
        if share:
            strata: dict[int, list[int]] = {}
            for i, row in enumerate(matrix):
                present = np.flatnonzero(row)
                key = int(present[np.argmin(counts[present])]) if len(present) else -1
                strata.setdefault(key, []).append(i)
            for key in sorted(strata):
                rows = strata[key]
                chosen_set.update(_shuffled(rows, rng)[: max(1, round(len(rows) * float(size)))])
        else:
            want = int(size)
            for k in order:
                have = sum(1 for i in chosen_set if matrix[i, k])
                for i in _shuffled(np.flatnonzero(matrix[:, k]), rng):
                    if have >= want:
                        break
                    if i not in chosen_set:
                        chosen_set.add(i)
                        have += 1
            unlabelled = np.flatnonzero(matrix.sum(axis=1) == 0)
            chosen_set.update(_shuffled(unlabelled, rng)[:want])
        chosen = list(chosen_set)
    chosen = sorted(int(i) for i in chosen)
    kept = matrix[chosen].sum(axis=0)
    return chosen, {label_names[k]: int(kept[k]) for k in range(num_labels)}


def _warning():
    from .readers.common import DataWarning

    return DataWarning


def apply_budget(corpus: Corpus, size: str | None, seed: int, validation: bool = False) -> Corpus:
    """The corpus with its training split (and with ``validation``, its validation split) cut to ``size``; the
    test split is never touched. The kept rows are recorded in ``corpus.source["budget"]``."""
    size = parse_size(size)
    if size is None:
        return corpus
    splits = dict(corpus.splits)
    record = {"size": size, "seed": seed, "validation": validation, "rows": {}, "per_label": {}}
    for name in ("train", "validation") if validation else ("train",):
        if name not in splits:
            continue
        rows, per_label = choose(splits[name], corpus.num_labels, size, seed, corpus.label_names, name)
        splits[name] = splits[name].subset(rows)
        record["rows"][name] = rows
        record["per_label"][name] = per_label
    source = {**corpus.source, "budget": record}
    return Corpus(corpus.name, corpus.label_names, splits, source, corpus.multi_label)
