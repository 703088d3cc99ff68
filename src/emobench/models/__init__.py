"""Model families behind one protocol; a registry maps names to builders."""
from .base import Classifier, available_models, build_model, load_model, resolve_params

__all__ = ["Classifier", "available_models", "build_model", "load_model", "resolve_params"]
