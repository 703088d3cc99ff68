"""`tune`: bad search spaces, trial counts, timeouts and storages (a password shown nowhere), a trial whose
parameters fail, multi-label data, and a study killed mid-way and run again."""
from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from .harness import Case
from .helpers import cli, ok_output, process_case, tune


def killed_tuning(ws, case_dir: Path):
    """SIGTERM during a tuning study, then the same command again: the study continues to its trials."""
    command = [*cli(), "tune", "--model", "lstm", "--trials", "3", "--data-dir", str(ws.data), "-o", str(case_dir / "t"),
               "--name", "s", "-q", "--set", "epochs=2", "--set", "hidden_size=4", "--set", "glove=none"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ledger = case_dir / "t" / "s" / "ledger.json"
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        if ledger.is_file() and json.loads(ledger.read_text() or "{}").get("trials"):
            break
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=120)
    again = subprocess.run(command, capture_output=True, text=True, timeout=900)
    trials = json.loads((case_dir / "t" / "s" / "trials.json").read_text())["trials"] if again.returncode == 0 else []
    states = [t["state"] for t in trials]
    # killed inside a trial, that trial is kept as failed and not counted; killed between trials, there is none
    if again.returncode != 0 or states.count("complete") != 3 or len(states) - states.count("complete") > 1 \
            or set(states) - {"complete", "fail"}:
        return 1, f"rerun: exit {again.returncode}, trials {states}: {again.stdout[-300:]}{again.stderr[-500:]}"
    return 0, "best configuration trained as " + again.stdout.split("best configuration trained as")[-1][:80]


def _held_by_another(case_dir: Path, ws) -> None:
    """The tuning folder `tune --name s` writes, locked by a live process (this one's parent: alive for the case)."""
    import os
    import socket

    folder = case_dir / "t" / "s"
    folder.mkdir(parents=True)
    (folder / "LOCK").write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname(), "started": "now"}))


def identical_tunings(ws, case_dir: Path):
    """The same tune command twice at once: one tunes, the other says who is tuning (it said "not a tuning folder")."""
    import subprocess

    command = [*cli(), "tune", "--model", "tfidf", "--trials", "2", "--data-dir", str(ws.data), "-o", str(case_dir / "t"),
               "--name", "s", "-q"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    outputs = [p.communicate(timeout=600)[0] for p in (first, second)]
    codes = sorted(p.returncode for p in (first, second))
    said = "\n".join(outputs)
    if "not a tuning folder" in said or "Traceback" in said:
        return 1, said[-2000:]
    if codes == [0, 0] or (codes == [0, 2] and "is being tuned by process" in said):
        return 0, said  # one after the other, or one refused naming the other
    return 1, f"exit codes {codes}: {said[-2000:]}"


def cases() -> list[Case]:
    c: list[Case] = []
    # -------- tuning
    c += [
        Case("--space with no choices", tune("--space", "C="), message=r"--space 'C=': no choices", group="tuning"),
        Case("--space with commas only", tune("--space", "C=,,"), message=r"--space 'C=,,': no choices", group="tuning"),
        Case("--space for an unknown parameter", tune("--space", "flux=1:2"), message=r"--space 'flux=1:2'", group="tuning"),
        Case("--space low above high", tune("--space", "C=2:1"), message=r"expected low < high", group="tuning"),
        Case("--space log from 0", tune("--space", "C=0:1:log"), message=r"low > 0 for log", group="tuning"),
        Case("--space with a word for a number", tune("--space", "C=a,b"), message=r"C='a'|expected a number", group="tuning"),
        Case("--space with NaN", tune("--space", "C=nan:1"), message=r"--space 'C=nan:1': nan is not a finite number", group="tuning"),
        Case("--trials 0", tune("--trials", "0"), message=r"--trials 0: expected an integer from 1 to", group="tuning"),
        Case("--timeout -1", tune("--timeout", "-1"), message=r"--timeout -1", group="tuning"),
        Case("a trial whose parameters leave no feature", tune("--space", "min_df_char=5000,2", "--space", "word_ngram_max=1",
                                                               "--trials", "3"), expect="ok",
             check=ok_output(r"leave no feature with these parameters"), group="tuning"),
        Case("tuning tfidf on multi-label data", ["tune", "--model", "tfidf", "--train-file", "{ws}/multi/train.jsonl",
                                                  "--validation-file", "{ws}/multi/validation.jsonl", "--test-file",
                                                  "{ws}/multi/test.jsonl", "-o", "{case}/t", "--name", "s", "-q", "--trials", "2"],
             expect="ok", check=ok_output(r"best configuration trained"), group="tuning"),
        Case("tuning into a folder that is no study", ["tune", "--model", "tfidf", "--data-dir", "{ws}/data", "-o", "{ws}", "--name",
                                                       "runs", "-q", "--trials", "1"], message=r"runs", group="tuning"),
        Case("tuning an unknown model", tune(model="gpt9"), message=r"unknown model 'gpt9'", group="tuning"),
        Case("tuning with a bad fixed parameter", tune("--set", "C=-1"), message=r"parameter C=-1", group="tuning"),
        process_case("a tuning study killed, then rerun", killed_tuning, expect="ok", group="tuning"),
        Case("--storage that is no URL", tune("--storage", "not a url"), message=r"--storage .*not a database URL",
             group="tuning"),
        Case("--storage redis", tune("--storage", "redis://localhost/0"), message=r"'redis' is not a database", group="tuning"),
        Case("--storage in memory", tune("--storage", "sqlite://"), message=r"in-memory SQLite", group="tuning"),
        Case("--storage with a password shown nowhere", tune("--storage", "postgresql://me:hunter2@127.0.0.1:9/db"),
             message=r"^(?!.*hunter2).*postgresql://me:\*\*\*@", group="tuning"),
        Case("--storage that refuses connections leaves no folder", tune("--storage", "postgresql://me:pw@127.0.0.1:9/db",
                                                                         "--name", "s"),
             message=r"cannot connect to the database", group="tuning"),
        Case("--storage in a missing folder", tune("--storage", "sqlite:///{case}/no/such/t.db", "--name", "s"),
             message=r"the folder .*no/such does not exist", group="tuning"),
        Case("--storage with a driver not installed", tune("--storage", "postgresql+pg8000://me@127.0.0.1:9/db", "--name", "s"),
             message=r"the database driver is not installed \(pg8000\); pip install pg8000", group="tuning"),
        Case("--storage with a driver SQLAlchemy lacks", tune("--storage", "postgresql+nosuch://127.0.0.1:9/db", "--name", "s"),
             message=r"SQLAlchemy has no such database driver", group="tuning"),
        Case("a parameter fixed and searched", tune("--space", "C=0.1:1", "--set", "C=0.5"),
             message=r"C is both fixed \(--set\) and searched \(--space\)", group="tuning"),
        Case("--storage inside a finished run", tune("--storage", "sqlite:///{case}/run/model/y.db", "--name", "s"),
             message=r"--storage .*y\.db: inside .*model, a folder emobench wrote",
             setup=lambda d, ws: __import__("shutil").copytree(ws.root / "runs" / "tfidf-run", d / "run"), group="tuning"),
        Case("a tuning folder another process holds", tune("--name", "s"), message=r"is being tuned by process \d+",
             setup=_held_by_another, group="tuning"),
        process_case("two identical tune commands at once", identical_tunings, expect="ok", group="tuning"),
    ]
    return c
