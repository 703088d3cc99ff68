"""ISEAR (Scherer & Wallbott 1994), the raw ``|``-separated survey export ``<root>/isear/isear.csv``.
There is no official split: a deterministic stratified one is made and its file lines are recorded."""
from __future__ import annotations

import warnings
from pathlib import Path

from ...errors import DataError, EmobenchError, option
from ..corpus import Corpus, Split, sha256_file
from ..provenance import DataSource, SplitRecipe
from ..splitting import stratified_split
from ..text import is_placeholder
from .common import DataChecksumWarning, read_text, resolve_data_root
from .values import TextChecker

ISEAR_LABELS = ["joy", "fear", "anger", "sadness", "disgust", "shame", "guilt"]
ISEAR_SHA256 = "370110fff70a1e1d9e23b10cf6db1f64876120fa02276afe5916fbfeb038cdca"
ISEAR_FIXED_FIELDS = 40  # ID ... MYKEY; then SIT (may contain "|"), STATE, and an empty trailing field


def read_isear_rows(path: Path, encoding: str = "utf-8") -> tuple[list[str], list[int], list[int]]:
    """Parse the raw survey export; returns texts, label ids and file line numbers, in file order."""
    lines = read_text(path, encoding).splitlines()
    if not lines:
        raise DataError("empty file; expected the ISEAR export with a header row", path)
    header = lines[0].split("|")
    for column in ("Field1", "SIT"):
        if column not in header:
            raise DataError(f"missing column {column!r} in the header; expected the ISEAR export", path, 1)
    label_at = header.index("Field1")
    expected = len(header)
    check = TextChecker()
    texts, labels, numbers = [], [], []
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
        texts.append(check(text, "SIT", path, number) if text else text)  # empty SIT: a placeholder the audit counts
        labels.append(ISEAR_LABELS.index(label))
        numbers.append(number)
    check.report()
    return texts, labels, numbers


def load(config) -> Corpus:
    return load_isear(config)


def load_isear(config) -> Corpus:
    root = resolve_data_root(config.data_dir)
    if root is None:
        raise EmobenchError(f"ISEAR: set EMOBENCH_DATA or {option('data_dir')} to a folder holding isear/isear.csv")
    path = root / "isear" / "isear.csv" if (root / "isear").is_dir() else root / "isear.csv"
    if not path.is_file():
        raise DataError("file not found; expected the ISEAR export isear/isear.csv under the data root", path)
    checksum = sha256_file(path)
    if checksum != ISEAR_SHA256:
        warnings.warn(f"{path}: sha256 differs from the known ISEAR export", DataChecksumWarning, stacklevel=3)
    texts, labels, numbers = read_isear_rows(path, config.encoding)
    rows = list(range(len(texts)))
    dropped = 0
    if config.drop_placeholders:
        rows = [i for i in rows if not is_placeholder(texts[i])]
        dropped = len(texts) - len(rows)
    assignment = stratified_split([labels[i] for i in rows], config.split_fractions, config.split_seed,
                                  ISEAR_LABELS, path)
    splits, recorded = {}, {}
    for name, positions in assignment.items():
        data_rows = [rows[p] for p in positions]
        splits[name] = Split([texts[i] for i in data_rows], [labels[i] for i in data_rows])
        recorded[name] = [numbers[i] for i in data_rows]  # file line numbers (header is line 1)
    source = DataSource(kind="isear-export", files={str(path.resolve()): checksum},
                        split=SplitRecipe(seed=config.split_seed, fractions=config.split_fractions, file_lines=recorded),
                        dropped_placeholders=dropped)
    return Corpus("isear", list(ISEAR_LABELS), splits, source)
