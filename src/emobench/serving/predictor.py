"""Prediction API: load a run, a saved model or an ONNX export once, predict many texts."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import EmobenchError
from ..models.backends import BACKENDS, load_backend  # noqa: F401 - the serving API's names too
from .prediction import Prediction

# What stops the program is never taken for a text the model cannot score.
_STOPPING = (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError)


class UnscorableText(EmobenchError):
    """A text the model cannot score (its tokenizer or the model raised on it, a Rust panic included): ``index`` in
    the texts given."""

    def __init__(self, index: int, reason: str):
        super().__init__(f"text {index + 1}: the model could not score it ({reason})")
        self.index, self.reason = index, reason


def _reason(exc: BaseException) -> str:
    detail = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


class Predictor:
    """A model loaded once; ``predict(texts)`` gives each text's label (or label set) and every probability."""

    def __init__(self, run_or_model_dir: str | Path, backend: str = "auto", allow_modified: bool = False):
        self.path = Path(run_or_model_dir)
        self.allow_modified = allow_modified
        self.model = load_backend(run_or_model_dir, backend, allow_modified)
        self.backend = self.model.backend
        self.label_names = self.model.label_names
        self.multi_label = self.model.multi_label

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Every text's probabilities; a text the model cannot score is an :class:`UnscorableText` naming it."""
        texts = list(texts)
        try:
            return self.model.predict_proba_batched(texts)
        except _STOPPING:
            raise
        except EmobenchError:
            raise
        except BaseException as exc:  # noqa: BLE001 - a tokenizer's Rust panic is a BaseException
            failure = exc
        for index, text in enumerate(texts):  # which text: each alone
            try:
                self.model.predict_proba_batched([text])
            except _STOPPING:
                raise
            except BaseException as exc:  # noqa: BLE001
                raise UnscorableText(index, _reason(exc)) from None
        raise EmobenchError(f"the model could not score these {len(texts)} texts together, though it scores each alone "
                            f"({_reason(failure)})")

    def predict(self, texts: list[str] | str) -> list[Prediction]:
        """For each text: the predicted label (multi-label models: ``labels``, the label set) and the
        probability of every label."""
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        for i, text in enumerate(texts):  # as the command line and the service refuse them
            if not isinstance(text, str):
                raise EmobenchError(f"text {i + 1}: a {type(text).__name__}; expected a string")
            if not text.strip():
                raise EmobenchError(f"text {i + 1} is empty; expected a text to classify")
        return self.score(texts)

    def explain(self, texts: list[str], label: str | None = None) -> list:
        """Each text's word attributions toward ``label`` (default: its most probable label), as `emobench explain`
        gives them (:class:`~emobench.models.explain.Explanation`); a model without them says why, and a text the
        model cannot explain is an :class:`UnscorableText` naming it."""
        from ..models.explain import explain_texts

        texts = list(texts)
        out = []
        for index, text in enumerate(texts):  # one at a time: attributions are per text, and a failure names its text
            try:
                out += explain_texts(self.model, [text], label)
            except _STOPPING:
                raise
            except EmobenchError:
                raise
            except BaseException as exc:  # noqa: BLE001 - a tokenizer's Rust panic is a BaseException
                raise UnscorableText(index, _reason(exc)) from None
        return out

    def score(self, texts: list[str]) -> list[Prediction]:
        """The predictions of texts already checked (the service's and batch scoring's)."""
        return self.predictions(texts, self.probabilities(texts))

    def predictions(self, texts: list[str], probs: np.ndarray) -> list[Prediction]:
        decided = self.model.decide(probs)
        out = []
        for text, row, choice in zip(texts, probs, decided):
            probabilities = {name: float(p) for name, p in zip(self.label_names, row)}
            if self.multi_label:
                out.append(Prediction(text, probabilities, labels=[self.label_names[k] for k in np.flatnonzero(choice)]))
            else:
                out.append(Prediction(text, probabilities, label=self.label_names[int(choice)]))
        return out

    def card(self) -> dict:
        """What the model is, from its own folder: family, backend, labels, and (for a run or an export) the
        model name, dataset and test metrics recorded with it."""
        from .. import __version__

        gap = self.model.explanation_gap()
        card = {"family": self.model.family, "backend": self.backend, "precision": self.model.precision,
                "task": "multi_label" if self.multi_label else "single_label", "labels": self.label_names,
                "explains": gap is None, **({"no_explanations": gap} if gap else {}),
                "emobench_version": __version__, "folder": self.path.resolve().name}  # no path of this machine
        export = getattr(self.model, "export", None)
        if export is not None:
            card["export"] = {"checks": {k: v.model_dump() for k, v in export.checks.items()},
                              "scores": {k: v.model_dump(exclude_none=True) for k, v in export.scores.items()}}
            if export.source is not None:
                card.update(model=export.source.model, dataset=export.source.dataset, run=export.source.run_name,
                            test_metrics=export.source.test_metrics)
        elif (self.path / "model").is_dir():
            from ..records.run import RunRecord, card_metrics

            run = RunRecord.load(self.path, self.allow_modified)
            test = run.metrics.splits.get("test")
            card.update(model=run.config.model, dataset=run.data.dataset, run=self.path.resolve().name,
                        test_metrics=card_metrics(test))
        return card


def predict(run_or_model_dir: str | Path, texts: list[str] | str, backend: str = "auto") -> list[Prediction]:
    return Predictor(run_or_model_dir, backend).predict(texts)
