"""Label noise in the test split: every model on all test texts and on those not flagged as likely mislabelled."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..statistics import Counts, bootstrap
from .outcomes import N_BOOT, Interval, RunOutcome, group_by_model


@dataclass
class NoiseScores:
    """A model on every test text and on the texts not flagged as likely mislabelled."""

    name: str
    all: dict[str, Interval]  # macro_f1, accuracy
    unflagged: dict[str, Interval]
    mistakes: int
    mistakes_flagged: int
    # of the flagging model's family (or an ensemble with such a member): the texts were flagged where a model of its
    # kind disagrees with the label, so its score on the unflagged texts is favoured
    flagger_kin: bool = False
    baseline: bool = False


@dataclass
class NoiseAnalysis:
    flagged: int
    total: int
    method: str  # the model and folds that flagged them
    scores: list[NoiseScores]
    shared_mistakes: int  # test texts every model gets wrong
    shared_flagged: int  # ... of them flagged
    examples: list[dict]  # the flagged texts: text, given, suggested, self-confidence, models predicting the suggestion
    warnings: list[str] = field(default_factory=list)  # the audit's own (e.g. many flags from a weak model)
    multi_label: bool = False  # "accuracy" is then subset accuracy


def analyse_noise(outcomes: list[RunOutcome], flagged: list, method: str, top: int = 8,
                  warnings: list[str] | None = None, kin: set[str] | frozenset = frozenset()) -> NoiseAnalysis:
    """Every model (lowest seed) scored on all test texts and on the unflagged ones, with bootstrap intervals; how many of
    its mistakes, and of the texts every model gets wrong, are flagged. ``flagged``: the test split's issues (index,
    text, given, suggested, self_confidence), most doubtful first; ``kin``: the models of the flagging model's family."""
    grouped = group_by_model(outcomes)
    first = {name: runs[0] for name, runs in grouped.items()}
    any_outcome = next(iter(first.values()))
    n = len(any_outcome.y_true)
    rows = np.array(sorted({f.index for f in flagged if f.index < n}), dtype=int)
    keep = np.setdiff1d(np.arange(n), rows)
    multi = any_outcome.task == "multi_label"
    scores, wrong_all = [], np.ones(n, dtype=bool)
    for name, o in first.items():
        wrong = (o.y_true != o.y_pred).any(axis=1) if multi else o.y_true != o.y_pred
        if not o.baseline:
            wrong_all &= wrong
        intervals = {}
        for which, subset in (("all", np.arange(n)), ("unflagged", keep)):
            counts = Counts(np.asarray(o.y_true)[subset], np.asarray(o.y_pred)[subset], len(o.labels))
            found = bootstrap(counts, ["macro_f1", "accuracy" if not multi else "subset_accuracy"], N_BOOT, seed=0)
            intervals[which] = {"macro_f1": Interval(*found["macro_f1"]),
                                "accuracy": Interval(*found["accuracy" if not multi else "subset_accuracy"])}
        scores.append(NoiseScores(name, intervals["all"], intervals["unflagged"], int(wrong.sum()),
                                  int(wrong[rows].sum()) if len(rows) else 0, name in kin, o.baseline))
    labels = any_outcome.labels
    examples = []
    for f in flagged[:top]:
        i = f.index
        agreeing = 0
        for o in first.values():
            predicted = [labels[k] for k in np.flatnonzero(o.y_pred[i])] if multi else [labels[int(o.y_pred[i])]]
            agreeing += sorted(predicted) == sorted(f.suggested)
        examples.append({"index": f.index, "text": f.text, "given": f.given, "suggested": f.suggested,
                         "self_confidence": f.self_confidence, "models_predicting_suggestion": agreeing,
                         "models": len(first)})
    return NoiseAnalysis(flagged=int(len(rows)), total=n, method=method, scores=scores,
                         shared_mistakes=int(wrong_all.sum()), shared_flagged=int(wrong_all[rows].sum()) if len(rows) else 0,
                         examples=examples, warnings=list(warnings or []), multi_label=multi)
