"""Readers: dair-ai emotion (files or hub), raw ISEAR, and any CSV/TSV/JSONL file."""
from __future__ import annotations

import csv
import io
import json
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import DataError, EmobenchError
from .corpus import Corpus, Split, sha256_file, sha256_texts
from .splitting import stratified_split
from .text import is_placeholder

EMOTION_LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]
EMOTION_FILES = {"train": "train.txt", "validation": "val.txt", "test": "test.txt"}
EMOTION_SHA256 = {
    "train.txt": "3ab03d945a6cb783d818ccd06dafd52d2ed8b4f62f0f85a09d7d11870865b190",
    "val.txt": "34faaa31962fe63cdf5dbf6c132ef8ab166c640254ab991af78f3aea375e79ef",
    "test.txt": "60f531690d20127339e7f054edc299a82c627b5ec0dd5d552d53d544e0cfcc17",
}
ISEAR_LABELS = ["joy", "fear", "anger", "sadness", "disgust", "shame", "guilt"]
ISEAR_SHA256 = "370110fff70a1e1d9e23b10cf6db1f64876120fa02276afe5916fbfeb038cdca"
ISEAR_FIXED_FIELDS = 40  # ID ... MYKEY; then SIT (may contain "|"), STATE, and an empty trailing field
SPLIT_ALIASES = {
    "train": "train", "training": "train",
    "validation": "validation", "val": "validation", "valid": "validation", "dev": "validation",
    "test": "test", "testing": "test",
}


class DataChecksumWarning(UserWarning):
    """A known file's bytes differ from the published ones."""


@dataclass
class DatasetConfig:
    """Everything needed to load the same data again; saved with every run."""

    name: str = "emotion"  # "emotion", "isear", or a path to a CSV/TSV/JSONL file
    data_dir: str | None = None
    # For user files: one file (with a split column or a generated split) or one file per split.
    files: dict[str, str] = field(default_factory=dict)
    text_column: str = "text"
    label_column: str = "label"
    split_column: str | None = None
    label_names: list[str] | None = None
    # Generated splits (ISEAR, files without splits).
    split_fractions: dict[str, float] = field(default_factory=lambda: {"train": 0.8, "validation": 0.1, "test": 0.1})
    split_seed: int = 13
    drop_placeholders: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def short_name(self) -> str:
        """"emotion", "isear", or a user file's stem: for naming run and comparison folders."""
        return Path(self.name).stem


def resolve_data_root(data_dir: str | None) -> Path | None:
    root = data_dir or os.environ.get("EMOBENCH_DATA")
    return Path(root).expanduser() if root else None


def load_dataset(config: DatasetConfig | str | None = None, **overrides) -> Corpus:
    """Load a corpus by name ("emotion", "isear") or from a user file, as the config says."""
    if config is None or isinstance(config, str):
        config = DatasetConfig(name=config or "emotion")
    if overrides:
        config = DatasetConfig(**{**config.to_dict(), **overrides})
    if config.name == "emotion":
        corpus = load_emotion(config.data_dir)
    elif config.name == "isear":
        corpus = load_isear(config)
    else:
        corpus = load_table(config)
    corpus.source["config"] = config.to_dict()
    return corpus


# ---------------------------------------------------------------- line-level reading


def _read_text(path: Path) -> str:
    """Read UTF-8 text; undecodable bytes are reported with their line number."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError("file not found", path) from None
    except OSError as exc:
        raise DataError(f"cannot read file ({exc.strerror})", path) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"bytes {raw[exc.start:exc.end]!r} are not valid UTF-8; expected a UTF-8 text file", path, line
        ) from None


# ---------------------------------------------------------------- dair-ai emotion


def _semicolon_lines(path: Path):
    """(line number, text, label) of a ``text;label`` file, split on the last ';'."""
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        text, sep, label = line.rpartition(";")
        if not sep:
            raise DataError("expected 'text;label' (no ';' in the line)", path, number)
        yield number, text, label.strip()


def read_emotion_file(path: Path) -> Split:
    texts, labels = [], []
    for number, text, label in _semicolon_lines(path):
        if label not in EMOTION_LABELS:
            raise DataError(f"label {label!r} is not one of {', '.join(EMOTION_LABELS)}", path, number)
        if not text.strip():
            raise DataError("empty text", path, number)
        texts.append(text)
        labels.append(EMOTION_LABELS.index(label))
    return Split(texts, labels)


def load_emotion(data_dir: str | None = None) -> Corpus:
    """dair-ai emotion: local ``<root>/emotion/{train,val,test}.txt`` if present, else the hub."""
    root = resolve_data_root(data_dir)
    if root is not None:
        folder = root / "emotion" if (root / "emotion").is_dir() else root
        if all((folder / f).is_file() for f in EMOTION_FILES.values()):
            return _emotion_from_folder(folder)
    return _emotion_from_hub(root)


def _emotion_from_folder(folder: Path) -> Corpus:
    splits, files = {}, {}
    for split, filename in EMOTION_FILES.items():
        path = folder / filename
        checksum = sha256_file(path)
        files[str(path.resolve())] = checksum
        if checksum != EMOTION_SHA256[filename]:
            warnings.warn(
                f"{path}: sha256 {checksum[:12]}... differs from the published dair-ai file "
                f"({EMOTION_SHA256[filename][:12]}...); results will not be comparable with published numbers",
                DataChecksumWarning,
                stacklevel=3,
            )
        splits[split] = read_emotion_file(path)
    return Corpus("emotion", list(EMOTION_LABELS), splits, {"kind": "dair-ai-files", "files": files})


def _emotion_from_hub(root: Path | None) -> Corpus:
    where = f"no emotion/train.txt, val.txt, test.txt under {root}" if root else "no data root (EMOBENCH_DATA or --data-dir)"
    try:
        import datasets  # optional: pip install 'emobench[hub]'
    except ImportError:
        raise EmobenchError(
            f"dair-ai emotion: {where}, and the 'datasets' package for the hub is not installed "
            "(pip install 'emobench[hub]', or set EMOBENCH_DATA to a folder holding emotion/train.txt, val.txt, test.txt)"
        ) from None
    try:
        hub = datasets.load_dataset("dair-ai/emotion", "split")
    except Exception as exc:  # network, auth, cache: all mean "not available here"
        raise EmobenchError(f"dair-ai emotion: {where}, and the hub could not be reached ({exc})") from None
    names = hub["train"].features["label"].names
    if names != EMOTION_LABELS:
        raise EmobenchError(f"dair-ai emotion from the hub has labels {names}, expected {EMOTION_LABELS}")
    splits = {name: Split(list(hub[name]["text"]), list(hub[name]["label"])) for name in ("train", "validation", "test")}
    checks = {f"hub:dair-ai/emotion/{name}": sha256_texts(split) for name, split in splits.items()}
    return Corpus("emotion", list(EMOTION_LABELS), splits, {"kind": "hub", "files": checks})


# ---------------------------------------------------------------- ISEAR


def read_isear_rows(path: Path) -> tuple[list[str], list[int]]:
    """Parse the raw survey export; returns texts and label ids in file order."""
    lines = _read_text(path).splitlines()
    if not lines:
        raise DataError("empty file; expected the ISEAR export with a header row", path)
    header = lines[0].split("|")
    for column in ("Field1", "SIT"):
        if column not in header:
            raise DataError(f"missing column {column!r} in the header; expected the ISEAR export", path, 1)
    label_at = header.index("Field1")
    expected = len(header)
    texts, labels = [], []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) < expected:
            raise DataError(f"{len(fields)} fields, expected {expected} ('|'-separated)", path, number)
        # "|" inside SIT gives extra fields: the first 40 and the last two are fixed, SIT is in between.
        text = "|".join(fields[ISEAR_FIXED_FIELDS:-2])
        text = " ".join(text.replace("\u00e1", " ").split())  # "á" is the survey's line-wrap marker
        label = fields[label_at].strip()
        if label not in ISEAR_LABELS:
            raise DataError(f"label {label!r} in Field1 is not one of {', '.join(ISEAR_LABELS)}", path, number)
        texts.append(text)
        labels.append(ISEAR_LABELS.index(label))
    return texts, labels


def load_isear(config: DatasetConfig) -> Corpus:
    root = resolve_data_root(config.data_dir)
    if root is None:
        raise EmobenchError("ISEAR: set EMOBENCH_DATA or --data-dir to a folder holding isear/isear.csv")
    path = root / "isear" / "isear.csv" if (root / "isear").is_dir() else root / "isear.csv"
    checksum = sha256_file(path) if path.is_file() else None
    if checksum is None:
        raise DataError("file not found; expected the ISEAR export isear/isear.csv under the data root", path)
    if checksum != ISEAR_SHA256:
        warnings.warn(f"{path}: sha256 differs from the known ISEAR export", DataChecksumWarning, stacklevel=3)
    texts, labels = read_isear_rows(path)
    rows = list(range(len(texts)))
    dropped = 0
    if config.drop_placeholders:
        rows = [i for i in rows if not is_placeholder(texts[i])]
        dropped = len(texts) - len(rows)
    kept_labels = [labels[i] for i in rows]
    assignment = stratified_split(kept_labels, config.split_fractions, config.split_seed)
    splits, recorded = {}, {}
    for name, positions in assignment.items():
        data_rows = [rows[p] for p in positions]
        splits[name] = Split([texts[i] for i in data_rows], [labels[i] for i in data_rows])
        recorded[name] = [i + 2 for i in data_rows]  # file line numbers (header is line 1)
    source = {
        "kind": "isear-export",
        "files": {str(path.resolve()): checksum},
        "split": {"seed": config.split_seed, "fractions": config.split_fractions, "file_lines": recorded},
        "dropped_placeholders": dropped,
    }
    return Corpus("isear", list(ISEAR_LABELS), splits, source)


# ---------------------------------------------------------------- CSV / TSV / JSONL


def _read_records(path: Path) -> list[tuple[int, dict]]:
    """(line number, record) for every non-empty row; the format comes from the file suffix."""
    text = _read_text(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"malformed JSON ({exc.msg}); expected one JSON object per line", path, number) from None
            if not isinstance(record, dict):
                raise DataError(f"expected a JSON object, got {type(record).__name__}", path, number)
            records.append((number, record))
        return records
    if suffix not in (".csv", ".tsv", ".tab", ".txt"):
        raise DataError(f"unknown file type {suffix!r}; expected .csv, .tsv or .jsonl", path)
    delimiter = "\t" if suffix in (".tsv", ".tab") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError("empty file; expected a header row", path, 1) from None
    records = []
    try:
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise DataError(f"{len(row)} fields, expected {len(header)} as in the header", path, number)
            records.append((number, dict(zip(header, row))))
    except csv.Error as exc:
        raise DataError(f"malformed row ({exc})", path, reader.line_num) from None
    return records


def _field(record: dict, column: str, path: Path, number: int):
    if column not in record:
        raise DataError(f"missing column {column!r} (columns: {', '.join(map(str, record))})", path, number)
    return record[column]


def load_table(config: DatasetConfig) -> Corpus:
    files = dict(config.files) or {"all": config.name}
    rows: dict[str, list[tuple[str, str, Path, int]]] = {}
    checksums = {}
    for split, filename in files.items():
        path = Path(filename).expanduser()
        records = _read_records(path)
        checksums[str(path.resolve())] = sha256_file(path)
        for number, record in records:
            text = _field(record, config.text_column, path, number)
            label = _field(record, config.label_column, path, number)
            if not isinstance(text, str) or not text.strip():
                raise DataError(f"empty text in column {config.text_column!r}", path, number)
            if label is None or str(label).strip() == "":
                raise DataError(f"empty label in column {config.label_column!r}", path, number)
            target = split
            if split == "all" and config.split_column:
                value = str(_field(record, config.split_column, path, number)).strip().lower()
                if value not in SPLIT_ALIASES:
                    raise DataError(
                        f"split {value!r} in column {config.split_column!r}; expected train, validation or test",
                        path, number,
                    )
                target = SPLIT_ALIASES[value]
            rows.setdefault(SPLIT_ALIASES.get(target, target), []).append((text, str(label).strip(), path, number))
    if "all" in rows:
        return _generated_split(config, rows.pop("all"), checksums)
    if "train" not in rows:
        raise DataError(f"no training rows (splits found: {', '.join(rows) or 'none'})", Path(next(iter(files.values()))))
    label_names = _label_names(config, rows["train"])
    splits = {}
    for split, items in rows.items():
        labels = []
        for text, label, path, number in items:
            labels.append(_label_id(label, label_names, path, number, split))
        splits[split] = Split([item[0] for item in items], labels)
    name = Path(next(iter(files.values()))).stem
    return Corpus(name, label_names, splits, {"kind": "file", "files": checksums})


def _label_names(config: DatasetConfig, train_rows) -> list[str]:
    if config.label_names:
        return list(config.label_names)
    seen = sorted({label for _, label, _, _ in train_rows})
    if all(label.lstrip("-").isdigit() for label in seen):
        ids = sorted(int(label) for label in seen)
        if ids != list(range(len(ids))):
            path, number = train_rows[0][2], train_rows[0][3]
            raise DataError(f"numeric labels must be the ids 0..{len(ids) - 1}, found {ids}; or pass label names", path, number)
        return [str(i) for i in ids]
    return seen


def _label_id(label: str, names: list[str], path: Path, number: int, split: str) -> int:
    if label in names:
        return names.index(label)
    if label.isdigit() and int(label) < len(names) and not any(n.isdigit() for n in names):
        return int(label)  # ids given with --label-names
    if split == "train":
        raise DataError(f"label {label!r} is not one of {', '.join(names)}", path, number)
    raise DataError(f"label {label!r} in the {split} data never occurs in training (known: {', '.join(names)})", path, number)


def _generated_split(config: DatasetConfig, items, checksums) -> Corpus:
    label_names = _label_names(config, items)
    labels = [_label_id(label, label_names, path, number, "train") for _, label, path, number in items]
    assignment = stratified_split(labels, config.split_fractions, config.split_seed)
    splits = {name: Split([items[i][0] for i in idx], [labels[i] for i in idx]) for name, idx in assignment.items()}
    recorded = {name: [items[i][3] for i in idx] for name, idx in assignment.items()}
    source = {
        "kind": "file",
        "files": checksums,
        "split": {"seed": config.split_seed, "fractions": config.split_fractions, "file_lines": recorded},
    }
    return Corpus(Path(items[0][2]).stem, label_names, splits, source)


def load_labelled_file(path: str | Path, label_names: list[str], text_column: str = "text",
                       label_column: str = "label") -> Split:
    """A labelled file to evaluate a trained model on: CSV/TSV/JSONL with columns, or ``text;label`` lines (.txt)."""
    path = Path(path).expanduser()
    if path.suffix.lower() == ".txt":
        items = [(text, label, number) for number, text, label in _semicolon_lines(path)]
    else:
        items = [(_field(r, text_column, path, n), str(_field(r, label_column, path, n)).strip(), n)
                 for n, r in _read_records(path)]
    texts, labels = [], []
    for text, label, number in items:
        if not isinstance(text, str) or not text.strip():
            raise DataError("empty text", path, number)
        texts.append(text)
        labels.append(_label_id(label, label_names, path, number, "evaluation"))
    if not texts:
        raise DataError("no examples", path)
    return Split(texts, labels)
