"""A study's outputs: every run's test-set outcome collected (refusing runs of other data), results.json and
results.csv, the analyses (evaluation/), the report (reporting/) and statistics.json, the transfer scores on another
dataset and the test split's label-noise audit; the folder is described in :mod:`emobench.records.comparison`."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from ..data import Corpus, DatasetConfig
from ..data.budgets import ALL
from ..data.registry import dataset_entry
from ..errors import EmobenchError, EmobenchWarning, RecordError, option
from ..evaluation.analysis import RunOutcome, analyse, analyse_budgets
from ..files import MANIFEST
from ..manifest import sha256_of, write_manifest
from ..logs import logger as log
from ..models.registry import MAJORITY, is_baseline, resolve
from ..records.comparison import (COMPARISON, RESULTS, RESULTS_CSV, STATISTICS, TRANSFER_DIR, ComparisonRecord, SkippedRun,
                                  transfer_names, write_results, write_statistics)
from ..records.run import RunRecord
from .evaluate import scored_description, scoring_data
from .transfer import transfer_evaluate, write_transfer_predictions

NOISE_FILE = "label_issues.json"  # the test split's audit (emobench.records.label_issues)


def check_ensembles(ensembles: list[list[str]], models: list[str]) -> list[list[str]]:
    """Ensembles as lists of model names: ["all"] means every model; members must be compared models."""
    names = list(dict.fromkeys(models))
    out = []
    for given in ensembles:
        members = [n for n in names if not is_baseline(n)] if given == ["all"] else list(dict.fromkeys(given))
        unknown = [m for m in members if m not in names]
        if unknown:
            raise EmobenchError(f"{option('ensemble')}: {', '.join(unknown)} not among the compared models ({', '.join(names)})")
        if len(members) < 2:
            compared = f" (the comparison's models but baselines: {', '.join(members) or 'none'})" if given == ["all"] else ""
            raise EmobenchError(f"{option('ensemble')} {'+'.join(given)}{compared}: an ensemble needs at least two models")
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
        recipe, label_map = data.source.split, data.source.label_map
        keys.add((data.dataset, json.dumps(sorted(data.source.files.values())),
                  json.dumps((recipe.file_lines or {}).get("test") if recipe else None),
                  json.dumps(data.labels), json.dumps(label_map.dump() if label_map else None, sort_keys=True)))
        test = run.metrics.splits["test"]
        if data.task == "multi_label" and test.jaccard is None:  # a run from before the Jaccard score
            from ..evaluation.metrics import compute_metrics

            jaccard = compute_metrics(predictions.y_true, predictions.y_pred, run.labels).jaccard
            test = test.model_copy(update={"jaccard": jaccard})
        validation_metrics = run.metrics.splits.get("validation")
        outcomes.append(RunOutcome(
            name=run.config.model, model=run.config.model, seed=run.config.seed, run_dir=str(run.folder),
            task=data.task, labels=run.labels, metrics=test, y_true=predictions.y_true, y_pred=predictions.y_pred,
            probs=predictions.probs, texts=predictions.texts, history=run.history,
            train_seconds=run.metrics.train_seconds, parameters=run.metrics.parameters, params=run.config.params,
            preset=run.config.preset, temperature=(test.calibration or {}).get("temperature", 1.0),
            validation_calibration=validation_metrics.calibration if validation_metrics else None,
            val_true=validation.y_true if validation else None, val_probs=validation.probs if validation else None,
            baseline=is_baseline(run.config.model), budget=data.source.budget.size if data.source.budget else None,
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
        row = {"model": o.name, "seed": o.seed, "preset": o.preset, "task": o.task, "n_test": test.n,
               "accuracy": test.accuracy, "budget": o.budget or ALL, "train_texts": o.train_texts}
        averages = ("micro", "macro", "weighted", "samples") if o.task == "multi_label" else ("macro", "weighted")
        for avg in averages:
            for k in ("precision", "recall", "f1"):
                row[f"{avg}_{k}"] = getattr(getattr(test, avg), k)
        if o.task == "multi_label":
            row.update(subset_accuracy=test.subset_accuracy, hamming_loss=test.hamming_loss, jaccard=test.jaccard)
        row.update(train_seconds=o.train_seconds, eval_seconds=test.eval_seconds,
                   eval_examples_per_second=test.examples_per_second, parameters=o.parameters, run=o.run_dir)
        row["per_class"] = {cls: {k: getattr(c, k) for k in ("precision", "recall", "f1", "support")}
                            for cls, c in test.per_class.items()}
        rows.append(row)
    return rows


def write_comparison(folder: Path, runs: list[RunRecord], formats=("md", "html"), outcomes: list[RunOutcome] | None = None,
                     transfer: dict | None = None, ensembles: list[list[str]] | None = None,
                     final: Path | None = None, skipped: list[SkippedRun] = ()) -> ComparisonRecord:
    """Results, statistics and the report of ``runs``; the manifest last. ``final``: where a folder being
    written as ``.partial`` will live (run paths inside it are written relative to it). ``skipped``: models not trained
    at a budget (at 0 labelled texts), listed in the results and the report."""
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
            row["transfer"] = {**scores.transfer.dump(), "accuracy": scores.accuracy, "macro_f1": scores.macro.f1}
    (folder / MANIFEST).unlink(missing_ok=True)
    results = write_results(folder, rows, ensembles, skipped)
    data = runs[0].data
    conflicting = data.conflicting_texts
    majority = MAJORITY if any(o.model == MAJORITY for o in outcomes) else None
    comparison = analyse(chosen, data.dataset, ensembles, set(conflicting) if conflicting is not None else None,
                         majority=majority)
    budgets = None
    if len(by_budget) > 1:
        validation = "budget" if any(r.data.source.budget and r.data.source.budget.validation for r in runs) else "full"
        budgets = analyse_budgets(by_budget, majority, validation)
    explanations = explain_confusions(comparison, chosen)
    noise = _noise(folder, chosen)
    transfer_summary = None
    if transfer:
        transfer_summary = analyse_transfer(chosen, {name: t.metrics for name, t in transfer.items()},
                                            {name: t.predictions for name, t in transfer.items()})
    reference = dataset_entry(data.dataset).reference
    written = build_report(comparison, chosen, data, folder, formats=formats, transfer=transfer_summary,
                           explanations=explanations, reference=reference, budgets=budgets, main_budget=main,
                           noise=noise, skipped=list(skipped), noise_note=_noise_note(folder))
    write_statistics(folder, written["facts"])
    write_manifest(folder, skip=_not_ours(folder))
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
    quality = "" if test.model_macro_f1 is None else f" (its own macro-F1 out of fold: {test.model_macro_f1:.3f})"
    flagger = _family(issues.model)
    kin = {o.name for o in outcomes if any(_family(m) == flagger for m in (o.members or [o.model]))}
    return analyse_noise(outcomes, test.issues, f"{issues.model}, {issues.folds} folds out of fold{quality}, cleanlab confident "
                         "learning", warnings=issues.warnings, kin=kin)


OURS = (COMPARISON, RESULTS, RESULTS_CSV, STATISTICS, NOISE_FILE, TRANSFER_DIR, "report.md", "report.html",
        "tables.tex", "runs", "figures")


def _not_ours(folder: Path) -> tuple[str, ...]:
    """Files beside a comparison's own that emobench did not write (a review's corrections of its label_issues.json,
    anything a user put there): left out of its manifest, and said, so the manifest never vouches for them."""
    stray = tuple(sorted(p.name for p in folder.iterdir() if p.name not in (*OURS, MANIFEST, "LOCK")
                         and not (p.name.startswith(".") and p.name.endswith(".tmp"))))
    if stray:
        warnings.warn(f"{folder}: left out of its manifest, not written by emobench: {', '.join(stray[:5])}"
                      + (f" and {len(stray) - 5} more" if len(stray) > 5 else ""), EmobenchWarning, stacklevel=2)
    return stray


def _noise_note(folder: Path) -> str:
    """Why a comparison shows no label-noise estimate, as far as its folder says."""
    import importlib.util

    if (folder / NOISE_FILE).is_file():
        return f"{NOISE_FILE} audits another test split than the one these runs were scored on"
    if importlib.util.find_spec("cleanlab") is None:
        return "cleanlab is not installed (pip install 'emobench[noise]')"
    return "the test split was not audited: --no-noise-audit, or too few texts of a label for its folds"


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


def run_transfer(folder: Path, runs: list[RunRecord], target: DatasetConfig, trained_on: Corpus | None = None,
                 loaded: tuple[Corpus, str] | None = None) -> dict:
    """Every run scored on another dataset (shared labels only): its own test split, or every text of data without
    splits of its own; metrics and predictions under ``transfer/``. Texts that also occur in the training split
    (``trained_on``) are counted and warned about. ``loaded``: the target's data, read already. Returns
    {run name: TransferScores}."""
    from ..data.text import normalize_text
    from ..files import write_json
    from ..manifest import Folder
    from ..models.base import load_model
    from ..records.comparison import read_transfer, write_target

    corpus, split = loaded or scoring_data(target)
    files = [Path(f).name for f in corpus.source.files]
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
        evaluation = transfer_evaluate(load_model(run.folder), corpus, split)
        facts = evaluation.transfer.model_copy(update={"scored_on": scored_on, "files": files,
                                                       "overlap_with_training": overlap})
        metrics_file, predictions_file = transfer_names(run.name)
        write_transfer_predictions(folder / predictions_file, evaluation.predictions)
        write_json(folder / metrics_file, evaluation.written(facts))
    write_target(folder, target.resolved().to_dict(), corpus.source, split)
    files = Folder(folder, "comparison", note_unverified=False)
    return {run.name: read_transfer(files, run.name) for run in runs}


def audit_test_split(folder: Path, corpus: Corpus, log=print) -> float:
    """The test split's likely mislabelled texts (confident learning through cleanlab), saved as label_issues.json and
    reused while the test split is the same. Without cleanlab the report goes without them, and says which extra
    adds them. Returns the seconds the audit took when it was made (0 where none was made or none recorded), the same
    for a reused audit as for a new one, so a time-limited comparison plans its stack alike on a rerun."""
    import importlib.util

    from ..records.label_issues import read_label_issues
    from ..records.run import gold_names, split_digest
    from .label_issues import find_issues, save_issues

    path = folder / NOISE_FILE
    test = corpus["test"]
    digest = split_digest(test.texts, gold_names(test, corpus.label_names))
    if path.is_file():
        try:
            saved = read_label_issues(path)
            if saved.splits["test"].digest == digest:
                return saved.seconds or 0.0
        except (EmobenchError, KeyError):
            pass
    if importlib.util.find_spec("cleanlab") is None:
        warnings.warn("the report shows no label noise: finding likely mislabelled test texts needs cleanlab "
                      "(pip install 'emobench[noise]')", EmobenchWarning, stacklevel=2)
        return 0.0
    log("test split: looking for likely mislabelled texts (confident learning, out of fold)")
    try:
        return save_issues(path, find_issues(corpus, ["test"])).seconds or 0.0
    except EmobenchError as exc:  # a test split too small to cut into folds: the comparison stands without it
        warnings.warn(f"the report shows no label noise: {exc}", EmobenchWarning, stacklevel=2)
        return 0.0
