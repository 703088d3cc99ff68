"""Data budgets: a stratified subsample of the training split (and, when asked, of the validation split), the
same for every model at a given size and seed, recorded row by row.

A size is a number of texts per class ("16"), a share of the split ("0.1"), "all", or ``0``: no labelled text at all
(an empty training split, for the families that learn from none: zero-shot). Single-label data: each
label keeps ``size`` texts (all of a rarer label's, with a warning), drawn with one seeded generator per label.
Multi-label data keeps every label present: labels are visited from the rarest up, and each adds texts carrying it
(not chosen yet, in a seeded order) until ``size`` chosen texts carry it; texts without any label count as a class
of their own. A share keeps that share of each stratum (its rarest label), at least one text.
"""
from __future__ import annotations

import math
import re
import warnings
from decimal import Decimal

import numpy as np

from ..errors import EmobenchError, option
from .corpus import Corpus, Split
from .provenance import BudgetSource

ALL = "all"
NONE = "0"  # no labelled training text: the zero-shot point of a learning curve


def parse_size(value: str | int | float | None) -> str | None:
    """A budget as its canonical string: "16" (per class), "0.25" (a share), or None for the whole split. The canonical
    string reads back as itself (a share is never written with an exponent: 0.00001, not 1e-05); a refusal quotes the
    value as given."""
    if value is None:
        return None

    def refuse(why: str = "") -> EmobenchError:
        return EmobenchError(f"{option('train_size')} {value!r}: {why}expected texts per class (an integer >= 0; 0: no "
                             "labelled texts, zero-shot), a share between 0 and 1 (e.g. 0.1), or all")

    if isinstance(value, bool):
        raise refuse()
    if isinstance(value, int):
        if value < 0:
            raise refuse()
        if value == 0:
            return NONE
        if value >= 10 ** MAX_SIZE_DIGITS:
            raise refuse("more texts per class than any dataset holds (use all); ")
        return str(value)
    if isinstance(value, float):
        if value == 0:
            raise refuse("no labelled texts are written 0; ")
        if not (math.isfinite(value) and 0 < value < 1):
            raise refuse()
        return _share(value)
    text = str(value).strip().lower()
    if text == ALL:
        return None
    if re.fullmatch(r"[0-9]+", text):
        digits = text.lstrip("0")
        if not digits:
            return NONE
        if len(digits) > MAX_SIZE_DIGITS:
            raise refuse("more texts per class than any dataset holds (use all); ")
        return digits
    # a share: 0.1, .1, or with an exponent (1e-05, as Python prints 0.00001)
    if re.fullmatch(r"0?\.[0-9]+", text) or (re.fullmatch(r"([0-9]+\.?[0-9]*|\.[0-9]+)e[+-]?[0-9]{1,4}", text)
                                             and 0 < Decimal(text) < 1):
        exact = Decimal(text)
        share = float(text)
        if exact == 0:  # a share of nothing: said as the integer, so one size has one spelling
            raise refuse("no labelled texts are written 0; ")
        if share == 0.0:
            raise refuse("a share too small to tell from 0; ")
        if share >= 1.0:  # 0.99999999999999999 rounds to 1
            raise refuse("a share too close to 1 to tell from the whole split (use all); ")
        return _share(share)
    raise refuse()


MAX_SIZE_DIGITS = 15


def _share(share: float) -> str:
    """A share as the shortest decimal that reads back as the same float, without an exponent."""
    shortest = repr(share)
    return shortest if "e" not in shortest else format(Decimal(shortest), "f")


def _shuffled(indices, rng: np.random.Generator) -> list[int]:
    indices = np.array(sorted(indices), dtype=np.int64)
    rng.shuffle(indices)
    return indices.tolist()


def choose(split: Split, num_labels: int, size: str, seed: int, label_names: list[str], what: str) -> tuple[list[int], dict]:
    """The rows of ``split`` a budget keeps (sorted) and the texts each label has among them."""
    if size == NONE:  # asked for: no label is short of texts, so nothing to warn about
        return [], {name: 0 for name in label_names}
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
    test split is never touched. The kept rows are recorded in ``corpus.source.budget``. A size of 0 leaves the
    training split empty and the validation split whole, even with ``validation``: a budget of no labels cut alike
    would leave nothing to choose epochs or a temperature on (recorded as ``validation=False``)."""
    size = parse_size(size)
    if size is None:
        return corpus
    validation = validation and size != NONE
    splits = dict(corpus.splits)
    kept: dict[str, list[int]] = {}
    per_labels: dict[str, dict[str, int]] = {}
    for name in ("train", "validation") if validation else ("train",):
        if name not in splits:
            continue
        rows, per_label = choose(splits[name], corpus.num_labels, size, seed, corpus.label_names, name)
        splits[name] = splits[name].subset(rows)
        kept[name] = rows
        per_labels[name] = per_label
    source = corpus.source.updated(budget=BudgetSource(size=size, seed=seed, validation=validation, rows=kept,
                                                       per_label=per_labels))
    return Corpus(corpus.name, corpus.label_names, splits, source, corpus.multi_label, corpus.unlabeled,
                  corpus.descriptions)


def left_out_texts(split: Split, kept: list[int]) -> list[str]:
    """The texts of the rows a budget did not keep (``--unlabeled rest``): their texts only, never their labels."""
    keep = set(kept)
    return [text for row, text in enumerate(split.texts) if row not in keep]
