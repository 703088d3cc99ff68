"""User files: CSV, TSV, JSONL or ``text;label`` .txt with a text and a label column, and either a split column,
one file per split, or a generated stratified split (recorded line by line). Multi-label data: JSON lists in
JSONL, a label column split on ``--label-separator``, or one 0/1 indicator column per label (``--label-columns``,
as SemEval-2018 E-c ships it). Every command reads files through this module."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ...errors import DataError, option
from ..corpus import Corpus, Split, sha256_file
from ..provenance import DataSource, SplitRecipe
from ..splitting import stratified_split
from ..text import is_placeholder
from .common import file_format, read_records
from .values import TextChecker, check_not_scores, field, label_id, label_names_from, raw_label, raw_label_set

SPLIT_ALIASES = {
    "train": "train", "training": "train",
    "validation": "validation", "val": "validation", "valid": "validation", "dev": "validation",
    "test": "test", "testing": "test",
}
ALL_OTHER_COLUMNS = "all"  # --label-columns all: every column but the text and split columns
INDICATORS = {"0": 0, "1": 1}


def load(config) -> Corpus:
    return load_table(config)


def _columns(config) -> tuple[str, str, str | None]:
    """Without a header, columns are positions; the default names mean the first two columns."""
    if config.header:
        return config.text_column, config.label_column, config.split_column
    text = "1" if config.text_column == "text" else config.text_column
    label = "2" if config.label_column == "label" else config.label_column
    columns = [("text_column", text), ("label_column", label), ("split_column", config.split_column)]
    if isinstance(config.label_columns, list):
        columns += [("label_columns", c) for c in config.label_columns]
    for name, value in columns:
        if value is not None and not value.isdigit():
            raise DataError(f"{option(name)} {value!r}: with {option('no_header')}, columns are positions (1, 2, ...)")
    return text, label, config.split_column


def read_texts(path: str | Path, config, flag: str) -> tuple[list[str], str]:
    """The texts of a file without labels (``--unlabeled``), read as every dataset file is (the same decoding, formats
    and checks), in the dataset's text column, with its header, encoding and format options; and the file's sha256."""
    where = Path(path).expanduser()
    encoding = config.encoding if not config.encodings else "utf-8"
    records = read_records(where, encoding, config.header, config.data_format, f"{option('encoding')} ENCODING",
                           labelled=False)
    if not records:
        raise DataError(f"no texts (the file has no data rows); {flag} expects one text per line (.txt) or a text "
                        "column", where)
    column = "text" if file_format(where, config.data_format) == "txt" else _columns(config)[0]
    check = TextChecker()
    texts = []
    for number, record in records:
        text = check(field(record, column, where, number), column, where, number)
        if not (config.drop_placeholders and is_placeholder(text)):
            texts.append(text)
    check.report()
    if not texts:
        raise DataError(f"no texts left after dropping placeholders; {flag} expects texts", where)
    return texts, sha256_file(where)


def _check_txt(config, path: Path) -> None:
    """A ``text;label`` file has two columns, ``text`` and ``label``, and no header to leave out."""
    if config.text_column != "text" or config.label_column != "label" or config.label_columns or not config.header \
            or config.split_column:
        raise DataError(f"a 'text;label' file has the columns text and label only; {option('text_column')}, "
                        f"{option('label_column')}, {option('label_columns')}, {option('split_column')} and "
                        f"{option('no_header')} apply to CSV, TSV and JSONL files", path)


def load_table(config) -> Corpus:
    files = _files(config)
    text_column, label_column, split_column = columns = _columns(config)
    records_by_file, label_paths = {}, _label_paths(config, files)
    for split, filename in files.items():
        where = Path(filename).expanduser()
        how = f"{option('encoding')} {split}=ENCODING" if len(files) > 1 else f"{option('encoding')} ENCODING"
        if split in label_paths:
            records_by_file[split] = (where, _paired(config, where, label_paths[split], split, how))
            continue
        records_by_file[split] = (where, read_records(where, config.encodings.get(split, config.encoding), config.header,
                                                      config.data_format, how))
        if file_format(where, config.data_format) == "txt":
            _check_txt(config, where)
    indicator_columns = _indicator_columns(config, records_by_file, text_column, split_column)
    multi = indicator_columns is not None or config.label_separator is not None or any(
        isinstance(record.get(label_column), list) for _, records in records_by_file.values() for _, record in records)
    rows, checksums, dropped = _rows(config, records_by_file, columns, indicator_columns, multi, label_paths)
    provenance = {"kind": "file", "files": checksums, "dropped_placeholders": dropped}
    if indicator_columns is not None:
        provenance["label_columns"] = indicator_columns
    explicit = bool(config.label_names) or indicator_columns is not None
    explicit_names = indicator_columns if indicator_columns is not None else config.label_names
    if config.validation_split is not None and ("all" in rows or "validation" in rows or "train" not in rows):
        why = ("one file without a split column is cut into train, validation and test already" if "all" in rows else
               "the data has a validation split of its own" if "validation" in rows else "there is no training file")
        raise DataError(f"{option('validation_split')} holds out part of a training file as the validation split; {why}")
    if "all" in rows:
        items = rows.pop("all")
        names = _names(items, explicit_names, config.label_order, config, label_column)
        labels = [_ids(item, names, explicit, "train", multi) for item in items]
        splits, recipe = _generated_splits(config, items, labels, names, multi)
        return Corpus(config.short_name, names, splits, DataSource(**provenance, split=recipe), multi)
    # Label names come from the training rows; data read only to be scored (no training split) names its own.
    names = _names(rows["train"] if "train" in rows else [item for items in rows.values() for item in items], explicit_names,
                   config.label_order, config, label_column)
    splits = {split: Split([item[0] for item in items], [_ids(item, names, explicit, split, multi) for item in items])
              for split, items in rows.items()}
    recipe = None
    if config.validation_split is not None:
        splits, recipe = _held_out(config, rows["train"], splits, names, multi)
    return Corpus(config.short_name, names, splits, DataSource(**provenance, split=recipe), multi)


def _held_out(config, items: list[Row], splits: dict[str, Split], names: list[str], multi: bool):
    """The training file's rows cut into train and validation (``--validation-split``), stratified like a generated
    split; the recipe records both splits' lines of the training file."""
    share = config.validation_split
    cut, recipe = _generated_splits(replace(config, split_fractions={"train": 1 - share, "validation": share}), items,
                                    splits["train"].labels, names, multi)
    return {"train": cut["train"], "validation": cut["validation"],
            **{name: split for name, split in splits.items() if name != "train"}}, recipe


def _files(config) -> dict[str, str]:
    """The files to read, by split ("all": one file holding every split)."""
    from ..registry import READERS, USER_FILES

    path = Path(config.name).expanduser()
    if not config.files and not path.suffix and not path.exists() and "/" not in config.name:
        raise DataError(f"unknown dataset {config.name!r}; expected one of {', '.join(r for r in READERS if r != USER_FILES)}, "
                        "or a path to a CSV/TSV/JSONL/.txt file")
    files = dict(config.files) or {"all": config.name}
    unknown = [name for name in files if name not in ("all", "train", "validation", "test")]
    if unknown:
        raise DataError(f"unknown split {unknown[0]!r}; expected train, validation or test")
    unknown = [name for name in config.encodings if name not in files]
    if unknown:
        given = ", ".join(f for f in files if f != "all") or "one file"
        raise DataError(f"{option('encoding')} {unknown[0]}=...: there is no {unknown[0]} file (files: {given})")
    return files


Row = tuple[str, list[str], Path, int]  # text, raw labels, file, line


def _label_paths(config, files: dict[str, str]) -> dict[str, Path]:
    """The parallel label files (``--train-labels``...), each beside its split's text file."""
    paths = {split: Path(name).expanduser() for split, name in (config.label_files or {}).items()}
    for split in paths:
        if split not in files:
            raise DataError(f"{option(split + '_labels')} gives the labels of {option(split + '_file')}; give that file too")
        if Path(files[split]).suffix.lower() not in ("", ".txt", ".text"):
            raise DataError(f"{option(split + '_labels')} pairs with a text file of one text per line (.txt); "
                            f"{Path(files[split]).name} is a table: give its label column instead", Path(files[split]))
        if config.label_columns or config.label_column != "label" or config.text_column != "text" or config.split_column:
            raise DataError(f"{option(split + '_labels')}: the text file holds one text per line and the labels file "
                            f"one label per line; {option('text_column')}, {option('label_column')}, "
                            f"{option('label_columns')} and {option('split_column')} apply to table files")
    return paths


def _paired(config, texts_path: Path, labels_path: Path, split: str, how: str) -> list[tuple[int, dict]]:
    """A text file of one text per line and a labels file of one label per line, as records of those two columns."""
    from .common import read_text

    encoding = config.encodings.get(split, config.encoding)
    texts = read_text(texts_path, encoding, how).splitlines()
    labels = read_text(labels_path, encoding, how).splitlines()
    if len(texts) != len(labels):
        raise DataError(f"{len(texts)} lines, but {labels_path} has {len(labels)}; "
                        f"{option(split + '_labels')} holds one label per line of the text file", texts_path)
    return [(number, {"text": text, "label": label}) for number, (text, label) in enumerate(zip(texts, labels), 1)]


def _rows(config, records_by_file, columns, indicator_columns, multi,
          label_paths: dict[str, Path] | None = None) -> tuple[dict[str, list[Row]], dict[str, str], int]:
    """Every file's rows by split, the files' sha256, and how many placeholder texts were dropped."""
    rows: dict[str, list[Row]] = {}
    checksums = {}
    check = TextChecker()
    dropped = 0
    # --label-columns all reads the label columns of the first row: a JSON line with another column would lose labels
    every_column = set(first_row_columns(records_by_file)) if config.label_columns == ALL_OTHER_COLUMNS else None
    for split, (path, records) in records_by_file.items():
        checksums[str(path.resolve())] = sha256_file(path)
        labelled_by = (label_paths or {}).get(split)
        if labelled_by is not None:
            checksums[str(labelled_by.resolve())] = sha256_file(labelled_by)
        if not records:
            raise DataError("no examples (the file has no data rows)", path)
        for number, record in records:
            if every_column is not None:
                stray = next((c for c in record if c not in every_column), None)
                if stray is not None:
                    raise DataError(f"column {stray!r} is not in the first row; {option('label_columns')} all takes the "
                                    "label columns from the first row (list them, or give every row the same columns)",
                                    path, number)
            text, labels = _text_and_labels(config, record, columns, indicator_columns, multi, check, path, number,
                                            labelled_by)
            if config.drop_placeholders and is_placeholder(text):
                dropped += 1
                continue
            target = _split_of(record, columns[2], path, number) if split == "all" and columns[2] else split
            rows.setdefault(target, []).append((text, labels, labelled_by or path, number))
    check.report()
    return rows, checksums, dropped


def _text_and_labels(config, record, columns, indicator_columns, multi, check, path, number,
                     labelled_by: Path | None = None) -> tuple[str, list[str]]:
    """A record's text and raw labels; ``labelled_by``: the parallel labels file its label comes from (named in a
    label's error, as the text file is in a text's)."""
    text_column, label_column, _ = columns
    text = check(field(record, text_column, path, number), text_column, path, number)
    if indicator_columns is not None:
        return text, _indicated(record, indicator_columns, path, number)
    path = labelled_by or path
    value = field(record, label_column, path, number)
    return text, (raw_label_set(value, label_column, path, number, config.label_separator) if multi
                  else [raw_label(value, label_column, path, number)])


def _split_of(record: dict, split_column: str, path: Path, number: int) -> str:
    value = str(field(record, split_column, path, number)).strip().lower()
    if value not in SPLIT_ALIASES:
        raise DataError(
            f"split {value!r} in column {split_column!r}; expected train, validation or test "
            f"(or {', '.join(k for k in SPLIT_ALIASES if k not in ('train', 'validation', 'test'))})",
            path, number,
        )
    return SPLIT_ALIASES[value]


def _generated_splits(config, items: list[Row], labels: list, names: list[str], multi: bool):
    """A stratified split of one file's rows, and its recipe (every split's file lines)."""
    # Multi-label data is stratified by each text's rarest label (texts without one form their own group).
    counts = {}
    for label in labels:
        for i in (label if multi else [label]):
            counts[i] = counts.get(i, 0) + 1
    strata = [min(label, key=lambda i: counts[i], default=-1) if multi else label for label in labels]
    assignment = stratified_split(strata, config.split_fractions, config.split_seed, names, items[0][2])
    splits = {name: Split([items[i][0] for i in idx], [labels[i] for i in idx]) for name, idx in assignment.items()}
    recipe = SplitRecipe(seed=config.split_seed, fractions=config.split_fractions,
                         file_lines={name: [items[i][3] for i in idx] for name, idx in assignment.items()})
    return splits, recipe


def _indicator_columns(config, records_by_file, text_column: str, split_column: str | None) -> list[str] | None:
    """The 0/1 label columns (``--label-columns``): as listed, or every column but the text and split columns."""
    if not config.label_columns:
        return None
    if config.label_separator is not None:
        raise DataError(f"{option('label_columns')} and {option('label_separator')}: give one way of reading labels")
    first_path, first = next(((path, records[0]) for path, records in records_by_file.values() if records), (None, None))
    if first is None:
        return None  # an empty file: reported where the records are read
    if config.label_columns == ALL_OTHER_COLUMNS:
        columns = [c for c in first[1] if c not in (text_column, split_column)]
        # A column none of whose values is 0 or 1 is no label (an id, a date, a free-text field): left out, and said.
        # A label column with a stray value keeps it, and the value is an error naming its line (_indicated).
        others = [c for c in columns if not any(_indicator_value(r.get(c)) for _, records in records_by_file.values()
                                                for _, r in records)]
        if others:
            import warnings

            from .common import DataWarning

            warnings.warn(f"{option('label_columns')} all: left out the column{'s' if len(others) > 1 else ''} "
                          f"{', '.join(repr(c[:60]) for c in others[:5])}{' and more' if len(others) > 5 else ''}, which "
                          f"hold{'' if len(others) > 1 else 's'} no 0/1 value (an identifier or another field, not a "
                          "label)", DataWarning, stacklevel=2)
            columns = [c for c in columns if c not in others]
        if len(columns) < 2:
            raise DataError(f"{option('label_columns')} all: {len(columns)} column(s) besides the text; expected one 0/1 "
                            "column per label", first_path, first[0])
        return columns
    columns = list(config.label_columns)
    for column in columns:
        if column in (text_column, split_column):
            raise DataError(f"{option('label_columns')}: {column!r} is the text or split column")
    return columns


def first_row_columns(records_by_file) -> list:
    return next((list(records[0][1]) for _, records in records_by_file.values() if records), [])


def _indicator_key(value) -> str:
    return ("1" if value else "0") if isinstance(value, bool) else str(value).strip()


def _indicator_value(value) -> bool:
    return value is not None and _indicator_key(value) in INDICATORS


def _indicated(record: dict, columns: list[str], path: Path, number: int) -> list[str]:
    """The labels of a row of 0/1 indicator columns."""
    labels = []
    for column in columns:
        value = field(record, column, path, number)
        key = _indicator_key(value)
        if key not in INDICATORS:
            shown = repr(value)[:60]
            raise DataError(f"column {column!r}: {shown} is not 0 or 1; {option('label_columns')} reads one 0/1 column per "
                            "label (list the label columns if others sit beside them)", path, number)
        if INDICATORS[key]:
            labels.append(column)
    return labels


def _names(items, explicit, known=None, config=None, column: str | None = None) -> list[str]:
    labels = [(label, path, number) for _, labels, path, number in items for label in labels]
    # A label map names which numbers are which class: the user has said the values are classes.
    if not explicit and (config is None or not config.label_map) and (
            known is None or any(label not in known for label, _, _ in labels)):
        check_not_scores(labels, column)
    return label_names_from(labels, explicit, known)


def _ids(item, names: list[str], explicit: bool, split: str, multi: bool):
    _, labels, path, number = item
    ids = [label_id(label, names, explicit, path, number, split) for label in labels]
    return sorted(ids) if multi else ids[0]
