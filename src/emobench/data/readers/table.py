"""User files: CSV, TSV or JSONL with a text and a label column, and either a split column, one file per
split, or a generated stratified split (recorded line by line). Multi-label data: JSON lists in JSONL, or a
label column split on ``--label-separator``."""
from __future__ import annotations

from pathlib import Path

from ...errors import DataError, option
from ..corpus import Corpus, Split, sha256_file
from ..splitting import stratified_split
from ..text import is_placeholder
from .common import TextChecker, field, label_id, label_names_from, raw_label, raw_label_set, read_records
from .emotion import semicolon_lines

SPLIT_ALIASES = {
    "train": "train", "training": "train",
    "validation": "validation", "val": "validation", "valid": "validation", "dev": "validation",
    "test": "test", "testing": "test",
}


def load(config) -> Corpus:
    return load_table(config)


def _columns(config) -> tuple[str, str, str | None]:
    """Without a header, columns are positions; the default names mean the first two columns."""
    if config.header:
        return config.text_column, config.label_column, config.split_column
    text = "1" if config.text_column == "text" else config.text_column
    label = "2" if config.label_column == "label" else config.label_column
    for name, value in (("text_column", text), ("label_column", label), ("split_column", config.split_column)):
        if value is not None and not value.isdigit():
            raise DataError(f"{option(name)} {value!r}: with {option('no_header')}, columns are positions (1, 2, ...)")
    return text, label, config.split_column


def load_table(config) -> Corpus:
    from . import READERS

    path = Path(config.name).expanduser()
    if not config.files and not path.suffix and not path.exists() and "/" not in config.name:
        raise DataError(f"unknown dataset {config.name!r}; expected one of {', '.join(r for r in READERS if r != 'table')}, "
                        "or a path to a CSV/TSV/JSONL file")
    files = dict(config.files) or {"all": config.name}
    unknown = [name for name in files if name not in ("all", "train", "validation", "test")]
    if unknown:
        raise DataError(f"unknown split {unknown[0]!r}; expected train, validation or test")
    text_column, label_column, split_column = _columns(config)
    records_by_file = {}
    for split, filename in files.items():
        records_by_file[split] = (Path(filename).expanduser(), read_records(Path(filename).expanduser(), config.encoding,
                                                                            config.header))
    multi = config.label_separator is not None or any(
        isinstance(record.get(label_column), list) for _, records in records_by_file.values() for _, record in records)
    rows: dict[str, list[tuple[str, list[str], Path, int]]] = {}
    checksums = {}
    check = TextChecker()
    dropped = 0
    for split, (path, records) in records_by_file.items():
        checksums[str(path.resolve())] = sha256_file(path)
        if not records:
            raise DataError("no examples (the file has no data rows)", path)
        for number, record in records:
            text = check(field(record, text_column, path, number), text_column, path, number)
            value = field(record, label_column, path, number)
            labels = (raw_label_set(value, label_column, path, number, config.label_separator) if multi
                      else [raw_label(value, label_column, path, number)])
            if config.drop_placeholders and is_placeholder(text):
                dropped += 1
                continue
            target = split
            if split == "all" and split_column:
                value = str(field(record, split_column, path, number)).strip().lower()
                if value not in SPLIT_ALIASES:
                    raise DataError(
                        f"split {value!r} in column {split_column!r}; expected train, validation or test "
                        f"(or {', '.join(k for k in SPLIT_ALIASES if k not in ('train', 'validation', 'test'))})",
                        path, number,
                    )
                target = SPLIT_ALIASES[value]
            rows.setdefault(target, []).append((text, labels, path, number))
    check.report()
    source = {"kind": "file", "files": checksums, "dropped_placeholders": dropped}
    explicit = bool(config.label_names)
    if "all" in rows:
        items = rows.pop("all")
        names = _names(items, config.label_names)
        labels = [_ids(item, names, explicit, "train", multi) for item in items]
        # Multi-label data is stratified by each text's rarest label (texts without one form their own group).
        counts = {}
        for label in labels:
            for i in (label if multi else [label]):
                counts[i] = counts.get(i, 0) + 1
        strata = [min(label, key=lambda i: counts[i], default=-1) if multi else label for label in labels]
        assignment = stratified_split(strata, config.split_fractions, config.split_seed, names, items[0][2])
        splits = {name: Split([items[i][0] for i in idx], [labels[i] for i in idx]) for name, idx in assignment.items()}
        source["split"] = {"seed": config.split_seed, "fractions": config.split_fractions,
                           "file_lines": {name: [items[i][3] for i in idx] for name, idx in assignment.items()}}
        return Corpus(config.short_name, names, splits, source, multi)
    if "train" not in rows:
        raise DataError(f"no training rows (splits found: {', '.join(rows) or 'none'})", Path(next(iter(files.values()))))
    names = _names(rows["train"], config.label_names)
    splits = {split: Split([item[0] for item in items], [_ids(item, names, explicit, split, multi) for item in items])
              for split, items in rows.items()}
    return Corpus(config.short_name, names, splits, source, multi)


def _names(items, explicit) -> list[str]:
    return label_names_from([(label, path, number) for _, labels, path, number in items for label in labels], explicit)


def _ids(item, names: list[str], explicit: bool, split: str, multi: bool):
    _, labels, path, number = item
    ids = [label_id(label, names, explicit, path, number, split) for label in labels]
    return sorted(ids) if multi else ids[0]


def load_labelled_file(path: str | Path, label_names: list[str], text_column: str = "text",
                       label_column: str = "label", explicit_ids: bool = False, encoding: str = "utf-8",
                       multi_label: bool = False, label_separator: str | None = None) -> Split:
    """A labelled file to evaluate a trained model on: CSV/TSV/JSONL with columns, or ``text;label`` lines
    (.txt). Integer labels are read as ids only when ``explicit_ids`` (the names were given in id order)."""
    path = Path(path).expanduser()
    check = TextChecker()
    if path.suffix.lower() == ".txt":
        rows = [(check(text, "text", path, n), label, n) for n, text, label in semicolon_lines(path, encoding)]
        column = "label"
    else:
        rows = [(check(field(r, text_column, path, n), text_column, path, n), field(r, label_column, path, n), n)
                for n, r in read_records(path, encoding)]
        column = label_column
    check.report()
    if not rows:
        raise DataError("no examples", path)
    texts, labels = [], []
    for text, value, number in rows:
        if multi_label:
            ids = sorted(label_id(label, label_names, explicit_ids, path, number, "evaluation")
                         for label in raw_label_set(value, column, path, number, label_separator))
        else:
            ids = label_id(raw_label(value, column, path, number), label_names, explicit_ids, path, number, "evaluation")
        texts.append(text)
        labels.append(ids)
    return Split(texts, labels)
