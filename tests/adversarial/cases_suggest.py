"""`data suggest`: which texts to label next -- the unlabelled file (missing, empty, binary, a missing column,
undecodable), the model (missing, not a model, unfinished), -n, --strategy, --output (missing folder, existing file,
inside a run) and --force; and the correct results: repeats suggested once, an int8 export and a multi-label run
scoring, a CSV to label."""
from __future__ import annotations

import csv
import shutil

from .harness import Case
from .helpers import ok_output, write

POOL = "i feel so sad today\ni am furious\ni feel so sad today\nwhat a happy day\nim scared of it\n"


def suggest(name, extra=(), message="", expect="error", content=POOL, suffix=".txt", model="{ws}/runs/tfidf-run",
            check=None, setup=None) -> Case:
    """`data suggest --unlabeled {case}/pool{suffix} --model MODEL`, the pool holding ``content``."""
    def prepare(case_dir, ws):
        write(case_dir / f"pool{suffix}", content)
        if setup:
            setup(case_dir, ws)
    return Case(name, ["data", "suggest", "--unlabeled", "{case}/pool" + suffix, "--model", model, *extra], expect, message,
                prepare, check, group="suggest")


def _csv_to_label(rows: int):
    def check(case_dir, ws, output):
        path = case_dir / "next.csv"
        if not path.is_file():
            return "no CSV written"
        read = list(csv.DictReader(path.open(encoding="utf-8")))
        if len(read) != rows or any(r["label"] for r in read) or len({r["text"] for r in read}) != rows:
            return f"{len(read)} rows, expected {rows} distinct texts with an empty label column"
        return None
    return check


def cases() -> list[Case]:
    return [
        suggest("suggest with a missing model", model="{case}/nope", message=r"nope: no such run or model directory"),
        suggest("suggest with a folder that is no model", model="{case}", message=r"no saved emobench model"),
        suggest("suggest with an unfinished run", model="{case}/r.partial", message=r"r\.partial.*unfinished",
                setup=lambda d, ws: shutil.copytree(ws.root / "runs" / "tfidf-run", d / "r.partial")),
        suggest("suggest from an empty file", content="\n \n", message=r"pool\.txt: no texts"),
        suggest("suggest from a missing file", extra=("--unlabeled", "{case}/other.txt"),
                message=r"other\.txt: file not found|--unlabeled"),
        suggest("suggest from a binary file", content=b"\x1f\x8b\x08binary", message=r"pool\.txt: the file is gzip"),
        suggest("suggest from a CSV without the text column", content="body\ni feel sad\n", suffix=".csv",
                message=r"pool\.csv, line 2: missing column 'text'"),
        suggest("suggest from invalid UTF-8", content=b"i feel sad\nbad \xff byte\n", message=r"pool\.txt, line 2"),
        suggest("suggest -n 0", extra=("-n", "0"), message=r"-n 0"),
        suggest("suggest with an unknown strategy", extra=("--strategy", "best"), message=r"--strategy"),
        suggest("suggest into a missing folder", extra=("--output", "{case}/no/next.csv"), message=r"does not exist"),
        suggest("suggest into an existing file", extra=("--output", "{case}/next.csv"), message=r"next\.csv: already exists",
                setup=lambda d, ws: (d / "next.csv").write_text("rank,text,label\n1,x,joy\n")),
        suggest("suggest into a run's folder", extra=("--output", "{ws}/runs/tfidf-run/next.csv"),
                message=r"inside .*tfidf-run, a folder emobench wrote"),
        suggest("suggest --force without --output", extra=("--force",), message=r"--force replaces an existing --output"),
        suggest("suggest with a label option", extra=("--label-column", "x"), message=r"--label-column"),
        suggest("suggest repeats once, as a CSV to label", extra=("-n", "10", "--output", "{case}/next.csv"), expect="ok",
                check=_csv_to_label(4)),
        suggest("suggest --force replaces the file", extra=("-n", "2", "--output", "{case}/next.csv", "--force"),
                expect="ok", check=_csv_to_label(2), setup=lambda d, ws: (d / "next.csv").write_text("old\n")),
        suggest("suggest with an int8 export", model="{ws}/exports/lstm-int8", extra=("-n", "2"), expect="ok",
                check=ok_output(r"2 of 4 distinct texts")),
        suggest("suggest with a multi-label run", model="{ws}/runs/multi-run", extra=("-n", "3"), expect="ok",
                check=ok_output(r"3 of 4 distinct texts")),
    ]
