"""Adversarial case tables: bad inputs, bad arguments and hostile files (the "bad_inputs" table) and tampered run,
model, export, comparison and tuning folders, model bodies and cache entries (the "tampered" table), each case's outcome classified.

``harness`` holds what the tables share (workspaces, case types, classification, invokers, the HTTP service,
``run_cases``); ``helpers`` the words the cases are written in; each ``cases_*`` module one surface, with its
``cases()``. The test suite runs every case in-process (tests/test_bad_inputs.py, tests/test_tampered.py); as real
`emobench` processes, with a printed table:

    cd tests && ../.venv/bin/python -m adversarial [--table bad_inputs|tampered] [--group G]

Imported with ``tests/`` on ``sys.path`` (pytest's rootdir-based default import mode puts it there for the test
modules; ``python -m`` from ``tests/`` does too), so ``tiny_models`` is a top-level module here.
"""
from __future__ import annotations

import importlib

TABLES = {
    "bad_inputs": ("cases_data_files", "cases_encodings_and_label_columns", "cases_options", "cases_runs",
                   "cases_evaluate", "cases_compare", "cases_models", "cases_scoring", "cases_serving", "cases_exports",
                   "cases_tuning", "cases_budgets_and_label_issues", "cases_suggest", "cases_distill", "cases_stack",
                   "cases_review"),
    "tampered": ("cases_tampered_models", "cases_tampered_runs", "cases_tampered_exports", "cases_tampered_comparisons",
                 "cases_tampered_tuning", "cases_tampered_bodies_and_cache"),
}


def case_module(name: str):
    """A case module by its name (``cases_serving``)."""
    return importlib.import_module(f"{__name__}.{name}")


def cases(table: str) -> list:
    """Every case of a table, module by module."""
    return [case for name in TABLES[table] for case in case_module(name).cases()]
