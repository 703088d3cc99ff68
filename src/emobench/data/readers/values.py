"""A data row's values as read: a column's field, a text (checked, truncated past MAX_TEXT_CHARS), a label or a set
of labels, the label names of a file and a label's id; numbers that look like scores, not classes, refused."""
from __future__ import annotations

import json
import math
import re
import unicodedata
import warnings
from pathlib import Path

from ...errors import DataError, option
from .common import MAX_FIELD_CHARS, MAX_TEXT_CHARS, DataWarning

def field(record: dict, column: str, path: Path, number: int):
    if column not in record:
        raise DataError(f"missing column {column!r} (columns: {', '.join(map(repr, record))})"[:2000], path, number)
    return record[column]


class TextChecker:
    """Checks texts as they are read: a string, not empty, truncated past MAX_TEXT_CHARS (counted, and
    reported once per file by :meth:`report`)."""

    def __init__(self):
        self.truncated: dict[Path, list[int]] = {}

    def __call__(self, value, column: str, path: Path, number: int) -> str:
        if not isinstance(value, str):
            raise DataError(f"column {column!r}: expected text, found {type(value).__name__} {value!r}"[:300], path, number)
        if not value.strip():
            raise DataError(f"empty text in column {column!r}", path, number)
        check_unicode(value, column, path, number)
        if len(value) > MAX_FIELD_CHARS:
            raise DataError(f"column {column!r}: a text of {len(value):,} characters; at most {MAX_FIELD_CHARS:,} are read",
                            path, number)
        if len(value) > MAX_TEXT_CHARS:
            self.truncated.setdefault(path, []).append(number)
            value = value[:MAX_TEXT_CHARS]
        return value

    def report(self) -> None:
        for path, lines in self.truncated.items():
            warnings.warn(f"{path}: {len(lines)} text(s) longer than {MAX_TEXT_CHARS:,} characters truncated to "
                          f"{MAX_TEXT_CHARS:,} (line {lines[0]}" + (f" and {len(lines) - 1} more)" if len(lines) > 1 else ")"),
                          DataWarning, stacklevel=3)


def check_unicode(value: str, column: str, path: Path, number: int) -> str:
    """Text a file (or a JSON escape like "\\ud800") can hold but UTF-8 cannot: a lone surrogate is refused here,
    where it can be named, not when predictions are written."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DataError(f"column {column!r}: a lone surrogate ({value[exc.start]!r} at character {exc.start}) is not "
                        "text; expected valid Unicode", path, number) from None
    return value


def raw_label(value, column: str, path: Path, number: int) -> str:
    """One label as a string: a name or an integer id. Label sets are refused here (multi-label data is
    read by the readers that are given a label separator)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DataError(f"empty label in column {column!r}", path, number)
    if isinstance(value, list):
        raise DataError(f"label {value!r} is a list of labels inside a list; expected label names or ids", path, number)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise DataError(f"column {column!r}: expected a label name or an integer id, found {value!r}", path, number)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DataError(f"label {value!r}: expected a label name or an integer id", path, number)
        if not value.is_integer():  # a JSON number with a fraction is a rating (EmoBank's 2.54), never a class id
            raise DataError(f"column {column!r}: label {value!r} is a number with a fraction, a score rather than a class; "
                            f"emobench classifies texts, it does not predict scores: {BIN_HINT.format(example='')}", path,
                            number)
        value = int(value)
    label = check_unicode(str(value).strip(), column, path, number)
    odd = next((c for c in label if unicodedata.category(c) in ("Cc", "Zl", "Zp")), None)
    if odd is not None:  # a line break or control character would split every message and report naming the label
        raise DataError(f"label {label[:60]!r}: a control character or line break ({odd!r}) in a label; expected a label "
                        "name", path, number)
    if len(label) > 200:
        raise DataError(f"column {column!r}: a label of {len(label):,} characters; expected a label name", path, number)
    if looks_like_label_set(label):
        raise DataError(f"label {label!r} looks like several labels; for multi-label data pass {option('label_separator')} "
                        f"(e.g. {option('label_separator')} ,), or use JSON lists in a JSONL file", path, number)
    return label


def raw_label_set(value, column: str, path: Path, number: int, separator: str | None) -> list[str]:
    """The labels of one text in multi-label data: a JSON list, or text split on ``separator``; empty means
    the text has no label."""
    if value is None:
        return []
    if isinstance(value, list):
        labels = [raw_label(v, column, path, number) for v in value]
    elif isinstance(value, str) and separator:
        labels = [part.strip() for part in value.split(separator)]
        if value.strip() and not all(labels):
            raise DataError(f"label set {value!r} has an empty label between separators {separator!r}", path, number)
        labels = [raw_label(part, column, path, number) for part in labels if part]
    elif isinstance(value, str) and not value.strip():
        return []
    else:
        labels = [raw_label(value, column, path, number)]
    if len(set(labels)) != len(labels):
        raise DataError(f"label set {value!r} names a label twice", path, number)
    return labels


def looks_like_label_set(label: str) -> bool:
    if label.startswith("[") and label.endswith("]"):
        try:
            return isinstance(json.loads(label), list)
        except json.JSONDecodeError:
            return "," in label
    for sep in (",", ";", "|"):
        parts = [p.strip() for p in label.split(sep)]
        if len(parts) > 1 and all(parts) and all(p.replace("_", "").replace("-", "").isalnum() for p in parts):
            return True
    return False


def is_id(label: str) -> bool:
    return label.isdigit()


_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# More distinct integers than this that are not the ids 0..K-1 are a scale (0-100 intensities), not classes.
MAX_INTEGER_CLASSES = 20
BIN_HINT = (f"bin the scores into classes in a column of their own and read that with {option('label_column')}{{example}}, "
            f"or say which values are which class with {option('label_map')} FILE.json")


def _number(label: str) -> float | None:
    """The value of a label written as a plain decimal number ("2.54", "-1", "1e-3"), else None."""
    if not _NUMBER.fullmatch(label):
        return None
    value = float(label)
    return value if math.isfinite(value) else None


def check_not_scores(labels: list[tuple[str, Path, int]], column: str | None = None) -> None:
    """Refuse a label column of scores: EmoBank's valence (2.54, 3.0, ...) or WASSA's intensities (0.562) read as
    classes would give ~150 "labels" that any classifier, metric and audit would accept in silence. Scores are labels
    that are all numbers, some with a fraction, or more than MAX_INTEGER_CLASSES integers that are not the ids
    0..K-1; a small set of integer ids (0..5, "1.0") still reads as classes."""
    seen: dict[str, tuple[Path, int]] = {}
    for label, path, number in labels:
        seen.setdefault(label, (path, number))
    values = {label: _number(label) for label in seen}
    if not values or any(v is None for v in values.values()):
        return
    fractional = [label for label, v in values.items() if not v.is_integer()]
    integers = sorted({int(v) for v in values.values()})
    if not fractional and (len(integers) <= MAX_INTEGER_CLASSES or integers == list(range(len(integers)))):
        return
    shown = fractional[0] if fractional else next(iter(values))
    path, number = seen[shown]
    low, high = min(values.values()), max(values.values())
    cuts = [round(low + (high - low) * k / 3, 2) for k in (1, 2)]
    name = column if column is not None else "label"
    # thirds of the range read, so the example runs on this very column
    example = (f" (e.g. with pandas: df['class'] = pd.cut(df[{name!r}], [{low:g}, {cuts[0]:g}, {cuts[1]:g}, {high:g}], "
               "labels=['low', 'mid', 'high'], include_lowest=True))")
    raise DataError(f"column {name!r} holds scores, not classes: {len(values)} distinct numbers from {low:g} to "
                    f"{high:g} (e.g. {shown!r}); emobench classifies texts, it does not predict scores: "
                    f"{BIN_HINT.format(example=example)}", path, number)


def label_names_from(labels: list[tuple[str, Path, int]], explicit: list[str] | None,
                     known: list[str] | None = None) -> list[str]:
    """The label names of a dataset from its training labels (value, file, line; a label set gives one
    entry per label): explicit names as given; all-integer labels must be the ids 0..K-1; a mix of ids and
    names is refused. ``known``: data read against labels known beforehand (a trained run's): they come first, in
    their order, the data's other labels after them; integer ids where the known labels are names are refused."""
    if explicit:
        names = [str(n).strip() for n in explicit]
        if len(set(names)) != len(names) or not all(names):
            raise DataError(f"{option('label_names')} {','.join(names)}: expected distinct, non-empty names")
        return names
    seen: dict[str, tuple[Path, int]] = {}
    for label, path, number in labels:
        seen.setdefault(label, (path, number))
    if known is not None:
        for label, (path, number) in seen.items():
            if label not in known and is_id(label) and not any(is_id(n) for n in known):
                raise DataError(f"label {label!r} is an integer id, but the labels are names ({', '.join(known)}); write "
                                f"the names, or pass {option('label_names')} to say which name each id means", path, number)
        return list(known) + sorted(label for label in seen if label not in known)
    ids = [label for label in seen if is_id(label)]
    names = [label for label in seen if not is_id(label)]
    if ids and names:
        (ip, il), (np_, nl) = seen[ids[0]], seen[names[0]]
        raise DataError(f"the labels mix integer ids ({ids[0]!r} at {ip}, line {il}) and names ({names[0]!r} at "
                        f"{np_}, line {nl}); use one kind, or pass {option('label_names')} to say which name each id means")
    if ids:
        values = sorted(int(label) for label in ids)
        if values != list(range(len(values))):
            path, number = seen[ids[0]]
            raise DataError(f"integer labels must be the ids 0..{len(values) - 1}, found {values}; or pass {option('label_names')}",
                            path, number)
        return [str(i) for i in values]
    folded: dict[str, str] = {}
    for name in sorted(names):
        other = folded.setdefault(name.casefold(), name)
        if other != name:
            warnings.warn(f"labels {other!r} and {name!r} differ only in case; they are treated as different labels",
                          DataWarning, stacklevel=3)
    return sorted(names)


def label_id(label: str, names: list[str], explicit: bool, path: Path, number: int, split: str) -> int:
    """The id of a label (a name, or an id into explicitly given names); anything else is an error."""
    if label in names:
        return names.index(label)
    if is_id(label):
        if explicit and int(label) < len(names):
            return int(label)
        if explicit and names and not any(is_id(n) for n in names):
            raise DataError(f"label id {label} is out of range: {option('label_names')} has {len(names)} names (ids 0.."
                            f"{len(names) - 1})", path, number)
        if not any(is_id(n) for n in names):
            raise DataError(f"label {label!r} is an integer id, but the labels are names ({', '.join(names)}); "
                            f"write the names, or pass {option('label_names')} to say which name each id means", path, number)
    if split == "train":
        raise DataError(f"label {label!r} is not one of {', '.join(names)}", path, number)
    raise DataError(f"label {label!r} in the {split} data never occurs in training (known: {', '.join(names)})",
                    path, number)
