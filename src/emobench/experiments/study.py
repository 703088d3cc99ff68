"""A study: many runs compared. Train (or reuse) one run per model and seed on the identical split, then
analyse their test-set outcomes (evaluation/) and render the report (reporting/); the folder is described in
:mod:`emobench.records.comparison`. Finished runs are reused (when their configuration and data are the ones
asked for) and unfinished ones resumed, so an interrupted comparison picks up where it stopped. One process
writes a comparison at a time (its lock), and the manifest is written last.

The plan is :mod:`.study_plan`, its execution (local or on Ray) :mod:`.study_engines`, the outputs
:mod:`.study_outputs`; this module runs them in order.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

from ..claims import Lock, claim_folder
from ..data import Corpus, DatasetConfig, load_dataset
from ..data.budgets import apply_budget
from ..data.unlabeled import REST, with_rest
from ..errors import EmobenchError, option
from ..files import MANIFEST, check_output_folder, check_outside_records, json_text
from ..records.comparison import RESULTS, RESULTS_CSV, STATISTICS, ComparisonRecord, read_description, write_description
from ..records.run import RunRecord
from ..tracking import tracker_for
from .data_checks import cleaned, input_users
from .run import PARTIAL
from .study_engines import LocalEngine, RayEngine, execute
from .study_outputs import (audit_test_split, check_ensembles, collect, results_rows, run_transfer,  # noqa: F401
                            write_comparison)
from .study_plan import (CompareConfig, PlannedRun, decide, default_models, differences, normalised,  # noqa: F401
                         plan_comparison, skipped_runs, stack_seconds, transfer_data)

REGENERATED = (RESULTS_CSV, STATISTICS, "report.md", "report.html", "tables.tex", "figures/")


class BudgetData:
    """The training data of every planned run: cut (a data budget) and cleaned once for every model at a size and
    seed, from the one corpus every model sees."""

    def __init__(self, corpus: Corpus, config: CompareConfig):
        self.corpus, self.config, self.cut = corpus, config, {}

    def __call__(self, plan: PlannedRun) -> Corpus:
        key = (plan.size, plan.seed if plan.size is not None else None)
        if key not in self.cut:
            cut = apply_budget(self.corpus, plan.size, plan.seed, self.config.budget_validation)
            # --unlabeled rest: the texts this budget left out
            cut = with_rest(cut, dataclasses.replace(self.config.dataset, train_size=plan.size), self.corpus["train"])
            self.cut[key] = cleaned(cut, self.config.dataset)
        return self.cut[key]


def _check_engine(config: CompareConfig) -> None:
    if config.engine not in ("local", "ray"):
        raise EmobenchError(f"{option('engine')} {config.engine!r}: expected local or ray")
    if config.ray_address and config.engine != "ray":
        raise EmobenchError(f"{option('ray_address')} applies to {option('engine')} ray")


def run_comparison(config: CompareConfig, progress: bool = True, log=print, retrain: bool = False,
                   track: list[str] = (), allow_modified: bool = False) -> ComparisonRecord:
    """Train every model for every seed (reusing finished runs whose configuration and data are the same as
    asked now), then write results and the report. A run trained with another configuration or on other
    data is never reused: it is an error, or with ``retrain`` it is replaced."""
    config = normalised(config)
    _check_engine(config)
    folder, planned = plan_comparison(config)
    if config.engine == "ray":  # before any folder is made: an address where no Ray answers is an error in seconds
        from ..cluster import connect

        connect(config.ray_address, None)
    # once: every model sees the identical split (rest comes with each budget)
    corpus = load_dataset(config.dataset if config.dataset.unlabeled != REST else
                          dataclasses.replace(config.dataset, unlabeled=None))
    for key, models in input_users(config.dataset, {p.model: p.spec for p in planned}).items():
        log(f"{key.replace('_', '-')}: {', '.join(dict.fromkeys(models)) or 'none'}")
    target = transfer_data(config.transfer, corpus) if config.transfer is not None else None
    existed, output_existed = folder.exists(), folder.parent.exists()
    folder.mkdir(parents=True, exist_ok=True)
    lock = Lock.of(folder, "comparison").acquire(take_over_stale=True)
    try:
        record = _study(folder, planned, config, corpus, target, progress, log, retrain, track, allow_modified)
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


def _study(folder: Path, planned: list[PlannedRun], config: CompareConfig, corpus: Corpus, target, progress: bool, log,
           retrain: bool, track, allow_modified: bool) -> ComparisonRecord:
    """The locked part of a comparison: decide, train, then write the outputs."""
    previous = read_description(folder, allow_modified)
    if previous is not None and previous.config is not None:
        before = DatasetConfig(**previous.config["dataset"]).resolved().to_dict()
        if differences(before, config.dataset.resolved().to_dict()):
            raise EmobenchError(f"{folder} compares another dataset; choose another {option('name')}")
    audited = config.noise_audit and config.time_limit is not None
    if audited:  # the audit's time is part of the limit: made (or reused) first, the stack gets what it leaves
        seconds = audit_test_split(folder, corpus, log)
        planned = plan_comparison(config, seconds, folder)[1]
        log(f"time limit {config.time_limit:g} s: the test split's audit took {seconds:.0f} s; the stack gets "
            f"{stack_seconds(config.time_limit, seconds):g} s")
    data_for = BudgetData(corpus, config)
    decisions = [decide(folder, plan, data_for(plan), retrain, allow_modified) for plan in planned]
    (folder / MANIFEST).unlink(missing_ok=True)  # the folder is being changed: complete again only at the end
    (folder / "runs").mkdir(exist_ok=True)
    write_description(folder, {"format": 3, "kind": "study", "config": json.loads(json_text(config.to_dict())),
                               "runs": {p.name: p.config for p in planned}})
    engine = RayEngine(folder, config.ray_address, log) if config.engine == "ray" else \
        LocalEngine(folder, data_for, progress, log, track)
    runs = execute(folder, decisions, engine, log)
    largest = max(zip(runs, planned), key=lambda rp: (rp[1].size is None, rp[0].data.sizes.get("train", 0)))[1].size
    scored = [run for run, plan in zip(runs, planned) if plan.size == largest]  # the report's budget
    transfer = run_transfer(folder, scored, config.transfer, corpus, target) if target is not None else None
    if config.noise_audit and not audited:
        audit_test_split(folder, corpus, log)
    return write_comparison(folder, runs, formats=config.formats, transfer=transfer, ensembles=config.ensembles,
                            skipped=skipped_runs(config))


def _track_report(track, folder: Path, config: CompareConfig, record: ComparisonRecord) -> None:
    tracker = tracker_for(track, folder, "compare", "report")
    if tracker is None:
        return
    tracker.start({"models": config.models, "seeds": config.seeds, "dataset": config.dataset.to_dict()})
    summary = {f"{r.model}.s{r.seed}": {"accuracy": r.accuracy, "macro_f1": r.macro_f1} for r in record.results.runs}
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
        return write_comparison(folder, runs, formats=formats, transfer=transfer, ensembles=record.results.ensembles,
                                skipped=record.results.skipped)
    finally:
        if lock is not None:
            lock.release()
