"""The JSON parts of a training checkpoint (``training/checkpoint.py`` writes the folder): ``state.json`` (the loop's
progress, its epoch history and the schedule) and ``optimizer.json`` (the optimizer state that is not tensors).

Written as plain ``json.dumps`` (no indentation): the bytes are the ones earlier versions wrote, so an unfinished run
(``*.partial``) left by them still resumes."""
from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field

from ..files import parse_json, write_text_atomic
from .base import AnyDict, Count, FileName, Record, validate
from .run import EpochRecord

STATE_FILE, OPTIMIZER_FILE = "state.json", "optimizer.json"


class CheckpointState(Record):
    """Where training stands after ``epoch`` epochs; the defaults are a run that has not started."""

    epoch: Count = 0
    best: float | None = None  # the best epoch's score (validation metric, or minus the training loss)
    best_epoch: Count = 0
    best_file: FileName | None = None  # its weights, beside the checkpoint folders
    bad_epochs: Count = 0  # epochs since the best, for early stopping
    history: list[EpochRecord] = Field(default_factory=list)
    scheduler: AnyDict = Field(default_factory=dict)  # the learning-rate schedule's own state_dict

    def write(self, folder: Path) -> None:
        _write(folder / STATE_FILE, self)

    @classmethod
    def read(cls, folder: Path) -> "CheckpointState":
        return _read(cls, folder / STATE_FILE, "checkpoint state")


class OptimizerState(Record):
    """An optimizer's ``state_dict`` less its tensors (saved as safetensors beside it): the parameter groups and
    each parameter's non-tensor values, keyed by the parameter's id as text."""

    param_groups: list[AnyDict]
    state: dict[str, AnyDict]

    def write(self, folder: Path) -> None:
        _write(folder / OPTIMIZER_FILE, self)

    @classmethod
    def read(cls, folder: Path) -> "OptimizerState":
        return _read(cls, folder / OPTIMIZER_FILE, "optimizer state")


def _write(path: Path, record: Record) -> None:
    # python-mode dump: tuples (Adam's betas) and floats are left to json.dumps, as they always were
    write_text_atomic(path, json.dumps(record.model_dump()))


def _read(cls: type[Record], path: Path, what: str):
    return validate(cls, parse_json(path.read_bytes(), path, what), path)


__all__ = ["CheckpointState", "OptimizerState", "STATE_FILE", "OPTIMIZER_FILE"]
