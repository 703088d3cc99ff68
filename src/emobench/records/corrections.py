"""A reviewer's decisions on a label-issues audit (``emobench review AUDIT``): ``AUDIT.corrections.json`` beside it.
Each decision names the flagged row (split and index), repeats its text and given labels (so that a file for other
data, or one edited by hand, is caught row by row), and says what the row's labels are now: kept, the suggestion
accepted, or other labels picked. ``--label-corrections FILE`` trains on them."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from ..errors import RecordError
from ..files import json_text, read_json, write_text_atomic
from .base import Count, LabelNames, Record, Task, validate
from .label_issues import check_label_set

SUFFIX = ".corrections.json"
Digest = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class Decision(Record):
    split: Literal["train", "validation", "test"]
    index: Count
    text: str
    given: list[str]
    decision: Literal["keep", "accept", "relabel"]  # keep the given labels, take the suggestion, or pick others
    labels: list[str]  # the row's labels after the decision


class Corrections(Record):
    format: Literal[1] = 1
    audit: str = Field(min_length=1, max_length=1000)  # the audit's file name (it lies beside this file)
    dataset: str
    labels: Annotated[LabelNames, Field(min_length=2)]
    task: Task
    digests: dict[str, Digest]  # split -> the digest of the split the audit was made on
    decisions: list[Decision]

    @model_validator(mode="after")
    def _consistent(self):
        single = self.task == "single_label"
        seen: set[tuple[str, int]] = set()
        for k, d in enumerate(self.decisions):
            at = f"decisions[{k}]"
            if d.split not in self.digests:
                raise ValueError(f"{at}.split: {d.split!r}, a split the audit did not flag ({', '.join(self.digests)})")
            if (d.split, d.index) in seen:
                raise ValueError(f"{at}.index: {d.split} row {d.index} is decided twice")
            seen.add((d.split, d.index))
            for key in ("given", "labels"):
                check_label_set(getattr(d, key), self.labels, single, f"{at}.{key}")
            if d.decision == "keep" and sorted(d.labels) != sorted(d.given):
                raise ValueError(f"{at}.labels: {d.labels}, but the decision is keep (the given {d.given})")
        return self

    def changed(self, split: str) -> dict[int, list[str]]:
        """The rows of ``split`` whose labels the reviewer changed: row -> its labels now."""
        return {d.index: sorted(d.labels) for d in self.decisions
                if d.split == split and sorted(d.labels) != sorted(d.given)}


def corrections_path(audit: str | Path) -> Path:
    """Where a review of ``audit`` keeps its decisions: beside it, ``NAME.corrections.json``."""
    audit = Path(audit)
    return audit.with_name(audit.name.removesuffix(".json") + SUFFIX)


def read_corrections(path: str | Path) -> Corrections:
    data = read_json(path, "label corrections")
    if isinstance(data, dict) and ("label_issues" in data or {"splits", "method"} <= set(data)):
        raise RecordError(f"{path}: a label-issues audit, not a review's decisions; review it first (emobench review "
                          f"{path}) and give the {Path(path).name.removesuffix('.json')}{SUFFIX} it writes")
    return validate(Corrections, data, path)


def write_corrections(path: str | Path, corrections: Corrections) -> None:
    checked = validate(Corrections, corrections.model_dump(mode="json"), "the corrections being saved")
    write_text_atomic(path, json_text(checked.model_dump(mode="json")))
