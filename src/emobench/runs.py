"""A run: train one model on one dataset and write everything needed to trust and repeat it.

A run directory holds ``config.json`` (resolved), ``environment.json`` (versions, machine, seed),
``data.json`` (checksums, split recipe, audit warnings), ``model/``, ``metrics.json``,
``predictions/<split>.csv`` and, for models trained in epochs, ``history.json``. It is built in
``<name>.partial`` and renamed when complete, so a finished name is never half-written; an interrupted
``.partial`` holds checkpoints that ``train(resume=...)`` continues from.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as _dt
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .data import Corpus, DatasetConfig, Split, audit, load_dataset
from .environment import machine_info, seed_everything, versions
from .errors import EmobenchError
from .evaluation import classification_report_text, compute_metrics
from .models.base import Classifier, load_model, resolve_params

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
        values = dict(values)
        values["dataset"] = DatasetConfig(**values["dataset"])
        values.pop("params", None)
        values.pop("family", None)
        return cls(**values)


def default_run_name(config: RunConfig) -> str:
    model = config.model.replace("hf:", "").replace("/", "_")
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{config.dataset.short_name}-{model}-s{config.seed}-{stamp}"


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def train(config: RunConfig | None = None, *, resume: str | Path | None = None, progress: bool = True,
          corpus: Corpus | None = None) -> Path:
    """Train, evaluate on validation and test, and write a complete run directory; returns its path."""
    if resume is not None:
        partial = Path(resume)
        if not partial.name.endswith(PARTIAL) and Path(str(partial) + PARTIAL).is_dir():
            partial = Path(str(partial) + PARTIAL)
        if not (partial / "config.json").is_file():
            raise EmobenchError(f"{partial}: not an unfinished run (no config.json); nothing to resume")
        config = RunConfig.from_dict(json.loads((partial / "config.json").read_text()))
        final = partial.with_name(partial.name[: -len(PARTIAL)])
    else:
        config = config or RunConfig()
        config.name = config.name or default_run_name(config)
        final = Path(config.output_dir) / config.name
        partial = final.with_name(final.name + PARTIAL)
        if final.exists():
            raise EmobenchError(f"{final} already exists; choose another --name")
        if partial.exists():
            raise EmobenchError(f"{partial} holds an unfinished run; resume it with --resume {partial} or delete it")
    family, params = resolve_params(config.model, config.overrides, config.preset)
    seed_everything(config.seed)
    corpus = corpus or load_dataset(config.dataset)
    model = family(params)
    partial.mkdir(parents=True, exist_ok=True)
    if resume is None:
        resolved = config.to_dict() | {"params": dataclasses.asdict(params), "family": model.family}
        _write_json(partial / "config.json", resolved)
        _write_json(partial / "environment.json", {"seed": config.seed, "versions": versions(), "machine": machine_info()})
        report = audit(corpus)
        _write_json(partial / "data.json", {"dataset": corpus.name, "labels": corpus.label_names,
                                            "sizes": {n: len(s) for n, s in corpus.splits.items()},
                                            "source": corpus.source, "audit_warnings": report["warnings"]})

    started = time.perf_counter()
    try:
        model.fit(corpus["train"], corpus.splits.get("validation"), corpus.label_names, seed=config.seed,
                  work_dir=partial / "checkpoints", resume=resume is not None, progress=progress)
    except EmobenchError:
        # A configuration error before the first checkpoint leaves nothing worth resuming.
        if not (partial / "checkpoints" / "state.json").is_file():
            shutil.rmtree(partial, ignore_errors=True)
        raise
    train_seconds = time.perf_counter() - started
    model.save(partial / "model")
    metrics = {"train_seconds": train_seconds, "parameters": model.num_parameters(), "model_info": model.info,
               "splits": {}}
    (partial / "predictions").mkdir(exist_ok=True)
    for split in ("validation", "test"):
        if split in corpus.splits:
            metrics["splits"][split] = evaluate_split(model, corpus[split], partial / "predictions" / f"{split}.csv")
    _write_json(partial / "metrics.json", metrics)
    if model.history:
        _write_json(partial / "history.json", model.history)
    shutil.rmtree(partial / "checkpoints", ignore_errors=True)
    partial.rename(final)
    return final


def evaluate_split(model: Classifier, split: Split, predictions_path: Path | None = None,
                   batch_size: int = 256) -> dict:
    """Metrics of ``model`` on ``split``, timing included; optionally writes per-example predictions."""
    started = time.perf_counter()
    probs = predict_proba_batched(model, split.texts, batch_size)
    seconds = time.perf_counter() - started
    predicted = probs.argmax(axis=1)
    metrics = compute_metrics(split.labels, predicted, model.label_names)
    metrics["eval_seconds"] = seconds
    metrics["examples_per_second"] = len(split) / seconds if seconds > 0 else None
    if predictions_path is not None:
        write_predictions(predictions_path, split, probs, model.label_names)
    return metrics


def predict_proba_batched(model: Classifier, texts: list[str], batch_size: int = 256) -> np.ndarray:
    if not texts:
        return np.zeros((0, len(model.label_names)))
    return np.concatenate([model.predict_proba(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)])


def write_predictions(path: Path, split: Split, probs: np.ndarray, label_names: list[str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["index", "text", "label", "prediction", *[f"p_{name}" for name in label_names]])
        for i, (text, label, row) in enumerate(zip(split.texts, split.labels, probs)):
            writer.writerow([i, text, label_names[label], label_names[int(row.argmax())], *[f"{p:.6f}" for p in row]])


def read_predictions(path: Path, label_names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(true label ids, predicted label ids) from a predictions CSV."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    index = {name: i for i, name in enumerate(label_names)}
    return (np.array([index[r["label"]] for r in rows], dtype=int),
            np.array([index[r["prediction"]] for r in rows], dtype=int))


def load_run(run_dir: str | Path) -> dict:
    """A finished run's config, metrics and history as dicts."""
    run_dir = Path(run_dir)
    if not (run_dir / "metrics.json").is_file():
        hint = " (it is unfinished: resume it with --resume)" if run_dir.name.endswith(PARTIAL) else ""
        raise EmobenchError(f"{run_dir}: not a finished emobench run (no metrics.json){hint}")
    out = {"dir": str(run_dir)}
    for name in ("config", "metrics", "history", "data", "environment"):
        path = run_dir / f"{name}.json"
        out[name] = json.loads(path.read_text()) if path.is_file() else None
    return out


def evaluate_run(run_dir: str | Path, split: str = "test", data_file: str | None = None,
                 text_column: str = "text", label_column: str = "label",
                 data_dir: str | None = None) -> tuple[dict, str]:
    """Re-evaluate a saved run on one split of its dataset, or on a labelled file; returns (metrics, report)."""
    run = load_run(run_dir)
    model = load_model(Path(run_dir) / "model")
    if data_file:
        from .data.readers import load_labelled_file

        data = load_labelled_file(data_file, model.label_names, text_column, label_column)
    else:
        dataset = DatasetConfig(**run["config"]["dataset"])
        if data_dir:
            dataset.data_dir = data_dir  # the same files, found elsewhere (checksums still recorded)
        corpus = load_dataset(dataset)
        data = corpus[split]
    metrics = evaluate_split(model, data)
    return metrics, classification_report_text(metrics)
