"""A dataset's audit as ``emobench data audit`` makes it: the data read, audited (sizes, label shares, duplicates,
conflicts, leakage, placeholders, where the splits come from) and, when asked, its likely mislabelled texts found by
confident learning; the JSON written here, so that the command line only prints."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..data import DatasetConfig, load_dataset
from ..data.audit_report import AuditReport
from ..data.auditing import audit
from ..records.label_issues import LabelIssues, write_data_audit
from . import label_issues as cleaning


@dataclass
class DatasetAudit:
    report: AuditReport
    issues: LabelIssues | None = None  # with label_issues=True


def audit_dataset(config: DatasetConfig, *, label_issues: bool = False, model: str | None = None, folds: int = 5,
                  splits: list[str] | None = None, seed: int = 0, json_out: Path | None = None,
                  progress: Callable[[str], None] | None = None) -> DatasetAudit:
    """The audit of the data ``config`` names; ``label_issues``: also the texts ``model`` (default: the audit
    family) flags out of ``folds`` folds in ``splits`` (default: every split); ``json_out``: the audit written there
    as JSON (the label issues under ``label_issues``); ``progress``: told which family scores, and each fold."""
    corpus = load_dataset(config)
    issues = None
    if label_issues:
        _say_family(config, model, progress)
        issues = cleaning.find_issues(corpus, splits, model, folds, seed, progress=progress)
    found = DatasetAudit(audit(corpus), issues)
    if json_out is not None:
        write_data_audit(json_out, found.report, issues)
    return found


def _say_family(config: DatasetConfig, model: str | None, progress) -> None:
    """Which family scores the texts, said before the first fold: with the default one, what it costs and scores on
    this dataset where that was measured (the registry's note, never said of other data)."""
    from ..data.registry import dataset_entry
    from ..models.registry import LABEL_ISSUES_MODEL, LABEL_ISSUES_WHY, resolve

    resolve(model or LABEL_ISSUES_MODEL)  # an unknown name is an error before anything is said
    if model is None and progress is not None:
        note = dataset_entry(config.name).audit_note
        progress(f"scoring texts out of fold with {LABEL_ISSUES_WHY}" + (f" ({note})" if note else ""))
