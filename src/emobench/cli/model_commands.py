"""Commands about a saved model: `predict`, `explain`, `export`, `serve`, `models`."""
from __future__ import annotations

import contextlib
import enum
import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ..errors import EmobenchError
from ..logs import logger
from .app import app
from .options import AllowModifiedOpt, QuietOpt
from .shell import console, escape, explicit, number, say, show, user_errors


def _check_argument_text(text: str, number: int) -> None:
    """A command-line text that is not valid UTF-8 arrives with surrogate escapes: refused, never half-printed."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EmobenchError(f"text {number}: byte {text[exc.start].encode('utf-8', 'surrogateescape')!r} at character "
                            f"{exc.start} is not valid UTF-8; expected UTF-8 text") from None


def _texts_from_file(file: Path, text_column: str, encoding: str) -> list[str]:
    """The texts of a --file, read as batch scoring reads them (one reader for every route)."""
    from ..serving.scoring import INPUTS, text_rows

    if file.suffix.lower() not in INPUTS:
        raise EmobenchError(f"{file}: expected a {', '.join(INPUTS)} file of texts")
    if not file.is_file():
        raise EmobenchError(f"{file}: file not found")
    return [text for number, _, text in text_rows(file, text_column, encoding) if number]


def _file_options(ctx, file: Path | None) -> None:
    """--text-column and --encoding read a --file: without one, or --text-column of a .txt (one text per line, no
    columns), they would be silently ignored."""
    if file is None:
        given = [p for p in ("text_column", "encoding") if explicit(ctx, p)]
        if given:
            raise EmobenchError(f"--{given[0].replace('_', '-')} applies to --file")
    elif file.suffix.lower() == ".txt" and explicit(ctx, "text_column"):
        raise EmobenchError(f"--text-column applies to a CSV, TSV or JSONL --file; {file.name} is one text per line")


class Backend(str, enum.Enum):
    auto = "auto"
    torch = "torch"
    onnx = "onnx"


@app.command()
def predict(
    ctx: typer.Context,
    run: Path = typer.Argument(..., help="a run directory, a saved model directory or an ONNX export"),
    texts: list[str] = typer.Argument(None, help="texts to classify"),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="texts: one per line (.txt), or a CSV/TSV/JSONL column"),
    text_column: str = typer.Option("text", help="the text column of a CSV/TSV/JSONL --file"),
    as_json: bool = typer.Option(False, "--json", help="print JSON lines"),
    output: Optional[Path] = typer.Option(None, "--output", "-O",
                                          help="score --file into this .csv or .jsonl file, streaming (any file size)"),
    backend: Backend = typer.Option(Backend.auto, help="auto: ONNX for an export folder, else the model's own code"),
    engine: str = typer.Option("local", help="with --output: local, or ray (Ray Data, one model per worker)"),
    ray_address: Optional[str] = typer.Option(None, help="with --engine ray: a cluster address (default: a local Ray)"),
    ray_workers: int = number(1, "--ray-workers", low=1, high=4096, help="with --engine ray: scoring workers"),
    chunk_size: int = number(1024, "--chunk-size", low=1, high=1_000_000, help="with --output: texts per chunk"),
    encoding: str = typer.Option("utf-8", help="text encoding of --file"),
    allow_modified: bool = AllowModifiedOpt,
    quiet: bool = QuietOpt,
):
    """Print the label and the probability of every class for each text, or score a file (--output)."""
    with user_errors():
        if output is not None:
            if texts or not file or as_json:
                raise EmobenchError("--output scores a --file; give no texts as arguments and no --json")
            stray = [p for p in ("ray_address", "ray_workers") if explicit(ctx, p)]
            if engine != "ray" and stray:
                raise EmobenchError(f"--{stray[0].replace('_', '-')} applies to --engine ray")
            from ..serving.scoring import score_file

            _file_options(ctx, file)
            result = score_file(run, file, output, text_column=text_column, chunk_size=chunk_size, backend=backend.value,
                                progress=not quiet, engine=engine, ray_address=ray_address, ray_workers=ray_workers,
                                encoding=encoding, allow_modified=allow_modified)
            say(f"scored {result.texts} texts in {result.seconds:.1f} s ({result.texts_per_second or 0:.0f} texts/s, "
                f"{engine}) into {result.output}")
            return
        given = [p for p in ("engine", "ray_address", "ray_workers", "chunk_size") if explicit(ctx, p)]
        if given:
            raise EmobenchError(f"--{given[0].replace('_', '-')} applies to file scoring with --output")
        _file_options(ctx, file)
        items = _argument_texts(texts, "classify")
        if file:
            items += _texts_from_file(file, text_column, encoding)
        if not items:
            raise EmobenchError("no text given: pass texts as arguments or --file")
        _predict_texts(run, items, backend.value, as_json, allow_modified)


def _argument_texts(texts: list[str] | None, what: str) -> list[str]:
    items = list(texts or [])
    for i, text in enumerate(items, start=1):
        if not text.strip():
            raise EmobenchError(f"text {i} is empty; expected a text to {what}")
        _check_argument_text(text, i)
    return items


def _predict_texts(run: Path, items: list[str], backend: str, as_json: bool, allow_modified: bool) -> None:
    from ..reporting.console import predictions_view
    from ..serving import Predictor

    # Whatever a library prints while loading goes to standard error: --json output stays parseable.
    with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
        predictor = Predictor(run, backend, allow_modified)
        results = predictor.predict(items)
    if as_json:
        for r in results:
            print(json.dumps(r.dump(), ensure_ascii=False))
        return
    show(predictions_view(results, predictor.label_names, predictor.multi_label))


@app.command()
def explain(
    run: Path = typer.Argument(..., help="a run directory, a saved model directory or an ONNX export"),
    texts: list[str] = typer.Argument(..., help="texts to explain"),
    label: Optional[str] = typer.Option(None, "--label", help="explain this label (default: the predicted one)"),
    html_out: Optional[Path] = typer.Option(None, "--html", help="also write the explanations as an HTML page"),
    as_json: bool = typer.Option(False, "--json", help="print JSON lines (tokens and scores)"),
    allow_modified: bool = AllowModifiedOpt,
):
    """Which words made the model say it: per-token attributions (Integrated Gradients for the LSTM and
    transformers, coefficient x tf-idf weight for tfidf, occlusion -- each word left out in turn -- for ONNX exports,
    stacks and static embeddings). Piped, each token is written with its score: token[+0.12]."""
    with user_errors():
        from dataclasses import asdict

        from ..experiments.explain import explain as explain_run
        from ..reporting.explanations import to_plain, to_rich

        _argument_texts(texts, "explain")
        explanations = explain_run(run, texts, label, html_out=html_out, allow_modified=allow_modified,
                                   quiet_stdout=as_json)
        if as_json:
            for e in explanations:
                print(json.dumps(asdict(e), ensure_ascii=False))
        elif console.is_terminal:
            for e in explanations:
                console.print(to_rich(e), end="")
                say(f"-> {e.label} ({e.probability:.2f}; {e.method})")
        else:  # piped: colours would be dropped, and the attributions with them; each token's score is written out
            for e in explanations:
                print(f"{to_plain(e)} -> {e.label} ({e.probability:.2f}; {e.method})")
        if html_out is not None:
            say(f"explanations written to {html_out}")


@app.command()
def export(
    run: Path = typer.Argument(..., help="a run directory"),
    format_: str = typer.Option("onnx", "--format", help="onnx"),
    quantize: Optional[str] = typer.Option(None, help="int8: also a statically quantised graph, served by default (QDQ, "
                                                      "calibrated on training texts; what it gains in size and speed "
                                                      "is measured and said, a graph gaining neither warned of)"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="export folder (default: RUN-onnx beside the run)"),
    allow_modified: bool = AllowModifiedOpt,
):
    """Export a run's model to ONNX (transformers, both LSTMs), checked on the run's test split."""
    with user_errors():
        from ..experiments.export import export_run

        if format_ != "onnx":
            raise EmobenchError(f"--format {format_!r}: expected onnx")
        record = export_run(run, output, quantize, allow_modified=allow_modified)
        for kind, scores in record.scores.items():
            agreement = f", agreement with PyTorch {scores.agreement:.4f}" if scores.agreement is not None else ""
            say(f"{kind}: accuracy {scores.accuracy:.4f}, macro-F1 {scores.macro_f1:.4f}{agreement}")
        gains = record.quantization or {}
        if "size_ratio" in gains:
            say(f"int8 against fp32: {gains['size_ratio']:.2f}x the size, {gains['speedup']:.2f}x the texts a second "
                "on this CPU (batch 64)")
        say(f"exported to {record.folder} (checks passed on {record.examples} {record.check_split} texts)")


@app.command()
def serve(
    run: Path = typer.Argument(..., help="a run directory, a saved model directory or an ONNX export"),
    host: str = typer.Option("127.0.0.1", help="interface to listen on"),
    port: int = number(8000, "--port", low=1, high=65535, help="port"),
    backend: Backend = typer.Option(Backend.auto, help="auto: ONNX for an export folder, else the model's own code"),
    max_texts: int = number(64, "--max-texts", low=1, high=100_000, help="most texts in one request"),
    max_chars: int = number(10_000, "--max-chars", low=1, high=1_000_000, help="longest text, in characters"),
    max_batch: int = number(64, "--max-batch", low=1, high=100_000, help="most texts predicted together (requests are batched)"),
    batch_wait_ms: float = number(5.0, "--batch-wait-ms", kind=float, low=0, high=10_000, what="milliseconds",
                                  help="how long a batch waits for more requests, in milliseconds (at most 10 s)"),
    allow_modified: bool = AllowModifiedOpt,
):
    """Serve a model over HTTP: POST /predict, GET /health, GET /model, docs at /docs."""
    with user_errors():
        from ..serving.service import ServiceSettings, serve as run_server

        run_server(run, host, port, backend.value, ServiceSettings(max_texts, max_chars, max_batch, batch_wait_ms),
                   log_level=_uvicorn_level(), allow_modified=allow_modified)


def _uvicorn_level() -> str:
    """uvicorn's start-up and access lines are library chatter: at --log-level debug only (emobench says where it
    listens itself)."""
    import logging

    return "debug" if logger.isEnabledFor(logging.DEBUG) else "warning"


@app.command()
def review(
    audit: Path = typer.Argument(..., help="a saved label-issues audit (data audit --label-issues --json FILE) or a "
                                           "comparison's label_issues.json"),
    host: str = typer.Option("127.0.0.1", help="interface to listen on"),
    port: int = number(8000, "--port", low=1, high=65535, help="port"),
):
    """Fix labels in the browser: go through an audit's flagged texts, least likely first; keep each label, accept the
    suggestion or pick another. Decisions are saved as they are made to AUDIT.corrections.json (train on them with
    --label-corrections); a review resumes where it stopped."""
    with user_errors():
        from ..serving.review import serve_review

        serve_review(audit, host, port, log_level=_uvicorn_level())


@app.command()
def models():
    """List the model names."""
    from ..models import available_models

    table = Table("name", "description")
    for name, description in available_models().items():
        table.add_row(name, escape(description))
    table.add_row("hf:<id or dir>", "any Hugging Face encoder, fine-tuned for sequence classification")
    console.print(table)
