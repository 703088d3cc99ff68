"""GoEmotions (multi-label) on its test split, beside the published BERT-base macro-F1 (0.46, Demszky et al. 2020).

    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/goemotions.py [--models tfidf] [--variants goemotions,goemotions:ekman]
        [--set minilm.epochs=1 ...]

Each model is trained as an ordinary run (thresholds tuned on validation) under benchmarks/runs/goemotions/;
the table shows test macro-F1, micro-F1, samples-F1, subset accuracy and Hamming loss, with training time.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from common import print_table, write_results

from emobench.data import DatasetConfig
from emobench.experiments.run import RunConfig, train
from emobench.records.model import open_model

# shared/docs/reference-results.md
PUBLISHED = {"goemotions": "BERT-base macro-F1 0.46 (Demszky et al. 2020, threshold 0.3); TF-IDF+LR best micro-F1 0.51 "
                           "(Harutyunyan & Kumar 2026)",
             "goemotions:ekman": "Demszky et al. 2020 report the Ekman grouping too (not in the reference notes)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default="tfidf")
    parser.add_argument("--variants", default="goemotions,goemotions:ekman")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="MODEL.key=value")
    parser.add_argument("--output", default=str(Path(__file__).parent / "runs" / "goemotions"))
    args = parser.parse_args()
    overrides: dict[str, dict] = {}
    for pair in args.overrides:
        key, _, value = pair.partition("=")
        model, _, name = key.rpartition(".")
        overrides.setdefault(model, {})[name] = value
    rows = []
    for variant in args.variants.split(","):
        for model in args.models.split(","):
            name = f"{variant.replace(':', '-')}-{model}"
            for folder in (name, f"{name}.partial"):  # this benchmark's own runs, finished or interrupted
                shutil.rmtree(Path(args.output) / folder, ignore_errors=True)
            run = train(RunConfig(model=model, dataset=DatasetConfig(name=variant), overrides=overrides.get(model, {}),
                                  output_dir=args.output, name=name))
            metrics = run.metrics.model_dump(mode="json")
            test, info = metrics["splits"]["test"], open_model(run.folder / "model")[1].model_dump(mode="json")
            rows.append({"dataset": variant, "model": model, "labels": len(test["per_class"]),
                         "macro_f1": test["macro"]["f1"], "micro_f1": test["micro"]["f1"], "samples_f1": test["samples"]["f1"],
                         "subset_accuracy": test["subset_accuracy"], "hamming_loss": test["hamming_loss"],
                         "validation_macro_f1": metrics["splits"]["validation"]["macro"]["f1"],
                         "thresholds": info["decision"]["kind"], "train_seconds": metrics["train_seconds"],
                         "overrides": overrides.get(model, {}), "published": PUBLISHED.get(variant), "run": str(run.folder)})
            print(json.dumps(rows[-1]), flush=True)
    print_table("GoEmotions test split", rows, ["dataset", "model", "macro_f1", "micro_f1", "samples_f1", "subset_accuracy",
                                                "hamming_loss", "thresholds", "train_seconds", "published"])
    print("results:", write_results("goemotions", rows))


if __name__ == "__main__":
    main()
