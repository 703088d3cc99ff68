"""The corpus type every reader returns: named splits of texts and labels plus where they came from.

A single-label corpus has one label id per text; a multi-label corpus (``multi_label=True``) has a sorted
list of label ids per text (possibly empty).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import UnknownSplitError
from .provenance import DataSource

if TYPE_CHECKING:
    from .descriptions import LabelDescriptions
    from .unlabeled import UnlabeledTexts


@dataclass
class Split:
    texts: list[str]
    labels: list  # an int per text, or (multi-label) a list of ints per text

    def __post_init__(self):
        if len(self.texts) != len(self.labels):
            raise ValueError(f"{len(self.texts)} texts but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def multi_label(self) -> bool:
        return bool(self.labels) and isinstance(self.labels[0], list | tuple)

    def subset(self, indices) -> "Split":
        return Split([self.texts[i] for i in indices], [self.labels[i] for i in indices])

    def label_matrix(self, num_labels: int) -> np.ndarray:
        """(texts x labels) 0/1 indicator matrix (single-label data: one 1 per row)."""
        matrix = np.zeros((len(self), num_labels), dtype=np.int8)
        for row, labels in enumerate(self.labels):
            matrix[row, labels] = 1
        return matrix


@dataclass
class Corpus:
    name: str
    label_names: list[str]
    splits: dict[str, Split]
    source: DataSource = field(default_factory=DataSource)  # where it came from; saved with every run
    multi_label: bool = False
    # What else a family may learn from (--unlabeled, --label-descriptions): data/unlabeled.py, data/descriptions.py
    unlabeled: "UnlabeledTexts | None" = None
    descriptions: "LabelDescriptions | None" = None

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    @property
    def task(self) -> str:
        return "multi_label" if self.multi_label else "single_label"

    def __getitem__(self, split: str) -> Split:
        try:
            return self.splits[split]
        except KeyError:
            raise UnknownSplitError(f"dataset {self.name!r} has no split {split!r} (it has: {', '.join(self.splits)})") from None

    def label_counts(self, split: str) -> dict[str, int]:
        """Texts per label (multi-label: texts carrying the label)."""
        counts = self[split].label_matrix(self.num_labels).sum(axis=0)
        return {name: int(c) for name, c in zip(self.label_names, counts)}


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_texts(split: Split) -> str:
    """Checksum of a split's content, for data that did not come from one file (hub, generated splits)."""
    digest = hashlib.sha256()
    for text, label in zip(split.texts, split.labels):
        digest.update(f"{label}\t{text}\n".encode("utf-8"))
    return digest.hexdigest()
