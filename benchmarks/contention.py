"""An LSTM epoch alone and beside one busy process, under the thread settings emobench could use.

    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/contention.py [--repeats 3] [--texts 4000]

Each configuration trains the same LSTM (dair-ai's first ``--texts`` training texts, random embeddings, 3 epochs)
in its own process and reports the median seconds of epochs 2-3, alone and while one other process keeps a core
busy (a Python loop). Runs are interleaved across configurations so drift hits all alike. Configurations:
``emobench`` (what emobench does by itself: the cores no other process keeps busy when training starts), ``all``
(every usable core, as emobench did before), ``all-passive`` (the same with OMP_WAIT_POLICY=PASSIVE) and ``one``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table, write_results  # noqa: E402

CONFIGS = {
    "emobench": {},  # the cores no other process keeps busy when training starts
    "all": {"EMOBENCH_THREADS": "all"},  # every usable core (emobench before this benchmark)
    "all-passive": {"EMOBENCH_THREADS": "all", "OMP_WAIT_POLICY": "PASSIVE"},  # ... with OpenMP threads that sleep
    "one": {"EMOBENCH_THREADS": "1"},
}


def data_root(texts: int) -> Path:
    source = Path(os.environ.get("EMOBENCH_DATA", "../shared/data")) / "emotion"
    root = Path(tempfile.mkdtemp(prefix="emobench-contention-"))
    (root / "emotion").mkdir()
    for name, n in (("train.txt", texts), ("val.txt", 500), ("test.txt", 500)):
        lines = (source / name).read_text(encoding="utf-8").splitlines(keepends=True)[:n]
        (root / "emotion" / name).write_text("".join(lines), encoding="utf-8")
    return root


def epoch_seconds(root: Path, out: Path, name: str, env: dict) -> float:
    full = {k: v for k, v in os.environ.items()
            if k not in ("OMP_WAIT_POLICY", "EMOBENCH_THREADS", "OMP_NUM_THREADS", "GOMP_SPINCOUNT")}
    full.update(env)
    done = subprocess.run([sys.executable, "-m", "emobench.cli", "--log-level", "warning", "train", "--model", "lstm",
                           "--set", "epochs=3", "--set", "glove=none", "--set", "patience=0", "--data-dir", str(root),
                           "-o", str(out), "--name", name, "-q"], capture_output=True, text=True, env=full, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    history = json.loads((out / name / "history.json").read_text())
    return statistics.median(e["seconds"] for e in history[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--texts", type=int, default=4000)
    args = parser.parse_args()
    root = data_root(args.texts)
    out = root / "runs"
    seconds: dict[tuple[str, str], list[float]] = {}
    for repeat in range(args.repeats):
        for busy in (False, True):
            hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
            try:
                time.sleep(0.5 if busy else 0)
                for config, env in CONFIGS.items():
                    value = epoch_seconds(root, out, f"{config}-{busy}-{repeat}", env)
                    seconds.setdefault((config, "busy" if busy else "alone"), []).append(value)
                    print(f"repeat {repeat}: {config:8s} {'busy' if busy else 'alone':5s} {value:.2f} s/epoch", flush=True)
            finally:
                if hog is not None:
                    hog.kill()
                    hog.wait()
    rows = []
    for config in CONFIGS:
        alone = statistics.median(seconds[(config, "alone")])
        busy = statistics.median(seconds[(config, "busy")])
        rows.append({"threads": config, "alone_s": alone, "busy_s": busy, "busy_x_alone": busy / alone,
                     "alone_x_emobench": alone / statistics.median(seconds[("emobench", "alone")])})
    print_table(f"LSTM epoch seconds ({args.texts} texts), median of {args.repeats}", rows,
                ["threads", "alone_s", "busy_s", "busy_x_alone", "alone_x_emobench"])
    print("results:", write_results("contention", rows, texts=args.texts, repeats=args.repeats,
                                    raw={f"{c}/{b}": v for (c, b), v in seconds.items()}))


if __name__ == "__main__":
    main()
