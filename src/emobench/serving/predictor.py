"""Prediction API: load a run (or a saved model directory) once, predict many texts."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..models.base import load_model, predict_proba_batched


class Predictor:
    def __init__(self, run_or_model_dir: str | Path):
        self.model = load_model(run_or_model_dir)
        self.label_names = self.model.label_names
        self.multi_label = self.model.multi_label

    def predict(self, texts: list[str] | str) -> list[dict]:
        """For each text: the predicted label (multi-label models: ``labels``, the label set) and the
        probability of every label."""
        if isinstance(texts, str):
            texts = [texts]
        probs = predict_proba_batched(self.model, list(texts))
        return self.format(list(texts), probs)

    def format(self, texts: list[str], probs: np.ndarray) -> list[dict]:
        decided = self.model.decide(probs)
        out = []
        for text, row, choice in zip(texts, probs, decided):
            item = {"text": text}
            if self.multi_label:
                item["labels"] = [self.label_names[k] for k in np.flatnonzero(choice)]
            else:
                item["label"] = self.label_names[int(choice)]
            item["probabilities"] = {name: float(p) for name, p in zip(self.label_names, row)}
            out.append(item)
        return out


def predict(run_or_model_dir: str | Path, texts: list[str] | str) -> list[dict]:
    return Predictor(run_or_model_dir).predict(texts)
