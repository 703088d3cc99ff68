"""The report beyond one test split: data budgets, transfer to another dataset, and the published results."""
from __future__ import annotations

from pathlib import Path

from ..data.budgets import NONE as NO_LABELS
from ..data.references import PublishedResults
from ..evaluation.analysis import BudgetAnalysis, Comparison, TransferResult
from ..evaluation.statistics import METRIC_NAMES
from . import plots
from .baseline_sections import answer_sentence, verdict_sentence
from .cells import best_cells, lower_first, model_label
from .render import Bullets, Figure, Heading, Paragraph, Table, bold


ZERO_SHOT = "0 labelled texts: zero-shot"


def budget_name(budget: str) -> str:
    if budget == "all":
        return "the whole training split"
    if budget == NO_LABELS:
        return ZERO_SHOT
    return f"{float(budget):.0%} of the training split" if "." in budget else f"{budget} texts per class"


def budget_blocks(b: BudgetAnalysis, figures: Path) -> list:
    models = list(dict.fromkeys(p.name for p in b.points))
    header = ["model"] + [f"{budget_name(budget)} macro-F1 [95% CI]" for budget in b.budgets]
    rows, values = [], []
    for name in models:
        cells, numbers = [name + (" (baseline)" if any(p.baseline for p in b.points if p.name == name) else "")], []
        for budget in b.budgets:
            p = next((p for p in b.points if p.name == name and p.budget == budget), None)
            cells.append(f"{p.macro_f1.value:.4f} [{p.macro_f1.low:.3f}, {p.macro_f1.high:.3f}] "
                         f"({ZERO_SHOT if p.zero_shot else f'{p.train_texts:.0f} texts'})" if p else "–")
            numbers.append(p.macro_f1.value if p and not p.baseline else None)
        rows.append(cells)
        values.append(numbers)
    winners = [[budget_name(w.budget), w.best, f"{w.score:.4f}", w.runner_up or "–",
                f"{w.runner_up_score:.4f}" if w.runner_up_score is not None else "–",
                f"{w.p_holm:.2g}" if w.p_holm is not None else "–", _winner_verdict(w),
                w.against_majority or "–"] for w in b.winners]
    flagged = [f"at {budget_name(budget)}: {verdict_sentence(a)}" for budget, checks in b.against_baseline.items()
               for a in checks if a.verdict != "above"]
    answers = [f"At {budget_name(budget)}: {lower_first(answer_sentence(answer))}" for budget, answer in b.majority_answers.items()]
    curves = {name: [(p.train_texts, p.macro_f1.value, p.macro_f1.low, p.macro_f1.high) for p in b.points if p.name == name]
              for name in models}
    figure = plots.budget_curves(curves, {p.name for p in b.points if p.baseline}, figures / "data_budgets.png")
    validation = ("the whole validation split" if b.validation == "full" else
                  "a validation split cut like the training split (as a small-data user has)")
    blocks = [Heading(2, "Data budgets"),
              Paragraph("Every model trained on stratified subsamples of the training split, the same subsample for every "
                        "model at a given size and seed (recorded row by row in each run's data.json); the test split is "
                        f"untouched, and epochs and thresholds were chosen on {validation}. Intervals: 95% t-intervals over "
                        "seeds (one seed: bootstrap over test texts)."),
              Table(header, rows, best_cells(values, 1), caption="Test macro-F1 at each budget (mean over seeds); the best "
                    "model of each budget in bold."),
              Figure(figure, "Learning curves: test macro-F1 against labelled training texts (log scale), 95% intervals."),
              Table(["budget", "best model", "macro-F1", "runner-up", "macro-F1", "p (Holm)", "significant on macro-F1",
                     "against majority (macro-F1)"], winners,
                    caption=f"The best model at each budget (mean macro-F1 over seeds) against the runner-up: "
                            f"{b.test_description}, Holm-adjusted over the budgets; against the majority baseline with "
                            "the same test, Holm-adjusted over the pairs of the budget.")]
    if b.zero_shot:
        blocks.append(Paragraph(zero_shot_sentence(b)))
    if answers:
        blocks.append(Bullets(answers))
    if flagged:
        blocks.append(Bullets([[bold(line)] for line in flagged]))
    return blocks


def zero_shot_sentence(b: BudgetAnalysis) -> str:
    """Which points of the learning curves used no labelled texts (honest about what a zero-shot point is)."""
    names = ", ".join(dict.fromkeys(p.name for p in b.zero_shot))
    return (f"Points that used no labelled texts ({ZERO_SHOT}, marked as such in the tables and with a star on the "
            f"curves): {names}. They learnt from no training label; the majority baseline needs labels, so none is "
            "tested against it there.")


def skipped_blocks(skipped: list) -> list:
    """The models a study did not train at a budget, and why: listed, never silently missing from the tables."""
    if not skipped:
        return []
    lines = [f"{s.model} at {budget_name(s.budget)}: not trained ({s.reason})" for s in skipped]
    return [Paragraph("Not every model was trained at every data budget:"), Bullets(lines)]


def _winner_verdict(w) -> str:
    if w.p_holm is None:
        return "–"
    if w.significant:
        return "yes"
    if w.tested_better is not None:  # the tested seed orders the two the other way round
        return (f"no: on the tested seed {w.tested_better} is significantly ahead ({w.tested_scores[1]:.4f} against "
                f"{w.tested_scores[0]:.4f})")
    return "no"


def transfer_blocks(results: list[TransferResult], baselines: set[str] = frozenset()) -> list:
    first = results[0]
    metric_names = ["macro_f1"] + (["micro_f1"] if first.task == "multi_label" else ["accuracy"])
    header = ["model", "in-domain accuracy", "in-domain macro-F1",
              *[f"{first.dataset} {METRIC_NAMES[m]} [95% CI]" for m in metric_names],
              "hit rate [95% CI]", "majority rate", "texts kept", "dropped"]
    rows, values = [], []
    for r in results:
        shown = f"{r.name} (baseline)" if r.name in baselines else r.name
        rows.append([shown, f"{r.in_domain['accuracy']:.4f}", f"{r.in_domain['macro_f1']:.4f}",
                     *[f"{r.scores[m].value:.4f} [{r.scores[m].low:.3f}, {r.scores[m].high:.3f}]" for m in metric_names],
                     f"{r.hit_rate.value:.4f} [{r.hit_rate.low:.3f}, {r.hit_rate.high:.3f}]", f"{r.majority_rate:.4f}",
                     str(r.kept), str(r.dropped)])
        values.append([None] * (len(metric_names) + 6) if r.name in baselines else  # a baseline is never bold
                      [r.in_domain["accuracy"], r.in_domain["macro_f1"], *[r.scores[m].value for m in metric_names],
                       r.hit_rate.value, None, None, None])
    sentences = []
    for r in results:
        if r.hit_rate.low > r.majority_rate:
            where = "above"
        elif r.hit_rate.high < r.majority_rate:
            where = "below"
        else:
            where = "not clearly different from"
        sentences.append(f"{r.name}: its top shared label is one of the text's labels for {r.hit_rate.value:.1%} of the "
                         f"texts (95% CI {r.hit_rate.low:.1%}-{r.hit_rate.high:.1%}), {where} the "
                         f"{r.majority_rate:.1%} of always answering {r.majority_label!r}; macro-F1 "
                         f"{r.scores['macro_f1'].value:.4f} out of domain against {r.in_domain['macro_f1']:.4f} in domain.")
    notes = []
    if first.labels_without_texts:
        notes.append(f" No scored text has the shared label(s) {', '.join(first.labels_without_texts)}: they are left "
                     "out of the per-label scores and averages (a prediction of them counts as a mistake).")
    if first.overlap_with_training:
        notes.append(f" {first.overlap_with_training} of the scored texts also occur in the training split, so they are "
                     "not out of domain.")
    return [Heading(2, f"Transfer to {first.dataset}"),
            Paragraph(["Every model also scored on ", first.scored_on, " with only the labels both "
                       f"sides share ({', '.join(first.shared_labels)}): texts without a shared label are dropped "
                       f"({first.dropped} of {first.kept + first.dropped}), predictions are {first.prediction}, and "
                       "averages run over the shared labels only." + "".join(notes)]),
            Table(header, rows, best_cells(values, 1), caption="In domain (own test split) beside out of domain; hit "
                  "rate: the model's most probable shared label is one of the text's labels; majority rate: the hit rate "
                  "of always answering the most frequent shared label."),
            Bullets(sentences)]


def reference_blocks(c: Comparison, published: PublishedResults) -> list:
    paper = published.per_class
    order = sorted(c.labels)
    header = ["model", "accuracy"] + [f"{l} {m}" for l in order for m in ("P", "R", "F1")]
    values, rows = [], []
    for name, per_class in paper.items():
        row = [published.accuracy[name]] + [v for l in order for v in per_class[l]]
        values.append(row)
        rows.append([f"{name} (paper)"] + [f"{v:.2f}" if i else f"{v:.4f}" for i, v in enumerate(row)])
    for m in c.models:
        row = [m.scores["accuracy"].value] + [m.per_class[l][k] for l in order for k in ("precision", "recall", "f1")]
        values.append([None] * len(row) if m.baseline else row)  # a baseline is never bold
        rows.append([f"{model_label(m)} (ours)"] + [f"{v:.2f}" if i else f"{v:.4f}" for i, v in enumerate(row)])
    return [Heading(2, published.title), Paragraph(published.note),
            Table(header, rows, best_cells(values, 1), groups=[("", 2)] + [(l, 3) for l in order],
                  caption="Precision / recall / F1 per class; the best model's value of each column in bold (baselines never; "
                          "none where every model scores 0).")]
