"""The tuning folder: ``tune.json`` (what was asked), ``study.db`` (Optuna's SQLite storage), ``ledger.json``
(every trial emobench ran and finished, written as each one ends), ``trials.json`` / ``trials.csv``,
``summary.md``, ``best_params.json``, ``importance.png``, ``best/`` (the best configuration as an ordinary
run) and ``MANIFEST.json``.

A study is continued only with the trials emobench ran: a trial in ``study.db`` that the ledger does not
hold (injected), one whose parameters or score differ from the ledger's, one outside the search space, or a
ledger trial missing from the database (an emptied or replaced ``study.db``) is an error.
"""
from __future__ import annotations

import csv
import io
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ..errors import RecordError
from ..files import json_text, write_text_atomic
from ..manifest import Folder
from .base import AnyDict, Count, Finite, Name, OpenRecord, Record, check, shorten, validate
from .run import DatasetRecord, RunRecord

TUNE, STUDY_DB, LEDGER, TRIALS, TRIALS_CSV = "tune.json", "study.db", "ledger.json", "trials.json", "trials.csv"
SUMMARY, BEST_PARAMS, IMPORTANCE = "summary.md", "best_params.json", "importance.png"
SQLITE_MAGIC = b"SQLite format 3\x00"


class TuneDescription(Record):
    format: int = 2
    model: Name
    dataset: DatasetRecord
    seed: Count
    preset: str | None = None
    overrides: AnyDict = Field(default_factory=dict)
    space: dict[str, list]
    storage: str | None = None  # a shared study's database URL (password hidden); none: study.db in the folder
    study: str | None = None  # a shared study's name

    @model_validator(mode="after")
    def _dimensions(self):
        """Each dimension as `emobench tune` writes it: ["choice", [a, b, ...]] or [kind, low, high] (kind float, int,
        float-log or int-log; finite bounds, low < high, low > 0 on a log scale)."""
        for name, spec in self.space.items():
            if not dimension_ok(spec):
                raise ValueError(f"space.{name}: {shorten(spec)}; expected [\"choice\", [values]] or [kind, low, high] "
                                 "(kind float, int, float-log or int-log; low < high)")
        return self


def dimension_ok(spec) -> bool:
    if not isinstance(spec, list) or not spec:
        return False
    if spec[0] == "choice":
        return len(spec) == 2 and isinstance(spec[1], list) and len(spec[1]) > 0
    if spec[0] not in ("float", "int", "float-log", "int-log") or len(spec) != 3:
        return False
    low, high = spec[1], spec[2]
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (low, high))
    return numbers and low < high and (low > 0 or not spec[0].endswith("log"))




class LedgerEntry(Record):
    number: Count
    state: Literal["complete", "pruned"]
    params: AnyDict
    value: Finite | None = None


class Ledger(Record):
    trials: list[LedgerEntry] = Field(default_factory=list)


class TrialRow(OpenRecord):
    trial: Count
    state: str
    val_macro_f1: Finite | None = None
    params: AnyDict


class Trials(Record):
    trials: list[TrialRow]


def in_space(value, spec: list) -> bool:
    if spec[0] == "choice":
        return value in spec[1] or str(value) in [str(v) for v in spec[1]]
    return isinstance(value, int | float) and not isinstance(value, bool) and spec[1] <= value <= spec[2]


def check_study_db(path: Path) -> None:
    """A readable, intact SQLite database holding Optuna's tables, before Optuna opens it."""
    if not path.exists():
        return
    if path.is_symlink() or not path.is_file():
        raise RecordError(f"{path}: expected the study's SQLite database, found a symlink or a folder")
    with open(path, "rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head != SQLITE_MAGIC:
        raise RecordError(f"{path}: not an SQLite database (it is empty, truncated or replaced); the study cannot continue")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            status = db.execute("PRAGMA quick_check").fetchone()[0]
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.Error as exc:
        raise RecordError(f"{path}: the SQLite database cannot be read ({exc}); it is truncated or corrupt") from None
    if status != "ok":
        raise RecordError(f"{path}: the SQLite database is damaged ({status})")
    if not {"studies", "trials"} <= tables:
        raise RecordError(f"{path}: an SQLite database without Optuna's tables; not emobench's study")


def read_ledger(files: Folder) -> Ledger | None:
    """The ledger of a tuning folder already opened (and checked against its manifest) as ``files``."""
    if not files.has(LEDGER):
        return None
    return validate(Ledger, files.read_json(LEDGER, "trial ledger"), files.root / LEDGER)


def write_trials(folder: Path, rows: list[dict]) -> None:
    """trials.json and trials.csv: every trial of the study, its state, score and parameters."""
    write_text_atomic(folder / TRIALS, json_text({"trials": rows}))
    names = sorted({k for r in rows for k in r["params"]})
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["trial", "state", "val_macro_f1", "val_accuracy", "epochs", "seconds", "default", *names])
    for r in rows:
        writer.writerow([r["trial"], r["state"], r["val_macro_f1"], r["val_accuracy"], r["epochs"], r["seconds"],
                         r["default"], *[r["params"].get(n) for n in names]])
    write_text_atomic(folder / TRIALS_CSV, out.getvalue())


def write_summary(folder: Path, markdown: str, best_params: dict) -> None:
    write_text_atomic(folder / SUMMARY, markdown)
    write_text_atomic(folder / BEST_PARAMS, json_text(best_params))


def write_ledger(folder: Path, ledger: Ledger) -> None:
    write_text_atomic(folder / LEDGER, json_text(ledger.model_dump(mode="json")))


def check_trials(finished: list[tuple[int, str, dict, float | None]], ledger: Ledger, space: dict, where: Path,
                 failed: set[int] = frozenset()) -> None:
    """The study's finished trials (number, "complete"/"pruned", params, value) against the ledger and the space.
    ``failed``: trials the database holds as failed (killed after the ledger was written): they do not count."""
    recorded = {entry.number: entry for entry in ledger.trials}
    numbers = set()
    for number, state, params, value in finished:
        numbers.add(number)
        entry = recorded.get(number)
        if entry is None:
            raise RecordError(f"{where}: trial {number} ({state}, {params}) was not run by emobench (the ledger "
                              f"{LEDGER} does not hold it); the study was changed, so it cannot continue")
        same_value = (value is None and entry.value is None) or (
            value is not None and entry.value is not None and math.isclose(value, entry.value, rel_tol=0, abs_tol=1e-12))
        if state == "pruned" and entry.value is None:
            same_value = True  # ledgers before 0.3 left a pruned trial's value out; Optuna keeps its last reported one
        if entry.state != state or entry.params != params or not same_value:
            raise RecordError(f"{where}: trial {number} differs from what emobench recorded ({state} {params} {value} "
                              f"in the database, {entry.state} {entry.params} {entry.value} in {LEDGER})")
        outside = [k for k, v in params.items() if k not in space or not in_space(v, space[k])]
        if outside:
            raise RecordError(f"{where}: trial {number} sets {', '.join(outside)} outside the search space {space}")
    missing = sorted(set(recorded) - numbers - set(failed))
    if missing:
        raise RecordError(f"{where}: emobench ran trial(s) {', '.join(map(str, missing[:5]))} here, but the database no "
                          "longer holds them (emptied or replaced); the study cannot continue")


@dataclass
class TuningRecord:
    """A finished tuning folder: what was asked, the trials, and the best configuration's run."""

    folder: Path
    description: TuneDescription
    trials: Trials
    best: RunRecord

    def __fspath__(self) -> str:
        return str(self.folder)

    @property
    def summary(self) -> Path:
        return self.folder / SUMMARY

    @classmethod
    def load(cls, folder: str | Path, allow_modified: bool = False) -> "TuningRecord":
        folder = Path(folder)
        if not (folder / TUNE).is_file():
            raise RecordError(f"{folder}: not a tuning folder (no {TUNE})")
        files = Folder(folder, "tuning", allow_modified)
        description = validate(TuneDescription, files.read_json(TUNE, "tuning description"), folder / TUNE)
        trials = validate(Trials, files.read_json(TRIALS, "trials"), folder / TRIALS)
        ledger = read_ledger(files)
        files.path("best/MANIFEST.json", "best run's manifest", required=files.verified)
        record = cls(folder, description, trials, RunRecord.load(folder / "best", allow_modified))
        record._check(ledger)
        return record

    def _check(self, ledger: Ledger | None) -> None:
        """trials.json against the ledger (the trials emobench ran here, as each ended) and the search space, and the
        best run against the best trial: the table `emobench tune` prints and the run it names are the study's."""
        where = self.folder / TRIALS
        space, own = self.description.space, self.description.storage is None
        recorded = {entry.number: entry for entry in ledger.trials} if ledger is not None else None
        finished = {}
        for i, row in enumerate(self.trials.trials):
            check(row.trial not in finished, where, f"trials[{i}].trial", f"trial {row.trial} appears twice")
            if row.state not in ("complete", "pruned"):
                continue
            finished[row.trial] = row
            outside = [k for k, v in row.params.items() if k not in space or not in_space(v, space[k])]
            check(not outside, where, f"trials[{i}].params", f"{', '.join(map(str, outside))[:200]} outside the search "
                  f"space of {TUNE}")
            entry = recorded.get(row.trial) if recorded is not None else None
            if entry is None:
                check(recorded is None or not own, where, f"trials[{i}]", f"trial {row.trial} is not in {LEDGER}, the "
                      "trials emobench ran here")
                continue
            if row.state == "pruned" and (row.val_macro_f1 is None or entry.value is None):
                same_value = True  # ledgers before 0.3 left a pruned trial's value out
            else:
                same_value = row.val_macro_f1 is not None and entry.value is not None and math.isclose(
                    row.val_macro_f1, entry.value, rel_tol=0, abs_tol=1e-12)
            check(entry.state == row.state and entry.params == row.params and same_value, where, f"trials[{i}]",
                  f"trial {row.trial} ({row.state}, {shorten(row.params)}, {row.val_macro_f1}) differs from {LEDGER} "
                  f"({entry.state}, {shorten(entry.params)}, {entry.value})")
        if recorded is not None:
            missing = sorted(set(recorded) - set(finished))
            check(not missing, where, "trials", f"{LEDGER} holds trial(s) {', '.join(map(str, missing[:5]))}, which "
                  "are missing")
        complete = [row for row in finished.values() if row.state == "complete" and row.val_macro_f1 is not None]
        check(bool(complete), where, "trials", "no complete trial, but the folder holds the best one's run")
        best = max(row.val_macro_f1 for row in complete)
        config, asked = self.best.config, self.description
        chosen = [{**asked.overrides, **row.params} for row in complete if row.val_macro_f1 == best]
        check(config.model == asked.model and config.seed == asked.seed and config.preset == asked.preset
              and config.overrides in chosen, self.folder / "best" / "config.json", "overrides",
              f"{shorten(config.overrides)} ({config.model}, seed {config.seed}), but the best trial of {TRIALS} has "
              f"{shorten(chosen[0])} ({asked.model}, seed {asked.seed})")
