"""Commands about one run and its data: `data audit`, `train`, `distill`, `evaluate`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..data.registry import DATASET_OPTIONS, DEFAULT_DATASET, FIT_INPUT_OPTIONS
from ..errors import EmobenchError
from ..files import check_output_file
from ..models.registry import DEFAULT_MODEL, DEFAULT_STUDENT
from .app import app, data_app
from .options import (CLEANING, OPTION_FIELDS, AllowModifiedOpt, DatasetOpt, QuietOpt, TrackOpt, dataset_config,
                      dataset_options, make_tracker, model_option, parse_overrides)
from .shell import SEED, console, err, escape, explicit, number, say, user_errors


@data_app.command("audit")
@dataset_options(names=tuple(n for n in DATASET_OPTIONS if n not in (*CLEANING, *FIT_INPUT_OPTIONS)))
def data_audit(
    ctx: typer.Context,
    dataset: Optional[str] = typer.Argument(None, help="emotion, isear, goemotions[:ekman], or a CSV/TSV/JSONL file "
                                                       "(default: emotion)"),
    dataset_opt: Optional[str] = typer.Option(None, "--dataset", "-d", help="the dataset, as every other command takes "
                                              "it (the same as the argument: give one of the two)"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="also write the audit as JSON to this file"),
    label_issues: bool = typer.Option(False, "--label-issues", help="also find likely mislabelled texts (confident "
                                      "learning on out-of-fold probabilities, through cleanlab)"),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="with --label-issues: the family that scores texts "
                                        "out of fold (default: tfidf, the fastest that is good enough)"),
    folds: int = number(5, "--folds", low=2, high=100, help="with --label-issues: folds of each split"),
    splits: Optional[str] = typer.Option(None, "--splits", help="with --label-issues: comma-separated splits (default: all)"),
    show: int = number(10, "--show", low=0, high=10**9, help="with --label-issues: issues shown per split (the JSON holds all)"),
    seed: int = number(0, "--seed", **SEED, help="with --label-issues: seed of the folds and models"),
    quiet: bool = QuietOpt,
    **data,
):
    """Sizes, label shares, text lengths, duplicates, conflicting labels, leakage, placeholders; for multi-label
    data also labels per text, co-occurring pairs and texts without a label. --label-issues adds the texts confident
    learning flags as likely mislabelled, per split and label, with the estimated noise matrix
    (multi-label: per label, how often it is given but likely absent or missing but likely present)."""
    with user_errors():
        from ..experiments.audit import audit_dataset

        if dataset is not None and dataset_opt is not None:
            raise EmobenchError(f"the dataset is given twice ({dataset!r} and --dataset {dataset_opt!r}); give one")
        if dataset_opt is not None and data.get("train_file"):
            raise EmobenchError("give either --dataset or --train-file (with --validation-file/--test-file), not both")
        dataset = dataset if dataset is not None else dataset_opt if dataset_opt is not None else DEFAULT_DATASET
        if json_out is not None:
            check_output_file(json_out, "json_out")
        if not label_issues:
            stray = [p for p in ("model", "folds", "splits", "show", "seed") if explicit(ctx, p)]
            if stray:
                raise EmobenchError(f"--{stray[0]} applies to --label-issues")
        chosen = [s.strip() for s in splits.split(",")] if splits and label_issues else None
        result = audit_dataset(dataset_config(ctx, dataset, data), label_issues=label_issues, model=model, folds=folds,
                               splits=chosen, seed=seed, json_out=json_out, progress=_audit_progress(quiet, model))
        _print_audit(result.report, result.issues, show)
        if json_out:
            say(f"audit written to {json_out}")


def _audit_progress(quiet: bool, model: str | None):
    """Where the label issues' progress goes: standard error; with --quiet only which default family scores (said
    before the first fold), not each fold."""
    said: list[str] = []

    def progress(line: str) -> None:
        if not quiet or (model is None and not said):
            err.print(line, markup=False)
        said.append(line)
    return progress


def _print_audit(report, issues, show: int) -> None:
    from ..reporting.tables import audit_tables, label_issue_tables

    for table in audit_tables(report):
        console.print(table)
    for line in report.split_origin.notes:
        console.print(escape(line))
    if report.warnings:
        for line in report.warnings:
            console.print(f"[yellow]![/] {escape(line)}")
    else:
        console.print("[green]no duplicates, conflicts, leakage or placeholders found[/]")
    if issues is not None:
        for table in label_issue_tables(issues, show):
            console.print(table)


@app.command()
@dataset_options
def train(
    ctx: typer.Context,
    model: str = model_option(DEFAULT_MODEL),
    dataset: str = DatasetOpt,
    seed: int = number(0, "--seed", **SEED, help="random seed"),
    preset: Optional[str] = typer.Option(None, help="hyper-parameter preset of the model family (e.g. paper, fast)"),
    set_: list[str] = typer.Option([], "--set", help="hyper-parameter override key=value (repeatable)"),
    output_dir: Path = typer.Option(Path("runs"), "--output-dir", "-o", help="where run directories go"),
    name: Optional[str] = typer.Option(None, help="run directory name (default: dataset-model-seed-time-random)"),
    resume: Optional[Path] = typer.Option(None, help="continue an interrupted run (its .partial directory)"),
    track: list[str] = TrackOpt,
    quiet: bool = QuietOpt,
    **data,
):
    """Train one model and write a run directory (config, versions, checksums, model, metrics, predictions)."""
    with user_errors():
        from ..experiments.run import RunConfig
        from ..experiments.run import train as train_run
        from ..reporting.console import run_lines

        tracker = make_tracker(track, Path(resume).parent if resume else output_dir, "emobench")
        if resume:
            given = [p for p in ctx.params if p not in ("resume", "quiet", "data_dir", "track") and explicit(ctx, p)]
            if given:
                raise EmobenchError(f"--resume continues a run with its recorded configuration; "
                                    f"--{given[0].rstrip('_').replace('_', '-')} cannot be combined with it")
            if data.get("data_dir"):
                raise EmobenchError("--resume reads the data recorded in the run; --data-dir cannot be combined with it")
            run = train_run(resume=resume, progress=not quiet, tracker=tracker)
        else:
            config = dataset_config(ctx, dataset, data)
            config.budget_seed = seed  # a data budget is drawn with the run's seed
            run = train_run(RunConfig(model=model, seed=seed, preset=preset, overrides=parse_overrides(set_),
                                      output_dir=str(output_dir), name=name, dataset=config),
                            progress=not quiet, tracker=tracker)
        for line in run_lines(run, quiet):
            say(line)
        say(f"run written to {run.folder}")


@app.command()
def distill(
    teacher: Path = typer.Argument(..., help="a finished run to learn from (its calibrated probabilities)"),
    student: str = typer.Option(DEFAULT_STUDENT, "--student", help="the student model: lstm, static (the fastest), "
                                "or a model name of those families (see `emobench models`)"),
    unlabeled: Optional[str] = typer.Option(None, "--unlabeled", help="texts without labels (TXT, CSV, TSV, JSONL) the "
                                            "student learns from through the teacher's probabilities alone"),
    temperature: float = number(1.0, "--temperature", kind=float, low=0.01, high=100, help="the teacher's "
                                "calibrated logits divided by this once more: above 1 softer, below 1 sharper (1: as "
                                "they are)"),
    soft_weight: float = number(0.5, "--soft-weight", kind=float, low=0, high=1, help="the teacher's probabilities' "
                                "share of the loss on a labelled text (the true label has the rest)"),
    seed: int = number(0, "--seed", **SEED, help="random seed"),
    set_: list[str] = typer.Option([], "--set", help="hyper-parameter override of the student key=value (repeatable)"),
    output_dir: Path = typer.Option(Path("runs"), "--output-dir", "-o", help="where run directories go"),
    name: Optional[str] = typer.Option(None, help="run directory name (default: dataset-model-seed-time-random)"),
    allow_changed_data: bool = typer.Option(False, help="distill even if the data's checksums differ from the teacher's "
                                            "record (warned and recorded)"),
    allow_modified: bool = AllowModifiedOpt,
    quiet: bool = QuietOpt,
):
    """Train a fast student on a teacher run's calibrated probabilities over the training texts (and --unlabeled
    ones): a run like any other, whose data.json records the teacher, the temperature and the unlabeled texts."""
    with user_errors():
        from ..experiments.distill import distill as distill_run
        from ..reporting.console import run_lines

        run = distill_run(teacher, student, unlabeled, temperature, soft_weight, seed, output_dir, name,
                          parse_overrides(set_), allow_changed_data, progress=not quiet,
                          allow_modified=allow_modified)
        for line in run_lines(run, quiet):
            say(line)
        say(f"run written to {run.folder}")


@app.command()
@dataset_options(names=tuple(n for n in DATASET_OPTIONS if n not in FIT_INPUT_OPTIONS))
def evaluate(
    ctx: typer.Context,
    run: Path = typer.Argument(..., help="a run directory"),
    split: Optional[str] = typer.Option(None, help="split to score (default: test; a file or dataset without splits of its "
                                                   "own is scored whole)"),
    data_file: Optional[str] = typer.Option(None, "--data", help="a labelled file instead (CSV/TSV/JSONL, or text;label .txt), "
                                                                 "read with the run's columns unless the options say otherwise"),
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d",
                                          help="another dataset: only the labels both share count (see --label-map)"),
    allow_changed_data: bool = typer.Option(False, help="evaluate even if the data's checksums differ from the run's record"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="also write the metrics as JSON"),
    allow_modified: bool = AllowModifiedOpt,
    **data,
):
    """Re-evaluate a saved run: on its own split (checksums verified), a labelled file, or another dataset. A file
    or another dataset is scored on the labels it shares with the run (texts with other labels are counted)."""
    with user_errors():
        from ..experiments.evaluate import evaluate_run
        from ..reporting.console import transfer_lines, transfer_rates

        given = {name for name in DATASET_OPTIONS if explicit(ctx, name)}
        _check_evaluate_options(given, data_file, dataset, allow_changed_data)
        if json_out is not None:
            check_output_file(json_out, "json_out")
        options = {}
        if data_file:
            config = dataset_config(ctx, data_file, data)
            options = {field: getattr(config, field) for name in given for field in OPTION_FIELDS[name]}
        other = dataset_config(ctx, dataset, data) if dataset else None
        result = evaluate_run(run, split=split, data_file=data_file, dataset=other,
                              data_dir=data.get("data_dir") if not (dataset or data_file) else None,
                              allow_changed_data=allow_changed_data, allow_modified=allow_modified, json_out=json_out,
                              **options)
        transfer = result.transfer
        say(f"{result.scored} ({result.n} examples)")
        for line in transfer_lines(transfer) if transfer else []:
            say(line)
        say(result.report)
        if transfer:
            say(transfer_rates(transfer))
        if result.data_changes:
            say("NOTE: the data differs from what the run was trained on (--allow-changed-data): "
                + "; ".join(result.data_changes))


def _check_evaluate_options(given: set[str], data_file: str | None, dataset: str | None, allow_changed_data: bool):
    if data_file and dataset:
        raise EmobenchError("give --data FILE or --dataset NAME, not both")
    if data_file:
        refused = given & {"data_dir", "train_file", "validation_file", "test_file", "dataset_name", "train_size",
                           "budget_validation", "split_seed", *CLEANING}
        if refused or allow_changed_data:
            named = '--' + sorted(refused)[0].replace('_', '-') if refused else '--allow-changed-data'
            raise EmobenchError(f"--data evaluates on a file; {named} does not apply to it")
    elif not dataset and given - {"data_dir"}:
        raise EmobenchError("dataset options other than --data-dir apply to --data FILE or --dataset NAME; the run's "
                            "own dataset is read as recorded")
    elif dataset and allow_changed_data:
        raise EmobenchError("--allow-changed-data applies to the run's own dataset, not to --dataset")
