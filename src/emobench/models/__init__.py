"""Model families behind one protocol; one mapping from model names to families."""
from .base import Classifier, available_models, build_model, load_model, resolve_params

__all__ = ["Classifier", "available_models", "build_model", "load_model", "resolve_params"]
