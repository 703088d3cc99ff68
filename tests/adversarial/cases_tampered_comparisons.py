"""Tampered comparison folders, through `report` and the reuse of a comparison's runs by `compare`."""
from __future__ import annotations

from pathlib import Path

from .harness import TamperedCase as Case  # the table's one case type
from .harness import Workspace
from .helpers import deep, field_of, flip_prediction, json_edit, predictions_rows, raw


def swap_run(folder: Path, ws: Workspace) -> None:
    """A comparison's first run replaced by another finished run (named by its absolute folder)."""
    json_edit("results.json", lambda d: d["runs"][0].__setitem__("run", str((ws.root / "runs" / "lstm").resolve())))(folder, ws)


def cases() -> list[Case]:
    c: list[Case] = []
    # -------- comparisons, through `report` and compare's reuse
    cm = "cmp/study"
    c += [
        Case("comparison: results.json accuracy edited (manifest)", "comparison", cm,
             json_edit("results.json", lambda d: d["runs"][0].__setitem__("accuracy", 0.99)), "cli", ["report", "{f}"],
             mode="manifest", message=r"results\.json: .*(sha256 differs|bytes, but)"),
        Case("comparison: results.json accuracy edited", "comparison", cm,
             json_edit("results.json", lambda d: d["runs"][0].__setitem__("accuracy", 0.99)), "cli", ["report", "{f}"],
             message=r"results\.json: field runs\[0\]: the scores \(0\.99"),
        Case("comparison: a run path ../outside", "comparison", cm,
             json_edit("results.json", lambda d: d["runs"][0].__setitem__("run", "../../outside")), "cli", ["report", "{f}"],
             message=r"results\.json: field runs\[0\]\.run: '\.\./\.\./outside': expected a file name inside the folder"),
        Case("comparison: a run swapped for another", "comparison", cm, swap_run, "cli", ["report", "{f}"],
             message=r"results\.json: field runs\[0\]"),
        Case("comparison: a run's predictions edited", "comparison", cm,
             lambda f, ws: predictions_rows("test", flip_prediction)(f / "runs" / "tfidf-s0", ws), "cli", ["report", "{f}"],
             mode="manifest", message=r"runs/tfidf-s0/predictions/test\.csv: .*(sha256 differs|bytes, but)"),
        Case("comparison: results.json nested deep", "comparison", cm, deep("results.json"), "cli", ["report", "{f}"],
             message=r"results\.json: the comparison results is JSON nested too deeply"),
        Case("comparison: results.json rows a string", "comparison", cm, field_of("results.json", "runs", "all"), "cli",
             ["report", "{f}"], message=r"results\.json: field runs: Input should be a valid list"),
        Case("comparison: report.md edited, re-rendered", "comparison", cm, raw("report.md", "# mine"), "cli", ["report", "{f}"],
             mode="manifest", expect="ok", check=lambda out: None if "report:" in out else "not re-rendered"),
        Case("comparison: a run's metrics edited, compare continued", "comparison", cm,
             lambda f, ws: json_edit("metrics.json", lambda d: d.__setitem__("train_seconds", 0.0))(f / "runs" / "tfidf-s0", ws),
             "cli", ["compare", "--models", "tfidf", "--data-dir", "{ws}/data", "-o", "{f}/..", "--name", "study", "-q"],
             mode="manifest", message=r"tfidf-s0/metrics\.json: .*(sha256 differs|bytes, but)"),
    ]
    return c
