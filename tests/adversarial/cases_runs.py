"""Run folders: ``--name`` that is no plain folder name, ``-o`` onto a file, a finished run's name, ``--resume`` of
what cannot be resumed, a run locked by a live process, a stale lock. The finished runs must stay untouched."""
from __future__ import annotations

import json
import os

from .harness import Case
from .helpers import train_args, write


def cases() -> list[Case]:
    return [
        Case("--name with a slash", train_args("--name", "a/b"), message=r"--name 'a/b': expected a plain folder name", group="run folders"),
        Case("--name ..", train_args("--name", ".."), message=r"--name '\.\.': expected a plain folder name", group="run folders"),
        Case("--name absolute", train_args("--name", "/tmp/evil"), message=r"--name '/tmp/evil'", group="run folders"),
        Case("--name empty", train_args("--name", ""), message=r"--name '': expected a plain folder name", group="run folders"),
        Case("--name ending in .partial", train_args("--name", "x.partial"), message=r"not ending in '\.partial'", group="run folders"),
        Case("-o is a file", ["train", "--model", "tfidf", "--data-dir", "{ws}/data", "-o", "{case}/file", "-q"],
             message=r"--output-dir .*file: is a file", setup=lambda d, ws: write(d / "file", "x"), group="run folders"),
        Case("--name of a finished run", ["train", "--model", "tfidf", "--data-dir", "{ws}/data", "-o", "{ws}/runs", "--name",
                                          "tfidf-run", "-q"], message=r"tfidf-run already exists", group="run folders"),
        Case("--resume a finished run", ["train", "--resume", "{ws}/runs/tfidf-run"], message=r"is a finished run; there is nothing to resume",
             group="run folders"),
        Case("--resume a missing folder", ["train", "--resume", "{case}/nothing.partial"], message=r"nothing\.partial: not an unfinished run",
             group="run folders"),
        Case("--resume a folder that is no run", ["train", "--resume", "{case}"], message=r"not an unfinished run", group="run folders"),
        Case("--resume with --model", ["train", "--resume", "{ws}/runs/tfidf-run", "--model", "lstm"],
             message=r"--model cannot be combined with it", group="run folders"),
        Case("--resume a run locked by a live process", ["train", "--resume", "{case}/r.partial"],
             message=r"r\.partial: the run is being trained by process",
             setup=lambda d, ws: (write(d / "r.partial" / "config.json", json.dumps(
                 {"model": "tfidf", "seed": 0, "dataset": {"name": "emotion", "data_dir": str(ws.data)}})),
                 write(d / "r.partial" / "LOCK", json.dumps({"pid": 1, "host": os.uname().nodename, "started": "now"}))),
             group="run folders"),
        Case("a stale lock on a new name", train_args("--name", "r"), message=r"r\.partial holds an unfinished run",
             setup=lambda d, ws: write(d / "out" / "r.partial" / "LOCK", json.dumps(
                 {"pid": 999_999_999, "host": os.uname().nodename, "started": "then"})), group="run folders"),
    ]
