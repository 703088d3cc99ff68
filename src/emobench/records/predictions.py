"""A split's predictions, row by row (a run's ``predictions/<split>.csv``, a comparison's transfer predictions): written
with every label's probability, read back with every cell checked, and the metrics recorded beside them recomputed
from them (an edited number or row is refused)."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import Split
from ..errors import RecordError
from ..evaluation.metrics import SplitMetrics
from ..files import write_text_atomic
from ..manifest import Folder
from .base import check, shorten

MAX_PREDICTION_BYTES = 2 << 30


def split_digest(texts: list[str], golds: list) -> str:
    """sha256 over a split's rows in order: each row's text and gold label(s) by name."""
    digest = hashlib.sha256()
    for text, gold in zip(texts, golds):
        digest.update(json.dumps([text, gold], ensure_ascii=False).encode("utf-8") + b"\n")
    return digest.hexdigest()


def gold_names(split: Split, label_names: list[str]) -> list:
    return [[label_names[k] for k in labels] if isinstance(labels, list | tuple) else label_names[labels]
            for labels in split.labels]


@dataclass
class Predictions:
    """One split's predictions: ``y_true`` / ``y_pred`` (label ids, or 0/1 matrices for multi-label runs),
    calibrated ``probs`` and the ``texts``, row by row as the split has them."""

    texts: list[str]
    y_true: np.ndarray
    y_pred: np.ndarray
    probs: np.ndarray
    labels: list[str]

    @property
    def multi_label(self) -> bool:
        return self.y_true.ndim == 2

    def __len__(self) -> int:
        return len(self.texts)

    def golds(self) -> list:
        if self.multi_label:
            return [[self.labels[k] for k in np.flatnonzero(row)] for row in self.y_true]
        return [self.labels[int(k)] for k in self.y_true]

    def digest(self) -> str:
        return split_digest(self.texts, self.golds())


def write_predictions(path: Path, texts: list[str], golds: list, probs: np.ndarray, predicted: np.ndarray,
                      label_names: list[str]) -> None:
    """Per example: index, text, the true label and the prediction (multi-label: JSON lists of names under
    ``labels`` and ``predicted``), and every label's probability. ``golds`` are label names (lists of names)."""
    multi = np.asarray(predicted).ndim == 2
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    head = ["labels", "predicted"] if multi else ["label", "prediction"]
    writer.writerow(["index", "text", *head, *[f"p_{name}" for name in label_names]])
    for i, (text, gold, row, decided) in enumerate(zip(texts, golds, probs, predicted)):
        if multi:
            cells = [json.dumps(gold, ensure_ascii=False),
                     json.dumps([label_names[k] for k in np.flatnonzero(decided)], ensure_ascii=False)]
        else:
            cells = [gold, label_names[int(decided)]]
        writer.writerow([i, text, *cells, *[f"{p:.6f}" for p in row]])
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, out.getvalue())


def read_predictions(folder: Folder, name: str, label_names: list[str]) -> Predictions:
    """A predictions CSV, every cell checked: the header (columns in emobench's order for these labels), the
    index running 0, 1, 2, ..., known label names, probabilities that are numbers in [0, 1]."""
    path = folder.path(name, "predictions")
    raw = folder.read_bytes(name, "predictions", MAX_PREDICTION_BYTES)
    index = {label: i for i, label in enumerate(label_names)}
    probabilities = [f"p_{label}" for label in label_names]
    texts, y_true, y_pred, probs = [], [], [], []
    reader = csv.reader(io.StringIO(raw.decode("utf-8", errors="strict") if raw else "", newline=""))
    line = 1
    try:
        header = next(reader, None)
        multi = header is not None and header[2:4] == ["labels", "predicted"]
        expected = ["index", "text", *(["labels", "predicted"] if multi else ["label", "prediction"]), *probabilities]
        if header != expected:
            raise RecordError(f"{path}, line 1: columns {header}, expected {expected} (the run's labels in order)")
        for row in reader:
            line = reader.line_num
            if len(row) != len(expected):
                raise ValueError(f"{len(row)} fields, expected {len(expected)}")
            if row[0] != str(len(texts)):
                raise ValueError(f"index {row[0]!r}, expected {len(texts)}: rows are missing, repeated or reordered")
            texts.append(row[1])
            if multi:
                truth, decided = np.zeros(len(label_names), np.int8), np.zeros(len(label_names), np.int8)
                for target, cell in ((truth, row[2]), (decided, row[3])):
                    names = json.loads(cell)
                    if not isinstance(names, list) or len(set(map(str, names))) != len(names):
                        raise ValueError(f"{cell!r}: expected a JSON list of distinct label names")
                    target[[index[n] for n in names]] = 1
                y_true.append(truth)
                y_pred.append(decided)
            else:
                y_true.append(index[row[2]])
                y_pred.append(index[row[3]])
            values = [float(v) for v in row[4:]]
            if not all(math.isfinite(v) and 0 <= v <= 1 for v in values):
                raise ValueError("a probability outside [0, 1]")
            probs.append(values)
    except RecordError:
        raise
    except (KeyError, TypeError, ValueError, csv.Error, UnicodeDecodeError) as exc:
        detail = f"unknown label {exc}" if isinstance(exc, KeyError) else str(exc)
        raise RecordError(f"{path}, line {line}: {detail}; the predictions file was edited or is not emobench's") from None
    shape = (0, len(label_names))
    empty = np.zeros(shape if multi else 0, int)
    return Predictions(texts, np.array(y_true, dtype=int) if y_true else empty,
                       np.array(y_pred, dtype=int) if y_pred else empty.copy(),
                       np.array(probs) if probs else np.zeros(shape), list(label_names))


def check_metrics(predictions: Predictions, recorded: SplitMetrics, labels: list[str], where: Path, prefix: str,
                   source: str, scored: list[str] | None = None) -> None:
    """The metrics recomputed from the predictions must be the recorded ones (an edited number is refused)."""
    from ..evaluation.metrics import compute_metrics

    if not len(predictions):
        return
    if not predictions.multi_label:  # the predicted label is the most probable one (up to rounding to 6 digits)
        chosen = predictions.probs[np.arange(len(predictions)), predictions.y_pred]
        bad = np.flatnonzero(chosen < predictions.probs.max(axis=1) - 2e-6)
        if len(bad):
            raise RecordError(f"{where.parent / source}, row {int(bad[0])}: the prediction is not the most probable label; "
                              "the file was edited")
    scored = labels if scored is None else scored
    fresh = compute_metrics(predictions.y_true, predictions.y_pred, labels, scored=[labels.index(n) for n in scored]).as_dict()
    saved = recorded.as_dict()
    for average in ("micro", "samples"):  # held as null when absent, so a multi-label record missing one is refused
        saved.setdefault(average, None)
    # every number the predictions determine (accuracy, each average's and each label's precision, recall, F1 and
    # support, the confusion matrix, the multi-label scores) that the record holds; the headline numbers first
    order = ["accuracy", "macro", "weighted", "micro", "samples", "per_class"]
    for key in sorted(fresh, key=lambda k: order.index(k) if k in order else len(order)):
        if key in saved and key not in ("task", "n"):
            _same(fresh[key], saved[key], where, f"{prefix}.{key}" if prefix else key, source)


def _same(computed, saved, where: Path, field: str, source: str) -> None:
    """``saved`` (a value of the record) is ``computed`` (from the predictions): numbers within 1e-9, lists and objects
    member by member (members the record does not hold are left out: older runs recorded fewer)."""
    problem = None
    if isinstance(computed, dict):
        if not isinstance(saved, dict):
            problem = f"{shorten(saved)} recorded, but the predictions ({source}) give an object"
        else:
            for key, value in computed.items():
                if key in saved:
                    _same(value, saved[key], where, f"{field}.{key}", source)
    elif isinstance(computed, list):
        if not isinstance(saved, list) or len(saved) != len(computed):
            problem = f"{shorten(saved)} recorded, but the predictions ({source}) give {shorten(computed)}"
        else:
            for i, (value, kept) in enumerate(zip(computed, saved)):
                _same(value, kept, where, f"{field}[{i}]", source)
    elif isinstance(computed, int | float) and not isinstance(computed, bool):
        if isinstance(saved, bool) or not isinstance(saved, int | float) or not abs(computed - saved) <= 1e-9:
            problem = f"{shorten(saved)} recorded, but the predictions ({source}) give {computed:.6g}"
    if problem:
        check(False, where, field, f"{problem}; the metrics or the predictions were edited")


