"""Batch scoring of a file of any size: read in chunks, predict, write, so memory stays constant.

Input: ``.txt`` (one text per line), ``.csv`` / ``.tsv`` (a text column; the other columns pass through) or
``.jsonl`` (objects; every key passes through). Output by suffix: ``.csv`` (the input's columns, then
``predicted_label`` -- ``predicted_labels`` for multi-label models, ``|``-separated -- and ``p_<label>``)
or ``.jsonl`` (the input object plus ``predicted_label(s)`` and ``probabilities``). The output is written as
``<output>.partial`` and renamed when complete. ``engine="ray"`` runs the same scoring on Ray Data (one
model per worker), locally or against a cluster address, with the same output.
"""
from __future__ import annotations

import csv
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..claims import claim_file
from ..errors import DataError, EmobenchError, option
from ..logs import bars, logger

INPUTS = (".txt", ".csv", ".tsv", ".jsonl", ".ndjson")
OUTPUTS = (".csv", ".jsonl")


def _rows(path: Path, text_column: str, encoding: str = "utf-8") -> Iterator[tuple[int, dict, str]]:
    """(line number, record to pass through, text) for every row, streamed."""
    from ..data.readers.common import MAGIC, MAX_TEXT_CHARS, jsonl_objects

    with open(path, "rb") as probe:
        head = probe.read(16)
    for magic, what in MAGIC.items():
        if head.startswith(magic):
            raise DataError(f"the file is {what}, not text", path)
    suffix = path.suffix.lower()
    with open(path, newline="" if suffix in (".csv", ".tsv") else None, encoding=encoding) as handle:
        try:
            if suffix == ".txt":
                for number, line in enumerate(handle, start=1):
                    text = line.rstrip("\r\n")
                    if text.strip():
                        yield number, {"text": text}, text[:MAX_TEXT_CHARS]
            elif suffix in (".jsonl", ".ndjson"):
                for number, record in jsonl_objects(handle, path):
                    yield number, record, _text(record, text_column, path, number)[:MAX_TEXT_CHARS]
            else:
                from ..data.readers.common import MAX_FIELD_CHARS

                csv.field_size_limit(MAX_FIELD_CHARS)
                reader = csv.DictReader(handle, delimiter="\t" if suffix == ".tsv" else ",")
                if reader.fieldnames is None:
                    raise DataError("empty file; expected a header row", path, 1)
                for record in reader:
                    if None in record or any(v is None for v in record.values()):
                        raise DataError(f"a row with {len(record) + len(record.get(None, [])) - (None in record)} fields, "
                                        f"expected {len(reader.fieldnames)} as in the header", path, reader.line_num)
                    yield reader.line_num, record, _text(record, text_column, path, reader.line_num)[:MAX_TEXT_CHARS]
        except UnicodeDecodeError as exc:
            raise DataError(f"not valid {encoding} ({exc.reason}); pass {option('encoding')}", path) from None
        except csv.Error as exc:
            raise DataError(f"malformed CSV ({exc})", path) from None


def _text(record: dict, column: str, path: Path, number: int) -> str:
    if column not in record:
        raise DataError(f"missing column {column!r} (columns: {', '.join(map(str, record))}); pass {option('text_column')}",
                        path, number)
    value = record[column]
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"column {column!r}: expected a non-empty text", path, number)
    return value


class _Writer:
    """Writes scored rows as CSV or JSONL; predicted columns never overwrite the input's."""

    def __init__(self, handle, suffix: str, label_names: list[str], multi_label: bool):
        self.handle, self.suffix, self.label_names, self.multi = handle, suffix, label_names, multi_label
        self.key = "predicted_labels" if multi_label else "predicted_label"
        self.columns = None
        self.writer = None

    def write(self, records: list[dict], predictions: list[dict]) -> None:
        for record, prediction in zip(records, predictions):
            chosen = prediction["labels"] if self.multi else prediction["label"]
            if self.suffix == ".jsonl":
                self._check(record)
                self.handle.write(json.dumps({**record, self.key: chosen, "probabilities": prediction["probabilities"]},
                                             ensure_ascii=False) + "\n")
                continue
            if self.writer is None:
                self._check(record)
                self.columns = [*record, self.key, *[f"p_{n}" for n in self.label_names]]
                self.writer = csv.writer(self.handle)
                self.writer.writerow(self.columns)
            flat = [json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v for v in record.values()]
            self.writer.writerow([*flat, "|".join(chosen) if self.multi else chosen,
                                  *[f"{prediction['probabilities'][n]:.6f}" for n in self.label_names]])

    def _check(self, record: dict) -> None:
        taken = {self.key, "probabilities", *[f"p_{n}" for n in self.label_names]} & set(record)
        if taken:
            raise EmobenchError(f"the input already has a column {sorted(taken)[0]!r}, which the scores would overwrite; "
                                "rename it")


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
    if chunk_size < 1:
        raise EmobenchError(f"{option('chunk_size')} {chunk_size}: expected at least 1")
    if engine not in ("local", "ray"):
        raise EmobenchError(f"{option('engine')} {engine!r}: expected local or ray")
    partial = output_path.with_name(output_path.name + ".partial")
    lock = claim_file(output_path, "scored file")
    started = time.perf_counter()
    try:
        with open(partial, "w", newline="", encoding="utf-8") as handle:
            if engine == "ray":
                count = _score_with_ray(run_or_export, input_path, handle, output_path.suffix.lower(), text_column,
                                        chunk_size, backend, ray_address, ray_workers, encoding, allow_modified)
            else:
                count = _score_locally(run_or_export, input_path, handle, output_path.suffix.lower(), text_column,
                                       chunk_size, backend, progress, encoding, allow_modified)
        os.replace(partial, output_path)
    finally:
        Path(partial).unlink(missing_ok=True)
        lock.release()
    result = ScoringResult(count, time.perf_counter() - started, str(output_path), engine)
    logger.info("scored %d texts in %.1f s (%.0f texts/s) into %s", count, result.seconds, result.texts_per_second or 0,
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


def _score_locally(path, input_path, handle, suffix, text_column, chunk_size, backend, progress, encoding,
                   allow_modified) -> int:
    from tqdm.auto import tqdm

    from .predictor import Predictor

    predictor = Predictor(path, backend, allow_modified)
    writer = _Writer(handle, suffix, predictor.label_names, predictor.multi_label)
    count = 0
    with tqdm(desc="scoring", unit="text", disable=not bars(progress), file=sys.stderr) as bar:
        for chunk in _chunks(_rows(input_path, text_column, encoding), chunk_size):
            texts = [text for _, _, text in chunk]
            writer.write([record for _, record, _ in chunk], predictor.format(texts, predictor.probabilities(texts), False))
            count += len(chunk)
            bar.update(len(chunk))
    return count


class RayScorer:
    """One model per Ray worker: loaded once, then called on batches of rows."""

    def __init__(self, path: str, backend: str, text_column: str, kind: str, allow_modified: bool = False):
        from .predictor import Predictor

        self.predictor = Predictor(path, backend, allow_modified)
        self.text_column, self.kind = text_column, kind

    def __call__(self, batch: dict) -> dict:
        from ..data.readers.common import MAX_TEXT_CHARS

        if self.kind == "jsonl":
            records = [json.loads(line) for line in batch["text"]]
        elif self.kind == "txt":
            records = [{"text": line} for line in batch["text"]]
        else:
            columns = list(batch)
            records = [dict(zip(columns, values)) for values in zip(*(batch[c] for c in columns))]
        texts = [str(r[self.text_column] if self.kind != "txt" else r["text"])[:MAX_TEXT_CHARS] for r in records]
        predictions = self.predictor.format(texts, self.predictor.probabilities(texts), False)
        return {"row": [json.dumps(r, ensure_ascii=False) for r in records],
                "prediction": [json.dumps(p) for p in predictions]}


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Ray retries an unreachable address for minutes; a plain connection attempt says so at once."""
    import socket

    target = address.split("://", 1)[-1]
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms: left to Ray
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise EmobenchError(f"cannot start or reach Ray at {address}: {exc.strerror or exc}") from None


def _score_with_ray(path, input_path, handle, suffix, text_column, chunk_size, backend, address, workers, encoding,
                    allow_modified) -> int:
    """The same scoring on Ray Data: workers read the file and score it with one model each, in
    order-preserving batches; the driver streams the results into the same output as the local engine.
    The file is checked row by row first (exact line numbers for bad rows), so workers get clean input;
    on a cluster, the input must be where the workers can read it."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise EmobenchError(f"{option('engine')} ray needs Ray (pip install 'emobench[ray]')") from None
    from .predictor import Predictor

    labels = Predictor(path, backend, allow_modified)  # validated here, before any cluster work, and for the writer
    for _ in _rows(input_path, text_column, encoding):  # bad rows are errors with their line, before Ray starts
        pass
    if address:
        _check_reachable(address)
    if not ray.is_initialized():
        try:
            # Locally: a CPU per scoring worker, and one more for the tasks that read the file (with every CPU
            # held by a scoring actor the reads would wait for ever).
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False,
                     **({} if address else {"num_cpus": max(workers, 1) + 1}))
        except Exception as exc:  # a wrong address, an unreachable cluster
            raise EmobenchError(f"cannot start or reach Ray{f' at {address}' if address else ''}: {exc}") from None
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    source = str(Path(input_path).resolve())
    suffix_in = Path(input_path).suffix.lower()
    if suffix_in in (".csv", ".tsv"):
        import pyarrow as pa
        import pyarrow.csv as pacsv

        with open(input_path, newline="", encoding=encoding) as handle_in:
            header = next(csv.reader(handle_in, delimiter="\t" if suffix_in == ".tsv" else ","))
        dataset = ray.data.read_csv(
            source, parse_options=pacsv.ParseOptions(delimiter="\t" if suffix_in == ".tsv" else ",", newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in header}, strings_can_be_null=False),
            read_options=pacsv.ReadOptions(encoding=encoding))
        kind = "csv"
    else:
        dataset = ray.data.read_text(source, encoding=encoding).filter(lambda row: bool(row["text"].strip()))
        kind = "jsonl" if suffix_in in (".jsonl", ".ndjson") else "txt"
    scored = dataset.map_batches(RayScorer, fn_constructor_kwargs={"path": str(Path(path).resolve()), "backend": backend,
                                                                   "text_column": text_column, "kind": kind,
                                                                   "allow_modified": allow_modified},
                                 batch_size=chunk_size, concurrency=max(workers, 1), batch_format="numpy")
    writer = _Writer(handle, suffix, labels.label_names, labels.multi_label)
    count = 0
    for batch in scored.iter_batches(batch_format="numpy", batch_size=chunk_size):
        records = [json.loads(r) for r in batch["row"]]
        writer.write(records, [json.loads(p) for p in batch["prediction"]])
        count += len(records)
    return count
