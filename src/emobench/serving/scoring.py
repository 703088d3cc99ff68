"""Batch scoring of a file of any size: read in chunks, predict, write, so memory stays constant.

Input: ``.txt`` (one text per line), ``.csv`` / ``.tsv`` (a header row and a text column; the other columns pass
through) or ``.jsonl`` (objects; every key passes through). Output by suffix: ``.csv`` (the input's columns, then
``predicted_label`` -- ``predicted_labels`` for multi-label models, ``|``-separated -- and ``p_<label>``) or
``.jsonl`` (the input object plus ``predicted_label(s)`` and ``probabilities``). The output is claimed (one
writer at a time), written as ``<output>.partial`` and renamed when complete.

One reader parses the input for both engines: ``engine="ray"`` sends the texts of each chunk to a pool of Ray
actors (one model each, locally or on a cluster) and writes their answers in order, so a Ray run and a local
run of the same file write identical bytes (a byte order mark, CRLF line ends, U+2028 / U+0085 inside texts
included).
"""
from __future__ import annotations

import collections
import csv
import itertools
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..claims import claim_file
from ..files import check_outside_records
from ..errors import DataError, EmobenchError, option
from ..logs import bars, logger
from .prediction import Prediction
from .predictor import UnscorableText

INPUTS = (".txt", ".csv", ".tsv", ".jsonl", ".ndjson")
OUTPUTS = (".csv", ".jsonl")


def _codec(encoding: str) -> str:
    return "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding  # a BOM is no text


def text_rows(path: Path, text_column: str, encoding: str = "utf-8") -> Iterator[tuple[int, dict, str]]:
    """(line number, record to pass through, text) for every row, streamed. The first item is the header:
    (0, {column: None ...}, "") for CSV/TSV and text files, so an output can have its columns without rows."""
    from ..data.readers.common import MAGIC, TextChecker

    with open(path, "rb") as probe:
        head = probe.read(16)
    for magic, what in MAGIC.items():
        if head.startswith(magic):
            raise DataError(f"the file is {what}, not text", path)
    suffix = path.suffix.lower()
    rows = _txt_rows if suffix == ".txt" else _jsonl_rows if suffix in (".jsonl", ".ndjson") else _csv_rows
    check = TextChecker()
    try:
        with open(path, "rb") as raw:
            yield from rows(_decoded_lines(raw, encoding, path), path, text_column, check)
    except LookupError:
        raise DataError(f"unknown encoding {encoding!r}; expected a Python codec name such as utf-8, cp1252", path) from None
    except UnicodeError as exc:  # a stream codec (UTF-16 without its byte order mark, ...): no line to point at
        raise DataError(f"cannot be read as {encoding} ({exc}); give the file's encoding with {option('encoding')}",
                        path) from None
    check.report()


def _txt_rows(lines: Iterator[str], path: Path, text_column: str, check) -> Iterator[tuple[int, dict, str]]:
    """One text per non-blank line; the column is always "text"."""
    yield 0, {"text": None}, ""
    blank = []
    for number, line in enumerate(lines, start=1):
        text = line.rstrip("\r\n")
        if text.strip():
            yield number, {"text": text}, check(text, "text", path, number)
        else:
            blank.append(number)
    if blank:  # no text to score; said, so the rows are not taken for one per line
        import warnings

        from ..data.readers.common import DataWarning

        shown = ", ".join(map(str, blank[:5])) + (f" and {len(blank) - 5} more" if len(blank) > 5 else "")
        warnings.warn(f"{path}: {len(blank)} blank line(s) skipped (line {shown}); the output has a row per "
                      "text, not per line", DataWarning, stacklevel=3)  # the caller of text_rows


def _jsonl_rows(lines: Iterator[str], path: Path, text_column: str, check) -> Iterator[tuple[int, dict, str]]:
    from ..data.readers.common import check_unicode, jsonl_objects

    for number, record in jsonl_objects(lines, path):
        _check_strings(record, path, number, check_unicode)
        yield number, record, check(_field(record, text_column, path, number), text_column, path, number)


def _csv_rows(lines: Iterator[str], path: Path, text_column: str, check) -> Iterator[tuple[int, dict, str]]:
    from ..data.readers.common import MAX_FIELD_CHARS

    csv.field_size_limit(MAX_FIELD_CHARS)
    # strict: a quote left open to the end of the file is an error, not one text swallowing the rest
    reader = csv.reader(lines, delimiter="\t" if path.suffix.lower() == ".tsv" else ",", strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise DataError("empty file; expected a header row", path, 1)
        twice = sorted({c for c in header if header.count(c) > 1})
        if twice:
            raise DataError(f"column {twice[0]!r} appears twice in the header; every column needs its own name", path, 1)
        yield 0, dict.fromkeys(header), ""
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise DataError(f"a row with {len(row)} fields, expected {len(header)} as in the header", path,
                                reader.line_num)
            record = dict(zip(header, row))
            yield reader.line_num, record, check(_field(record, text_column, path, reader.line_num), text_column,
                                                 path, reader.line_num)
    except csv.Error as exc:
        detail = str(exc)
        if "field larger than field limit" in detail:
            detail = f"a field of more than {MAX_FIELD_CHARS:,} characters (is a quote left open?)"
        elif "unexpected end of data" in detail:
            detail = "a quote is left open to the end of the file"
        raise DataError(f"malformed CSV ({detail})", path, reader.line_num) from None


def _decoded_lines(raw, encoding: str, path: Path) -> Iterator[str]:
    """The lines of a binary file (split at LF only, endings kept), each decoded on its own, so undecodable bytes
    are reported with their line and a hint that cannot corrupt the text (the data readers')."""
    from ..data.readers.common import encoding_hint

    codec = _codec(encoding)
    if "a\n".encode(codec.replace("-sig", "")) != b"a\n":  # UTF-16 and the like cannot be split at a byte: a stream
        import io

        yield from io.TextIOWrapper(raw, encoding=codec, newline="\n")  # lines end at LF (or CRLF) only, as elsewhere
        return
    for number, line in enumerate(raw, start=1):
        try:
            yield line.decode(codec if number == 1 else codec.replace("-sig", ""))
        except UnicodeDecodeError as exc:
            hint = encoding_hint(line, f"{option('encoding')} ENCODING") if codec == "utf-8-sig" else "is it in another encoding?"
            raise DataError(f"bytes {line[exc.start:exc.end]!r} are not valid {encoding}; {hint}", path, number) from None


def _field(record: dict, column: str, path: Path, number: int):
    if column not in record:
        raise DataError(f"missing column {column!r} (columns: {', '.join(map(str, record))}); pass {option('text_column')}",
                        path, number)
    return record[column]


def _check_strings(value, path: Path, number: int, check_unicode, key: str = "") -> None:
    """Every string of a JSON record (keys included) must be writable as UTF-8: a lone surrogate is named here."""
    if isinstance(value, str):
        check_unicode(value, key or "(value)", path, number)
    elif isinstance(value, dict):
        for k, v in value.items():
            check_unicode(k, k, path, number)
            _check_strings(v, path, number, check_unicode, key or k)
    elif isinstance(value, list):
        for v in value:
            _check_strings(v, path, number, check_unicode, key)


class _Writer:
    """Writes scored rows as CSV or JSONL; predicted columns never overwrite the input's, and a CSV never gets a
    record whose columns differ from the first one's (they would shift)."""

    def __init__(self, handle, suffix: str, label_names: list[str], multi_label: bool, path: Path):
        self.handle, self.suffix, self.label_names, self.multi, self.path = handle, suffix, label_names, multi_label, path
        self.key = "predicted_labels" if multi_label else "predicted_label"
        self.outputs = {self.key, "probabilities", *[f"p_{n}" for n in label_names]}
        self.columns: list[str] | None = None
        self.writer = None

    def header(self, columns: list[str]) -> None:
        """The input's columns (CSV/TSV and text inputs say them before any row)."""
        if self.suffix == ".csv":
            self._start(columns)

    def _start(self, columns: list[str]) -> None:
        taken = sorted(self.outputs & set(columns))
        if taken:
            raise EmobenchError(f"the input already has a column {taken[0]!r}, which the scores would overwrite; rename it")
        self.columns = list(columns)
        self.writer = csv.writer(self.handle)
        self.writer.writerow([*self.columns, self.key, *[f"p_{n}" for n in self.label_names]])

    def write(self, rows: list[tuple[int, dict]], predictions: list[Prediction]) -> None:
        for (number, record), prediction in zip(rows, predictions):
            chosen = prediction.chosen
            if self.suffix == ".jsonl":
                taken = sorted(self.outputs & set(record))
                if taken:
                    raise DataError(f"key {taken[0]!r} is one the scores are written under; rename it", self.path, number)
                self.handle.write(json.dumps({**record, self.key: chosen, "probabilities": prediction.probabilities},
                                             ensure_ascii=False) + "\n")
                continue
            if self.writer is None:
                self._start(list(record))
            if list(record) != self.columns:
                if set(record) != set(self.columns):
                    raise DataError(f"keys {sorted(record)} differ from the first record's {sorted(self.columns)}; a CSV "
                                    "needs the same columns in every row (write .jsonl instead)", self.path, number)
                record = {c: record[c] for c in self.columns}  # same keys in another order: by name, never shifted
            flat = [json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v for v in record.values()]
            self.writer.writerow([*flat, "|".join(chosen) if self.multi else chosen,
                                  *[f"{prediction.probabilities[n]:.6f}" for n in self.label_names]])


@dataclass
class ScoringResult:
    """What ``score_file`` returns: how many texts, how fast, where they went."""

    texts: int
    seconds: float
    output: str
    engine: str

    @property
    def texts_per_second(self) -> float | None:
        return self.texts / self.seconds if self.seconds else None

    def __fspath__(self) -> str:
        return self.output


def score_file(run_or_export: str | Path, input_path: str | Path, output_path: str | Path, text_column: str = "text",
               chunk_size: int = 1024, backend: str = "auto", progress: bool = True, engine: str = "local",
               ray_address: str | None = None, ray_workers: int = 1, encoding: str = "utf-8",
               allow_modified: bool = False) -> ScoringResult:
    """Score every row of ``input_path`` into ``output_path`` (claimed: one writer at a time, written as
    ``OUTPUT.partial`` and renamed when complete); returns counts and throughput."""
    from .predictor import Predictor

    input_path, output_path = Path(input_path), Path(output_path)
    if input_path.suffix.lower() not in INPUTS:
        raise EmobenchError(f"{input_path}: expected a {', '.join(INPUTS)} file to score")
    if output_path.suffix.lower() not in OUTPUTS:
        raise EmobenchError(f"{option('output')} {output_path}: expected a .csv or .jsonl file")
    if not input_path.is_file():
        raise EmobenchError(f"{input_path}: file not found")
    if output_path.resolve() == input_path.resolve():
        raise EmobenchError(f"{option('output')} must not be the input file")
    if not output_path.parent.is_dir():
        raise EmobenchError(f"{option('output')} {output_path}: the folder {output_path.parent} does not exist")
    if output_path.is_dir():
        raise EmobenchError(f"{option('output')} {output_path}: is a folder; expected a file name")
    check_outside_records(output_path.parent, "output", output_path)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise EmobenchError(f"{option('chunk_size')} {chunk_size}: expected at least 1")
    if engine not in ("local", "ray"):
        raise EmobenchError(f"{option('engine')} {engine!r}: expected local or ray")
    if engine == "ray" and (isinstance(ray_workers, bool) or not isinstance(ray_workers, int) or ray_workers < 1):
        raise EmobenchError(f"{option('ray_workers')} {ray_workers}: expected at least 1")
    predictor = Predictor(run_or_export, backend, allow_modified)  # validated before anything is claimed
    lock = claim_file(output_path, "scored file")
    partial = output_path.with_name(output_path.name + ".partial")
    started = time.perf_counter()
    try:
        rows = text_rows(input_path, text_column, encoding)
        score = _on_ray(run_or_export, backend, allow_modified, ray_address, ray_workers) if engine == "ray" else \
            (lambda chunks: (predictor.score(texts) for texts in chunks))
        with open(partial, "w", newline="", encoding="utf-8") as handle:
            count = _score(rows, score, _Writer(handle, output_path.suffix.lower(), predictor.label_names,
                                                predictor.multi_label, input_path), chunk_size, progress)
        os.replace(partial, output_path)
    finally:
        Path(partial).unlink(missing_ok=True)
        lock.release()
    result = ScoringResult(count, time.perf_counter() - started, str(output_path), engine)
    logger.debug("scored %d texts in %.1f s (%.0f texts/s) into %s", count, result.seconds, result.texts_per_second or 0,
                output_path)
    return result


def _chunks(rows: Iterator, size: int) -> Iterator[list]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _score(rows: Iterator, score, writer: _Writer, chunk_size: int, progress: bool) -> int:
    """Chunks of rows, their texts scored by ``score`` (an iterable of texts lists -> predictions, in order)."""
    from tqdm.auto import tqdm

    pending: collections.deque = collections.deque()
    first = next(rows, None)
    if first is not None and first[0] == 0:  # the input's header: the output has its columns even without rows
        writer.header(list(first[1]))
    elif first is not None:
        rows = itertools.chain([first], rows)

    def texts():
        for chunk in _chunks(rows, chunk_size):
            pending.append([(number, record) for number, record, _ in chunk])
            yield [text for _, _, text in chunk]

    count = 0
    with tqdm(desc="scoring", unit="text", disable=not bars(progress), file=sys.stderr) as bar:
        try:
            for predictions in score(texts()):
                chunk = pending.popleft()
                writer.write(chunk, predictions)
                count += len(chunk)
                bar.update(len(chunk))
        except UnscorableText as exc:  # the oldest chunk in flight is the one that failed (answers come in order)
            number = pending[0][exc.index][0] if pending and exc.index < len(pending[0]) else None
            raise DataError(f"the model could not score this text ({exc.reason})", writer.path, number) from None
    return count


class RayScorer:
    """One model per Ray actor: loaded once, then asked to score lists of texts."""

    def __init__(self, path: str, backend: str, allow_modified: bool = False):
        from .predictor import Predictor

        self.predictor = Predictor(path, backend, allow_modified)

    def score(self, texts: list[str]) -> list[Prediction]:
        return self.predictor.score(texts)


def _on_ray(path, backend: str, allow_modified: bool, address: str | None, workers: int):
    """A scorer that sends each chunk's texts to a pool of actors and yields their predictions in input order,
    with at most two chunks per actor in flight (constant memory on the driver)."""
    from ..cluster import connect

    ray = connect(address, workers)  # locally: a CPU per scoring actor (the driver reads and writes)
    from ray.util import ActorPool

    actor = ray.remote(num_cpus=1)(RayScorer)
    pool = ActorPool([actor.remote(str(Path(path).resolve()), backend, allow_modified) for _ in range(workers)])

    from ..cluster import ClusterWatch

    watch = ClusterWatch(ray, "the scoring", "nothing was written")

    def next_result():
        while True:
            try:
                return pool.get_next(timeout=2.0)
            except TimeoutError:
                watch.check()

    def score(chunks):
        in_flight = 0
        for texts in chunks:
            pool.submit(lambda a, t: a.score.remote(t), texts)
            in_flight += 1
            if in_flight >= 2 * workers:
                yield next_result()
                in_flight -= 1
        while in_flight:
            yield next_result()
            in_flight -= 1

    return score
