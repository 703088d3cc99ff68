"""The `emobench` command: a thin Typer shell over the Python API."""
from __future__ import annotations

import contextlib
import datetime
import json
import warnings
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from .errors import EmobenchError

app = typer.Typer(help="Text emotion recognition: audit datasets, train and compare models, predict.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
data_app = typer.Typer(help="Inspect datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")
console = Console()
err = Console(stderr=True, soft_wrap=True)


@contextlib.contextmanager
def user_errors():
    """Input and configuration errors become one clear line and exit code 2, never a traceback."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except EmobenchError as exc:
            err.print("[bold red]error:[/] ", end="")
            err.print(str(exc), markup=False, highlight=False)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None
        finally:
            for w in caught:
                if issubclass(w.category, UserWarning):
                    err.print("[yellow]warning:[/] ", end="")
                    err.print(str(w.message), markup=False, highlight=False)


def _dataset_config(dataset: str, data_dir, text_column, label_column, split_column, train_file, validation_file,
                    test_file, split_seed, drop_placeholders, label_names=None):
    from .data import DatasetConfig

    files = {k: v for k, v in (("train", train_file), ("validation", validation_file), ("test", test_file)) if v}
    if files and "train" not in files:
        raise EmobenchError("--validation-file/--test-file need --train-file")
    return DatasetConfig(name=files["train"] if files else dataset, data_dir=data_dir, files=files,
                         text_column=text_column, label_column=label_column, split_column=split_column,
                         split_seed=split_seed, drop_placeholders=drop_placeholders, label_names=label_names)


def _parse_overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise EmobenchError(f"--set {pair!r}: expected key=value")
        out[key.strip().replace("-", "_")] = value
    return out


DatasetOpt = typer.Option("emotion", "--dataset", "-d", help="emotion, isear, or a CSV/TSV/JSONL file")
DataDirOpt = typer.Option(None, "--data-dir", help="data root (default: $EMOBENCH_DATA)")


@data_app.command("audit")
def data_audit(
    dataset: str = typer.Argument("emotion", help="emotion, isear, or a CSV/TSV/JSONL file"),
    data_dir: Optional[str] = DataDirOpt,
    json_out: Optional[Path] = typer.Option(None, "--json", help="also write the audit as JSON to this file"),
    text_column: str = typer.Option("text", help="text column (user files)"),
    label_column: str = typer.Option("label", help="label column (user files)"),
    split_column: Optional[str] = typer.Option(None, help="split column (user files)"),
    split_seed: int = typer.Option(13, help="seed of generated splits (ISEAR, user files without splits)"),
):
    """Sizes, label shares, text lengths, duplicates, conflicting labels, leakage, placeholders."""
    with user_errors():
        from .data import audit, load_dataset
        from .reporting.tables import audit_tables

        corpus = load_dataset(_dataset_config(dataset, data_dir, text_column, label_column, split_column,
                                              None, None, None, split_seed, False))
        report = audit(corpus)
        for table in audit_tables(report):
            console.print(table)
        if report["warnings"]:
            for line in report["warnings"]:
                console.print(f"[yellow]![/] {line}", highlight=False)
        else:
            console.print("[green]no duplicates, conflicts, leakage or placeholders found[/]")
        if json_out:
            json_out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
            console.print(f"audit written to {json_out}")


@app.command()
def train(
    model: str = typer.Option("tfidf", "--model", "-m", help="model name (see `emobench models`) or hf:<id or dir>"),
    dataset: str = DatasetOpt,
    data_dir: Optional[str] = DataDirOpt,
    seed: int = typer.Option(0, help="random seed"),
    preset: Optional[str] = typer.Option(None, help="hyper-parameter preset of the model family (e.g. paper, fast)"),
    set_: list[str] = typer.Option([], "--set", help="hyper-parameter override key=value (repeatable)"),
    output_dir: Path = typer.Option(Path("runs"), "--output-dir", "-o", help="where run directories go"),
    name: Optional[str] = typer.Option(None, help="run directory name (default: dataset-model-seed-time)"),
    resume: Optional[Path] = typer.Option(None, help="continue an interrupted run (its .partial directory)"),
    text_column: str = typer.Option("text", help="text column (user files)"),
    label_column: str = typer.Option("label", help="label column (user files)"),
    split_column: Optional[str] = typer.Option(None, help="split column (user files)"),
    train_file: Optional[str] = typer.Option(None, help="training file (user data, one file per split)"),
    validation_file: Optional[str] = typer.Option(None, help="validation file"),
    test_file: Optional[str] = typer.Option(None, help="test file"),
    split_seed: int = typer.Option(13, help="seed of generated splits (ISEAR, user files without splits)"),
    drop_placeholders: bool = typer.Option(False, help="drop placeholder texts such as '[ No response.]' (ISEAR)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress output"),
):
    """Train one model and write a run directory (config, versions, checksums, model, metrics, predictions)."""
    with user_errors():
        from .runs import RunConfig, load_run
        from .runs import train as train_run

        if resume:
            run_dir = train_run(resume=resume, progress=not quiet)
        else:
            config = RunConfig(model=model, seed=seed, preset=preset, overrides=_parse_overrides(set_),
                               output_dir=str(output_dir), name=name,
                               dataset=_dataset_config(dataset, data_dir, text_column, label_column, split_column,
                                                       train_file, validation_file, test_file, split_seed,
                                                       drop_placeholders))
            run_dir = train_run(config, progress=not quiet)
        _show_run(load_run(run_dir), quiet)
        console.print(f"run written to [bold]{run_dir}[/]")


def _show_run(run: dict, quiet: bool) -> None:
    from .evaluation import classification_report_text

    metrics = run["metrics"]
    if not quiet:
        for split, m in metrics["splits"].items():
            console.print(f"[bold]{split}[/] ({m['n']} examples)")
            console.print(classification_report_text(m), highlight=False)
    summary = ", ".join(f"{s} accuracy {m['accuracy']:.4f} macro-F1 {m['macro']['f1']:.4f}"
                        for s, m in metrics["splits"].items())
    console.print(f"trained in {metrics['train_seconds']:.1f} s; {summary}", highlight=False)
    glove = (metrics.get("model_info") or {}).get("glove") or {}
    if glove.get("coverage") is not None:
        console.print(f"GloVe ({glove['source']}) covers {glove['found']} of {glove['vocabulary']} vocabulary words "
                      f"({100 * glove['coverage']:.1f}%)", highlight=False)


@app.command()
def evaluate(
    run: Path = typer.Argument(..., help="a run directory"),
    split: str = typer.Option("test", help="split of the run's dataset"),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="data root, if it moved since training"),
    data: Optional[str] = typer.Option(None, "--data", help="a labelled file instead (CSV/TSV/JSONL, or text;label .txt)"),
    text_column: str = typer.Option("text"),
    label_column: str = typer.Option("label"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="also write the metrics as JSON"),
):
    """Re-evaluate a saved run on a split or on a labelled file."""
    with user_errors():
        from .runs import evaluate_run

        metrics, report = evaluate_run(run, split=split, data_file=data, text_column=text_column,
                                       label_column=label_column, data_dir=data_dir)
        console.print(f"[bold]{data or split}[/] ({metrics['n']} examples)")
        console.print(report, highlight=False)
        if json_out:
            json_out.write_text(json.dumps(metrics, indent=2))


@app.command()
def predict(
    run: Path = typer.Argument(..., help="a run directory or saved model directory"),
    texts: list[str] = typer.Argument(None, help="texts to classify"),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="one text per line"),
    as_json: bool = typer.Option(False, "--json", help="print JSON lines"),
):
    """Print the label and the probability of every class for each text."""
    with user_errors():
        from .serving import Predictor

        items = list(texts or [])
        if file:
            from .data.readers import _read_text

            items += [line for line in _read_text(file).splitlines() if line.strip()]
        if not items:
            raise EmobenchError("no text given: pass texts as arguments or --file")
        predictor = Predictor(run)
        results = predictor.predict(items)
        if as_json:
            for r in results:
                print(json.dumps(r, ensure_ascii=False))
            return
        table = Table("text", "label", *predictor.label_names)
        for r in results:
            text = r["text"] if len(r["text"]) <= 60 else r["text"][:57] + "..."
            table.add_row(text, f"[bold]{r['label']}[/]", *[f"{p:.3f}" for p in r["probabilities"].values()])
        console.print(table)


@app.command()
def models():
    """List the model names."""
    from .models import available_models

    table = Table("name", "description")
    for name, description in available_models().items():
        table.add_row(name, description)
    table.add_row("hf:<id or dir>", "any Hugging Face encoder, fine-tuned for sequence classification")
    console.print(table)


@app.command()
def compare(
    runs: list[Path] = typer.Argument(None, help="finished run directories to compare instead of training"),
    dataset: str = DatasetOpt,
    data_dir: Optional[str] = DataDirOpt,
    models: Optional[str] = typer.Option(None, "--models", help="comma-separated model names (default: the CPU study)"),
    seeds: int = typer.Option(1, "--seeds", help="number of seeds per model (0, 1, ...)"),
    preset: Optional[str] = typer.Option(None, help="preset for every family that has it; 'paper' = the reference protocol"),
    output_dir: Path = typer.Option(Path("comparisons"), "--output-dir", "-o"),
    name: Optional[str] = typer.Option(None, help="comparison directory name; an existing one is continued"),
    format_: list[str] = typer.Option([], "--format", help="also 'latex' (tables.tex); md and html are always written"),
    split_seed: int = typer.Option(13, help="seed of generated splits (ISEAR, user files without splits)"),
    drop_placeholders: bool = typer.Option(False, help="drop placeholder texts (ISEAR)"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
):
    """Train (or reuse) every model on the identical split and write results and the report."""
    with user_errors():
        from .evaluation.compare import DEFAULT_MODELS, PAPER_MODELS, CompareConfig, compare_runs, run_comparison

        formats = ["md", "html", *[f for f in format_ if f not in ("md", "html")]]
        unknown = [f for f in formats if f not in ("md", "html", "latex")]
        if unknown:
            raise EmobenchError(f"--format {unknown[0]!r}: expected latex (md and html are always written)")
        if runs:
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            folder = compare_runs(runs, output_dir / (name or f"runs-{stamp}"), formats=formats)
        else:
            chosen = models.split(",") if models else (PAPER_MODELS if preset == "paper" else DEFAULT_MODELS)
            config = CompareConfig(
                dataset=_dataset_config(dataset, data_dir, "text", "label", None, None, None, None, split_seed,
                                        drop_placeholders),
                models=[m.strip() for m in chosen if m.strip()], seeds=list(range(seeds)), preset=preset,
                output_dir=str(output_dir), name=name, formats=formats)
            folder = run_comparison(config, progress=not quiet, log=(lambda m: None) if quiet else console.print)
        _show_comparison(folder)


@app.command()
def report(
    comparison: Path = typer.Argument(..., help="a comparison directory"),
    format_: list[str] = typer.Option([], "--format", help="also 'latex'"),
):
    """Re-render a comparison's results and report from its runs, without training."""
    with user_errors():
        from .evaluation.compare import write_comparison

        listing = comparison / "results.json"
        if not listing.is_file():
            raise EmobenchError(f"{comparison}: not a comparison directory (no results.json)")
        run_dirs = [comparison / r["run"] for r in json.loads(listing.read_text())["runs"]]
        write_comparison(comparison, run_dirs, formats=["md", "html", *format_])
        _show_comparison(comparison)


def _show_comparison(folder: Path) -> None:
    rows = json.loads((folder / "results.json").read_text())["runs"]
    table = Table("model", "seed", "accuracy", "macro-F1", "weighted-F1", "train s", title="test split")
    for r in rows:
        table.add_row(r["model"], str(r["seed"]), f"{r['accuracy']:.4f}", f"{r['macro_f1']:.4f}",
                      f"{r['weighted_f1']:.4f}", f"{r['train_seconds']:.1f}")
    console.print(table)
    console.print(f"report: [bold]{folder / 'report.html'}[/] and {folder / 'report.md'}")


def main() -> None:
    app()
