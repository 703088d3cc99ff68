"""What scoring a run on another dataset found about that data: the labels both share, the texts dropped for having
none of them, how the predictions were restricted, and the majority baseline. The console prints it, the evaluate
command's JSON and a comparison's ``transfer/`` metrics carry it under ``transfer``."""
from __future__ import annotations

from pydantic import Field

from .base import Count, Record, Share


class TransferReport(Record):
    dataset: str
    split: str
    shared_labels: list[str]
    model_only_labels: list[str]
    data_only_labels: list[str]
    examples: Count
    kept: Count
    dropped: Count
    dropped_by_label: dict[str, Count] = Field(default_factory=dict)
    labels_without_texts: list[str] = Field(default_factory=list)
    hit_rate: Share
    majority_label: str
    majority_rate: Share
    prediction: str
    # a comparison's transfer scores also say what they were scored on and how much of it the models trained on
    scored_on: str | None = None
    files: list[str] | None = None
    overlap_with_training: Count | None = None

    def dump(self) -> dict:
        """As written: the fields given, in order (a comparison's three are absent from a single evaluation's)."""
        return self.model_dump(mode="json", exclude_unset=True)
