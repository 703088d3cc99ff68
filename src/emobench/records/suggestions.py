"""Which texts to label next (``emobench data suggest``): the texts a saved model ranks most worth a label, with how they
were chosen, and the CSV a labeller fills in (its ``label`` column left empty)."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from ..claims import claim_file
from ..errors import EmobenchError, option
from ..files import write_text_atomic
from .base import Count, LabelNames, Record, Share, Task

CSV_COLUMNS = ("rank", "text", "label", "predicted_label", "probability", "score")
LABEL_SEPARATOR = "|"  # a multi-label model's predicted set in one CSV field, as batch scoring writes it


class Suggestion(Record):
    rank: Annotated[int, Field(ge=1)]
    text: str
    predicted: list[str]  # the model's label (single-label: one), or its label set (multi-label)
    probability: Share  # of the most probable label
    score: Share  # how unsure the model is (Suggestions.score says which measure): 1 = as unsure as it can be


class Suggestions(Record):
    """The ``suggestions``, best first; ``texts`` read, ``distinct`` after dropping repeats, ``pool`` the candidates the
    choice was made among; ``notes`` what the user should know (fewer texts than asked, repeats dropped)."""
    format: Literal[1] = 1
    model: str  # the run, model folder or export that scored the texts, as given
    family: str
    labels: LabelNames
    task: Task
    source: str  # the unlabelled file, as given
    sha256: str  # of its bytes
    strategy: Literal["diverse", "margin", "entropy", "random"]
    score: Literal["margin", "entropy"]  # evaluation/active.py: 1 - (p1 - p2), or entropy / log K
    seed: int
    requested: Annotated[int, Field(ge=1)]
    texts: Count
    distinct: Count
    pool: Count
    notes: list[str] = Field(default_factory=list)
    suggestions: list[Suggestion]

    @model_validator(mode="after")
    def _consistent(self):
        if not len(self.suggestions) == min(self.requested, self.distinct) or not self.pool <= self.distinct <= self.texts:
            raise ValueError(f"suggestions: {len(self.suggestions)} suggested of {self.requested} asked, from {self.pool} "
                             f"candidates of {self.distinct} distinct texts ({self.texts} read)")
        if [s.rank for s in self.suggestions] != list(range(1, len(self.suggestions) + 1)):
            raise ValueError("suggestions: ranks must run 1, 2, 3, ... in order")
        return self

    def csv_text(self) -> str:
        """One row per suggestion, ready to label: fill in ``label`` and read it as a dataset file."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for s in self.suggestions:
            writer.writerow([s.rank, s.text, "", LABEL_SEPARATOR.join(s.predicted), f"{s.probability:.6f}",
                             f"{s.score:.6f}"])
        return out.getvalue()

    def write_csv(self, path: str | Path, force: bool = False) -> Path:
        """Written atomically; an existing file is replaced only with ``force`` (a filled-in label column is work)."""
        path = Path(path)
        lock = claim_file(path, "suggestions file")  # two writers never interleave
        try:
            check_new_file(path, force)
            write_text_atomic(path, self.csv_text())
        finally:
            lock.release()
        return path


def check_new_file(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise EmobenchError(f"{option('output')} {path}: already exists; choose another file, or give "
                            f"{option('force')} to replace it")
