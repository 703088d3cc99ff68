"""Metrics, statistics and comparison of runs."""
from .metrics import classification_report_text, compute_metrics

__all__ = ["compute_metrics", "classification_report_text"]
from .statistics import bootstrap_ci, holm, mcnemar, mean_std, paired_bootstrap  # noqa: E402

__all__ += ["bootstrap_ci", "holm", "mcnemar", "mean_std", "paired_bootstrap"]
