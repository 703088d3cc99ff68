"""Fine-tune all-MiniLM-L6-v2 (and fit the frozen-features variant) on a dataset; per-class report, and on
ISEAR the reference paper's Table 2 beside it. Each model is an ordinary run directory under runs/.

    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/minilm.py --dataset emotion [--preset fast] [--skip-features]
"""
from __future__ import annotations

import argparse

from common import print_table, write_results

from emobench.data import DatasetConfig
from emobench.evaluation import classification_report_text
from emobench.experiments.run import RunConfig, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="emotion")
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--set", action="append", default=[], help="key=value overrides for the fine-tuned model")
    parser.add_argument("--skip-features", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default="runs")
    args = parser.parse_args()
    overrides = dict(pair.split("=", 1) for pair in args.set)
    jobs = [("minilm", args.preset, overrides)]
    if not args.skip_features:
        jobs.append(("minilm-features", None, {}))
    rows = []
    for name, preset, extra in jobs:
        run = train(RunConfig(model=name, preset=preset, overrides=extra, seed=args.seed, output_dir=args.output_dir,
                              dataset=DatasetConfig(name=args.dataset)), progress=True)
        metrics = run.metrics.model_dump(mode="json")
        test = metrics["splits"]["test"]
        print(f"\n{name} ({preset or 'default'}) on {args.dataset} test:\n{classification_report_text(run.metrics.splits['test'])}", flush=True)
        rows.append({"model": name, "preset": preset, "run": str(run.folder), "train_seconds": metrics["train_seconds"],
                     "epochs": len(run.history or []),
                     "val_accuracy": metrics["splits"]["validation"]["accuracy"],
                     "val_macro_f1": metrics["splits"]["validation"]["macro"]["f1"],
                     "test_accuracy": test["accuracy"], "test_macro_f1": test["macro"]["f1"],
                     "per_class": test["per_class"], "params": run.config.params})
    print_table(f"MiniLM-L6 on {args.dataset}", rows, ["model", "preset", "train_seconds", "epochs", "val_accuracy",
                                                        "val_macro_f1", "test_accuracy", "test_macro_f1"])
    if args.dataset == "isear":
        from emobench.data.references import ISEAR_PAPER

        for row in rows:
            print(f"\n{row['model']} vs the paper (precision/recall/F1 per class)")
            for cls, ours in row["per_class"].items():
                paper = " | ".join(f"{m} {v[cls][0]:.2f}/{v[cls][1]:.2f}/{v[cls][2]:.2f}" for m, v in ISEAR_PAPER.per_class.items())
                print(f"  {cls:8s} ours {ours['precision']:.2f}/{ours['recall']:.2f}/{ours['f1']:.2f} | {paper}")
    print("results:", write_results(f"minilm-{args.dataset}", rows, seed=args.seed))


if __name__ == "__main__":
    main()
