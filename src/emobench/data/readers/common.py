"""What every reader shares: decoding files and reading CSV/TSV/JSONL/text;label records with the line they start
on, so every bad value is reported where it is (the values themselves: values.py)."""
from __future__ import annotations

import codecs
import csv
import io
import json
import os
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

from ...errors import DataError, EmobenchWarning, option
from ...files import is_special

MAX_TEXT_CHARS = 100_000  # longer texts are truncated, with a warning naming the lines
MAX_FIELD_CHARS = 1_000_000  # longer fields are refused: one row must not exhaust memory
# The formats every command reads, and the suffixes that name them (``--data-format`` overrides the suffix).
FORMATS = ("csv", "tsv", "jsonl", "txt")
SUFFIX_FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
                  ".txt": "txt"}
DELIMITERS = {"csv": ",", "tsv": "\t"}
UNSUPPORTED = {
    ".xlsx": "Excel", ".xlsm": "Excel", ".xls": "Excel", ".ods": "OpenDocument spreadsheet", ".parquet": "Parquet",
    ".feather": "Feather", ".arrow": "Arrow", ".pkl": "pickle", ".pickle": "pickle", ".zip": "zip archive",
    ".gz": "gzip archive", ".bz2": "bzip2 archive", ".xz": "xz archive", ".h5": "HDF5", ".hdf5": "HDF5",
    ".npy": "NumPy", ".npz": "NumPy", ".db": "database", ".sqlite": "SQLite",
}
MAGIC = {b"PK\x03\x04": "a zip archive (such as Excel .xlsx)", b"PAR1": "a Parquet file", b"\x1f\x8b": "gzip-compressed",
         b"\xd0\xcf\x11\xe0": "an old Office file (such as Excel .xls)", b"\x89HDF": "an HDF5 file",
         b"SQLite format": "an SQLite database", b"\x80\x04\x95": "a pickle", b"\x93NUMPY": "a NumPy array"}
FORMATS_HINT = ("emobench reads .csv, .tsv, .jsonl (one JSON object per line) and 'text;label' .txt files "
                f"({option('data_format')} names the format of a file with another suffix)")


class DataWarning(EmobenchWarning):
    """Something in the data that a result depends on (truncated texts, labels differing only in case);
    recorded in the run's data.json."""


class DataChecksumWarning(DataWarning):
    """A known file's bytes differ from the published ones."""


def resolve_data_root(data_dir: str | None) -> Path | None:
    root = data_dir or os.environ.get("EMOBENCH_DATA")
    return Path(root).expanduser() if root else None


def read_text(path: str | Path, encoding: str = "utf-8", option_hint: str | None = None) -> str:
    """A whole text file; unsupported formats and undecodable bytes are reported with their place, with a hint
    that cannot corrupt the text (see :func:`encoding_hint`). A file that is valid UTF-8 but read with another
    encoding is decoded as asked, with a warning (its non-ASCII characters would read as mojibake).
    ``option_hint``: how the command line would set this file's encoding (``--encoding train=cp1252``)."""
    path = Path(path)
    kind = UNSUPPORTED.get(path.suffix.lower())
    if kind:
        raise DataError(f"{kind} files are not supported; {FORMATS_HINT} (export it as CSV)", path)
    try:
        if is_special(path.stat().st_mode):
            raise DataError("is not a regular file (a device, pipe or socket); expected a data file", path)
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError("file not found", path) from None
    except IsADirectoryError:
        raise DataError("is a folder; expected a data file", path) from None
    except OSError as exc:
        raise DataError(f"cannot read file ({exc.strerror})", path) from None
    for magic, what in MAGIC.items():
        if raw.startswith(magic):
            raise DataError(f"the file is {what}, not text; {FORMATS_HINT}", path)
    return decode(raw, encoding, path, option_hint)


def _codec_name(encoding: str) -> str | None:
    """Python's name of a codec (``UTF8``, ``u8`` and ``utf_8`` are all ``utf-8``), or None for an unknown one."""
    try:
        return codecs.lookup(encoding).name
    except (LookupError, ValueError, TypeError):  # ValueError: a name with a NUL character
        return None


def _is_utf8(encoding: str) -> bool:
    return _codec_name(encoding) in ("utf-8", "utf-8-sig")


def _ascii_compatible(codec: str) -> bool:
    """Whether the codec writes ASCII (line ends included) as ASCII bytes, so bytes can be counted as characters."""
    try:
        return "a\n\r;,".encode(codec) == b"a\n\r;," and b"a\n\r;,".decode(codec) == "a\n\r;,"
    except (UnicodeError, LookupError, ValueError, TypeError):
        return False


def _line_of(raw: bytes, offset: int, codec: str) -> int:
    """The line of a byte offset, counted in the text as the codec reads it (UTF-16 has no b"\\n" line ends)."""
    if not _ascii_compatible(codec):
        try:
            return raw[:offset].decode(codec, "replace").count("\n") + 1
        except (UnicodeError, LookupError, ValueError, TypeError):
            pass
    return raw[:offset].count(b"\n") + 1


def decode(raw: bytes, encoding: str, path: Path, option_hint: str | None = None) -> str:
    utf8 = _is_utf8(encoding)
    codec, shown = ("utf-8-sig", "UTF-8") if utf8 else (encoding, encoding)
    if _codec_name(codec) is None:
        raise DataError(f"unknown encoding {encoding!r}; expected a Python codec name such as utf-8, cp1252, latin-1",
                        path)
    if not utf8 and raw.startswith(codecs.BOM_UTF8) and _ascii_compatible(codec):
        raw = raw[len(codecs.BOM_UTF8):]  # a UTF-8 byte-order mark, not three characters of the first column's name
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        line = _line_of(raw, exc.start, codec)
        hint = encoding_hint(raw, option_hint or f"{option('encoding')} ENCODING") if utf8 else \
            f"expected a {shown} text file; is it in another encoding?"
        raise DataError(f"bytes {raw[exc.start:exc.end]!r} are not valid {shown}; {hint}", path, line) from None
    except (UnicodeError, ValueError) as exc:  # a codec that fails without saying where ('undefined', 'idna' labels)
        raise DataError(f"cannot be read as {shown} ({str(exc)[:200]}); expected a {shown} text file; is it in another "
                        "encoding?", path) from None
    if not utf8 and not raw.isascii():
        try:
            as_utf8 = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return text
        sample = next((c for c in as_utf8 if ord(c) > 127), None)
        if sample is None:  # only a byte-order mark: nothing is read differently
            return text
        try:
            misread = sample.encode("utf-8").decode(encoding, "replace")
        except (UnicodeError, ValueError):
            misread = "?"
        warnings.warn(f"{path}: read as {encoding} as asked, but the file is valid UTF-8: its non-ASCII characters "
                      f"(e.g. {sample!r}, read as {misread!r}) are probably corrupted; leave out {option('encoding')} to "
                      "read it as UTF-8", DataWarning, stacklevel=3)
    return text


def encoding_hint(raw: bytes, how: str) -> str:
    """What to do about bytes that are not UTF-8, without a suggestion that would corrupt the text: a file whose
    other non-ASCII characters are valid UTF-8 is damaged (a single-byte encoding would turn them into mojibake);
    Windows-1252 only when the bytes decode as it (its 0x80-0x9F are curly quotes and dashes, which latin-1 reads
    as invisible control characters)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f"the file starts with a UTF-16 byte-order mark: pass {how.replace('ENCODING', 'utf-16')}"
    decoded = raw.decode("utf-8", "replace")
    utf8_characters = sum(1 for c in decoded if ord(c) > 127 and c != "\ufffd")
    if utf8_characters > decoded.count("\ufffd"):
        return (f"the file's other non-ASCII characters ({utf8_characters}) are valid UTF-8, so it mixes encodings or is "
                f"damaged: fix these bytes (or re-save the file as UTF-8); reading it with a single-byte encoding would "
                f"turn its UTF-8 characters into mojibake")
    high = [i for i, b in enumerate(raw) if b > 127]
    paired = sum(1 for i in high if (i + 1 < len(raw) and raw[i + 1] > 127) or (i > 0 and raw[i - 1] > 127))
    unknown = (f"find its encoding (e.g. `file -i`) and pass it with {how.split()[0]} (e.g. "
               f"{how.replace('ENCODING', 'shift_jis')}, {how.replace('ENCODING', 'gbk')} or "
               f"{how.replace('ENCODING', 'cp1251')})")
    if paired > len(high) / 2:  # Western text has single accented letters between ASCII ones, not runs
        return f"its non-ASCII bytes come in pairs and runs, as in a multi-byte East Asian encoding: {unknown}"
    try:
        raw.decode("cp1252")
    except UnicodeDecodeError:
        return f"it is not Windows-1252 either: {unknown}"
    c1 = any(0x80 <= b <= 0x9F for b in raw)
    why = "its bytes 0x80-0x9F are Windows-1252 punctuation such as curly quotes" if c1 else \
        "no UTF-8 character occurs; Windows-1252 reads these bytes as latin-1 would"
    return f"it looks like Windows-1252 ({why}): pass {how.replace('ENCODING', 'cp1252')}"


def file_format(path: Path, given: str | None = None) -> str:
    """The format of a data file: ``given`` (``--data-format``), else its suffix."""
    if given is not None:
        if given not in FORMATS:
            raise DataError(f"{option('data_format')} {given!r}: expected one of {', '.join(FORMATS)}")
        return given
    found = SUFFIX_FORMATS.get(path.suffix.lower())
    if found is None:
        raise DataError(f"unknown file type {path.suffix or '(no suffix)'!r}; {FORMATS_HINT}", path)
    return found


def file_lines(text: str) -> list[str]:
    """A user file's lines: split at LF (CRLF too), never inside a text at U+2028, U+0085 or a lone CR, as batch
    scoring reads the same file."""
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def semicolon_lines(lines: Iterable[str], path: Path):
    """(line number, text, label) of ``text;label`` lines, split on the last ';'."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        text_part, sep, label = line.rpartition(";")
        if not sep:
            raise DataError("expected 'text;label' (no ';' in the line)", path, number)
        yield number, text_part, label.strip()


def read_records(path: str | Path, encoding: str = "utf-8", header: bool = True, data_format: str | None = None,
                 option_hint: str | None = None, labelled: bool = True) -> list[tuple[int, dict]]:
    """(line number, record) for every non-empty row of a CSV, TSV, JSONL or ``text;label`` file (by suffix, or
    ``data_format``). Without a header, CSV/TSV columns are named by position: "1", "2", ...; a ``text;label``
    file has the columns "text" and "label". Texts without labels (``labelled=False``): a .txt file is one text per
    line, its one column "text" (a ';' in it is part of the text)."""
    path = Path(path)
    text = read_text(path, encoding, option_hint)
    fmt = file_format(path, data_format)
    if fmt == "jsonl" and text.lstrip().startswith("["):
        raise DataError("the file is a JSON array; expected JSON Lines (one JSON object per line)", path, 1)
    # Lines end at LF (CRLF too), as in every other format and in batch scoring: a lone CR is no line end (the csv
    # module's universal newlines would split a row there and count a line more).
    lines = io.StringIO(text, newline="\n") if fmt in DELIMITERS else file_lines(text)
    if fmt == "txt" and not labelled:
        return [(number, {"text": line}) for number, line in enumerate(lines, start=1) if line.strip()]
    return list(stream_records(lines, path, fmt, header))


def stream_records(lines: Iterable[str], path: Path, fmt: str, header: bool = True) -> Iterator[tuple[int, dict]]:
    """(line number, record) for every non-empty row of ``lines`` in the format ``fmt`` (see :data:`FORMATS`), as
    the lines come. CSV/TSV lines keep their endings (split at LF only); JSONL and ``text;label`` lines may lose
    them."""
    if fmt == "jsonl":
        yield from jsonl_objects(lines, path)
    elif fmt == "txt":
        for number, text, label in semicolon_lines(lines, path):
            yield number, {"text": text, "label": label}
    else:
        yield from _table_records(lines, path, DELIMITERS[fmt], header)


def _table_records(lines: Iterable[str], path: Path, delimiter: str, header: bool) -> Iterator[tuple[int, dict]]:
    csv.field_size_limit(MAX_FIELD_CHARS)
    # strict: a quote left open to the end of the file is an error, not one field swallowing the rest of the file
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    start = 1
    try:
        columns = _header(reader, path) if header else None
        while True:
            start = reader.line_num + 1  # a row may span lines (quoted newlines): report where it starts
            row = next(reader, None)
            if row is None:
                break
            if not any(cell.strip() for cell in row):
                continue
            if columns is None:
                columns = [str(i + 1) for i in range(len(row))]
            if len(row) != len(columns):
                spans = f" (the row runs to line {reader.line_num}: is a quote left open?)" if reader.line_num > start else ""
                raise DataError(f"{len(row)} fields, expected {len(columns)}" + (" as in the header" if header else
                                " as in the first row") + spans, path, start)
            yield start, dict(zip(columns, row))
    except csv.Error as exc:
        raise _csv_error(str(exc), path, start, reader.line_num) from None


def _header(reader, path: Path) -> list[str]:
    columns = next(reader, None)
    if columns is None:
        raise DataError("empty file; expected a header row", path, 1)
    seen = set()
    for column in columns:
        if column in seen:
            raise DataError(f"column {column!r} appears twice in the header", path, 1)
        seen.add(column)
    return columns


def _csv_error(detail: str, path: Path, start: int, line: int) -> DataError:
    if "field larger than field limit" in detail:
        detail = (f"a field of more than {MAX_FIELD_CHARS:,} characters (texts are limited to {MAX_TEXT_CHARS:,}; "
                  "is a quote left open?)")
    elif "unexpected end of data" in detail:
        return DataError("a quote opened in this row is never closed (the rest of the file would be one field)", path,
                         start)
    elif "new-line character seen in unquoted field" in detail:
        return DataError("a carriage return (CR) inside an unquoted field; lines end at LF or CRLF, so quote the field "
                         "or remove the CR", path, line)
    return DataError(f"malformed row ({detail})", path, start)


class _RepeatedKey(ValueError):
    pass


def _unique_keys(pairs: list) -> dict:
    """A JSON object whose keys are all different: Python would keep the last of two, silently."""
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise _RepeatedKey(key)
        seen.add(key)
    return dict(pairs)


def jsonl_objects(lines: Iterable[str], path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-blank line of a JSON Lines file, as the lines come."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as exc:
            raise DataError(f"malformed JSON ({exc.msg}); expected one JSON object per line", path, number) from None
        except RecursionError:
            raise DataError("JSON nested too deeply to read; expected one flat JSON object per line", path, number) from None
        except _RepeatedKey as exc:
            raise DataError(f"key {exc.args[0]!r} appears twice in the JSON object; expected each column once", path,
                            number) from None
        except ValueError:  # an integer of more digits than Python converts (4,300)
            raise DataError("malformed JSON (a number with thousands of digits); expected one JSON object per line",
                            path, number) from None
        if not isinstance(record, dict):
            raise DataError(f"expected a JSON object, got {type(record).__name__}", path, number)
        yield number, record


# the row values' checks lived here; batch scoring imports them from here still
from .values import TextChecker, check_unicode, field  # noqa: E402,F401
