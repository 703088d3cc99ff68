"""Property-based tests of the data readers (Hypothesis): any bytes as a file, any CSV/TSV/JSONL/TXT shape, any
encoding, data format, header and column options. The property everywhere: a Corpus whose texts and labels are
exactly what the file said, or an EmobenchError that names the file (and the line) or the option; never another
exception, never a file opened outside the case's folder (and the interpreter's own files), never a file written.

Runs are bounded and reproducible (derandomized, no example database). EMOBENCH_HYPOTHESIS_SCALE=10 runs ten times
the examples; EMOBENCH_HYPOTHESIS_RANDOM=1 draws new ones on every run (and prints the blob of a failure).
Each test prints how many examples it ran (``pytest -s``) and asserts a minimum."""
from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import os
import re
import warnings
from pathlib import Path

import pytest
from hypothesis import example, given, note
from hypothesis import strategies as st
from typer.testing import CliRunner

from emobench.cli import app
from emobench.cli import flag as cli_flag
from emobench.data import DatasetConfig, load_dataset
from emobench.data.readers.common import MAX_TEXT_CHARS
from emobench.errors import DataError, EmobenchError
from generated import (COUNTS, bounded, case_folder, counted, inside, opened_paths, outside, real,
                       recording)

COUNTING = [""]  # the test whose outcomes are being counted


def _writes(args) -> bool:
    mode, flags = (args[1] if len(args) > 1 else None), (args[2] if len(args) > 2 else None)
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    return isinstance(flags, int) and bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND))


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.is_dir(), p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@contextlib.contextmanager
def watched(case: Path, outputs: tuple = ()):
    """Every file opened while the block runs lies in ``case`` or the interpreter's own folders; nothing is written
    (bytecode caches and the ``outputs`` asked for aside) and the case's folder is left as it was."""
    outputs = {real(p) for p in outputs}
    before = snapshot(case)
    with recording() as events:
        yield
    far = outside(events, case)
    assert not far, f"opened outside the case folder: {far}"
    written = [p for a, p in opened_paths(events) if _writes(a) and "__pycache__" not in p and p != "/dev/null"
               and not _is_output(p, outputs)]
    assert not written, f"written: {written}"
    after = {k: v for k, v in snapshot(case).items() if not _is_output(real(case / k), outputs)}
    assert after == before, "the case folder changed"


def _is_output(path: str, outputs: set) -> bool:
    """An output asked for, or the temporary file it is written through (``.NAME.PID.tmp`` beside it)."""
    return any(path == o or (os.path.dirname(path) == os.path.dirname(o) and os.path.basename(path).startswith(
        "." + os.path.basename(o) + ".")) for o in outputs)


# ---------------------------------------------------------------- outcomes

def load(case: Path, **config):
    """The corpus, or the EmobenchError; any other exception fails the test."""
    with watched(case), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return load_dataset(DatasetConfig(**config))
        except EmobenchError as exc:
            return exc


def line_bound(raw: bytes, codec: str) -> int:
    """The most lines a file can have, however it is decoded."""
    try:
        decoded = raw.decode(codec, "replace").count("\n")
    except Exception:  # noqa: BLE001 - a codec that cannot decode at all: any byte may be a line
        decoded = len(raw)
    return max(raw.count(b"\n"), decoded) + 1


def assert_clear_error(exc: EmobenchError, case: Path, lines: dict[str, int]) -> None:
    """One line that names the file (and a line within it) or the option at fault."""
    message = str(exc)
    assert message and "\n" not in message and "\r" not in message, repr(message)
    if isinstance(exc, DataError) and exc.path is not None:
        assert message.startswith(f"{exc.path}"), message
        assert inside(real(exc.path), real(case)), message
        if exc.line is not None:
            assert 1 <= exc.line <= lines.get(real(exc.path), 1), (message, lines)
    else:
        assert "\x1f" in exc.args[0], f"names neither a file nor an option: {message}"


def assert_sound(corpus, *, multi: bool | None = None) -> None:
    """What every corpus holds, whatever its file said."""
    names = corpus.label_names
    assert len(names) == len(set(names)) and all(isinstance(n, str) and n.strip() for n in names), names
    assert "train" in corpus.splits and all(len(s) for s in corpus.splits.values())
    for split in corpus.splits.values():
        for text, label in zip(split.texts, split.labels):
            assert isinstance(text, str) and text.strip() and len(text) <= MAX_TEXT_CHARS
            text.encode("utf-8")
            if corpus.multi_label:
                assert label == sorted(set(label)) and all(0 <= i < len(names) for i in label)
            else:
                assert isinstance(label, int) and 0 <= label < len(names)
    if multi is not None:
        assert corpus.multi_label == multi


# ---------------------------------------------------------------- any bytes, any options

CODECS = ["utf-8", "utf-8-sig", "UTF8", "u8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252", "ascii",
          "shift_jis", "gbk", "big5", "euc-kr", "cp1251", "koi8-r", "mac-roman", "cp037", "utf-7", "idna", "punycode",
          "unicode_escape", "raw_unicode_escape", "undefined", "charmap", "palmos"]
BAD_CODECS = ["", " ", "nope", "utf 8", "utf-9", "base64", "rot13", "zip", "hex", "bz2", "uu", "quopri", "utf-8\x00",
              "\x00", "é", "utf-8,latin-1", "train=cp1252", " utf-8 ", "mbcs", "oem"]
LINE_ENDS = ["\n", "\r\n", "\r", "\u2028", "\x85", "\n\n", "\r\r\n"]
BOMS = [b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"]
CELLS = ["text", "label", "split", "labels", "train", "test", "dev", "validation", "joy", "sadness", "Joy", "0", "1", "2",
         "-1", "1.0", " ", "", '"', '""', '"joy"', "a,b", "joy,love", "joy|love", "joy;love", "[1, 2]", '["joy"]', "NaN",
         "null", "true", "{}", "[]", "é", "\x00", "\u2028", "\ufeff", "[ No response.]", "x" * 50, "\ud800"]
SUFFIXES = [".csv", ".tsv", ".tab", ".jsonl", ".ndjson", ".json", ".txt", ".CSV", ".dat", "", ".xlsx", ".parquet", ".gz"]
MAGICS = [b"PK\x03\x04", b"PAR1", b"\x1f\x8b", b"SQLite format 3\x00", b"\x80\x04\x95"]

cells = st.one_of(st.sampled_from(CELLS), st.text(max_size=12))


@st.composite
def delimited_text(draw) -> str:
    delimiter = draw(st.sampled_from([",", "\t", ";", "|", " "]))
    rows = draw(st.lists(st.lists(cells, min_size=0, max_size=5), min_size=0, max_size=8))
    if draw(st.booleans()):
        rows.insert(0, draw(st.permutations(["text", "label", "split"]).map(lambda c: c[: draw(st.integers(1, 3))])))
    lines = [delimiter.join(row) for row in rows]
    out = ""
    for line in lines:
        out += line + draw(st.sampled_from(LINE_ENDS))
    if draw(st.booleans()):  # an unclosed quote somewhere
        at = draw(st.integers(0, len(out)))
        out = out[:at] + '"' + out[at:]
    return out


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-3, 5),
                         st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=15), st.sampled_from(CELLS))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6),
                                                                                                        inner, max_size=4),
                           max_leaves=8)
plain_json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=5)
record_keys = st.sampled_from(["text", "label", "split", "labels", "joy", "anger", "1", "2", ""]) | st.text(max_size=6)


@st.composite
def json_lines_text(draw) -> str:
    records = draw(st.lists(st.one_of(st.dictionaries(record_keys, json_values, max_size=5), json_values), max_size=6))
    lines = [json.dumps(r, ensure_ascii=draw(st.booleans())) for r in records]
    for i in range(len(lines)):
        damage = draw(st.sampled_from(["none"] * 6 + ["duplicate", "huge_int", "deep", "truncate", "array", "nul"]))
        if damage == "duplicate" and lines[i].startswith("{"):
            lines[i] = '{"label": "joy", ' + lines[i][1:] if lines[i] != "{}" else '{"label": "joy", "label": "sad"}'
        elif damage == "huge_int":
            lines[i] = '{"text": "t", "label": ' + "7" * draw(st.sampled_from([5, 400, 4301, 6000])) + "}"
        elif damage == "deep":
            depth = draw(st.sampled_from([50, 1000, 100_000]))
            lines[i] = '{"text": "t", "label": ' + "[" * depth + "]" * depth + "}"
        elif damage == "truncate":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        elif damage == "array":
            lines[i] = "[" + lines[i] + "]"
        elif damage == "nul":
            lines[i] = lines[i].replace('"', '"\x00', 1)
    return "".join(line + draw(st.sampled_from(LINE_ENDS)) for line in lines)


@st.composite
def encoded(draw, texts) -> bytes:
    text = draw(texts)
    codec = draw(st.sampled_from(["utf-8", "utf-16", "utf-16-le", "utf-32", "cp1252", "latin-1", "shift_jis", "gbk",
                                  "cp1251", "utf-7", "ascii"]))
    try:
        raw = text.encode(codec, errors=draw(st.sampled_from(["replace", "ignore", "surrogateescape", "backslashreplace"])))
    except (UnicodeError, LookupError):
        raw = text.encode("utf-8", "surrogatepass")
    return draw(st.sampled_from(BOMS)) + raw


file_bytes = st.one_of(
    st.binary(max_size=200),
    encoded(st.text(max_size=80)),
    encoded(delimited_text()),
    encoded(delimited_text()),
    encoded(json_lines_text()),
    encoded(json_lines_text()),
    st.tuples(st.sampled_from(MAGICS), st.binary(max_size=20)).map(lambda t: t[0] + t[1]),
)

column_names = st.sampled_from(["text", "label", "split", "labels", "1", "2", "3", "0", "", " text", "joy"])
encodings = st.one_of(st.sampled_from(CODECS), st.sampled_from(BAD_CODECS), st.text(max_size=8))
CHAOS_OPTIONS = {
    "encoding": encodings,
    "encodings": st.dictionaries(st.sampled_from(["train", "validation", "test", "all", "dev"]), encodings, max_size=2),
    "data_format": st.sampled_from(["csv", "tsv", "jsonl", "txt", "xlsx", "CSV", "", "json"]),
    "header": st.booleans(),
    "text_column": column_names,
    "label_column": column_names,
    "split_column": column_names,
    "label_separator": st.sampled_from([",", "|", ";", " ", "a", "", "||"]),
    "label_names": st.lists(st.sampled_from(["joy", "sadness", "0", "1", "", " ", "joy", "a,b"]), max_size=4),
    "label_columns": st.one_of(st.just("all"), st.just("x"), st.lists(column_names, max_size=4)),
    "drop_placeholders": st.booleans(),
    "split_seed": st.integers(-1, 3),
}
chaos_options = st.fixed_dictionaries({}, optional=CHAOS_OPTIONS)


MUTATION_BYTES = [b'"', b",", b"\t", b"\r", b"\n", b"\r\n", b"\x00", b"\xff", b"\xe9", b"\xc3", b";", b"|", b"[", b"{",
                  b"}", b" ", b"\xef\xbb\xbf", b"\xe2\x80\xa8", b"\xc2\x85", b"0", b"1", b"\\", b'""', b"\xed\xa0\x80"]


@st.composite
def mutated_cases(draw):
    """A well-formed dataset with a few bytes changed, and its options with sometimes one changed: mostly readable,
    sometimes not, and every difference from the generated rows must be either read as written or refused."""
    spec, rows, files, lines, config = draw(well_formed())
    out = {}
    for split, (name, raw) in files.items():
        data = bytearray(raw)
        for _ in range(draw(st.integers(0, 3))):
            op = draw(st.sampled_from(["insert", "insert", "delete", "flip", "truncate", "duplicate line", "bom"]))
            at = draw(st.integers(0, len(data)))
            if op == "insert":
                data[at:at] = draw(st.sampled_from(MUTATION_BYTES))
            elif op == "delete":
                del data[at:at + draw(st.integers(1, 4))]
            elif op == "flip" and at < len(data):
                data[at] ^= draw(st.integers(1, 255))
            elif op == "truncate":
                del data[at:]
            elif op == "duplicate line":
                start = data.rfind(b"\n", 0, at) + 1
                end = data.find(b"\n", at)
                end = len(data) if end < 0 else end + 1
                data[end:end] = data[start:end]
            elif op == "bom":
                data[0:0] = draw(st.sampled_from(BOMS[1:]))
        out["train" if split == "all" else split] = (name, bytes(data))
    options = {k: v for k, v in config.items() if v is not None}
    if draw(st.integers(0, 3)) == 0:
        key = draw(st.sampled_from(sorted(CHAOS_OPTIONS)))
        options[key] = draw(CHAOS_OPTIONS[key])
    return ("single" if "all" in files else "files"), out, options


@st.composite
def chaos_cases(draw):
    """Either a well-formed dataset with a few bytes (and maybe an option) changed, or one to three files of any
    bytes with any options."""
    if draw(st.booleans()):
        return draw(mutated_cases())
    layout = draw(st.sampled_from(["single", "single", "files"]))
    splits = ["train"] if layout == "single" else draw(st.sampled_from([["train"], ["train", "test"],
                                                                          ["train", "validation", "test"], ["test"]]))
    files = {}
    for split in splits:
        suffix = draw(st.sampled_from(SUFFIXES))
        files[split] = (f"{split} data{suffix}", draw(file_bytes))
    return layout, files, draw(chaos_options)


def _expected_codec(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except (LookupError, ValueError, TypeError):
        return "latin-1"
    return "utf-8-sig" if name in ("utf-8", "utf-8-sig") else encoding


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)


def assert_texts_from_files(corpus, written: dict[str, bytes], codecs_used: dict[str, str]) -> None:
    """Every text of the corpus is in one of the files as written (a quoted CSV field unquoted, a JSON string
    parsed): nothing was made up or decoded wrongly."""
    contents = []
    for path, raw in written.items():
        text = raw.decode(codecs_used[path])
        contents.append(text.replace('"', ""))
        for line in text.split("\n"):
            try:
                contents.extend(_strings(json.loads(line)))
            except (ValueError, RecursionError):
                pass
    for split in corpus.splits.values():
        for t in split.texts:
            assert any(t == c or t.replace('"', "") in c for c in contents), repr(t)


def run_chaos(case: Path, layout: str, files: dict, options: dict):
    paths = {}
    lines = {}
    for split, (name, raw) in files.items():
        path = case / name
        path.write_bytes(raw)
        paths[split] = str(path)
        codec = _expected_codec(options.get("encodings", {}).get(split, options.get("encoding", "utf-8")))
        lines[real(path)] = line_bound(raw, codec)
    config = dict(options)
    if layout == "single":
        config["name"] = paths["train"]
    else:
        config["name"] = paths.get("train", str(case / "absent.csv"))
        config["files"] = paths
    result = load(case, **config)
    note(f"result: {result!r}")
    COUNTS[f"{COUNTING[0]}:{'refused' if isinstance(result, EmobenchError) else 'read'}"] += 1
    if isinstance(result, EmobenchError):
        assert_clear_error(result, case, lines)
    else:
        assert_sound(result)
        used = {paths[s]: _expected_codec(options.get("encodings", {}).get(s, options.get("encoding", "utf-8")))
                for s in paths}
        assert_texts_from_files(result, {paths[s]: raw for s, (_, raw) in files.items()}, used)
    return result


def test_any_bytes_with_any_options_read_or_refused_clearly(tmp_path):
    @bounded(600)
    @given(chaos_cases())
    # A UTF-8 BOM as the only non-ASCII bytes of a file read as cp1252 (the warning looked for a character).
    @example(("single", {"train": ("d.csv", b"\xef\xbb\xbftext,label\na,x\nb,y\n")}, {"encoding": "cp1252"}))
    # A JSON integer past Python's 4300-digit limit (ValueError, not a JSONDecodeError).
    @example(("single", {"train": ("d.jsonl", b'{"text": "t", "label": 1' + b"0" * 5000 + b"}\n")}, {}))
    # A codec that refuses every input with a bare UnicodeError.
    @example(("single", {"train": ("d.csv", b"text,label\na,x\n")}, {"encoding": "undefined"}))
    # An encoding name with a NUL (codecs.lookup raises ValueError).
    @example(("single", {"train": ("d.csv", b"text,label\na,x\n")}, {"encoding": "utf-8\x00"}))
    # A repeated key in a JSON line: the first value must not be silently replaced.
    @example(("single", {"train": ("d.jsonl", b'{"text": "a", "label": "x", "label": "y"}\n')}, {}))
    # A lone CR inside an unquoted CSV field.
    @example(("single", {"train": ("d.csv", b"text,label\nhello\rworld,joy\n")}, {}))
    # An indicator column with a value other than 0/1.
    @example(("single", {"train": ("d.csv", b"text,joy,anger\na,1,2\nb,0,1\n")}, {"label_columns": ["joy", "anger"]}))
    # --label-columns all with a JSON line that has a column the first has not (its label was dropped silently).
    @example(("single", {"train": ("d.jsonl", b'{"text": "a", "joy": 1, "anger": 0}\n{"text": "b", "joy": 0, "anger": 0, '
                                              b'"fear": 1}\n')}, {"label_columns": "all"}))
    # A label with a line break inside quotes (it split every message naming the labels).
    @example(("single", {"train": ("d.csv", b'text,label\na,"A\r B"\nb,A\n')}, {}))
    # One file per split whose training file has one label: named by that file, not by the dataset's name.
    @example(("files", {"train": ("train.csv", b"text,label\na,x\nb,x\n"), "test": ("test.csv", b"text,label\nc,x\n")},
              {}))
    def check(chaos):
        COUNTS["test_any_bytes_with_any_options_read_or_refused_clearly"] += 1
        COUNTING[0] = "test_any_bytes_with_any_options_read_or_refused_clearly"
        with case_folder(tmp_path) as case:
            run_chaos(case, *chaos)

    check()
    counted("test_any_bytes_with_any_options_read_or_refused_clearly", 500)


# ---------------------------------------------------------------- well-formed tables, read exactly

NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHÄÉéüß_-'!"
label_words = st.text(alphabet=NAME_CHARS, min_size=1, max_size=7)
label_names = st.one_of(label_words, st.tuples(label_words, label_words).map(" ".join))
SPECIAL_TEXTS = ["hello, world", 'she said "hi"', "tab\there", "multi\nline", "cr\rinside", "crlf\r\ninside",
                 "ls\u2028sep", "nel\x85x", "  padded  ", "semi;colon;", "[not, a, list]", "nul\x00byte", "é€“”—",
                 "#comment", "joy", "0", "1,2", '"quoted"', "\\backslash\\", "{\"json\": 1}", "emoji 😀", "zero\u200bwidth",
                 "ff\x0cvt\x0b", "x" * (MAX_TEXT_CHARS + 5)]
any_text = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=25),
    st.sampled_from(SPECIAL_TEXTS),
).filter(lambda t: t.strip() and not t.startswith("\ufeff"))  # a leading U+FEFF at a file's start is its BOM
TEXT_COLUMNS = ["text", "sentence", "Tweet", "content", "utterance text"]
LABEL_COLUMNS = ["label", "emotion", "y", "gold label"]
SPLIT_COLUMNS = ["split", "part", "fold"]
EXTRA_COLUMNS = ["id", "note", "source"]
SPELLINGS = {"train": ["train", "training", "Train", " TRAIN "], "validation": ["validation", "val", "valid", "dev", "DEV"],
             "test": ["test", "testing", "Test "]}
SCHEMES = {"csv": ["names", "ids", "ids_named", "separator", "indicators"],
           "tsv": ["names", "ids", "ids_named", "separator", "indicators"],
           "jsonl": ["names", "ids", "ids_named", "separator", "json_list", "indicators"],
           "txt": ["names", "ids", "ids_named", "separator"]}
SUFFIX_OF = {"csv": [".csv"], "tsv": [".tsv", ".tab"], "jsonl": [".jsonl", ".ndjson", ".json"], "txt": [".txt"]}


@st.composite
def well_formed(draw):
    """A dataset as files, the options that read it, and what it says: {split: (texts, labels)} and the label names
    (or, for a generated split, the rows by file line)."""
    fmt = draw(st.sampled_from(list(SCHEMES)))
    scheme = draw(st.sampled_from(SCHEMES[fmt]))
    multi = scheme in ("separator", "json_list", "indicators")
    layouts = ["files", "split_column"] if fmt != "txt" else ["files"]
    if not multi:
        layouts.append("generated")
    layout = draw(st.sampled_from(layouts))
    k = draw(st.integers(2, 4))
    words = draw(st.lists(label_names, min_size=k, max_size=k, unique_by=str.casefold))
    pool = [str(i) for i in range(k)] if scheme in ("ids", "ids_named") else words  # what the rows say
    separator = draw(st.sampled_from([",", "|", " / ", "+"] if fmt != "txt" else [",", "|", "+"])) \
        if scheme == "separator" else None
    explicit = None
    if scheme == "ids_named":
        explicit = words + draw(st.lists(label_names.filter(lambda n: n.casefold() not in map(str.casefold, words)),
                                         max_size=1))
    elif scheme == "names" and draw(st.booleans()):
        explicit = draw(st.permutations(pool))

    def draw_labels(allowed):
        if multi:
            return sorted(draw(st.lists(st.sampled_from(allowed), unique=True, max_size=min(3, len(allowed)))))
        return draw(st.sampled_from(allowed))

    # rows: (split, text, labels as written names/ids)
    rows: list[tuple[str, str, object]] = []
    if layout == "generated":
        present = pool if scheme == "ids" else pool[: draw(st.integers(2, k))]
        for label in present:
            rows += [("all", draw(any_text), label) for _ in range(draw(st.integers(6, 7)))]
        rows = draw(st.permutations(rows))
    else:
        needed = pool if scheme == "ids" else pool[:2]
        if multi:
            first = [("train", draw(any_text), sorted(needed))]
        else:
            first = [("train", draw(any_text), label) for label in needed]
        train = first + [("train", draw(any_text), draw_labels(pool)) for _ in range(draw(st.integers(0, 4)))]
        seen = sorted({label for _, _, ls in train for label in (ls if multi else [ls])})
        allowed = pool if scheme == "indicators" else seen
        others = [(split, draw(any_text), draw_labels(allowed)) for split in ("validation", "test")
                  for _ in range(draw(st.integers(0, 2)))]
        rows = draw(st.permutations(train + others))
    if fmt == "txt":  # a 'text;label' line cannot hold a line break
        rows = [(s, t.replace("\n", " ") if t.replace("\n", " ").strip() else "x", ls) for s, t, ls in rows]

    header = fmt == "txt" or not (fmt in ("csv", "tsv") and draw(st.integers(0, 3)) == 0)
    extras = [] if fmt == "txt" else draw(st.lists(st.sampled_from(EXTRA_COLUMNS), unique=True, max_size=2))
    text_col = "text" if fmt == "txt" else draw(st.sampled_from(TEXT_COLUMNS))
    label_col = "label" if fmt == "txt" else draw(st.sampled_from(LABEL_COLUMNS))
    split_col = draw(st.sampled_from(SPLIT_COLUMNS)) if layout == "split_column" else None
    if scheme == "indicators":
        indicator_cols = [n for n in pool]
        columns = [text_col] + indicator_cols + ([split_col] if split_col else []) + extras
    else:
        indicator_cols = []
        columns = [text_col, label_col] + ([split_col] if split_col else []) + extras
    if fmt != "txt":
        columns = draw(st.permutations(columns))
    position = {c: str(i + 1) for i, c in enumerate(columns)}

    def label_value(labels, json_out: bool):
        if scheme in ("names", "ids", "ids_named"):
            if json_out and scheme != "names":
                return draw(st.sampled_from([int(labels), float(labels), str(labels)]))
            return draw(st.sampled_from(["", " "])) + str(labels) + draw(st.sampled_from(["", " "])) if not json_out \
                else labels
        if scheme == "separator":
            joiner = draw(st.sampled_from([separator, f" {separator.strip() or separator} ", separator]))
            value = joiner.join(labels)
            if json_out and not labels:
                return draw(st.sampled_from(["", None]))
            return value
        # json_list: the first value written is a list, so the data reads as multi-label
        if not listed:
            listed.append(True)
            return list(labels)
        if len(labels) == 1 and draw(st.integers(0, 3)) == 0:
            return labels[0]
        if not labels and draw(st.booleans()):
            return None
        return list(labels)

    def record(split, text, labels, json_out: bool) -> dict:
        out = {text_col: text}
        if scheme == "indicators":
            for name in indicator_cols:
                on = name in labels
                if json_out:
                    out[name] = draw(st.sampled_from([int(on), bool(on), str(int(on))]))
                else:
                    out[name] = draw(st.sampled_from(["", " "])) + str(int(on))
        else:
            out[label_col] = label_value(labels, json_out)
        if split_col:
            out[split_col] = draw(st.sampled_from(SPELLINGS[split]))
        for extra in extras:
            out[extra] = draw(plain_json_values) if json_out else draw(st.text(max_size=6))
        return out

    listed: list = []
    line_end = draw(st.sampled_from(["\n", "\r\n"]))
    blank_lines = draw(st.booleans())

    def render(file_rows) -> tuple[str, list[int]]:
        """The file's text and the line each row starts on."""
        starts = []
        if fmt in ("csv", "tsv"):
            buffer = io.StringIO()
            quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
            delimiter = "," if fmt == "csv" else "\t"
            writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator=line_end)
            # Python's writer leaves a lone CR unquoted when lines end at LF (read as an error, tested below)
            quoted = csv.writer(buffer, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator=line_end)
            if header:
                writer.writerow(columns)
            for split, text, labels in file_rows:
                if blank_lines and draw(st.integers(0, 4)) == 0:
                    buffer.write(line_end)
                starts.append(buffer.getvalue().count("\n") + 1)
                rec = record(split, text, labels, False)
                values = [rec[c] for c in columns]
                (quoted if any("\r" in v for v in values) else writer).writerow(values)
            return buffer.getvalue(), starts
        out = ""
        for split, text, labels in file_rows:
            if blank_lines and draw(st.integers(0, 4)) == 0:
                out += line_end
            starts.append(out.count("\n") + 1)
            if fmt == "jsonl":
                rec = record(split, text, labels, True)
                out += json.dumps({c: rec[c] for c in columns}, ensure_ascii=draw(st.booleans())) + line_end
            else:
                out += f"{text};{labels if not multi else label_value(labels, False)}" + line_end
        if not draw(st.booleans()):
            out = out[: -len(line_end)]
        return out, starts

    def encode(content: str) -> tuple[bytes, str | None]:
        choice = draw(st.sampled_from(["utf-8", "utf-8 bom", "utf-8-sig", "UTF8", "utf-16", "cp1252", "latin-1"]))
        try:
            if choice == "utf-8 bom":
                return b"\xef\xbb\xbf" + content.encode("utf-8"), None
            if choice in ("utf-8", "UTF8", "utf-8-sig"):
                return content.encode("utf-8"), None if choice == "utf-8" else choice
            return content.encode(choice), choice
        except UnicodeEncodeError:
            return content.encode("utf-8"), None

    suffix = draw(st.sampled_from(SUFFIX_OF[fmt] + [".dat"]))
    data_format = fmt if suffix == ".dat" or draw(st.integers(0, 5)) == 0 else None
    files, encodings_used, expected_lines = {}, {}, {}
    groups = {"all": rows} if layout in ("split_column", "generated") else \
        {s: [r for r in rows if r[0] == s] for s in ("train", "validation", "test")}
    for split, file_rows in groups.items():
        if not file_rows:
            continue
        content, starts = render(file_rows)
        raw, codec = encode(content)
        files[split] = (f"{split}{suffix}", raw)
        encodings_used[split] = codec
        expected_lines[split] = starts
    config = {"header": header, "data_format": data_format}
    if fmt != "txt":
        config["text_column"] = text_col if header else position[text_col]
        if scheme != "indicators":
            config["label_column"] = label_col if header else position[label_col]
        if split_col:
            config["split_column"] = split_col if header else position[split_col]
    if scheme == "indicators":
        named = [c if header else position[c] for c in indicator_cols]
        config["label_columns"] = "all" if not extras and draw(st.booleans()) else draw(st.permutations(named))
    if separator:
        config["label_separator"] = separator
    if explicit:
        config["label_names"] = list(explicit)
    codecs_given = {s: c for s, c in encodings_used.items() if c}
    if codecs_given:
        if len(set(codecs_given.values())) == 1 and len(codecs_given) == len(encodings_used) and draw(st.booleans()):
            config["encoding"] = next(iter(codecs_given.values()))
        elif "all" in codecs_given:
            config["encoding"] = codecs_given["all"]
        else:
            config["encodings"] = codecs_given
    spec = {"fmt": fmt, "scheme": scheme, "multi": multi, "layout": layout, "pool": pool, "explicit": explicit,
            "header": header, "columns": columns, "indicator_cols": indicator_cols, "position": position}
    return spec, rows, files, expected_lines, config


def expected_corpus(spec, rows, config):
    """Label names and {split: (texts, label ids)} as the files say."""
    multi, scheme = spec["multi"], spec["scheme"]
    train_rows = [r for r in rows if r[0] in ("train", "all")]
    if scheme == "indicators":
        listed = config["label_columns"]
        if listed == "all":
            listed = [c if spec["header"] else spec["position"][c] for c in spec["columns"]
                      if c in spec["indicator_cols"]]
        by_column = {(c if spec["header"] else spec["position"][c]): c for c in spec["indicator_cols"]}
        names = list(listed)
        to_id = {by_column[c]: i for i, c in enumerate(listed)}
    elif spec["explicit"]:
        names = list(spec["explicit"])
        to_id = {n: int(n) for n in spec["pool"]} if scheme == "ids_named" else {n: i for i, n in enumerate(names)}
    elif scheme == "ids":
        names = [str(i) for i in range(len(spec["pool"]))]
        to_id = {n: int(n) for n in spec["pool"]}
    else:
        names = sorted({label for _, _, ls in train_rows for label in (ls if multi else [ls])})
        to_id = {n: i for i, n in enumerate(names)}
    out = {}
    for split, text, labels in rows:
        texts, ids = out.setdefault(split, ([], []))
        texts.append(text[:MAX_TEXT_CHARS])
        ids.append(sorted(to_id[label] for label in labels) if multi else to_id[labels])
    return names, out


def check_well_formed(case: Path, spec, rows, files, expected_lines, config):
    paths = {}
    for split, (name, raw) in files.items():
        path = case / name
        path.write_bytes(raw)
        paths[split] = str(path)
    if "all" in paths:
        config = {**config, "name": paths["all"]}
    else:
        config = {**config, "name": paths["train"], "files": paths}
    note(f"config: {config!r}")
    result = load(case, **config)
    assert not isinstance(result, EmobenchError), f"refused well-formed data: {result}"
    assert_sound(result, multi=spec["multi"])
    names, expected = expected_corpus(spec, rows, config)
    assert result.label_names == names
    if spec["layout"] == "generated":
        by_line = dict(zip(expected_lines["all"], rows))
        lines = result.source.split.file_lines
        assert sorted(sum(lines.values(), [])) == sorted(by_line)
        _, everything = expected_corpus(spec, [("all", t, ls) for _, t, ls in rows], config)
        to_id = dict(zip(expected_lines["all"], everything["all"][1]))
        for split, numbers in lines.items():
            assert result[split].texts == [by_line[n][1][:MAX_TEXT_CHARS] for n in numbers]
            assert result[split].labels == [to_id[n] for n in numbers]
    else:
        got = {name: (s.texts, s.labels) for name, s in result.splits.items()}
        assert got == {s: (list(t), list(ls)) for s, (t, ls) in expected.items()}
    return result


def test_well_formed_tables_read_exactly(tmp_path):
    @bounded(400)
    @given(well_formed())
    def check(case_spec):
        COUNTS["test_well_formed_tables_read_exactly"] += 1
        with case_folder(tmp_path) as case:
            check_well_formed(case, *case_spec)

    check()
    counted("test_well_formed_tables_read_exactly", 350)


# ---------------------------------------------------------------- the same cases through `emobench data audit`

runner = CliRunner()


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def cli_args(config: dict) -> list[str] | None:
    """The command line of a configuration, or None where the command line cannot say it."""
    args = []
    files = config.get("files")
    if files:
        if "train" not in files:
            return None
        for split, path in files.items():
            args += [f"--{split}-file", path]
        args.insert(0, "data")
        args.insert(1, "audit")
    else:
        args = ["data", "audit", config["name"]]
    for key in ("text_column", "label_column", "split_column", "label_separator", "data_format"):
        value = config.get(key)
        if value is not None:
            if value != value.strip() or value == "" or value.startswith("-"):
                return None
            args += [flag(key), value]
    if config.get("encodings"):
        pairs = config["encodings"]
        if config.get("encoding", "utf-8") != "utf-8":
            return None
        if not files or any(not c.strip() or "," in c or "=" in c or c != c.strip() or "\x00" in c for c in pairs.values()) \
                or any(s not in ("train", "validation", "test") for s in pairs):
            return None
        args += ["--encoding", ",".join(f"{s}={c}" for s, c in pairs.items())]
    elif "encoding" in config:
        codec = config["encoding"]
        if not codec.strip() or "=" in codec or codec != codec.strip() or "\x00" in codec or codec.startswith("-"):
            return None
        args += ["--encoding", codec]
    if config.get("label_names"):
        names = config["label_names"]
        if any("," in n or not n.strip() or n != n.strip() for n in names):
            return None
        args += ["--label-names", ",".join(names)]
    columns = config.get("label_columns")
    if columns is not None and not columns:
        return None
    if columns:
        if columns == "all":
            args += ["--label-columns", "all"]
        elif isinstance(columns, list) and all(c.strip() == c and c and "," not in c for c in columns):
            args += ["--label-columns", ",".join(columns)]
        else:
            return None
    if config.get("header") is False:
        args.append("--no-header")
    if config.get("drop_placeholders"):
        args.append("--drop-placeholders")
    if "split_seed" in config:
        if config["split_seed"] < 0 or files or config.get("split_column"):
            return None
        args += ["--split-seed", str(config["split_seed"])]
    return args


def assert_one_error_line(result, *mentions: str) -> str:
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    # lines as a terminal shows them: LF ends a line (str.splitlines would also split at U+2028, U+0085, ...)
    lines = [line for line in result.stderr.split("\n") if line.strip() and not line.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for mention in mentions:
        assert mention in lines[0], (mention, lines[0])
    return lines[0]


def audit_cli(case: Path, args: list[str], json_out: Path):
    with watched(case, outputs=(json_out,)):
        return runner.invoke(app, [*args, "--json", str(json_out)], catch_exceptions=True)


def compare_routes(case: Path, config: dict, api_result) -> None:
    """The command line reads what the API reads, and refuses what it refuses with the same place."""
    args = cli_args(config)
    if args is None:
        return
    note(f"args: {args!r}")
    json_out = case / "audit.json"
    result = audit_cli(case, args, json_out)
    if isinstance(result.exception, Exception) and not isinstance(result.exception, SystemExit):
        raise result.exception
    if isinstance(api_result, EmobenchError):
        mentions = []
        if isinstance(api_result, DataError) and api_result.path is not None:
            mentions.append(str(api_result.path) + (f", line {api_result.line}" if api_result.line else ""))
        line = assert_one_error_line(result, *mentions)
        if mentions:  # the same place and words (an option the command line parses itself may be refused there first)
            assert line == "error: " + api_result.render(cli_flag), (line, str(api_result))
        assert not json_out.exists()
    else:
        assert result.exit_code == 0, result.output
        report = json.loads(json_out.read_text(encoding="utf-8"))
        json_out.unlink()
        assert report["labels"] == api_result.label_names
        for name, split in api_result.splits.items():
            counts = split.label_matrix(api_result.num_labels).sum(axis=0).tolist()
            assert report["splits"][name]["size"] == len(split)
            assert report["splits"][name]["label_counts"] == dict(zip(api_result.label_names, counts))


def test_any_bytes_through_data_audit(tmp_path):
    @bounded(100)
    @given(chaos_cases())
    @example(("single", {"train": ("d.csv", b"\xef\xbb\xbftext,label\na,x\nb,y\n")}, {"encoding": "cp1252"}))
    @example(("single", {"train": ("d.csv", b'text,label\n"a\nb",x\nc\n')}, {}))
    def check(chaos):
        COUNTS["test_any_bytes_through_data_audit"] += 1
        COUNTING[0] = "test_any_bytes_through_data_audit"
        with case_folder(tmp_path) as case:
            layout, files, options = chaos
            api_result = run_chaos(case, layout, files, options)
            config = dict(options)
            paths = {s: str(case / n) for s, (n, _) in files.items()}
            config["name"] = paths.get("train", str(case / "absent.csv"))
            if layout == "files":
                config["files"] = paths
            compare_routes(case, config, api_result)

    check()
    counted("test_any_bytes_through_data_audit", 80)


def test_well_formed_tables_through_data_audit(tmp_path):
    @bounded(60)
    @given(well_formed())
    def check(case_spec):
        COUNTS["test_well_formed_tables_through_data_audit"] += 1
        with case_folder(tmp_path) as case:
            spec, rows, files, expected_lines, config = case_spec
            corpus = check_well_formed(case, spec, rows, files, expected_lines, config)
            paths = {s: str(case / n) for s, (n, _) in files.items()}
            full = {**config, "name": paths.get("all", paths.get("train"))}
            if "all" not in paths:
                full["files"] = paths
            compare_routes(case, full, corpus)

    check()
    counted("test_well_formed_tables_through_data_audit", 50)


# ---------------------------------------------------------------- the defects found, kept as plain tests

def test_unquoted_carriage_return_is_an_error_naming_the_line(tmp_path):
    (tmp_path / "d.csv").write_bytes(b"text,label\nfine,joy\nhello\rworld,joy\n")
    with pytest.raises(DataError, match=r"d\.csv, line 3: .*carriage return"):
        load_dataset(DatasetConfig(name=str(tmp_path / "d.csv")))


def test_quoted_carriage_return_stays_in_the_text_and_lines_count_lf_only(tmp_path):
    (tmp_path / "d.csv").write_bytes(b'text,label,split\n"a\rb",joy,train\nc,sad,train\nd,joy,test\ne,sad,bogus\n')
    with pytest.raises(DataError, match=r"d\.csv, line 5: split 'bogus'"):
        load_dataset(DatasetConfig(name=str(tmp_path / "d.csv"), split_column="split"))


def test_repeated_json_key_is_refused(tmp_path):
    (tmp_path / "d.jsonl").write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": "x", "label": "y"}\n')
    with pytest.raises(DataError, match=r"d\.jsonl, line 2: .*'label' appears twice"):
        load_dataset(DatasetConfig(name=str(tmp_path / "d.jsonl")))


def test_id_out_of_range_of_label_names_says_so(tmp_path):
    train = tmp_path / "train.txt"
    train.write_text("a;0\nb;1\n")
    (tmp_path / "test.txt").write_text("c;5\n")
    with pytest.raises(DataError, match=r"test\.txt, line 1: label id 5 .* 2 names"):
        load_dataset(DatasetConfig(name=str(train), files={"train": str(train), "test": str(tmp_path / "test.txt")},
                                   label_names=["x", "y"]))


def test_label_names_that_are_other_ids_are_refused(tmp_path):
    (tmp_path / "d.csv").write_text("text,label,split\na,0,train\nb,1,train\n")
    with pytest.raises(EmobenchError, match=r"label_names 1,0: .*ids"):
        load_dataset(DatasetConfig(name=str(tmp_path / "d.csv"), split_column="split", label_names=["1", "0"]))


def test_utf16_error_names_the_decoded_line(tmp_path):
    (tmp_path / "d.csv").write_bytes("text,label\na,x\nb,y\n".encode("utf-16") + b"\x00")
    with pytest.raises(DataError, match=r"d\.csv, line (3|4): "):
        load_dataset(DatasetConfig(name=str(tmp_path / "d.csv"), encoding="utf-16"))


def test_label_columns_all_refuses_a_column_the_first_row_has_not(tmp_path):
    (tmp_path / "d.jsonl").write_text('{"text": "a", "joy": 1, "anger": 0}\n{"text": "b", "joy": 0, "anger": 0, "fear": 1}\n')
    with pytest.raises(DataError, match=r"d\.jsonl, line 2: column 'fear' is not in the first row"):
        load_dataset(DatasetConfig(name=str(tmp_path / "d.jsonl"), label_columns="all"))


def test_a_label_with_a_line_break_is_refused_on_one_line(tmp_path):
    (tmp_path / "d.csv").write_bytes(b'text,label\na,"A\r B"\nb,A\n')
    with pytest.raises(DataError, match=r"d\.csv, line 2: label 'A\\r B': a control character") as caught:
        load_dataset(DatasetConfig(name=str(tmp_path / "d.csv")))
    assert "\r" not in str(caught.value)


def test_a_split_file_problem_names_the_file(tmp_path):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    train.write_text("text,label\na,x\nb,x\n")
    test.write_text("text,label\nc,x\n")
    with pytest.raises(DataError, match=rf"^{re.escape(str(train))}: the training data has one label only"):
        load_dataset(DatasetConfig(name=str(train), files={"train": str(train), "test": str(test)}))


def test_a_utf8_bom_read_with_another_ascii_encoding_is_skipped(tmp_path):
    (tmp_path / "d.csv").write_bytes(b"\xef\xbb\xbftext,label,split\na,x,train\nb,y,train\n")
    corpus = load_dataset(DatasetConfig(name=str(tmp_path / "d.csv"), split_column="split", encoding="cp1252"))
    assert corpus["train"].texts == ["a", "b"] and corpus.label_names == ["x", "y"]
