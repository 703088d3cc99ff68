"""Serving: prediction API."""
from .predictor import Predictor, predict

__all__ = ["Predictor", "predict"]
