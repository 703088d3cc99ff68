"""Label descriptions (``--label-descriptions FILE``): label -> a short description, for the families that learn from
them (models/registry.py FIT_INPUTS). A JSON object ``{"joy": "a text expressing happiness"}``, or lines
``label<TAB>description`` (.tsv, .txt) / ``label,description`` (.csv, .txt). Labels the file leaves out are described by
their name, and recorded as such."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import DataError, EmobenchError, option
from ..schema import Record

# an optional first line naming the columns
HEADER = ("label", "description")
# A description is a sentence or two: the encoder reads 256 tokens at most, and data.json keeps every description
MAX_CHARS = 2000


class DescriptionsSource(Record):
    """data.json's ``descriptions``: the file, its checksum, the descriptions in label order, the labels that got
    their name, and the family that learnt from them."""

    file: str
    sha256: str
    descriptions: list[str]
    defaulted: list[str]
    used_by: str | None = None


@dataclass(frozen=True)
class LabelDescriptions:
    descriptions: list[str]  # one per label, in label order
    file: str
    sha256: str
    defaulted: list[str]  # labels the file leaves out: described by their name

    def for_labels(self, before: list[str], after: list[str]) -> "LabelDescriptions":
        """The same descriptions for the labels ``after`` (a subset of ``before``, e.g. once cleaning dropped one)."""
        if after == before:
            return self
        return replace(self, descriptions=[self.descriptions[before.index(name)] for name in after],
                       defaulted=[name for name in self.defaulted if name in after])

    def record(self, family: str | None = None) -> DescriptionsSource:
        return DescriptionsSource(file=self.file, sha256=self.sha256, descriptions=list(self.descriptions),
                                  defaulted=list(self.defaulted), used_by=family)


def _pairs_from_json(text: str, path: Path) -> list[tuple[int, str, object]]:
    lines = text.split("\n")

    def line_of(key: str) -> int | None:
        quoted = json.dumps(key)
        return next((i for i, line in enumerate(lines, start=1) if quoted in line), None)

    def unique(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise DataError(f"label {key!r} is given twice; expected each label once", path, line_of(key))
            seen.add(key)
        return pairs

    try:
        value = json.loads(text, object_pairs_hook=unique)
    except json.JSONDecodeError as exc:
        raise DataError(f"malformed JSON ({exc.msg}); expected an object {{\"label\": \"description\", ...}}", path,
                        exc.lineno) from None
    except (RecursionError, ValueError):
        raise DataError("malformed JSON; expected an object {\"label\": \"description\", ...}", path) from None
    if not isinstance(value, list) or (value and not isinstance(value[0], tuple)):
        raise DataError(f"expected a JSON object {{\"label\": \"description\", ...}}, got {type(value).__name__}", path)
    return [(line_of(key), key, description) for key, description in value]


def _pairs_from_lines(text: str, path: Path) -> list[tuple[int, str, object]]:
    """label<TAB>description or label,description lines (CSV quoting allowed); the first may be a header."""
    out = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        delimiter = "\t" if "\t" in line else ","
        try:
            row = next(csv.reader(io.StringIO(line), delimiter=delimiter, strict=True), [])
        except csv.Error as exc:
            raise DataError(f"malformed line ({exc}); expected label<TAB>description or label,description", path,
                            number) from None
        if len(row) < 2:
            raise DataError("expected label<TAB>description or label,description (no tab or comma in the line)", path,
                            number)
        label, description = row[0].strip(), delimiter.join(row[1:]).strip()
        if not out and (label.lower(), description.lower()) == HEADER:
            continue
        out.append((number, label, description))
    return out


def read_descriptions(path: str | Path, label_names: list[str], encoding: str = "utf-8") -> LabelDescriptions:
    """The descriptions a file gives, one per label in ``label_names``' order (a label left out: its name)."""
    from .corpus import sha256_file
    from .readers.common import read_text

    where = Path(path).expanduser()
    text = read_text(where, encoding, f"{option('encoding')} ENCODING")
    if not text.strip():
        raise DataError(f"empty file; {option('label_descriptions')} expects label -> description", where)
    pairs = _pairs_from_json(text, where) if where.suffix.lower() == ".json" else _pairs_from_lines(text, where)
    given: dict[str, str] = {}
    for line, label, description in pairs:
        if label not in label_names:
            raise DataError(f"unknown label {str(label)[:60]!r}; the labels are {', '.join(label_names)}", where, line)
        if label in given:
            raise DataError(f"label {label!r} is given twice; expected each label once", where, line)
        if not isinstance(description, str) or not description.strip():
            what = "empty description" if isinstance(description, str) else f"a {type(description).__name__}"
            raise DataError(f"label {label!r}: {what}; expected a short text describing the label", where, line)
        if len(description) > MAX_CHARS:
            raise DataError(f"label {label!r}: a description of {len(description):,} characters; expected a short "
                            f"text describing the label (at most {MAX_CHARS:,})", where, line)
        given[label] = " ".join(description.split())
    if not given:
        raise DataError(f"no descriptions; {option('label_descriptions')} expects label -> description", where)
    return LabelDescriptions([given.get(name, name) for name in label_names], str(where.resolve()), sha256_file(where),
                             [name for name in label_names if name not in given])


def check_descriptions_option(value) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise EmobenchError(f"{option('label_descriptions')} {value!r}: expected a file (JSON, CSV, TSV or TXT)")
