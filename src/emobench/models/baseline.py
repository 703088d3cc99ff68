"""Baselines: what a model must beat to have learnt anything. ``majority`` always answers the most frequent training
label (multi-label: each label's training share, decided by thresholds tuned on validation like any model's);
``stratified`` draws a label at random with the training shares (multi-label: each label independently), as
scikit-learn's DummyClassifier does, but the draw is seeded by the text itself, so a text gets the same answer
alone or in any batch. Saved as the label shares (safetensors) and the seed."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ..data import Split
from ..errors import RecordError
from ..files import read_tensors
from ..manifest import Folder
from ..records.model import ModelRecord
from .base import Classifier, check_weights_labels, safetensors_metadata

WEIGHTS = "baseline.safetensors"
DRAWN = 5.0  # the drawn label's logit above the others (temperature scaling makes the probabilities honest)


@dataclass
class BaselineParams:
    strategy: Literal["majority", "stratified"] = "majority"


class BaselineClassifier(Classifier):
    family = "baseline"
    Params = BaselineParams

    def explanation_gap(self) -> str | None:
        return "the baseline family gives no word attributions (its answer does not depend on the words)"

    def _fit(self, train: Split, validation: Split | None, *, seed: int = 0, **options) -> None:
        counts = train.label_matrix(len(self.label_names)).sum(axis=0).astype(np.float64)
        self.shares = counts / max(len(train), 1) if self.multi_label else counts / counts.sum()
        self.seed = int(seed)
        self.info = {"parameters": 0, "seed": self.seed, "strategy": self.params.strategy}
        if not self.multi_label and self.params.strategy == "majority":
            self._break_tie(counts, validation)

    def _break_tie(self, counts: np.ndarray, validation: Split | None) -> None:
        """On a class-balanced subsample every label is "the most frequent": argmax would answer the first label,
        an arbitrary one. A tie goes to the tied label most frequent in the validation split (data a run may use,
        never the test labels), recorded with the model so the report can say how the answer was chosen."""
        tied = np.flatnonzero(counts == counts.max())
        chosen, source = int(tied[0]), "train"
        if len(tied) > 1:
            source = "label_order"
            if validation is not None and len(validation):
                val = validation.label_matrix(len(self.label_names)).sum(axis=0)[tied]
                if (val == val.max()).sum() == 1:
                    chosen, source = int(tied[int(val.argmax())]), "validation"
            # a share just above the others' makes the choice the argmax, saved and loaded with the shares
            self.shares = self.shares.copy()
            self.shares[chosen] *= 1 + 1e-4  # visible in float32 logits too
            self.shares /= self.shares.sum()
        self.info.update({"answer": self.label_names[chosen], "answer_from": source,
                          "tied_labels": [self.label_names[k] for k in tied] if len(tied) > 1 else []})

    def _fit_thresholds(self, train: Split, validation: Split | None) -> None:
        """A baseline answers as its strategy says (multi-label: the labels its shares or draws give at 0.5): thresholds
        tuned on validation turned both baselines into the same tuned constant answer."""
        self.decision = self._default_decision(train)

    def _draw(self, text: str) -> np.random.Generator:
        digest = hashlib.sha256(f"{self.seed}\x00{text}".encode("utf-8", "surrogatepass")).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "little"))

    def logits(self, texts: list[str]) -> np.ndarray:
        shares = np.clip(self.shares, 1e-6, 1 - 1e-6)
        if self.multi_label:
            base = np.log(shares) - np.log1p(-shares)  # the logit of each label's share
        else:
            base = np.log(shares)
        out = np.tile(base, (len(texts), 1))
        if self.params.strategy == "stratified":
            for row, text in zip(out, texts):
                rng = self._draw(text)
                if self.multi_label:
                    drawn = rng.random(len(shares)) < self.shares
                    row[:] = np.where(drawn, DRAWN, -DRAWN)
                else:
                    row[rng.choice(len(shares), p=self.shares / self.shares.sum())] += DRAWN
        return out

    def _save_weights(self, directory: Path) -> None:
        from safetensors.numpy import save_file

        save_file({"shares": self.shares, "seed": np.array([self.seed], dtype=np.int64)}, str(directory / WEIGHTS),
                   metadata=self.weights_metadata())

    def _load_weights(self, folder: Folder, record: ModelRecord) -> None:
        path = folder.path(WEIGHTS, "weights")
        arrays = read_tensors(path)
        if set(arrays) != {"shares", "seed"} or arrays["shares"].ndim != 1 or arrays["seed"].shape != (1,):
            raise RecordError(f"{path}: expected the tensors shares (one per label) and seed; the weights are not an "
                              "emobench baseline's")
        shares = arrays["shares"].astype(np.float64)
        if not np.isfinite(shares).all() or shares.min() < 0 or shares.max() > 1 or (not record.multi_label and shares.sum() <= 0):
            raise RecordError(f"{path}: label shares {shares.tolist()[:8]} are not shares of the training labels")
        check_weights_labels(record, len(shares), path, safetensors_metadata(path))
        self.shares, self.seed = shares, int(arrays["seed"][0])
