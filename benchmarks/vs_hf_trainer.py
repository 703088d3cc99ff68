"""emobench's training loop vs the Hugging Face Trainer, same model, data and number of steps, one run.

    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/vs_hf_trainer.py [--steps 60] [--batch-size 16]

(a) emobench: length-bucketed batches, dynamic padding, truncation at 128.
(b) Trainer as the text-classification example (run_glue.py) runs it by default: every example padded
    to max_seq_length=128, default data collator.
(c) Trainer with dynamic padding and group_by_length, to show where the difference comes from.
Reports training samples per second of each and the ratios. The model is all-MiniLM-L6-v2 (offline).
Each setup runs ``--repeats`` times in turn (so none has a warm cache to itself) and the fastest run counts.
emobench's time is its whole ``fit`` (model loading, tokenisation, the end-of-epoch checkpoint included);
its epoch time alone, the part comparable to ``Trainer.train()``, is reported beside it.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from common import print_table, write_results

from emobench.data import load_dataset
from emobench.models import build_model
from emobench.models.transformer import MINILM_HUB_ID, resolve_pretrained


class _Encoded(torch.utils.data.Dataset):
    def __init__(self, encodings, labels):
        self.encodings, self.labels = encodings, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        item = {k: torch.tensor(v[i]) for k, v in self.encodings.items()}
        item["labels"] = torch.tensor(self.labels[i])
        return item


def run_trainer(texts, labels, num_labels, steps, batch_size, lr, dynamic: bool, seed: int) -> float:
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                              TrainingArguments, default_data_collator)

    path = resolve_pretrained(MINILM_HUB_ID)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=num_labels)
    encodings = tokenizer(texts, truncation=True, max_length=128, padding=False if dynamic else "max_length")
    args = TrainingArguments(output_dir="/tmp/emobench-hf-trainer", per_device_train_batch_size=batch_size,
                             max_steps=steps, learning_rate=lr, lr_scheduler_type="linear", save_strategy="no",
                             eval_strategy="no", report_to=[], logging_strategy="no", seed=seed,
                             train_sampling_strategy="group_by_length" if dynamic else "random", disable_tqdm=True, use_cpu=not torch.cuda.is_available())
    collator = DataCollatorWithPadding(tokenizer) if dynamic else default_data_collator
    trainer = Trainer(model=model, args=args, train_dataset=_Encoded(encodings, labels), data_collator=collator)
    started = time.perf_counter()
    trainer.train()
    return time.perf_counter() - started


def run_emobench(train, label_names, steps, batch_size, lr, seed: int, epoch_only: dict) -> float:
    model = build_model("minilm", {"epochs": "1", "batch_size": str(batch_size), "learning_rate": str(lr),
                                   "max_length": "128", "warmup_ratio": "0", "weight_decay": "0"})
    started = time.perf_counter()
    model.fit(train, None, label_names, seed=seed, progress=False)
    seconds = time.perf_counter() - started
    assert len(model.history) == 1
    epoch_only["seconds"] = min(epoch_only.get("seconds", float("inf")), model.history[0]["seconds"])
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    corpus = load_dataset("emotion")
    n = args.steps * args.batch_size
    order = np.random.default_rng(args.seed).permutation(len(corpus["train"]))[:n]
    train = corpus["train"].subset(order.tolist())
    epoch_only: dict = {}
    setups = [
        ("emobench (buckets, dynamic padding), whole fit",
         lambda: run_emobench(train, corpus.label_names, args.steps, args.batch_size, args.lr, args.seed, epoch_only)),
        ("HF Trainer, run_glue default (pad to 128)",
         lambda: run_trainer(train.texts, train.labels, corpus.num_labels, args.steps, args.batch_size, args.lr, False, args.seed)),
        ("HF Trainer, dynamic padding + group_by_length",
         lambda: run_trainer(train.texts, train.labels, corpus.num_labels, args.steps, args.batch_size, args.lr, True, args.seed)),
    ]
    times: dict[str, list[float]] = {label: [] for label, _ in setups}
    for repeat in range(args.repeats):
        for label, run in setups:
            torch.manual_seed(args.seed)
            times[label].append(run())
            print(f"[{repeat + 1}/{args.repeats}] {label}: {times[label][-1]:.1f} s", flush=True)
    rows = [{"setup": label, "steps": args.steps, "samples": n, "seconds": min(t), "all_seconds": t,
             "samples_per_second": n / min(t)} for label, t in times.items()]
    rows.insert(1, {"setup": "emobench, training epoch only", "steps": args.steps, "samples": n,
                    "seconds": epoch_only["seconds"], "samples_per_second": n / epoch_only["seconds"]})
    base = rows[0]["samples_per_second"]
    for row in rows:
        row["emobench_speedup"] = base / row["samples_per_second"]
    print_table(f"MiniLM-L6 training, {args.steps} steps x batch {args.batch_size}, torch threads {torch.get_num_threads()}",
                rows, ["setup", "seconds", "samples_per_second", "emobench_speedup"])
    print("results:", write_results("vs_hf_trainer", rows, steps=args.steps, batch_size=args.batch_size, lr=args.lr))


if __name__ == "__main__":
    main()
