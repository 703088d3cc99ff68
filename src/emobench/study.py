"""A study: many runs compared. Train (or reuse) one run per model and seed on the identical split, then
analyse their test-set outcomes (evaluation/) and render the report (reporting/).

Layout: ``comparison.json`` (what was asked), ``runs/<model>-s<seed>/`` (ordinary run directories),
``results.json``, ``results.csv``, ``statistics.json``, ``report.md``, ``report.html``, ``figures/``,
``tables.tex`` with ``--format latex``, and ``transfer/`` with ``--transfer``. Finished runs are reused
(when their configuration and data are the ones asked for) and unfinished ones resumed, so an interrupted
comparison picks up where it stopped.
"""
from __future__ import annotations

import csv
import datetime as _dt
import json
import secrets
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .data import DatasetConfig, load_dataset
from .errors import EmobenchError
from .evaluation.analysis import RunOutcome, analyse
from .fileio import check_output_folder, check_plain_name, read_json, write_json
from .logs import logger as log
from .runs import PARTIAL, RunConfig, data_changes, load_run, read_predictions, resolved_config, train, transfer_evaluate

# The default study: what finishes on a 2-core CPU in about 10 minutes (tfidf ~10 s, lstm ~2-3 min,
# lstm-paper ~4-6 min on dair-ai).
DEFAULT_MODELS = ["tfidf", "lstm", "lstm-paper"]


def default_models() -> list[str]:
    """The default study; with a GPU (and MiniLM's weights at hand) it includes a transformer, the seed
    study's point being transformers against the LSTM."""
    import importlib.util

    models = list(DEFAULT_MODELS)
    if importlib.util.find_spec("torch") is not None:
        import torch

        if torch.cuda.is_available():
            from .models.base import MINILM_HUB_ID
            from .models.transformer import resolve_pretrained

            if resolve_pretrained(MINILM_HUB_ID) != MINILM_HUB_ID:
                models.append("minilm")
    return models
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
    transfer: DatasetConfig | None = None  # also score every model on this dataset's test split
    ensembles: list[list[str]] = field(default_factory=list)  # model names whose probabilities are averaged

    def to_dict(self) -> dict:
        return asdict(self)


def _safe(name: str) -> str:
    return name.replace("hf:", "").strip("/").replace("/", "_").replace("\\", "_")


@dataclass
class PlannedRun:
    model: str
    seed: int
    run: RunConfig
    config: dict  # the resolved configuration config.json will record

    @property
    def name(self) -> str:
        return self.run.name


def plan_comparison(config: CompareConfig) -> tuple[Path, list[PlannedRun]]:
    """Validate everything about a comparison before any folder is made: models, presets, parameters,
    seeds, names. Returns the comparison folder and the runs it consists of."""
    if not config.models:
        raise EmobenchError("no models to compare (--models is empty); name at least one (see `emobench models`)")
    duplicates = sorted({m for m in config.models if config.models.count(m) > 1})
    if duplicates:
        raise EmobenchError(f"--models names {', '.join(duplicates)} more than once")
    if not config.seeds:
        raise EmobenchError("no seeds: --seeds must be at least 1")
    if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in config.seeds):
        raise EmobenchError(f"seeds {config.seeds}: expected integers >= 0")
    check_output_folder(config.output_dir)
    name = check_plain_name(config.name) if config.name else \
        f"{config.dataset.short_name}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    folder = Path(config.output_dir) / name
    if folder.exists() and not (folder / "comparison.json").is_file():
        raise EmobenchError(f"{folder} exists and is not a comparison; choose another --name")
    unknown = [m for m in config.overrides if m not in config.models]
    if unknown:
        raise EmobenchError(f"--set for {', '.join(unknown)}, which is not among the compared models ({', '.join(config.models)})")
    planned = []
    for model in config.models:
        preset = config.preset if _has_preset(model, config.preset) else None
        for seed in config.seeds:
            run = RunConfig(model=model, dataset=config.dataset, seed=seed, preset=preset,
                            overrides=dict(config.overrides.get(model, {})), output_dir=str(folder / "runs"),
                            name=f"{_safe(model)}-s{seed}")
            family, params = run.validate()
            planned.append(PlannedRun(model, seed, run, resolved_config(run, family, params)))
    if config.preset and not any(p.run.preset for p in planned):
        raise EmobenchError(f"no compared model has a preset {config.preset!r}")
    return folder, planned


def _has_preset(model: str, preset: str | None) -> bool:
    if not preset:
        return False
    from .models.base import family_class, model_family

    return preset in family_class(model_family(model)).PRESETS


def _differences(before: dict, now: dict, prefix: str = "") -> list[str]:
    """What differs between two resolved configurations (where the data lives is not a difference)."""
    out = []
    for key in sorted(set(before) | set(now)):
        if key in ("output_dir", "name", "data_dir", "overrides", "preset"):  # the resolved params say it all
            continue
        a, b = before.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} then, {b!r} now")
    return out


def run_comparison(config: CompareConfig, progress: bool = True, log=print, retrain: bool = False,
                   track: list[str] = ()) -> Path:
    """Train every model for every seed (reusing finished runs whose configuration and data are the same as
    asked now), then write results and the report. A run trained with another configuration or on other
    data is never reused: it is an error, or with ``retrain`` it is replaced."""
    folder, planned = plan_comparison(config)
    corpus = load_dataset(config.dataset)  # once: every model sees the identical split
    saved = folder / "comparison.json"
    if saved.is_file():
        previous = read_json(saved, "comparison description", required=("config",))
        before = DatasetConfig(**previous["config"]["dataset"]).resolved().to_dict()
        if _differences(before, config.dataset.resolved().to_dict()):
            raise EmobenchError(f"{folder} compares another dataset; choose another --name")
    actions = []
    for plan in planned:
        final = folder / "runs" / plan.name
        partial = final.with_name(plan.name + PARTIAL)
        existing = final if (final / "metrics.json").is_file() else partial if (partial / "config.json").is_file() else None
        if existing is None:
            actions.append((plan, "train", []))
            continue
        recorded = read_json(existing / "config.json", "run configuration")
        changes = _differences(recorded, plan.config)
        data_path = existing / "data.json"
        if data_path.is_file():
            changes += data_changes(read_json(data_path, "data record"), corpus)
        if changes and not retrain:
            raise EmobenchError(
                f"{existing} was trained with another configuration or data than this comparison asks for: "
                + "; ".join(changes[:6]) + (" ..." if len(changes) > 6 else "")
                + ". Pass --retrain to train it again (the old run is deleted), or choose another --name")
        actions.append((plan, "retrain" if changes else ("reuse" if existing == final else "resume"), changes))
    (folder / "runs").mkdir(parents=True, exist_ok=True)
    write_json(saved, {"config": config.to_dict(), "runs": {p.name: p.config for p in planned}})
    run_dirs = []
    for plan, action, changes in actions:
        final = folder / "runs" / plan.name
        partial = final.with_name(plan.name + PARTIAL)
        tracker = _tracker(track, folder, plan.name)
        if action == "reuse":
            log(f"{plan.name}: finished earlier, reused")
        elif action == "resume":
            log(f"{plan.name}: resuming the unfinished run")
            train(resume=partial, progress=progress, corpus=corpus, tracker=tracker)
        else:
            if action == "retrain":
                log(f"{plan.name}: configuration or data changed ({'; '.join(changes[:3])}); retraining")
                shutil.rmtree(final, ignore_errors=True)
                shutil.rmtree(partial, ignore_errors=True)
            log(f"{plan.name}: training")
            train(plan.run, progress=progress, corpus=corpus, tracker=tracker)
        run_dirs.append(final)
    transfer = None
    if config.transfer is not None:
        transfer = run_transfer(folder, run_dirs, config.transfer)
    write_comparison(folder, run_dirs, formats=config.formats, transfer=transfer, ensembles=config.ensembles)
    tracker = _tracker(track, folder, "report")
    if tracker is not None:
        rows = read_json(folder / "results.json", "comparison results")["runs"]
        tracker.start({"models": config.models, "seeds": config.seeds, "dataset": config.dataset.to_dict()})
        summary = {f"{r['model']}.s{r['seed']}": {"accuracy": r["accuracy"], "macro_f1": r["macro_f1"]} for r in rows}
        tracker.finish(None, summary, [folder / name for name in ("report.md", "report.html", "results.json", "results.csv")
                                       if (folder / name).is_file()])
        tracker.close()
    return folder


def _tracker(track, folder: Path, run_name: str):
    if not track:
        return None
    from .tracking import Tracker

    return Tracker(list(track), folder / "tracking", experiment=f"emobench-compare-{folder.name}", run_name=run_name)


def compare_runs(run_dirs: list[str | Path], output_dir: str | Path, formats=("md", "html"),
                 ensembles: list[list[str]] | None = None) -> Path:
    """A comparison of finished runs (they must share a dataset and test split)."""
    folder = Path(output_dir)
    check_output_folder(folder.parent if str(folder.parent) else ".")
    resolved = [Path(d).resolve() for d in run_dirs]
    twice = sorted({str(d) for d in resolved if resolved.count(d) > 1})
    if twice:
        raise EmobenchError(f"{twice[0]} is given more than once")
    collected = collect([Path(d) for d in run_dirs])  # validated before the folder is made
    ensembles = check_ensembles(ensembles or [], [o.name for o in collected["outcomes"]])
    folder.mkdir(parents=True, exist_ok=True)
    write_comparison(folder, [Path(d) for d in run_dirs], formats=formats, collected=collected, ensembles=ensembles)
    return folder


def check_ensembles(ensembles: list[list[str]], models: list[str]) -> list[list[str]]:
    """Ensembles as lists of model names: ["all"] means every model; members must be compared models."""
    names = list(dict.fromkeys(models))
    out = []
    for members in ensembles:
        members = names if members == ["all"] else list(dict.fromkeys(members))
        unknown = [m for m in members if m not in names]
        if unknown:
            raise EmobenchError(f"--ensemble: {', '.join(unknown)} not among the compared models ({', '.join(names)})")
        if len(members) < 2:
            raise EmobenchError(f"--ensemble {'+'.join(members)}: an ensemble needs at least two models")
        if members not in out:
            out.append(members)
    return out


def collect(run_dirs: list[Path]) -> dict:
    """Every run's outcome on its test split (predictions included, for paired statistics), refusing runs
    evaluated on different data."""
    outcomes, checksums, dataset = [], set(), None
    for run_dir in run_dirs:
        run = load_run(run_dir)
        metrics = run["metrics"]
        if "test" not in metrics["splits"]:
            raise EmobenchError(f"{run_dir}: the run has no test split to compare on")
        data = run["data"] or {}
        test = metrics["splits"]["test"]
        labels = data.get("labels") or list(test["per_class"])
        predictions = read_predictions(Path(run_dir) / "predictions" / "test.csv", labels)
        validation = None
        if (Path(run_dir) / "predictions" / "validation.csv").is_file():
            validation = read_predictions(Path(run_dir) / "predictions" / "validation.csv", labels)
        checksums.add((data.get("dataset"), json.dumps(sorted(data.get("source", {}).get("files", {}).values())),
                       json.dumps(data.get("source", {}).get("split", {}).get("file_lines", {}).get("test")),
                       json.dumps(labels), json.dumps(data.get("source", {}).get("label_map"), sort_keys=True)))
        dataset = dataset or data
        config = run["config"]
        calibration = test.get("calibration") or {}
        test = {**test, "validation_calibration": metrics["splits"].get("validation", {}).get("calibration")}
        outcomes.append(RunOutcome(
            name=config["model"], model=config["model"], seed=config["seed"], run_dir=str(run_dir),
            task=test.get("task", "single_label"), labels=labels, metrics=test, y_true=predictions["y_true"],
            y_pred=predictions["y_pred"], probs=predictions["probs"], texts=predictions["texts"], history=run["history"],
            train_seconds=metrics["train_seconds"], parameters=metrics.get("parameters"), params=config.get("params"),
            preset=config.get("preset"), temperature=calibration.get("temperature", 1.0),
            val_true=validation["y_true"] if validation else None, val_probs=validation["probs"] if validation else None))
    if len(checksums) > 1:
        raise EmobenchError("the runs were evaluated on different data (dataset, files, split or labels differ); "
                            "compare runs of one dataset and split")
    _name_runs(outcomes)
    return {"outcomes": outcomes, "data": dataset or {}}


def _name_runs(outcomes: list[RunOutcome]) -> None:
    """Runs of one model name with different parameters are different models: they are shown under their
    folder names, never averaged as if they were seeds of one model."""
    by_model: dict[str, list[RunOutcome]] = {}
    for outcome in outcomes:
        by_model.setdefault(outcome.model, []).append(outcome)
    for model, group in by_model.items():
        distinct = {json.dumps(r.params, sort_keys=True) for r in group}
        for outcome in group:
            outcome.name = Path(outcome.run_dir).name if len(distinct) > 1 else model
    seen = set()
    for outcome in outcomes:
        key = (outcome.name, outcome.seed)
        if key in seen:
            raise EmobenchError(f"two runs of {outcome.name!r} with seed {outcome.seed} (one is {outcome.run_dir}); "
                                "compare each run once")
        seen.add(key)


def results_rows(outcomes: list[RunOutcome]) -> list[dict]:
    """One row per run. Per-class results live under their own key, so a label called 'macro' or
    'accuracy' never collides with a summary."""
    rows = []
    for o in outcomes:
        test = o.metrics
        row = {"model": o.name, "seed": o.seed, "preset": o.preset, "task": o.task, "n_test": test["n"],
               "accuracy": test["accuracy"]}
        averages = ("micro", "macro", "weighted", "samples") if o.task == "multi_label" else ("macro", "weighted")
        for avg in averages:
            for k in ("precision", "recall", "f1"):
                row[f"{avg}_{k}"] = test[avg][k]
        if o.task == "multi_label":
            row.update(subset_accuracy=test["subset_accuracy"], hamming_loss=test["hamming_loss"])
        row.update(train_seconds=o.train_seconds, eval_seconds=test.get("eval_seconds"),
                   eval_examples_per_second=test.get("examples_per_second"), parameters=o.parameters, run=o.run_dir)
        row["per_class"] = {cls: {k: c[k] for k in ("precision", "recall", "f1", "support")}
                            for cls, c in test["per_class"].items()}
        rows.append(row)
    return rows


def _csv_row(row: dict) -> dict:
    flat = {k: v for k, v in row.items() if k not in ("per_class", "transfer")}
    for cls, values in row["per_class"].items():
        for k, v in values.items():
            flat[f"per_class.{cls}.{k}"] = v
    for k, v in (row.get("transfer") or {}).items():
        if isinstance(v, int | float | str):
            flat[f"transfer.{k}"] = v
    return flat


def run_transfer(folder: Path, run_dirs: list[Path], target: DatasetConfig) -> dict:
    """Every run scored on another dataset's test split (shared labels only); predictions are written to
    ``transfer/<run>.csv`` and the metrics to ``transfer/<run>.json``."""
    from .models.base import load_model
    from .runs import write_predictions
    from .data import Split

    corpus = load_dataset(target)
    out = folder / "transfer"
    out.mkdir(exist_ok=True)
    results = {}
    for run_dir in run_dirs:
        log.info("%s: scoring on %s test (transfer)", run_dir.name, corpus.name)
        metrics, predictions = transfer_evaluate(load_model(run_dir), corpus, "test")
        labels = predictions["labels"]
        y_true = predictions["y_true"]
        gold = [list(np.flatnonzero(row)) for row in y_true] if y_true.ndim == 2 else list(y_true)
        write_predictions(out / f"{run_dir.name}.csv", Split(predictions["texts"], gold), predictions["probs"],
                          predictions["y_pred"], labels)
        write_json(out / f"{run_dir.name}.json", metrics)
        results[run_dir.name] = metrics
    write_json(out / "target.json", {"dataset": target.resolved().to_dict(), "source": corpus.source})
    return results


def load_transfer(folder: Path, run_dirs: list[Path]) -> dict | None:
    """The transfer results a comparison wrote earlier (for re-rendering its report)."""
    out = folder / "transfer"
    if not out.is_dir():
        return None
    return {d.name: read_json(out / f"{d.name}.json", "transfer metrics") for d in run_dirs if (out / f"{d.name}.json").is_file()}


def write_comparison(folder: Path, run_dirs: list[Path], formats=("md", "html"), collected: dict | None = None,
                     transfer: dict | None = None, ensembles: list[list[str]] | None = None) -> dict:
    from .evaluation.analysis import analyse_transfer
    from .reporting.report import build_report

    collected = collected or collect(run_dirs)
    outcomes = collected["outcomes"]
    ensembles = check_ensembles(ensembles or [], [o.name for o in outcomes])
    transfer = transfer if transfer is not None else load_transfer(folder, run_dirs)
    rows = results_rows(outcomes)
    for row, run_dir in zip(rows, run_dirs):  # relative to the comparison when inside it, so the folder can move
        path = Path(row["run"]).resolve()
        row["run"] = str(path.relative_to(folder.resolve())) if path.is_relative_to(folder.resolve()) else str(path)
        if transfer and run_dir.name in transfer:
            row["transfer"] = {k: v for k, v in transfer[run_dir.name]["transfer"].items()}
            row["transfer"].update(accuracy=transfer[run_dir.name]["accuracy"], macro_f1=transfer[run_dir.name]["macro"]["f1"])
    write_json(folder / "results.json", {"runs": rows, "ensembles": ensembles})
    flat = [_csv_row(row) for row in rows]
    with open(folder / "results.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(dict.fromkeys(k for row in flat for k in row)))
        writer.writeheader()
        writer.writerows(flat)
    dataset = collected["data"].get("dataset", "?")
    conflicting = collected["data"].get("conflicting_texts")
    comparison = analyse(outcomes, dataset, ensembles, set(conflicting) if conflicting is not None else None)
    explanations = explain_confusions(comparison, run_dirs, outcomes)
    transfer_summary = None
    if transfer:
        predictions = {d.name: read_predictions(folder / "transfer" / f"{d.name}.csv", transfer[d.name]["transfer"]["shared_labels"])
                       for d in run_dirs if d.name in transfer}
        transfer_summary = analyse_transfer(outcomes, transfer, predictions)
    return build_report(comparison, collected, folder, formats=formats, transfer=transfer_summary,
                        explanations=explanations)


def explain_confusions(comparison, run_dirs: list[Path], outcomes: list[RunOutcome], per_confusion: int = 1,
                       confusions: int = 2) -> dict:
    """Token attributions of an example text of each model's top confusions (toward the wrong label)."""
    from .explain import explain_texts
    from .models.base import load_model

    by_name = {o.name: o for o in sorted(outcomes, key=lambda o: o.seed, reverse=True)}
    out = {}
    for report in comparison.errors:
        outcome = by_name.get(report.name)
        if outcome is None or outcome.members is not None or not outcome.run_dir:
            continue
        try:
            model = load_model(outcome.run_dir)
        except EmobenchError as exc:
            log.warning("%s: no explanations (%s)", report.name, exc)
            continue
        items = []
        for confusion in report.confusions[:confusions]:
            if confusion.predicted not in model.label_names:
                continue
            for text in confusion.examples[:per_confusion]:
                items.append({"true": confusion.true, "predicted": confusion.predicted,
                              "explanation": explain_texts(model, [text], target=confusion.predicted)[0]})
        out[report.name] = items
    return out
