"""Cross-dataset transfer with the labels both sides share, both directions, with 95% bootstrap intervals:
dair-ai-trained models scored on GoEmotions-Ekman test, GoEmotions-Ekman-trained models scored on dair-ai test.

    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/transfer.py [--models tfidf,lstm]

Runs `emobench compare --transfer` twice (comparisons under benchmarks/runs/transfer/) and prints each
model in domain beside out of domain, with the majority-class rate of the target data.
"""
from __future__ import annotations

import argparse
import shutil
from dataclasses import asdict
from pathlib import Path

from common import print_table, write_results

from emobench.data import DatasetConfig
from emobench.experiments.study import CompareConfig, run_comparison

DIRECTIONS = [("emotion", "goemotions:ekman"), ("goemotions:ekman", "emotion")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default="tfidf,lstm")
    parser.add_argument("--output", default=str(Path(__file__).parent / "runs" / "transfer"))
    args = parser.parse_args()
    rows = []
    for source, target in DIRECTIONS:
        name = f"{source.replace(':', '-')}-to-{target.replace(':', '-')}"
        shutil.rmtree(Path(args.output) / name, ignore_errors=True)
        record = run_comparison(CompareConfig(dataset=DatasetConfig(name=source), models=args.models.split(","),
                                              output_dir=args.output, name=name, transfer=DatasetConfig(name=target)),
                                log=print)
        folder = record.folder
        for t in map(asdict, record.transfer_results):
            rows.append({"trained on": source, "scored on": target, "model": t["name"],
                         "in-domain macro_f1": t["in_domain"]["macro_f1"], "in-domain accuracy": t["in_domain"]["accuracy"],
                         "transfer macro_f1": t["scores"]["macro_f1"]["value"],
                         "macro_f1 CI": f"[{t['scores']['macro_f1']['low']:.3f}, {t['scores']['macro_f1']['high']:.3f}]",
                         "hit rate": t["hit_rate"]["value"],
                         "hit rate CI": f"[{t['hit_rate']['low']:.3f}, {t['hit_rate']['high']:.3f}]",
                         "majority rate": t["majority_rate"], "majority label": t["majority_label"],
                         "shared labels": ",".join(t["shared_labels"]), "kept": t["kept"], "dropped": t["dropped"],
                         "report": str(folder / "report.html")})
    print_table("transfer on the shared labels (test splits)", rows,
                ["trained on", "scored on", "model", "in-domain macro_f1", "transfer macro_f1", "macro_f1 CI", "hit rate",
                 "hit rate CI", "majority rate", "kept", "dropped"])
    print("results:", write_results("transfer", rows))


if __name__ == "__main__":
    main()
