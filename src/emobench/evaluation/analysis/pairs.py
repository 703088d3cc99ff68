"""Paired tests between models on the same test texts, Holm-adjusted over the pairs."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from ..statistics import LOWER_IS_BETTER, METRIC_NAMES, holm, mcnemar, randomization_test, rounds_for
from .outcomes import ALPHA, RunOutcome


@dataclass
class PairTest:
    a: str
    b: str
    method: str
    metric: str
    statistic: float
    p_value: float
    p_holm: float
    significant: bool
    better: str | None  # significant: the model with the better ``metric`` on these predictions (never another metric's)
    only_a_right: int | None = None  # McNemar's discordant pairs
    only_b_right: int | None = None
    score_a: float | None = None  # ``metric`` of a and b on the tested predictions
    score_b: float | None = None


def find_test(tests: list[PairTest], a: str, b: str) -> PairTest | None:
    return next((t for t in tests if {t.a, t.b} == {a, b}), None)


def better_of(a: str, b: str, score_a: float, score_b: float, metric: str) -> str | None:
    """The model with the better ``metric`` (None on a tie): decided by the scores themselves, never by another metric."""
    if score_a == score_b:
        return None
    return a if (score_a > score_b) != (metric in LOWER_IS_BETTER) else b


def _adjusted(pairs: list[tuple[str, str]], raw: list[dict], metric: str) -> list[PairTest]:
    adjusted = holm([r["p_value"] for r in raw]) if raw else []
    tests = []
    for (a, b), r, p_adj in zip(pairs, raw, adjusted):
        better = better_of(a, b, r["score_a"], r["score_b"], metric)
        significant = bool(p_adj < ALPHA and better is not None)
        tests.append(PairTest(a, b, r["method"], metric, float(r["statistic"]), float(r["p_value"]), float(p_adj),
                              significant, better if significant else None, r.get("b"), r.get("c"),
                              float(r["score_a"]), float(r["score_b"])))
    return tests


def pair_tests(first: dict[str, RunOutcome], task: str, primary: str) -> tuple[list[PairTest], str, list[PairTest], str]:
    """Every pair of models on the same test examples (lowest seed): an approximate randomization test on the
    primary metric (the one models are ranked by, so a ranking is tested on its own metric), Holm-adjusted over the
    pairs; and, for single-label data, McNemar's test on accuracy, a family of its own. Returns the primary tests and
    their description, then the accuracy tests and theirs."""
    pairs = list(combinations(first, 2))
    rounds = rounds_for(len(pairs), ALPHA)
    raw = [randomization_test(first[a].y_true, first[a].y_pred, first[b].y_pred, primary, rounds=rounds,
                              num_labels=len(first[a].labels)) for a, b in pairs]
    tests = _adjusted(pairs, raw, primary)
    description = (f"an approximate randomization test on {METRIC_NAMES[primary]} ({rounds:,} rounds of swapping "
                   "the two models' outputs per example)")
    accuracy_tests, accuracy_description = [], ""
    if task == "single_label":
        accuracy_tests = _adjusted(pairs, [mcnemar(first[a].y_true, first[a].y_pred, first[b].y_pred) for a, b in pairs],
                                   "accuracy")
        accuracy_description = ("McNemar's test on accuracy (which texts each model gets right; exact below 25 "
                                "discordant pairs, else continuity-corrected chi-square)")
    return tests, description, accuracy_tests, accuracy_description
