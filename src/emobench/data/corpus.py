"""The corpus type every reader returns: named splits of (text, label id) plus where they came from."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UnknownSplitError


@dataclass
class Split:
    texts: list[str]
    labels: list[int]

    def __post_init__(self):
        if len(self.texts) != len(self.labels):
            raise ValueError(f"{len(self.texts)} texts but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices) -> "Split":
        return Split([self.texts[i] for i in indices], [self.labels[i] for i in indices])


@dataclass
class Corpus:
    name: str
    label_names: list[str]
    splits: dict[str, Split]
    # Provenance: reader kind, file paths with sha256, split recipe; saved with every run.
    source: dict = field(default_factory=dict)

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    def __getitem__(self, split: str) -> Split:
        try:
            return self.splits[split]
        except KeyError:
            raise UnknownSplitError(f"dataset {self.name!r} has no split {split!r} (it has: {', '.join(self.splits)})") from None

    def label_counts(self, split: str) -> dict[str, int]:
        counts = {name: 0 for name in self.label_names}
        for y in self[split].labels:
            counts[self.label_names[y]] += 1
        return counts


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
