"""Comparisons: train (or reuse) one run per model and seed on the identical split, then collect
test-set results, statistics and the report in one comparison directory.

Layout: ``comparison.json`` (what was asked), ``runs/<model>-s<seed>/`` (ordinary run directories),
``results.json``, ``results.csv``, ``report.md``, ``report.html``, ``figures/``, and ``tables.tex``
with ``--format latex``. Finished runs are reused and unfinished ones resumed, so an interrupted
comparison picks up where it stopped.
"""
from __future__ import annotations

import csv
import datetime as _dt
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..data import DatasetConfig, load_dataset
from ..errors import EmobenchError
from ..runs import PARTIAL, RunConfig, load_run, read_predictions, train

# The default study: what finishes on a 2-core CPU in about 10 minutes (tfidf ~10 s, lstm ~2-3 min,
# lstm-paper ~4-6 min on dair-ai).
DEFAULT_MODELS = ["tfidf", "lstm", "lstm-paper"]
PAPER_MODELS = ["lstm-paper", "bert", "roberta", "distilbert", "xlnet"]


@dataclass
class CompareConfig:
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    models: list[str] = field(default_factory=lambda: list(DEFAULT_MODELS))
    seeds: list[int] = field(default_factory=lambda: [0])
    preset: str | None = None
    overrides: dict = field(default_factory=dict)
    output_dir: str = "comparisons"
    name: str | None = None
    formats: list[str] = field(default_factory=lambda: ["md", "html"])

    def to_dict(self) -> dict:
        return asdict(self)


def _safe(name: str) -> str:
    return name.replace("hf:", "").strip("/").replace("/", "_")


def run_comparison(config: CompareConfig, progress: bool = True, log=print) -> Path:
    """Train every model for every seed (reusing finished runs), then write results and the report."""
    if not config.models:
        raise EmobenchError("no models to compare")
    name = config.name or f"{config.dataset.short_name}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    folder = Path(config.output_dir) / name
    (folder / "runs").mkdir(parents=True, exist_ok=True)
    saved = folder / "comparison.json"
    if saved.is_file():
        previous = json.loads(saved.read_text())
        if previous["config"]["dataset"] != config.to_dict()["dataset"]:
            raise EmobenchError(f"{folder} compares another dataset; choose another --name")
    saved.write_text(json.dumps({"config": config.to_dict()}, indent=2))
    corpus = load_dataset(config.dataset)  # once: every model sees the identical split
    run_dirs = []
    for model in config.models:
        preset = config.preset if _has_preset(model, config.preset) else None
        for seed in config.seeds:
            run_name = f"{_safe(model)}-s{seed}"
            final = folder / "runs" / run_name
            partial = final.with_name(run_name + PARTIAL)
            if (final / "metrics.json").is_file():
                log(f"{run_name}: finished earlier, reused")
            elif (partial / "config.json").is_file():
                log(f"{run_name}: resuming the unfinished run")
                train(resume=partial, progress=progress, corpus=corpus)
            else:
                shutil.rmtree(partial, ignore_errors=True)
                log(f"{run_name}: training")
                train(RunConfig(model=model, dataset=config.dataset, seed=seed, preset=preset,
                                overrides=dict(config.overrides.get(model, {})), output_dir=str(folder / "runs"),
                                name=run_name), progress=progress, corpus=corpus)
            run_dirs.append(final)
    write_comparison(folder, run_dirs, formats=config.formats)
    return folder


def _has_preset(model: str, preset: str | None) -> bool:
    if not preset:
        return False
    from ..models.base import resolve_params

    family, _ = resolve_params(model)
    return preset in getattr(family, "PRESETS", {})


def compare_runs(run_dirs: list[str | Path], output_dir: str | Path, formats=("md", "html")) -> Path:
    """A comparison of finished runs (they must share a dataset and test split)."""
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    write_comparison(folder, [Path(d) for d in run_dirs], formats=formats)
    return folder


def collect(run_dirs: list[Path]) -> dict:
    """Results of every run on its test split, and the predictions needed for paired statistics."""
    runs, checksums = [], set()
    for run_dir in run_dirs:
        run = load_run(run_dir)
        metrics = run["metrics"]
        if "test" not in metrics["splits"]:
            raise EmobenchError(f"{run_dir}: the run has no test split to compare on")
        data = run["data"] or {}
        labels = data.get("labels") or list(metrics["splits"]["test"]["per_class"])
        y_true, y_pred = read_predictions(Path(run_dir) / "predictions" / "test.csv", labels)
        checksums.add((data.get("dataset"), json.dumps(data.get("source", {}).get("files", {}), sort_keys=True),
                       json.dumps(data.get("source", {}).get("split", {}).get("file_lines", {}).get("test"))))
        runs.append({"dir": str(run_dir), "model": run["config"]["model"], "seed": run["config"]["seed"],
                     "preset": run["config"].get("preset"), "labels": labels, "metrics": metrics, "history": run["history"],
                     "data": data, "y_true": y_true, "y_pred": y_pred, "environment": run["environment"]})
    if len(checksums) > 1:
        raise EmobenchError("the runs were evaluated on different data (dataset, files or split differ); "
                            "compare runs of one dataset and split")
    return {"runs": runs}


def results_rows(runs: list[dict]) -> list[dict]:
    rows = []
    for r in runs:
        test = r["metrics"]["splits"]["test"]
        row = {"model": r["model"], "seed": r["seed"], "preset": r["preset"], "n_test": test["n"],
               "accuracy": test["accuracy"]}
        for avg in ("macro", "weighted"):
            for k in ("precision", "recall", "f1"):
                row[f"{avg}_{k}"] = test[avg][k]
        for cls, c in test["per_class"].items():
            for k in ("precision", "recall", "f1", "support"):
                row[f"{cls}_{k}"] = c[k]
        row.update(train_seconds=r["metrics"]["train_seconds"], eval_seconds=test.get("eval_seconds"),
                   eval_examples_per_second=test.get("examples_per_second"), parameters=r["metrics"].get("parameters"),
                   run=r["dir"])
        rows.append(row)
    return rows


def write_comparison(folder: Path, run_dirs: list[Path], formats=("md", "html")) -> dict:
    from ..reporting.report import build_report

    collected = collect(run_dirs)
    rows = results_rows(collected["runs"])
    for row in rows:  # relative to the comparison when inside it, so the folder can move
        path = Path(row["run"]).resolve()
        row["run"] = str(path.relative_to(folder.resolve())) if path.is_relative_to(folder.resolve()) else str(path)
    (folder / "results.json").write_text(json.dumps({"runs": rows}, indent=2))
    with open(folder / "results.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    report = build_report(collected["runs"], folder, formats=formats)
    return report
