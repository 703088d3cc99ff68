"""Stacking on 2 CPU cores: a stack (members scored out of fold, a logistic regression on their scores, members retrained
on every text) per seed, beside its ingredients from the very same run -- each member alone and the members' plain
average (the ``mean`` combiner: what ``--ensemble`` does) -- so the ablation costs no extra training. With
``--distill lstm`` each stack is also distilled into a student, and teacher and student are timed through the Predictor
(`emobench predict` / `serve`) at batch 1 and 64 on the test texts.

    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/stack.py --dataset emotion --seeds 3 [--members tfidf+lstm+static]
        [--folds 5] [--distill lstm]

Test scores are means over seeds with 95% t-intervals; the targets are issue 30's.
"""
from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
from common import print_table, write_results

from emobench.data import DatasetConfig
from emobench.evaluation.statistics import mean_interval
from emobench.experiments.distill import distill
from emobench.experiments.run import RunConfig, evaluate_split, train
from emobench.models import load_model
from emobench.serving import Predictor

RUNS = Path(__file__).parent / "runs" / "stack"
TARGETS = {"emotion": "accuracy >= 0.935 and macro-F1 >= 0.90 within 30 min", "isear": "accuracy >= 0.70",
           "goemotions": "macro-F1 >= 0.50"}


def throughput(predictor: Predictor, texts: list[str], batch: int, budget_s: float = 20.0) -> float:
    """Texts a second through the Predictor, ``batch`` at a time (a warm-up batch first; at most ``budget_s``)."""
    predictor.predict(texts[:batch])
    done, started = 0, time.perf_counter()
    while done < len(texts) and time.perf_counter() - started < budget_s:
        predictor.predict(texts[done : done + batch])
        done += batch
    return min(done, len(texts)) / (time.perf_counter() - started)


def scored(model, corpus) -> dict:
    test = evaluate_split(model, corpus["test"])
    return {"accuracy": test.accuracy, "macro_f1": test.macro.f1}


def averaged(stack, corpus):
    """The same members averaged (the mean combiner), calibrated and thresholded on validation like any model."""
    mean = copy.copy(stack)
    mean.head, mean.temperature = None, 1.0
    mean._fit_temperature(corpus["validation"])
    if mean.multi_label:
        mean._fit_thresholds(corpus["train"], corpus["validation"])
    return mean


def ablation_rows(seed: int, stack, corpus) -> list[dict]:
    """The stack's ingredients from the same run: the same members averaged, and each member alone."""
    rows = [{"seed": seed, "system": "mean of the same members", **scored(averaged(stack, corpus), corpus)}]
    for name, member in zip(stack.kept_names(), stack.members):
        rows.append({"seed": seed, "system": f"member {name}", **scored(member, corpus)})
    return rows


def student_row(teacher: Path, student: str, seed: int, corpus, teacher_macro_f1: float, output_dir: Path,
                name: str) -> dict:
    """A student distilled from the teacher run, its share of the teacher's test macro-F1, and both timed through the
    Predictor at batch 1 and 64 on the test texts."""
    run = distill(teacher, student, seed=seed, output_dir=output_dir, progress=False, name=name)
    texts = list(corpus["test"].texts)
    speeds = {f"{who}_per_s_batch{b}": throughput(p, texts, b)
              for who, p in (("teacher", Predictor(teacher)), ("student", Predictor(run.folder))) for b in (1, 64)}
    test = run.metrics.splits["test"]
    return {"seed": seed, "system": f"student {student}", "accuracy": test.accuracy, "macro_f1": test.macro.f1,
            "train_seconds": run.metrics.train_seconds, "kept_macro_f1": test.macro.f1 / teacher_macro_f1, **speeds,
            "speedup_batch1": speeds["student_per_s_batch1"] / speeds["teacher_per_s_batch1"],
            "speedup_batch64": speeds["student_per_s_batch64"] / speeds["teacher_per_s_batch64"],
            "run": str(run.folder)}


def summarise(rows: list[dict], keys: tuple[str, ...]) -> list[dict]:
    """Per system: the mean of each of ``keys`` over seeds, with a 95% t-interval for the scores."""
    out = []
    for system in dict.fromkeys(r["system"] for r in rows):
        chosen = [r for r in rows if r["system"] == system]
        line = {"system": system, "seeds": len(chosen)}
        for key in keys:
            values = [r[key] for r in chosen if r.get(key) is not None]
            if values:
                line[key] = float(np.mean(values))
                if len(values) > 1 and key in ("accuracy", "macro_f1", "kept_macro_f1"):
                    line[f"{key}_ci95"] = list(mean_interval(values)[1:])
        out.append(line)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="emotion")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--members", default="tfidf+lstm+static")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--distill", default=None, help="a student model name (lstm)")
    args = parser.parse_args()
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        config = RunConfig(model="stack", dataset=DatasetConfig(name=args.dataset), seed=seed,
                           overrides={"members": args.members, "folds": str(args.folds)}, output_dir=str(RUNS),
                           name=f"{args.dataset}-f{args.folds}-s{seed}-{int(time.time())}")
        run = train(config, progress=False)
        from emobench.data import load_dataset

        corpus = load_dataset(args.dataset)
        stack = load_model(run.folder)
        test = run.metrics.splits["test"]
        rows.append({"seed": seed, "system": "stack", "accuracy": test.accuracy, "macro_f1": test.macro.f1,
                     "train_seconds": run.metrics.train_seconds,
                     "cross_validated_macro_f1": stack.info.get("cross_validated_macro_f1"),
                     "members": stack.info.get("members"), "run": str(run.folder)})
        rows += ablation_rows(seed, stack, corpus)
        if args.distill:
            rows.append(student_row(run.folder, args.distill, seed, corpus, test.macro.f1, RUNS,
                                    f"{run.folder.name}-student-{args.distill}"))
        print_table(f"{args.dataset}, seed {seed}", [r for r in rows if r["seed"] == seed],
                    ["system", "accuracy", "macro_f1", "train_seconds", "kept_macro_f1", "speedup_batch1",
                     "speedup_batch64"])
    summary = summarise(rows, ("accuracy", "macro_f1", "train_seconds", "kept_macro_f1", "speedup_batch1",
                               "speedup_batch64"))
    print_table(f"stack on {args.dataset} ({args.members}, {args.folds} folds); target: {TARGETS.get(args.dataset, '-')}",
                summary, ["system", "seeds", "accuracy", "accuracy_ci95", "macro_f1", "macro_f1_ci95", "train_seconds",
                          "kept_macro_f1", "speedup_batch1", "speedup_batch64"])
    name = f"stack-{args.dataset}"
    print("results:", write_results(name, rows, summary=summary, dataset=args.dataset, members=args.members,
                                    folds=args.folds, target=TARGETS.get(args.dataset)))


if __name__ == "__main__":
    main()
