"""Train both LSTM variants on dair-ai emotion; accuracy, macro-F1 and wall time on validation and test.

    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/lstm.py [--ablation] [--seed 0]

`--ablation` also trains variants of `lstm` that the default was chosen against (on validation only).
"""
from __future__ import annotations

import argparse
import time

from common import print_table, write_results

from emobench.data import load_dataset
from emobench.environment import seed_everything
from emobench.models import build_model
from emobench.experiments.run import evaluate_split

ABLATION = {
    "lstm, no class weighting": ("lstm", {"class_weight": "none"}),
    "lstm, hidden 64": ("lstm", {"hidden_size": "64"}),
    "lstm, frozen GloVe": ("lstm", {"freeze_embeddings": "true"}),
    "lstm, random embeddings": ("lstm", {"glove": "none"}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ablation", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    corpus = load_dataset("emotion")
    runs = {"lstm": ("lstm", {}), "lstm-paper": ("lstm-paper", {})}
    if args.ablation:
        runs.update(ABLATION)
    rows = []
    for label, (name, overrides) in runs.items():
        seed_everything(args.seed)
        model = build_model(name, overrides)
        started = time.perf_counter()
        model.fit(corpus["train"], corpus["validation"], corpus.label_names, seed=args.seed, progress=False)
        seconds = time.perf_counter() - started
        val = evaluate_split(model, corpus["validation"])
        test = evaluate_split(model, corpus["test"])
        rows.append({"model": label, "name": name, "overrides": overrides, "train_seconds": seconds,
                     "epochs_run": len(model.history), "best_epoch": model.info.get("best_epoch"),
                     "val_accuracy": val.accuracy, "val_macro_f1": val.macro.f1,
                     "test_accuracy": test.accuracy, "test_macro_f1": test.macro.f1,
                     "glove_coverage": model.info.get("glove", {}).get("coverage"), "history": model.history})
        print_table("LSTM on dair-ai emotion", rows[-1:], ["model", "train_seconds", "epochs_run", "val_accuracy",
                                                           "val_macro_f1", "test_accuracy", "test_macro_f1"])
    print_table("LSTM on dair-ai emotion", rows, ["model", "train_seconds", "epochs_run", "val_accuracy",
                                                  "val_macro_f1", "test_accuracy", "test_macro_f1"])
    print("results:", write_results("lstm", rows, seed=args.seed))


if __name__ == "__main__":
    main()
