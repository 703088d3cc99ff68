"""The one mapping from dataset names to readers, and what is special about each dataset (imports nothing heavy:
the command line reads it to describe its options). A new dataset is one reader module plus one line here."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import EmobenchError
from .references import ISEAR_PAPER, PublishedResults


@dataclass(frozen=True)
class DatasetEntry:
    module: str  # the reader module in this package
    ships_splits: bool  # the dataset has its own train/validation/test (no generated split)
    reference: PublishedResults | None = None  # published results the report sets beside ours
    # What the default audit family costs and scores on this dataset, said beside the family by `data audit
    # --label-issues`: measured on this dataset only, so never said of another.
    audit_note: str | None = None
    options: tuple[str, ...] = ()  # the dataset options (DatasetConfig's command-line options) it accepts
    by_id: bool = False  # NAME:ID names any dataset of a collection by its id (a hub id), not a variant


# Every dataset option, in the order the command line lists them; they are DatasetConfig's fields' (data/config.py).
DATASET_OPTIONS = ("data_dir", "text_column", "label_column", "split_column", "train_file", "validation_file", "test_file",
                   "train_labels", "validation_labels", "test_labels",
                   "split_seed", "validation_split", "limit", "drop_placeholders", "label_names", "label_separator", "label_map",
                   "dataset_name",
                   "no_header", "label_columns", "encoding", "data_format", "train_size", "budget_validation",
                   "label_issues", "label_issues_from", "label_corrections", "unlabeled", "label_descriptions",
                   "hf_config")
# What a family learns from besides labelled texts: only the commands that train take them (train, compare, tune).
FIT_INPUT_OPTIONS = ("unlabeled", "label_descriptions")
# What only your own files take, in the order they are refused for a built-in dataset.
USER_FILE_OPTIONS = ("text_column", "label_column", "split_column", "label_names", "label_separator", "label_columns",
                     "no_header", "dataset_name", "data_format", "validation_split", "train_labels", "validation_labels",
                     "test_labels")
BUILT_IN = tuple(o for o in DATASET_OPTIONS if o not in USER_FILE_OPTIONS)
SHIPPED_SPLITS = tuple(o for o in BUILT_IN if o != "split_seed")  # a dataset with its own splits generates none


USER_FILES = "table"  # the reader of every file a user gives (CSV, TSV, JSONL, text;label)

# dataset name -> what is special about it
READERS = {
    "emotion": DatasetEntry("emotion", ships_splits=True,
                            audit_note="on the full dair-ai emotion data, 5 folds of its 16,000 training texts take about "
                                       "a minute on 2 CPU cores, at test macro-F1 0.85 against the LSTM's 0.89 in 30 "
                                       "times as long",
                            # its files are ASCII text read as published: an --encoding would be ignored
                            options=tuple(o for o in SHIPPED_SPLITS if o != "encoding")),
    "isear": DatasetEntry("isear", ships_splits=False, reference=ISEAR_PAPER, options=BUILT_IN),
    "goemotions": DatasetEntry("goemotions", ships_splits=True, options=SHIPPED_SPLITS),
    # hf:OWNER/NAME: a hub dataset, read like your own files (its splits as the hub has them)
    "hf": DatasetEntry("hub", ships_splits=True, by_id=True,
                       options=(*SHIPPED_SPLITS, "text_column", "label_column", "label_names", "label_separator",
                                "dataset_name", "validation_split", "hf_config")),
    USER_FILES: DatasetEntry(USER_FILES, ships_splits=False, options=DATASET_OPTIONS),
}
DEFAULT_DATASET = "emotion"


def dataset_entry(name: str) -> DatasetEntry:
    """The registry entry of a dataset name ("goemotions:ekman" is goemotions'); any other name is a user file."""
    base = str(name).partition(":")[0]
    return READERS[base] if base in READERS else READERS[USER_FILES]


def _flag(name: str, prefix: str) -> str:
    return "--" + (prefix + name).replace("_", "-")


def config_from_options(dataset: str, values: dict, given: set[str], *, dataset_given: bool = False, prefix: str = ""):
    """The :class:`DatasetConfig` the command-line options say (``values``: by option name, ``given``: the ones
    the user typed), refusing those the dataset does not accept (silently ignoring them would train on something
    other than what was asked). ``prefix``: a second dataset's options, which the flags in messages carry."""
    from .config import DatasetConfig
    from ..params import field_options

    files = {k: values.get(f"{k}_file") for k in ("train", "validation", "test") if values.get(f"{k}_file")}
    if files and "train" not in files:
        raise EmobenchError("--validation-file/--test-file need --train-file")
    if files and dataset_given:
        raise EmobenchError("give either --dataset or --train-file (with --validation-file/--test-file), not both")
    name = files["train"] if files else dataset
    entry = READERS[USER_FILES] if files else dataset_entry(name)
    for option in USER_FILE_OPTIONS:
        if option in given and option not in entry.options:
            raise EmobenchError(f"{_flag(option, prefix)} applies to your own data files, not to the "
                                f"built-in dataset {name!r}")
    if "split_seed" in given and (files or values.get("split_column") or "split_seed" not in entry.options):
        raise EmobenchError("--split-seed applies to generated splits (ISEAR, files without a split column); "
                            "this data has its own splits")
    fields: dict = {"name": name}
    # the parsing order of the options whose values can be refused is the order their errors have always come in
    specs = sorted(field_options(DatasetConfig).items(), key=lambda item: item[0] not in ("label_names", "encoding"))
    for option, (spec, _) in specs:
        value = values.get(option, spec.default)
        fields.update(spec.parse(value, _flag(option, prefix), values) if spec.parse else {option: value})
    for option in DATASET_OPTIONS:  # what else a dataset does not read: refused (after the values' own checks)
        if option in given and option not in entry.options and option not in (*USER_FILE_OPTIONS, "split_seed"):
            raise EmobenchError(f"{_flag(option, prefix)} does not apply to the built-in dataset {name!r}; its "
                                "files are read as published")
    return DatasetConfig(**fields)
