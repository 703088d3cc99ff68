"""The comparison report: renders a :class:`~emobench.evaluation.analysis.Comparison` (and transfer results)
as one list of blocks, written as Markdown, self-contained HTML and LaTeX tables. Nothing is computed
here beyond formatting; the numbers come from evaluation/."""
from __future__ import annotations

import html
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..data.references import PublishedResults
from ..evaluation.analysis import NOTHING_MISSED, BudgetAnalysis, Comparison, NoiseAnalysis, TransferResult
from ..evaluation.statistics import LOWER_IS_BETTER, METRIC_NAMES
from . import plots
from .render import Bullets, Figure, Heading, Paragraph, Table, bold, code, write_documents

WIDE = 10  # more labels than this: the per-class table lists labels as rows


def _a_best(best: float, lower: bool) -> bool:
    """Bold marks a best: a column where the highest score is 0 (every model scores nothing) has none."""
    return lower or round(best, 4) > 0


def _best_cells(values: list[list[float | None]], start_col: int, lower: set[int] = frozenset()) -> set[tuple[int, int]]:
    """(row, column) of the best value in each column (lowest for the columns in ``lower``); ties at a real best all
    bold, a column whose best is 0 (higher is better) none."""
    cells = set()
    if not values:
        return cells
    for j in range(len(values[0])):
        column = [row[j] for row in values if row[j] is not None]
        if not column:
            continue
        best = min(column) if j in lower else max(column)
        if not _a_best(best, j in lower):
            continue
        for i, row in enumerate(values):
            if row[j] is not None and round(row[j], 4) == round(best, 4):
                cells.add((i, j + start_col))
    return cells


def _best_in_rows(values: list[list[float]], groups: int, start_col: int, skip: set[int] = frozenset()) -> set[tuple[int, int]]:
    """For tables with models as column groups: the best of each metric across models, per row (``skip``: groups
    that are never bold, the baselines)."""
    cells = set()
    for i, row in enumerate(values):
        per_model = len(row) // groups
        for k in range(per_model):
            column = [row[g * per_model + k] for g in range(groups)]
            candidates = [v for g, v in enumerate(column) if g not in skip]
            if not candidates:
                continue
            best = max(candidates)
            if not _a_best(best, False):
                continue
            cells |= {(i, start_col + g * per_model + k) for g in range(groups)
                      if g not in skip and round(column[g], 4) == round(best, 4)}
    return cells


def _shown(m) -> str:
    return f"{m.name} (baseline)" if m.baseline else m.name


def _not_baselines(values: list[list], models) -> list[list]:
    """The values with the baselines' rows blanked: a baseline is never the column's best."""
    return [[None] * len(row) if m.baseline else row for row, m in zip(values, models)]


def build_report(comparison: Comparison, outcomes: list, data: dict, folder: Path, formats=("md", "html"),
                 transfer: list[TransferResult] | None = None, explanations: dict | None = None,
                 reference: PublishedResults | None = None, budgets: BudgetAnalysis | None = None, main_budget: str = "all",
                 noise: NoiseAnalysis | None = None) -> dict:
    """Writes the documents and figures; returns their paths and the facts behind them (JSON-ready, for the
    comparison's statistics). ``outcomes``: the compared runs (RunOutcome); ``data``: the data record of their
    dataset; ``reference``: the published results to set beside ours (the dataset registry's entry names them)."""
    folder = Path(folder)
    figures = folder / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    c = comparison
    names = [m.name for m in c.models]
    blocks: list = [Heading(1, f"emobench comparison: {c.dataset}")]
    task_note = " Multi-label data: a text may carry several labels; models decide with thresholds tuned on " \
                "validation." if c.task == "multi_label" else ""
    budget_note = "" if budgets is None else (
        f" The tables below are for the largest data budget ({_budget_name(main_budget)}); the section \"Data budgets\" "
        "compares every budget.")
    if budgets is None and main_budget != "all":  # one budget only: said here, as no budget section follows
        texts = sorted({int(o.train_texts) for o in outcomes if not o.baseline})
        budget_note = (f" Every model was trained on a data budget: {_budget_name(main_budget)} "
                       f"({' to '.join(map(str, dict.fromkeys([texts[0], texts[-1]])))} training texts), not the whole "
                       "training split." if texts else f" Every model was trained on a data budget: "
                       f"{_budget_name(main_budget)}, not the whole training split.")
    blocks.append(Paragraph(["Every number is on the ", bold("test split"), f" ({c.n_test} examples) of ",
                             code(c.dataset), f"; {_split_note(data)} Models were chosen on validation only. "
                             f"Seeds: {', '.join(map(str, c.seeds))}.{task_note}{budget_note}"]))

    blocks.append(Heading(2, "Per-class precision, recall and F1"))
    blocks.append(_per_class_table(c))
    blocks.append(Heading(2, "Overall scores"))
    blocks.append(_overall_table(c))
    if c.best_constant is not None and not c.against_baseline:  # else shown beside the majority baseline
        blocks.append(Paragraph(_constant_sentence(c)))

    blocks.append(Heading(2, "Are the differences real?"))
    if c.tests:
        blocks += _test_blocks(c)
    else:
        blocks.append(Paragraph("Only one model: nothing to test."))

    if c.against_baseline:
        blocks += _baseline_blocks(c)
    if budgets is not None:
        blocks += _budget_blocks(budgets, figures)
    if c.ensembles:
        blocks += _ensemble_blocks(c)
    if transfer:
        blocks += _transfer_blocks(transfer, set(c.baselines))
    if c.calibration:
        blocks += _calibration_blocks(c, figures)
    if c.errors:
        blocks += _error_blocks(c, explanations or {})
    if noise is not None:
        blocks += _noise_blocks(noise)

    blocks.append(Heading(2, "Figures"))
    f1 = np.array([[m.per_class[label]["f1"] for label in c.labels] for m in c.models])
    blocks.append(Figure(plots.per_class_f1(names, c.labels, f1, figures / "per_class_f1.png"), "F1 per class on the test split."))
    if c.task == "single_label":
        blocks.append(Figure(plots.confusion_matrices([(m.name, m.confusion) for m in c.models], c.labels,
                                                      figures / "confusion_matrices.png"),
                             "Confusion matrices on the test split, each row normalised to 1 (rows: true label)."))
    curves = plots.learning_curves({m.name: m.history for m in c.models}, figures / "learning_curves.png")
    if curves:
        blocks.append(Figure(curves, "Learning curves of the models trained in epochs."))

    if reference is not None:
        blocks.extend(_reference_blocks(c, reference))
    blocks.append(Heading(2, "Data"))
    warnings = (data.get("warnings") or []) + (data.get("audit_warnings") or [])
    blocks.append(Bullets(warnings or ["The audit found no duplicates, conflicting labels, leakage or placeholders."]))
    blocks.append(Heading(2, "Conclusions"))
    blocks.append(Bullets(_conclusions(c)))
    blocks.append(Heading(2, "Runs"))
    blocks.append(Bullets([[code(o.name), f" seed {o.seed}: ", code(o.run_dir)] for o in outcomes]))

    written = write_documents(blocks, folder, formats)
    facts = {"comparison": asdict(c), "transfer": [asdict(t) for t in transfer] if transfer else None,
             "budgets": asdict(budgets) if budgets is not None else None,
             "label_noise": asdict(noise) if noise is not None else None,
             "explanations": {name: [{**item, "explanation": asdict(item["explanation"])} for item in items]
                              for name, items in (explanations or {}).items()}}
    for model in facts["comparison"]["models"]:
        model.pop("history", None)
    return {"files": written, "facts": json.loads(json.dumps(facts, default=float))}


def _per_class_table(c: Comparison) -> Table:
    mean_note = " (mean over seeds)" if len(c.seeds) > 1 else ""
    if c.task == "single_label" and len(c.labels) <= WIDE:
        header = ["model"] + [f"{label} {m}" for label in c.labels for m in ("P", "R", "F1")]
        values = [[m.per_class[label][k] for label in c.labels for k in ("precision", "recall", "f1")] for m in c.models]
        rows = [[_shown(m)] + [f"{v:.2f}" for v in row] for m, row in zip(c.models, values)]
        return Table(header, rows, _best_cells(_not_baselines(values, c.models), 1),
                     groups=[("", 1)] + [(label, 3) for label in c.labels],
                     caption=f"Precision / recall / F1 per class on the test split{mean_note}; the best model's value of "
                             "each column in bold (baselines never; none where every model scores 0).")
    header = ["label", "support"] + [f"{_shown(m)} {k}" for m in c.models for k in ("P", "R", "F1")]
    values = [[m.per_class[label][k] for m in c.models for k in ("precision", "recall", "f1")] for label in c.labels]
    rows = [[label, str(c.models[0].per_class[label]["support"])] + [f"{v:.2f}" for v in row]
            for label, row in zip(c.labels, values)]
    return Table(header, rows, _best_in_rows(values, len(c.models), 2, {i for i, m in enumerate(c.models) if m.baseline}),
                 groups=[("", 2)] + [(_shown(m), 3) for m in c.models],
                 caption=f"Precision / recall / F1 per label on the test split{mean_note}; for each label the best model's "
                         "value of each measure in bold.")


def _overall_table(c: Comparison) -> Table:
    header = ["model"] + [f"{METRIC_NAMES[m]} [95% CI]" for m in c.metrics]
    multi_seed = len(c.seeds) > 1
    if multi_seed:
        header += [f"{METRIC_NAMES[m]} mean ± sd" for m in c.metrics[:2]]
    header += ["train s", "eval examples/s", "parameters"]
    rows, values = [], []
    for m in c.models:
        cells, numbers = [_shown(m)], []
        for metric in c.metrics:
            s = m.scores[metric]
            cells.append(f"{s.value:.4f} [{s.low:.3f}, {s.high:.3f}]")
            numbers.append(s.value)
        if multi_seed:
            for metric in c.metrics[:2]:
                spread = m.over_seeds.get(metric)
                cells.append(f"{spread['mean']:.4f} ± {spread['sd']:.4f} (n={spread['n']})" if spread else "")
                numbers.append(spread["mean"] if spread else None)
        cells += [f"{m.train_seconds:.1f}", f"{m.eval_examples_per_second:.0f}" if m.eval_examples_per_second else "–", f"{m.parameters or 0:,}"]
        rows.append(cells)
        values.append(numbers)
    lower = {i for i, metric in enumerate(c.metrics) if metric in LOWER_IS_BETTER}
    note = "95% percentile bootstrap intervals over test examples (1,000 resamples)" + \
           (f", for seed {c.seeds[0]}" if multi_seed else "") + "; the best model's value of each column in bold (baselines never)" + \
           (" (lowest Hamming loss)." if lower else ".")
    return Table(header, rows, _best_cells(_not_baselines(values, c.models), 1, lower), caption=note)


def _test_blocks(c: Comparison) -> list:
    """The primary metric's tests (the ones every claim of the report rests on), then, for single-label data, McNemar's
    test on accuracy, labelled as such: a test on one metric never speaks for another."""
    primary = METRIC_NAMES[c.primary]
    blocks = [Paragraph(f"{c.test_description[0].upper()}{c.test_description[1:]} on the same {c.n_test} test "
                        f"examples for every pair of models (seed {c.seeds[0]}), p-values adjusted for "
                        f"{_count(len(c.tests), 'comparison')} with Holm's method; significant means adjusted p < {c.alpha}. The ranking, the "
                        f"conclusions and the verdicts against the baselines rest on these {primary} tests; \"beats\" "
                        f"means a significantly higher {primary} on these predictions."),
              Bullets([_sentence(t) for t in sorted(c.tests, key=lambda t: t.p_holm)]),
              Table(["A", "B", f"{primary} A", f"{primary} B", "test", "p", "p (Holm)", "significant"],
                    [[t.a, t.b, f"{t.score_a:.4f}", f"{t.score_b:.4f}", t.method, f"{t.p_value:.2g}", f"{t.p_holm:.2g}",
                      "yes" if t.significant else "no"] for t in c.tests],
                    caption=f"Paired tests on {primary}, on the test split.")]
    if c.accuracy_tests:
        blocks += [Paragraph(f"On accuracy instead: {c.accuracy_test_description}, Holm-adjusted over its own "
                             f"{_count(len(c.accuracy_tests), 'comparison')}. It says which model gets more texts right, which "
                             f"can differ from which has the higher {primary}; no sentence about {primary} rests on it."),
                   Table(["A", "B", "accuracy A", "accuracy B", "only A right", "only B right", "test", "p", "p (Holm)",
                          "significant on accuracy"],
                         [[t.a, t.b, f"{t.score_a:.4f}", f"{t.score_b:.4f}", str(t.only_a_right), str(t.only_b_right),
                           t.method, f"{t.p_value:.2g}", f"{t.p_holm:.2g}",
                           f"yes, {t.better} more accurate" if t.significant else "no"] for t in c.accuracy_tests],
                         caption="McNemar's tests on accuracy, on the test split.")]
    return blocks


def _constant_sentence(c: Comparison) -> str:
    k = c.best_constant
    which = (f"one of the test split's equally most frequent labels ({', '.join(map(repr, k.tied_labels))}; any of them "
             "scores the same)" if k.tied_labels else "the most frequent label of the test split")
    return (f"Reference line, not a model: always answering {k.label!r}, {which}, scores "
            f"accuracy {k.scores['accuracy']:.4f} and macro-F1 {k.scores['macro_f1']:.4f}. It is read off the test labels, "
            "which no model may use, so it is not a baseline any model was tested against; it shows what a constant "
            "answer can reach on this split.")


def _answer_sentence(answer) -> str:
    if answer.label is None:
        return f"The {answer.name} baseline answers from {answer.chosen_from}."
    return (f"The {answer.name} baseline always answers {answer.label!r} ({answer.chosen_from}); on the test split it "
            f"scores accuracy {answer.scores['accuracy']:.4f} and macro-F1 {answer.scores['macro_f1']:.4f}.")


def _verdict_sentence(a) -> str:
    where = {"above": "is significantly above", "below": "is significantly BELOW",
             "not significantly above": "is NOT significantly above"}[a.verdict]
    metric = METRIC_NAMES.get(a.metric, a.metric)
    return (f"{a.name} {where} the {a.baseline} baseline on {metric} ({a.score:.4f} against {a.baseline_score:.4f}; "
            f"Holm-adjusted p = {a.p_holm:.2g}).")


def _baseline_blocks(c: Comparison) -> list:
    """Every model against the majority baseline: a model not significantly above it has learnt nothing we can see."""
    lines = []
    for a in c.against_baseline:
        sentence = _verdict_sentence(a)
        lines.append(sentence if a.verdict == "above" else [bold(sentence)])
    note = ("Baselines (" + ", ".join(c.baselines) + ") are scored and tested like the models, marked \"(baseline)\", "
            "and never bold. ") if c.baselines else ""
    answer = (" " + _answer_sentence(c.majority_answer)) if c.majority_answer is not None else ""
    metric = METRIC_NAMES[c.primary]
    blocks = [Heading(2, "Against the baselines"),
              Paragraph(note + f"Each model against the majority baseline on {metric}, with the paired {metric} test "
                        f"above.{answer}")]
    if c.best_constant is not None:
        blocks.append(Paragraph(_constant_sentence(c)))
    blocks.append(Bullets(lines))
    return blocks


def _noise_blocks(n: NoiseAnalysis) -> list:
    interval = lambda i: f"{i.value:.4f} [{i.low:.3f}, {i.high:.3f}]"  # noqa: E731
    accuracy = "subset accuracy" if n.multi_label else "accuracy"
    header = ["model", "macro-F1, all texts", "macro-F1, unflagged", f"{accuracy}, all texts", f"{accuracy}, unflagged",
              "mistakes", "of them flagged"]
    rows = [[s.name + (" (the flagger's family)" if s.flagger_kin else ""), interval(s.all["macro_f1"]),
             interval(s.unflagged["macro_f1"]), interval(s.all["accuracy"]),
             interval(s.unflagged["accuracy"]), str(s.mistakes),
             f"{s.mistakes_flagged} ({100 * s.mistakes_flagged / max(s.mistakes, 1):.0f}%)"] for s in n.scores]
    examples = [[_clip(e["text"], 100), ", ".join(e["given"]), ", ".join(e["suggested"]), f"{e['self_confidence']:.3f}",
                 f"{e['models_predicting_suggestion']} of {e['models']}"] for e in n.examples]
    blocks = [Heading(2, "Label noise in the test split"),
              Paragraph(f"{n.flagged} of the {n.total} test texts ({100 * n.flagged / max(n.total, 1):.1f}%) are flagged as "
                        f"likely mislabelled ({n.method}): their given label is improbable under models that never saw "
                        f"them. Of the {n.shared_mistakes} texts every model gets wrong, {n.shared_flagged} are flagged. "
                        "Flagged means suspect, not wrong: read the examples. Scores on the unflagged texts show how much "
                        "of the gap between models could be noise."),
              *([Paragraph(_kin_sentence(n))] if any(s.flagger_kin for s in n.scores) else []),
              *[Paragraph(f"Warning: {line}") for line in n.warnings],
              Table(header, rows, caption="Every model (lowest seed) on all test texts and on the unflagged ones, 95% "
                    "bootstrap intervals; how many of its mistakes are on flagged texts.")]
    if examples:
        blocks.append(Table(["text", "given", "suggested", "self-confidence", "models predicting the suggestion"], examples,
                            caption="The least likely given labels."))
    return blocks


def _kin_sentence(n: NoiseAnalysis) -> str:
    kin = [s.name for s in n.scores if s.flagger_kin]
    others = [s.name for s in n.scores if not s.flagger_kin and not s.baseline]
    fair = (f"compare {', '.join(others)} among themselves on the unflagged texts" if len(others) > 1 else
            f"{others[0]} is the one compared model free of this bias" if others else
            "no compared model is scored fairly on the unflagged texts")
    return (f"Not a fair comparison for {', '.join(kin)}: the flags come from a model of the same family "
            f"({n.method.split(',')[0]}), which flags the texts its kind of model disagrees with, so removing them "
            f"favours {'it' if len(kin) == 1 else 'them'} (marked \"the flagger's family\" below); {fair}.")


def _budget_name(budget: str) -> str:
    if budget == "all":
        return "the whole training split"
    return f"{float(budget):.0%} of the training split" if "." in budget else f"{budget} texts per class"


def _budget_blocks(b: BudgetAnalysis, figures: Path) -> list:
    models = list(dict.fromkeys(p.name for p in b.points))
    header = ["model"] + [f"{_budget_name(budget)} macro-F1 [95% CI]" for budget in b.budgets]
    rows, values = [], []
    for name in models:
        cells, numbers = [name + (" (baseline)" if any(p.baseline for p in b.points if p.name == name) else "")], []
        for budget in b.budgets:
            p = next((p for p in b.points if p.name == name and p.budget == budget), None)
            cells.append(f"{p.macro_f1.value:.4f} [{p.macro_f1.low:.3f}, {p.macro_f1.high:.3f}] ({p.train_texts:.0f} texts)"
                         if p else "–")
            numbers.append(p.macro_f1.value if p and not p.baseline else None)
        rows.append(cells)
        values.append(numbers)
    winners = [[_budget_name(w.budget), w.best, f"{w.score:.4f}", w.runner_up or "–",
                f"{w.runner_up_score:.4f}" if w.runner_up_score is not None else "–",
                f"{w.p_holm:.2g}" if w.p_holm is not None else "–", _winner_verdict(w),
                w.against_majority or "–"] for w in b.winners]
    flagged = [f"at {_budget_name(budget)}: {_verdict_sentence(a)}" for budget, checks in b.against_baseline.items()
               for a in checks if a.verdict != "above"]
    answers = [f"At {_budget_name(budget)}: {_lower_first(_answer_sentence(answer))}" for budget, answer in b.majority_answers.items()]
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
              Table(header, rows, _best_cells(values, 1), caption="Test macro-F1 at each budget (mean over seeds); the best "
                    "model of each budget in bold."),
              Figure(figure, "Learning curves: test macro-F1 against labelled training texts (log scale), 95% intervals."),
              Table(["budget", "best model", "macro-F1", "runner-up", "macro-F1", "p (Holm)", "significant on macro-F1",
                     "against majority (macro-F1)"], winners,
                    caption=f"The best model at each budget (mean macro-F1 over seeds) against the runner-up: "
                            f"{b.test_description}, Holm-adjusted over the budgets; against the majority baseline with "
                            "the same test, Holm-adjusted over the pairs of the budget.")]
    if answers:
        blocks.append(Bullets(answers))
    if flagged:
        blocks.append(Bullets([[bold(line)] for line in flagged]))
    return blocks


def _winner_verdict(w) -> str:
    if w.p_holm is None:
        return "–"
    if w.significant:
        return "yes"
    if w.tested_better is not None:  # the tested seed orders the two the other way round
        return (f"no: on the tested seed {w.tested_better} is significantly ahead ({w.tested_scores[1]:.4f} against "
                f"{w.tested_scores[0]:.4f})")
    return "no"


def _ensemble_blocks(c: Comparison) -> list:
    blocks = [Heading(2, "Ensembles"),
              Paragraph("An ensemble averages its members' calibrated test probabilities (each temperature-scaled on "
                        "validation) on the identical split, and is then scored, tested and analysed like any model above"
                        + (" (a multi-label ensemble decides with thresholds tuned on the members' averaged validation "
                           "probabilities)." if c.task == "multi_label" else "."))]
    lines = []
    scores = {m.name: m.scores[c.primary].value for m in c.models}
    for name in c.ensembles:
        members = name[len("ensemble("):-1].split("+")
        for member in members:
            test = next((t for t in c.tests if {t.a, t.b} == {name, member}), None)
            if test is None:
                continue
            metric = METRIC_NAMES[test.metric]
            verdict = (f"beats {member}" if test.better == name else f"is beaten by {member}") if test.significant \
                else f"is not significantly different from {member}"
            lines.append(f"{name} ({metric} {scores[name]:.4f}) {verdict} on {metric} ({scores[member]:.4f}; "
                         f"{test.method}, Holm-adjusted p = {test.p_holm:.2g}).")
    blocks.append(Bullets(lines))
    return blocks


def _calibration_blocks(c: Comparison, figures: Path) -> list:
    header = ["model", "temperature", "ECE before", "ECE after", "Brier before", "Brier after", "log-loss before",
              "log-loss after"]
    rows, values = [], []
    baselines = set(c.baselines)
    for cal in c.calibration:
        b, a = cal.before or {}, cal.after
        rows.append([f"{cal.name} (baseline)" if cal.name in baselines else cal.name, f"{cal.temperature:.3f}" if cal.temperature is not None else "(averaged)",
                     *[f"{b[k]:.4f}" if k in b else "" for k in ("ece",)], f"{a['ece']:.4f}",
                     f"{b['brier']:.4f}" if b else "", f"{a['brier']:.4f}", f"{b['log_loss']:.4f}" if b else "",
                     f"{a['log_loss']:.4f}"])
        # a baseline is never bold: a constant answer is trivially well calibrated
        values.append([None] * 7 if cal.name in baselines else [None, None, a["ece"], None, a["brier"], None, a["log_loss"]])
    lower = set(range(7))
    what = "per label (each probability judged as a binary prediction)" if c.task == "multi_label" else \
        "of the top label"
    figure = plots.reliability_diagrams([(cal.name, cal.bins_after, cal.bins_before) for cal in c.calibration],
                                        figures / "reliability.png", c.task == "multi_label")
    return [Heading(2, "Are the probabilities honest?"),
            Paragraph(f"Expected calibration error (15 confidence bins, {what}), Brier score and log-loss on the test "
                      "split, before and after temperature scaling (one temperature per model, fitted on validation "
                      "log-loss; it never changes a single-label prediction). Lower is better."),
            Table(header, rows, _best_cells(values, 1, lower), caption="Calibration on the test split; the best model's "
                  "value after scaling in bold (baselines never: a constant answer is trivially well calibrated)."),
            Figure(figure, "Reliability diagrams on the test split: accuracy per confidence bin after temperature "
                           "scaling (bars) and before (dashed); the diagonal is perfect calibration.")]


def _error_blocks(c: Comparison, explanations: dict) -> list:
    from .explanations import to_html, to_markdown
    from .render import Html, md_escape

    blocks = [Heading(2, "Where the models fail"),
              Paragraph("Per model: the most confident mistakes, the most frequent confusions with example texts, and "
                        "the mistakes on texts that occur in the data with conflicting labels (label noise, not model "
                        "error). Token colours: green speaks for the predicted label, red against.")]
    for report in c.errors:
        blocks.append(Heading(3, report.name))
        noise = ("label noise not recorded for these runs" if report.noise_mistakes is None else
                 f"{report.noise_mistakes} of them on texts with conflicting labels in the data")
        blocks.append(Paragraph(f"{report.mistakes} mistakes on {c.n_test} test texts; {noise}."))
        if report.confident:
            blocks.append(Table(["text", "true", "predicted", "confidence", "label noise"],
                                [[_clip(m.text), m.label, m.predicted, f"{m.confidence:.3f}", "yes" if m.label_noise else ""]
                                 for m in report.confident], caption="The most confident mistakes."))
        if report.confusions:
            multi = c.task == "multi_label"
            blocks.append(Table(["gold label missed" if multi else "true",
                                 "label predicted, not gold" if multi else "predicted", "count", "example texts"],
                                [[x.true, x.predicted, str(x.count), " / ".join(_clip(t, 90) for t in x.examples)]
                                 for x in report.confusions],
                                caption="The most frequent confusions" + (": each wrong label set counted once per pair of a "
                                "missed gold label and a wrongly predicted one." if multi else ".")))
        for item in explanations.get(report.name, []):
            e = item["explanation"]
            if c.task == "multi_label":  # a confusion pairs a missed gold label (or none) with a wrongly predicted one
                what = f"wrongly predicted {item['predicted']}" + (
                    f", gold {item['true']} missed" if item["true"] != NOTHING_MISSED else ", no gold label missed")
            else:
                what = f"true {item['true']}, predicted {item['predicted']}"
            blocks.append(Html(f"<p>{html.escape(what)}: {to_html(e)}</p>", markdown=f"- {to_markdown(e)} ({md_escape(what)})"))
        if report.noise_examples:
            blocks.append(Bullets([f"label noise: {_clip(m.text)} (gold {m.label}, predicted {m.predicted})"
                                   for m in report.noise_examples[:3]]))
    if c.shared_mistakes:
        shared = c.shared_mistakes
        blocks.append(Heading(3, "Mistakes every model makes"))
        blocks.append(Paragraph(f"{shared.count} of {shared.total} test texts are wrong for every compared model "
                                "(ensembles left out): hard cases, or wrong gold labels."))
        if shared.examples:
            names = list(shared.examples[0]["predictions"])
            blocks.append(Table(["text", "gold", *names], [[_clip(e["text"]), e["label"], *[e["predictions"][n] for n in names]]
                                                           for e in shared.examples], caption="Examples."))
    return blocks


def _clip(text: str, width: int = 140) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _transfer_blocks(results: list[TransferResult], baselines: set[str] = frozenset()) -> list:
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
            Table(header, rows, _best_cells(values, 1), caption="In domain (own test split) beside out of domain; hit "
                  "rate: the model's most probable shared label is one of the text's labels; majority rate: the hit rate "
                  "of always answering the most frequent shared label."),
            Bullets(sentences)]


def _split_note(data: dict) -> str:
    source = data.get("source") or {}
    split = source.get("split")
    mapped = source.get("label_map")
    note = ""
    if mapped:
        note = f" Labels mapped by {mapped['name']}" + (f" (dropped {sum(mapped['dropped'].values())} texts)"
                                                         if sum(mapped["dropped"].values()) else "") + "."
    if split:
        return (f"the split is emobench's stratified split (seed {split['seed']}, fractions {split['fractions']}), "
                "recorded line by line in each run's data.json." + note)
    files = source.get("files") or {}
    return (f"the split is the dataset's own ({_count(len(files), 'file')}, sha256 recorded in each run's data.json)."
            + note)


def _lower_first(sentence: str) -> str:
    return sentence[:1].lower() + sentence[1:] if sentence[:4] == "The " else sentence


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _sentence(t) -> list | str:
    """One pair's test, naming its metric; the direction is that metric's on the tested predictions."""
    a, b = t.a, t.b
    metric = METRIC_NAMES.get(t.metric, t.metric)
    scores = f"{metric} {t.score_a:.4f} against {t.score_b:.4f}"
    if t.only_a_right is not None:
        scores += f"; {t.only_a_right} texts only {a} gets right, {t.only_b_right} only {b}"
    if t.significant:
        loser = b if t.better == a else a
        return [bold(f"{t.better} beats {loser} on {metric}"), f", p = {t.p_holm:.2g} (Holm-adjusted; {a} against {b}: "
                f"{scores})."]
    return (f"No significant difference in {metric} between {a} and {b}, p = {t.p_holm:.2g} (Holm-adjusted; {scores}).")


def _conclusions(c: Comparison) -> list:
    primary = c.primary
    metric = METRIC_NAMES[primary]
    compared = [m for m in c.models if not m.baseline]
    ranked = sorted(compared or c.models, key=lambda m: m.scores[primary].value, reverse=primary not in LOWER_IS_BETTER)
    best = ranked[0]
    second_metric = c.metrics[0] if c.metrics[0] != primary else c.metrics[1]
    lines = [["Best ", metric, ": ", bold(best.name), f" ({best.scores[primary].value:.4f}, "
              f"{METRIC_NAMES[second_metric]} {best.scores[second_metric].value:.4f})."]]
    if len(ranked) > 1:
        second = ranked[1]
        test = next(t for t in c.tests if {t.a, t.b} == {best.name, second.name})
        if test.significant and test.better == best.name:
            verdict = f"a significant difference in {metric}"
        elif test.significant:  # the ranking's scores and the tested predictions disagree: say so, never claim the gap
            verdict = f"reversed on the tested predictions: {test.better} has the significantly higher {metric}"
        else:
            verdict = f"not a significant difference in {metric}"
        lines.append(f"Against the runner-up, {second.name} ({metric} {second.scores[primary].value:.4f}), "
                     f"the gap is {verdict} ({test.method}, Holm-adjusted p = {test.p_holm:.2g}).")
        accuracy = next((t for t in c.accuracy_tests if {t.a, t.b} == {best.name, second.name}), None)
        if accuracy is not None and accuracy.significant and accuracy.better != best.name:
            lines.append(f"On accuracy the order is the other way round: {accuracy.better} gets significantly more test "
                         f"texts right ({accuracy.method}, Holm-adjusted p = {accuracy.p_holm:.2g}); choose by the metric "
                         "that matters for the use.")
        elif accuracy is not None and second.scores["accuracy"].value > best.scores["accuracy"].value:
            lines.append(f"On accuracy the order is the other way round: {second.name} gets more test texts right "
                         f"({second.scores['accuracy'].value:.4f} against {best.scores['accuracy'].value:.4f}), not "
                         f"significantly ({accuracy.method}, Holm-adjusted p = {accuracy.p_holm:.2g}).")
    for a in c.flagged:
        lines.append([bold(_verdict_sentence(a)), " Do not use it as it is."])
    widths = [m.scores[primary].high - m.scores[primary].low for m in compared]
    if widths:
        whose = ", ".join(m.name for m in compared)
        lines.append(f"With {c.n_test} test examples a {metric} is known to about ±{50 * np.mean(widths):.1f} points (half "
                     f"the mean width of the 95% bootstrap intervals of {whose}; baselines left out): smaller gaps are "
                     "noise.")
    return lines


def _reference_blocks(c: Comparison, published: PublishedResults) -> list:
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
        rows.append([f"{_shown(m)} (ours)"] + [f"{v:.2f}" if i else f"{v:.4f}" for i, v in enumerate(row)])
    return [Heading(2, published.title), Paragraph(published.note),
            Table(header, rows, _best_cells(values, 1), groups=[("", 2)] + [(l, 3) for l in order],
                  caption="Precision / recall / F1 per class; the best model's value of each column in bold (baselines never; "
                          "none where every model scores 0).")]

