"""Tables for the terminal (rich). Every cell that comes from data is escaped: label names are text, not markup."""
from __future__ import annotations

from rich.markup import escape as _escape
from rich.table import Table

from ..data.audit_report import AuditReport
from ..data.text import printable


def escape(text) -> str:
    """A cell from data: no markup, and control characters shown as escapes (never sent to the terminal)."""
    return _escape(printable(str(text)))


def audit_tables(report: AuditReport) -> list[Table]:
    splits = report.splits
    labels = Table("label", *[escape(s) for s in splits], title=f"{escape(report.dataset)}: label counts (share)")
    for label in report.labels:
        labels.add_row(escape(label), *[f"{s.label_counts[label]} ({100 * s.label_shares[label]:.1f}%)"
                                        for s in splits.values()])
    labels.add_row("[bold]total[/]", *[f"[bold]{s.size}[/]" for s in splits.values()])
    texts = Table("split", "words mean", "p50", "p95", "max", "repeated", "conflicting", "empty", "placeholders",
                  title="texts and defects")
    for name, s in splits.items():
        w = s.words
        texts.add_row(escape(name), f"{w.mean:.1f}", f"{w.p50:g}", f"{w.p95:g}", str(w.max),
                      str(s.repeated_texts), str(s.conflicting_texts), str(s.empty_texts),
                      str(s.placeholder_texts))
    overall = report.overall
    texts.add_row("[bold]all splits[/]", "", "", "", "", str(overall.repeated_texts),
                  str(overall.conflicting_texts), "", "")
    leakage = Table("splits", "texts in both", title="leakage between splits")
    for pair, shared in report.leakage.items():
        leakage.add_row(escape(pair.replace("&", " & ")), str(shared))
    tables = [labels, texts, leakage]
    if report.task == "multi_label":
        multi = Table("split", "labels per text", "texts with 1 / 2 / 3+ labels", "texts without a label",
                      "most frequent pairs", title="multi-label")
        for name, s in splits.items():
            m = s.multi_label
            counts = m.labels_per_text
            several = sum(v for k, v in counts.items() if int(k) >= 3)
            pairs = ", ".join(f"{escape(p.labels[0])}+{escape(p.labels[1])} ({p.texts})" for p in m.top_pairs[:3])
            multi.add_row(escape(name), f"{m.cardinality:.3f}", f"{counts.get('1', 0)} / {counts.get('2', 0)} / {several}",
                          str(m.texts_without_label), pairs)
        tables.append(multi)
    return tables


def label_issue_tables(issues, show: int = 10) -> list[Table]:
    """A label-issues audit on the terminal: counts per split and label, the top issues, the noise matrix (multi-label:
    per label, one against the rest)."""
    splits = issues.splits
    counts = Table("label", *[f"{escape(s)} flagged" for s in splits],
                   title=f"{escape(issues.dataset)}: likely mislabelled texts ({escape(issues.model)}, {issues.folds} folds, "
                         "out of fold; cleanlab)")
    for label in issues.labels:
        counts.add_row(escape(label), *[str(s.per_label.get(label, 0)) for s in splits.values()])
    counts.add_row("all", *[f"{s.flagged} of {s.n} ({100 * s.flagged / max(s.n, 1):.1f}%)" for s in splits.values()])
    counts.add_row(f"{escape(issues.model)}'s macro-F1 out of fold",
                   *["" if s.model_macro_f1 is None else f"{s.model_macro_f1:.3f}" for s in splits.values()])
    tables = [counts]
    for name, split in splits.items():
        if not show or not split.issues:
            continue
        top = Table("row", "self-confidence", "given", "suggested", "text",
                    title=f"{escape(name)}: the {min(show, len(split.issues))} least likely given labels")
        for issue in split.issues[:show]:
            text = issue.text if len(issue.text) <= 80 else issue.text[:77] + "..."
            top.add_row(str(issue.index), f"{issue.self_confidence:.3f}", escape(", ".join(issue.given) or "(none)"),
                        escape(", ".join(issue.suggested)), escape(text))
        tables.append(top)
        if split.noise_matrix is not None:
            noise = Table("given \\ true", *[escape(label) for label in issues.labels],
                          title=f"{escape(name)}: estimated P(given label | true label)")
            for label, row in zip(issues.labels, split.noise_matrix):
                noise.add_row(escape(label), *[f"{v:.2f}" for v in row])
            tables.append(noise)
        if split.label_noise is not None:
            noise = Table("label", "given, likely absent", "missing, likely present",
                          title=f"{escape(name)}: flagged texts per label, one against the rest (share of the split)")
            for row in split.label_noise:
                noise.add_row(escape(row.label), f"{row.spurious} ({100 * row.spurious_share:.1f}%)",
                              f"{row.missing} ({100 * row.missing_share:.1f}%)")
            tables.append(noise)
    return tables
