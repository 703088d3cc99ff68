"""Data budgets: learning curves over seeds, the best model at each budget against the runner-up, and every model
against the majority baseline."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..statistics import Counts, bootstrap, holm, mean_interval
from .baselines import AgainstBaseline, BaselineAnswer, against_baseline, majority_answer
from .outcomes import ALPHA, N_BOOT, Interval, RunOutcome, group_by_model
from .pairs import better_of, find_test, pair_tests


@dataclass
class BudgetPoint:
    """One model at one data budget: macro-F1 and accuracy on the test split, over seeds."""

    name: str
    budget: str  # "16" texts per class, "0.1" of the split, or "all"
    train_texts: float  # labelled training texts (mean over seeds)
    seeds: list[int]
    macro_f1: Interval  # mean over seeds; 95% t-interval over seeds (one seed: bootstrap over test texts)
    accuracy: float
    baseline: bool = False
    zero_shot: bool = False  # trained on no labelled text at all (a budget of 0): the report marks it


@dataclass
class BudgetWinner:
    """The best model at a budget (by mean macro-F1 over seeds), and whether it is really ahead of the runner-up and
    above the majority: both tested on macro-F1 on the lowest seed's test predictions."""

    budget: str
    best: str
    score: float
    runner_up: str | None
    runner_up_score: float | None
    p_holm: float | None  # best against runner-up, Holm-adjusted over the budgets
    significant: bool  # the test finds the best model significantly ahead (on the tested seed's macro-F1)
    against_majority: str | None  # the best model's verdict against the majority baseline, on macro-F1
    metric: str = "macro_f1"
    tested_better: str | None = None  # the model the test finds significantly better (None: no significant difference)
    tested_scores: tuple[float, float] | None = None  # best's and runner-up's macro-F1 on the tested seed's predictions


@dataclass
class BudgetAnalysis:
    budgets: list[str]  # from the smallest to "all"
    points: list[BudgetPoint]
    winners: list[BudgetWinner]
    against_baseline: dict[str, list[AgainstBaseline]]  # budget -> every model against the majority
    validation: str  # "full" (the whole validation split) or "budget" (cut like the training split)
    test_description: str
    majority_answers: dict[str, BaselineAnswer] = field(default_factory=dict)  # budget -> what the majority answers

    @property
    def zero_shot(self) -> list[BudgetPoint]:
        """The points that used no labelled texts."""
        return [p for p in self.points if p.zero_shot]


def _t_interval(values: list[float]) -> tuple[float, float, float]:
    mean, low, high = mean_interval(values)
    return mean, max(0.0, low), min(1.0, high)  # a score lies in [0, 1]


def analyse_budgets(by_budget: dict[str, list[RunOutcome]], majority: str | None, validation: str) -> BudgetAnalysis:
    """Learning curves (macro-F1 against labelled texts, intervals over seeds), the best model at each budget with a
    paired test against the runner-up (Holm over the budgets), and every model against the majority baseline."""
    points, raw, checks, answers = [], [], {}, {}
    for budget, outcomes in by_budget.items():
        grouped = group_by_model(outcomes)
        task = outcomes[0].task
        for name, runs in grouped.items():
            values = [r.metrics.macro.f1 for r in runs]
            if len(runs) > 1:
                interval = Interval(*_t_interval(values))
            else:
                interval = Interval(*bootstrap(Counts(runs[0].y_true, runs[0].y_pred, len(runs[0].labels)), ["macro_f1"],
                                               N_BOOT, seed=0)["macro_f1"])
            points.append(BudgetPoint(name, budget, float(np.mean([r.train_texts for r in runs])),
                                      [r.seed for r in runs], interval, float(np.mean([r.metrics.accuracy for r in runs])),
                                      runs[0].baseline, all(r.train_texts == 0 for r in runs)))
        first = {name: runs[0] for name, runs in grouped.items()}
        tests, description, _, _ = pair_tests(first, task, "macro_f1")
        checks[budget] = against_baseline(first, tests, majority)
        if majority in first:
            answers[budget] = majority_answer(first[majority])
        ranked = sorted([p for p in points if p.budget == budget and not p.baseline], key=lambda p: -p.macro_f1.value)
        if not ranked:
            continue
        best, runner = ranked[0], (ranked[1] if len(ranked) > 1 else None)
        test = find_test(tests, best.name, runner.name) if runner is not None else None
        verdict = next((c.verdict for c in checks[budget] if c.name == best.name), None)
        raw.append((budget, best, runner, test, verdict))
    tested = [r[3] for r in raw if r[3] is not None]
    adjusted = iter(holm([t.p_value for t in tested]) if tested else [])
    winners = []
    for budget, best, runner, test, verdict in raw:
        p_holm = better = scores = None
        if test is not None:
            p_holm = float(next(adjusted))
            # the direction is that of the tested predictions' macro-F1, which may differ from the mean over seeds
            mine = test.a == best.name
            scores = (test.score_a, test.score_b) if mine else (test.score_b, test.score_a)
            if p_holm < ALPHA:
                better = better_of(test.a, test.b, test.score_a, test.score_b, test.metric)
        winners.append(BudgetWinner(budget, best.name, best.macro_f1.value, runner.name if runner else None,
                                    runner.macro_f1.value if runner else None, p_holm, better == best.name, verdict,
                                    "macro_f1", better, scores))
    description = "an approximate randomization test on macro-F1 on the lowest seed's test predictions"
    return BudgetAnalysis(list(by_budget), points, winners, checks, validation, description, answers)
