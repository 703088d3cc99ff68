"""Tables for the terminal (rich), markdown, LaTeX and CSV."""
from __future__ import annotations

from rich.table import Table


def audit_tables(report: dict) -> list[Table]:
    splits = report["splits"]
    labels = Table("label", *splits, title=f"{report['dataset']}: label counts (share)")
    for label in report["labels"]:
        labels.add_row(label, *[f"{s['label_counts'][label]} ({100 * s['label_shares'][label]:.1f}%)"
                                for s in splits.values()])
    labels.add_row("[bold]total[/]", *[f"[bold]{s['size']}[/]" for s in splits.values()])
    texts = Table("split", "words mean", "p50", "p95", "max", "repeated", "conflicting", "empty", "placeholders",
                  title="texts and defects")
    for name, s in splits.items():
        w = s["words"]
        texts.add_row(name, f"{w['mean']:.1f}", f"{w['p50']:g}", f"{w['p95']:g}", str(w["max"]),
                      str(s["repeated_texts"]), str(s["conflicting_texts"]), str(s["empty_texts"]),
                      str(s["placeholder_texts"]))
    overall = report["overall"]
    texts.add_row("[bold]all splits[/]", "", "", "", "", str(overall["repeated_texts"]),
                  str(overall["conflicting_texts"]), "", "")
    leakage = Table("splits", "texts in both", title="leakage between splits")
    for pair, shared in report["leakage"].items():
        leakage.add_row(pair.replace("&", " & "), str(shared))
    return [labels, texts, leakage]
