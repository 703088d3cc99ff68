"""A run: train one model on one dataset and write everything needed to trust and repeat it.

A run directory holds ``config.json`` (resolved), ``environment.json`` (versions, machine, seed),
``data.json`` (checksums, split recipe, data warnings, audit warnings), ``model/``, ``metrics.json``,
``predictions/<split>.csv`` and, for models trained in epochs, ``history.json``. It is built in
``<name>.partial`` -- claimed by one process with an exclusive lock -- and renamed when complete, so a
finished name is never half-written; an interrupted ``.partial`` holds checkpoints that
``train(resume=...)`` continues from.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import datetime as _dt
import errno
import secrets
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .data import Corpus, DatasetConfig, Split, audit, load_dataset
from .environment import machine_info, seed_everything, versions
from .errors import EmobenchError
from .evaluation import classification_report_text, compute_metrics
from .fileio import check_output_folder, check_plain_name, read_json, write_json
from .lock import RunLock
from .logs import logger as log
from .models.base import Classifier, load_model, logits_batched, predict_proba_batched, resolve_params

PARTIAL = ".partial"


@dataclass
class RunConfig:
    model: str = "tfidf"
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    seed: int = 0
    preset: str | None = None
    overrides: dict = field(default_factory=dict)
    output_dir: str = "runs"
    name: str | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "RunConfig":
        values = {k: v for k, v in values.items() if k in {f.name for f in dataclasses.fields(cls)}}
        values["dataset"] = DatasetConfig(**values["dataset"])
        return cls(**values)

    def validate(self):
        """Everything about the configuration that can be checked before data is read or a folder made;
        returns the model's family class and resolved parameters."""
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise EmobenchError(f"--seed {self.seed!r}: expected an integer >= 0")
        if self.name is not None:
            check_plain_name(self.name)
        check_output_folder(self.output_dir)
        return resolve_params(self.model, self.overrides, self.preset)


def default_run_name(config: RunConfig) -> str:
    """dataset-model-seed-time plus a random suffix, so two runs started in the same second differ."""
    model = config.model.replace("hf:", "").strip("/").replace("/", "_").replace("\\", "_")
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return check_plain_name(f"{config.dataset.short_name}-{model}-s{config.seed}-{stamp}-{secrets.token_hex(3)}")


def resolved_config(config: RunConfig, family, params) -> dict:
    """What config.json records: the configuration with absolute data paths, every parameter, the family."""
    resolved = dataclasses.replace(config, dataset=config.dataset.resolved())
    return resolved.to_dict() | {"params": dataclasses.asdict(params), "family": family.family}


def _claim(config: RunConfig) -> tuple[Path, Path]:
    """Create ``<name>.partial`` exclusively (mkdir is atomic): two processes never share one."""
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    for _ in range(5):
        name = config.name or default_run_name(config)
        final, partial = out / name, out / (name + PARTIAL)
        if final.exists():
            if config.name:
                raise EmobenchError(f"{final} already exists; choose another --name")
            continue
        try:
            partial.mkdir()
        except FileExistsError:
            if config.name:
                lock = RunLock(partial)
                if lock.alive():
                    owner = lock.owner()
                    raise EmobenchError(f"{partial} is being trained by process {owner.get('pid')} on {owner.get('host')} "
                                        f"(since {owner.get('started')}); choose another --name") from None
                raise EmobenchError(f"{partial} holds an unfinished run; resume it with --resume {partial}, "
                                    "or delete it, or choose another --name") from None
            continue
        config.name = name
        return final, partial
    raise EmobenchError(f"could not find a free run name under {out}")


def _resume_target(resume: str | Path) -> tuple[Path, Path]:
    path = Path(resume)
    if not path.name.endswith(PARTIAL):
        if Path(str(path) + PARTIAL).is_dir():
            path = Path(str(path) + PARTIAL)
        elif (path / "metrics.json").is_file():
            raise EmobenchError(f"{path} is a finished run; there is nothing to resume (train a new run instead)")
        else:
            raise EmobenchError(f"{path}: not an unfinished run (expected a NAME{PARTIAL} folder)")
    if not (path / "config.json").is_file():
        raise EmobenchError(f"{path}: not an unfinished run (no config.json); nothing to resume")
    final = path.with_name(path.name[: -len(PARTIAL)])
    if final.exists():
        raise EmobenchError(f"{final} already exists, so {path} cannot be finished under that name; move one of them")
    return path, final


def train(config: RunConfig | None = None, *, resume: str | Path | None = None, progress: bool = True,
          corpus: Corpus | None = None, tracker=None) -> Path:
    """Train, evaluate on validation and test, and write a complete run directory; returns its path.
    ``tracker`` (a :class:`emobench.tracking.Tracker`) receives the configuration, every epoch's metrics,
    the final metrics and the run directory."""
    if resume is not None:
        partial, final = _resume_target(resume)
        recorded = read_json(partial / "config.json", "run configuration", required=("model", "dataset", "seed"))
        config = RunConfig.from_dict(recorded)
        family, params = config.validate()
        lock = RunLock(partial).acquire(take_over_stale=True)
    else:
        config = dataclasses.replace(config or RunConfig())
        family, params = config.validate()
        corpus = corpus or load_dataset(config.dataset)
        out_existed = Path(config.output_dir).exists()
        final, partial = _claim(config)
        lock = RunLock(partial).acquire()
    started_fresh = resume is None
    try:
        if resume is not None:
            corpus = corpus or load_dataset(config.dataset)
            verify_data(read_json(partial / "data.json", "data record", required=("source",)), corpus, partial)
        else:
            write_json(partial / "config.json", resolved_config(config, family, params))
            write_json(partial / "environment.json", {"seed": config.seed, "versions": versions(), "machine": machine_info()})
            write_json(partial / "data.json", data_record(corpus))
        seed_everything(config.seed)
        model = family(params)
        if tracker is not None:
            tracker.run_name = tracker.run_name or final.name
            tracker.start(read_json(partial / "config.json", "run configuration"))
        started = time.perf_counter()
        log.info("%s: training %s on %s (%d examples)", final.name, config.model, corpus.name, len(corpus["train"]))
        model.fit(corpus["train"], corpus.splits.get("validation"), corpus.label_names, seed=config.seed,
                  work_dir=partial / "checkpoints", resume=resume is not None, progress=progress,
                  on_epoch=tracker.epoch if tracker is not None else None)
        train_seconds = time.perf_counter() - started
        model.save(partial / "model")
        metrics = {"train_seconds": train_seconds, "parameters": model.num_parameters(), "model_info": model.info,
                   "splits": {}}
        (partial / "predictions").mkdir(exist_ok=True)
        for split in ("validation", "test"):
            if split in corpus.splits:
                metrics["splits"][split] = evaluate_split(model, corpus[split], partial / "predictions" / f"{split}.csv")
        write_json(partial / "metrics.json", metrics)
        if model.history:
            write_json(partial / "history.json", model.history)
        shutil.rmtree(partial / "checkpoints", ignore_errors=True)
        if final.exists():
            raise EmobenchError(f"{final} appeared while training; the finished run is kept as {partial}")
        partial.rename(final)
        lock.release(final)
        if tracker is not None:
            tracker.finish(final, {"final": {s: {k: v for k, v in m.items() if k != "per_class"} for s, m in metrics["splits"].items()},
                                   "train_seconds": train_seconds})
        return final
    except BaseException as exc:
        nothing_to_resume = not any((partial / "checkpoints").glob("ckpt-*")) if partial.exists() else False
        if started_fresh and nothing_to_resume and isinstance(exc, EmobenchError | OSError):
            # A configuration or data error before the first checkpoint leaves nothing worth resuming.
            shutil.rmtree(partial, ignore_errors=True)
            out = partial.parent
            if not out_existed and out.is_dir() and not any(out.iterdir()):
                out.rmdir()
        else:
            lock.release()
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            kept = f"; the unfinished run is kept in {partial} (resume it with --resume once there is space)" \
                if partial.exists() else ""
            raise EmobenchError(f"{exc.filename or partial}: no space left on device{kept}") from None
        raise
    finally:
        if tracker is not None:
            tracker.close()


def data_record(corpus: Corpus) -> dict:
    report = audit(corpus)
    return {"dataset": corpus.name, "labels": corpus.label_names, "task": corpus.task,
            "sizes": {n: len(s) for n, s in corpus.splits.items()}, "source": corpus.source,
            "warnings": corpus.source.get("warnings", []), "audit_warnings": report["warnings"],
            # normalised texts that occur with different labels across the splits: label noise
            "conflicting_texts": report["overall"]["conflicting_keys"]}


def _by_basename(files: dict) -> dict[str, str]:
    return {Path(path).name if not str(path).startswith("hub:") else path: checksum for path, checksum in files.items()}


def data_changes(recorded: dict, corpus: Corpus) -> list[str]:
    """How the data read now differs from what a run recorded (file checksums, split, labels)."""
    changes = []
    before = _by_basename(recorded.get("source", {}).get("files", {}))
    now = _by_basename(corpus.source.get("files", {}))
    for name in sorted(set(before) | set(now)):
        if before.get(name) != now.get(name):
            changes.append(f"{name}: sha256 {str(before.get(name))[:12]}... when trained, {str(now.get(name))[:12]}... now")
    split_before = recorded.get("source", {}).get("split", {}).get("file_lines")
    split_now = corpus.source.get("split", {}).get("file_lines")
    if split_before is not None and split_now is not None and split_before != split_now:
        changes.append("the generated split differs (another seed, fractions or set of rows)")
    if recorded.get("labels") is not None and recorded["labels"] != corpus.label_names:
        changes.append(f"labels {recorded['labels']} when trained, {corpus.label_names} now")
    return changes


def verify_data(recorded: dict, corpus: Corpus, run_dir: Path, allow_changed: bool = False) -> list[str]:
    """Refuse (or, if allowed, warn loudly) when the data differs from what the run recorded."""
    changes = data_changes(recorded, corpus)
    if changes and not allow_changed:
        raise EmobenchError(f"{run_dir}: the data differs from what the run was trained on: " + "; ".join(changes) +
                            " (pass --allow-changed-data to evaluate anyway)")
    for change in changes:
        warnings.warn(f"the data changed since the run was trained (allowed by --allow-changed-data): {change}",
                      UserWarning, stacklevel=2)
    return changes


def evaluate_split(model: Classifier, split: Split, predictions_path: Path | None = None,
                   batch_size: int = 256) -> dict:
    """Metrics of ``model`` on ``split``, timing included; optionally writes per-example predictions."""
    from .evaluation.calibration import calibration_scores

    started = time.perf_counter()
    logits = logits_batched(model, split.texts, batch_size)
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
    if predictions_path is not None:
        write_predictions(predictions_path, split, probs, predicted, model.label_names)
    return metrics


def write_predictions(path: Path, split: Split, probs: np.ndarray, predicted: np.ndarray, label_names: list[str]) -> None:
    """Per example: index, text, the true label and the prediction (multi-label: JSON lists of names under
    ``labels`` and ``predicted``), and every label's probability."""
    multi = np.asarray(predicted).ndim == 2
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        head = ["labels", "predicted"] if multi else ["label", "prediction"]
        writer.writerow(["index", "text", *head, *[f"p_{name}" for name in label_names]])
        for i, (text, label, row, decided) in enumerate(zip(split.texts, split.labels, probs, predicted)):
            if multi:
                cells = [json.dumps([label_names[k] for k in label], ensure_ascii=False),
                         json.dumps([label_names[k] for k in np.flatnonzero(decided)], ensure_ascii=False)]
            else:
                cells = [label_names[label], label_names[int(decided)]]
            writer.writerow([i, text, *cells, *[f"{p:.6f}" for p in row]])


def read_predictions(path: Path, label_names: list[str]) -> dict:
    """A predictions CSV: ``y_true`` and ``y_pred`` (label ids, or 0/1 matrices for multi-label runs),
    ``probs`` and ``texts``."""
    index = {name: i for i, name in enumerate(label_names)}
    texts, y_true, y_pred, probs = [], [], [], []
    reader = None
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            multi = "labels" in (reader.fieldnames or [])
            columns = [f"p_{name}" for name in label_names]
            for row in reader:
                texts.append(row["text"])
                if multi:
                    truth, decided = np.zeros(len(label_names), np.int8), np.zeros(len(label_names), np.int8)
                    truth[[index[n] for n in json.loads(row["labels"])]] = 1
                    decided[[index[n] for n in json.loads(row["predicted"])]] = 1
                    y_true.append(truth)
                    y_pred.append(decided)
                else:
                    y_true.append(index[row["label"]])
                    y_pred.append(index[row["prediction"]])
                probs.append([float(row[c]) for c in columns])
    except FileNotFoundError:
        raise EmobenchError(f"{path}: predictions not found; the run is incomplete") from None
    except (KeyError, TypeError, ValueError, csv.Error, UnicodeDecodeError) as exc:
        line = reader.line_num if reader is not None else 0
        raise EmobenchError(f"{path}, line {line}: unreadable predictions ({type(exc).__name__}: {exc}); "
                            "the file is corrupt or not emobench's") from None
    shape = (0, len(label_names))
    return {"texts": texts, "y_true": np.array(y_true, dtype=int) if y_true else np.zeros(shape if multi else 0, int),
            "y_pred": np.array(y_pred, dtype=int) if y_pred else np.zeros(shape if multi else 0, int),
            "probs": np.array(probs) if probs else np.zeros(shape)}


def load_run(run_dir: str | Path) -> dict:
    """A finished run's config, metrics and history as dicts."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise EmobenchError(f"{run_dir}: no such run directory")
    if not (run_dir / "metrics.json").is_file():
        hint = " (it is unfinished: resume it with --resume)" if run_dir.name.endswith(PARTIAL) else ""
        raise EmobenchError(f"{run_dir}: not a finished emobench run (no metrics.json){hint}")
    out = {"dir": str(run_dir)}
    required = {"config": ("model", "seed"), "metrics": ("splits", "train_seconds"), "data": (), "history": (),
                "environment": ()}
    for name, keys in required.items():
        path = run_dir / f"{name}.json"
        out[name] = read_json(path, f"run's {name}.json", required=keys) if path.is_file() or keys else None
    return out


def evaluate_run(run_dir: str | Path, split: str = "test", data_file: str | None = None,
                 text_column: str | None = None, label_column: str | None = None, data_dir: str | None = None,
                 allow_changed_data: bool = False, label_names: list[str] | None = None,
                 dataset: DatasetConfig | None = None, label_separator: str | None = None) -> tuple[dict, str]:
    """Re-evaluate a saved run; returns (metrics, report text). On its own dataset's ``split`` (the recorded
    checksums are verified first), on a labelled file (``data_file``; the run's column names by default), or
    on another dataset (``dataset``: only the labels both sides share count, see :func:`transfer_evaluate`)."""
    run = load_run(run_dir)
    model = load_model(Path(run_dir) / "model")
    recorded = run["config"].get("dataset", {})
    if data_file:
        from .data.readers import load_labelled_file

        names = list(label_names) if label_names else model.label_names
        unknown = [n for n in names if n not in model.label_names]
        if unknown:
            raise EmobenchError(f"--label-names: {', '.join(unknown)} not among the run's labels ({', '.join(model.label_names)})")
        data = load_labelled_file(data_file, names, text_column or recorded.get("text_column", "text"),
                                  label_column or recorded.get("label_column", "label"), explicit_ids=bool(label_names),
                                  multi_label=model.multi_label,
                                  label_separator=label_separator or recorded.get("label_separator"))
        convert = [model.label_names.index(name) for name in names]
        labels = [sorted(convert[y] for y in ys) for ys in data.labels] if model.multi_label else \
            [convert[y] for y in data.labels]
        metrics = evaluate_split(model, Split(data.texts, labels))
    elif dataset is not None:
        corpus = load_dataset(dataset)
        metrics, _ = transfer_evaluate(model, corpus, split)
    else:
        own = DatasetConfig(**recorded)
        if data_dir:
            own.data_dir = data_dir  # the same files, found elsewhere (checksums are verified)
        corpus = load_dataset(own)
        data = corpus[split]
        changes = verify_data(run["data"] or {}, corpus, Path(run_dir), allow_changed_data)
        metrics = evaluate_split(model, data)
        metrics["data_verified"] = not changes
        if changes:
            metrics["data_changes"] = changes
    return metrics, classification_report_text(metrics)


def transfer_evaluate(model: Classifier, corpus: Corpus, split: str = "test") -> tuple[dict, dict]:
    """A model scored on another dataset's split, on the labels both share.

    Examples none of whose gold labels is shared are dropped (a model cannot be right about a class it does
    not know); predictions are restricted to the shared labels (a single-label model's argmax over them, a
    multi-label model's thresholds on them). The metrics follow the target data's task and are averaged over
    the shared labels only. Returns (metrics with a ``transfer`` record, predictions for paired statistics)."""
    data = corpus[split]
    shared = [name for name in model.label_names if name in corpus.label_names]
    if not shared:
        raise EmobenchError(f"the run's labels ({', '.join(model.label_names)}) and {corpus.name}'s "
                            f"({', '.join(corpus.label_names)}) have none in common; map them with --label-map")
    model_columns = [model.label_names.index(name) for name in shared]
    data_columns = [corpus.label_names.index(name) for name in shared]
    truth = data.label_matrix(corpus.num_labels)[:, data_columns]
    keep = np.flatnonzero(truth.sum(axis=1) > 0)
    texts = [data.texts[i] for i in keep]
    truth = truth[keep]
    started = time.perf_counter()
    probs = predict_proba_batched(model, texts)[:, model_columns]
    seconds = time.perf_counter() - started
    if model.multi_label:
        from .models.thresholds import decide

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
    metrics = compute_metrics(y_true, y_pred, shared)
    majority = int(truth.sum(axis=0).argmax())
    metrics["eval_seconds"] = seconds
    metrics["transfer"] = {
        "dataset": corpus.name, "split": split, "shared_labels": shared,
        "model_only_labels": [n for n in model.label_names if n not in shared],
        "data_only_labels": [n for n in corpus.label_names if n not in shared],
        "examples": len(data), "kept": int(len(keep)), "dropped": int(len(data) - len(keep)),
        "hit_rate": float(truth[np.arange(len(top)), top].mean()) if len(top) else 0.0,
        "majority_label": shared[majority], "majority_rate": float(truth[:, majority].mean()) if len(keep) else 0.0,
        "prediction": rule,
    }
    return metrics, {"y_true": y_true, "y_pred": y_pred, "probs": probs, "texts": texts, "labels": shared}
