"""Datasets: one corpus type, readers (one per dataset, behind one protocol and registry), and the audit."""
from .audit import audit
from .corpus import Corpus, Split, sha256_file
from .readers import (
    EMOTION_LABELS,
    ISEAR_LABELS,
    DataChecksumWarning,
    DatasetConfig,
    DataWarning,
    load_dataset,
    load_emotion,
    load_isear,
    load_table,
)
from .text import is_placeholder, normalize_text

__all__ = [
    "Corpus", "Split", "DatasetConfig", "DataChecksumWarning", "DataWarning", "load_dataset", "load_emotion",
    "load_isear", "load_table", "audit", "is_placeholder", "normalize_text", "sha256_file", "EMOTION_LABELS",
    "ISEAR_LABELS",
]
