"""Metrics, statistics and comparison of runs. Names load on first use: the metric types are read wherever a run
is (predicting too), the statistics need SciPy."""
from ..lazy import exports

_NAMES = {"SplitMetrics": "metrics", "classification_report_text": "metrics", "compute_metrics": "metrics",
          "macro_f1": "metrics", "bootstrap_ci": "statistics", "holm": "statistics", "mcnemar": "statistics",
          "mean_std": "statistics", "paired_bootstrap": "statistics"}
__getattr__ = exports(__name__, _NAMES)
__all__ = list(_NAMES)
