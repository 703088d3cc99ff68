"""Temperature scaling (Guo et al. 2017): one scalar T, fitted on validation, divides the logits so the
probabilities match how often the model is right. The argmax -- and so every single-label metric -- is
unchanged."""
from __future__ import annotations

import numpy as np


def nll(logits: np.ndarray, truth: np.ndarray, temperature: float) -> float:
    """Negative log-likelihood of the truth (label ids: softmax; a 0/1 matrix: sigmoid per label)."""
    z = logits / temperature
    if truth.ndim == 2:
        return float(np.mean(np.logaddexp(0, z) - truth * z))
    z = z - z.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(truth)), truth].mean())


def bounded(logits: np.ndarray) -> np.ndarray:
    """Logits as float64 with infinities replaced by +-1e4 (absent classes may carry -inf)."""
    logits = np.asarray(logits, dtype=np.float64)
    return np.where(np.isfinite(logits), logits, np.sign(logits) * 1e4)


def fit_temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    """The temperature minimising the validation NLL, searched on log T in [-3, 3] (T in about 0.05..20: a
    validation set the model separates perfectly would otherwise drive T to zero and every probability to 1)."""
    from scipy.optimize import minimize_scalar

    logits = bounded(logits)
    truth = np.asarray(truth)
    result = minimize_scalar(lambda log_t: nll(logits, truth, float(np.exp(log_t))), bounds=(-3, 3), method="bounded")
    return float(np.exp(result.x))
