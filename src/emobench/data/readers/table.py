"""User files: CSV, TSV or JSONL with a text and a label column, and either a split column, one file per
split, or a generated stratified split (recorded line by line)."""
from __future__ import annotations

from pathlib import Path

from ...errors import DataError
from ..corpus import Corpus, Split, sha256_file
from ..splitting import stratified_split
from ..text import is_placeholder
from .common import TextChecker, field, label_id, label_names_from, raw_label, read_records
from .emotion import semicolon_lines

SPLIT_ALIASES = {
    "train": "train", "training": "train",
    "validation": "validation", "val": "validation", "valid": "validation", "dev": "validation",
    "test": "test", "testing": "test",
}


def load(config) -> Corpus:
    return load_table(config)


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
    rows: dict[str, list[tuple[str, str, Path, int]]] = {}
    checksums = {}
    check = TextChecker()
    dropped = 0
    for split, filename in files.items():
        path = Path(filename).expanduser()
        records = read_records(path, config.encoding)
        checksums[str(path.resolve())] = sha256_file(path)
        if not records:
            raise DataError("no examples (the file has no data rows)", path)
        for number, record in records:
            text = check(field(record, config.text_column, path, number), config.text_column, path, number)
            label = raw_label(field(record, config.label_column, path, number), config.label_column, path, number)
            if config.drop_placeholders and is_placeholder(text):
                dropped += 1
                continue
            target = split
            if split == "all" and config.split_column:
                value = str(field(record, config.split_column, path, number)).strip().lower()
                if value not in SPLIT_ALIASES:
                    raise DataError(
                        f"split {value!r} in column {config.split_column!r}; expected train, validation or test "
                        f"(or {', '.join(k for k in SPLIT_ALIASES if k not in ('train', 'validation', 'test'))})",
                        path, number,
                    )
                target = SPLIT_ALIASES[value]
            rows.setdefault(target, []).append((text, label, path, number))
    check.report()
    source = {"kind": "file", "files": checksums, "dropped_placeholders": dropped}
    if "all" in rows:
        return _generated_split(config, rows.pop("all"), source)
    if "train" not in rows:
        raise DataError(f"no training rows (splits found: {', '.join(rows) or 'none'})", Path(next(iter(files.values()))))
    explicit = bool(config.label_names)
    names = label_names_from([(label, path, number) for _, label, path, number in rows["train"]], config.label_names)
    splits = {split: Split([item[0] for item in items],
                           [label_id(label, names, explicit, path, number, split) for _, label, path, number in items])
              for split, items in rows.items()}
    return Corpus(config.short_name, names, splits, source)


def _generated_split(config, items, source) -> Corpus:
    explicit = bool(config.label_names)
    names = label_names_from([(label, path, number) for _, label, path, number in items], config.label_names)
    labels = [label_id(label, names, explicit, path, number, "train") for _, label, path, number in items]
    assignment = stratified_split(labels, config.split_fractions, config.split_seed, names, items[0][2])
    splits = {name: Split([items[i][0] for i in idx], [labels[i] for i in idx]) for name, idx in assignment.items()}
    source["split"] = {"seed": config.split_seed, "fractions": config.split_fractions,
                       "file_lines": {name: [items[i][3] for i in idx] for name, idx in assignment.items()}}
    return Corpus(config.short_name, names, splits, source)


def load_labelled_file(path: str | Path, label_names: list[str], text_column: str = "text",
                       label_column: str = "label", explicit_ids: bool = False, encoding: str = "utf-8") -> Split:
    """A labelled file to evaluate a trained model on: CSV/TSV/JSONL with columns, or ``text;label`` lines
    (.txt). Integer labels are read as ids only when ``explicit_ids`` (the names were given in id order)."""
    path = Path(path).expanduser()
    check = TextChecker()
    if path.suffix.lower() == ".txt":
        items = [(check(text, "text", path, n), raw_label(label, "label", path, n), n)
                 for n, text, label in semicolon_lines(path, encoding)]
    else:
        items = [(check(field(r, text_column, path, n), text_column, path, n),
                  raw_label(field(r, label_column, path, n), label_column, path, n), n)
                 for n, r in read_records(path, encoding)]
    check.report()
    if not items:
        raise DataError("no examples", path)
    labels = [label_id(label, label_names, explicit_ids, path, number, "evaluation") for _, label, number in items]
    return Split([text for text, _, _ in items], labels)
