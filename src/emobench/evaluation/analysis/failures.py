"""What the models get wrong: the most confident mistakes, the most frequent confusions, label noise, and the texts
every model gets wrong."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .outcomes import RunOutcome

NO_LABEL = "(no label)"
NOTHING_MISSED = "(none missed: a wrong extra label)"
NOTHING_EXTRA = "(none extra: a missed label)"


@dataclass
class Mistake:
    text: str
    label: str
    predicted: str
    confidence: float
    label_noise: bool  # the text occurs elsewhere in the data with another label


@dataclass
class Confusion:
    true: str  # multi-label: a gold label the model missed (NOTHING_MISSED: none, the mistake is an extra label)
    predicted: str  # multi-label: a label predicted but not gold (NOTHING_EXTRA: none)
    count: int
    examples: list[str]


@dataclass
class ErrorReport:
    name: str
    mistakes: int
    confident: list[Mistake]  # the most confident mistakes
    confusions: list[Confusion]  # the most frequent (true, predicted) pairs
    noise_mistakes: int | None  # mistakes on texts with conflicting labels in the data (None: not recorded)
    noise_examples: list[Mistake]


@dataclass
class SharedMistakes:
    count: int  # test texts every compared model gets wrong
    total: int
    examples: list[dict]


def _names(row, labels: list[str], multi: bool) -> str:
    return "+".join(labels[k] for k in np.flatnonzero(row)) or NO_LABEL if multi else labels[int(row)]


def error_analysis(outcome: RunOutcome, conflicting: set[str] | None, top: int = 5, examples: int = 2) -> ErrorReport:
    """The most confident mistakes, the most frequent confusions with example texts, and the mistakes on
    texts that carry conflicting labels in the data (label noise rather than model error)."""
    from ...data.text import normalize_text

    multi = outcome.task == "multi_label"
    y_true, y_pred, probs, labels = outcome.y_true, outcome.y_pred, outcome.probs, outcome.labels
    wrong = np.flatnonzero((y_true != y_pred).any(axis=1) if multi else y_true != y_pred)
    if multi:  # confidence of a wrong set: the most probable label that is wrongly in or out of it
        error_mass = np.abs(probs - y_true)
        confidence = error_mass.max(axis=1)
    else:
        confidence = probs[np.arange(len(probs)), y_pred]

    def mistake(i) -> Mistake:
        return Mistake(text=outcome.texts[i], label=_names(y_true[i], labels, multi), predicted=_names(y_pred[i], labels, multi),
                       confidence=float(confidence[i]),
                       label_noise=conflicting is not None and normalize_text(outcome.texts[i]) in conflicting)

    ranked = wrong[np.argsort(-confidence[wrong], kind="stable")]
    pairs: dict[tuple[str, str], list[int]] = {}
    for i in wrong:
        if multi:
            missed = [labels[k] for k in np.flatnonzero(y_true[i] & (1 - y_pred[i]))] or [NOTHING_MISSED]
            extra = [labels[k] for k in np.flatnonzero(y_pred[i] & (1 - y_true[i]))] or [NOTHING_EXTRA]
            keys = [(m, e) for m in missed for e in extra]
        else:
            keys = [(labels[int(y_true[i])], labels[int(y_pred[i])])]
        for key in keys:
            pairs.setdefault(key, []).append(int(i))
    confusions = sorted(pairs.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:top]
    noise = [i for i in ranked if conflicting is not None and normalize_text(outcome.texts[i]) in conflicting]
    return ErrorReport(
        name=outcome.name, mistakes=int(len(wrong)), confident=[mistake(i) for i in ranked[:top]],
        confusions=[Confusion(t, p, len(ids), [outcome.texts[i] for i in ids[:examples]]) for (t, p), ids in confusions],
        noise_mistakes=len(noise) if conflicting is not None else None, noise_examples=[mistake(i) for i in noise[:top]])


def shared_mistakes(outcomes: list[RunOutcome], top: int = 5) -> SharedMistakes:
    """Test texts that every model gets wrong: hard cases, or wrong labels."""
    first = outcomes[0]
    multi = first.task == "multi_label"
    wrong = np.ones(len(first.y_true), dtype=bool)
    for o in outcomes:
        wrong &= (o.y_true != o.y_pred).any(axis=1) if multi else o.y_true != o.y_pred
    ids = np.flatnonzero(wrong)
    examples = [{"text": first.texts[i], "label": _names(first.y_true[i], first.labels, multi),
                 "predictions": {o.name: _names(o.y_pred[i], o.labels, multi) for o in outcomes}} for i in ids[:top]]
    return SharedMistakes(count=int(len(ids)), total=int(len(first.y_true)), examples=examples)
