"""The run folder: ``config.json`` (resolved), ``environment.json`` (versions, machine, seed), ``data.json``
(checksums, split recipe, warnings, a digest of every split), ``model/``, ``metrics.json``, ``history.json``
(families trained in epochs), ``predictions/<split>.csv`` and ``MANIFEST.json``.

:meth:`RunRecord.load` validates every file and checks them against each other: the metrics against the
data's labels and sizes, and every split's predictions against the split they claim (row count, texts and
labels) and against the metrics recorded beside them (recomputed from the predictions).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field, TypeAdapter, ValidationError, field_serializer

from ..data import DatasetConfig
from ..data.descriptions import DescriptionsSource
from ..data.provenance import DataSource
from ..data.unlabeled import UnlabeledSource
from ..errors import RecordError
from ..files import MANIFEST, json_text, write_text_atomic
from ..manifest import Folder, write_manifest
from ..evaluation.metrics import SplitMetrics
from .base import (AnyDict, Count, FileName, Finite, LabelNames, Name, OpenRecord, Record, Task, check,
                   record_of, validate, where_of)
from .predictions import (Predictions, check_metrics, gold_names, read_predictions, shorten,
                          split_digest, write_predictions)
from .transfer import TransferReport

CONFIG, ENVIRONMENT, DATA, METRICS, HISTORY = "config.json", "environment.json", "data.json", "metrics.json", "history.json"
MODEL_DIR, PREDICTIONS_DIR = "model", "predictions"
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


class TeacherSource(Record):
    """data.json's ``teacher`` (a run made by ``emobench distill``): the run whose calibrated probabilities the model
    learnt from, pinned by its model folder's MANIFEST.json checksum, and how its probabilities were used."""

    run: str  # the teacher run's folder (absolute)
    model: Name
    family: Name
    model_sha256: str  # of the teacher's model/MANIFEST.json, which lists every model file's sha256
    test_macro_f1: Finite | None = None
    fitted_temperature: Finite = Field(gt=0)  # the teacher's own calibration
    temperature: Finite = Field(gt=0)  # --temperature: the calibrated logits divided by it once more (1: as they are)
    soft_weight: Finite = Field(ge=0, le=1)  # the soft targets' share of the loss on labelled texts
    unlabeled: UnlabeledSource | None = None  # --unlabeled: texts learnt from through the teacher's probabilities alone
    data_changes: list[str] = Field(default_factory=list)  # allowed by --allow-changed-data (warned when made)
    # the teacher's files that differed from its manifest, used through --allow-modified (warned when made)
    modified_files: list[str] = Field(default_factory=list)


class DataRecord(Record):
    dataset: Name
    labels: LabelNames
    task: Task = "single_label"
    sizes: dict[str, Count]
    source: DataSource  # written key for key as the data readers made it
    warnings: list[str] = Field(default_factory=list)
    audit_warnings: list[str] = Field(default_factory=list)
    conflicting_texts: list[str] | None = None  # normalised texts with different labels in the data: label noise
    split_digests: dict[str, str] | None = None  # sha256 of every split's (text, label) rows, in order
    unlabeled: UnlabeledSource | None = None  # --unlabeled: where from, sha256, count, overlap, how it was used
    descriptions: DescriptionsSource | None = None  # --label-descriptions: the file, sha256, each label's
    teacher: TeacherSource | None = None  # emobench distill: the teacher run and how its probabilities were used

    @field_serializer("source")
    def _source(self, source: DataSource) -> dict:
        return source.dump()

    @property
    def multi_label(self) -> bool:
        return self.task == "multi_label"


class MetricsRecord(OpenRecord):
    train_seconds: Finite = Field(ge=0)  # the training alone: one-time preparation is preparation_seconds
    preparation_seconds: Finite = Field(0.0, ge=0)  # e.g. the static family's distillation (its cache's read if cached)
    parameters: Count = 0
    model_info: AnyDict = Field(default_factory=dict)
    splits: dict[str, SplitMetrics]

    @field_serializer("splits")
    def _splits(self, splits: dict[str, SplitMetrics]) -> dict:
        return {name: metrics.dump() for name, metrics in splits.items()}  # each split as metrics.json has it


class EvaluationRecord(SplitMetrics):
    """The JSON ``evaluate --json`` writes: one split's metrics and timing, and whether the run's own data was
    verified (and how it changed), or what was found about another dataset (``transfer``)."""

    data_verified: bool | None = None
    data_changes: list[str] | None = None
    transfer: TransferReport | None = None


def write_evaluation(path: str | Path, metrics: dict) -> None:
    """Checked as a record, then written whole or not at all; the values exactly as given."""
    validate(EvaluationRecord, json.loads(json_text(metrics)), "the metrics being saved")
    write_text_atomic(Path(path), json_text(metrics))


# what a model card shows of a run's test metrics (the serving card and an export's source)
CARD_METRICS = ("n", "accuracy", "macro", "weighted", "micro", "samples", "subset_accuracy", "hamming_loss", "jaccard")


def card_metrics(split: SplitMetrics | None) -> dict:
    return {k: v for k, v in (split.as_dict() if split else {}).items() if k in CARD_METRICS}


class EpochRecord(OpenRecord):
    epoch: int = Field(ge=1)
    train_loss: Finite


_HISTORY = TypeAdapter(list[EpochRecord])


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
                  f"labels {shorten(list(m.per_class))}, but data.json says {self.labels}")
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
        recorded = self.data.source
        user_file = recorded.kind == "file"
        problem = None
        if config.user_file != user_file or config.short_name != self.data.dataset.replace(":", "-"):
            problem = f"names the data {config.name!r}, but data.json says the run was trained on {self.data.dataset!r}"
        elif user_file:
            files = list(dict(config.files).values()) or [config.name]
            known = set(recorded.files)
            stray = [f for f in files if str(Path(f).expanduser().resolve()) not in known]
            if stray:
                problem = f"names the file {stray[0]}, which data.json does not list among the files the run read"
        if problem is None:
            problem = _stray_input(config, self.data)
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


def _stray_input(config: DatasetConfig, data: DataRecord) -> str | None:
    """An unlabeled-texts or descriptions file config.json names but data.json does not record (it would be opened)."""
    for name, recorded in (("unlabeled", data.unlabeled), ("label_descriptions", data.descriptions)):
        value = getattr(config, name)
        if value is None or value == "rest":
            continue
        if recorded is None or recorded.file != str(Path(value).expanduser().resolve()):
            return f"names the {name} file {value}, which data.json does not record"
    return None


# ---------------------------------------------------------------- writing a run


class RunWriter:
    """Writes a run folder in the order that makes it trustworthy: configuration, environment and data first,
    then predictions and metrics, the manifest last."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def start(self, config: dict, environment: dict, data: DataRecord | dict) -> None:
        validate(RunConfigRecord, config, "the run configuration being saved")
        validate(EnvironmentRecord, json.loads(json_text(environment)), "the run environment being saved")
        data = validate(DataRecord, data, "the data record being saved").dump()
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

    def results(self, metrics: MetricsRecord, history: list[EpochRecord] | None) -> None:
        data = metrics.model_dump()  # Python values: json_text writes the numpy numbers a family's facts may hold
        validate(MetricsRecord, json.loads(json_text(data)), "the metrics being saved")
        write_text_atomic(self.folder / METRICS, json_text(data))
        if history:
            epochs = _HISTORY.validate_python(history, strict=True)  # the loop's records as they are; dicts checked
            write_text_atomic(self.folder / HISTORY, json_text([epoch.model_dump() for epoch in epochs]))

    def complete(self) -> None:
        write_manifest(self.folder, skip=("checkpoints",))


__all__ = ["RunRecord", "RunWriter", "RunConfigRecord", "DataRecord", "MetricsRecord", "SplitMetrics", "Predictions",
           "read_predictions", "write_predictions", "EvaluationRecord", "write_evaluation", "CARD_METRICS",
           "card_metrics", "split_digest", "gold_names", "predictions_file", "MANIFEST",
           "FileName", "CONFIG", "DATA", "METRICS", "MODEL_DIR"]
