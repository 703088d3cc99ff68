"""The run folder: ``config.json`` (resolved), ``environment.json`` (versions, machine, seed), ``data.json``
(checksums, split recipe, warnings, a digest of every split), ``model/``, ``metrics.json``, ``history.json``
(families trained in epochs), ``predictions/<split>.csv`` and ``MANIFEST.json``.

:meth:`RunRecord.load` validates every file and checks them against each other: the metrics against the
data's labels and sizes, and every split's predictions against the split they claim (row count, texts and
labels) and against the metrics recorded beside them (recomputed from the predictions).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import Field, TypeAdapter, ValidationError, model_validator

from ..data import DatasetConfig, Split
from ..errors import RecordError
from ..files import MANIFEST, Folder, json_text, write_manifest, write_text_atomic
from .base import (AnyDict, Count, FileName, Finite, LabelNames, Name, OpenRecord, Record, Share, Task, check,
                   record_of, validate, where_of)

CONFIG, ENVIRONMENT, DATA, METRICS, HISTORY = "config.json", "environment.json", "data.json", "metrics.json", "history.json"
MODEL_DIR, PREDICTIONS_DIR = "model", "predictions"
MAX_PREDICTION_BYTES = 2 << 30
DatasetRecord = record_of(DatasetConfig, "DatasetRecord")


def predictions_file(split: str) -> str:
    return f"{PREDICTIONS_DIR}/{split}.csv"


class RunConfigRecord(Record):
    """config.json: the configuration as resolved when the run started (absolute data paths, every parameter)."""

    model: Name
    family: Name
    params: AnyDict
    preset: str | None = None
    overrides: AnyDict = Field(default_factory=dict)
    seed: int = Field(ge=0)
    dataset: DatasetRecord
    output_dir: str
    name: str | None = None

    def dataset_config(self) -> DatasetConfig:
        return DatasetConfig(**self.dataset.model_dump())


class EnvironmentRecord(Record):
    seed: int = Field(ge=0)
    versions: dict[str, str | None]
    machine: AnyDict
    threads: int | None = None  # torch's threads (same seed and threads, same metrics: `emobench --threads N`)


class _SplitSource(OpenRecord):
    """How a split was generated (files without splits of their own): its seed, fractions and every split's lines."""

    seed: int
    fractions: dict[str, Share]
    file_lines: dict[str, list] | None = None


class _LabelMapSource(OpenRecord):
    name: str
    dropped: dict[str, Count] = Field(default_factory=dict)


class DataSource(OpenRecord):
    """The parts of data.json's ``source`` that are read back (data checks, reuse checks, reports); the rest is
    carried. ``files``: every data file (or hub split) and its sha256."""

    files: dict[str, str] = Field(default_factory=dict)
    split: _SplitSource | None = None
    label_map: _LabelMapSource | None = None
    budget: AnyDict | None = None
    reader_version: Count = 1
    warnings: list[str] = Field(default_factory=list)


class DataRecord(Record):
    dataset: Name
    labels: LabelNames
    task: Task = "single_label"
    sizes: dict[str, Count]
    source: AnyDict  # checked as a DataSource, kept as the dict the data readers made
    warnings: list[str] = Field(default_factory=list)
    audit_warnings: list[str] = Field(default_factory=list)
    conflicting_texts: list[str] | None = None  # normalised texts with different labels in the data: label noise
    split_digests: dict[str, str] | None = None  # sha256 of every split's (text, label) rows, in order

    @model_validator(mode="after")
    def _source(self):
        try:
            DataSource.model_validate(self.source)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            raise ValueError(f"{where_of(('source', *first['loc']))}: {first['msg']}") from None
        return self

    @property
    def multi_label(self) -> bool:
        return self.task == "multi_label"


class Averages(Record):  # closed: an average is these three numbers, and the card shows every key it has
    precision: Share
    recall: Share
    f1: Share


class ClassScores(Record):
    precision: Share
    recall: Share
    f1: Share
    support: Count


class SplitMetrics(OpenRecord):
    task: Task = "single_label"
    n: Count
    accuracy: Share
    macro: Averages
    weighted: Averages
    per_class: dict[str, ClassScores]
    micro: Averages | None = None
    samples: Averages | None = None

    def as_dict(self) -> dict:
        return self.model_dump(mode="json", exclude_none=True)


class MetricsRecord(OpenRecord):
    train_seconds: Finite = Field(ge=0)  # the training alone: one-time preparation is preparation_seconds
    preparation_seconds: Finite = Field(0.0, ge=0)  # e.g. the static family's distillation (its cache's read if cached)
    parameters: Count = 0
    model_info: AnyDict = Field(default_factory=dict)
    splits: dict[str, SplitMetrics]


class EpochRecord(OpenRecord):
    epoch: int = Field(ge=1)
    train_loss: Finite


_HISTORY = TypeAdapter(list[EpochRecord])


# ---------------------------------------------------------------- predictions


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


# ---------------------------------------------------------------- the run


@dataclass
class RunRecord:
    """A finished run, validated; ``os.fspath(record)`` is its folder."""

    folder: Path
    files: Folder
    config: RunConfigRecord
    environment: EnvironmentRecord
    data: DataRecord
    metrics: MetricsRecord
    history: list[dict] | None
    _predictions: dict = field(default_factory=dict, repr=False)

    def __fspath__(self) -> str:
        return str(self.folder)

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def labels(self) -> list[str]:
        return list(self.data.labels)

    @property
    def multi_label(self) -> bool:
        return self.data.multi_label

    @classmethod
    def load(cls, folder: str | Path, allow_modified: bool = False, check_predictions: bool = True) -> "RunRecord":
        folder = Path(folder)
        if not folder.is_dir():
            raise RecordError(f"{folder}: no such run directory")
        if not (folder / METRICS).is_file():
            hint = " (it is unfinished: resume it with `emobench train --resume`)" if folder.name.endswith(".partial") else ""
            raise RecordError(f"{folder}: not a finished emobench run (no {METRICS}){hint}")
        files = Folder(folder, "run", allow_modified)
        config = validate(RunConfigRecord, files.read_json(CONFIG, "run configuration"), folder / CONFIG)
        environment = validate(EnvironmentRecord, files.read_json(ENVIRONMENT, "run environment"), folder / ENVIRONMENT)
        data = validate(DataRecord, files.read_json(DATA, "data record"), folder / DATA)
        metrics = validate(MetricsRecord, files.read_json(METRICS, "run metrics"), folder / METRICS)
        history = None
        if files.has(HISTORY):
            where = folder / HISTORY
            try:
                history = [e.model_dump() for e in _HISTORY.validate_python(files.read_json(HISTORY, "training history"),
                                                                           strict=True)]
            except ValidationError as exc:
                first = exc.errors(include_url=False)[0]
                raise RecordError(f"{where}: field {where_of(first['loc'])}: {first['msg']}; the file was edited or is "
                                  "not emobench's") from None
        record = cls(folder, files, config, environment, data, metrics, history)
        record._check()
        for split in data.sizes:  # predictions without their metrics: a split taken out of metrics.json
            check(split in metrics.splits or not files.has(predictions_file(split)), folder / METRICS, "splits",
                  f"no {split!r} split, but {predictions_file(split)} exists")
        if check_predictions:
            for split in metrics.splits:
                record.predictions(split)
        return record

    def _check(self) -> None:
        where = self.folder / METRICS
        check(self.environment.seed == self.config.seed, self.folder / ENVIRONMENT, "seed",
              f"{self.environment.seed}, but config.json says {self.config.seed}")
        for split, m in self.metrics.splits.items():
            check(split in self.data.sizes, where, f"splits.{split}", f"the data record has no {split!r} split")
            check(m.n == self.data.sizes[split], where, f"splits.{split}.n",
                  f"{m.n} examples, but data.json says the {split} split has {self.data.sizes[split]}")
            # a JSON object's keys have no order: the names must be the labels, and are then kept in the labels' order
            check(sorted(m.per_class) == sorted(self.labels), where, f"splits.{split}.per_class",
                  f"labels {_short(list(m.per_class))}, but data.json says {self.labels}")
            m.per_class = {name: m.per_class[name] for name in self.labels}
            check(m.task == self.data.task, where, f"splits.{split}.task", f"{m.task!r}, but data.json says {self.data.task!r}")

    def dataset_config(self) -> DatasetConfig:
        """The dataset configuration the run recorded, checked as a configuration: a problem is the record's
        (config.json's field), not an option the user gave."""
        from ..data.readers import check_config
        from ..errors import EmobenchError, spell

        config = self.config.dataset_config()
        try:
            check_config(config, recorded=True)
        except EmobenchError as exc:
            raise RecordError(f"{self.folder / CONFIG}: field dataset: {spell(exc.args[0] if exc.args else '')}; the file "
                              "was edited or is not emobench's") from None
        # the data it names is the data data.json describes: checked before anything is read (an edited name would
        # open whatever file it names)
        recorded = (self.data.source or {})
        user_file = recorded.get("kind") == "file"
        problem = None
        if config.user_file != user_file or config.short_name != self.data.dataset.replace(":", "-"):
            problem = f"names the data {config.name!r}, but data.json says the run was trained on {self.data.dataset!r}"
        elif user_file:
            files = list(dict(config.files).values()) or [config.name]
            known = set(recorded.get("files") or {})
            stray = [f for f in files if str(Path(f).expanduser().resolve()) not in known]
            if stray:
                problem = f"names the file {stray[0]}, which data.json does not list among the files the run read"
        if problem:
            raise RecordError(f"{self.folder / CONFIG}: field dataset: {problem}; the file was edited or is not emobench's")
        return config

    def predictions(self, split: str) -> Predictions:
        """The split's predictions, checked against the split they claim and the metrics recorded for it."""
        if split in self._predictions:
            return self._predictions[split]
        name = predictions_file(split)
        predictions = read_predictions(self.files, name, self.labels)
        path = self.folder / name
        recorded = self.metrics.splits.get(split)
        if recorded is None:
            raise RecordError(f"{self.folder / METRICS}: field splits: no {split!r} split, but {name} exists")
        check(len(predictions) == recorded.n, path, "rows",
              f"{len(predictions)} rows, but the {split} split has {recorded.n} examples (metrics.json); rows are missing")
        digests = self.data.split_digests or {}
        if split in digests:
            check(predictions.digest() == digests[split], path, "text, label",
                  f"the texts and labels are not the {split} split's, in its order (data.json records its digest)")
        check(predictions.multi_label == self.multi_label, path, "labels", f"the run's task is {self.data.task}")
        check_metrics(predictions, recorded, self.labels, self.folder / METRICS, f"splits.{split}", name)
        self._predictions[split] = predictions
        return predictions

    def validation_predictions(self) -> Predictions | None:
        return self.predictions("validation") if "validation" in self.metrics.splits else None


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
    fresh = compute_metrics(predictions.y_true, predictions.y_pred, labels, scored=[labels.index(n) for n in scored])
    saved = recorded.model_dump(mode="json")
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
            problem = f"{_short(saved)} recorded, but the predictions ({source}) give an object"
        else:
            for key, value in computed.items():
                if key in saved:
                    _same(value, saved[key], where, f"{field}.{key}", source)
    elif isinstance(computed, list):
        if not isinstance(saved, list) or len(saved) != len(computed):
            problem = f"{_short(saved)} recorded, but the predictions ({source}) give {_short(computed)}"
        else:
            for i, (value, kept) in enumerate(zip(computed, saved)):
                _same(value, kept, where, f"{field}[{i}]", source)
    elif isinstance(computed, int | float) and not isinstance(computed, bool):
        if isinstance(saved, bool) or not isinstance(saved, int | float) or not abs(computed - saved) <= 1e-9:
            problem = f"{_short(saved)} recorded, but the predictions ({source}) give {computed:.6g}"
    if problem:
        check(False, where, field, f"{problem}; the metrics or the predictions were edited")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + f"... ({len(text)} characters)"


# ---------------------------------------------------------------- writing a run


class RunWriter:
    """Writes a run folder in the order that makes it trustworthy: configuration, environment and data first,
    then predictions and metrics, the manifest last."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def start(self, config: dict, environment: dict, data: dict) -> None:
        validate(RunConfigRecord, config, "the run configuration being saved")
        validate(DataRecord, data, "the data record being saved")
        for name, value in ((CONFIG, config), (ENVIRONMENT, environment), (DATA, data)):
            write_text_atomic(self.folder / name, json_text(value))

    def config(self) -> RunConfigRecord:
        files = Folder(self.folder, "run", note_unverified=False)
        return validate(RunConfigRecord, files.read_json(CONFIG, "run configuration"), self.folder / CONFIG)

    def data(self) -> DataRecord:
        files = Folder(self.folder, "run", note_unverified=False)
        return validate(DataRecord, files.read_json(DATA, "data record"), self.folder / DATA)

    def predictions(self, split: str, texts: list[str], golds: list, probs, predicted, label_names) -> None:
        write_predictions(self.folder / predictions_file(split), texts, golds, probs, predicted, label_names)

    def results(self, metrics: dict, history: list[dict] | None) -> None:
        validate(MetricsRecord, json.loads(json_text(metrics)), "the metrics being saved")
        write_text_atomic(self.folder / METRICS, json_text(metrics))
        if history:
            write_text_atomic(self.folder / HISTORY, json_text(history))

    def complete(self) -> None:
        write_manifest(self.folder, skip=("checkpoints",))


__all__ = ["RunRecord", "RunWriter", "RunConfigRecord", "DataRecord", "MetricsRecord", "SplitMetrics", "Predictions",
           "read_predictions", "write_predictions", "split_digest", "gold_names", "predictions_file", "MANIFEST",
           "FileName", "CONFIG", "DATA", "METRICS", "MODEL_DIR"]
