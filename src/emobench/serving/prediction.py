"""One text's prediction, as the Predictor returns it; JSON only at the edges (the service, batch scoring, the CLI)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prediction:
    """A text's predicted label (single-label models) or label set (multi-label models: ``labels``, ``label`` is
    None), and every label's probability in the model's label order."""

    text: str
    probabilities: dict[str, float]
    label: str | None = None
    labels: list[str] | None = None

    @property
    def chosen(self) -> str | list[str]:
        """What the model decided: the label, or the label set of a multi-label model."""
        return self.labels if self.labels is not None else self.label

    def dump(self, text: bool = True) -> dict:
        """The JSON object `predict --json` prints (the service and batch scoring send it without the text)."""
        out = {"text": self.text} if text else {}
        if self.labels is not None:
            out["labels"] = list(self.labels)
        else:
            out["label"] = self.label
        out["probabilities"] = dict(self.probabilities)
        return out
