"""emobench's families against what a user would pick instead, side by side in one run, each peer through its own
library with its documented defaults: SetFit's Trainer, model2vec's StaticModelForClassification, the Hugging Face
Trainer fine-tuning MiniLM, scikit-learn TF-IDF + LogisticRegression (the common public baseline) and fastText.

    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/peers.py [--datasets emotion,isear,goemotions]
        [--sizes 8,16,64,all] [--seeds 3] [--slow-sizes 8,16] [--slow-seeds 3]

Budgets are texts per class, drawn by emobench's data budgets (the same texts for every system at a size and seed);
validation and test are the whole splits (systems that take a validation split get ours). Every (system, dataset,
size, seed) runs in its own process, alone on the machine, so its peak memory (max RSS) is its own. Measured: test
macro-F1 and accuracy, train seconds (a static model's distillation is cached and timed apart, for both
model2vec and emobench), inference texts/s at batch 1 (one call per text, the first 300 test texts) and at batch 64,
and emobench's own per-call overhead at batch 1 (``Predictor.predict`` minus the model's ``logits``). The slow systems
(SetFit, emobench setfit, the HF Trainer) run at ``--slow-sizes`` only: at 64 per class one SetFit run is about
7 minutes on 2 cores, at the full size hours. Then a speed duel: emobench static against model2vec's own classifier,
in one process, timed alternately, best of 7. Ratios are printed against the best peer at each budget.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import (fit_emobench, load, minilm_folder, print_table, run_child, scores,  # noqa: E402
                    training_seconds, write_results)

EMOBENCH = ["emobench tfidf", "emobench lstm", "emobench static", "emobench setfit"]
PEERS = ["sklearn TF-IDF+LR", "fastText", "model2vec", "SetFit", "HF Trainer MiniLM"]
SLOW = {"emobench setfit", "SetFit", "HF Trainer MiniLM"}
SINGLE_LABEL_ONLY = {"emobench setfit", "SetFit", "HF Trainer MiniLM", "emobench lstm"}  # too slow for GoEmotions here
BATCH1_TEXTS = 300


# ---------------------------------------------------------------- the systems: fit, then a probabilities function


def emobench_system(name: str, corpus, seed: int):
    from emobench.models.registry import small_data

    model_name = name.split()[1]
    # on a budget, the family's small-data defaults, as `compare --train-sizes` uses them
    overrides = small_data(model_name) if len(corpus["train"]) < 4000 else {}
    return fit_emobench(model_name, overrides, corpus, seed, Path(tempfile.mkdtemp(prefix="peers-")) / "model")


def sklearn_system(corpus, seed: int):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline

    started = time.perf_counter()
    y = corpus["train"].label_matrix(corpus.num_labels) if corpus.multi_label else corpus["train"].labels
    head = LogisticRegression(max_iter=1000, random_state=seed)
    pipe = make_pipeline(TfidfVectorizer(), OneVsRestClassifier(head) if corpus.multi_label else head)
    pipe.fit(corpus["train"].texts, y)
    seconds = time.perf_counter() - started
    classes = list(pipe.classes_) if not corpus.multi_label else list(range(corpus.num_labels))

    def proba(texts):
        p = pipe.predict_proba(texts)
        out = np.zeros((len(texts), corpus.num_labels))
        out[:, classes] = p
        return out
    return seconds, proba, {}


def fasttext_system(corpus, seed: int):
    import fasttext

    started = time.perf_counter()
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as handle:
        for text, labels in zip(corpus["train"].texts, corpus["train"].labels):
            ids = labels if corpus.multi_label else [labels]
            handle.write(" ".join(f"__label__{i}" for i in ids) + " " + " ".join(text.split()) + "\n")
    model = fasttext.train_supervised(input=handle.name, seed=seed, thread=1, verbose=0,
                                      **({"loss": "ova"} if corpus.multi_label else {}))
    os.unlink(handle.name)
    seconds = time.perf_counter() - started

    def proba(texts):
        # model.predict on a list returns every label with the top label's probability under NumPy 2
        # (fasttext-wheel 0.9.2), and on one string it raises; the binding's per-line predict is right.
        out = np.zeros((len(texts), corpus.num_labels))
        for row, text in enumerate(texts):
            for p, label in model.f.predict(" ".join(text.split()) + "\n", -1, 0.0, "strict"):
                out[row, int(label.replace("__label__", ""))] = p
        return out
    return seconds, proba, {}


def model2vec_static():
    """model2vec's static model of MiniLM, distilled once for the benchmark (cached on disk, timed apart)."""
    from model2vec import StaticModel
    from model2vec.distill import distill

    folder = Path(os.environ.get("EMOBENCH_CACHE") or Path.home() / ".cache" / "emobench") / "peers-model2vec"
    if (folder / "config.json").is_file():
        return StaticModel.from_pretrained(str(folder)), None
    started = time.perf_counter()
    static = distill(minilm_folder(), pca_dims=256)
    static.save_pretrained(str(folder))
    return static, time.perf_counter() - started


def model2vec_system(corpus, seed: int):
    from model2vec.train import StaticModelForClassification

    static, distilled = model2vec_static()
    names = corpus.label_names

    def labels_of(split):
        return [[names[i] for i in y] for y in split.labels] if corpus.multi_label else [names[y] for y in split.labels]

    model = StaticModelForClassification.from_static_model(model=static)
    started = time.perf_counter()
    # without a validation split, model2vec's own default: it holds out part of the training texts
    held = {"X_val": corpus["validation"].texts, "y_val": labels_of(corpus["validation"])} if len(corpus["validation"]) else {}
    model.fit(corpus["train"].texts, labels_of(corpus["train"]), random_seed=seed, device="cpu", **held)
    seconds = time.perf_counter() - started
    classes = [str(c) for c in model.classes_]

    def proba(texts):
        p = model.predict_proba(list(texts))
        out = np.zeros((len(texts), len(names)))
        for j, c in enumerate(classes):
            out[:, names.index(c)] = p[:, j]
        return out
    return seconds, proba, {"distill_seconds": distilled}


MPNET = "sentence-transformers/all-mpnet-base-v2"


def setfit_mpnet_system(corpus, seed: int):
    """SetFit on all-mpnet-base-v2 (the `mpnet` extra's offline folder), loaded as SetFit loads a hub body."""
    from sentence_transformers import SentenceTransformer

    from emobench.models.bodies import offline_body

    return setfit_system(corpus, seed, SentenceTransformer(str(offline_body(MPNET)), device="cpu"))


def setfit_system(corpus, seed: int, body=None):
    from sentence_transformers import SentenceTransformer, models
    from setfit import SetFitModel, Trainer, TrainingArguments
    from sklearn.linear_model import LogisticRegression

    if body is None:
        transformer = models.Transformer(minilm_folder(), max_seq_length=256)
        body = SentenceTransformer(modules=[transformer, models.Pooling(transformer.get_word_embedding_dimension(),
                                                                        "mean"), models.Normalize()], device="cpu")
    model = SetFitModel(model_body=body, model_head=LogisticRegression())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        from datasets import Dataset

        data = Dataset.from_dict({"text": corpus["train"].texts, "label": corpus["train"].labels})
        args = TrainingArguments(output_dir=scratch, batch_size=16, num_iterations=20, num_epochs=1, seed=seed,
                                 report_to="none", save_strategy="no", show_progress_bar=False, logging_strategy="no")
        Trainer(model=model, args=args, train_dataset=data).train()
    seconds = time.perf_counter() - started
    classes = list(model.model_head.classes_)

    def proba(texts):
        p = np.asarray(model.predict_proba(list(texts)))
        out = np.zeros((len(texts), corpus.num_labels))
        out[:, classes] = p
        return out
    return seconds, proba, {}


def hf_trainer_system(corpus, seed: int):
    import torch
    from datasets import Dataset
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                              TrainingArguments)

    folder = minilm_folder()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=corpus.num_labels)
    data = Dataset.from_dict({"text": corpus["train"].texts, "label": corpus["train"].labels}).map(
        lambda b: tokenizer(b["text"], truncation=True), batched=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        args = TrainingArguments(output_dir=scratch, seed=seed, report_to="none", save_strategy="no",
                                 logging_strategy="no", disable_tqdm=True, use_cpu=True)  # the documented defaults
        Trainer(model=model, args=args, train_dataset=data, data_collator=DataCollatorWithPadding(tokenizer)).train()
    seconds = time.perf_counter() - started
    model.eval()

    @torch.inference_mode()
    def proba(texts):
        batch = tokenizer(list(texts), truncation=True, padding=True, return_tensors="pt")
        return torch.softmax(model(**batch).logits, dim=-1).numpy()
    return seconds, proba, {}


SYSTEMS = {"sklearn TF-IDF+LR": sklearn_system, "fastText": fasttext_system, "model2vec": model2vec_system,
           "SetFit": setfit_system, "HF Trainer MiniLM": hf_trainer_system}


# ---------------------------------------------------------------- one measurement, in its own process


def speed(proba, texts: list[str]) -> dict:
    proba(texts[:64])  # warm-up
    started = time.perf_counter()
    for text in texts[:BATCH1_TEXTS]:
        proba([text])
    one = BATCH1_TEXTS / (time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(0, len(texts), 64):
        proba(texts[i : i + 64])
    return {"texts_per_second_batch1": one, "texts_per_second_batch64": len(texts) / (time.perf_counter() - started)}


def overhead(model, predictor, texts: list[str], repeats: int = 3) -> float:
    """emobench's own milliseconds per call at batch 1: Predictor.predict minus the model's logits, best of repeats."""
    best = None
    for _ in range(repeats):
        started = time.perf_counter()
        for text in texts[:BATCH1_TEXTS]:
            model.logits([text])
        own = time.perf_counter() - started
        started = time.perf_counter()
        for text in texts[:BATCH1_TEXTS]:
            predictor.predict([text])
        whole = time.perf_counter() - started
        value = (whole - own) / BATCH1_TEXTS * 1000
        best = value if best is None else min(best, value)
    return best


def one(system: str, dataset: str, size: str, seed: int) -> dict:
    from emobench.environment import seed_everything

    seed_everything(seed)
    corpus = load(dataset, size, seed)
    extra = {}
    if system.startswith("emobench"):
        seconds, proba, model, predictor, info = emobench_system(system, corpus, seed)
        extra["overhead_ms_batch1"] = overhead(model, predictor, corpus["test"].texts)
        seconds, timed_apart = training_seconds(seconds, info)
        extra.update(timed_apart)
    else:
        seconds, proba, extra = SYSTEMS[system](corpus, seed)
    return {"system": system, "dataset": dataset, "size": size, "seed": seed, "train_texts": len(corpus["train"]),
            "train_seconds": seconds, **scores(corpus, proba), **speed(proba, corpus["test"].texts), **extra,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


# ---------------------------------------------------------------- the duel: static against model2vec, one process


def duel(dataset: str, size: str, rounds: int = 7) -> dict:
    """emobench static and model2vec's own classifier trained on the same texts, then timed alternately in one
    process (best of ``rounds``) at batch 1 and 64: the same machine state for both."""
    corpus = load(dataset, size, 0)
    _, ours_proba, model, _, _ = emobench_system("emobench static", corpus, 0)
    _, theirs_proba, _ = model2vec_system(corpus, 0)
    texts = corpus["test"].texts
    best = {}
    for _ in range(rounds):
        for name, proba in (("emobench static", ours_proba), ("model2vec", theirs_proba)):
            for key, value in speed(proba, texts).items():
                best[(name, key)] = max(best.get((name, key), 0), value)
    return {"dataset": dataset, "size": size, "rounds": rounds,
            **{f"{name} {key}": value for (name, key), value in best.items()},
            "ratio_batch1": best[("emobench static", "texts_per_second_batch1")] / best[("model2vec", "texts_per_second_batch1")],
            "ratio_batch64": best[("emobench static", "texts_per_second_batch64")] / best[("model2vec", "texts_per_second_batch64")],
            "macro_f1 emobench static": scores(corpus, ours_proba)["macro_f1"], "macro_f1 model2vec": scores(corpus, theirs_proba)["macro_f1"]}


def summarise(rows: list[dict]) -> list[dict]:
    """Mean (and spread) over seeds of each (dataset, size, system); the ratio to the best peer at that budget."""
    groups: dict = {}
    for r in rows:
        if "error" not in r:
            groups.setdefault((r["dataset"], r["size"], r["system"]), []).append(r)
    out = []
    for (dataset, size, system), found in groups.items():
        f1 = [r["macro_f1"] for r in found]
        out.append({"dataset": dataset, "size": size, "system": system, "seeds": len(found),
                    "macro_f1": float(np.mean(f1)), "macro_f1_sd": float(np.std(f1, ddof=1)) if len(f1) > 1 else 0.0,
                    "accuracy": float(np.mean([r["accuracy"] for r in found])),
                    "train_seconds": float(np.mean([r["train_seconds"] for r in found])),
                    "texts_per_second_batch1": float(np.mean([r["texts_per_second_batch1"] for r in found])),
                    "texts_per_second_batch64": float(np.mean([r["texts_per_second_batch64"] for r in found])),
                    "peak_rss_mb": float(np.max([r["peak_rss_mb"] for r in found])),
                    "overhead_ms_batch1": float(np.mean([r["overhead_ms_batch1"] for r in found]))
                    if "overhead_ms_batch1" in found[0] else None})
    for row in out:
        peers = [r for r in out if r["dataset"] == row["dataset"] and r["size"] == row["size"] and r["system"] in PEERS]
        best = max(peers, key=lambda r: r["macro_f1"], default=None)
        row["best_peer"] = best["system"] if best else None
        row["vs_best_peer"] = row["macro_f1"] / best["macro_f1"] if best and best["macro_f1"] else None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="emotion,isear,goemotions")
    parser.add_argument("--sizes", default="8,16,64,all")
    parser.add_argument("--seeds", type=int, default=3, help="seeds at the budgets below the full size (1 at all)")
    parser.add_argument("--slow-sizes", default="8,16", help="sizes at which SetFit, emobench setfit and the HF Trainer run")
    parser.add_argument("--slow-seeds", type=int, default=3)
    parser.add_argument("--systems", default=None, help="comma-separated subset of the systems")
    parser.add_argument("--one", nargs=4, metavar=("SYSTEM", "DATASET", "SIZE", "SEED"), help=argparse.SUPPRESS)
    parser.add_argument("--duel", nargs=2, metavar=("DATASET", "SIZE"), help=argparse.SUPPRESS)
    parser.add_argument("--results-name", default="peers")
    parser.add_argument("--records", type=Path, default=None,
                        help="a JSON-lines file: every finished run is appended to it, and runs already in it are not "
                             "run again (a stopped benchmark goes on where it stopped)")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], args.one[1], args.one[2], int(args.one[3]))))
        return
    if args.duel:
        print(json.dumps(duel(*args.duel)))
        return
    systems = args.systems.split(",") if args.systems else EMOBENCH + PEERS
    slow_sizes = args.slow_sizes.split(",")
    rows = []
    recorded = {}
    if args.records and args.records.is_file():
        for number, line in enumerate(args.records.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                row = json.loads(line)
                if "error" not in row:
                    recorded[(row["system"], row["dataset"], row["size"], row["seed"])] = row
        print(f"{args.records}: {len(recorded)} finished runs are taken from it, not run again", flush=True)
    for dataset in args.datasets.split(","):
        sizes = args.sizes.split(",") if dataset == "emotion" else ["all"]
        for size in sizes:
            for system in systems:
                if system in SLOW and size not in slow_sizes:
                    continue
                if dataset.startswith("goemotions") and system in SINGLE_LABEL_ONLY:
                    continue
                seeds = 1 if size == "all" else (args.slow_seeds if system in SLOW else args.seeds)
                for seed in range(seeds):
                    if (system, dataset, size, seed) in recorded:
                        rows.append(recorded[(system, dataset, size, seed)])
                        continue
                    row = run_child(__file__, ["--one", system, dataset, size, str(seed)])
                    row.update({k: v for k, v in (("system", system), ("dataset", dataset), ("size", size), ("seed", seed))
                                if k not in row})
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                    if args.records and "error" not in row:
                        with open(args.records, "a", encoding="utf-8") as handle:
                            handle.write(json.dumps(row) + "\n")
    summary = summarise(rows)
    duels = [run_child(__file__, ["--duel", d, s]) for d, s in (("emotion", "16"), ("emotion", "all"), ("isear", "all"))
             if d in args.datasets.split(",") and (s == "all" or s in args.sizes.split(","))
             and "emobench static" in systems and "model2vec" in systems]
    for dataset in dict.fromkeys(r["dataset"] for r in summary):
        print_table(f"{dataset}: test macro-F1 (mean over seeds) and speed; ratio to the best peer at each budget",
                    [r for r in summary if r["dataset"] == dataset],
                    ["size", "system", "seeds", "macro_f1", "macro_f1_sd", "accuracy", "vs_best_peer", "train_seconds",
                     "texts_per_second_batch1", "texts_per_second_batch64", "overhead_ms_batch1", "peak_rss_mb"])
    if duels:
        print_table("static against model2vec, one process, best of 7", duels,
                    ["dataset", "size", "ratio_batch1", "ratio_batch64", "macro_f1 emobench static", "macro_f1 model2vec"])
    errors = [r for r in rows if "error" in r]
    print("results:", write_results(args.results_name, summary, runs=rows, duels=duels, errors=errors,
                                    runs_from_records=len([r for r in rows if r in recorded.values()])))


if __name__ == "__main__":
    main()
