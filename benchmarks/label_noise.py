"""Label noise on the real datasets: how many texts confident learning (cleanlab, out-of-fold tfidf probabilities)
flags in each split; whether the data's known noise -- training texts that occur more than once with different
labels -- is among them; and whether training on the cleaned training split (flagged texts dropped) changes the test
macro-F1 of tfidf and the LSTM (several seeds, intervals, a paired test). Reported whichever way it goes.

Two intervals of the difference (cleaned minus original): ``difference_ci`` over seeds (Student t; the LSTM), and per
seed a paired bootstrap over test texts (``per_seed_difference_ci_texts``; the only one a deterministic tfidf has).
Every score is given on all test texts and on the test texts the audit does not flag: the test labels are as noisy as
the training labels, so a model trained around the noise can lose points on the whole split for not repeating it.
The paired tests: a t-test over seeds, and per seed McNemar (single-label) or approximate randomization on macro-F1.

    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/label_noise.py [--datasets emotion,isear,goemotions:ekman,goemotions]
        [--models tfidf,lstm] [--seeds 5] [--lstm-datasets emotion,isear] [--actions drop,relabel]
        [--splits train,validation,test]

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
from emobench.evaluation import compute_metrics
from emobench.evaluation.statistics import (Counts, mcnemar, mean_interval, metric_values, paired_bootstrap,
                                          randomization_test)
from emobench.experiments.label_issues import apply_cleaning, find_issues, plan_from_issues
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


def score(model_name: str, corpus, seed: int, unflagged: np.ndarray) -> dict:
    seed_everything(seed)
    model = build_model(model_name)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(corpus["train"], corpus["validation"], corpus.label_names, seed=seed, progress=False)
    seconds = time.perf_counter() - started
    logits = model.logits_batched(corpus["test"].texts)
    predicted = np.asarray(model.decide(model.probabilities(logits / model.temperature)))
    truth = np.asarray(model.truth(corpus["test"]))
    test = compute_metrics(truth, predicted, model.label_names)
    clean = metric_values(Counts(truth[unflagged], predicted[unflagged], corpus.num_labels).totals(), "macro_f1")[0]
    print(f"  {corpus.name} {model_name} seed {seed} on {len(corpus['train'])} training texts: test macro-F1 "
          f"{test.macro.f1:.4f}, on the unflagged test texts {clean:.4f} ({seconds:.0f} s)", flush=True)
    return {"macro_f1": test.macro.f1, "macro_f1_unflagged": float(clean), "accuracy": test.accuracy,
            "train_seconds": seconds, "predicted": predicted, "truth": truth}


def interval(values: np.ndarray) -> list[float] | None:
    """95% Student-t interval of a mean over seeds (None for one seed)."""
    return list(mean_interval(values)[1:]) if len(values) > 1 else None


def compare_runs(dataset: str, model_name: str, action: str, original: list[dict], clean: list[dict], corpus,
                 flagged: int) -> dict:
    """Cleaned against original training data: means, the difference with its intervals (over seeds; per seed over
    test texts), a paired t-test over seeds and a paired test per seed."""
    from scipy.stats import ttest_rel

    row = {"dataset": dataset, "model": model_name, "action": action, "seeds": len(original), "flagged": flagged,
           "train_texts": len(corpus["train"])}
    for metric in ("macro_f1", "macro_f1_unflagged"):
        before = np.array([r[metric] for r in original])
        after = np.array([r[metric] for r in clean])
        difference = after - before
        row.update({f"original_{metric}": float(before.mean()), f"cleaned_{metric}": float(after.mean()),
                    f"difference_{metric}": float(difference.mean()), f"difference_ci_{metric}": interval(difference),
                    f"paired_t_p_{metric}": (float(ttest_rel(after, before).pvalue) if difference.std() > 0 else 1.0)
                    if len(difference) > 1 else None,
                    f"per_seed_{metric}": [[float(a), float(b)] for a, b in zip(before, after)]})
    tests, texts = [], []
    for a, b in zip(original, clean):
        if corpus.multi_label:
            tests.append(randomization_test(a["truth"], a["predicted"], b["predicted"], "macro_f1",
                                            num_labels=corpus.num_labels)["p_value"])
        else:
            tests.append(mcnemar(a["truth"], a["predicted"], b["predicted"])["p_value"])
        # test-text uncertainty of this seed's difference: the only interval a deterministic model has
        _, low, high = paired_bootstrap(a["truth"], a["predicted"], b["predicted"], "macro_f1", num_labels=corpus.num_labels)
        texts.append([low, high])
    row.update({"per_seed_test": "randomization (macro-F1)" if corpus.multi_label else "McNemar", "per_seed_test_p": tests,
                "per_seed_difference_ci_texts": texts, "difference_ci_texts_seed0": texts[0],
                "train_seconds": [[r["train_seconds"] for r in original], [r["train_seconds"] for r in clean]]})
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="emotion,isear,goemotions:ekman,goemotions")
    parser.add_argument("--models", default="tfidf,lstm")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--lstm-datasets", default="emotion,isear")
    parser.add_argument("--actions", default="drop,relabel", help="what training on the cleaned split does with the "
                        "flagged texts: drop them, relabel them with the suggestion, or both (each against the original)")
    parser.add_argument("--splits", default=None, help="splits to audit (default: all; GoEmotions: train,test)")
    parser.add_argument("--results-name", default="label_noise")
    args = parser.parse_args()
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
               **{f"{s}_n": issues.splits[s].n for s in splits},
               **{f"{s}_model_macro_f1": issues.splits[s].model_macro_f1 for s in splits}, **noise,
               "label_issue_warnings": issues.warnings,
               "audit_warnings": audit(corpus).warnings[:3]}
        audits.append(row)
        print(row, flush=True)
        cleaned = {}
        for action in args.actions.split(","):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cleaned[action] = apply_cleaning(corpus, plan_from_issues(issues, action))
        # the test texts the audit did not flag: a cleaner yardstick than the whole test split, whose labels are as
        # noisy as the training labels (a model trained around the noise can lose points for not repeating it)
        unflagged = np.array(sorted(set(range(len(corpus["test"]))) - issues.flagged_rows("test")))
        for model_name in args.models.split(","):
            if model_name == "lstm" and dataset not in args.lstm_datasets.split(","):
                continue
            seeds = 1 if model_name == "tfidf" else args.seeds  # tfidf: the same model for every seed
            runs = {"original": []}
            for seed in range(seeds):
                runs["original"].append(score(model_name, corpus, seed, unflagged))
                for action, data in cleaned.items():
                    runs.setdefault(action, []).append(score(model_name, data, seed, unflagged))
            for action in cleaned:
                trainings.append(compare_runs(dataset, model_name, action, runs["original"], runs[action], corpus,
                                              len(train_flags)))
                print(trainings[-1], flush=True)
    print_table("label issues flagged per split (tfidf, 5 folds, out of fold; cleanlab)", audits,
                ["dataset", "train_flagged", "train_n", "train_model_macro_f1", "validation_flagged", "test_flagged", "test_n",
                 "test_model_macro_f1", "conflicting_rows", "flagged", "share_flagged", "base_rate", "audit_seconds"])
    print_table("test macro-F1, trained on the original and on the cleaned training split (flagged texts dropped or "
                "relabelled): on all test texts", trainings,
                ["dataset", "model", "action", "seeds", "flagged", "original_macro_f1", "cleaned_macro_f1",
                 "difference_macro_f1", "difference_ci_macro_f1", "paired_t_p_macro_f1", "difference_ci_texts_seed0",
                 "per_seed_test_p"])
    print_table("the same, on the test texts the audit did not flag", trainings,
                ["dataset", "model", "action", "seeds", "original_macro_f1_unflagged", "cleaned_macro_f1_unflagged",
                 "difference_macro_f1_unflagged", "difference_ci_macro_f1_unflagged", "paired_t_p_macro_f1_unflagged"])
    print("results:", write_results(args.results_name, trainings, audits=audits))


if __name__ == "__main__":
    main()
