"""Shared by the benchmark scripts: the results file (machine, versions, date; only the newest per benchmark is
kept) and a printed table."""
from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from emobench.environment import machine_info, versions

RESULTS = Path(__file__).parent / "results"


def write_results(name: str, rows: list[dict], **extra) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps({"benchmark": name, "machine": machine_info(), "versions": versions(),
                                "rows": rows, **extra}, indent=2))
    for older in RESULTS.glob(f"{name}-2*.json"):  # the newest result of each benchmark; older ones live in git history
        if older != path:
            older.unlink()
    return path


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, list):
        return "[" + ", ".join(_cell(v) for v in value) + "]"
    return "" if value is None else str(value)


def print_table(title: str, rows: list[dict], columns: list[str]) -> None:
    table = Table(*columns, title=title)
    for row in rows:
        table.add_row(*[_cell(row.get(c)) for c in columns])
    console = Console()
    if not console.is_terminal:  # logged to a file: wide enough that no column is cut
        console = Console(width=200)
    console.print(table)
