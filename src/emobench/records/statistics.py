"""The record of statistics.json: the analysis a comparison's report rendered, as the typed results of
``emobench.evaluation`` (the very dataclasses the analyses return), so the file is validated against the types it
was written from. ``records.comparison`` writes and reads the file."""
from __future__ import annotations

from pydantic import Field, ValidationError

from ..errors import RecordError
from ..evaluation.analysis import BudgetAnalysis, Comparison, NoiseAnalysis, TransferResult
from .base import Record, where_of


class Statistics(Record):
    """statistics.json: the comparison (its models' epoch histories left out), the transfer results, the data budgets
    and the label noise where the study had them (a part it did not have is null), and the explanations shown. Strict
    and closed like every record, down to the analyses' own dataclasses."""

    comparison: Comparison
    transfer: list[TransferResult] | None = None
    budgets: BudgetAnalysis | None = None
    label_noise: NoiseAnalysis | None = None
    explanations: dict[str, list[dict]] = Field(default_factory=dict)


def parse_statistics(text: str | bytes, where) -> Statistics:
    """The typed analysis from statistics.json's text (JSON, not a dict: a dataclass is read from JSON only in strict
    mode); the first problem is an error naming ``where`` and the field."""
    try:
        return Statistics.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = where_of(first["loc"]) if first["loc"] else "(the whole file)"
        count = exc.error_count()
        more = f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else ""
        raise RecordError(f"{where}: field {loc}: {first['msg']}{more}; the file was edited or is not emobench's") from None


__all__ = ["Statistics", "parse_statistics"]
