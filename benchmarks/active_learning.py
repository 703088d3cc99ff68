"""Which texts to label next, measured: a learning curve of active selection (``emobench data suggest``'s default
strategy, evaluation/active.py) against random selection, on dair-ai.

    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/active_learning.py [--model fewshot] [--set key=value]
        [--start 8] [--step 48] [--rounds 5] [--seeds 3] [--strategy diverse] [--pool-size N] [--budget-validation]

Each seed starts from emobench's data budget of ``--start`` labelled texts per class (the same texts for both arms),
then runs ``--rounds`` rounds: the model trained on the labelled texts scores the rest of the training split (its
labels are read only for the texts chosen, when they join the labelled set), ``--step`` texts are chosen by the
strategy or at random, and the model is trained again. Round 0 is the shared start. Measured per round: test macro-F1
and accuracy (mean over seeds and the 95% Student-t interval), the paired difference active minus random with its
interval, training seconds. ``--pool-size``: each round the strategy sees a random sample of this many of the
remaining texts (a model that encodes 16,000 texts a round on 2 CPU cores spends most of its time there); random
selection draws from the same sample. ``--unlabeled-rest``: families that learn from unlabeled texts also get the
remaining texts (without labels) as their pool.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import print_table, scores, write_results  # noqa: E402

CONTROL = "random"


def parse_sets(pairs: list[str]) -> dict:
    from emobench.cli.options import parse_overrides

    return parse_overrides(pairs)


def fit(args, corpus, rows: list[int], rest: list[int], seed: int):
    """The family trained on the labelled ``rows`` of the full training split: (model, seconds)."""
    from emobench.environment import seed_everything
    from emobench.models import build_model
    from emobench.models.registry import resolve

    seed_everything(seed)
    model = build_model(args.model, parse_sets(args.set))
    inputs = {}
    if args.unlabeled_rest and resolve(args.model).takes("unlabeled"):
        inputs["unlabeled"] = [corpus["train"].texts[i] for i in rest]
    validation = corpus["validation"] if len(corpus["validation"]) else None
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a small training set's notes; the benchmark measures, the CLI warns
        model.fit(corpus["train"].subset(rows), validation, corpus.label_names, seed=seed, progress=False, **inputs)
    return model, time.perf_counter() - started


def choose(args, model, corpus, rest: list[int], strategy: str, seed: int, round_: int) -> list[int]:
    """``--step`` rows of ``rest`` (the remaining training rows) chosen by ``strategy``; only their labels are read
    afterwards, when they join the labelled set."""
    from emobench.evaluation.active import select

    rng = np.random.default_rng([seed, round_])
    sample = list(rest) if not args.pool_size or args.pool_size >= len(rest) else \
        sorted(rng.choice(rest, size=args.pool_size, replace=False).tolist())
    texts = [corpus["train"].texts[i] for i in sample]
    probs = np.zeros((len(texts), corpus.num_labels)) if strategy == CONTROL else model.predict_proba_batched(texts)
    thresholds = np.asarray(model.decision.thresholds) if model.multi_label else None
    chosen = select(probs, texts, args.step, strategy, seed=seed * 1000 + round_, thresholds=thresholds,
                    pool_factor=args.pool_factor)
    return [sample[i] for i in chosen.indices]


def curve(args, corpus, start: list[int], strategy: str, seed: int, first: dict) -> list[dict]:
    """One arm of one seed: the score after each round (round 0, shared, is ``first``)."""
    rows, points, model = list(start), [first], first.pop("model")
    rest = sorted(set(range(len(corpus["train"]))) - set(rows))
    for round_ in range(1, args.rounds + 1):
        picked = choose(args, model, corpus, rest, strategy, seed, round_)
        rows += picked
        rest = sorted(set(rest) - set(picked))
        model, seconds = fit(args, corpus, rows, rest, seed)
        points.append({"labelled": len(rows), **scores(corpus, model.predict_proba_batched), "seconds": seconds})
        print(f"  seed {seed} {strategy} round {round_}: {len(rows)} labelled, test macro-F1 "
              f"{points[-1]['macro_f1']:.4f} ({seconds:.1f} s)", flush=True)
    return points


def one_seed(args, full, seed: int) -> dict[str, list[dict]]:
    from emobench.data.budgets import apply_budget

    budgeted = apply_budget(full, str(args.start), seed, validation=args.budget_validation)
    # the full training split (the rest is chosen from it); the validation split as the budget left it
    corpus = dataclasses.replace(full, splits={**full.splits, "validation": budgeted["validation"]})
    start = list(budgeted.source.budget.rows["train"])
    rest = sorted(set(range(len(corpus["train"]))) - set(start))
    model, seconds = fit(args, corpus, start, rest, seed)
    first = {"labelled": len(start), **scores(corpus, model.predict_proba_batched), "seconds": seconds}
    print(f"  seed {seed} start: {len(start)} labelled, test macro-F1 {first['macro_f1']:.4f} ({seconds:.1f} s)",
          flush=True)
    return {arm: curve(args, corpus, start, arm, seed, {**first, "model": model})
            for arm in (args.strategy, CONTROL)}


def summary(args, runs: list[dict[str, list[dict]]]) -> list[dict]:
    """Per round and arm: means and intervals over seeds; per round, the paired difference active minus random."""
    from emobench.evaluation.statistics import mean_interval

    rows = []
    for round_ in range(args.rounds + 1):
        for arm in (args.strategy, CONTROL):
            points = [run[arm][round_] for run in runs]
            row = {"round": round_, "selection": arm, "labelled": points[0]["labelled"], "seeds": len(points)}
            for metric in ("macro_f1", "accuracy"):
                mean, low, high = mean_interval([p[metric] for p in points])
                row.update({metric: mean, f"{metric}_ci": [low, high] if len(points) > 1 else None,  # none from one seed
                            f"{metric}_per_seed": [p[metric] for p in points]})
            row["train_seconds"] = float(np.mean([p["seconds"] for p in points]))
            if arm == args.strategy:
                mean, low, high = mean_interval([run[arm][round_]["macro_f1"] - run[CONTROL][round_]["macro_f1"]
                                                 for run in runs])
                row.update({"macro_f1_gain": mean, "macro_f1_gain_ci": [low, high] if len(runs) > 1 else None})
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> Path:
    from emobench.data import load_dataset
    from emobench.evaluation.active import DEFAULT_STRATEGY, POOL_FACTOR, STRATEGIES

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="emotion")
    parser.add_argument("--model", default="fewshot", help="the family (default: fewshot)")
    parser.add_argument("--set", action="append", default=[], help="hyper-parameter key=value (repeatable)")
    parser.add_argument("--start", type=int, default=8, help="labelled texts per class to start from (a data budget)")
    parser.add_argument("--step", type=int, default=48, help="texts labelled each round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--strategy", default=DEFAULT_STRATEGY, choices=[s for s in STRATEGIES if s != CONTROL])
    parser.add_argument("--pool-factor", type=int, default=POOL_FACTOR, help="diverse: candidates per pick")
    parser.add_argument("--pool-size", type=int, default=0, help="remaining texts each round sees (0: all)")
    parser.add_argument("--budget-validation", action="store_true", help="cut the validation split like the training")
    parser.add_argument("--unlabeled-rest", action="store_true", help="families taking unlabeled texts get the rest")
    parser.add_argument("--results-name", default="active_learning")
    args = parser.parse_args(argv)
    if min(args.start, args.step, args.rounds, args.seeds) < 1 or args.pool_size < 0:
        parser.error("--start, --step, --rounds and --seeds are at least 1; --pool-size at least 0")
    full = load_dataset(args.dataset)
    started = time.perf_counter()
    runs = [one_seed(args, full, seed) for seed in range(args.seeds)]
    rows = summary(args, runs)
    print_table(f"active ({args.strategy}) vs random selection: {args.model} on {args.dataset}, {args.seeds} seed(s)",
                rows, ["round", "selection", "labelled", "macro_f1", "macro_f1_ci", "macro_f1_gain", "macro_f1_gain_ci",
                       "accuracy", "train_seconds"])
    path = write_results(args.results_name, rows, dataset=args.dataset, model=args.model, overrides=args.set,
                         start_per_class=args.start, step=args.step, rounds=args.rounds, seeds=args.seeds,
                         strategy=args.strategy, pool_factor=args.pool_factor, pool_size=args.pool_size or None,
                         budget_validation=args.budget_validation, unlabeled_rest=args.unlabeled_rest,
                         seconds=time.perf_counter() - started)
    print(f"results written to {path}")
    return path


if __name__ == "__main__":
    main()
