"""How much of a fine-tuning batch is padding: the ceiling on what sequence packing could save.

    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/padding.py [--batch-size 32] [--max-length 64]

Packing (several texts in one row, as transformers' ``DataCollatorWithFlattening`` does) removes padded tokens and
nothing else; the matrix products per real token stay the same. So the share of padded tokens bounds its speed-up:
1 / (1 - padding). Measured on each dataset's training split with MiniLM's tokenizer, for emobench's loop (length
buckets of 50 batches, as the Trainer's ``group_by_length``) and for random batches (no grouping).
"""
from __future__ import annotations

import argparse

import numpy as np
from common import print_table, write_results

from emobench.data import load_dataset
from emobench.models.registry import MINILM_HUB_ID
from emobench.models.transformer import resolve_pretrained
from emobench.training.sampler import LengthBucketBatches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", default="emotion,isear,goemotions")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=64)
    args = parser.parse_args()
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_pretrained(MINILM_HUB_ID))
    rows = []
    for name in args.datasets.split(","):
        texts = list(load_dataset(name)["train"].texts)
        lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]]
        for batching, windows in (("length buckets (emobench, Trainer group_by_length)", 50), ("random batches", 1)):
            batches = LengthBucketBatches(lengths, args.batch_size, 0, windows).batches()
            padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
            share = 1 - sum(lengths) / padded
            rows.append({"dataset": name, "batching": batching, "texts": len(texts),
                         "mean_tokens": float(np.mean(lengths)), "padding": share,
                         "packing_ceiling": 1 / (1 - share)})
    print_table(f"padded tokens, batch {args.batch_size}, length <= {args.max_length}", rows,
                ["dataset", "batching", "texts", "mean_tokens", "padding", "packing_ceiling"])
    write_results("padding", rows, batch_size=args.batch_size, max_length=args.max_length)


if __name__ == "__main__":
    main()
