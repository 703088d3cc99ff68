"""The one mapping from dataset names to readers, and what is special about each dataset (imports nothing heavy:
the command line reads it to describe its options). A new dataset is one reader module plus one line here."""
from __future__ import annotations

from dataclasses import dataclass

from .references import ISEAR_PAPER, PublishedResults


@dataclass(frozen=True)
class DatasetEntry:
    module: str  # the reader module in this package
    ships_splits: bool  # the dataset has its own train/validation/test (no generated split)
    reference: PublishedResults | None = None  # published results the report sets beside ours
    # What the default audit family costs and scores on this dataset, said beside the family by `data audit
    # --label-issues`: measured on this dataset only, so never said of another.
    audit_note: str | None = None


USER_FILES = "table"  # the reader of every file a user gives (CSV, TSV, JSONL, text;label)

# dataset name -> what is special about it
READERS = {
    "emotion": DatasetEntry("emotion", ships_splits=True,
                            audit_note="on the full dair-ai emotion data, 5 folds of its 16,000 training texts take about "
                                       "a minute on 2 CPU cores, at test macro-F1 0.85 against the LSTM's 0.89 in 30 "
                                       "times as long"),
    "isear": DatasetEntry("isear", ships_splits=False, reference=ISEAR_PAPER),
    "goemotions": DatasetEntry("goemotions", ships_splits=True),
    USER_FILES: DatasetEntry(USER_FILES, ships_splits=False),
}
DEFAULT_DATASET = "emotion"


def dataset_entry(name: str) -> DatasetEntry:
    """The registry entry of a dataset name ("goemotions:ekman" is goemotions'); any other name is a user file."""
    base = str(name).partition(":")[0]
    return READERS[base] if base in READERS else READERS[USER_FILES]
