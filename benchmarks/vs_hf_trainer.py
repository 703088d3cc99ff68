"""emobench's training loop vs the Hugging Face Trainer: same model (all-MiniLM-L6-v2), data (dair-ai train),
batch size, schedule, learning rate and number of optimizer steps, measured side by side in one run.

    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/vs_hf_trainer.py [--steps 60] [--batch-size 32]
        [--max-length 64] [--repeats 2] [--model-dir /tmp/minilm] [--with-fixed-padding]

The device decides the mode: on the CPU both run in fp32 on this machine's cores (``--cpu-bf16`` adds both with bf16
autocast: emobench ``cpu_bf16=true``, Trainer ``bf16=True`` with ``use_cpu``); on a GPU both use bf16 (emobench:
``mixed_precision=bf16``; Trainer: ``bf16=True``). "Each at its best" sets the fastest emobench setup against the
fastest Trainer setup. The Trainer runs in its best configuration for
this task: dynamic padding (``DataCollatorWithPadding``) and length grouping
(``train_sampling_strategy="group_by_length"``), fused AdamW (its default), no evaluation, no checkpoint.
``--with-fixed-padding`` adds the run_glue.py default (every example padded to ``--max-length``).

Timed: the training steps only (emobench: its epoch; the Trainer: ``train()``), model loading and tokenising
excluded for both. The setups run in turn, ``--repeats`` times (none gets a warm cache to itself), and the
fastest run of each counts. Afterwards both models are scored on the whole validation split.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from common import print_table, write_results

from emobench.data import load_dataset
from emobench.models import build_model
from emobench.models.registry import MINILM_HUB_ID
from emobench.models.transformer import resolve_pretrained


class _Encoded(torch.utils.data.Dataset):
    def __init__(self, encodings, labels):
        self.encodings, self.labels = encodings, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        item = {k: v[i] for k, v in self.encodings.items()}
        item["labels"] = self.labels[i]
        return item


def run_trainer(path, train, validation, num_labels, args, dynamic: bool, bf16: bool = False) -> dict:
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                              TrainingArguments, default_data_collator)

    gpu = torch.cuda.is_available()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=num_labels)
    padding = False if dynamic else "max_length"
    encodings = tokenizer(train.texts, truncation=True, max_length=args.max_length, padding=padding)
    arguments = TrainingArguments(
        output_dir="/tmp/emobench-hf-trainer", per_device_train_batch_size=args.batch_size, per_device_eval_batch_size=128,
        max_steps=args.steps, learning_rate=args.lr, lr_scheduler_type="linear", warmup_steps=0, weight_decay=0.0,
        save_strategy="no", eval_strategy="no", report_to=[], logging_strategy="no", seed=args.seed,
        train_sampling_strategy="group_by_length" if dynamic else "random", disable_tqdm=True, use_cpu=not gpu, bf16=gpu or bf16,
        dataloader_num_workers=2 if gpu else 0)
    collator = DataCollatorWithPadding(tokenizer) if dynamic else default_data_collator
    trainer = Trainer(model=model, args=arguments, train_dataset=_Encoded(encodings, train.labels), data_collator=collator)
    if gpu:
        torch.cuda.synchronize()
    started = time.perf_counter()
    trainer.train()
    if gpu:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    val = tokenizer(validation.texts, truncation=True, max_length=args.max_length, padding=padding)
    # With length grouping the Trainer also predicts in length-grouped order: compare with its label_ids.
    output = trainer.predict(_Encoded(val, validation.labels))
    return {"seconds": seconds, "val_accuracy": float((np.argmax(output.predictions, axis=1) == output.label_ids).mean())}


def run_emobench(path, train, validation, label_names, args, bf16: bool = False) -> dict:
    gpu = torch.cuda.is_available()
    model = build_model(f"hf:{path}", {"epochs": "1", "batch_size": str(args.batch_size), "learning_rate": str(args.lr),
                                       "max_length": str(args.max_length), "warmup_ratio": "0", "weight_decay": "0",
                                       "mixed_precision": "bf16" if gpu else "no", "cpu_bf16": str(bf16)})
    model.fit(train, None, label_names, seed=args.seed, progress=False)
    predicted = model.predict(validation.texts)
    return {"seconds": model.history[0].seconds,
            "val_accuracy": float((predicted == np.asarray(validation.labels)).mean())}


CATEGORIES = [("matrix products (linear, matmul)", ("addmm", "mm", "bmm", "linear", "matmul")),
              ("attention (scaled dot product)", ("scaled_dot_product", "softmax")),
              ("dropout", ("dropout", "bernoulli", "native_dropout")),
              ("optimizer (fused AdamW)", ("fused_adam",)),
              ("normalisation and activations", ("layer_norm", "gelu")),
              ("embeddings", ("embedding",))]


def profile(path, train, label_names, args) -> list[dict]:
    """Where emobench's training steps spend their time (torch.profiler, CPU self time by operator
    family), beside a bare loop: the same model, batches and fused AdamW with no framework at all."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    model = build_model(f"hf:{path}", {"epochs": "1", "batch_size": str(args.batch_size), "learning_rate": str(args.lr),
                                       "max_length": str(args.max_length), "warmup_ratio": "0", "weight_decay": "0"})
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        model.fit(train, None, label_names, seed=args.seed, progress=False)
    epoch = model.history[0].seconds
    totals = {name: 0.0 for name, _ in CATEGORIES}
    everything = 0.0
    for event in prof.key_averages():
        if not event.key.startswith("aten::"):
            continue
        seconds = event.self_cpu_time_total / 1e6
        everything += seconds
        for name, keys in CATEGORIES:
            if any(k in event.key for k in keys):
                totals[name] += seconds
                break
    rows = [{"part": name, "seconds": seconds, "share_of_epoch": seconds / epoch} for name, seconds in totals.items()]
    rows.append({"part": "other tensor operators", "seconds": everything - sum(totals.values()),
                 "share_of_epoch": (everything - sum(totals.values())) / epoch})
    rows.append({"part": "outside tensor operators (Python, data, framework)", "seconds": max(0.0, epoch - everything),
                 "share_of_epoch": max(0.0, epoch - everything) / epoch})
    # The floor: the same batches through the bare model and optimizer.
    from transformers import AutoModelForSequenceClassification

    bare = AutoModelForSequenceClassification.from_pretrained(path, num_labels=len(label_names)).train()
    optimizer = torch.optim.AdamW(bare.parameters(), lr=args.lr, fused=True)
    features = model._features(train.texts)
    from emobench.batching import pad_features
    from emobench.training.sampler import LengthBucketBatches

    batches = LengthBucketBatches([len(f["input_ids"]) for f in features], args.batch_size, args.seed).batches()
    prepared = []
    for indices in batches:
        batch = pad_features([features[i] for i in indices], {"input_ids": 0}, multiple=1)
        batch.pop("lengths")
        prepared.append((batch, torch.tensor([train.labels[i] for i in indices])))
    started = time.perf_counter()
    for batch, labels in prepared:
        loss = torch.nn.functional.cross_entropy(bare(**batch).logits, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(bare.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
    floor = time.perf_counter() - started
    rows.append({"part": "bare loop (same batches, no framework): whole epoch", "seconds": floor, "share_of_epoch": floor / epoch})
    rows.append({"part": "emobench (profiled): whole epoch", "seconds": epoch, "share_of_epoch": 1.0})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--model-dir", default=None, help="MiniLM folder (default: the offline package)")
    parser.add_argument("--with-fixed-padding", action="store_true")
    parser.add_argument("--cpu-bf16", action="store_true", help="on a CPU, also both with bf16 autocast")
    parser.add_argument("--profile", action="store_true", help="also profile emobench's steps against a bare loop")
    args = parser.parse_args()
    path = args.model_dir or resolve_pretrained(MINILM_HUB_ID)
    corpus = load_dataset("emotion")
    n = args.steps * args.batch_size
    order = np.random.default_rng(args.seed).permutation(len(corpus["train"]))[:n]
    train = corpus["train"].subset(order.tolist())
    setups = [("emobench", lambda: run_emobench(path, train, corpus["validation"], corpus.label_names, args)),
              ("HF Trainer, dynamic padding + group_by_length",
               lambda: run_trainer(path, train, corpus["validation"], corpus.num_labels, args, True))]
    if args.cpu_bf16 and not torch.cuda.is_available():  # each at its best: bf16 autocast measured for both
        setups += [("emobench, bf16 autocast", lambda: run_emobench(path, train, corpus["validation"], corpus.label_names,
                                                                    args, bf16=True)),
                   ("HF Trainer, dynamic padding + group_by_length, bf16",
                    lambda: run_trainer(path, train, corpus["validation"], corpus.num_labels, args, True, bf16=True))]
    if args.with_fixed_padding:
        setups.append((f"HF Trainer, run_glue default (pad to {args.max_length})",
                       lambda: run_trainer(path, train, corpus["validation"], corpus.num_labels, args, False)))
    results: dict[str, list[dict]] = {label: [] for label, _ in setups}
    for repeat in range(args.repeats):
        for label, run in setups:
            torch.manual_seed(args.seed)
            results[label].append(run())
            print(f"[{repeat + 1}/{args.repeats}] {label}: {results[label][-1]}", flush=True)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU, {torch.get_num_threads()} threads"
    rows = []
    for label, runs in results.items():
        best = min(runs, key=lambda r: r["seconds"])
        rows.append({"setup": label, "device": device, "steps": args.steps, "samples": n, "seconds": best["seconds"],
                     "all_seconds": [r["seconds"] for r in runs], "samples_per_second": n / best["seconds"],
                     "val_accuracy": best["val_accuracy"]})
    base = rows[0]["samples_per_second"]
    for row in rows:
        row["emobench_speedup"] = base / row["samples_per_second"]
    ours = [r for r in rows if r["setup"].startswith("emobench")]
    theirs = [r for r in rows if not r["setup"].startswith("emobench")]
    best_ours, best_theirs = max(ours, key=lambda r: r["samples_per_second"]), max(theirs, key=lambda r: r["samples_per_second"])
    extra_best = {"best_emobench": best_ours["setup"], "best_trainer": best_theirs["setup"],
                  "best_vs_best": best_ours["samples_per_second"] / best_theirs["samples_per_second"]}
    print(f"each at its best: {best_ours['setup']} / {best_theirs['setup']} = {extra_best['best_vs_best']:.2f}x")
    print_table(f"MiniLM-L6 training on {device}: {args.steps} steps x batch {args.batch_size}, length <= {args.max_length}",
                rows, ["setup", "seconds", "samples_per_second", "emobench_speedup", "val_accuracy"])
    extra = dict(extra_best)
    if args.profile:
        extra["profile"] = profile(path, train, corpus.label_names, args)
        print_table("where an emobench epoch spends its time (CPU self time by operator family)", extra["profile"],
                    ["part", "seconds", "share_of_epoch"])
    print("results:", write_results("vs_hf_trainer", rows, steps=args.steps, batch_size=args.batch_size,
                                    max_length=args.max_length, lr=args.lr, device=device, **extra))


if __name__ == "__main__":
    main()
