"""`data suggest`: which texts to label next, by a saved model's uncertainty and the texts' diversity."""
from __future__ import annotations

import enum
from pathlib import Path
from typing import Optional

import typer

from ..errors import EmobenchError
from .app import data_app
from .options import AllowModifiedOpt, QuietOpt, dataset_config, dataset_options
from .shell import SEED, console, escape, number, say, user_errors

# The dataset options that say how a file of texts is read (its labels, splits and budgets do not apply).
READING = ("text_column", "no_header", "encoding", "data_format", "drop_placeholders")


class Strategy(str, enum.Enum):
    diverse = "diverse"
    margin = "margin"
    entropy = "entropy"
    random = "random"


@data_app.command("suggest")
@dataset_options(names=READING)
def data_suggest(
    ctx: typer.Context,
    unlabeled: Path = typer.Option(..., "--unlabeled", help="the texts without labels: TXT (one per line), or a "
                                   "CSV/TSV/JSONL text column (--text-column)"),
    model: Path = typer.Option(..., "--model", "-m", help="a run directory, saved model directory or ONNX export that "
                               "scores them"),
    n: int = number(50, "-n", low=1, high=10**9, help="how many texts to suggest"),
    strategy: Strategy = typer.Option(Strategy.diverse, "--strategy", help="diverse: the most uncertain texts (margin), "
                                      "spread by k-means so no two are alike (default); margin or entropy: the most "
                                      "uncertain alone; random: the control"),
    seed: int = number(0, "--seed", **SEED, help="seed of the k-means and of random"),
    output: Optional[Path] = typer.Option(None, "--output", "-O", help="also write a CSV to label (rank, text, an "
                                          "empty label column, the prediction, its probability, the score)"),
    force: bool = typer.Option(False, "--force", help="replace an existing --output file"),
    allow_modified: bool = AllowModifiedOpt,
    quiet: bool = QuietOpt,
    **data,
):
    """The texts whose labels would help the model most: the ones it is least sure of, unlike each other (uncertainty
    and diversity, the standard active-learning criteria). A text repeated in the file is suggested once."""
    with user_errors():
        from ..experiments.suggest import suggest

        if force and output is None:
            raise EmobenchError("--force replaces an existing --output file; give --output")
        config = dataset_config(ctx, str(unlabeled), data)
        if config.encodings:
            raise EmobenchError("--encoding: one encoding for the --unlabeled file (not split=ENCODING)")
        result = suggest(model, unlabeled, n, strategy.value, seed=seed, output=output, force=force,
                         allow_modified=allow_modified, text_column=config.text_column, header=config.header,
                         encoding=config.encoding, data_format=config.data_format,
                         drop_placeholders=config.drop_placeholders)
        _print(result, quiet)
        if output is not None:
            say(f"{len(result.suggestions)} suggestions written to {output} (fill in the label column)")


def _print(result, quiet: bool) -> None:
    from rich.table import Table

    table = Table("rank", "text", "predicted", "probability", result.score)
    for s in result.suggestions:
        text = s.text if len(s.text) <= 80 else s.text[:77] + "..."
        table.add_row(str(s.rank), escape(text), escape(", ".join(s.predicted)), f"{s.probability:.3f}", f"{s.score:.3f}")
    console.print(table)
    if not quiet:
        say(f"{len(result.suggestions)} of {result.distinct} distinct texts ({result.texts} read) by {result.strategy}, "
            f"from {result.pool} candidates; {result.score} uncertainty: 1 = the model cannot decide, 0 = certain")
    for note in result.notes:
        say(f"note: {note}")
