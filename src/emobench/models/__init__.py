"""Model families behind one protocol; one mapping from model names to families (models/registry.py).

Names are imported on first use, so reading the registry costs nothing."""

_EXPORTS = {"Classifier": "base", "Scorer": "base", "load_model": "base", "ModelSpec": "registry",
            "available_models": "registry", "build_model": "registry", "resolve": "registry"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'emobench.models' has no attribute {name!r}")
