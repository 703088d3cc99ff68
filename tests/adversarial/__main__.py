"""Every case of the adversarial tables, classified, with a summary table; exit 1 if any case failed.

    cd tests && ../.venv/bin/python -m adversarial                                  # both tables
    cd tests && ../.venv/bin/python -m adversarial --table bad_inputs --group serve,export
    cd tests && ../.venv/bin/python -m adversarial --table tampered -k "export:"

bad_inputs: every case as a real `emobench` process; the HTTP cases against `emobench serve` as a process.
tampered: in this process (the CLI through typer's runner, the Predictor, the service's test client), since the
audit hook on ``open`` sees the opens of its own process only.
Each table builds its workspace in a temporary folder (removed unless --keep); no result file is written.
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import TABLES, case_module
from .harness import (FAILURES, ProcessService, build_bad_inputs_workspace, build_tampered_workspace, cli_invoker,
                      run_cases, subprocess_invoker, summary)

COLUMNS = ["clear error", "correct", *FAILURES]


def print_table(title: str, rows: list[dict], columns: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns, title=title)
    for row in rows:
        table.add_row(*["" if row.get(c) is None else str(row.get(c)) for c in columns])
    console = Console()
    if not console.is_terminal:  # logged to a file: wide enough that no column is cut
        console = Console(width=200)
    console.print(table)


def selected(table: str, groups: set[str] | None, name_part: str | None) -> list[tuple[str, list]]:
    """(module, its chosen cases) for each case module of ``table`` with a case of ``groups`` whose name holds
    ``name_part``."""
    out = []
    for module in TABLES[table]:
        chosen = [c for c in case_module(module).cases()
                  if (groups is None or c.group in groups) and (name_part is None or name_part in c.name)]
        if chosen:
            out.append((module, chosen))
    return out


def run_modules(ws, invoke, modules: list[tuple[str, list]], service=None) -> list[dict]:
    results = []
    for module, chosen in modules:
        print(f"-- {module} ({len(chosen)} cases)", flush=True)
        rows = run_cases(ws, invoke, chosen, log=lambda line: print(line, flush=True), service=service,
                         prefix=f"{module.removeprefix('cases_')}-")
        results += [{"surface": module.removeprefix("cases_"), **row} for row in rows]
    return results


def bad_inputs(root: Path, modules: list[tuple[str, list]]) -> list[dict]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    invoke = subprocess_invoker(env)
    started = time.perf_counter()
    ws = build_bad_inputs_workspace(root, lambda args: invoke(args))
    built = time.perf_counter() - started
    service = ProcessService(ws, env) if any(c.kind == "http" for _, chosen in modules for c in chosen) else None
    started = time.perf_counter()
    try:
        results = run_modules(ws, invoke, modules, service)
    finally:
        if service is not None:
            service.close()
    report(f"{len(results)} bad inputs through the CLI, the HTTP service and several processes "
           f"({time.perf_counter() - started:.0f} s, workspace {built:.0f} s)", results, ("surface", "group"))
    return results


def tampered(root: Path, modules: list[tuple[str, list]]) -> list[dict]:
    from emobench.logs import configure

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("EMOBENCH_CACHE", str(root / "cache"))  # the static family's distillations stay in the workspace
    configure("warning")
    logging.getLogger("emobench").setLevel(logging.WARNING)
    invoke = cli_invoker()
    started = time.perf_counter()
    ws = build_tampered_workspace(root, invoke)
    built = time.perf_counter() - started
    started = time.perf_counter()
    results = run_modules(ws, invoke, modules)
    report(f"{len(results)} tampered folders ({time.perf_counter() - started:.0f} s, workspace {built:.0f} s)", results,
           ("surface", "group", "via", "mode"))
    return results


def report(title: str, results: list[dict], keys: tuple[str, ...]) -> None:
    rows = []
    for key in keys:
        for value in sorted({r[key] for r in results}):
            subset = [r for r in results if r[key] == value]
            rows.append({"by": f"{key}: {value}", "cases": len(subset),
                         **{o: sum(r["outcome"] == o for r in subset) for o in COLUMNS}})
    counts = summary(results)
    rows.append({"by": "all", "cases": len(results), **{o: counts.get(o, 0) for o in COLUMNS}})
    print_table(title, rows, ["by", "cases", *COLUMNS])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m adversarial", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", choices=sorted(TABLES), default=None, help="one table (default: both)")
    parser.add_argument("--group", default=None, help="only the cases of these groups (comma-separated)")
    parser.add_argument("-k", default=None, help="only cases whose name contains this")
    parser.add_argument("--keep", action="store_true", help="keep the workspace folders")
    args = parser.parse_args()
    groups = set(args.group.split(",")) if args.group else None
    tables = [args.table] if args.table else list(TABLES)
    plan = {table: selected(table, groups, args.k) for table in tables}
    if not any(plan.values()):
        known = sorted({c.group for table in tables for module in TABLES[table] for c in case_module(module).cases()})
        sys.exit(f"no case matches --group {args.group} -k {args.k} (groups: {', '.join(known)})")
    failed = False
    for table, modules in plan.items():
        if not modules:
            continue
        root = Path(tempfile.mkdtemp(prefix=f"emobench-{table.replace('_', '-')}-"))
        results = {"bad_inputs": bad_inputs, "tampered": tampered}[table](root, modules)
        failed = failed or any(r["outcome"] in FAILURES for r in results)
        if args.keep:
            print("workspace:", root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
