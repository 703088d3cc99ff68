"""The words the case modules are written in: files and arguments for bad inputs, checks of an ok result, cases
that run several processes, and the edits and calls of tampered folders. A helper used by one module only lives
in that module."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

from .harness import Case, Workspace, examples

# ---------------------------------------------------------------- bad inputs: files and arguments


def write(path: Path, content, encoding="utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding=encoding)
    return path


def rows(n=30, label=lambda i: ["sadness", "joy", "anger"][i % 3], text=lambda i: f"i feel thing number {i}") -> str:
    """A CSV of ``n`` texts (which a model cannot learn from) and their labels."""
    return "text,label\n" + "".join(f"{text(i)},{label(i)}\n" for i in range(n))


def csv_text(records, header=("text", "label")) -> str:
    return ",".join(header) + "\n" + "".join(",".join(r) + "\n" for r in records)


def user_rows(n=30, seed=21) -> list[tuple[str, str]]:
    """Learnable (text, label) rows of the workspace's three labels."""
    return [(t, l) for t, l in examples(n, seed)]


def _with(base: list[str], extra: tuple) -> list[str]:
    """``base`` arguments with ``extra`` after them; an option ``extra`` gives again replaces the base's (emobench refuses
    an option given twice)."""
    given = {arg for arg in extra if arg.startswith("-")}
    aliases = {"-o": "--output-dir", "--output-dir": "-o", "-m": "--model", "--model": "-m"}
    out, skip = [], False
    for i, arg in enumerate(base):
        if skip:
            skip = False
            continue
        if arg in given or aliases.get(arg) in given:
            skip = i + 1 < len(base) and not base[i + 1].startswith("-")
            continue
        out.append(arg)
    return [*out, *extra]


def train_args(*extra, model="tfidf") -> list[str]:
    """`train` on the workspace's tiny dataset, into the case's own folder."""
    return _with(["train", "--model", model, "--data-dir", "{ws}/data", "-o", "{case}/out", "-q"], extra)


def cmp(*extra) -> list[str]:
    """`compare` of tfidf on the workspace's tiny dataset, into the case's own folder."""
    return _with(["compare", "--models", "tfidf", "--data-dir", "{ws}/data", "-o", "{case}/c", "--name", "x", "-q"], extra)


def ev(*extra) -> list[str]:
    """`evaluate` of the workspace's finished tfidf run."""
    return ["evaluate", "{ws}/runs/tfidf-run", *extra]


def tune(*extra, model="tfidf") -> list[str]:
    """Two tuning trials on the workspace's tiny dataset, into the case's own folder."""
    return _with(["tune", "--model", model, "--data-dir", "{ws}/data", "-o", "{case}/t", "--name", "s", "-q", "--trials", "2"],
                 extra)


def copy_run(name, mutate, manifests=False):
    """A setup: a copy of a finished run (as ``{case}/run``), changed by ``mutate``. Without ``manifests`` the copy is
    a folder as emobench 0.2 wrote it (no MANIFEST.json), so each case reaches the validation of the file it breaks;
    the manifest's own checks are the tampered table's."""
    def setup(case_dir, ws):
        shutil.copytree(ws.root / "runs" / name, case_dir / "run")
        if not manifests:
            for manifest in (case_dir / "run").rglob("MANIFEST.json"):
                manifest.unlink()
        mutate(case_dir / "run", ws)
    return setup


def corrupt(name, text):
    """A setup: a copy of the finished tfidf run with ``name`` overwritten by ``text``."""
    return copy_run("tfidf-run", lambda run, ws: write(run / name, text))


# ---------------------------------------------------------------- bad inputs: checks of an ok result


def ok_output(pattern):
    def check(case_dir, ws, output):
        return None if re.search(pattern, output, re.S) else f"output lacks {pattern!r}"
    return check


def run_recorded_warning(pattern):
    """The run written into ``{case}/out`` records a warning matching ``pattern`` in its data.json."""
    def check(case_dir, ws, output):
        runs = list((case_dir / "out").glob("*/data.json"))
        if not runs:
            return "no run written"
        warnings = json.loads(runs[0].read_text()).get("warnings", [])
        return None if any(re.search(pattern, w) for w in warnings) else f"data.json warnings lack {pattern!r}: {warnings}"
    return check


# ---------------------------------------------------------------- bad inputs: several processes at once


def cli() -> list[str]:
    return [sys.executable, "-m", "emobench.cli"]


def together(commands: list[list[str]], env=None) -> list[tuple[int, str]]:
    """The commands started at once; their exit codes and outputs."""
    processes = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) for c in commands]
    return [(p.wait(timeout=600), p.stdout.read()) for p in processes]


def process_case(name, run, message="", expect="error", group="export") -> Case:
    """A case that runs processes itself: ``run(ws, case_dir) -> (exit code, output)``."""
    return Case(name, run, expect, message, group=group, kind="process",
                check=(lambda d, ws, out: None) if expect == "ok" else None)


# ---------------------------------------------------------------- tampered folders: edits (edit(folder, ws))


TEXT = "i feel so happy and glad today"


def json_edit(name: str, change: Callable[[dict], object]):
    """Load a JSON file of the copied folder and change it in place."""
    def edit(folder: Path, ws: Workspace) -> None:
        path = folder / name
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data))
    return edit


def raw(name: str, content):
    def edit(folder: Path, ws: Workspace) -> None:
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return edit


def truncate(name: str, keep: float = 0.5):
    def edit(folder: Path, ws: Workspace) -> None:
        path = folder / name
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * keep)])
    return edit


def symlink_out(name: str, target: str):
    def edit(folder: Path, ws: Workspace) -> None:
        (folder / name).unlink()
        (folder / name).symlink_to(ws.outside / target)
    return edit


def copy_from(source: str, name: str, target: str | None = None):
    def edit(folder: Path, ws: Workspace) -> None:
        shutil.copy(ws.root / source / name, folder / (target or name))
    return edit


def both(*edits):
    def edit(folder: Path, ws: Workspace) -> None:
        for e in edits:
            e(folder, ws)
    return edit


def deep(name: str):
    return raw(name, "[" * 10_000 + "]" * 10_000)


def labels(change):
    return json_edit("emobench_model.json", lambda d: d.__setitem__("label_names", change(d["label_names"])))


def field_of(name: str, key: str, value):
    return json_edit(name, lambda d: d.__setitem__(key, value))


def predictions_rows(split: str, change):
    def edit(folder: Path, ws: Workspace) -> None:
        path = folder / "predictions" / f"{split}.csv"
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join([lines[0], *change(lines[1:])]))
    return edit


def flip_prediction(rows: list[str]) -> list[str]:
    first = rows[0].split(",")
    names = ["sadness", "joy", "anger"]
    first[3] = names[(names.index(first[3]) + 1) % 3]
    return [",".join(first), *rows[1:]]


# ---------------------------------------------------------------- tampered folders: calls (call(folder, allow))


def predictor(folder: Path, allow: bool):
    from emobench.serving import Predictor

    return Predictor(folder, allow_modified=allow).predict([TEXT, "i am so furious and angry"])


def service(folder: Path, allow: bool):
    from fastapi.testclient import TestClient

    from emobench.serving.service import create_app

    with TestClient(create_app(folder, allow_modified=allow)) as client:
        return client.post("/predict", json={"texts": [TEXT]}).json(), client.get("/model").json()
