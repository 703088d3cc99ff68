"""`distill`: teachers that are no finished run, students that do not learn from soft targets, bad temperatures and
weights, missing unlabeled files, a teacher whose data changed (refused, or allowed and recorded) or whose labels are
not its data's any more; a single- and a multi-label teacher distilled into a tiny LSTM."""
from __future__ import annotations

import json
import os
import shutil

from .harness import Case
from .helpers import copy_run, ok_output, write

TINY = ["--set", "epochs=1", "--set", "hidden_size=4", "--set", "glove=none"]


def distill_args(*extra, teacher="{ws}/runs/tfidf-run") -> list[str]:
    """`distill` of a workspace run into a tiny LSTM, into the case's own folder."""
    return ["distill", teacher, "-o", "{case}/out", "-q", *TINY, *extra]


def _own_teacher(change, files=False):
    """A setup: a tfidf teacher on a copy of the workspace's data (as ``{case}/t``; with ``files``, of its user CSV files,
    whose labels are the ones they hold), whose data ``change`` then edits."""
    def setup(case_dir, ws):
        from emobench.data import DatasetConfig
        from emobench.experiments.run import RunConfig, train

        if files:
            data = shutil.copytree(ws.root / "user", case_dir / "data")
            dataset = DatasetConfig(name=str(data / "train.csv"), files={s: str(data / f"{s}.csv") for s in
                                                                         ("train", "validation", "test")})
        else:
            data = shutil.copytree(ws.data, case_dir / "data") / "emotion"
            dataset = DatasetConfig(name="emotion", data_dir=str(case_dir / "data"))
        train(RunConfig(model="tfidf", dataset=dataset, output_dir=str(case_dir), name="t"), progress=False)
        change(data)
    return setup


def _relabel(old, new):
    def change(folder):
        for path in folder.iterdir():
            path.write_text(path.read_text().replace(old, new))
    return change


def _teacher_recorded(pattern):
    """The student written into ``{case}/out`` records its teacher, and data.json's teacher matches ``pattern``."""
    def check(case_dir, ws, output):
        runs = list((case_dir / "out").glob("*/data.json"))
        if len(runs) != 1:
            return f"expected one run in {case_dir / 'out'}, found {len(runs)}"
        teacher = json.loads(runs[0].read_text()).get("teacher") or {}
        import re

        return None if re.search(pattern, json.dumps(teacher)) else f"data.json's teacher lacks {pattern!r}: {teacher}"
    return check


_edited_teacher = copy_run("tfidf-run", lambda run, ws: write(run / "environment.json",
                                                              (run / "environment.json").read_text() + "\n"),
                           manifests=True)


def cases() -> list[Case]:
    g = "distill"
    return [
        Case("distill a missing run", distill_args(teacher="{case}/nope"), message=r"nope: no such run directory", group=g),
        Case("distill an unfinished run", distill_args(teacher="{case}/r.partial"),
             message=r"r\.partial: not a finished emobench run", setup=lambda d, ws: (d / "r.partial").mkdir(), group=g),
        Case("distill an ONNX export", distill_args(teacher="{ws}/exports/lstm-int8"),
             message=r"lstm-int8: not a finished emobench run", group=g),
        Case("distill into tfidf", distill_args("--student", "tfidf"),
             message=r"--student tfidf: the tfidf family does not learn from a teacher's probabilities; families that "
                     r"do: lstm, static", group=g),
        Case("distill into fewshot", distill_args("--student", "fewshot"),
             message=r"--student fewshot: the fewshot family does not learn from a teacher's probabilities", group=g),
        Case("distill into an unknown model", distill_args("--student", "nope"), message=r"--student 'nope': unknown model; a student is one of lstm",
             group=g),
        Case("distill at temperature 0", distill_args("--temperature", "0"), message=r"--temperature 0: expected", group=g),
        Case("distill at temperature 1e9 (uniform rows)", distill_args("--temperature", "1e9"),
             message=r"--temperature 1e\+?0?9: expected .*100", group=g),
        Case("distill at temperature nan", distill_args("--temperature", "nan"), message=r"--temperature nan: expected",
             group=g),
        Case("distill with --soft-weight 1.5", distill_args("--soft-weight", "1.5"), message=r"--soft-weight 1\.5: expected",
             group=g),
        Case("distill with a missing --unlabeled file", distill_args("--unlabeled", "{case}/none.txt"),
             message=r"none\.txt: file not found", group=g),
        Case("distill with --unlabeled /dev/zero", distill_args("--unlabeled", "/dev/zero"),
             message=r"/dev/zero: is not a regular file \(a device, pipe or socket\)", group=g),
        Case("distill with a pipe as --unlabeled", distill_args("--unlabeled", "{case}/pipe.txt"),
             message=r"pipe\.txt: is not a regular file", setup=lambda d, ws: os.mkfifo(d / "pipe.txt"), group=g),
        Case("distill with --unlabeled rest", distill_args("--unlabeled", "rest"),
             message=r"--unlabeled rest: distill takes a file", group=g),
        Case("distill with a bad student parameter", distill_args("--set", "hidden_size=-1"), message=r"hidden_size", group=g),
        Case("distill onto a finished run's name", ["distill", "{ws}/runs/tfidf-run", "-o", "{ws}/runs", "--name", "tfidf-run",
                                                    "-q", *TINY],
             message=r"tfidf-run already exists", group=g),
        Case("distill a teacher whose data changed", distill_args(teacher="{case}/t"),
             message=r"t: the data differs from what the teacher was trained on: test\.txt: sha256 .*--allow-changed-data",
             setup=_own_teacher(lambda f: write(f / "test.txt", (f / "test.txt").read_text().replace(";joy", ";sadness", 3))),
             group=g),
        Case("distill a teacher whose data changed, allowed", distill_args("--allow-changed-data", teacher="{case}/t"),
             expect="ok", check=_teacher_recorded(r'"data_changes": \["test\.txt: sha256'),
             setup=_own_teacher(lambda f: write(f / "test.txt", (f / "test.txt").read_text().replace(";joy", ";sadness", 3))),
             group=g),
        Case("distill a teacher whose labels are not its data's", distill_args("--allow-changed-data", teacher="{case}/t"),
             message=r"the teacher's labels \(.*\) are not the data's", setup=_own_teacher(_relabel(",anger", ",joy"), files=True),
             group=g),
        Case("distill a teacher with unlabeled texts", distill_args("--unlabeled", "{case}/pool.txt", "--temperature", "2"),
             expect="ok", check=_teacher_recorded(r'"temperature": 2\.0.*"count": 3'),
             setup=lambda d, ws: write(d / "pool.txt", "i feel glad\ni am so angry\nwhat a sad day\n"), group=g),
        Case("distill a teacher with a file changed since it was saved", distill_args(teacher="{case}/run"),
             message=r"run/environment\.json: .*pass --allow-modified", setup=_edited_teacher, group=g),
        Case("distill a teacher with a file changed, allowed", distill_args("--allow-modified", teacher="{case}/run"),
             expect="ok", check=_teacher_recorded(r'"modified_files": \[".*environment\.json'), setup=_edited_teacher,
             group=g),
        Case("distill a multi-label teacher", distill_args(teacher="{ws}/runs/multi-run"), expect="ok",
             check=ok_output(r"run written to"), group=g),
    ]
