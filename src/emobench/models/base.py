"""The one classifier protocol every model family implements, and the family registry."""
from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any

import numpy as np

from ..data import Split
from ..errors import EmobenchError

MODEL_FILE = "emobench_model.json"


class Classifier:
    """scikit-learn's habit: ``fit``, ``predict_proba``, ``predict``, ``save``, ``load``.

    A family subclasses this with a ``Params`` dataclass of hyper-parameters, and implements
    ``fit``, ``predict_proba``, ``_save_weights`` and ``_load_weights``.
    """

    family: str = ""
    Params: type = object

    def __init__(self, params=None, label_names: list[str] | None = None):
        self.params = params if params is not None else self.Params()
        self.label_names = list(label_names or [])
        self.history: list[dict] = []  # per-epoch records for families that train in epochs
        self.info: dict = {}  # facts worth reporting (vocabulary coverage, parameter count, ...)

    # -- training and inference
    def fit(self, train: Split, validation: Split | None, label_names: list[str], *, seed: int = 0,
            work_dir: Path | None = None, resume: bool = False, progress: bool = True) -> "Classifier":
        raise NotImplementedError

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def predict(self, texts: list[str]) -> np.ndarray:
        return self.predict_proba(texts).argmax(axis=1)

    def num_parameters(self) -> int:
        return int(self.info.get("parameters", 0))

    # -- persistence
    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self._save_weights(directory)
        meta = {"family": self.family, "params": dataclasses.asdict(self.params), "label_names": self.label_names,
                "info": self.info}
        (directory / MODEL_FILE).write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: str | Path) -> "Classifier":
        directory = Path(directory)
        meta = json.loads((directory / MODEL_FILE).read_text())
        model = cls(params_from_dict(cls.Params, meta["params"]), meta["label_names"])
        model.info = meta.get("info", {})
        model._load_weights(directory)
        return model

    def _save_weights(self, directory: Path) -> None:
        raise NotImplementedError

    def _load_weights(self, directory: Path) -> None:
        raise NotImplementedError


def params_from_dict(params_type: type, values: dict) -> Any:
    """Build a Params dataclass from a dict, converting strings (from the command line) to field types."""
    fields = {f.name: f for f in dataclasses.fields(params_type)}
    hints = typing.get_type_hints(params_type)
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            raise EmobenchError(
                f"unknown parameter {key!r} for {params_type.__qualname__}; expected one of {', '.join(fields)}"
            )
        kwargs[key] = _coerce(value, hints[key], key)
    return params_type(**kwargs)


def _coerce(value, hint, key):
    if not isinstance(value, str):
        return value
    origin = typing.get_origin(hint)
    options = typing.get_args(hint) if origin in (typing.Union, types.UnionType) else (hint,)
    if type(None) in options and value.lower() in ("none", "null", ""):
        return None
    for option in options:
        try:
            if option is bool:
                if value.lower() in ("true", "1", "yes"):
                    return True
                if value.lower() in ("false", "0", "no"):
                    return False
                continue
            if option in (int, float):
                return option(value)
            if option is str:
                return value
        except ValueError:
            continue
    raise EmobenchError(f"parameter {key!r}: cannot read {value!r} as {hint}")


# -- registry: a model name maps to a family class and preset parameters ------------------------

_REGISTRY: dict[str, tuple[type, dict, str]] = {}
_FAMILIES: dict[str, type] = {}


def register_family(cls: type) -> type:
    _FAMILIES[cls.family] = cls
    return cls


def register_model(name: str, cls: type, description: str, **defaults) -> None:
    _REGISTRY[name] = (cls, defaults, description)


def available_models() -> dict[str, str]:
    _import_families()
    return {name: description for name, (_, _, description) in _REGISTRY.items()}


def resolve_params(name: str, overrides: dict | None = None, preset: str | None = None):
    """The full Params of a model name: family defaults < name defaults < preset < overrides."""
    _import_families()
    if name.startswith("hf:"):
        cls, defaults = _FAMILIES["transformer"], {"pretrained": name[3:]}
    elif name in _REGISTRY:
        cls, defaults, _ = _REGISTRY[name]
    else:
        raise EmobenchError(
            f"unknown model {name!r}; expected one of {', '.join(_REGISTRY)}, or hf:<hub id or model directory>"
        )
    presets = getattr(cls, "PRESETS", {})
    if preset and preset not in presets:
        raise EmobenchError(f"model {name!r} has no preset {preset!r}; presets: {', '.join(presets) or 'none'}")
    merged = {**defaults, **(presets.get(preset, {}) if preset else {}), **(overrides or {})}
    return cls, params_from_dict(cls.Params, merged)


def build_model(name: str, overrides: dict | None = None, preset: str | None = None) -> Classifier:
    cls, params = resolve_params(name, overrides, preset)
    return cls(params)


def load_model(directory: str | Path) -> Classifier:
    directory = Path(directory)
    model_file = directory / MODEL_FILE
    if not model_file.is_file() and (directory / "model" / MODEL_FILE).is_file():
        directory = directory / "model"  # a run directory
        model_file = directory / MODEL_FILE
    if not model_file.is_file():
        raise EmobenchError(f"{directory}: no saved emobench model ({MODEL_FILE} missing)")
    _import_families()
    family = json.loads(model_file.read_text())["family"]
    if family not in _FAMILIES:
        raise EmobenchError(f"{model_file}: unknown model family {family!r}")
    return _FAMILIES[family].load(directory)


def _import_families() -> None:
    from . import lstm, tfidf, transformer  # noqa: F401  (registration happens on import)

