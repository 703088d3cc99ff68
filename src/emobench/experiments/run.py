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
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..claims import Lock
from ..data import Corpus, DatasetConfig, Split, audit, load_dataset
from ..environment import machine_info, seed_everything, thread_count, versions
from ..errors import EmobenchError, EmobenchWarning, TrainingDiverged, option
from ..evaluation import classification_report_text, compute_metrics
from ..files import check_output_folder, check_outside_records, check_plain_name
from ..logs import logger as log
from ..models.base import Classifier, load_model
from ..models.registry import DEFAULT_MODEL, ModelSpec, recorded, resolve, small_data
from ..records.run import CONFIG, METRICS, DataRecord, RunRecord, RunWriter, gold_names, split_digest, write_predictions

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


def default_run_name(config: RunConfig) -> str:
    """dataset-model-seed-time plus a random suffix, so two runs started in the same second differ."""
    import re

    model = re.sub(r"[^A-Za-z0-9._+=@-]+", "_", config.model.replace("hf:", "").strip("/"))
    model = re.sub(r"\.{2,}", ".", model).strip("._") or "model"  # a path's dots never make '..' in a folder name
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


def train(config: RunConfig | None = None, *, resume: str | Path | None = None, progress: bool = True,
          corpus: Corpus | None = None, tracker=None) -> RunRecord:
    """Train, evaluate on validation and test, and write a complete run directory; returns its record.
    ``tracker`` (a :class:`emobench.tracking.Tracker`) receives the configuration, every epoch's metrics,
    the final metrics and the run directory."""
    if resume is not None:
        partial, final = _resume_target(resume)
        lock = Lock.of(partial).acquire(take_over_stale=True)
        writer = RunWriter(partial)
        try:
            config = RunConfig.from_record(writer.config())
            spec = config.validate()
        except BaseException:
            lock.release()
            raise
    else:
        config = dataclasses.replace(config or RunConfig())
        spec = config.validate()
        check_outside_records(config.output_dir, "output_dir")
        corpus = corpus or cleaned(load_dataset(config.dataset), config.dataset)
        threads = thread_count() if spec.backend == "torch" else None
        out_existed = Path(config.output_dir).exists()
        final, partial = _claim(config)
        writer = RunWriter(partial)
        lock = Lock.of(partial).acquire()
    started_fresh = resume is None
    try:
        if resume is not None:
            corpus = corpus or recorded_corpus(config.dataset, writer.data())
            verify_data(writer.data(), corpus, partial)
        else:
            writer.start(config.resolved(), {"seed": config.seed, "versions": versions(), "machine": machine_info(),
                                             "threads": threads},
                         data_record(corpus))
        seed_everything(config.seed)
        model = spec.build()
        if tracker is not None:
            tracker.run_name = tracker.run_name or final.name
            tracker.start(config.resolved())
        started = time.perf_counter()
        log.info("%s: training %s on %s (%d examples)", final.name, config.model, corpus.name, len(corpus["train"]))
        try:
            model.fit(corpus["train"], corpus.splits.get("validation"), corpus.label_names, seed=config.seed,
                      work_dir=partial / "checkpoints", resume=resume is not None, progress=progress,
                      on_epoch=tracker.epoch if tracker is not None else None)
        except (MemoryError, RuntimeError) as exc:
            if not isinstance(exc, MemoryError) and not _out_of_memory(exc):
                raise
            raise EmobenchError(f"not enough memory to train {config.model} with these sizes "
                                f"({str(exc).splitlines()[0][:200] if str(exc) else 'MemoryError'}); choose smaller ones "
                                f"({option('overrides')} hidden_size=..., batch_size=..., max_length=...)") from None
        elapsed = time.perf_counter() - started
        # one-time preparation (the static family's distillation) recorded apart: the training time is the training
        preparation = min(elapsed, float(model.info.get("preparation_seconds") or 0.0))
        train_seconds = elapsed - preparation
        model.save(partial / "model")
        metrics = {"train_seconds": train_seconds, "preparation_seconds": preparation,
                   "parameters": model.num_parameters(), "model_info": model.info, "splits": {}}
        for split in ("validation", "test"):
            if split in corpus.splits:
                metrics["splits"][split] = evaluate_split(model, corpus[split], writer, split)
        writer.results(metrics, model.history)
        shutil.rmtree(partial / "checkpoints", ignore_errors=True)
        writer.complete()
        if final.exists():
            raise EmobenchError(f"{final} appeared while training; the finished run is kept as {partial}")
        partial.rename(final)
        lock.release(final)
        if tracker is not None:
            tracker.finish(final, {"final": {s: {k: v for k, v in m.items() if k != "per_class"} for s, m in metrics["splits"].items()},
                                   "train_seconds": train_seconds})
        return RunRecord.load(final, check_predictions=False)
    except BaseException as exc:
        nothing_to_resume = not any((partial / "checkpoints").glob("ckpt-*")) if partial.exists() else False
        if started_fresh and (nothing_to_resume or isinstance(exc, TrainingDiverged)) and isinstance(exc, EmobenchError | OSError):
            # A configuration or data error before the first checkpoint leaves nothing worth resuming.
            shutil.rmtree(partial, ignore_errors=True)
            out = partial.parent
            if not out_existed and out.is_dir() and not any(out.iterdir()):
                out.rmdir()
        else:
            lock.release()
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            kept = f"; the unfinished run is kept in {partial} (resume it with {option('resume')} once there is space)" \
                if partial.exists() else ""
            raise EmobenchError(f"{exc.filename or partial}: no space left on device{kept}") from None
        raise
    finally:
        if tracker is not None:
            tracker.close()


def _out_of_memory(exc: BaseException) -> bool:
    """torch's allocation failures: a RuntimeError (CPU) or its OutOfMemoryError subclass (CUDA)."""
    text = str(exc).lower()
    return "out of memory" in text or "can't allocate memory" in text or "cannot allocate memory" in text


def cleaned(corpus: Corpus, dataset: DatasetConfig) -> Corpus:
    """The corpus to train on: with ``dataset.label_issues``, its training split cleaned of the texts confident learning
    flags (computed on the training split, or read from a saved audit). The folds are always seed 0's, so every run on
    the same data, whatever its own seed, trains on the same cleaned split."""
    if not dataset.label_issues:
        return corpus
    from .label_issues import apply_cleaning, cleaning_plan

    return apply_cleaning(corpus, cleaning_plan(corpus, dataset.label_issues, dataset.label_issues_from, seed=0))


def recorded_corpus(config: DatasetConfig, data: DataRecord) -> Corpus:
    """The data a run was trained on, as its data.json records it: read again (a data budget included), then cleaned by
    the recorded rows -- never flagged again, and the saved audit it was cleaned from never read (it may be gone)."""
    return recorded_cleaning(load_dataset(dataclasses.replace(config, label_issues=None, label_issues_from=None)), data)


def recorded_cleaning(corpus: Corpus, data: DataRecord) -> Corpus:
    """The corpus cleaned as a run recorded it (the same rows, not flagged again), once its training split is the one
    the flags were made on."""
    plan = (data.source or {}).get("label_issues")
    if not plan:
        return corpus
    from .label_issues import apply_cleaning

    train = corpus["train"]
    if split_digest(train.texts, gold_names(train, corpus.label_names)) != plan.get("train_digest"):
        return corpus  # the data changed: verify_data says how
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return apply_cleaning(corpus, plan)


def data_record(corpus: Corpus) -> dict:
    from ..data.auditing import run_warnings
    from ..data.readers import DataWarning

    report = audit(corpus)
    for line in run_warnings(report):  # what the scores depend on is said as training starts, and kept below
        warnings.warn(line, DataWarning, stacklevel=2)
    return {"dataset": corpus.name, "labels": corpus.label_names, "task": corpus.task,
            "sizes": {n: len(s) for n, s in corpus.splits.items()}, "source": corpus.source,
            "warnings": corpus.source.get("warnings", []), "audit_warnings": report["warnings"],
            # normalised texts that occur with different labels across the splits: label noise
            "conflicting_texts": report["overall"]["conflicting_keys"],
            "split_digests": {n: split_digest(s.texts, gold_names(s, corpus.label_names)) for n, s in corpus.splits.items()}}


def _by_basename(files: dict) -> dict[str, str]:
    return {Path(path).name if not str(path).startswith("hub:") else path: checksum for path, checksum in files.items()}


def data_changes(recorded_data: DataRecord, corpus: Corpus) -> list[str]:
    """How the data read now differs from what a run recorded (file checksums, split, labels)."""
    changes = []
    before = _by_basename(recorded_data.source.get("files", {}))
    now = _by_basename(corpus.source.get("files", {}))
    for name in sorted(set(before) | set(now)):
        if before.get(name) != now.get(name):
            changes.append(f"{name}: sha256 {str(before.get(name))[:12]}... when trained, {str(now.get(name))[:12]}... now")
    split_before = (recorded_data.source.get("split") or {}).get("file_lines")
    split_now = (corpus.source.get("split") or {}).get("file_lines")
    if split_before is not None and split_now is not None and split_before != split_now:
        changes.append("the generated split differs (another seed, fractions or set of rows)")
    if recorded_data.labels != corpus.label_names:
        changes.append(f"labels {recorded_data.labels} when trained, {corpus.label_names} now")
    version_before, version_now = recorded_data.source.get("reader_version", 1), corpus.source.get("reader_version", 1)
    if version_before != version_now:
        changes.append(f"the {corpus.name} reader changed since (version {version_before} then, {version_now} now): "
                       "the same files may give other texts")
    if not changes and recorded_data.split_digests:  # same files, same reader: the same rows, unless something else
        for split, digest in recorded_data.split_digests.items():
            if split in corpus.splits and split_digest(corpus[split].texts, gold_names(corpus[split], corpus.label_names)) != digest:
                changes.append(f"the {split} split's texts or labels differ from the ones the run was trained on")
    return changes


def verify_data(recorded_data: DataRecord, corpus: Corpus, run_dir: Path, allow_changed: bool = False) -> list[str]:
    """Refuse (or, if allowed, warn loudly) when the data differs from what the run recorded."""
    changes = data_changes(recorded_data, corpus)
    if changes and not allow_changed:
        raise EmobenchError(f"{run_dir}: the data differs from what the run was trained on: " + "; ".join(changes) +
                            f" (pass {option('allow_changed_data')} to evaluate anyway)")
    for change in changes:
        warnings.warn(f"the data changed since the run was trained (allowed by {option('allow_changed_data')}): {change}",
                      EmobenchWarning, stacklevel=2)
    return changes


def evaluate_split(model: Classifier, split: Split, writer: RunWriter | None = None, name: str = "test",
                   batch_size: int = 256) -> dict:
    """Metrics of ``model`` on ``split``, timing included; with a ``writer``, the per-example predictions too."""
    from ..evaluation.calibration import calibration_scores

    started = time.perf_counter()
    logits = model.logits_batched(split.texts, batch_size)
    probs = model.probabilities(logits / model.temperature)
    predicted = model.decide(probs)
    seconds = time.perf_counter() - started
    truth = model.truth(split)
    metrics = compute_metrics(truth, predicted, model.label_names)
    metrics["eval_seconds"] = seconds
    metrics["examples_per_second"] = len(split) / seconds if seconds > 0 else None
    if len(split):  # how honest the probabilities are, before and after temperature scaling
        metrics["calibration"] = {"temperature": model.temperature,
                                  "before": calibration_scores(model.probabilities(logits), truth),
                                  "after": calibration_scores(probs, truth)}
    if writer is not None:
        writer.predictions(name, split.texts, gold_names(split, model.label_names), probs, predicted, model.label_names)
    return metrics


@dataclass
class Evaluation:
    """What ``evaluate_run`` returns: the metrics, the per-class report as text, and what it scored on."""

    metrics: dict
    report: str
    scored: str  # the split, file or dataset
    transfer: dict | None = None  # for another dataset: shared labels, dropped texts, majority rate
    data_changes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return self.metrics["n"]


# The reading options a labelled file inherits from the run's own data unless they are given; a group is inherited
# whole or not at all (named columns given for a file with a header do not inherit the run's "no header").
INHERITED_READING = (("text_column", "label_column", "header", "label_columns"), ("label_separator",), ("label_names",))


def file_config(recorded: DatasetConfig, data_file: str | Path, options: dict | None = None) -> DatasetConfig:
    """How to read a labelled file to score a run on: ``options`` (DatasetConfig fields) as given, the run's own
    reading options (columns, header, label separator or columns, label names) for the rest."""
    options = dict(options or {})
    unknown = sorted(set(options) - {f.name for f in dataclasses.fields(DatasetConfig)})
    if unknown:
        raise EmobenchError(f"{unknown[0]!r} is not a dataset option")
    if "name" in options or "files" in options:
        raise EmobenchError("the file to evaluate on is data_file")
    inherited = {k: getattr(recorded, k) for group in INHERITED_READING if not set(group) & set(options) for k in group}
    if not recorded.user_file:  # a built-in dataset's own reading options say nothing about a user file
        inherited = {}
    return DatasetConfig(**{**inherited, **options, "name": str(data_file)})


def scoring_data(config: DatasetConfig, split: str | None = None) -> tuple[Corpus, str]:
    """Data that is only scored, never trained on, and the split to score: its own ``split`` (default: test) when
    it has splits of its own (a dataset that ships them, split files, a split column), else every text (split
    "all": a generated split would score a random tenth of what no model has seen)."""
    from ..data.registry import dataset_entry

    own = dataset_entry(config.name).ships_splits or bool(config.files) or bool(config.split_column)
    if not own:
        if split not in (None, "all"):
            where = config.name if config.user_file else config.short_name
            raise EmobenchError(f"{where} has no splits of its own, so every text is scored; leave out {option('split')} "
                                f"(or give a {option('split_column')})")
        config = dataclasses.replace(config, split_fractions={"all": 1.0})
    corpus = load_dataset(config, require_train=False)
    split = split or ("test" if own else "all")
    corpus[split]  # noqa: B018 -- an unknown split is a clear error naming the splits there are
    if not len(corpus[split]):
        raise EmobenchError(f"the {split} split of {corpus.name} has no texts")
    return corpus, split


def evaluate_run(run_dir: str | Path, split: str | None = None, data_file: str | None = None,
                 dataset: DatasetConfig | None = None, data_dir: str | None = None, allow_changed_data: bool = False,
                 allow_modified: bool = False, **file_options) -> Evaluation:
    """Re-evaluate a saved run: on its own dataset's ``split`` (the recorded checksums are verified first), on a
    labelled file (``data_file``, read with the run's column names and label options unless ``file_options`` --
    any :class:`DatasetConfig` field, e.g. ``header=False``, ``label_map=...`` -- say otherwise), or on another
    dataset (``dataset``). A file or another dataset is scored on the labels it shares with the run: texts whose
    labels the run does not know are dropped and counted (see :func:`transfer_evaluate`)."""
    run = RunRecord.load(run_dir, allow_modified)
    model = load_model(run_dir, allow_modified)
    if data_file is not None and dataset is not None:
        raise EmobenchError(f"give {option('data_file')} or {option('dataset')}, not both")
    if file_options and data_file is None:
        raise EmobenchError(f"{', '.join(sorted(file_options))}: reading options apply to {option('data_file')}")
    if data_file is not None or dataset is not None:
        if allow_changed_data:
            raise EmobenchError(f"{option('allow_changed_data')} applies to the run's own dataset")
        config = file_config(run.dataset_config(), data_file, file_options) if data_file is not None else dataset
        if data_file is None and same_dataset(config, run.dataset_config()):
            raise EmobenchError(f"{config.name} is the run's own dataset; leave out {option('dataset')} to score its "
                                f"{split or 'test'} split (the other splits were trained or tuned on)")
        if data_file is not None:  # a file speaks the run's labels (and may have others, which are counted)
            config = dataclasses.replace(config, label_order=list(run.labels))
        corpus, split = scoring_data(config, split)
        metrics, _ = transfer_evaluate(model, corpus, split)
        return Evaluation(metrics, classification_report_text(metrics), scored_description(corpus, split),
                          metrics["transfer"])
    own = run.dataset_config()
    if data_dir:
        own.data_dir = data_dir  # the same files, found elsewhere (checksums are verified)
    corpus = recorded_corpus(own, run.data)
    split = split or "test"
    data = corpus[split]
    changes = verify_data(run.data, corpus, Path(run_dir), allow_changed_data)
    metrics = evaluate_split(model, data)
    metrics["data_verified"] = not changes
    if changes:
        metrics["data_changes"] = changes
    return Evaluation(metrics, classification_report_text(metrics), split, data_changes=changes)


def same_dataset(a: DatasetConfig, b: DatasetConfig) -> bool:
    ra, rb = a.resolved(), b.resolved()
    return (ra.name, ra.files, ra.label_map) == (rb.name, rb.files, rb.label_map)


def scored_description(corpus: Corpus, split: str) -> str:
    """"the test split of goemotions:ekman (test.tsv)", "every text of meld (meld.csv)": what a score is about."""
    files = [Path(f).name for f in corpus.source.get("files", {}) if not str(f).startswith("hub:")]
    what = f"every text of {corpus.name}" if split == "all" else f"the {split} split of {corpus.name}"
    return what + (f" ({', '.join(files)})" if files and len(files) <= 3 else "")


@dataclass
class TransferPredictions:
    """A model's predictions on another dataset's texts, over the labels both share."""

    texts: list[str]
    y_true: np.ndarray
    y_pred: np.ndarray
    probs: np.ndarray
    labels: list[str]


def transfer_evaluate(model: Classifier, corpus: Corpus, split: str = "test") -> tuple[dict, TransferPredictions]:
    """A model scored on another dataset's split, on the labels both share.

    Examples none of whose gold labels is shared are dropped (a model cannot be right about a class it does
    not know); predictions are restricted to the shared labels (a single-label model's argmax over them, a
    multi-label model's thresholds on them). The metrics follow the target data's task and are averaged over
    the shared labels only. Returns (metrics with a ``transfer`` record, predictions for paired statistics)."""
    data = corpus[split]
    shared = [name for name in model.label_names if name in corpus.label_names]
    if not shared:
        raise EmobenchError(f"the run's labels ({', '.join(model.label_names)}) and {corpus.name}'s "
                            f"({', '.join(corpus.label_names)}) have none in common; map them with {option('label_map')}")
    model_columns = [model.label_names.index(name) for name in shared]
    data_columns = [corpus.label_names.index(name) for name in shared]
    truth = data.label_matrix(corpus.num_labels)[:, data_columns]
    keep = np.flatnonzero(truth.sum(axis=1) > 0)
    if not len(keep):
        raise EmobenchError(f"{scored_description(corpus, split)}: no text has a label the run knows "
                            f"({', '.join(model.label_names)}); the data's labels: "
                            f"{', '.join(n for n, c in corpus.label_counts(split).items() if c)}")
    texts = [data.texts[i] for i in keep]
    truth = truth[keep]
    unknown = _unknown_label_counts(data, corpus, shared)
    # A shared label without a single text in the scored split has no recall; averaged in, it would count as 0 for
    # every model. It is left out of the averages, and said.
    without = [name for name, c in zip(shared, truth.sum(axis=0)) if not c]
    if without:
        warnings.warn(f"{', '.join(without)}: no text has this label in {scored_description(corpus, split)}; left out "
                      "of the per-label scores and averages (a prediction of it counts as a mistake)", EmobenchWarning,
                      stacklevel=2)
    started = time.perf_counter()
    probs = model.predict_proba_batched(texts)[:, model_columns]
    seconds = time.perf_counter() - started
    if model.multi_label:
        from ..evaluation.thresholds import decide

        thresholds = np.asarray(model.decision["thresholds"])[model_columns]
        predicted_matrix = decide(probs, thresholds, model.decision.get("at_least_one", False))
        top = probs.argmax(axis=1)
        rule = "the model's thresholds on the shared labels"
    else:
        top = probs.argmax(axis=1)
        predicted_matrix = np.zeros_like(truth)
        predicted_matrix[np.arange(len(top)), top] = 1
        rule = "argmax over the shared labels"
    if corpus.multi_label or model.multi_label:
        y_true, y_pred = truth, predicted_matrix
    else:
        y_true, y_pred = truth.argmax(axis=1), top
    scored = [i for i, name in enumerate(shared) if name not in without]
    metrics = compute_metrics(y_true, y_pred, shared, scored=scored)
    majority = int(truth.sum(axis=0).argmax())
    metrics["eval_seconds"] = seconds
    metrics["transfer"] = {
        "dataset": corpus.name, "split": split, "shared_labels": shared,
        "model_only_labels": [n for n in model.label_names if n not in shared],
        "data_only_labels": [n for n in corpus.label_names if n not in shared],
        "examples": len(data), "kept": int(len(keep)), "dropped": int(len(data) - len(keep)),
        "dropped_by_label": unknown, "labels_without_texts": without,
        "hit_rate": float(truth[np.arange(len(top)), top].mean()) if len(top) else 0.0,
        "majority_label": shared[majority], "majority_rate": float(truth[:, majority].mean()) if len(keep) else 0.0,
        "prediction": rule,
    }
    return metrics, TransferPredictions(texts, y_true, y_pred, probs, shared)


def _unknown_label_counts(data: Split, corpus: Corpus, shared: list[str]) -> dict[str, int]:
    """Texts dropped because none of their labels is one the run knows, counted by their labels."""
    counts: dict[str, int] = {}
    keep = {corpus.label_names.index(n) for n in shared}
    for labels in data.labels:
        ids = labels if corpus.multi_label else [labels]
        if ids and not keep.intersection(ids):
            for i in ids:
                counts[corpus.label_names[i]] = counts.get(corpus.label_names[i], 0) + 1
    return counts


def write_transfer_predictions(path: Path, predictions: TransferPredictions) -> None:
    labels = predictions.labels
    golds = ([[labels[k] for k in np.flatnonzero(row)] for row in predictions.y_true] if predictions.y_true.ndim == 2
             else [labels[int(k)] for k in predictions.y_true])
    write_predictions(path, predictions.texts, golds, predictions.probs, predictions.y_pred, labels)
