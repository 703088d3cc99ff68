"""Metrics, statistics and comparison of runs."""
from .metrics import classification_report_text, compute_metrics

__all__ = ["compute_metrics", "classification_report_text"]
