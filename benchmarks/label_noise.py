"""Label noise on the real datasets: how many texts confident learning (cleanlab, out-of-fold tfidf probabilities)
flags in each split; whether the data's known noise -- training texts that occur more than once with different
labels -- is among them; and whether training on the cleaned training split (flagged texts dropped) changes the test
macro-F1 of tfidf and the LSTM (several seeds, intervals, a paired test). Reported whichever way it goes.

    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/label_noise.py [--datasets emotion,isear,goemotions:ekman,goemotions]
        [--models tfidf,lstm] [--seeds 5] [--lstm-datasets emotion,isear] [--splits train,validation,test]

tfidf is deterministic on fixed data, so its seeds give one model (it runs once and says so). The LSTM on GoEmotions
(43,410 texts, about 4 minutes a run here) runs only where ``--lstm-datasets`` names it.
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from common import print_table, write_results

from emobench.data import audit, load_dataset
from emobench.data.text import normalize_text
from emobench.environment import seed_everything
from emobench.evaluation.statistics import mcnemar, randomization_test
from emobench.experiments.label_issues import apply_cleaning, find_issues
from emobench.experiments.run import evaluate_split
from emobench.models import build_model


def known_noise(corpus, flagged: set[int]) -> dict:
    """Training texts that occur more than once in the training split with different labels: how many are flagged,
    against the share of all training texts flagged."""
    train = corpus["train"]
    labels_of: dict[str, set] = {}
    for text, label in zip(train.texts, train.labels):
        labels_of.setdefault(normalize_text(text), set()).add(tuple(label) if isinstance(label, list) else label)
    rows = [i for i, t in enumerate(train.texts) if len(labels_of[normalize_text(t)]) > 1]
    return {"conflicting_rows": len(rows), "flagged": sum(i in flagged for i in rows),
            "share_flagged": sum(i in flagged for i in rows) / max(len(rows), 1), "base_rate": len(flagged) / len(train)}


def score(model_name: str, corpus, seed: int) -> dict:
    seed_everything(seed)
    model = build_model(model_name)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(corpus["train"], corpus["validation"], corpus.label_names, seed=seed, progress=False)
    seconds = time.perf_counter() - started
    test = evaluate_split(model, corpus["test"])
    logits = model.logits_batched(corpus["test"].texts)
    predicted = model.decide(model.probabilities(logits / model.temperature))
    return {"macro_f1": test["macro"]["f1"], "accuracy": test["accuracy"], "train_seconds": seconds,
            "predicted": predicted, "truth": model.truth(corpus["test"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="emotion,isear,goemotions:ekman,goemotions")
    parser.add_argument("--models", default="tfidf,lstm")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--lstm-datasets", default="emotion,isear")
    parser.add_argument("--splits", default=None, help="splits to audit (default: all; GoEmotions: train,test)")
    parser.add_argument("--results-name", default="label_noise")
    args = parser.parse_args()
    from scipy.stats import t as student, ttest_rel

    audits, trainings = [], []
    for dataset in args.datasets.split(","):
        corpus = load_dataset(dataset)
        splits = args.splits.split(",") if args.splits else (["train", "test"] if dataset.startswith("goemotions")
                                                              else list(corpus.splits))
        started = time.perf_counter()
        issues = find_issues(corpus, splits, folds=5, seed=0)
        seconds = time.perf_counter() - started
        train_flags = issues.flagged_rows("train")
        noise = known_noise(corpus, train_flags)
        row = {"dataset": dataset, "audit_seconds": seconds, **{f"{s}_flagged": issues.splits[s].flagged for s in splits},
               **{f"{s}_n": issues.splits[s].n for s in splits}, **noise,
               "audit_warnings": audit(corpus)["warnings"][:3]}
        audits.append(row)
        print(row, flush=True)
        plan = {"action": "drop", "audit": None, "model": issues.model, "folds": issues.folds, "train_digest": issues.splits["train"].digest,
                "rows": sorted(train_flags), "suggested": None}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cleaned = apply_cleaning(corpus, plan)
        for model_name in args.models.split(","):
            if model_name == "lstm" and dataset not in args.lstm_datasets.split(","):
                continue
            seeds = 1 if model_name == "tfidf" else args.seeds  # tfidf: the same model for every seed
            original, clean, tests = [], [], []
            for seed in range(seeds):
                a, b = score(model_name, corpus, seed), score(model_name, cleaned, seed)
                original.append(a)
                clean.append(b)
                if corpus.multi_label:
                    tests.append(randomization_test(a["truth"], a["predicted"], b["predicted"], "macro_f1",
                                                    num_labels=corpus.num_labels)["p_value"])
                else:
                    tests.append(mcnemar(a["truth"], a["predicted"], b["predicted"])["p_value"])
                print(f"{dataset} {model_name} seed {seed}: original {a['macro_f1']:.4f}, cleaned {b['macro_f1']:.4f}, "
                      f"p {tests[-1]:.3g}", flush=True)
            before = np.array([r["macro_f1"] for r in original])
            after = np.array([r["macro_f1"] for r in clean])
            difference = after - before
            if len(difference) > 1:
                half = student.ppf(0.975, len(difference) - 1) * difference.std(ddof=1) / np.sqrt(len(difference))
                paired = float(ttest_rel(after, before).pvalue) if difference.std() > 0 else 1.0
            else:
                half, paired = None, None
            trainings.append({"dataset": dataset, "model": model_name, "seeds": seeds, "dropped": len(train_flags),
                              "train_texts": len(corpus["train"]),
                              "original_macro_f1": float(before.mean()), "original_sd": float(before.std(ddof=1)) if seeds > 1 else 0.0,
                              "cleaned_macro_f1": float(after.mean()), "cleaned_sd": float(after.std(ddof=1)) if seeds > 1 else 0.0,
                              "difference": float(difference.mean()),
                              "difference_ci": [float(difference.mean() - half), float(difference.mean() + half)] if half is not None else None,
                              "paired_t_p": paired, "per_seed_test_p": tests,
                              "per_seed_test": "McNemar" if not corpus.multi_label else "randomization (macro-F1)"})
            print(trainings[-1], flush=True)
    print_table("label issues flagged per split (tfidf, 5 folds, out of fold; cleanlab)", audits,
                ["dataset", "train_flagged", "train_n", "validation_flagged", "test_flagged", "test_n", "conflicting_rows",
                 "flagged", "share_flagged", "base_rate", "audit_seconds"])
    print_table("test macro-F1, trained on the original and on the cleaned training split (flagged texts dropped)", trainings,
                ["dataset", "model", "seeds", "dropped", "original_macro_f1", "cleaned_macro_f1", "difference",
                 "difference_ci", "paired_t_p", "per_seed_test_p"])
    print("results:", write_results(args.results_name, trainings, audits=audits))


if __name__ == "__main__":
    main()
