"""The typed result of a dataset audit (data/auditing.py); ``AuditReport.dump()`` is the JSON ``data audit --json``
writes, key for key."""
from __future__ import annotations

from ..schema import Record, Task


class _Audit(Record):
    """Dumped as ``data audit --json`` writes it."""

    def dump(self) -> dict:
        return self.model_dump(mode="json", exclude_unset=True)  # single-label splits have no multi_label facts


class Words(_Audit):
    mean: float
    p50: float
    p95: float
    max: int


class ConflictExample(_Audit):
    text: str  # normalised
    count: int
    labels: list[str | list[str]]  # the labels given it, by name (multi-label: a list per text)


class LabelPair(_Audit):
    labels: list[str]
    texts: int


class MultiLabelFacts(_Audit):
    cardinality: float
    labels_per_text: dict[str, int]
    texts_without_label: int
    texts_with_several_labels: int
    top_pairs: list[LabelPair]


class SplitAudit(_Audit):
    size: int
    label_counts: dict[str, int]
    label_shares: dict[str, float]
    words: Words
    repeated_texts: int
    conflicting_texts: int
    conflicting_examples: list[ConflictExample]
    empty_texts: int
    placeholder_texts: int
    placeholder_examples: list[str]
    multi_label: MultiLabelFacts | None = None


class OverallAudit(_Audit):
    size: int
    repeated_texts: int
    conflicting_texts: int
    conflicting_keys: list[str]  # normalised texts given conflicting labels across the splits


class BudgetOrigin(_Audit):
    size: str | int | float
    seed: int
    validation: bool


class SplitOrigin(_Audit):
    generated: bool
    generated_splits: list[str]
    seed: int | None
    fractions: dict[str, float] | None
    budget: BudgetOrigin | None
    missing_splits: list[str]
    notes: list[str]


class AuditReport(_Audit):
    dataset: str
    labels: list[str]
    task: Task
    source: str | None  # the reader's kind
    splits: dict[str, SplitAudit]
    leakage: dict[str, int]  # "train&test": texts in both
    overall: OverallAudit
    split_origin: SplitOrigin
    warnings: list[str]
