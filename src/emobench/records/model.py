"""The model folder: ``emobench_model.json`` (family, parameters, labels, task, temperature, decision rule and,
in an export, how texts become the ONNX graph's inputs) beside the family's weights, and ``MANIFEST.json``.

:class:`ModelRecord` validates every field before anything is used; the family checks the number of labels
against its weights (:meth:`ModelRecord.check_outputs`), the ONNX model against its graph.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from ..errors import RecordError
from ..files import json_text, write_text_atomic
from ..manifest import Folder, write_manifest
from .base import (FORMAT, AnyDict, Count, FileName, LabelNames, Name, OpenRecord, Record, Share, Task, check, validate)
from ..evaluation.thresholds import Decision

MODEL_FILE = "emobench_model.json"
MAX_VOCABULARY_BYTES = 256 << 20  # an LSTM's vocab.json
MAX_TFIDF_VOCABULARY_BYTES = 2 << 30  # a TF-IDF model's n-grams (character n-grams of a large corpus are many)
MAX_TOKENIZER_BYTES = 256 << 20  # a tokenizers tokenizer.json
# Fitted temperatures lie in exp(-3)..exp(3) (models/temperature.py); outside these bounds a value was edited,
# and a tiny one (1e-320) would turn every probability into a division by almost zero.
TEMPERATURE_RANGE = (1e-2, 1e2)
GRAPH_INPUTS = ("input_ids", "token_type_ids", "attention_mask", "lengths")


class TokenizerInputs(Record):
    kind: Literal["tokenizer"]
    tokenizer: FileName
    max_length: int = Field(ge=1)
    pad_values: dict[str, int]
    left: bool


class VocabularyInputs(Record):
    kind: Literal["vocabulary"]
    vocabulary: FileName
    pad_values: dict[str, int]
    left: bool
    keep_end: bool = False
    length: int | None = Field(default=None, ge=1)


class OnnxSpec(Record):
    file: FileName
    files: dict[Literal["fp32", "int8"], FileName] = Field(min_length=1)
    inputs: list[Literal[GRAPH_INPUTS]] = Field(min_length=1)
    preprocess: Annotated[Union[TokenizerInputs, VocabularyInputs], Field(discriminator="kind")]
    opset: int = Field(ge=7)
    digests: dict[str, str] | None = None  # sha256 of the tokenizer or vocabulary the graph was exported with
    export_id: str | None = None  # also in the graphs' metadata: a graph from another export is recognised

    @model_validator(mode="after")
    def _consistent(self):
        if self.file not in self.files.values():
            raise ValueError(f"file: {self.file!r} is none of the exported files ({', '.join(self.files.values())})")
        if "input_ids" not in self.inputs:
            raise ValueError("inputs: the graph needs input_ids")
        padded = [name for name in self.inputs if name not in ("attention_mask", "lengths")]
        missing = [name for name in padded if name not in self.preprocess.pad_values]
        if missing:
            raise ValueError(f"preprocess.pad_values: no pad value for {', '.join(missing)}")
        prep = self.preprocess
        if isinstance(prep, VocabularyInputs) and prep.left and prep.length is None:
            raise ValueError("preprocess.length: a fixed-length (left-padded) model needs its length")
        return self


class ModelRecord(Record):
    format: Literal[2, 3]
    family: Name
    params: AnyDict
    label_names: LabelNames
    task: Task
    temperature: float
    decision: Decision | None = None
    info: AnyDict = Field(default_factory=dict)
    onnx: OnnxSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_decision(cls, values):
        if isinstance(values, dict) and values.get("decision") == {}:  # single-label models save an empty rule
            values = {**values, "decision": None}
        return values

    @model_validator(mode="after")
    def _consistent(self):
        low, high = TEMPERATURE_RANGE
        if not (math.isfinite(self.temperature) and low <= self.temperature <= high):
            raise ValueError(f"temperature: {self.temperature!r}, expected a finite number between {low} and {high} "
                             "(fitted temperatures lie in 0.05..20)")
        if self.task == "multi_label":
            if self.decision is None:
                raise ValueError("decision: a multi-label model needs its thresholds")
            if len(self.decision.thresholds) != len(self.label_names):
                raise ValueError(f"decision.thresholds: {len(self.decision.thresholds)} thresholds for "
                                 f"{len(self.label_names)} labels; expected one per label")
        elif self.decision is not None:
            raise ValueError("decision: a single-label model decides by the most probable label, without thresholds")
        return self

    @property
    def multi_label(self) -> bool:
        return self.task == "multi_label"

    # ------------------------------------------------------------------ files
    @classmethod
    def read(cls, folder: Folder) -> "ModelRecord":
        path = folder.root / MODEL_FILE
        pickles = sorted(p.name for p in folder.root.iterdir() if p.suffix in (".pkl", ".pickle"))
        if pickles:  # emobench 0.1 pickled some objects; unpickling runs whatever code the file names
            raise RecordError(f"{folder.root / pickles[0]}: this model was saved by emobench 0.1 with pickle, and loading a "
                              "pickle can run arbitrary code, so emobench refuses it; retrain the run with this version "
                              "(its models are data only)")
        data = folder.read_json(MODEL_FILE, "model description")
        if isinstance(data, dict) and data.get("format") == 1:
            raise RecordError(f"{path}: a model saved by emobench 0.1 (pickled weights); retrain it with this version")
        return validate(cls, data, path)

    def write(self, directory: str | Path) -> None:
        write_text_atomic(Path(directory) / MODEL_FILE, json_text(self.dump()))

    def check_outputs(self, outputs: int, source: str | Path) -> None:
        """The number of label names must be the number of outputs the weights (or graph) ``source`` compute."""
        source = Path(source)
        check(outputs == len(self.label_names), source.parent / MODEL_FILE, "label_names",
              f"{len(self.label_names)} label names, but the model computes {outputs} outputs ({source.name})")


def open_model(path: str | Path, allow_modified: bool = False, note_unverified: bool = True) -> tuple[Folder, ModelRecord]:
    """A model folder (strict: no file its manifest does not list) and its validated description."""
    folder = Folder(path, "model", allow_modified=allow_modified, strict=True, note_unverified=note_unverified)
    return folder, ModelRecord.read(folder)


def save_model(directory: str | Path, record: ModelRecord) -> None:
    """The description, then the manifest over everything the family wrote (last: the folder is complete)."""
    record.write(directory)
    write_manifest(directory)


def new_record(family: str, params: dict, label_names: list[str], multi_label: bool, temperature: float,
               decision: Decision | None, info: dict) -> ModelRecord:
    return validate(ModelRecord, {"format": FORMAT, "family": family, "params": params, "label_names": list(label_names),
                                  "task": "multi_label" if multi_label else "single_label",
                                  "temperature": float(temperature), "decision": decision, "info": info},
                    f"the model being saved ({family})")


__all__ = ["MODEL_FILE", "ModelRecord", "OnnxSpec", "Decision", "open_model", "save_model", "new_record", "Count"]


# ---------------------------------------------------------------- the families' own files


class LstmVocabulary(Record):
    """``vocab.json`` of an LSTM (and of its ONNX export): the vocabulary in id order and the fixed length."""

    words: list[str] = Field(min_length=2)
    length: int = Field(ge=1)

    @model_validator(mode="after")
    def _unique(self):
        if len(set(self.words)) != len(self.words):
            raise ValueError("words: a word appears twice; ids would be ambiguous")
        if self.words[:2] != ["<pad>", "<unk>"]:
            raise ValueError("words: expected '<pad>' and '<unk>' first (ids 0 and 1)")
        return self

    def write(self, directory: str | Path, name: str) -> None:
        _write_compact(Path(directory) / name, self)

    @classmethod
    def read(cls, folder: Folder, name: str) -> "LstmVocabulary":
        """From a model or export folder, validated."""
        return validate(cls, folder.read_json(name, "LSTM vocabulary", MAX_VOCABULARY_BYTES), folder.root / name)


class TfidfVocabulary(Record):
    """``tfidf_vocabulary.json``: the classifier kind and each vectorizer's terms in column order."""

    kind: Literal["svm", "logreg"]
    vocabularies: dict[Literal["word", "char"], list[str]]

    @model_validator(mode="after")
    def _unique(self):
        for name, terms in self.vocabularies.items():
            if len(set(terms)) != len(terms):
                raise ValueError(f"vocabularies.{name}: a term appears twice; columns would be ambiguous")
        return self

    def write(self, directory: str | Path, name: str) -> None:
        _write_compact(Path(directory) / name, self)

    @classmethod
    def read(cls, folder: Folder, name: str) -> "TfidfVocabulary":
        data = folder.read_json(name, "TF-IDF vocabulary", MAX_TFIDF_VOCABULARY_BYTES)
        return validate(cls, data, folder.root / name)


def _write_compact(path: Path, record: Record) -> None:
    # one line, no indentation: a vocabulary is large, and these are the bytes the families have always written
    write_text_atomic(path, json.dumps(record.model_dump(), ensure_ascii=False))


def check_tokenizer_json(folder: Folder, name: str = "tokenizer.json", rows: int | None = None) -> dict:
    """A tokenizers ``tokenizer.json``, bounded and shaped like one, before a library parses it; with ``rows``, every id
    it gives must be a row of the embeddings (an id past them fails at the first prediction, in the library)."""
    data = folder.read_json(name, "tokenizer", MAX_TOKENIZER_BYTES)
    where = folder.root / name
    ids = tokenizer_ids(data, where)
    if rows is not None and ids and max(ids) >= rows:
        raise RecordError(f"{where}: field model.vocab: token id {max(ids)}, but the model embeds {rows} tokens (ids 0 to "
                          f"{rows - 1}); the tokenizer is not the model's")
    return data


def tokenizer_ids(data, where) -> list[int]:
    """Every token id a tokenizers ``tokenizer.json`` can give (its vocabulary's and its added tokens')."""
    model = data.get("model") if isinstance(data, dict) else None
    check(isinstance(model, dict), where, "model", "expected a tokenizers tokenizer (an object with a model)")
    vocab = model.get("vocab")
    ids: list = []
    if isinstance(vocab, dict):
        ids = list(vocab.values())
    elif isinstance(vocab, list):  # Unigram: the ids are the positions
        ids = [len(vocab) - 1] if vocab else []
    else:
        check(vocab is None, where, "model.vocab", "expected the tokens and their ids")
    added = data.get("added_tokens") or []
    check(isinstance(added, list), where, "added_tokens", "expected a list of tokens")
    extra = [token.get("id") if isinstance(token, dict) else token for token in added]
    for field, given in (("model.vocab", ids), ("added_tokens", extra)):
        bad = [i for i in given if isinstance(i, bool) or not isinstance(i, int) or i < 0][:1]  # None is an id too
        check(not bad, where, field, f"id {bad[0]!r}; expected integers >= 0" if bad else "")
    return ids + extra
