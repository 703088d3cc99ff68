"""The analysis of a comparison: every other analysis of the models' test outcomes, gathered."""
from __future__ import annotations

from dataclasses import dataclass, field

from .baselines import (AgainstBaseline, BaselineAnswer, ConstantReference, against_baseline, best_constant,
                        majority_answer)
from .ensembles import ensemble_outcomes
from .failures import ErrorReport, SharedMistakes, error_analysis, shared_mistakes
from .outcomes import ALPHA, RunOutcome, group_by_model, metrics_for
from .pairs import PairTest, pair_tests
from .scores import Calibration, ModelSummary, calibration_of, summarise_model


@dataclass
class Comparison:
    dataset: str
    task: str
    labels: list[str]
    n_test: int
    seeds: list[int]
    metrics: list[str]  # the overall metrics, in table order
    primary: str  # the metric models are ranked by
    models: list[ModelSummary]
    tests: list[PairTest]
    test_description: str
    alpha: float = ALPHA
    ensembles: list[str] = field(default_factory=list)
    calibration: list[Calibration] = field(default_factory=list)
    errors: list[ErrorReport] = field(default_factory=list)
    shared_mistakes: SharedMistakes | None = None
    baselines: list[str] = field(default_factory=list)
    against_baseline: list[AgainstBaseline] = field(default_factory=list)
    accuracy_tests: list[PairTest] = field(default_factory=list)  # McNemar on accuracy (single-label), its own Holm family
    accuracy_test_description: str = ""
    majority_answer: BaselineAnswer | None = None
    best_constant: ConstantReference | None = None

    @property
    def flagged(self) -> list[AgainstBaseline]:
        """The models not significantly above the majority baseline."""
        return [a for a in self.against_baseline if a.verdict != "above"]


def analyse(outcomes: list[RunOutcome], dataset: str, ensembles: list[list[str]] | None = None,
            conflicting: set[str] | None = None, majority: str | None = None) -> Comparison:
    """Everything the report shows about a comparison: ``ensembles`` (lists of model names) are added as
    models of their own; ``conflicting`` (normalised texts with conflicting labels in the data) separates
    label noise from model errors; ``majority``: the baseline every other model is tested against."""
    task, labels = outcomes[0].task, outcomes[0].labels
    metrics = metrics_for(task)
    primary = "macro_f1"
    outcomes = outcomes + [e for members in ensembles or [] for e in ensemble_outcomes(outcomes, members)]
    grouped = group_by_model(outcomes)
    models = [summarise_model(name, runs, metrics) for name, runs in grouped.items()]
    first = {name: runs[0] for name, runs in grouped.items()}
    tests, description, accuracy_tests, accuracy_description = pair_tests(first, task, primary)
    singles = [o for name, o in first.items() if o.members is None and not o.baseline]
    return Comparison(dataset=dataset, task=task, labels=labels, n_test=len(outcomes[0].y_true),
                      seeds=sorted({o.seed for o in outcomes}), metrics=metrics, primary=primary, models=models,
                      tests=tests, test_description=description,
                      ensembles=[name for name, o in first.items() if o.members is not None],
                      calibration=[calibration_of(o) for o in first.values()],
                      errors=[error_analysis(o, conflicting) for o in first.values()],
                      shared_mistakes=shared_mistakes(singles) if len(singles) > 1 else None,
                      baselines=[name for name, o in first.items() if o.baseline],
                      against_baseline=against_baseline(first, tests, majority), accuracy_tests=accuracy_tests,
                      accuracy_test_description=accuracy_description,
                      majority_answer=majority_answer(first[majority]) if majority in first else None,
                      best_constant=best_constant(outcomes[0]))
