"""The export folder: ``model.onnx`` (and ``model.int8.onnx``), the tokenizer or vocabulary, ``emobench_model.json``
(labels, decision rule, how texts become the graph's inputs), ``export.json`` (the checks it passed, and what
it was exported from) and ``MANIFEST.json``. Everything a service says about the model comes from inside it."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from ..errors import RecordError
from ..files import json_text, write_text_atomic
from ..manifest import Folder
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

    @model_validator(mode="after")
    def _consistent(self):
        """The checks say what they decided: each verdict follows from its value and limit, the graphs exported have
        their checks and scores, and an export that passed passed every check (one that did not is refused when
        opened)."""
        unknown = [k for k in self.files if k not in ("fp32", "int8")]
        if unknown or "fp32" not in self.files:
            raise ValueError(f"files: {sorted(self.files)}; expected the fp32 graph (and the int8 one)")
        needed = ["fp32_agreement"] + (["int8_accuracy_drop", "int8_macro_f1_drop"] if "int8" in self.files else [])
        missing = [name for name in needed if name not in self.checks]
        if missing:
            raise ValueError(f"checks: no {missing[0]} check, which every export of these graphs passes")
        absent = [kind for kind in ("pytorch", *self.files) if kind not in self.scores]
        if absent:
            raise ValueError(f"scores: no scores of the {absent[0]} model")
        for name, c in self.checks.items():
            if c.required is not None and c.passed != (c.value >= c.required - 1e-12):
                raise ValueError(f"checks.{name}.passed: {c.passed}, but its value {c.value} is "
                                 f"{'below' if c.passed else 'at least'} the required {c.required}")
            if c.allowed is not None and c.passed != (c.value <= c.allowed + 1e-12):
                raise ValueError(f"checks.{name}.passed: {c.passed}, but its value {c.value} is "
                                 f"{'above' if c.passed else 'within'} the allowed {c.allowed}")
        failed = [name for name, c in self.checks.items() if not c.passed]
        if self.passed and failed:
            raise ValueError(f"passed: true, but the check {failed[0]} failed")
        agreement = self.scores["fp32"].agreement
        if agreement is not None and abs(agreement - self.checks["fp32_agreement"].value) > 1e-12:
            raise ValueError(f"checks.fp32_agreement.value: {self.checks['fp32_agreement'].value}, but "
                             f"scores.fp32.agreement is {agreement}")
        return self

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
