"""The `emobench` command: a thin Typer shell over the Python API. Parse the options (generated from the
configuration where they set it), call the workflow, print the typed result it returns (reporting/console.py).

Heavy libraries are imported inside the commands that need them, so `emobench --help` starts fast.
Text from data (label names, texts, paths) is never read as rich markup.
"""
from __future__ import annotations

import signal

# the commands, in the order --help lists them
from . import run_commands  # noqa: F401  isort: skip
from . import suggest_commands  # noqa: F401  isort: skip
from . import model_commands  # noqa: F401  isort: skip
from . import study_commands  # noqa: F401  isort: skip
from .app import app
from .shell import click_errors, flag, terminate

__all__ = ["app", "click_errors", "flag", "main"]


def main() -> None:
    signal.signal(signal.SIGTERM, terminate)
    app()
