"""A run: train one model on one dataset and write everything needed to trust and repeat it (see
:mod:`emobench.records.run` for the folder). It is built in ``<name>.partial`` -- claimed by one process with
an exclusive lock -- and renamed when complete, so a finished name is never half-written; an interrupted
``.partial`` holds checkpoints that ``train(resume=...)`` continues from.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import errno
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..claims import Lock
from ..data import Corpus, DatasetConfig, load_dataset
from ..data.budgets import NONE as NO_LABELS, parse_size
from ..environment import machine_info, seed_everything, thread_count, versions
from ..errors import EmobenchError, TrainingDiverged, option
from ..files import check_output_folder, check_outside_records, check_plain_name
from ..logs import logger as log
from ..models.base import Classifier
from ..models.registry import DEFAULT_MODEL, ModelSpec, folder_name, recorded, refuse_input, resolve, small_data
from ..records.run import CONFIG, METRICS, MetricsRecord, RunRecord, RunWriter, TeacherSource
# evaluating a run and checking its data have homes of their own; these names stay importable from here
from .data_checks import (check_fit_inputs, cleaned, data_changes, data_record, fit_inputs, recorded_cleaning,
                          recorded_corpus, verify_data)
from .evaluate import (INHERITED_READING, Evaluation, evaluate_run, evaluate_split, file_config, same_dataset,
                       scored_description, scoring_data)
from .transfer import TransferEvaluation, transfer_evaluate, write_transfer_predictions

PARTIAL = ".partial"
MAX_SEED = 2**32 - 1  # numpy's seeds


@dataclass
class RunConfig:
    model: str = DEFAULT_MODEL
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    seed: int = 0
    preset: str | None = None
    overrides: dict = field(default_factory=dict)
    output_dir: str = "runs"
    name: str | None = None
    spec: ModelSpec | None = field(default=None, repr=False, compare=False)  # the model name, resolved once

    def to_dict(self) -> dict:
        return {f.name: dataclasses.asdict(self)[f.name] if f.name != "dataset" else self.dataset.to_dict()
                for f in dataclasses.fields(self) if f.name != "spec"}

    def validate(self) -> ModelSpec:
        """Everything about the configuration that can be checked before data is read or a folder made;
        returns the model's spec (resolved on the first call)."""
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise EmobenchError(f"{option('seed')} {self.seed!r}: expected a seed from 0 to {MAX_SEED:,}")
        if self.name is not None:
            check_plain_name(self.name)
        check_output_folder(self.output_dir)
        if self.spec is None:
            # on a data budget, the family's small-data defaults (a minimum of optimizer steps) under the overrides
            budget = small_data(self.model) if self.dataset.train_size is not None else {}
            self.spec = resolve(self.model, {**budget, **self.overrides}, self.preset)
            pretrained = getattr(self.spec.params, "pretrained", None)
            if isinstance(pretrained, str):  # a model folder to start from: checked before any data is read
                from ..models.pretrained import check_source
                from ..models.transformer import resolve_pretrained

                aliases = getattr(self.spec.family_class, "ALIASES", {})
                typed = next((a for a, c in aliases.items() if c == "pretrained" and a in self.overrides), "pretrained")
                check_source(resolve_pretrained(pretrained), typed)
            check_fit_inputs(self.dataset, self.spec)  # a family given what it does not learn from: refused now
            check_no_labels(self.dataset, self.spec)
        return self.spec

    @classmethod
    def from_record(cls, record) -> "RunConfig":
        """The configuration a run recorded, with exactly its parameters."""
        spec = recorded(record.model, record.family, record.params, record.preset, record.overrides)
        return cls(model=record.model, dataset=record.dataset_config(), seed=record.seed, preset=record.preset,
                   overrides=dict(record.overrides), output_dir=record.output_dir, name=record.name, spec=spec)

    def resolved(self) -> dict:
        """What config.json records: the configuration with absolute data paths, every parameter, the family."""
        spec = self.validate()
        return {**self.to_dict(), "dataset": self.dataset.resolved().to_dict(), "params": spec.params_dict(),
                "family": spec.family}


def check_no_labels(dataset: DatasetConfig, spec: ModelSpec) -> None:
    """A budget of no labelled texts for a family that cannot learn from none, or with a cleaning of the (empty)
    training split: refused before any data is read."""
    if dataset.train_size is None or parse_size(dataset.train_size) != NO_LABELS:
        return
    if not spec.takes("no_labels"):
        raise EmobenchError(f"{option('train_size')} 0: {refuse_input(spec.family, 'no_labels')}")
    if dataset.unlabeled is not None:  # it would be recorded as a self-training pool that nothing used
        raise EmobenchError(f"{option('unlabeled')} with {option('train_size')} 0: a model trained on no labelled "
                            "texts learns nothing from texts without labels (self-training is checked against "
                            "labelled texts, and a zero-shot model reads none); leave it out")
    for cleaning in ("label_issues", "label_corrections"):
        if getattr(dataset, cleaning):
            raise EmobenchError(f"{option(cleaning)} changes the training split's labels; {option('train_size')} 0 "
                                "leaves no training split to change")


def default_run_name(config: RunConfig) -> str:
    """dataset-model-seed-time plus a random suffix, so two runs started in the same second differ."""
    model = folder_name(config.model)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return check_plain_name(f"{config.dataset.short_name}-{model}-s{config.seed}-{stamp}-{secrets.token_hex(3)}")


def _claim(config: RunConfig) -> tuple[Path, Path]:
    """Create ``<name>.partial`` exclusively (mkdir is atomic): two processes never share one."""
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    for _ in range(5):
        name = config.name or default_run_name(config)
        final, partial = out / name, out / (name + PARTIAL)
        if final.exists():
            if config.name:
                raise EmobenchError(f"{final} already exists; choose another {option('name')}")
            continue
        try:
            partial.mkdir()
        except FileExistsError:
            if config.name:
                lock = Lock.of(partial)
                if lock.alive():
                    raise EmobenchError(f"{partial} is being trained by {lock.describe()}; choose another "
                                        f"{option('name')}") from None
                raise EmobenchError(f"{partial} holds an unfinished run; resume it with {option('resume')} {partial}, "
                                    f"or delete it, or choose another {option('name')}") from None
            continue
        config.name = name
        return final, partial
    raise EmobenchError(f"could not find a free run name under {out}")


def _resume_target(resume: str | Path) -> tuple[Path, Path]:
    path = Path(resume)
    if not path.name.endswith(PARTIAL):
        if Path(str(path) + PARTIAL).is_dir():
            path = Path(str(path) + PARTIAL)
        elif (path / METRICS).is_file():
            raise EmobenchError(f"{path} is a finished run; there is nothing to resume (train a new run instead)")
        else:
            raise EmobenchError(f"{path}: not an unfinished run (expected a NAME{PARTIAL} folder)")
    if not (path / CONFIG).is_file():
        lock = Lock.of(path)
        if lock.alive():  # claimed a moment ago by a process that is writing its configuration
            raise EmobenchError(f"{path}: the run is being trained by {lock.describe()}; wait for it or stop it")
        raise EmobenchError(f"{path}: not an unfinished run (no {CONFIG}); nothing to resume")
    final = path.with_name(path.name[: -len(PARTIAL)])
    if final.exists():
        raise EmobenchError(f"{final} already exists, so {path} cannot be finished under that name; move one of them")
    return path, final


@dataclass
class _Started:
    """A run being trained: its configuration, its claimed ``.partial`` folder (locked) and the name it finishes as."""

    config: RunConfig
    spec: ModelSpec
    partial: Path
    final: Path
    writer: RunWriter
    lock: Lock
    fresh: bool
    out_existed: bool = True
    threads: int | None = None
    distillation: "Distillation | None" = None


@dataclass(frozen=True)
class Distillation:
    """What a run made by ``emobench distill`` learns from besides its labels (experiments/distill.py): the teacher's
    probabilities over the training texts and then ``unlabeled``, and the record data.json keeps of them."""

    soft_targets: object  # a float array (models/base.py check_soft_targets says what it must be)
    unlabeled: list[str]
    soft_weight: float
    record: TeacherSource

    def fit_inputs(self) -> dict:
        return {"soft_targets": self.soft_targets, "unlabeled": list(self.unlabeled) or None,
                "soft_weight": self.soft_weight}


def train(config: RunConfig | None = None, *, resume: str | Path | None = None, progress: bool = True,
          corpus: Corpus | None = None, tracker=None, distillation: Distillation | None = None) -> RunRecord:
    """Train, evaluate on validation and test, and write a complete run directory; returns its record.
    ``tracker`` (a :class:`emobench.tracking.Tracker`) receives the configuration, every epoch's metrics,
    the final metrics and the run directory. ``distillation``: a teacher's probabilities to learn from (given with
    the ``corpus`` they were computed on; experiments/distill.py)."""
    if resume is not None:
        run = _resumed(resume)
    else:
        config = dataclasses.replace(config or RunConfig())
        spec = config.validate()
        check_outside_records(config.output_dir, "output_dir")
        corpus = _asked_inputs(corpus or cleaned(load_dataset(config.dataset), config.dataset), config.dataset)
        run = _claimed(config, spec)
        run.distillation = distillation
    try:
        if not run.fresh:
            corpus = _asked_inputs(corpus or recorded_corpus(run.config.dataset, run.writer.data()), run.config.dataset)
            verify_data(run.writer.data(), corpus, run.partial)
        else:
            run.writer.start(run.config.resolved(), {"seed": run.config.seed, "versions": versions(),
                                                     "machine": machine_info(), "threads": run.threads},
                             _with_teacher(data_record(corpus, run.spec), distillation))
        seed_everything(run.config.seed)
        model = run.spec.build()
        if tracker is not None:
            tracker.run_name = tracker.run_name or run.final.name
            tracker.start(run.config.resolved())
        metrics = _fit(run, model, corpus, progress, tracker)
        return _finish(run, model, corpus, metrics, tracker)
    except BaseException as exc:
        _abandon(run, exc)
        raise
    finally:
        if tracker is not None:
            tracker.close()


def _with_teacher(data, distillation: Distillation | None):
    return data if distillation is None else data.model_copy(update={"teacher": distillation.record})


def _asked_inputs(corpus: Corpus, dataset: DatasetConfig) -> Corpus:
    """The corpus with only the inputs the run's dataset asks for (a comparison reads them once for every model)."""
    return dataclasses.replace(corpus, unlabeled=corpus.unlabeled if dataset.unlabeled else None,
                               descriptions=corpus.descriptions if dataset.label_descriptions else None)


def _resumed(resume: str | Path) -> _Started:
    partial, final = _resume_target(resume)
    lock = Lock.of(partial).acquire(take_over_stale=True)
    writer = RunWriter(partial)
    try:
        config = RunConfig.from_record(writer.config())
        spec = config.validate()
        if writer.data().teacher is not None:
            raise EmobenchError(f"{partial}: a distillation run cannot be resumed (its teacher's probabilities are not "
                                "kept); delete it and run `emobench distill` again")
    except BaseException:
        lock.release()
        raise
    return _Started(config, spec, partial, final, writer, lock, fresh=False)


def _claimed(config: RunConfig, spec: ModelSpec) -> _Started:
    threads = thread_count() if spec.backend == "torch" else None
    out_existed = Path(config.output_dir).exists()
    final, partial = _claim(config)
    writer = RunWriter(partial)
    lock = Lock.of(partial).acquire()
    return _Started(config, spec, partial, final, writer, lock, fresh=True, out_existed=out_existed, threads=threads)


def _fit(run: _Started, model: Classifier, corpus: Corpus, progress: bool, tracker) -> MetricsRecord:
    """Fit the model (resuming from the run's checkpoints when continued); the metrics' timing and size entries."""
    config = run.config
    started = time.perf_counter()
    log.info("%s: training %s on %s (%d examples)", run.final.name, config.model, corpus.name, len(corpus["train"]))
    try:
        model.fit(corpus["train"], corpus.splits.get("validation"), corpus.label_names, seed=config.seed,
                  work_dir=run.partial / "checkpoints", resume=not run.fresh, progress=progress,
                  on_epoch=tracker.epoch if tracker is not None else None, **fit_inputs(run.spec, corpus),
                  **(run.distillation.fit_inputs() if run.distillation is not None else {}))
    except (MemoryError, RuntimeError) as exc:
        if not isinstance(exc, MemoryError) and not _out_of_memory(exc):
            raise
        raise EmobenchError(f"not enough memory to train {config.model} with these sizes "
                            f"({str(exc).splitlines()[0][:200] if str(exc) else 'MemoryError'}); choose smaller ones "
                            f"({option('overrides')} hidden_size=..., batch_size=..., max_length=...)") from None
    elapsed = time.perf_counter() - started
    # one-time preparation (the static family's distillation) recorded apart: the training time is the training
    preparation = min(elapsed, float(model.info.get("preparation_seconds") or 0.0))
    return MetricsRecord(train_seconds=elapsed - preparation, preparation_seconds=preparation,
                         parameters=int(model.num_parameters()), model_info=model.info, splits={})


def _finish(run: _Started, model: Classifier, corpus: Corpus, metrics: MetricsRecord, tracker) -> RunRecord:
    """Save the model, score validation and test, write the results and the manifest, and rename the folder."""
    partial, final = run.partial, run.final
    model.save(partial / "model")
    for split in ("validation", "test"):
        if split in corpus.splits:
            metrics.splits[split] = evaluate_split(model, corpus[split], run.writer, split)
    run.writer.results(metrics, model.history)
    shutil.rmtree(partial / "checkpoints", ignore_errors=True)
    run.writer.complete()
    if final.exists():
        raise EmobenchError(f"{final} appeared while training; the finished run is kept as {partial}")
    partial.rename(final)
    run.lock.release(final)
    if tracker is not None:
        tracker.finish(final, {"final": {s: {k: v for k, v in m.dump().items() if k != "per_class"}
                                         for s, m in metrics.splits.items()},
                               "train_seconds": metrics.train_seconds})
    return RunRecord.load(final, check_predictions=False)


def _abandon(run: _Started, exc: BaseException) -> None:
    """After a failure: a fresh run with nothing worth resuming is removed (and the output folder it made, if empty);
    otherwise the unfinished run is kept and unlocked. A full disk is said as such."""
    partial = run.partial
    nothing_to_resume = not any((partial / "checkpoints").glob("ckpt-*")) if partial.exists() else False
    if run.fresh and (nothing_to_resume or isinstance(exc, TrainingDiverged)) and isinstance(exc, EmobenchError | OSError):
        # A configuration or data error before the first checkpoint leaves nothing worth resuming.
        shutil.rmtree(partial, ignore_errors=True)
        out = partial.parent
        if not run.out_existed and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
    else:
        run.lock.release()
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        kept = f"; the unfinished run is kept in {partial} (resume it with {option('resume')} once there is space)" \
            if partial.exists() else ""
        raise EmobenchError(f"{exc.filename or partial}: no space left on device{kept}") from None


def _out_of_memory(exc: BaseException) -> bool:
    """torch's allocation failures: a RuntimeError (CPU) or its OutOfMemoryError subclass (CUDA)."""
    text = str(exc).lower()
    return "out of memory" in text or "can't allocate memory" in text or "cannot allocate memory" in text


__all__ = ["RunConfig", "train", "default_run_name", "PARTIAL", "MAX_SEED", "cleaned", "data_changes", "data_record",
           "recorded_cleaning", "recorded_corpus", "verify_data", "INHERITED_READING", "Evaluation", "evaluate_run",
           "evaluate_split", "file_config", "same_dataset", "scored_description", "scoring_data", "TransferEvaluation",
           "transfer_evaluate", "write_transfer_predictions"]
