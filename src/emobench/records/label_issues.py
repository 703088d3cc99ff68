"""A label-issues audit (``emobench data audit --label-issues --json FILE``, a comparison's ``label_issues.json``): the
texts confident learning flags as likely mislabelled in each split, with the model and folds that scored them and a
digest of every split's texts and labels, so that a saved audit is used only for the very data it was made on."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from ..data.audit_report import AuditReport
from ..files import json_text, read_json, write_text_atomic
from .base import Count, Finite, LabelNames, OpenRecord, Record, Share, Task, validate


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
    noise_matrix: list[list[Share]] | None = None  # single-label: P(given label = row | true label = column)
    label_noise: list[LabelNoise] | None = None  # multi-label: per label, one against the rest
    issues: list[LabelIssue]

    @model_validator(mode="after")
    def _consistent(self):
        if not re.fullmatch(r"[0-9a-f]{64}", self.digest):
            raise ValueError("digest: expected the sha256 of the split's texts and labels (64 hex digits)")
        if not len(self.issues) <= self.flagged <= self.n:
            raise ValueError(f"flagged: {self.flagged} flagged texts, but the split has {self.n} texts and the audit "
                             f"keeps {len(self.issues)} issues")
        return self


class LabelIssues(Record):
    format: Literal[1] = 1
    dataset: str
    labels: Annotated[LabelNames, Field(min_length=2)]
    task: Task
    model: str
    folds: int = Field(ge=2)
    seed: Count
    method: str
    splits: dict[str, SplitIssues]
    warnings: list[str] = []  # e.g. a large share flagged by a weak model
    # how long the audit took where it ran (a time-limited comparison gives the stack the time its audit left)
    seconds: Finite | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _consistent(self):
        """Every label an issue, a count or the noise matrix names is one of ``labels``, counted as the task counts."""
        labels, known, single = self.labels, set(self.labels), self.task == "single_label"
        for name, split in self.splits.items():
            at = f"splits.{name}"
            if set(split.per_label) != known or any(count > split.flagged for count in split.per_label.values()):
                raise ValueError(f"{at}.per_label: expected counts of flagged texts by given label, for the audit's labels "
                                 f"({', '.join(labels)})")
            seen: set[int] = set()
            for k, issue in enumerate(split.issues):
                if issue.index >= split.n:
                    raise ValueError(f"{at}.issues[{k}].index: row {issue.index}, but the "
                                     f"{'training' if name == 'train' else name} split has {split.n} texts")
                if issue.index in seen:
                    raise ValueError(f"{at}.issues[{k}].index: row {issue.index} is named by two issues; each row is "
                                     "flagged once")
                seen.add(issue.index)
                for key in ("given", "suggested"):
                    check_label_set(getattr(issue, key), labels, single, f"{at}.issues[{k}].{key}")
            wrong = "label_noise" if single and split.label_noise is not None else \
                "noise_matrix" if not single and split.noise_matrix is not None else None
            if wrong:  # single-label audits estimate a noise matrix, multi-label ones the noise of each label
                raise ValueError(f"{at}.{wrong}: not a figure of a {self.task.replace('_', '-')} audit")
            matrix = split.noise_matrix
            if matrix is not None and (len(matrix) != len(labels) or any(len(row) != len(labels) for row in matrix)):
                raise ValueError(f"{at}.noise_matrix: expected {len(labels)} rows of {len(labels)} shares (one per label)")
            if split.label_noise is not None and ([entry.label for entry in split.label_noise] != labels or
                                                  any(e.spurious + e.missing > split.n for e in split.label_noise)):
                raise ValueError(f"{at}.label_noise: expected one entry per label, in the audit's order, counting texts "
                                 f"of the split")
        return self

    def flagged_rows(self, split: str) -> set[int]:
        return {issue.index for issue in self.splits[split].issues} if split in self.splits else set()


def check_label_set(names: list[str], labels: list[str], single: bool, at: str) -> None:
    """One text's label set in an audit or its review: labels of the audit, each once, exactly one for single-label
    data (multi-label: an empty set is "no label", as in the data)."""
    strange = [n for n in names if n not in labels]
    if strange:
        raise ValueError(f"{at}: {strange[0][:100]!r} is not a label of the audit ({', '.join(labels)})")
    if len(set(names)) != len(names):
        raise ValueError(f"{at}: {names} names a label twice")
    if single and len(names) != 1:
        raise ValueError(f"{at}: {names}; expected exactly one label (single-label data)")


class _AuditFile(OpenRecord):
    """A whole ``data audit --json`` file: the label issues, beside the data audit (read elsewhere)."""

    label_issues: LabelIssues


class DataAuditFile(OpenRecord):
    """A ``data audit --json`` file: the data audit's keys (carried), and with ``--label-issues`` the label issues."""

    label_issues: LabelIssues | None = None


def write_data_audit(path: Path, report: AuditReport, issues: LabelIssues | None = None) -> None:
    """The data audit as ``data audit --json`` writes it, the label issues (if any) under ``label_issues``."""
    data = report.dump()
    if issues is not None:
        data["label_issues"] = issues.model_dump(mode="json")
    validate(DataAuditFile, data, "the data audit being saved")
    write_text_atomic(Path(path), json_text(data))


def write_label_issues(path: Path, issues: LabelIssues) -> LabelIssues:
    checked = validate(LabelIssues, issues.model_dump(mode="json"), "the label-issues audit being saved")
    write_text_atomic(path, json_text(checked.model_dump(mode="json")))
    return checked


def read_label_issues(path: str | Path) -> LabelIssues:
    """A saved audit: the label issues alone, or a whole ``data audit --json`` file holding them."""
    path = Path(path)
    data = read_json(path, "label-issues audit")
    if isinstance(data, dict) and "label_issues" in data:  # fields are then named label_issues.splits...
        return validate(_AuditFile, data, path).label_issues
    return validate(LabelIssues, data, path)
