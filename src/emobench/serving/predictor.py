"""Prediction API: load a run (or a saved model directory) once, predict many texts."""
from __future__ import annotations

from pathlib import Path

from ..models.base import load_model, predict_proba_batched


class Predictor:
    def __init__(self, run_or_model_dir: str | Path):
        self.model = load_model(run_or_model_dir)
        self.label_names = self.model.label_names

    def predict(self, texts: list[str] | str) -> list[dict]:
        """For each text: the predicted label and the probability of every class."""
        if isinstance(texts, str):
            texts = [texts]
        probs = predict_proba_batched(self.model, list(texts))
        return [
            {
                "text": text,
                "label": self.label_names[int(row.argmax())],
                "probabilities": {name: float(p) for name, p in zip(self.label_names, row)},
            }
            for text, row in zip(texts, probs)
        ]


def predict(run_or_model_dir: str | Path, texts: list[str] | str) -> list[dict]:
    return Predictor(run_or_model_dir).predict(texts)
