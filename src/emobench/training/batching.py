"""Length-bucketed batches: examples of similar length share a batch, so padding stays small."""
from __future__ import annotations

import math

import numpy as np
import torch


class LengthBucketBatches(torch.utils.data.Sampler):
    """Batches of similar length: shuffle, sort within windows of ``bucket_batches`` batches, cut into
    batches, shuffle the batches. Deterministic in (seed, epoch), so a resumed run sees the same order."""

    def __init__(self, lengths: list[int], batch_size: int, seed: int, bucket_batches: int = 50, shuffle: bool = True):
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.bucket_batches = max(1, bucket_batches)
        self.shuffle = shuffle
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self) -> list[list[int]]:
        n = len(self.lengths)
        if not self.shuffle:
            order = np.argsort(self.lengths, kind="stable")
            return [order[i : i + self.batch_size].tolist() for i in range(0, n, self.batch_size)]
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(n)
        window = self.batch_size * self.bucket_batches
        batches = []
        for start in range(0, n, window):
            chunk = order[start : start + window]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches.extend(chunk[i : i + self.batch_size].tolist() for i in range(0, len(chunk), self.batch_size))
        rng.shuffle(batches)
        return batches

    def __iter__(self):
        return iter(self.batches())

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)


def pad_features(items: list[dict], pad_values: dict[str, int], left: bool = False, multiple: int = 1,
                 length: int | None = None, keep_end: bool = False) -> dict[str, torch.Tensor]:
    """Pad tokenised examples (dicts of integer sequences) into tensors, without per-token Python work:
    every key padded with its pad value, on the right or (``left``) on the left, to the longest example
    rounded up to ``multiple`` -- or to a fixed ``length``, truncating (keeping the end with ``keep_end``).
    Adds ``attention_mask`` (1 for tokens) and ``lengths``."""
    lengths = np.fromiter((len(item["input_ids"]) for item in items), dtype=np.int64, count=len(items))
    width = length or max(1, int(math.ceil(lengths.max() / multiple) * multiple))
    kept = np.minimum(lengths, width)
    out = {}
    for key, pad in pad_values.items():
        array = np.full((len(items), width), pad, dtype=np.int64)
        for row, (item, n) in enumerate(zip(items, kept)):
            values = item[key][-n:] if keep_end else item[key][:n]
            if left:
                array[row, width - n:] = values
            else:
                array[row, :n] = values
        out[key] = torch.from_numpy(array)
    positions = np.arange(width)[None, :]
    mask = positions >= (width - kept)[:, None] if left else positions < kept[:, None]
    out["attention_mask"] = torch.from_numpy(mask.astype(np.int64))
    out["lengths"] = torch.from_numpy(kept)
    return out
