"""`emobench compare --preset best --time-limit T`: the stack of what fits T on this machine, timed end to end (is the
limit respected within 10%?), with its ablation from the very same run (each member alone, the members' plain average)
and, with ``--distill lstm``, a student distilled from it and timed beside it through the Predictor.

    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/best.py --dataset emotion --time-limit 30m [--seed 0]
        [--distill lstm]

One seed per call; calls for other seeds add rows to the newest result of the same dataset and limit (``--add``).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from common import RESULTS, print_table, write_results
from stack import TARGETS, ablation_rows, student_row, summarise

from emobench.data import DatasetConfig, load_dataset
from emobench.experiments.study import CompareConfig, run_comparison
from emobench.models import load_model
from emobench.records.run import RunRecord

RUNS = Path(__file__).parent / "runs" / "best"


def seconds_of(text: str) -> float:
    unit = {"s": 1, "m": 60, "h": 3600}.get(text[-1], 1)
    return float(text.rstrip("smh")) * unit


def one_seed(dataset: str, limit: float, seed: int, student: str | None) -> list[dict]:
    name = f"{dataset}-{int(limit)}s-s{seed}-{int(time.time())}"
    started = time.perf_counter()
    record = run_comparison(CompareConfig(dataset=DatasetConfig(name=dataset), models=["stack"], seeds=[seed],
                                          preset="best", time_limit=limit, output_dir=str(RUNS), name=name),
                            progress=False, log=lambda m: None)
    wall = time.perf_counter() - started
    folder = RUNS / name / "runs" / f"stack-s{seed}"
    stack = load_model(folder)
    corpus = load_dataset(dataset)
    row = next(r for r in record.results.runs if r.model == "stack")
    rows = [{"seed": seed, "system": "stack (preset best)", "accuracy": row.accuracy, "macro_f1": row.macro_f1,
             "compare_seconds": wall, "limit_seconds": limit, "over_limit": wall / limit - 1,
             "train_seconds": RunRecord.load(folder).metrics.train_seconds, "kept": [m["name"] for m in stack.info["members"]],
             "left_out": stack.info.get("left_out", []), "estimated_seconds": stack.info.get("estimated_seconds"),
             "member_seconds": {m["name"]: m["train_seconds"] for m in stack.info["members"]},
             "out_of_fold_macro_f1": {m["name"]: m.get("out_of_fold_macro_f1") for m in stack.info["members"]},
             "comparison": str(RUNS / name)}]
    rows += ablation_rows(seed, stack, corpus)
    if student:
        rows.append(student_row(folder, student, seed, corpus, row.macro_f1, RUNS, f"{name}-student-{student}"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="emotion")
    parser.add_argument("--time-limit", default="30m")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--distill", default=None)
    parser.add_argument("--add", action="store_true", help="add this seed's rows to the newest result of the dataset")
    args = parser.parse_args()
    limit = seconds_of(args.time_limit)
    rows = one_seed(args.dataset, limit, args.seed, args.distill)
    name = f"best-{args.dataset}-{int(limit)}s"
    if args.add:
        older = sorted(RESULTS.glob(f"{name}-2*.json"))
        if older:
            rows = [r for r in json.loads(older[-1].read_text())["rows"] if r["seed"] != args.seed] + rows
    print_table(f"seed {args.seed}", [r for r in rows if r["seed"] == args.seed],
                ["system", "accuracy", "macro_f1", "compare_seconds", "over_limit", "kept_macro_f1", "speedup_batch1",
                 "speedup_batch64"])
    summary = summarise(rows, ("accuracy", "macro_f1", "compare_seconds", "over_limit", "kept_macro_f1",
                               "speedup_batch1", "speedup_batch64"))
    print_table(f"compare --preset best --time-limit {args.time_limit} on {args.dataset}; target: "
                f"{TARGETS.get(args.dataset, '-')}", summary,
                ["system", "seeds", "accuracy", "accuracy_ci95", "macro_f1", "macro_f1_ci95", "compare_seconds",
                 "over_limit", "kept_macro_f1", "speedup_batch1", "speedup_batch64"])
    print("results:", write_results(name, rows, summary=summary, dataset=args.dataset, time_limit_seconds=limit,
                                    target=TARGETS.get(args.dataset)))


if __name__ == "__main__":
    main()
