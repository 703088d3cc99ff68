"""emobench: text emotion recognition — datasets with audits, one classifier protocol, honest comparisons.

Names are imported on first use, so ``import emobench`` (and the command line's start) stays fast.
"""
__version__ = "0.3.0"

import os

# onnxruntime (1.32 on Linux) otherwise keeps a device id and an event cache under ~/.cache/Microsoft: emobench writes
# nothing outside the folders it is given. Set before any onnxruntime import; a user's own setting wins.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from .lazy import exports  # noqa: E402

_EXPORTS = {
    "Corpus": "data", "DatasetConfig": "data", "Split": "data", "audit": "data", "load_dataset": "data",
    "DataError": "errors", "EmobenchError": "errors", "RecordError": "errors",
    "available_models": "models", "build_model": "models", "load_model": "models", "resolve": "models",
    "RunConfig": "experiments.run", "train": "experiments.run", "evaluate_run": "experiments.run",
    "distill": "experiments.distill", "explain": "experiments.explain", "Review": "experiments.review",
    "CompareConfig": "experiments.study", "run_comparison": "experiments.study", "compare_runs": "experiments.study",
    "TuneConfig": "experiments.tune", "tune": "experiments.tune", "export_run": "experiments.export",
    "RunRecord": "records.run", "ComparisonRecord": "records.comparison", "TuningRecord": "records.tuning",
    "Predictor": "serving", "predict": "serving", "score_file": "serving.scoring",
    "find_label_issues": "experiments.label_issues", "apply_budget": "data.budgets",
    "suggest": "experiments.suggest", "Suggestions": "records.suggestions",
}
__all__ = list(_EXPORTS)

__getattr__ = exports(__name__, _EXPORTS)


def load_run(run_dir, allow_modified: bool = False):
    """A finished run's record (configuration, environment, data, metrics, history; predictions on demand)."""
    from .records.run import RunRecord

    return RunRecord.load(run_dir, allow_modified)
