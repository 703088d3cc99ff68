"""Model families behind one protocol; one mapping from model names to families (models/registry.py)."""
from .base import Classifier, Scorer, load_model
from .registry import ModelSpec, available_models, build_model, resolve

__all__ = ["Classifier", "Scorer", "ModelSpec", "available_models", "build_model", "load_model", "resolve"]
