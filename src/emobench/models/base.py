"""The one classifier protocol every model family implements (``fit``, ``predict_proba``, ``predict``,
``save``, ``load``), and the scoring every model shares with an ONNX export (:class:`Scorer`)."""
from __future__ import annotations

import dataclasses
import json
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from ..data import Split
from ..errors import EmobenchError, EmobenchWarning, RecordError
from ..files import json_text
from ..manifest import Folder
from ..params import params_from_dict
from ..probability import probabilities
from ..records.base import check
from ..records.model import (MODEL_FILE, Decision, ModelRecord, TokenizerInputs, VocabularyInputs, new_record, open_model,
                             save_model)
from ..records.run import EpochRecord
from .registry import backend_of, family_class
from .soft_targets import SoftTargets, check_soft_targets  # noqa: F401  (importable from here)

LABELS_KEY = "emobench.labels"  # weights files carry the label names they were trained with


class Scorer:
    """Logits -> probabilities (logits divided by the temperature, then a softmax, or a sigmoid per label for
    multi-label models) -> decisions (the most probable label, or the tuned thresholds). A subclass computes
    ``logits``; a classifier and an ONNX export of it score alike through this code."""

    family: str = ""
    label_names: list[str]
    multi_label: bool = False
    temperature: float = 1.0
    decision: Decision | None  # multi-label: the thresholds

    def logits(self, texts: list[str]) -> np.ndarray:
        """Scores before the softmax / sigmoid (and before the temperature)."""
        raise NotImplementedError

    @property
    def backend(self) -> str:
        return backend_of(self.family)

    @property
    def precision(self) -> str:
        """The number format its weights are scored in: "fp32", or "int8" for a quantised export."""
        return "fp32"

    def explanation_gap(self) -> str | None:
        """None where ``attributions`` answers (word attributions, as `emobench explain` gives), else why not."""
        return None

    def attributions(self, text: str, label: int) -> tuple[list[str], list[float], str]:
        """(tokens, each token's attribution toward ``label``, method) -- see models/explain.py. By default occlusion
        (each word left out in turn, by the scorer's own predictions: an ONNX export, a stack, static embeddings);
        families with a sharper method (gradients, linear weights) override it."""
        from .explain import occlusion

        return occlusion(self, text, label)

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        return probabilities(logits, self.multi_label)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return self.probabilities(self.logits(texts) / self.temperature)

    def decide(self, probs: np.ndarray) -> np.ndarray:
        """Label ids (single-label) or a 0/1 matrix (multi-label, through the tuned thresholds)."""
        if not self.multi_label:
            return probs.argmax(axis=1)
        from ..evaluation.thresholds import decide

        return decide(probs, np.asarray(self.decision.thresholds), self.decision.at_least_one)

    def predict(self, texts: list[str]) -> np.ndarray:
        return self.decide(self.predict_proba(texts))

    def logits_batched(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        """Logits of many texts, ``batch_size`` at a time (bounded memory)."""
        if not texts:
            return np.zeros((0, len(self.label_names)))
        return np.concatenate([self.logits(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)])

    def predict_proba_batched(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        return self.probabilities(self.logits_batched(list(texts), batch_size) / self.temperature)

    def truth(self, split: Split) -> np.ndarray:
        """The split's labels as the model's outputs are scored against them: label ids, or (multi-label) a
        0/1 matrix over the model's labels."""
        return split.label_matrix(len(self.label_names)) if self.multi_label else np.asarray(split.labels)

    def _apply(self, record: ModelRecord) -> None:
        self.label_names = list(record.label_names)
        self.multi_label = record.multi_label
        self.temperature = record.temperature
        self.decision = record.decision
        self.info = dict(record.info)


class Classifier(Scorer):
    """scikit-learn's habit: ``fit``, ``predict_proba``, ``predict``, ``save``, ``load``.

    A family subclasses this with a ``Params`` dataclass of hyper-parameters, and implements ``_fit``,
    ``logits``, ``_save_weights`` and ``_load_weights``. Probabilities use a temperature fitted on validation;
    multi-label models (trained on a split whose labels are lists) decide with thresholds tuned on validation.
    """

    Params: type = object
    PRESETS: dict[str, dict] = {}
    SEARCH_SPACE: dict[str, list] = {}  # default space of `emobench tune`
    # What `export --quantize int8` quantises: where the family's weights are (its cost and its size)
    INT8_OPERATORS: tuple[str, ...] = ("MatMul", "Gemm")

    def __init__(self, params=None, label_names: list[str] | None = None):
        self.params = params if params is not None else self.Params()
        self.label_names = list(label_names or [])
        self.multi_label = False
        self.temperature = 1.0  # fitted on validation (models/temperature.py)
        self.decision: Decision | None = None  # multi-label: thresholds (see evaluation/thresholds.py)
        self.history: list[EpochRecord] = []  # for families that train in epochs
        self.info: dict = {}  # facts worth reporting (vocabulary coverage, parameter count, ...)

    # -- training
    def fit(self, train: Split, validation: Split | None, label_names: list[str], *, seed: int = 0,
            work_dir: Path | None = None, resume: bool = False, progress: bool = True,
            on_epoch: Callable[[EpochRecord], None] | None = None, unlabeled: list[str] | None = None,
            descriptions: list[str] | None = None, soft_targets=None, soft_weight: float = 0.5) -> "Classifier":
        """Train on ``train`` (choosing epochs, temperature, thresholds ... on ``validation`` only). Families
        trained in epochs checkpoint into ``work_dir``, continue from it with ``resume``, and call
        ``on_epoch`` with each epoch's record (it may raise to stop training, e.g. to prune a trial).
        ``unlabeled`` (texts without labels) and ``descriptions`` (one per label, in label order) go to the families
        whose registry entry says they learn from them; any other family refuses them, as it refuses an empty
        ``train`` unless it can learn from no labels (models/registry.py FIT_INPUTS). ``soft_targets`` (a teacher's
        probabilities, one row per training text, then per ``unlabeled`` text, which are then the teacher's texts)
        weigh ``soft_weight`` in the loss on labelled texts (see :class:`SoftTargets`)."""
        if soft_targets is not None:
            soft_targets = self._soft_inputs(train, label_names, unlabeled, soft_targets, soft_weight)
            unlabeled = None
        extra = self._fit_inputs(train, label_names, unlabeled, descriptions)
        extra.update({"soft_targets": soft_targets} if soft_targets is not None else {})
        self.label_names = list(label_names)
        self.multi_label = train.multi_label
        self.temperature = 1.0
        if validation is None or not len(validation):
            skipped = "temperature scaling and threshold tuning are" if train.multi_label else "temperature scaling is"
            message = (f"no validation split: {skipped} skipped (probabilities are the raw "
                       f"{'sigmoid' if train.multi_label else 'softmax'}{', thresholds 0.5' if train.multi_label else ''}), "
                       "and nothing is chosen on held-out data")
            warnings.warn(message, EmobenchWarning, stacklevel=2)
        self._fit(train, validation, seed=seed, work_dir=work_dir, resume=resume, progress=progress, on_epoch=on_epoch,
                  **extra)
        if validation is None or not len(validation):
            self.info["warnings"] = [*self.info.get("warnings", []), message]  # recorded with the model
        started = time.perf_counter()
        self._fit_temperature(validation)
        if self.multi_label:
            self._fit_thresholds(train, validation)
        # scoring the validation split for the temperature (and thresholds): part of training, but reported apart,
        # since libraries that do not calibrate do not spend it
        self.info["calibration_seconds"] = round(time.perf_counter() - started, 3)
        return self

    def _fit(self, train: Split, validation: Split | None, **options) -> None:
        raise NotImplementedError

    def _fit_inputs(self, train: Split, label_names: list[str], unlabeled, descriptions) -> dict:
        """The keyword inputs this family's ``_fit`` takes beyond the labelled splits; refuses what it does not learn
        from."""
        from .registry import refuse_input, takes

        extra = {}
        if not len(train) and not takes(self.family, "no_labels"):
            raise refuse_input(self.family, "no_labels")
        if unlabeled is not None:
            if not takes(self.family, "unlabeled"):
                raise refuse_input(self.family, "unlabeled")
            extra["unlabeled"] = list(unlabeled)
        if descriptions is not None:
            if not takes(self.family, "descriptions"):
                raise refuse_input(self.family, "descriptions")
            if len(descriptions) != len(label_names):
                raise EmobenchError(f"{len(descriptions)} label descriptions for {len(label_names)} labels; expected "
                                    "one per label, in label order")
            extra["descriptions"] = list(descriptions)
        return extra

    def _soft_inputs(self, train: Split, label_names, unlabeled, probs, weight) -> SoftTargets:
        from .registry import refuse_input, takes

        if not takes(self.family, "soft_targets"):
            raise refuse_input(self.family, "soft_targets")
        texts = list(unlabeled or [])
        probs = check_soft_targets(probs, len(train) + len(texts), len(label_names), train.multi_label, weight)
        return SoftTargets(probs, texts, float(weight))

    def _fit_temperature(self, validation: Split | None) -> None:
        from .temperature import bounded, fit_temperature, nll

        if validation is None or not len(validation):
            return
        logits = bounded(self.validation_logits(validation))
        truth = self.truth(validation)
        self.temperature = fit_temperature(logits, truth)
        self.info["temperature"] = self.temperature
        self.info["validation_nll"] = {"before": nll(logits, truth, 1.0), "after": nll(logits, truth, self.temperature)}

    def validation_logits(self, validation: Split) -> np.ndarray:
        """The validation split's logits for calibration (a family that scored it while training may reuse them)."""
        return self.logits_batched(validation.texts)

    def _fit_thresholds(self, train: Split, validation: Split | None) -> None:
        from ..evaluation.thresholds import tune_thresholds

        if validation is None or not len(validation):
            self.decision = self._default_decision(train)
            return
        self.decision = tune_thresholds(self.predict_proba_batched(validation.texts), self.truth(validation),
                                        self._default_decision(train).at_least_one)

    def _default_decision(self, train: Split) -> Decision:
        """Every label at 0.5 (at least one label per text where every training text has one)."""
        return Decision(kind="default", thresholds=[0.5] * len(self.label_names),
                        at_least_one=all(len(labels) for labels in train.labels))

    def targets(self, split: Split):
        """What a loss is computed against: label ids, or (multi-label) a float 0/1 matrix."""
        return self.truth(split).astype(np.float32) if self.multi_label else split.labels

    def num_parameters(self) -> int:
        return int(self.info.get("parameters", 0))

    @classmethod
    def describe(cls, info: dict) -> list[str]:
        """Facts about a trained model (its ``info``) worth a line in a summary (the LSTM's GloVe coverage, ...)."""
        return []

    # -- persistence
    def record(self) -> ModelRecord:
        return new_record(self.family, dataclasses.asdict(self.params), self.label_names, self.multi_label,
                          self.temperature, self.decision, json.loads(json_text(self.info)))

    def save(self, directory: str | Path) -> None:
        """A data-only model folder: the family's weights, ``emobench_model.json``, then ``MANIFEST.json``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        record = self.record()
        self._save_weights(directory)
        save_model(directory, record)

    @classmethod
    def load(cls, directory: str | Path | Folder, allow_modified: bool = False) -> "Classifier":
        folder = directory if isinstance(directory, Folder) else open_model(directory, allow_modified)[0]
        record = ModelRecord.read(folder)
        where = folder.root / MODEL_FILE
        if record.family != cls.family:
            raise RecordError(f"{where}: field family: {record.family!r}, but this is the {cls.family} family's loader")
        if record.onnx is not None:
            raise RecordError(f"{folder.root}: an ONNX export; load it with emobench.Predictor (the onnx backend)")
        try:
            params = params_from_dict(cls.Params, record.params)
        except EmobenchError as exc:
            raise RecordError(f"{where}: field params: {exc}") from None
        model = cls(params, record.label_names)
        model._apply(record)
        model._load_weights(folder, record)
        return model

    def _save_weights(self, directory: Path) -> None:
        raise NotImplementedError

    def _load_weights(self, folder: Folder, record: ModelRecord) -> None:
        raise NotImplementedError

    def weights_metadata(self) -> dict[str, str]:
        """Written into a safetensors file, so the weights say which labels their outputs are."""
        return {LABELS_KEY: json.dumps(self.label_names, ensure_ascii=False)}

    # -- export
    def onnx_graph(self, directory: Path) -> OnnxGraph:
        """What ONNX export traces; files the exported model needs are written to ``directory``. Families that
        cannot be exported say why (``onnx_refusal``)."""
        raise EmobenchError(self.onnx_refusal())

    @classmethod
    def onnx_refusal(cls) -> str | None:
        """Why the family cannot be exported to ONNX (None: it can), asked before any data is read."""
        return f"the {cls.family} family cannot be exported to ONNX" if cls.onnx_graph is Classifier.onnx_graph else None


@dataclasses.dataclass
class OnnxGraph:
    """A family's network as ONNX export traces it: ``module`` (positional ``inputs`` -> logits), an ``example``
    batch (by input name), the ``dynamic_axes`` of each input, and ``preprocess``: how texts become the inputs
    without torch (recorded in the export's description)."""

    module: object  # a torch module: this file is also the base of the families without torch
    inputs: list[str]
    example: dict
    dynamic_axes: dict[str, dict[int, str]]
    preprocess: TokenizerInputs | VocabularyInputs

    @property
    def source(self) -> str:
        """The file the inputs are made with (the tokenizer or the vocabulary), written beside the graph."""
        prep = self.preprocess
        return prep.tokenizer if isinstance(prep, TokenizerInputs) else prep.vocabulary


def check_weights_labels(record: ModelRecord, outputs: int, path: Path, metadata: dict | None) -> None:
    """The weights' output count (and, when the weights name them, their labels in order) must be the record's."""
    record.check_outputs(outputs, path)
    saved = (metadata or {}).get(LABELS_KEY)
    if saved is not None:
        try:
            names = json.loads(saved)
        except ValueError:
            names = None
        check(names == record.label_names, path.parent / MODEL_FILE, "label_names",
              f"{record.label_names} differ from the labels the weights were trained with ({names}, in {path.name})")


def safetensors_metadata(path: Path) -> dict | None:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="numpy") as handle:
            return handle.metadata()
    except Exception:  # unreadable: the caller's read reports it
        return None


class PositionalInputs:
    """Wraps a module called with keyword inputs so that ONNX export can call it positionally."""

    def __new__(cls, module, names: list[str]):
        import torch

        class _Positional(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = module

            def forward(self, *inputs):
                return self.inner(**dict(zip(names, inputs)))

        return _Positional()




def open_model_folder(path: str | Path, allow_modified: bool = False) -> Folder:
    """The model folder of a run directory (the run's manifest checked first: it pins the model's), or the
    folder itself if it is a saved model."""
    path = Path(path)
    if not path.exists():
        raise RecordError(f"{path}: no such run or model directory")
    if path.name.endswith(".partial") or path.parent.name.endswith(".partial"):
        raise RecordError(f"{path}: belongs to an unfinished run; resume it first (`emobench train --resume`)")
    if not (path / MODEL_FILE).is_file() and (path / "model" / MODEL_FILE).is_file():
        run = Folder(path, "run", allow_modified)
        return run.subfolder("model", "model", strict=True)
    if not (path / MODEL_FILE).is_file():
        raise RecordError(f"{path}: no saved emobench model ({MODEL_FILE} missing)")
    return Folder(path, "model", allow_modified, strict=True)


def load_model(path: str | Path, allow_modified: bool = False) -> Classifier:
    """The classifier saved in a model folder or run directory, after checking every file it reads."""
    folder = open_model_folder(path, allow_modified)
    record = ModelRecord.read(folder)
    try:
        cls = family_class(record.family)
    except EmobenchError as exc:
        raise RecordError(f"{folder.root / MODEL_FILE}: field family: {exc}") from None
    try:
        return cls.load(folder)
    except EmobenchError:
        raise
    except Exception as exc:  # a corrupt weights file, whatever library reads it
        raise RecordError(f"{folder.root}: the saved model cannot be loaded ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}); it is truncated or corrupt") from None
