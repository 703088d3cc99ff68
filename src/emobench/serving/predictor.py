"""Prediction API: load a run, a saved model or an ONNX export once, predict many texts."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import EmobenchError
from ..models.base import predict_proba_batched

BACKENDS = ("auto", "torch", "onnx")


def load_backend(path: str | Path, backend: str = "auto"):
    """The model behind ``path``: an ONNX export (``emobench export``) runs on ONNX Runtime, anything else
    on its own family's code (PyTorch or scikit-learn)."""
    from ..models.base import load_model
    from .onnx_model import OnnxModel, is_export

    if backend not in BACKENDS:
        raise EmobenchError(f"--backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    path = Path(path)
    if str(path).endswith(".partial"):
        raise EmobenchError(f"{path}: an unfinished run or export; it cannot be used")
    exported = path.is_dir() and is_export(path)
    if backend == "onnx" and not exported:
        raise EmobenchError(f"{path}: not an ONNX export (no export.json); make one with `emobench export {path}`")
    if backend == "torch" and exported:
        raise EmobenchError(f"{path}: an ONNX export has no PyTorch weights; use --backend onnx, or the run directory")
    return OnnxModel(path) if exported else load_model(path)


class Predictor:
    def __init__(self, run_or_model_dir: str | Path, backend: str = "auto"):
        self.model = load_backend(run_or_model_dir, backend)
        self.backend = getattr(self.model, "backend", "torch" if self.model.family != "tfidf" else "scikit-learn")
        self.label_names = self.model.label_names
        self.multi_label = self.model.multi_label

    def probabilities(self, texts: list[str]) -> np.ndarray:
        return predict_proba_batched(self.model, list(texts))

    def predict(self, texts: list[str] | str) -> list[dict]:
        """For each text: the predicted label (multi-label models: ``labels``, the label set) and the
        probability of every label."""
        if isinstance(texts, str):
            texts = [texts]
        return self.format(list(texts), self.probabilities(texts))

    def format(self, texts: list[str], probs: np.ndarray, include_text: bool = True) -> list[dict]:
        decided = self.model.decide(probs)
        out = []
        for text, row, choice in zip(texts, probs, decided):
            item = {"text": text} if include_text else {}
            if self.multi_label:
                item["labels"] = [self.label_names[k] for k in np.flatnonzero(choice)]
            else:
                item["label"] = self.label_names[int(choice)]
            item["probabilities"] = {name: float(p) for name, p in zip(self.label_names, row)}
            out.append(item)
        return out


def predict(run_or_model_dir: str | Path, texts: list[str] | str, backend: str = "auto") -> list[dict]:
    return Predictor(run_or_model_dir, backend).predict(texts)
