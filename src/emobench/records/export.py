"""The export folder: ``model.onnx`` (and ``model.int8.onnx``), the tokenizer or vocabulary, ``emobench_model.json``
(labels, decision rule, how texts become the graph's inputs), ``export.json`` (the checks it passed, and what
it was exported from) and ``MANIFEST.json``. Everything a service says about the model comes from inside it."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ..errors import RecordError
from ..files import Folder, json_text, write_text_atomic
from .base import AnyDict, Count, Finite, OpenRecord, Record, Share, Task, check, validate
from .model import MODEL_FILE, ModelRecord

EXPORT_FILE = "export.json"


class Check(OpenRecord):
    value: Finite
    passed: bool
    required: float | None = None
    allowed: float | None = None


class ExportScores(OpenRecord):
    accuracy: Share
    macro_f1: Share
    agreement: Share | None = None


class ExportSource(Record):
    """What the export was made from, copied in so the export never needs its run folder."""

    model: str
    dataset: str
    run_name: str
    test_metrics: AnyDict = Field(default_factory=dict)


class ExportRecord(OpenRecord):
    format: int = 2
    run: str
    family: str
    task: Task
    check_split: str
    examples: Count
    scores: dict[str, ExportScores]
    checks: dict[str, Check]
    passed: bool
    export_seconds: Finite = Field(ge=0)
    files: dict[str, Count]
    source: ExportSource | None = None
    quantization: AnyDict | None = None  # how the int8 graph was made (static: calibration texts, operators)

    def write(self, directory: str | Path) -> None:
        write_text_atomic(Path(directory) / EXPORT_FILE, json_text(self.model_dump(mode="json", exclude_none=True)))


def is_export(path: str | Path) -> bool:
    return (Path(path) / EXPORT_FILE).is_file()


def open_export(path: str | Path, allow_modified: bool = False,
                checking: bool = False) -> tuple[Folder, ModelRecord, ExportRecord | None]:
    """An export folder (strict: nothing its manifest does not list), its model description and its checks.
    ``checking``: the unfinished folder of an export being checked (no record of checks yet)."""
    path = Path(path)
    if path.name.endswith(".partial") and not checking:
        raise RecordError(f"{path}: an unfinished export; it cannot be used")
    folder = Folder(path, "export", allow_modified=allow_modified, strict=True, note_unverified=not checking)
    model = ModelRecord.read(folder)
    if checking:
        check(model.onnx is not None, path / MODEL_FILE, "onnx", "no ONNX description")
        return folder, model, None
    record = validate(ExportRecord, folder.read_json(EXPORT_FILE, "export record"), path / EXPORT_FILE)
    check(model.onnx is not None, path / MODEL_FILE, "onnx", "an export's description says how texts become the graph's "
          "inputs; this one does not")
    check(record.passed, path / EXPORT_FILE, "passed", "the export did not pass its checks")
    check(record.task == model.task, path / EXPORT_FILE, "task", f"{record.task!r}, but emobench_model.json says {model.task!r}")
    check(record.family == model.family, path / EXPORT_FILE, "family",
          f"{record.family!r}, but emobench_model.json says {model.family!r}")
    return folder, model, record
