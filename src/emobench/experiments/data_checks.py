"""The data a run trains on and the checks that it is still the data a run recorded: the corpus cleaned of flagged
texts, the data record written as training starts, and what has changed since (file checksums, the generated split,
the labels, the reader, every split's rows) -- refused, or with ``allow_changed_data`` warned about."""
from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

from ..data import Corpus, DatasetConfig, audit, load_dataset
from ..errors import EmobenchError, EmobenchWarning, option
from ..records.run import DataRecord, gold_names, split_digest


def cleaned(corpus: Corpus, dataset: DatasetConfig) -> Corpus:
    """The corpus to train on: with ``dataset.label_issues``, its training split cleaned of the texts confident learning
    flags (computed on the training split, or read from a saved audit). The folds are always seed 0's, so every run on
    the same data, whatever its own seed, trains on the same cleaned split."""
    from .label_issues import apply_cleaning, cleaning_plan

    if dataset.label_corrections:
        from .review import correction_plan

        return apply_cleaning(corpus, correction_plan(corpus, dataset.label_corrections, dataset))
    if not dataset.label_issues:
        return corpus
    return apply_cleaning(corpus, cleaning_plan(corpus, dataset.label_issues, dataset.label_issues_from, seed=0))


def recorded_corpus(config: DatasetConfig, data: DataRecord, inputs: bool = True) -> Corpus:
    """The data a run was trained on, as its data.json records it: read again (a data budget included), then cleaned by
    the recorded rows -- never flagged again, and the saved audit it was cleaned from never read (it may be gone).
    Without ``inputs`` (scoring the run), its unlabeled texts and label descriptions are not read (they may be gone)."""
    unused = {} if inputs else {"unlabeled": None, "label_descriptions": None}
    return recorded_cleaning(load_dataset(dataclasses.replace(config, label_issues=None, label_issues_from=None,
                                                              label_corrections=None, **unused)), data)


def recorded_cleaning(corpus: Corpus, data: DataRecord) -> Corpus:
    """The corpus cleaned as a run recorded it (the same rows, not flagged again), once its training split is the one
    the flags were made on."""
    plan = data.source.label_issues
    if not plan:
        return corpus
    from .label_issues import apply_cleaning

    train = corpus["train"]
    if split_digest(train.texts, gold_names(train, corpus.label_names)) != plan.train_digest:
        return corpus  # the data changed: verify_data says how
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return apply_cleaning(corpus, plan)


def check_fit_inputs(dataset: DatasetConfig, spec, *, budgeted_later: bool = False) -> None:
    """Before any data is read: unlabeled texts and label descriptions go to a family that learns from them, and rest
    comes with a data budget (a comparison's are its own: ``budgeted_later``)."""
    from ..data.unlabeled import check_unlabeled
    from ..models.registry import refuse_input

    check_unlabeled(dataset.unlabeled, dataset.train_size, budgeted_later=budgeted_later)
    for name, what in (("unlabeled", "unlabeled"), ("label_descriptions", "descriptions")):
        if getattr(dataset, name) is not None and not spec.takes(what):
            raise EmobenchError(f"{option(name)}: {refuse_input(spec.family, what)}")


def inputs_for(dataset: DatasetConfig, spec) -> DatasetConfig:
    """A comparison's dataset for one model: without the inputs its family does not learn from (its run says so)."""
    return dataclasses.replace(dataset, unlabeled=dataset.unlabeled if spec.takes("unlabeled") else None,
                               label_descriptions=dataset.label_descriptions if spec.takes("descriptions") else None)


def input_users(dataset: DatasetConfig, specs: dict) -> dict[str, list[str]]:
    """Which of a comparison's models learn from its unlabeled texts / label descriptions ("used"), which do not."""
    out: dict[str, list[str]] = {}
    for name, what in (("unlabeled", "unlabeled"), ("label_descriptions", "descriptions")):
        if getattr(dataset, name) is not None:
            out[f"{name} used by"] = [m for m, spec in specs.items() if spec.takes(what)]
            out[f"{name} not learnt from by"] = [m for m, spec in specs.items() if not spec.takes(what)]
    return out


def fit_inputs(spec, corpus: Corpus) -> dict:
    """``model.fit``'s unlabeled texts and descriptions: what the corpus carries, for a family that learns from it."""
    out = {}
    if corpus.unlabeled is not None and spec.takes("unlabeled"):
        out["unlabeled"] = list(corpus.unlabeled.texts)
    if corpus.descriptions is not None and spec.takes("descriptions"):
        out["descriptions"] = list(corpus.descriptions.descriptions)
    return out


def data_record(corpus: Corpus, spec=None) -> DataRecord:
    from ..data.auditing import run_warnings
    from ..data.readers import DataWarning

    report = audit(corpus)
    for line in run_warnings(report):  # what the scores depend on is said as training starts, and kept below
        warnings.warn(line, DataWarning, stacklevel=2)
    used = fit_inputs(spec, corpus) if spec is not None else {}
    family = spec.family if spec is not None else None
    unlabeled = corpus.unlabeled.record(family if "unlabeled" in used else None) if corpus.unlabeled else None
    descriptions = corpus.descriptions.record(family if "descriptions" in used else None) if corpus.descriptions else None
    overlap = corpus.unlabeled.overlap_warning() if corpus.unlabeled else None
    said = [*corpus.source.warnings, *([overlap] if overlap and overlap not in corpus.source.warnings else [])]
    return DataRecord(dataset=corpus.name, labels=corpus.label_names, task=corpus.task,
                      sizes={n: len(s) for n, s in corpus.splits.items()}, source=corpus.source,
                      unlabeled=unlabeled, descriptions=descriptions,
                      warnings=said, audit_warnings=report.warnings,
                      # normalised texts that occur with different labels across the splits: label noise
                      conflicting_texts=report.overall.conflicting_keys,
                      split_digests={n: split_digest(s.texts, gold_names(s, corpus.label_names))
                                     for n, s in corpus.splits.items()})
def _by_basename(files: dict) -> dict[str, str]:
    return {Path(path).name if not str(path).startswith("hub:") else path: checksum for path, checksum in files.items()}


def data_changes(recorded_data: DataRecord, corpus: Corpus) -> list[str]:
    """How the data read now differs from what a run recorded (file checksums, split, labels)."""
    changes = []
    before = _by_basename(recorded_data.source.files)
    now = _by_basename(corpus.source.files)
    for name in sorted(set(before) | set(now)):
        if before.get(name) != now.get(name):
            changes.append(f"{name}: sha256 {str(before.get(name))[:12]}... when trained, {str(now.get(name))[:12]}... now")
    split_before = recorded_data.source.split.file_lines if recorded_data.source.split else None
    split_now = corpus.source.split.file_lines if corpus.source.split else None
    if split_before is not None and split_now is not None and split_before != split_now:
        changes.append("the generated split differs (another seed, fractions or set of rows)")
    if recorded_data.labels != corpus.label_names:
        changes.append(f"labels {recorded_data.labels} when trained, {corpus.label_names} now")
    version_before, version_now = recorded_data.source.reader_version, corpus.source.reader_version
    if version_before != version_now:
        changes.append(f"the {corpus.name} reader changed since (version {version_before} then, {version_now} now): "
                       "the same files may give other texts")
    changes += _input_changes(recorded_data, corpus)
    if not changes and recorded_data.split_digests:  # same files, same reader: the same rows, unless something else
        for split, digest in recorded_data.split_digests.items():
            if split in corpus.splits and split_digest(corpus[split].texts, gold_names(corpus[split], corpus.label_names)) != digest:
                changes.append(f"the {split} split's texts or labels differ from the ones the run was trained on")
    return changes


def _input_changes(recorded_data: DataRecord, corpus: Corpus) -> list[str]:
    """The unlabeled texts' and label descriptions' checksums (data read only to be scored carries neither)."""
    changes = []
    for what, before, now in (("unlabeled texts", recorded_data.unlabeled, corpus.unlabeled),
                              ("label descriptions", recorded_data.descriptions, corpus.descriptions)):
        if before is not None and now is not None and before.sha256 != now.sha256:
            changes.append(f"{what} {now.file or 'rest'}: sha256 {before.sha256[:12]}... when trained, "
                           f"{now.sha256[:12]}... now")
    return changes


def verify_data(recorded_data: DataRecord, corpus: Corpus, run_dir: Path, allow_changed: bool | None = None,
                verb: str = "evaluate", whose: str = "run") -> list[str]:
    """Refuse (or, if allowed, warn loudly) when the data differs from what the run (``whose``: the teacher, say)
    recorded. ``allow_changed`` None: the caller offers no way to allow it, and the error says so rather than naming
    an option it lacks."""
    changes = data_changes(recorded_data, corpus)
    if changes and not allow_changed:
        remedy = (f"pass {option('allow_changed_data')} to {verb} anyway" if allow_changed is not None else
                  f"restore the files the {whose} was trained on")
        raise EmobenchError(f"{run_dir}: the data differs from what the {whose} was trained on: " + "; ".join(changes)
                            + f" ({remedy})")
    for change in changes:
        warnings.warn(f"the data changed since the {whose} was trained (allowed by {option('allow_changed_data')}): "
                      f"{change}", EmobenchWarning, stacklevel=2)
    return changes
