"""The `emobench` command and its `data` group, with the options every command takes (--log-level, --threads)."""
from __future__ import annotations

import enum
from typing import Optional

import typer

from .shell import EmobenchGroup, OptionValueError

app = typer.Typer(help="Text emotion recognition: audit datasets, train and compare models, predict.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False, cls=EmobenchGroup,
                  rich_markup_mode=None)  # help texts are literal: "{target: [source, ...]}" is not markup
data_app = typer.Typer(help="Inspect datasets.", no_args_is_help=True, cls=EmobenchGroup)
app.add_typer(data_app, name="data")


class LogLevel(str, enum.Enum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


def _print_version(given: bool) -> None:
    if given:  # while the options are read, before a command is required
        from .. import __version__

        typer.echo(f"emobench {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=lambda given: _print_version(given),
                                 help="print emobench's version and exit"),
    log_level: LogLevel = typer.Option(LogLevel.info, "--log-level", case_sensitive=False,
                                       help="how much to log on standard error; library messages show only at debug"),
    threads: Optional[str] = typer.Option(None, "--threads",
                                          help="threads for torch and ONNX Runtime: a number, or all (default: all the cores "
                                               "this process may use, whatever the load; recorded in each run)"),
):
    import os

    from ..logs import configure

    configure(log_level.value)
    if threads is not None:
        chosen = threads.strip()
        if chosen.lower() != "all" and not (chosen.isascii() and chosen.isdigit() and 1 <= int(chosen) <= 4096):
            raise OptionValueError(f"--threads {threads!r}: expected a number of threads from 1 to 4,096, or all")
        os.environ["EMOBENCH_THREADS"] = threads
