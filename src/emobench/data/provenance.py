"""Where a corpus came from, typed: the reader's kind and files (with sha256), the split recipe, the label map, the
data budget, the cleaning plan and the reader's warnings. A run's data.json keeps it as ``source``, key for key as
it was built (a reader's own keys are carried), so a record written before reads back and writes out unchanged."""
from __future__ import annotations

from pydantic import Field, PrivateAttr, model_serializer, model_validator

from ..schema import AnyDict, Count, OpenRecord, Share


class OrderedRecord(OpenRecord):
    """Dumped with the keys it was given, in the order given: what was not set is not written."""

    _order: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_order(cls, data, handler):
        made = handler(data)
        if isinstance(data, dict) and made is not data:
            made._order = list(data)
        return made

    @model_serializer(mode="wrap")
    def _ordered(self, handler):
        out = handler(self)
        return {**{key: out[key] for key in self._order if key in out}, **out} if isinstance(out, dict) else out

    def dump(self) -> dict:
        return self.model_dump(mode="json", exclude_unset=True)

    def updated(self, **changes):
        """A copy with ``changes``; a key it did not have comes last, as in a dict."""
        copy = self.model_copy(update=changes)
        copy._order = [*self._order, *(key for key in changes if key not in self._order)]
        return copy


class SplitRecipe(OrderedRecord):
    """How splits were cut from data without splits of its own: the seed, the fractions, every split's file lines."""

    seed: int
    fractions: dict[str, Share]
    file_lines: dict[str, list] | None = None


class LabelMapSource(OrderedRecord):
    name: str
    map: dict[str, list[str]] = Field(default_factory=dict)
    unmapped_labels: list[str] = Field(default_factory=list)
    dropped: dict[str, Count] = Field(default_factory=dict)
    source_labels: list[str] = Field(default_factory=list)


class BudgetSource(OrderedRecord):
    """The rows a data budget kept (data/budgets.py)."""

    size: str | int | float
    seed: int
    validation: bool = False
    rows: dict[str, list[int]] = Field(default_factory=dict)
    per_label: dict[str, dict[str, int]] = Field(default_factory=dict)


class CleaningPlan(OrderedRecord):
    """Which training rows confident learning's flags drop or relabel (experiments/label_issues.py): ``audit``, the
    saved audit they were read from (None: computed on the training split), ``train_digest``, the training split
    they were made on, ``suggested``, the new labels of ``rows`` (relabel only)."""

    action: str
    audit: str | None = None
    model: str
    folds: int
    train_digest: str
    rows: list[int]
    suggested: list[list[str]] | None = None
    audit_warnings: list[str] = Field(default_factory=list)


class DataSource(OrderedRecord):
    """A corpus's provenance. ``files``: every data file (or ``hub:`` split) and its sha256."""

    kind: str | None = None
    files: dict[str, str] = Field(default_factory=dict)
    dropped_placeholders: Count | None = None
    label_columns: list[str] | None = None
    split: SplitRecipe | None = None
    label_map: LabelMapSource | None = None
    budget: BudgetSource | None = None
    warnings: list[str] = Field(default_factory=list)
    reader_version: Count = 1
    config: AnyDict | None = None
    label_issues: CleaningPlan | None = None

    def file_names(self) -> list[str]:
        """The data files read (not hub splits)."""
        return [f for f in self.files if not str(f).startswith("hub:")]
