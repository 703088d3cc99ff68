"""Distillation into a fast student (``emobench distill``): a student family trained on a teacher run's calibrated
probabilities over the training texts (and texts without labels, ``--unlabeled FILE``). The student is a run like any
other (train's machinery, experiments/run.py), whose data.json records the teacher (models/registry.py FIT_INPUTS:
the families that learn from ``soft_targets``).

The teacher's data is read again from its recorded configuration and must be the data it was trained on (its
checksums, split and labels; ``allow_changed_data`` warns instead and records the changes). Its probabilities are
its own calibrated ones (its fitted temperature), divided once more by ``temperature`` (1: as they are). Everything
chosen on validation (the student's epochs, temperature, thresholds) is chosen with the true labels.
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from pathlib import Path

import numpy as np

from ..data import Corpus, DatasetConfig
from ..data.unlabeled import REST, UnlabeledSource, unlabeled_texts
from ..errors import EmobenchError, option
from ..files import MANIFEST, ModifiedFileWarning
from ..manifest import sha256_of
from ..models.base import Classifier, load_model, open_model_folder
from ..models.registry import DEFAULT_STUDENT, family_of, refuse_input, takes
from ..records.model import TEMPERATURE_RANGE
from ..records.run import RunRecord, TeacherSource
from .data_checks import recorded_corpus, verify_data
from .run import Distillation, RunConfig, train

# How the unlabeled texts are used, said in data.json's teacher.unlabeled
USE = "distillation: learnt from through the teacher's probabilities alone"
# The soft targets' share of the loss on a labelled text. Half: the teacher's probabilities carry how alike the
# classes are (what a one-hot label cannot), while the true label keeps the student right where the teacher is wrong
# -- and a teacher scoring its own training texts is often near one-hot and sure of its mistakes there. A text
# without a label has only its soft target.
SOFT_WEIGHT = 0.5


def distill(teacher: str | Path, student: str = DEFAULT_STUDENT, unlabeled: str | Path | None = None, temperature: float = 1.0,
            soft_weight: float = SOFT_WEIGHT, seed: int = 0, output_dir: str | Path = "runs", name: str | None = None,
            overrides: dict | None = None, allow_changed_data: bool = False, progress: bool = True,
            allow_modified: bool = False) -> RunRecord:
    """Train ``student`` (a model name whose family learns from soft targets) on the finished run ``teacher``'s
    calibrated probabilities over its training texts and ``unlabeled`` ones; returns the student's run. A teacher
    folder whose files differ from its manifest is refused, or with ``allow_modified`` used, warned and recorded."""
    _check_numbers(temperature, soft_weight)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ModifiedFileWarning)
        record = RunRecord.load(teacher, allow_modified, check_predictions=False)
        _check_student(student)
        if not takes(family_of(student), "soft_targets"):  # said before its parameters are checked
            raise EmobenchError(f"{option('student')} {student}: {refuse_input(family_of(student), 'soft_targets')}")
        config = RunConfig(model=student, dataset=_student_dataset(record.dataset_config()), seed=seed,
                           overrides=dict(overrides or {}), output_dir=str(output_dir), name=name)
        spec = config.validate()
        model = load_model(teacher, allow_modified)
    modified = list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, ModifiedFileWarning)))
    for warning in caught:  # said as they were, once each
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    corpus, changes = _teacher_data(record, Path(teacher), model, allow_changed_data)
    extra = _unlabeled(unlabeled, config.dataset, corpus)
    texts = [*corpus["train"].texts, *(extra.texts if extra else [])]
    probs = teacher_probabilities(model, texts, temperature)
    source = _teacher_source(record, Path(teacher), model, (temperature, soft_weight), _used(extra, spec.family),
                             changes, modified)
    return train(config, corpus=corpus, progress=progress,
                 distillation=Distillation(probs, list(extra.texts) if extra else [], float(soft_weight), source))


def teacher_probabilities(model: Classifier, texts: list[str], temperature: float = 1.0) -> np.ndarray:
    """The teacher's calibrated probabilities (its logits over its fitted temperature, as its Predictor gives them),
    with ``temperature`` > 1 softer and < 1 sharper."""
    return model.probabilities(model.logits_batched(list(texts)) / (model.temperature * temperature))


def _check_student(student: str) -> None:
    """An unknown student named with the models that can be one (not every model: most learn from labels alone)."""
    from ..models.registry import MODELS

    try:
        family_of(student)
    except EmobenchError:
        students = [m for m in MODELS if takes(family_of(m), "soft_targets")]
        raise EmobenchError(f"{option('student')} {student!r}: unknown model; a student is one of "
                            f"{', '.join(students)} (models of families that learn from a teacher's probabilities)") from None


def _check_numbers(temperature, soft_weight) -> None:
    # the range a fitted temperature has: past 100 a teacher's rows are near uniform and teach nothing, below 0.01
    # they are its argmax
    for what, value, (low, high) in (("temperature", temperature, TEMPERATURE_RANGE), ("soft_weight", soft_weight, (0, 1))):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or not low <= value <= high:
            expected = f"a number from {low:g} to {high:g}"
            raise EmobenchError(f"{option(what)} {value!r}: expected {expected}")


def _student_dataset(dataset: DatasetConfig) -> DatasetConfig:
    """The teacher's dataset as the student reads it: its own inputs (unlabeled texts, descriptions) are the teacher's,
    not the student's (the student's unlabeled texts are distill's own)."""
    return dataclasses.replace(dataset, unlabeled=None, label_descriptions=None)


def _teacher_data(record: RunRecord, folder: Path, model: Classifier, allow_changed: bool) -> tuple[Corpus, list[str]]:
    """The teacher's training data, read as it recorded it; refused where it changed (unless allowed, then warned)."""
    corpus = recorded_corpus(record.dataset_config(), record.data, inputs=False)
    if list(model.label_names) != list(corpus.label_names):
        raise EmobenchError(f"{folder}: the teacher's labels ({', '.join(model.label_names)}) are not the data's "
                            f"({', '.join(corpus.label_names)}); its probabilities cannot be the student's targets")
    if model.multi_label != corpus["train"].multi_label:
        raise EmobenchError(f"{folder}: the teacher is {'multi' if model.multi_label else 'single'}-label, its data is not")
    return corpus, verify_data(record.data, corpus, folder, allow_changed, verb="distill", whose="teacher")


def _unlabeled(path: str | Path | None, dataset: DatasetConfig, corpus: Corpus):
    """The texts without labels (read like train's --unlabeled FILE, with the data's reading options), or None."""
    if path is None:
        return None
    if str(path) == REST:
        raise EmobenchError(f"{option('unlabeled')} rest: distill takes a file of texts (TXT, CSV, TSV, JSONL)")
    return unlabeled_texts(dataclasses.replace(dataset, unlabeled=str(path)), corpus)


def _used(extra, family: str) -> UnlabeledSource | None:
    """data.json's record of the unlabeled texts: file, sha256, count, overlap, and that the student distilled them."""
    return extra.record(family).model_copy(update={"use": USE}) if extra is not None else None


def _teacher_source(record: RunRecord, folder: Path, model: Classifier, numbers: tuple[float, float],
                    unlabeled: UnlabeledSource | None, changes: list[str], modified: list[str]) -> TeacherSource:
    temperature, soft_weight = numbers
    test = record.metrics.splits.get("test")
    manifest = open_model_folder(folder, allow_modified=bool(modified)).root / MANIFEST
    return TeacherSource(run=str(folder.resolve()), model=record.config.model, family=record.config.family,
                         model_sha256=sha256_of(manifest), test_macro_f1=test.macro.f1 if test else None,
                         fitted_temperature=float(model.temperature), temperature=float(temperature),
                         soft_weight=float(soft_weight), unlabeled=unlabeled, data_changes=list(changes),
                         modified_files=modified)
