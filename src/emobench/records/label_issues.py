"""A label-issues audit (``emobench data audit --label-issues --json FILE``, a comparison's ``label_issues.json``): the
texts confident learning flags as likely mislabelled in each split, with the model and folds that scored them and a
digest of every split's texts and labels, so that a saved audit is used only for the very data it was made on."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ..files import json_text, read_json, write_text_atomic
from .base import Count, Finite, Record, Share, validate


class LabelIssue(Record):
    index: Count  # row of the split
    text: str
    given: list[str] = Field(min_length=0)  # the label (single-label: one) the data gives
    suggested: list[str]  # what the out-of-fold model says
    self_confidence: Share  # the model's probability of the given label(s) (cleanlab's label quality)


class LabelNoise(Record):
    """Multi-label, one label against the rest (cleanlab's common_multilabel_issues): flagged texts whose given set
    holds the label although it is likely absent (spurious), or lacks it although it is likely present (missing),
    each also as a share of the split's texts."""
    label: str
    spurious: Count
    spurious_share: Share
    missing: Count
    missing_share: Share


class SplitIssues(Record):
    n: Count
    digest: str  # the split's texts and labels (records.run.split_digest)
    flagged: Count
    model_macro_f1: Share | None = None  # the scoring model's own macro-F1 out of fold on this split (its given labels)
    per_label: dict[str, Count]  # flagged texts by given label
    noise_matrix: list[list[Finite]] | None = None  # single-label: P(given label = row | true label = column)
    label_noise: list[LabelNoise] | None = None  # multi-label: per label, one against the rest
    issues: list[LabelIssue]


class LabelIssues(Record):
    format: int = 1
    dataset: str
    labels: list[str] = Field(min_length=2)
    task: str
    model: str
    folds: int = Field(ge=2)
    seed: Count
    method: str
    splits: dict[str, SplitIssues]
    warnings: list[str] = []  # e.g. a large share flagged by a weak model

    def flagged_rows(self, split: str) -> set[int]:
        return {issue.index for issue in self.splits[split].issues} if split in self.splits else set()


def write_label_issues(path: Path, record: dict) -> LabelIssues:
    checked = validate(LabelIssues, record, "the label-issues audit being saved")
    write_text_atomic(path, json_text(checked.model_dump(mode="json")))
    return checked


def read_label_issues(path: str | Path) -> LabelIssues:
    """A saved audit: the label issues alone, or a whole ``data audit --json`` file holding them."""
    path = Path(path)
    data = read_json(path, "label-issues audit")
    if isinstance(data, dict) and "label_issues" in data:
        data = data["label_issues"]
    return validate(LabelIssues, data, path)
