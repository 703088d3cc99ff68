"""A study: many runs compared. Train (or reuse) one run per model and seed on the identical split, then
analyse their test-set outcomes (evaluation/) and render the report (reporting/); the folder is described in
:mod:`emobench.records.comparison`. Finished runs are reused (when their configuration and data are the ones
asked for) and unfinished ones resumed, so an interrupted comparison picks up where it stopped. One process
writes a comparison at a time (its lock), and the manifest is written last.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import secrets
import shutil
import warnings

import numpy as np
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..claims import Lock, claim_folder
from ..data import Corpus, DatasetConfig, load_dataset
from ..data.registry import dataset_entry
from ..errors import EmobenchError, EmobenchWarning, RecordError, option, renamed
from ..evaluation.analysis import RunOutcome, analyse, analyse_budgets
from ..files import MANIFEST, check_output_folder, check_outside_records, check_plain_name, json_text, sha256_of, write_manifest
from ..logs import logger as log
from ..data.budgets import ALL, apply_budget, parse_size
from ..models.registry import MAJORITY, baselines, is_baseline, presets, resolve, study_models
from ..records.comparison import (COMPARISON, RESULTS, RESULTS_CSV, STATISTICS, TARGET, ComparisonRecord, read_description,
                                  transfer_names, write_description, write_results, write_statistics)
from ..records.run import CONFIG, METRICS, RunRecord, RunWriter
from .run import (MAX_SEED, PARTIAL, RunConfig, same_dataset, cleaned, data_changes, scored_description, scoring_data, train,
                  transfer_evaluate,
                  write_transfer_predictions)

REGENERATED = (RESULTS_CSV, STATISTICS, "report.md", "report.html", "tables.tex", "figures/")


def default_models() -> list[str]:
    """The default study; with a GPU (and the weights at hand) it includes a transformer, the seed study's point
    being transformers against the LSTM."""
    import importlib.util

    gpu = False
    if importlib.util.find_spec("torch") is not None:
        import torch

        gpu = torch.cuda.is_available()
    return study_models("default", gpu)


@dataclass
class CompareConfig:
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    models: list[str] = field(default_factory=lambda: study_models("default"))
    seeds: list[int] = field(default_factory=lambda: [0])
    preset: str | None = None
    overrides: dict = field(default_factory=dict)
    output_dir: str = "comparisons"
    name: str | None = None
    formats: list[str] = field(default_factory=lambda: ["md", "html"])
    transfer: DatasetConfig | None = None  # also score every model on this dataset's test split
    ensembles: list[list[str]] = field(default_factory=list)  # model names whose probabilities are averaged
    baselines: bool = True  # add the baselines (majority, stratified): every model is tested against them
    # Data budgets: training texts per class ("16"), a share ("0.1") or None (all); every model at a size and seed
    # trains on the same subsample (seeded by the seed). budget_validation cuts the validation split alike.
    train_sizes: list[str | None] = field(default_factory=lambda: [None])
    budget_validation: bool = False
    engine: str = "local"  # or "ray": every run a Ray task (a local Ray, or the cluster at ray_address)
    ray_address: str | None = None
    noise_audit: bool = True  # flag likely mislabelled test texts (cleanlab) and score every model without them

    def to_dict(self) -> dict:
        return asdict(self)


def _safe(name: str) -> str:
    return name.replace("hf:", "").strip("/").replace("/", "_").replace("\\", "_")


@dataclass
class PlannedRun:
    model: str
    seed: int
    run: RunConfig  # its spec resolved
    config: dict  # the resolved configuration config.json will record
    size: str | None = None  # its data budget (None: the whole training split)

    @property
    def name(self) -> str:
        return self.run.name


def plan_comparison(config: CompareConfig) -> tuple[Path, list[PlannedRun]]:
    """Validate everything about a comparison before any folder is made: models, presets, parameters,
    seeds, names. Returns the comparison folder and the runs it consists of."""
    config = _normalised(config)
    if not config.models:
        raise EmobenchError(f"no models to compare ({option('models')} is empty); name at least one (see `emobench models`)")
    duplicates = sorted({m for m in config.models if config.models.count(m) > 1})
    if duplicates:
        raise EmobenchError(f"{option('models')} names {', '.join(duplicates)} more than once")
    if not config.seeds:
        raise EmobenchError(f"no seeds: {option('seeds')} must be at least 1")
    if any(isinstance(s, bool) or not isinstance(s, int) or not 0 <= s <= MAX_SEED for s in config.seeds):
        raise EmobenchError(f"{option('seeds')} {config.seeds}: expected seeds from 0 to {MAX_SEED:,}")
    check_output_folder(config.output_dir)
    check_outside_records(config.output_dir, "output_dir")
    name = check_plain_name(config.name) if config.name else \
        f"{config.dataset.short_name}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    folder = Path(config.output_dir) / name
    if folder.exists() and not (folder / COMPARISON).is_file():
        raise EmobenchError(f"{folder} exists and is not a comparison; choose another {option('name')}")
    if config.transfer is not None and same_dataset(config.transfer, config.dataset):
        raise EmobenchError(f"{option('transfer')} {config.transfer.name}: that is the dataset the models are trained on; "
                            "transfer scores another dataset")
    unknown = [m for m in config.overrides if m not in config.models]
    if unknown:
        raise EmobenchError(f"{option('overrides')} for {', '.join(unknown)}, which is not among the compared models "
                            f"({', '.join(config.models)})")
    sizes = [parse_size(size) for size in config.train_sizes] or [None]
    if len(set(sizes)) != len(sizes):
        raise EmobenchError(f"{option('train_sizes')} names a size twice")
    if config.budget_validation and sizes == [None]:
        raise EmobenchError(f"{option('budget_validation')} cuts the validation split like the training split; it needs "
                            f"{option('train_sizes')}")
    planned = []
    models = list(config.models) + ([b for b in baselines() if b not in config.models] if config.baselines else [])
    for size in sizes:
        for model in models:
            preset = config.preset if config.preset and config.preset in presets(model) else None
            for seed in config.seeds:
                dataset = config.dataset if size is None else dataclasses.replace(
                    config.dataset, train_size=size, budget_seed=seed, budget_validation=config.budget_validation)
                run = RunConfig(model=model, dataset=dataset, seed=seed, preset=preset,
                                overrides=dict(config.overrides.get(model, {})),
                                output_dir=str(folder / "runs"),
                                name=f"{_safe(model)}-s{seed}" if size is None else f"{_safe(model)}-n{size}-s{seed}")
                planned.append(PlannedRun(model, seed, run, run.resolved(), size))
    if config.preset and not any(p.run.preset for p in planned):
        raise EmobenchError(f"no compared model has a preset {config.preset!r}")
    return folder, planned


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


def _transfer_data(config: DatasetConfig):
    """The data a comparison transfers to; its errors name the transfer options (``transfer_label_map``, ...)."""
    try:
        return scoring_data(config)
    except EmobenchError as exc:  # the options the transfer data has its own of (the data root is shared)
        raise renamed(exc, "transfer_", TRANSFER_FIELDS) from None


TRANSFER_FIELDS = {"text_column", "label_column", "split_column", "label_names", "label_separator", "label_columns",
                   "label_map", "encoding", "encodings", "data_format", "dataset_name", "drop_placeholders"}


def _normalised(config: CompareConfig) -> CompareConfig:
    """A comparison's data budgets are its own (``train_sizes``, ``budget_validation``): the dataset is read whole, and
    a budget given with the dataset counts as the comparison's."""
    if config.dataset.train_size is not None:
        raise EmobenchError(f"a comparison's data budgets are {option('train_sizes')}; the dataset's "
                            f"{option('train_size')} {config.dataset.train_size} cannot be combined with it")
    if not config.dataset.budget_validation:
        return config
    return dataclasses.replace(config, budget_validation=True,
                               dataset=dataclasses.replace(config.dataset, budget_validation=False))


def run_comparison(config: CompareConfig, progress: bool = True, log=print, retrain: bool = False,
                   track: list[str] = (), allow_modified: bool = False) -> ComparisonRecord:
    """Train every model for every seed (reusing finished runs whose configuration and data are the same as
    asked now), then write results and the report. A run trained with another configuration or on other
    data is never reused: it is an error, or with ``retrain`` it is replaced."""
    config = _normalised(config)
    if config.engine not in ("local", "ray"):
        raise EmobenchError(f"{option('engine')} {config.engine!r}: expected local or ray")
    if config.ray_address and config.engine != "ray":
        raise EmobenchError(f"{option('ray_address')} applies to {option('engine')} ray")
    folder, planned = plan_comparison(config)
    if config.engine == "ray":  # before any folder is made: an address where no Ray answers is an error in seconds
        from ..cluster import connect

        connect(config.ray_address, None)
    corpus = load_dataset(config.dataset)  # once: every model sees the identical split
    target = _transfer_data(config.transfer) if config.transfer is not None else None  # checked before any training
    if target is not None and not set(target[0].label_names) & set(corpus.label_names):
        ids = all(name.isdigit() for name in target[0].label_names)
        raise EmobenchError(f"{option('transfer')} {config.transfer.name}: its labels ({', '.join(target[0].label_names)}) and "
                            f"{corpus.name}'s ({', '.join(corpus.label_names)}) have none in common; "
                            + (f"name its integer ids with {option('transfer_label_names')}" if ids else
                               f"map them with {option('transfer_label_map')}"))
    existed, output_existed = folder.exists(), folder.parent.exists()
    folder.mkdir(parents=True, exist_ok=True)
    lock = Lock.of(folder, "comparison").acquire(take_over_stale=True)
    try:
        previous = read_description(folder, allow_modified)
        if previous is not None and previous.config is not None:
            before = DatasetConfig(**previous.config["dataset"]).resolved().to_dict()
            if _differences(before, config.dataset.resolved().to_dict()):
                raise EmobenchError(f"{folder} compares another dataset; choose another {option('name')}")
        budgets: dict = {}

        def data_for(plan: PlannedRun):
            key = (plan.size, plan.seed if plan.size is not None else None)
            if key not in budgets:  # cut and cleaned once for every model at a size and seed
                budgets[key] = cleaned(apply_budget(corpus, plan.size, plan.seed, config.budget_validation), config.dataset)
            return budgets[key]

        actions = [(plan, *_action(folder, plan, data_for(plan), retrain, allow_modified)) for plan in planned]
        (folder / MANIFEST).unlink(missing_ok=True)  # the folder is being changed: complete again only at the end
        (folder / "runs").mkdir(exist_ok=True)
        write_description(folder, {"format": 3, "kind": "study", "config": json.loads(json_text(config.to_dict())),
                                   "runs": {p.name: p.config for p in planned}})
        runs = (_on_ray(folder, actions, config.ray_address, log) if config.engine == "ray" else
                [_execute(folder, plan, action, changes, existing, data_for(plan), progress, log, track)
                 for plan, action, changes, existing in actions])
        plans = [a[0] for a in actions]
        largest = max(zip(runs, plans), key=lambda rp: (rp[1].size is None, rp[0].data.sizes.get("train", 0)))[1].size
        scored = [run for run, plan in zip(runs, plans) if plan.size == largest]  # the report's budget
        transfer = run_transfer(folder, scored, config.transfer, corpus, target) if target is not None else None
        if config.noise_audit:
            audit_test_split(folder, corpus, log)
        record = write_comparison(folder, runs, formats=config.formats, transfer=transfer, ensembles=config.ensembles)
        _track_report(track, folder, config, record)
        return record
    except BaseException:
        if not existed and not any((folder / "runs").glob("*")):
            shutil.rmtree(folder, ignore_errors=True)  # nothing was trained: leave nothing behind
            if not output_existed and folder.parent.is_dir() and not any(folder.parent.iterdir()):
                folder.parent.rmdir()  # nor the output folder made for it
        raise
    finally:
        lock.release()


def _execute(folder: Path, plan: PlannedRun, action: str, changes: list[str], existing, corpus, progress: bool, log,
             track) -> RunRecord:
    """One planned run: reused, resumed, or trained (again)."""
    final = folder / "runs" / plan.name
    partial = final.with_name(plan.name + PARTIAL)
    tracker = _tracker(track, folder, plan.name)
    if action == "reuse":
        log(f"{plan.name}: finished earlier, reused")
        return existing
    if action == "resume":
        log(f"{plan.name}: resuming the unfinished run")
        return train(resume=partial, progress=progress, corpus=corpus, tracker=tracker)
    if action == "retrain":
        log(f"{plan.name}: configuration or data changed ({'; '.join(changes[:3])}); retraining")
        shutil.rmtree(final, ignore_errors=True)
        shutil.rmtree(partial, ignore_errors=True)
    log(f"{plan.name}: training")
    return train(plan.run, progress=progress, corpus=corpus, tracker=tracker)


def _ray_task(run: RunConfig | None, resume: str | None, threads: int | None) -> str:
    """A run on a Ray worker: the data read there (the same files and budget give the same rows), the driver's
    threads (the same seed and threads give the local engine's metrics), the same run folder, lock and checks."""
    from ..environment import set_thread_count

    if threads:
        set_thread_count(threads)
    record = train(resume=resume, progress=False) if resume else train(run, progress=False)
    return str(record.folder)


def _on_ray(folder: Path, actions: list, address: str | None, log) -> list[RunRecord]:
    """Every run to train or resume as a Ray task (a GPU for families that use one, when the cluster has GPUs);
    reused runs are not sent. Finished runs are read back from their folders, in the plan's order."""
    from ..cluster import connect
    from ..environment import thread_count
    from ..models.registry import uses_gpu

    threads = thread_count()
    ray = connect(address, None)
    gpus = ray.cluster_resources().get("GPU", 0) > 0
    task = ray.remote(_ray_task)
    pending, results = {}, {}
    for plan, action, changes, existing in actions:
        if action == "reuse":
            log(f"{plan.name}: finished earlier, reused")
            results[plan.name] = existing
            continue
        final = folder / "runs" / plan.name
        partial = final.with_name(plan.name + PARTIAL)
        if action == "retrain":
            log(f"{plan.name}: configuration or data changed ({'; '.join(changes[:3])}); retraining")
            shutil.rmtree(final, ignore_errors=True)
            shutil.rmtree(partial, ignore_errors=True)
        gpu = gpus and uses_gpu(plan.model)
        options = {"num_cpus": 0 if gpu else min(threads, int(ray.cluster_resources().get("CPU", threads))),
                   "num_gpus": 1 if gpu else 0}
        run = dataclasses.replace(plan.run, dataset=plan.run.dataset.resolved(), output_dir=str((folder / "runs").resolve()))
        log(f"{plan.name}: {'resuming' if action == 'resume' else 'training'} as a Ray task")
        ref = task.options(**options).remote(None if action == "resume" else run,
                                             str(partial.resolve()) if action == "resume" else None, threads)
        pending[ref] = plan.name
    from ..cluster import ClusterWatch

    watch = ClusterWatch(ray, f"{len(pending)} run(s) of the comparison {folder.name}",
                         "the runs that finished are kept; run the same command again to reuse them and train the rest")
    while pending:
        ready = watch.wait(list(pending))
        name = pending.pop(ready)
        try:
            path = ray.get(ready)
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if isinstance(getattr(exc, "cause", None), EmobenchError) else None
            for ref in pending:
                ray.cancel(ref)
            raise (cause or EmobenchError(f"{name}: the Ray task failed ({str(exc).splitlines()[0]})")) from None
        log(f"{name}: finished on Ray")
        results[name] = RunRecord.load(path)
    return [results[plan.name] for plan, *_ in actions]


def _action(folder: Path, plan: PlannedRun, corpus, retrain: bool,
            allow_modified: bool) -> tuple[str, list[str], RunRecord | None]:
    """What to do with a planned run: train, reuse (the finished run, validated), resume or retrain."""
    final = folder / "runs" / plan.name
    partial = final.with_name(plan.name + PARTIAL)
    run = None
    if (final / METRICS).is_file():
        run = RunRecord.load(final, allow_modified)
        recorded, data = run.config.dump(), run.data
        existing = final
    elif (partial / CONFIG).is_file():
        writer = RunWriter(partial)
        recorded, data, existing = writer.config().dump(), writer.data(), partial
    else:
        return "train", [], None
    changes = _differences(recorded, plan.config) + data_changes(data, corpus)
    if changes and not retrain:
        raise EmobenchError(
            f"{existing} was trained with another configuration or data than this comparison asks for: "
            + "; ".join(changes[:6]) + (" ..." if len(changes) > 6 else "")
            + f". Pass {option('retrain')} to train it again (the old run is deleted), or choose another {option('name')}")
    return ("retrain" if changes else ("reuse" if existing == final else "resume")), changes, run


def _tracker(track, folder: Path, run_name: str):
    if not track:
        return None
    from ..tracking import Tracker

    return Tracker(list(track), folder / "tracking", experiment=f"emobench-compare-{folder.name}", run_name=run_name)


def _track_report(track, folder: Path, config: CompareConfig, record: ComparisonRecord) -> None:
    tracker = _tracker(track, folder, "report")
    if tracker is None:
        return
    tracker.start({"models": config.models, "seeds": config.seeds, "dataset": config.dataset.to_dict()})
    summary = {f"{r['model']}.s{r['seed']}": {"accuracy": r["accuracy"], "macro_f1": r["macro_f1"]} for r in record.rows}
    tracker.finish(None, summary, [folder / name for name in ("report.md", "report.html", RESULTS, RESULTS_CSV)
                                   if (folder / name).is_file()])
    tracker.close()


def compare_runs(run_dirs: list[str | Path], output_dir: str | Path, formats=("md", "html"),
                 ensembles: list[list[str]] | None = None, allow_modified: bool = False) -> ComparisonRecord:
    """A comparison of finished runs (they must share a dataset and test split), in a new folder."""
    folder = Path(output_dir)
    check_output_folder(folder.parent if str(folder.parent) else ".")
    check_outside_records(folder.parent if str(folder.parent) else ".", "output_dir")
    resolved = [Path(d).resolve() for d in run_dirs]
    twice = sorted({str(d) for d in resolved if resolved.count(d) > 1})
    if twice:
        raise EmobenchError(f"{twice[0]} is given more than once")
    runs = [RunRecord.load(d, allow_modified) for d in run_dirs]
    outcomes = collect(runs)  # validated before the folder is made
    ensembles = check_ensembles(ensembles or [], [o.name for o in outcomes])
    if folder.exists():
        raise EmobenchError(f"{folder} already exists; choose another {option('name')}")
    partial = folder.with_name(folder.name + PARTIAL)
    lock = claim_folder(partial, "comparison")
    try:
        write_description(partial, {"format": 3, "kind": "runs", "config": None, "runs": None})
        write_comparison(partial, runs, formats=formats, outcomes=outcomes, ensembles=ensembles, final=folder)
        partial.rename(folder)
        lock.release(folder)
        return ComparisonRecord.load(folder)
    finally:
        if partial.exists() and lock.held:
            shutil.rmtree(partial, ignore_errors=True)


def rerender(folder: str | Path, formats=("md", "html"), allow_modified: bool = False) -> ComparisonRecord:
    """Render a comparison's results and report again from its runs, without training."""
    folder = Path(folder)
    lock = Lock.of(folder, "comparison").acquire(take_over_stale=True) if (folder / RESULTS).is_file() else None
    try:
        record = ComparisonRecord.load(folder, allow_modified, regenerated=REGENERATED)
        runs = record.load_runs(allow_modified)
        transfer = record.transfer([r.name for r in runs])
        return write_comparison(folder, runs, formats=formats, transfer=transfer, ensembles=record.results.ensembles)
    finally:
        if lock is not None:
            lock.release()


def check_ensembles(ensembles: list[list[str]], models: list[str]) -> list[list[str]]:
    """Ensembles as lists of model names: ["all"] means every model; members must be compared models."""
    names = list(dict.fromkeys(models))
    out = []
    for members in ensembles:
        members = [n for n in names if not is_baseline(n)] if members == ["all"] else list(dict.fromkeys(members))
        unknown = [m for m in members if m not in names]
        if unknown:
            raise EmobenchError(f"{option('ensemble')}: {', '.join(unknown)} not among the compared models ({', '.join(names)})")
        if len(members) < 2:
            raise EmobenchError(f"{option('ensemble')} {'+'.join(members)}: an ensemble needs at least two models")
        if members not in out:
            out.append(members)
    return out


def collect(runs: list[RunRecord]) -> list[RunOutcome]:
    """Every run's outcome on its test split (predictions included, for paired statistics), refusing runs
    evaluated on different data, and runs whose test predictions are not the same texts in the same order."""
    outcomes, keys = [], set()
    for run in runs:
        if "test" not in run.metrics.splits:
            raise RecordError(f"{run.folder}: the run has no test split to compare on")
        data = run.data
        predictions = run.predictions("test")
        validation = run.validation_predictions()
        keys.add((data.dataset, json.dumps(sorted(data.source.get("files", {}).values())),
                  json.dumps((data.source.get("split") or {}).get("file_lines", {}).get("test")),
                  json.dumps(data.labels), json.dumps(data.source.get("label_map"), sort_keys=True)))
        test = run.metrics.splits["test"].as_dict()
        if data.task == "multi_label" and "jaccard" not in test:  # a run from before the Jaccard score
            from ..evaluation.metrics import compute_metrics

            test["jaccard"] = compute_metrics(predictions.y_true, predictions.y_pred, run.labels)["jaccard"]
        validation_metrics = run.metrics.splits.get("validation")
        test["validation_calibration"] = validation_metrics.as_dict().get("calibration") if validation_metrics else None
        outcomes.append(RunOutcome(
            name=run.config.model, model=run.config.model, seed=run.config.seed, run_dir=str(run.folder),
            task=data.task, labels=run.labels, metrics=test, y_true=predictions.y_true, y_pred=predictions.y_pred,
            probs=predictions.probs, texts=predictions.texts, history=run.history,
            train_seconds=run.metrics.train_seconds, parameters=run.metrics.parameters, params=run.config.params,
            preset=run.config.preset, temperature=(test.get("calibration") or {}).get("temperature", 1.0),
            val_true=validation.y_true if validation else None, val_probs=validation.probs if validation else None,
            baseline=is_baseline(run.config.model), budget=(data.source.get("budget") or {}).get("size"),
            train_texts=int(data.sizes.get("train", 0)), model_info=dict(run.metrics.model_info)))
    if len(keys) > 1:
        raise EmobenchError("the runs were evaluated on different data (dataset, files, split or labels differ); "
                            "compare runs of one dataset and split")
    digests = {run.predictions("test").digest() for run in runs}
    if len(digests) > 1:
        raise RecordError(f"the runs' test predictions are not the same texts with the same labels in the same order "
                          f"({', '.join(str(r.folder) for r in runs)}); paired tests need one test split")
    for budget in {o.budget for o in outcomes}:  # one model name per budget
        _name_runs([o for o in outcomes if o.budget == budget])
    return outcomes


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
               "accuracy": test["accuracy"], "budget": o.budget or ALL, "train_texts": o.train_texts}
        averages = ("micro", "macro", "weighted", "samples") if o.task == "multi_label" else ("macro", "weighted")
        for avg in averages:
            for k in ("precision", "recall", "f1"):
                row[f"{avg}_{k}"] = test[avg][k]
        if o.task == "multi_label":
            row.update(subset_accuracy=test["subset_accuracy"], hamming_loss=test["hamming_loss"], jaccard=test.get("jaccard"))
        row.update(train_seconds=o.train_seconds, eval_seconds=test.get("eval_seconds"),
                   eval_examples_per_second=test.get("examples_per_second"), parameters=o.parameters, run=o.run_dir)
        row["per_class"] = {cls: {k: c[k] for k in ("precision", "recall", "f1", "support")}
                            for cls, c in test["per_class"].items()}
        rows.append(row)
    return rows


def run_transfer(folder: Path, runs: list[RunRecord], target: DatasetConfig, trained_on: Corpus | None = None,
                 loaded: tuple[Corpus, str] | None = None) -> dict:
    """Every run scored on another dataset (shared labels only): its own test split, or every text of data without
    splits of its own; metrics and predictions under ``transfer/``. Texts that also occur in the training split
    (``trained_on``) are counted and warned about. ``loaded``: the target's data, read already. Returns
    {run name: TransferScores}."""
    from ..data.text import normalize_text
    from ..files import Folder, write_json
    from ..models.base import load_model
    from ..records.comparison import read_transfer

    corpus, split = loaded or scoring_data(target)
    files = [Path(f).name for f in corpus.source.get("files", {})]
    scored_on = scored_description(corpus, split)
    overlap = None
    if trained_on is not None:
        seen = {normalize_text(t) for t in trained_on["train"].texts}
        overlap = sum(normalize_text(t) in seen for t in corpus[split].texts)
        if overlap:
            warnings.warn(f"{overlap} of the {len(corpus[split])} texts scored for transfer ({scored_on}) also occur in the "
                          "training split: those are not out-of-domain texts", EmobenchWarning, stacklevel=2)
    (folder / "transfer").mkdir(exist_ok=True)
    for run in runs:
        log.info("%s: scoring on %s (transfer)", run.name, scored_on)
        metrics, predictions = transfer_evaluate(load_model(run.folder), corpus, split)
        metrics["transfer"].update(scored_on=scored_on, files=files, overlap_with_training=overlap)
        metrics_file, predictions_file = transfer_names(run.name)
        write_transfer_predictions(folder / predictions_file, predictions)
        write_json(folder / metrics_file, metrics)
    write_json(folder / TARGET, {"dataset": target.resolved().to_dict(), "source": corpus.source, "split": split})
    files = Folder(folder, "comparison", note_unverified=False)
    return {run.name: read_transfer(files, run.name) for run in runs}


NOISE_FILE = "label_issues.json"


def audit_test_split(folder: Path, corpus: Corpus, log=print) -> None:
    """The test split's likely mislabelled texts (confident learning through cleanlab), saved as label_issues.json and
    reused while the test split is the same. Without cleanlab the report goes without them, and says which extra
    adds them."""
    import importlib.util

    from ..records.label_issues import read_label_issues
    from ..records.run import gold_names, split_digest
    from .label_issues import find_issues, save_issues

    path = folder / NOISE_FILE
    test = corpus["test"]
    digest = split_digest(test.texts, gold_names(test, corpus.label_names))
    if path.is_file():
        try:
            if read_label_issues(path).splits["test"].digest == digest:
                return
        except (EmobenchError, KeyError):
            pass
    if importlib.util.find_spec("cleanlab") is None:
        warnings.warn("the report shows no label noise: finding likely mislabelled test texts needs cleanlab "
                      "(pip install 'emobench[noise]')", EmobenchWarning, stacklevel=2)
        return
    log("test split: looking for likely mislabelled texts (confident learning, out of fold)")
    try:
        save_issues(path, find_issues(corpus, ["test"]))
    except EmobenchError as exc:  # a test split too small to cut into folds: the comparison stands without it
        warnings.warn(f"the report shows no label noise: {exc}", EmobenchWarning, stacklevel=2)


def write_comparison(folder: Path, runs: list[RunRecord], formats=("md", "html"), outcomes: list[RunOutcome] | None = None,
                     transfer: dict | None = None, ensembles: list[list[str]] | None = None,
                     final: Path | None = None) -> ComparisonRecord:
    """Results, statistics and the report of ``runs``; the manifest last. ``final``: where a folder being
    written as ``.partial`` will live (run paths inside it are written relative to it)."""
    from ..evaluation.analysis import analyse_transfer
    from ..reporting.report import build_report

    outcomes = outcomes or collect(runs)
    main, by_budget = _budgets(outcomes)
    chosen = [o for o in outcomes if (o.budget or ALL) == main]  # the tables, tests and analyses: the largest budget
    ensembles = check_ensembles(ensembles or [], [o.name for o in chosen])
    rows = results_rows(outcomes)
    for row, run in zip(rows, runs):  # relative to the comparison when inside it, so the folder can move
        path = run.folder.resolve()
        inside = path.is_relative_to(folder.resolve())
        row["run"] = str(path.relative_to(folder.resolve())) if inside else str(path)
        row["run_manifest"] = sha256_of(run.folder / MANIFEST) if (run.folder / MANIFEST).is_file() else None
        if transfer and run.name in transfer:
            scores = transfer[run.name].metrics
            row["transfer"] = {**scores["transfer"], "accuracy": scores["accuracy"], "macro_f1": scores["macro"]["f1"]}
    (folder / MANIFEST).unlink(missing_ok=True)
    results = write_results(folder, rows, ensembles)
    data = runs[0].data
    conflicting = data.conflicting_texts
    majority = MAJORITY if any(o.model == MAJORITY for o in outcomes) else None
    comparison = analyse(chosen, data.dataset, ensembles, set(conflicting) if conflicting is not None else None,
                         majority=majority)
    budgets = None
    if len(by_budget) > 1:
        validation = "budget" if any((r.data.source.get("budget") or {}).get("validation") for r in runs) else "full"
        budgets = analyse_budgets(by_budget, majority, validation)
    explanations = explain_confusions(comparison, chosen)
    noise = _noise(folder, chosen)
    transfer_summary = None
    if transfer:
        transfer_summary = analyse_transfer(chosen, {name: t.metrics for name, t in transfer.items()},
                                            {name: t.predictions for name, t in transfer.items()})
    reference = dataset_entry(data.dataset).reference
    written = build_report(comparison, chosen, data.model_dump(), folder, formats=formats, transfer=transfer_summary,
                           explanations=explanations, reference=reference, budgets=budgets, main_budget=main,
                           noise=noise)
    write_statistics(folder, written["facts"])
    write_manifest(folder)
    return ComparisonRecord(final or folder, results, analysis=comparison, transfer_results=transfer_summary,
                            budgets=budgets, noise=noise)


def _noise(folder: Path, outcomes: list[RunOutcome]):
    """The label-noise analysis of a comparison whose test split was audited (label_issues.json), if it still is the
    split the runs were scored on."""
    from ..evaluation.analysis import analyse_noise
    from ..records.label_issues import read_label_issues

    path = folder / NOISE_FILE
    if not path.is_file():
        return None
    issues = read_label_issues(path)
    test = issues.splits.get("test")
    if test is None or test.n != len(outcomes[0].y_true):
        return None
    if any(issue.text != outcomes[0].texts[issue.index] for issue in test.issues[:50]):
        return None  # another test split: the flags say nothing about these runs
    flagged = [issue.model_dump() for issue in test.issues]
    quality = "" if test.model_macro_f1 is None else f" (its own macro-F1 out of fold: {test.model_macro_f1:.3f})"
    flagger = _family(issues.model)
    kin = {o.name for o in outcomes if any(_family(m) == flagger for m in (o.members or [o.model]))}
    return analyse_noise(outcomes, flagged, f"{issues.model}, {issues.folds} folds out of fold{quality}, cleanlab confident "
                         "learning", warnings=issues.warnings, kin=kin)


def _family(model: str) -> str | None:
    try:
        return resolve(model).family
    except EmobenchError:  # a name no longer registered: of no known family
        return None


def _budgets(outcomes: list[RunOutcome]) -> tuple[str, dict[str, list[RunOutcome]]]:
    """The outcomes by data budget, from the smallest to "all", and the main budget (the largest)."""
    by_budget: dict[str, list[RunOutcome]] = {}
    for o in outcomes:
        by_budget.setdefault(o.budget or ALL, []).append(o)
    order = sorted(by_budget, key=lambda b: (b == ALL, np.mean([o.train_texts for o in by_budget[b]])))
    return order[-1], {b: by_budget[b] for b in order}


def explain_confusions(comparison, outcomes: list[RunOutcome], per_confusion: int = 1, confusions: int = 2) -> dict:
    """Token attributions of an example text of each model's top confusions (toward the wrong label)."""
    from ..models.base import load_model
    from ..models.explain import explain_texts

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
        try:
            for confusion in report.confusions[:confusions]:
                if confusion.predicted not in model.label_names:
                    continue
                for text in confusion.examples[:per_confusion]:
                    items.append({"true": confusion.true, "predicted": confusion.predicted,
                                  "explanation": explain_texts(model, [text], target=confusion.predicted)[0]})
        except EmobenchError as exc:  # an optional library missing (captum): the report goes without them
            log.warning("%s: the report shows no explanations (%s)", report.name, exc)
            continue
        out[report.name] = items
    return out
