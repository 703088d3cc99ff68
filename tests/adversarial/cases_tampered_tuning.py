"""Tampered tuning folders, continued: an emptied, garbage or truncated ``study.db``, trials injected through
Optuna's own API, an edited ledger or search space."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from .harness import TamperedCase as Case  # the table's one case type
from .harness import Workspace
from .helpers import both, deep, json_edit, raw, truncate


def inject_trial(params: dict, value: float):
    """A trial written into study.db by something other than emobench (Optuna's own API)."""
    def edit(folder: Path, ws: Workspace) -> None:
        import optuna

        study = optuna.load_study(study_name="emobench", storage=f"sqlite:///{folder / 'study.db'}")
        distributions = dict(study.trials[0].distributions)
        if not distributions["C"]._contains(distributions["C"].to_internal_repr(params["C"])):
            distributions["C"] = optuna.distributions.FloatDistribution(1e-3, 1e3, log=True)  # a C outside the space
        study.add_trial(optuna.trial.create_trial(params=params, distributions=distributions, value=value))
    return edit


def empty_study(folder: Path, ws: Workspace) -> None:
    """Every trial deleted from study.db with SQL."""
    with sqlite3.connect(folder / "study.db") as db:
        db.execute("DELETE FROM trial_values")
        db.execute("DELETE FROM trial_params")
        db.execute("DELETE FROM trials")


def continue_tuning(folder: Path, allow: bool):
    """The copied study continued to 4 trials through the API (the workspace is 2 levels above the case folder)."""
    from emobench.data import DatasetConfig
    from emobench.experiments.tune import TuneConfig, tune

    ws_root = folder.parents[2]
    return tune(TuneConfig(model="tfidf", trials=4, dataset=DatasetConfig(name="emotion", data_dir=str(ws_root / "data")),
                           output_dir=str(folder.parent), name=folder.name), progress=False, allow_modified=allow)


def cases() -> list[Case]:
    c: list[Case] = []
    # -------- tuning folders, continued
    tu = "tuning/t"
    c += [
        Case("tuning: study.db emptied (manifest)", "tuning", tu, empty_study, "api", call=continue_tuning, mode="manifest",
             message=r"study\.db: .*(sha256 differs|bytes, but)"),
        Case("tuning: study.db emptied", "tuning", tu, empty_study, "api", call=continue_tuning,
             message=r"study\.db: emobench ran trial\(s\) 0, 1, 2 here, but the database no longer holds them"),
        Case("tuning: an injected best trial", "tuning", tu,
             inject_trial({"C": 0.3, "word_ngram_max": 1, "char_ngram_max": 0, "classifier": "svm", "class_weight": None}, 9.0),
             "api", call=continue_tuning, message=r"study\.db: trial 3 .* was not run by emobench"),
        Case("tuning: an injected trial, no ledger (emobench 0.2)", "tuning", tu,
             both(lambda f, ws: (f / "ledger.json").unlink(), inject_trial({"C": 50.0, "word_ngram_max": 1, "char_ngram_max": 0,
                                                                            "classifier": "svm", "class_weight": None}, 9.0)),
             "api", call=continue_tuning, mode="legacy", message=r"study\.db: trial 3 sets C outside the search space"),
        Case("tuning: a ledger entry changed", "tuning", tu,
             json_edit("ledger.json", lambda d: d["trials"][1].__setitem__("value", 0.123)), "api", call=continue_tuning,
             message=r"study\.db: trial 1 differs from what emobench recorded"),
        Case("tuning: study.db garbage", "tuning", tu, raw("study.db", b"garbage" * 100), "cli",
             ["tune", "--model", "tfidf", "--trials", "4", "--data-dir", "{ws}/data", "-o", "{f}/..", "--name", "t", "-q"],
             message=r"study\.db: not an SQLite database"),
        Case("tuning: study.db truncated", "tuning", tu, truncate("study.db", 0.3), "api", call=continue_tuning,
             message=r"study\.db: (the SQLite database|Optuna cannot use)"),
        Case("tuning: ledger.json nested deep", "tuning", tu, deep("ledger.json"), "api", call=continue_tuning,
             message=r"ledger\.json: the trial ledger is JSON nested too deeply"),
        Case("tuning: tune.json space changed", "tuning", tu,
             json_edit("tune.json", lambda d: d["space"].__setitem__("C", ["float-log", 1.0, 2.0])), "cli",
             ["tune", "--model", "tfidf", "--trials", "4", "--data-dir", "{ws}/data", "-o", "{f}/..", "--name", "t", "-q"],
             message=r"t tunes another configuration \(space differ\)"),
    ]
    return c
