"""emobench: text emotion recognition — datasets with audits, one classifier protocol, honest comparisons.

Names are imported on first use, so ``import emobench`` (and the command line's start) stays fast.
"""
__version__ = "0.2.0"

_EXPORTS = {
    "Corpus": "data", "DatasetConfig": "data", "Split": "data", "audit": "data", "load_dataset": "data",
    "DataError": "errors", "EmobenchError": "errors",
    "available_models": "models", "build_model": "models", "load_model": "models",
    "RunConfig": "runs", "train": "runs", "evaluate_run": "runs", "load_run": "runs",
    "Predictor": "serving", "predict": "serving",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'emobench' has no attribute {name!r}")
