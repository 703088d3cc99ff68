"""What the command line prints about a typed result, as rich tables and plain lines: the command prints them,
these functions only say what they hold. Text from data is escaped (never read as markup, no control characters).

A rendering is a list of ``(kind, value)``: ``("rich", Table)``, ``("line", str)`` (plain text on standard
output) or ``("warning", str)`` (one line on standard error)."""
from __future__ import annotations

from rich.markup import escape as markup_escape
from rich.table import Table

from ..data.text import printable

WIDE_TABLE, TOP_LABELS = 8, 3  # the predict table shows every label up to 8 labels, the top 3 beyond


def escape(text: str) -> str:
    """User text in a table cell: no markup, no control characters (data/text.printable)."""
    return markup_escape(printable(str(text)))


def run_lines(run, quiet: bool) -> list[str]:
    """A trained run: each split's per-class report (unless quiet), the summary and the family's own lines."""
    from ..evaluation import classification_report_text
    from ..models.registry import family_class

    splits = run.metrics.splits
    lines = []
    if not quiet:
        for split, m in splits.items():
            lines += [f"{split} ({m.n} examples)", classification_report_text(m)]
    summary = ", ".join((f"{s} subset accuracy {m.accuracy:.4f} micro-F1 {m.micro.f1:.4f} macro-F1 "
                         f"{m.macro.f1:.4f}") if m.task == "multi_label" else
                        f"{s} accuracy {m.accuracy:.4f} macro-F1 {m.macro.f1:.4f}"
                        for s, m in splits.items())
    lines.append(f"trained in {run.metrics.train_seconds:.1f} s; {summary}")
    return lines + list(family_class(run.config.family).describe(run.metrics.model_info))


def results_table(record) -> Table:
    """Every run of a comparison on the test split, and its ensembles."""
    from ..models.registry import is_baseline

    rows = record.results.runs
    budgets = len({getattr(r, "budget", "all") for r in rows}) > 1
    # results rows' accuracy is the exact match of the whole label set on multi-label data
    accuracy = "subset accuracy" if any(r.task == "multi_label" for r in rows) else "accuracy"
    table = Table("model", *(["budget"] if budgets else []), "seed", accuracy, "macro-F1", "weighted-F1", "train s",
                  title="test split")
    for r in rows:
        name = r.model + (" (baseline)" if is_baseline(r.model) else "")
        table.add_row(escape(name), *([_budget(str(getattr(r, "budget", "all")))] if budgets else []), str(r.seed),
                      f"{r.accuracy:.4f}", f"{r.macro_f1:.4f}", f"{r.weighted_f1:.4f}", f"{r.train_seconds:.1f}")
    analysis = record.analysis
    if analysis is not None:
        for m in analysis.models:
            if m.name in analysis.ensembles:
                cells = [f"{m.scores[k].value:.4f}" if k in m.scores else "–" for k in ("accuracy", "macro_f1", "weighted_f1")]
                table.add_row(escape(m.name), ",".join(map(str, m.seeds)), *cells, f"{m.train_seconds:.1f}")
    return table


def _budget(budget: str) -> str:
    from ..data.budgets import NONE

    return f"{budget} (zero-shot)" if budget == NONE else budget


def skipped_lines(record) -> list[tuple[str, str]]:
    """The models a study did not train at a budget, one line per budget: listed, not silently missing."""
    from .study_sections import budget_name

    by_budget: dict[str, list] = {}
    for s in record.results.skipped:
        by_budget.setdefault(s.budget, []).append(s)
    return [("line", f"not trained at {budget_name(budget)}: " + "; ".join(f"{escape(s.model)} ({escape(s.reason)})"
                                                                          for s in found))
            for budget, found in by_budget.items()]


def baseline_checks(record) -> list[tuple[str, str]]:
    """The budgets' winners table, then a warning for every model not above a baseline."""
    shown: list[tuple[str, object]] = []
    analysis = record.analysis
    checks = {"": analysis.flagged if analysis is not None else []}
    if record.budgets is not None:
        checks = {f" at budget {b}": [a for a in found if a.verdict != "above"]
                  for b, found in record.budgets.against_baseline.items()}
        winners = Table("budget", "best model", "macro-F1", "runner-up", "p (Holm, macro-F1)", "significantly ahead",
                        title="best model at each data budget")
        for w in record.budgets.winners:
            winners.add_row(_budget(w.budget), escape(w.best), f"{w.score:.4f}", escape(w.runner_up or "–"),
                            f"{w.p_holm:.2g}" if w.p_holm is not None else "–", "yes" if w.significant else "no")
        shown.append(("rich", winners))
    for where, flagged_models in checks.items():
        for flagged in flagged_models:
            metric = flagged.metric.replace("_f1", "-F1")
            shown.append(("warning", f"{flagged.name} is {flagged.verdict} the {flagged.baseline} baseline on {metric} "
                                     f"on the test split{where} ({flagged.score:.4f} against {flagged.baseline_score:.4f}; "
                                     f"Holm-adjusted p = {flagged.p_holm:.2g})"))
    return shown


def transfer_table(results) -> Table:
    first = results[0]
    table = Table("model", "seed", "macro-F1 [95% CI]", "hit rate [95% CI]", "majority rate", "in-domain macro-F1",
                  title=f"transfer: {escape(first.scored_on)}, {first.kept} texts on the shared labels "
                        f"({escape(', '.join(first.shared_labels))})")
    for r in results:
        f1 = r.scores["macro_f1"]
        table.add_row(escape(r.name), str(r.seed), f"{f1.value:.4f} [{f1.low:.3f}, {f1.high:.3f}]",
                      f"{r.hit_rate.value:.4f} [{r.hit_rate.low:.3f}, {r.hit_rate.high:.3f}]", f"{r.majority_rate:.4f}",
                      f"{r.in_domain['macro_f1']:.4f}")
    return table


def comparison_view(record) -> list[tuple[str, object]]:
    """A comparison: its results, the baseline checks, the transfer scores, the label noise and where the report is."""
    shown: list[tuple[str, object]] = [("rich", results_table(record)), *skipped_lines(record), *baseline_checks(record)]
    if record.transfer_results:
        shown.append(("rich", transfer_table(record.transfer_results)))
    noise = getattr(record, "noise", None)
    if noise is not None:
        shown.append(("line", f"label noise: {noise.flagged} of {noise.total} test texts flagged as likely mislabelled; "
                              f"{noise.shared_flagged} of the {noise.shared_mistakes} texts every model gets wrong among them"))
    shown.append(("line", f"report: {record.folder / 'report.html'} and {record.folder / 'report.md'}"))
    return shown


def trials_view(model: str, record) -> list[tuple[str, object]]:
    """A tuning study: every trial, then the best configuration's scores."""
    table = Table("trial", "state", "validation macro-F1", "parameters", title=f"{escape(model)}: trials")
    for r in record.trials.trials:
        table.add_row(str(r.trial) + (" (default)" if getattr(r, "default", False) else ""), r.state,
                      f"{r.val_macro_f1:.4f}" if r.val_macro_f1 is not None else "",
                      escape(", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.params.items())))
    splits = record.best.metrics.splits
    return [("rich", table),
            ("line", f"best configuration trained as {record.best.folder}: validation macro-F1 "
                     f"{splits['validation'].macro.f1:.4f}, test accuracy {splits['test'].accuracy:.4f}, test macro-F1 "
                     f"{splits['test'].macro.f1:.4f}"),
            ("line", f"summary: {record.summary}")]


def predictions_view(results, label_names: list[str], multi_label: bool) -> list[tuple[str, object]]:
    """Predictions as a table: every label's probability, or the most probable ones of many labels."""
    wide = len(label_names) > WIDE_TABLE  # 13 or 28 labels: the most probable ones, not a column each
    columns = [f"top {TOP_LABELS}"] if wide else [escape(n) for n in label_names]
    table = Table("text", "labels" if multi_label else "label", *columns)
    for r in results:
        text = r.text if len(r.text) <= 60 else r.text[:57] + "..."
        chosen = ", ".join(r.labels) if multi_label else r.label
        if wide:
            top = sorted(r.probabilities.items(), key=lambda kv: -kv[1])[:TOP_LABELS]
            cells = [escape(", ".join(f"{name} {p:.3f}" for name, p in top))]
        else:
            cells = [f"{p:.3f}" for p in r.probabilities.values()]
        table.add_row(escape(text), f"[bold]{escape(chosen)}[/]", *cells)
    shown: list[tuple[str, object]] = [("rich", table)]
    if wide:
        shown.append(("line", f"(the {TOP_LABELS} most probable of {len(label_names)} labels; --json gives every "
                              "probability)"))
    return shown


def transfer_lines(transfer) -> list[str]:
    """What scoring a run on another dataset kept and dropped."""
    dropped = transfer.dropped_by_label or {}
    detail = f" ({', '.join(f'{k} {v}' for k, v in sorted(dropped.items(), key=lambda kv: -kv[1]))})" if dropped else ""
    without = transfer.labels_without_texts
    return [f"labels shared with {transfer.dataset}: {', '.join(transfer.shared_labels)}; only the run's: "
            f"{', '.join(transfer.model_only_labels) or 'none'}; only the data's: "
            f"{', '.join(transfer.data_only_labels) or 'none'}",
            f"{transfer.dropped} of {transfer.examples} examples dropped (no label the run knows){detail}; predictions: "
            f"{transfer.prediction}; averages over the shared labels"
            + (f" with texts (none: {', '.join(without)})" if without else "")]


def transfer_rates(transfer) -> str:
    return (f"hit rate (top shared label among the text's labels) {transfer.hit_rate:.4f}; majority rate "
            f"{transfer.majority_rate:.4f} (always {transfer.majority_label!r})")
