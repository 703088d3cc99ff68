"""Serving: prediction API."""
from .prediction import Prediction
from .predictor import Predictor, predict

__all__ = ["Prediction", "Predictor", "predict"]
