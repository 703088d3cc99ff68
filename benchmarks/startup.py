"""How fast the command line starts: `emobench --help`, `emobench models`, and `emobench predict` with a tfidf
and an LSTM run trained on dair-ai (one epoch for the LSTM: its size, not its quality, matters here).

    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/startup.py [--repeats 5]

Each command runs as a fresh process ``--repeats`` times; the median wall time is reported with the heavy
libraries the command imported.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import print_table, write_results

HEAVY = ("torch", "transformers", "sklearn", "accelerate", "matplotlib", "scipy", "mlflow", "optuna")
PROBE = ("import runpy, sys, atexit\n"
         "atexit.register(lambda: sys.stderr.write('IMPORTED ' + ' '.join(m for m in {heavy!r} if m in sys.modules) + '\\n'))\n"
         "sys.argv = ['emobench', *{args!r}]\n"
         "runpy.run_module('emobench.cli', run_name='__main__')\n")


def timed(args: list[str], repeats: int) -> tuple[float, str]:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "emobench.cli", *args], capture_output=True, text=True)
        seconds.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise RuntimeError(f"{args}: {done.stderr[-2000:]}")
    probe = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY, args=args)], capture_output=True, text=True)
    imported = next((line[9:] for line in probe.stderr.splitlines() if line.startswith("IMPORTED ")), "?")
    return statistics.median(seconds), imported or "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="emobench-startup-"))
    for name, extra in (("tfidf", []), ("lstm", ["--set", "epochs=1"])):
        subprocess.run([sys.executable, "-m", "emobench.cli", "train", "--model", name, *extra, "-o", str(out), "--name", name,
                        "-q"], check=True, capture_output=True)
    commands = [("emobench --help", ["--help"]), ("emobench models", ["models"]),
                ("emobench predict (tfidf run)", ["predict", str(out / "tfidf"), "i feel so alone tonight"]),
                ("emobench predict --json (tfidf run)", ["predict", str(out / "tfidf"), "i feel so alone", "--json"]),
                ("emobench predict (lstm run)", ["predict", str(out / "lstm"), "i feel so alone tonight"])]
    rows = []
    for label, command in commands:
        seconds, imported = timed(command, args.repeats)
        rows.append({"command": label, "median_seconds": seconds, "heavy_imports": imported})
        print(f"{label}: {seconds:.2f} s ({imported})", flush=True)
    print_table(f"command start-up, median of {args.repeats} runs", rows, ["command", "median_seconds", "heavy_imports"])
    print("results:", write_results("startup", rows, repeats=args.repeats))


if __name__ == "__main__":
    main()
