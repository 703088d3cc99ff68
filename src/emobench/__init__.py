"""emobench: text emotion recognition — datasets with audits, one classifier protocol, honest comparisons.

Names are imported on first use, so ``import emobench`` (and the command line's start) stays fast.
"""
__version__ = "0.3.0"

_EXPORTS = {
    "Corpus": "data", "DatasetConfig": "data", "Split": "data", "audit": "data", "load_dataset": "data",
    "DataError": "errors", "EmobenchError": "errors", "RecordError": "errors",
    "available_models": "models", "build_model": "models", "load_model": "models", "resolve": "models",
    "RunConfig": "experiments.run", "train": "experiments.run", "evaluate_run": "experiments.run",
    "CompareConfig": "experiments.study", "run_comparison": "experiments.study", "compare_runs": "experiments.study",
    "TuneConfig": "experiments.tune", "tune": "experiments.tune", "export_run": "experiments.export",
    "RunRecord": "records.run", "ComparisonRecord": "records.comparison", "TuningRecord": "records.tuning",
    "Predictor": "serving", "predict": "serving", "score_file": "serving.scoring",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'emobench' has no attribute {name!r}")


def load_run(run_dir, allow_modified: bool = False):
    """A finished run's record (configuration, environment, data, metrics, history; predictions on demand)."""
    from .records.run import RunRecord

    return RunRecord.load(run_dir, allow_modified)
