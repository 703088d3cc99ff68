"""Datasets: one corpus type, readers (one per dataset, behind one protocol and registry), and the audit.

Names are imported on first use, so reading the registry (data/registry.py) costs nothing."""

from ..lazy import exports

_EXPORTS = {
    "Corpus": "corpus", "Split": "corpus", "sha256_file": "corpus", "audit": "auditing", "AuditReport": "audit_report",
    "DataSource": "provenance", "CleaningPlan": "provenance",
    "DatasetConfig": "readers", "DataChecksumWarning": "readers", "DataWarning": "readers", "load_dataset": "readers",
    "load_emotion": "readers", "load_isear": "readers", "load_table": "readers", "EMOTION_LABELS": "readers",
    "ISEAR_LABELS": "readers", "is_placeholder": "text", "normalize_text": "text",
}
__all__ = list(_EXPORTS)

__getattr__ = exports(__name__, _EXPORTS)
