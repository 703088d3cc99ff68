"""Commands about many runs: `compare`, `tune`, `report`."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import typer

from ..data.registry import DATASET_OPTIONS
from ..errors import EmobenchError
from ..logs import logger
from ..models.registry import DEFAULT_TUNED_MODEL
from .app import app
from .options import (TRANSFER_OPTIONS, AllowModifiedOpt, DatasetOpt, QuietOpt, TrackOpt, checked_tracking,
                      dataset_config, dataset_options, model_option, parse_overrides)
from .shell import SEED, explicit, number, show, user_errors


@app.command()
@dataset_options(names=tuple(n for n in DATASET_OPTIONS if n != "train_size"))
@dataset_options(prefix="transfer_", names=TRANSFER_OPTIONS)
def compare(
    ctx: typer.Context,
    runs: list[Path] = typer.Argument(None, help="finished run directories to compare instead of training"),
    dataset: str = DatasetOpt,
    models: Optional[str] = typer.Option(None, "--models", help="comma-separated model names (default: the CPU study)"),
    seeds: int = number(1, "--seeds", low=1, high=1000, help="number of seeds per model (seeds 0, 1, ...)"),
    preset: Optional[str] = typer.Option(None, help="for every family that has it: paper (the reference protocol), best"),
    time_limit: Optional[str] = typer.Option(None, "--time-limit", help="with --preset best (a stack of what fits): the "
                                             "comparison's time, e.g. 30m, 1h, 900s; what does not fit is left out, said"),
    set_: list[str] = typer.Option([], "--set", help="override MODEL.key=value, or key=value for every model that has it"),
    output_dir: Path = typer.Option(Path("comparisons"), "--output-dir", "-o"),
    name: Optional[str] = typer.Option(None, help="comparison directory name; an existing one is continued"),
    retrain: bool = typer.Option(False, help="retrain runs whose configuration or data changed (the old ones are deleted)"),
    format_: list[str] = typer.Option([], "--format", help="also 'latex' (tables.tex); md and html are always written"),
    ensemble: list[str] = typer.Option([], "--ensemble",
                                       help="add an ensemble: 'all' (every model) or models joined by + (repeatable)"),
    baselines: bool = typer.Option(True, "--baselines/--no-baselines",
                                   help="add the majority and stratified baselines (every model is tested against them)"),
    engine: str = typer.Option("local", "--engine", help="local, or ray: every run a Ray task (--ray-address for a "
                                                         "cluster; run folders on shared storage)"),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="with --engine ray: a cluster address "
                                                                          "(default: a local Ray)"),
    noise_audit: bool = typer.Option(True, "--noise-audit/--no-noise-audit",
                                     help="flag likely mislabelled test texts (cleanlab) and score every model without them"),
    train_sizes: Optional[str] = typer.Option(None, "--train-sizes",
                                              help="data budgets: training texts per class, shares or all, comma-separated "
                                                   "(e.g. 0,8,32,128,all); every model at every size and seed; at 0 (no "
                                                   "labelled texts: zero-shot) only the families that learn from none"),
    transfer: Optional[str] = typer.Option(None, "--transfer", help="also score every model on this dataset or file: its "
                                                                    "test split, or every text of data without splits"),
    track: list[str] = TrackOpt,
    allow_modified: bool = AllowModifiedOpt,
    quiet: bool = QuietOpt,
    **data,
):
    """Train (or reuse) every model on the identical split and write results and the report."""
    with user_errors():
        from ..experiments.study import CompareConfig, run_comparison
        from ..reporting.console import comparison_view

        formats = ["md", "html", *[f for f in format_ if f not in ("md", "html")]]
        unknown = [f for f in formats if f not in ("md", "html", "latex")]
        if unknown:
            raise EmobenchError(f"--format {unknown[0]!r}: expected latex (md and html are always written)")
        if runs:
            record = _compare_finished(ctx, runs, output_dir, name, formats, ensemble, allow_modified)
        else:
            chosen = _chosen_models(models, preset)
            target = _transfer_target(ctx, transfer, data)
            config = CompareConfig(
                dataset=dataclasses.replace(dataset_config(ctx, dataset, data), budget_validation=False), models=chosen,
                seeds=list(range(seeds)), preset=preset, overrides=_compare_overrides(set_, chosen),
                output_dir=str(output_dir), name=name, formats=formats, transfer=target,
                ensembles=_ensembles(ensemble, chosen), baselines=baselines, train_sizes=_train_sizes(train_sizes),
                budget_validation=data["budget_validation"], engine=engine, ray_address=ray_address,
                noise_audit=noise_audit, time_limit=_duration(time_limit))
            record = run_comparison(config, progress=not quiet, log=lambda m: logger.info(m), retrain=retrain,
                                    track=checked_tracking(track), allow_modified=allow_modified)
        show(comparison_view(record))


def _compare_finished(ctx: typer.Context, runs: list[Path], output_dir: Path, name: str | None, formats: list[str],
                      ensemble: list[str], allow_modified: bool):
    """Finished runs compared as they are: only the options about the comparison's own folder apply."""
    import datetime

    from ..experiments.study import compare_runs
    from ..files import check_output_folder, check_plain_name

    given = [p for p in ctx.params if p not in ("runs", "output_dir", "name", "format_", "quiet", "ensemble",
                                                "allow_modified") and explicit(ctx, p)]
    if given:
        raise EmobenchError(f"comparing finished runs uses their own configuration; "
                            f"--{given[0].rstrip('_').replace('_', '-')} cannot be combined with run directories")
    check_output_folder(output_dir)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return compare_runs(runs, output_dir / (check_plain_name(name) if name else f"runs-{stamp}"), formats=formats,
                        ensembles=_ensembles(ensemble), allow_modified=allow_modified)


def _transfer_target(ctx: typer.Context, transfer: str | None, data: dict):
    if transfer:
        return dataset_config(ctx, transfer, data, prefix="transfer_")
    given = [name for name in TRANSFER_OPTIONS if explicit(ctx, "transfer_" + name)]
    if given:
        raise EmobenchError(f"--transfer-{given[0].replace('_', '-')} needs --transfer")
    return None


def _duration(text: str | None) -> float | None:
    """``--time-limit``: seconds, or a number with s, m or h."""
    import re

    if text is None:
        return None
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smh]?)\s*", text)
    seconds = float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)] if match else 0
    if not match or not 1 <= seconds < 10**8:
        raise EmobenchError(f"--time-limit {text!r}: expected a duration from 1 s to 100,000,000 s: seconds, or a "
                            "number with s, m or h (e.g. 90, 1.5m, 30m, 2h)")
    return seconds


def _chosen_models(models: str | None, preset: str | None) -> list[str]:
    from ..experiments.study import default_models
    from ..experiments.study_plan import BEST, best_models
    from ..models.registry import study_models

    if preset == BEST:
        if models is not None:
            raise EmobenchError(f"--preset {BEST} chooses the models (a stack of what fits --time-limit); leave --models "
                                "out, or stack models of your choice with --models stack --set stack.members=a+b")
        return best_models()
    if models is None:
        return study_models("paper") if preset == "paper" else default_models()
    chosen = [m.strip() for m in models.split(",") if m.strip()]
    if not chosen:
        raise EmobenchError(f"--models {models!r}: no model names; expected e.g. tfidf,lstm (see `emobench models`)")
    return chosen


@app.command()
@dataset_options
def tune(
    ctx: typer.Context,
    model: str = model_option(DEFAULT_TUNED_MODEL),
    dataset: str = DatasetOpt,
    trials: int = number(20, "--trials", low=1, high=100_000,
                         help="number of trials in the study (completed and pruned; a rerun continues)"),
    timeout: Optional[float] = number(None, "--timeout", kind=float, low=0, high=10**9, low_open=True, what="seconds",
                                      help="seconds after which no new trial starts"),
    seed: int = number(0, "--seed", **SEED, help="seed of the sampler and of every trial"),
    preset: Optional[str] = typer.Option(None, help="preset the search starts from"),
    set_: list[str] = typer.Option([], "--set", help="fixed hyper-parameter key=value (not searched)"),
    space: list[str] = typer.Option([], "--space", help="search name=low:high[:log] or name=a,b,c (replaces the default space)"),
    output_dir: Path = typer.Option(Path("tuning"), "--output-dir", "-o"),
    name: Optional[str] = typer.Option(None, help="tuning folder name; an existing one is continued"),
    storage: Optional[str] = typer.Option(None, "--storage", help="an Optuna RDB URL (sqlite:////shared/tune.db, "
                                          "postgresql://...): processes on one or many machines share the study --name, "
                                          "each in its own folder (-o)"),
    track: list[str] = TrackOpt,
    allow_modified: bool = AllowModifiedOpt,
    quiet: bool = QuietOpt,
    **data,
):
    """Search hyper-parameters on validation (Optuna TPE + pruning), then train the best as an ordinary run."""
    with user_errors():
        from ..experiments.tune import TuneConfig, parse_space
        from ..experiments.tune import tune as run_tune
        from ..reporting.console import trials_view

        track = checked_tracking(track)
        data_config = dataset_config(ctx, dataset, data)
        data_config.budget_seed = seed  # a data budget is drawn with the study's seed
        config = TuneConfig(model=model, trials=trials, timeout=timeout, seed=seed, preset=preset,
                            overrides=parse_overrides(set_), space=parse_space(space, model),
                            output_dir=str(output_dir), name=name, dataset=data_config, storage=storage)
        record = run_tune(config, progress=not quiet, track=track, allow_modified=allow_modified)
        show(trials_view(model, record))


@app.command()
def report(
    comparison: Path = typer.Argument(..., help="a comparison directory"),
    format_: list[str] = typer.Option([], "--format", help="also 'latex'"),
    allow_modified: bool = AllowModifiedOpt,
):
    """Re-render a comparison's results and report from its runs, without training."""
    with user_errors():
        from ..experiments.study import rerender
        from ..reporting.console import comparison_view

        unknown = [f for f in format_ if f not in ("md", "html", "latex")]
        if unknown:
            raise EmobenchError(f"--format {unknown[0]!r}: expected latex (md and html are always written)")
        show(comparison_view(rerender(comparison, formats=["md", "html", *format_], allow_modified=allow_modified)))


def _ensembles(values: list[str], models: list[str] | None = None) -> list[list[str]]:
    """--ensemble values as member lists ('all' or a+b+c); checked against the models when they are known."""
    out = []
    for value in values:
        members = [m.strip() for m in value.split("+")]
        if not value.strip() or any(not m for m in members):
            raise EmobenchError(f"--ensemble {value!r}: expected 'all' or model names joined by + (e.g. tfidf+lstm)")
        out.append(["all"] if members == ["all"] else members)
    if models is not None:
        from ..experiments.study import check_ensembles

        check_ensembles(out, models)
    return out


def _train_sizes(value: str | None) -> list[str | None]:
    from ..data.budgets import parse_size

    if value is None:
        return [None]
    sizes = [part.strip() for part in value.split(",")]
    if not all(sizes):
        raise EmobenchError(f"--train-sizes {value!r}: expected sizes separated by commas, e.g. 8,32,all")
    try:
        return [parse_size(size) for size in sizes]
    except EmobenchError as exc:
        raise EmobenchError(f"--train-sizes {value!r}: {str(exc).split(': ', 1)[-1]}") from None


def _compare_overrides(pairs: list[str], models: list[str]) -> dict:
    """``--set model.key=value`` for one model, ``--set key=value`` for every compared model that has the key."""
    from ..models.registry import param_names

    out: dict[str, dict] = {}
    for key, value in parse_overrides(pairs).items():
        model, dot, param = key.rpartition(".")
        targets = [model] if dot else models
        if dot and model not in models:
            raise EmobenchError(f"--set {key}=...: {model!r} is not among the compared models ({', '.join(models)})")
        matched = False
        for target in targets:
            if param in param_names(target) or dot:  # an unknown one is validated (and refused) with the model's
                if param in out.get(target, {}):
                    raise EmobenchError(f"--set {key}=...: {target}'s {param} is also set by another --set "
                                        f"({out[target][param]!r}); give it once")
                out.setdefault(target, {})[param] = value
                matched = True
        if not matched:
            raise EmobenchError(f"--set {key}=...: no compared model has a parameter {param!r}")
    return out
