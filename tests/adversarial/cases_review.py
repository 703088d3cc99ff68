"""Label review (`emobench review AUDIT`, `--label-corrections FILE`): audits and corrections files that are missing,
not JSON, made for other data or edited by hand, a second reviewer, options that do not go together; and the
corrections of a review applied and recorded."""
from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

from .harness import Case
from .helpers import cli, ev, run_recorded_warning, train_args, tune, write

g = "review"


def audit_of(case_dir: Path, data_root: Path, splits=("train",), rows=6) -> Path:
    """An audit of the tiny emotion data under ``data_root`` flagging its first ``rows`` rows of each split (the data
    is clean: the flags are written as an audit would write them), saved as ``{case}/a.json``."""
    from emobench.data import DatasetConfig, load_dataset
    from emobench.records.label_issues import LabelIssues, write_label_issues
    from emobench.records.run import gold_names, split_digest

    corpus = load_dataset(DatasetConfig(data_dir=str(data_root)))
    names, found = corpus.label_names, {}
    for split in splits:
        part = corpus[split]
        golds = gold_names(part, names)
        issues = [{"index": i, "text": part.texts[i], "given": [golds[i]], "self_confidence": 0.01 * (i + 1),
                   "suggested": [names[(names.index(golds[i]) + 1) % len(names)]]} for i in range(rows)]
        found[split] = {"n": len(part), "digest": split_digest(part.texts, golds), "flagged": rows, "issues": issues,
                        "per_label": {n: sum(1 for x in issues if x["given"] == [n]) for n in names}}
    audit = LabelIssues.model_validate({"dataset": corpus.name, "labels": names, "task": corpus.task, "model": "tfidf",
                                        "folds": 3, "seed": 0, "method": "confident learning", "splits": found})
    write_label_issues(case_dir / "a.json", audit)
    return case_dir / "a.json"


def decide_three(audit: Path) -> None:
    """A review of ``audit`` that keeps its first text, accepts the second's suggestion and relabels the third."""
    from emobench.experiments.review import Review

    review = Review(audit)
    try:
        review.decide(0, "keep")
        review.decide(1, "accept")
        review.decide(2, "relabel", [next(n for n in review.audit.labels if n not in review.items[2].given)])
    finally:
        review.close()


def reviewed(change=None, splits=("train",)):
    """A setup: the audit above, three of its texts decided (kept, the suggestion accepted, relabelled), then the
    corrections file (``{case}/a.corrections.json``) changed by ``change(data)`` (a dict, edited in place)."""
    def setup(case_dir: Path, ws) -> None:
        decide_three(audit_of(case_dir, ws.root / "data", splits))
        if change is not None:
            path = case_dir / "a.corrections.json"
            data = json.loads(path.read_text())
            change(data)
            write(path, json.dumps(data))
    return setup


def _decision(field, value, k=1):
    return lambda data: data["decisions"][k].update({field: value})


def _twice(data):
    data["decisions"].append(dict(data["decisions"][0]))


def _second_reviewer(ws, case_dir: Path):
    """A review running, and a second one of the same audit (written by the setup) started beside it."""
    audit = case_dir / "a.json"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    first = subprocess.Popen([*cli(), "review", str(audit), "--port", str(port)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        second = subprocess.run([*cli(), "review", str(audit), "--port", str(port + 1 if port < 65535 else port - 1)],
                                capture_output=True, text=True, timeout=120)
        return second.returncode, second.stdout + second.stderr
    finally:
        first.terminate()
        first.wait(timeout=30)


def _applied(case_dir: Path, ws, out: str):
    data = json.loads(next((case_dir / "out").glob("*/data.json")).read_text())["source"]["label_issues"]
    if data is None or data["action"] != "correct" or len(data["rows"]) != 2:
        return f"data.json does not record two corrected rows: {data}"
    return None


def cases() -> list[Case]:
    corrections = ("--label-corrections", "{case}/a.corrections.json")
    c = [
        Case("review a missing audit", ["review", "{case}/no.json"], message=r"no\.json: no such file; expected a saved "
             r"label-issues audit", group=g),
        Case("review a file that is not JSON", ["review", "{case}/a.json"], message=r"a\.json: .*not valid JSON",
             setup=lambda d, ws: write(d / "a.json", "{oops"), group=g),
        Case("review a run's metrics, not an audit", ["review", "{ws}/runs/tfidf-run/metrics.json"],
             message=r"metrics\.json: field", group=g),
        Case("review an audit that flags nothing", ["review", "{case}/a.json"], message=r"flags no text; there is nothing",
             setup=lambda d, ws: audit_of(d, ws.root / "data", rows=0), group=g),
        Case("review with corrections of another audit", ["review", "{case}/a.json"],
             message=r"a\.corrections\.json: field digests: not the audit's", setup=reviewed(
                 lambda data: data["digests"].update(train="0" * 64)), group=g),
        Case("review with a decision edited to another text", ["review", "{case}/a.json"],
             message=r"a\.corrections\.json: field decisions\[1\]\.text: not train row", setup=reviewed(
                 _decision("text", "something else")), group=g),
        Case("review with corrections that are not JSON", ["review", "{case}/a.json"],
             message=r"a\.corrections\.json: .*not valid JSON", setup=lambda d, ws: (
                 audit_of(d, ws.root / "data"), write(d / "a.corrections.json", "[1,")), group=g),
        Case("review --port 0", ["review", "{case}/a.json", "--port", "0"], message=r"--port 0: expected an integer from 1",
             group=g),
        Case("a second reviewer of the same audit", _second_reviewer, message=r"another review of this audit is running",
             setup=lambda d, ws: audit_of(d, ws.root / "data"), group=g, kind="process"),
        Case("--label-corrections of a missing file", train_args("--label-corrections", "{case}/no.json"),
             message=r"--label-corrections .*no\.json: no such file", group=g),
        Case("--label-corrections with --label-issues", train_args(*corrections, "--label-issues", "drop"),
             message=r"--label-corrections holds a reviewer's decisions.*give one of the two", setup=reviewed(), group=g),
        Case("--label-corrections with --train-size 0", train_args(*corrections, "--train-size", "0", model="fewshot"),
             message=r"--label-corrections changes the training split's labels|--train-size 0", setup=reviewed(), group=g),
        Case("--label-corrections made for other data", train_args(*corrections, "--train-file", "{ws}/user/train.csv",
                                                                    "--test-file", "{ws}/user/test.csv"),
             message=r"field (labels|digests\.train): .*made for other training data", setup=reviewed(), group=g),
        Case("--label-corrections with a decision's text edited", train_args(*corrections),
             message=r"a\.corrections\.json: field decisions\[1\]\.text|not training row", setup=reviewed(
                 _decision("text", "something else")), group=g),
        Case("--label-corrections naming an unknown label", train_args(*corrections),
             message=r"decisions\[2\]\.labels: 'ecstasy' is not a label", setup=reviewed(
                 _decision("labels", ["ecstasy"], k=2)), group=g),
        Case("--label-corrections deciding a row twice", train_args(*corrections),
             message=r"decisions\[3\]\.index: train row \d+ is decided twice", setup=reviewed(_twice), group=g),
        Case("--label-corrections keeping a label it changes", train_args(*corrections),
             message=r"decisions\[0\]\.labels: .*the decision is keep", setup=reviewed(
                 _decision("labels", ["surprise"], k=0)), group=g),
        Case("--label-corrections with two labels for a single-label text", train_args(*corrections),
             message=r"decisions\[2\]\.labels: .*expected exactly one label", setup=reviewed(
                 _decision("labels", ["joy", "anger"], k=2)), group=g),
        Case("--label-corrections of a review of the test split only", train_args(*corrections),
             message=r"reviewed test, not the training split", setup=reviewed(splits=("test",)), group=g),
        Case("evaluate --data with --label-corrections", ev("--data", "{ws}/user/test.csv", "--label-corrections", "x.json"),
             message=r"--label-corrections does not apply", group=g),
        Case("train --label-corrections", train_args(*corrections), expect="ok", check=_applied, setup=reviewed(), group=g),
        Case("train --label-corrections says so", train_args(*corrections), expect="ok",
             check=run_recorded_warning(r"a reviewer relabelled 2 of \d+ training texts"), setup=reviewed(), group=g),
        Case("tune --label-corrections", tune(*corrections), expect="ok", setup=reviewed(),
             check=lambda d, ws, out: None if "best configuration trained" in out else out[-300:], group=g),
    ]
    return c
