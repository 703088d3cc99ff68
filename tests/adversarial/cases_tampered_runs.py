"""Tampered run folders, through `evaluate`, `compare` and the service's model card: metrics, predictions,
configuration, history and environment files edited, reordered, removed or nested deep."""
from __future__ import annotations

import re
from pathlib import Path

from .harness import TamperedCase as Case
from .helpers import both, deep, field_of, flip_prediction, json_edit, predictions_rows, raw, service


def _swap_rows(rows: list[str]) -> list[str]:
    """Two rows exchanged, the index column renumbered so each file looks consistent on its own."""
    rows = list(rows)
    rows[0], rows[1] = rows[1], rows[0]
    return [re.sub(r"^\d+,", f"{i},", row) for i, row in enumerate(rows)]


def compare_with(other: str):
    """`compare_runs` of the workspace's run ``other`` and the copy (the workspace is 2 levels above the case
    folder)."""
    def call(folder: Path, allow: bool):
        from emobench.experiments.study import compare_runs

        ws_root = folder.parents[2]
        return compare_runs([ws_root / other, folder], folder.parent / "out", allow_modified=allow)
    return call


def cases() -> list[Case]:
    c: list[Case] = []
    # -------- run folders: evaluate, compare, the service's model card
    c += [
        Case("run: metrics.json accuracy edited (manifest)", "run", "runs/tfidf",
             json_edit("metrics.json", lambda d: d["splits"]["test"].__setitem__("accuracy", 0.5)), "cli",
             ["compare", "{f}", "{ws}/runs/lstm", "-o", "{f}/..", "--name", "out"], mode="manifest",
             message=r"metrics\.json: .*(sha256 differs|bytes, but)"),
        Case("run: metrics.json accuracy edited", "run", "runs/lstm",
             json_edit("metrics.json", lambda d: d["splits"]["test"].__setitem__("accuracy", 0.99)), "api",
             call=compare_with("runs/tfidf"), message=r"metrics\.json: field splits\.test\.accuracy: 0\.99 recorded, but the predictions"),
        Case("run: metrics.json macro-F1 edited (no manifest)", "run", "runs/lstm",
             json_edit("metrics.json", lambda d: d["splits"]["test"]["macro"].__setitem__("f1", 0.99)), "cli",
             ["compare", "{ws}/runs/tfidf", "{f}", "-o", "{f}/..", "--name", "out"], mode="legacy",
             message=r"metrics\.json: field splits\.test\.macro\.f1: 0\.99 recorded"),
        Case("run: test predictions with rows missing", "run", "runs/tfidf", predictions_rows("test", lambda r: r[:-3]), "cli",
             ["compare", "{f}", "{ws}/runs/lstm", "-o", "{f}/..", "--name", "out"],
             message=r"test\.csv: field rows: .* rows, but the test split has"),
        Case("run: test predictions reordered", "run", "runs/tfidf", predictions_rows("test", _swap_rows), "api",
             call=compare_with("runs/lstm"), message=r"test\.csv: field text, label: the texts and labels are not the test split's"),
        Case("run: test predictions reordered, no digests (emobench 0.2)", "run", "runs/tfidf",
             both(predictions_rows("test", _swap_rows), json_edit("data.json", lambda d: d.pop("split_digests"))), "cli",
             ["compare", "{f}", "{ws}/runs/lstm", "-o", "{f}/..", "--name", "out"], mode="legacy",
             message=r"not the same texts with the same labels in the same order"),
        Case("run: a prediction changed", "run", "runs/tfidf", predictions_rows("test", flip_prediction), "api",
             call=compare_with("runs/lstm"), message=r"test\.csv, row 0: the prediction is not the most probable label"),
        Case("run: index column broken", "run", "runs/tfidf",
             predictions_rows("test", lambda r: [re.sub(r"^0,", "7,", r[0]), *r[1:]]), "cli",
             ["compare", "{f}", "{ws}/runs/lstm", "-o", "{f}/..", "--name", "out"], message=r"test\.csv, line 2: index '7', expected 0"),
        Case("run: data.json labels renamed", "run", "runs/tfidf",
             json_edit("data.json", lambda d: d.__setitem__("labels", ["a", "b", "c"])), "cli", ["evaluate", "{f}"],
             message=r"metrics\.json: field splits\.validation\.per_class: labels .* but data\.json says"),
        Case("run: config.json seed a string", "run", "runs/tfidf", field_of("config.json", "seed", "0"), "cli", ["evaluate", "{f}"],
             message=r"config\.json: field seed: Input should be a valid integer"),
        Case("run: history.json epoch 0", "run", "runs/lstm", json_edit("history.json", lambda d: d[0].__setitem__("epoch", 0)),
             "cli", ["evaluate", "{f}"], message=r"history\.json: field \[0\]\.epoch"),
        Case("run: environment.json removed (no manifest)", "run", "runs/tfidf", lambda f, ws: (f / "environment.json").unlink(),
             "cli", ["evaluate", "{f}"], mode="legacy", message=r"environment\.json: the run environment is missing"),
        Case("run: environment.json removed (manifest)", "run", "runs/tfidf", lambda f, ws: (f / "environment.json").unlink(),
             "cli", ["evaluate", "{f}"], mode="manifest", message=r"environment\.json: listed in .*MANIFEST\.json but missing"),
        Case("run: metrics.json nested 10,000 deep", "run", "runs/tfidf", deep("metrics.json"), "cli", ["evaluate", "{f}"],
             message=r"metrics\.json: the run metrics is JSON nested too deeply"),
        Case("run: metrics edited, seen by the service", "run", "runs/tfidf",
             json_edit("metrics.json", lambda d: d["splits"]["test"].__setitem__("accuracy", 0.123)), "service", call=service,
             message=r"metrics\.json: field splits\.test\.accuracy: 0\.123 recorded"),
        Case("run: a report-like file added, allowed", "run", "runs/tfidf", raw("notes.txt", "my notes"), "cli",
             ["evaluate", "{f}"], mode="manifest", expect="ok", check=lambda out: None if "macro avg" in out else "no report"),
    ]
    return c
