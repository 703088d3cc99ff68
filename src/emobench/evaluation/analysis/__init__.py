"""The analysis of a comparison, as typed results, one module per analysis: per-model scores with bootstrap
intervals and spread over seeds (``scores``), paired tests with Holm's correction (``pairs``), the majority baseline
and the best constant answer (``baselines``), ensembles, what the models get wrong (``failures``), transfer to
another dataset, data budgets and label noise in the test split; ``comparison`` gathers them. Pure functions of the
runs' test-set outcomes (``outcomes``); the report only renders what they return, and statistics.json holds it."""
from .baselines import AgainstBaseline, BaselineAnswer, ConstantReference, against_baseline, best_constant, majority_answer
from .budgets import BudgetAnalysis, BudgetPoint, BudgetWinner, analyse_budgets
from .comparison import Comparison, analyse
from .ensembles import ensemble_name, ensemble_outcomes
from .failures import (NO_LABEL, NOTHING_EXTRA, NOTHING_MISSED, Confusion, ErrorReport, Mistake, SharedMistakes,
                       error_analysis, shared_mistakes)
from .noise import NoiseAnalysis, NoiseScores, analyse_noise
from .outcomes import ALPHA, N_BOOT, Interval, RunOutcome, group_by_model, metrics_for
from .pairs import PairTest, better_of, find_test, pair_tests
from .scores import Calibration, ModelSummary, calibration_of, summarise_model
from .transfer import TransferResult, analyse_transfer, bootstrap_hits

__all__ = ["ALPHA", "N_BOOT", "NO_LABEL", "NOTHING_EXTRA", "NOTHING_MISSED", "AgainstBaseline", "BaselineAnswer",
           "BudgetAnalysis", "BudgetPoint", "BudgetWinner", "Calibration", "Comparison", "Confusion", "ConstantReference",
           "ErrorReport", "Interval", "Mistake", "ModelSummary", "NoiseAnalysis", "NoiseScores", "PairTest", "RunOutcome",
           "SharedMistakes", "TransferResult", "against_baseline", "analyse", "analyse_budgets", "analyse_noise",
           "analyse_transfer", "best_constant", "better_of", "bootstrap_hits", "calibration_of", "ensemble_name",
           "ensemble_outcomes", "error_analysis", "find_test", "group_by_model", "majority_answer", "metrics_for",
           "pair_tests", "shared_mistakes", "summarise_model"]
