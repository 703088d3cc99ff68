"""Model families behind one protocol; one mapping from model names to families (models/registry.py).

Names are imported on first use, so reading the registry costs nothing."""

from ..lazy import exports

_EXPORTS = {"Classifier": "base", "Scorer": "base", "load_model": "base", "ModelSpec": "registry",
            "available_models": "registry", "build_model": "registry", "resolve": "registry"}
__all__ = list(_EXPORTS)

__getattr__ = exports(__name__, _EXPORTS)
