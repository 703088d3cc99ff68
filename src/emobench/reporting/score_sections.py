"""The report on the scores: per-class and overall tables, the paired tests, ensembles, calibration and the
conclusions drawn from them."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..evaluation.analysis import Comparison
from ..evaluation.statistics import LOWER_IS_BETTER, METRIC_NAMES
from . import plots
from .baseline_sections import verdict_sentence
from .cells import best_cells, best_in_rows, model_label, not_baselines, plural
from .render import Bullets, Figure, Heading, Paragraph, Table, bold

WIDE = 10  # more labels than this: the per-class table lists labels as rows


def per_class_table(c: Comparison) -> Table:
    mean_note = " (mean over seeds)" if len(c.seeds) > 1 else ""
    if c.task == "single_label" and len(c.labels) <= WIDE:
        header = ["model"] + [f"{label} {m}" for label in c.labels for m in ("P", "R", "F1")]
        values = [[m.per_class[label][k] for label in c.labels for k in ("precision", "recall", "f1")] for m in c.models]
        rows = [[model_label(m)] + [f"{v:.2f}" for v in row] for m, row in zip(c.models, values)]
        return Table(header, rows, best_cells(not_baselines(values, c.models), 1),
                     groups=[("", 1)] + [(label, 3) for label in c.labels],
                     caption=f"Precision / recall / F1 per class on the test split{mean_note}; the best model's value of "
                             "each column in bold (baselines never; none where every model scores 0).")
    header = ["label", "support"] + [f"{model_label(m)} {k}" for m in c.models for k in ("P", "R", "F1")]
    values = [[m.per_class[label][k] for m in c.models for k in ("precision", "recall", "f1")] for label in c.labels]
    rows = [[label, str(c.models[0].per_class[label]["support"])] + [f"{v:.2f}" for v in row]
            for label, row in zip(c.labels, values)]
    return Table(header, rows, best_in_rows(values, len(c.models), 2, {i for i, m in enumerate(c.models) if m.baseline}),
                 groups=[("", 2)] + [(model_label(m), 3) for m in c.models],
                 caption=f"Precision / recall / F1 per label on the test split{mean_note}; for each label the best model's "
                         "value of each measure in bold.")


def overall_table(c: Comparison) -> Table:
    header = ["model"] + [f"{METRIC_NAMES[m]} [95% CI]" for m in c.metrics]
    multi_seed = len(c.seeds) > 1
    if multi_seed:
        header += [f"{METRIC_NAMES[m]} mean ± sd" for m in c.metrics[:2]]
    header += ["train s", "eval examples/s", "parameters"]
    rows, values = [], []
    for m in c.models:
        cells, numbers = [model_label(m)], []
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
    return Table(header, rows, best_cells(not_baselines(values, c.models), 1, lower), caption=note)


def test_blocks(c: Comparison) -> list:
    """The primary metric's tests (the ones every claim of the report rests on), then, for single-label data, McNemar's
    test on accuracy, labelled as such: a test on one metric never speaks for another."""
    primary = METRIC_NAMES[c.primary]
    blocks = [Paragraph(f"{c.test_description[0].upper()}{c.test_description[1:]} on the same {c.n_test} test "
                        f"examples for every pair of models (seed {c.seeds[0]}), p-values adjusted for "
                        f"{plural(len(c.tests), 'comparison')} with Holm's method; significant means adjusted p < {c.alpha}. The ranking, the "
                        f"conclusions and the verdicts against the baselines rest on these {primary} tests; \"beats\" "
                        f"means a significantly higher {primary} on these predictions."),
              Bullets([pair_sentence(t) for t in sorted(c.tests, key=lambda t: t.p_holm)]),
              Table(["A", "B", f"{primary} A", f"{primary} B", "test", "p", "p (Holm)", "significant"],
                    [[t.a, t.b, f"{t.score_a:.4f}", f"{t.score_b:.4f}", t.method, f"{t.p_value:.2g}", f"{t.p_holm:.2g}",
                      "yes" if t.significant else "no"] for t in c.tests],
                    caption=f"Paired tests on {primary}, on the test split.")]
    if c.accuracy_tests:
        blocks += [Paragraph(f"On accuracy instead: {c.accuracy_test_description}, Holm-adjusted over its own "
                             f"{plural(len(c.accuracy_tests), 'comparison')}. It says which model gets more texts right, which "
                             f"can differ from which has the higher {primary}; no sentence about {primary} rests on it."),
                   Table(["A", "B", "accuracy A", "accuracy B", "only A right", "only B right", "test", "p", "p (Holm)",
                          "significant on accuracy"],
                         [[t.a, t.b, f"{t.score_a:.4f}", f"{t.score_b:.4f}", str(t.only_a_right), str(t.only_b_right),
                           t.method, f"{t.p_value:.2g}", f"{t.p_holm:.2g}",
                           f"yes, {t.better} more accurate" if t.significant else "no"] for t in c.accuracy_tests],
                         caption="McNemar's tests on accuracy, on the test split.")]
    return blocks


def pair_sentence(t) -> list | str:
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


def ensemble_blocks(c: Comparison) -> list:
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


def calibration_blocks(c: Comparison, figures: Path) -> list:
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
            Table(header, rows, best_cells(values, 1, lower), caption="Calibration on the test split; the best model's "
                  "value after scaling in bold (baselines never: a constant answer is trivially well calibrated)."),
            Figure(figure, "Reliability diagrams on the test split: accuracy per confidence bin after temperature "
                           "scaling (bars) and before (dashed); the diagonal is perfect calibration.")]


def conclusions(c: Comparison) -> list:
    """The report's answer, as its Summary opens: the best model with its interval, against the majority baseline and
    the runner-up, the models not above the majority, and how precisely the test split measures a score."""
    primary = c.primary
    metric = METRIC_NAMES[primary]
    compared = [m for m in c.models if not m.baseline]
    ranked = sorted(compared or c.models, key=lambda m: m.scores[primary].value, reverse=primary not in LOWER_IS_BETTER)
    best = ranked[0]
    second_metric = c.metrics[0] if c.metrics[0] != primary else c.metrics[1]
    interval = best.scores[primary]
    lines = [["Best ", metric, ": ", bold(best.name), f" ({interval.value:.4f}, 95% bootstrap interval "
              f"[{interval.low:.4f}, {interval.high:.4f}]; {METRIC_NAMES[second_metric]} "
              f"{best.scores[second_metric].value:.4f})."]]
    lines += [verdict_sentence(a) for a in c.against_baseline if a.name == best.name and a.verdict == "above"]
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
        lines.append([bold(verdict_sentence(a)), " Do not use it as it is."])
    widths = [m.scores[primary].high - m.scores[primary].low for m in compared]
    if widths and max(widths) < 1e-9:  # every resample scores the same: perfect or constant answers
        lines.append(f"The 95% bootstrap intervals of {', '.join(m.name for m in compared)} have no width (the same "
                     f"{metric} on every resample: perfect or constant answers), so they say nothing of how precisely "
                     f"{c.n_test} test texts measure it; look for leakage or a test split too easy to tell models apart.")
    elif widths:
        whose = ", ".join(m.name for m in compared)
        lines.append(f"With {c.n_test} test examples a {metric} is known to about ±{50 * np.mean(widths):.1f} points (half "
                     f"the mean width of the 95% bootstrap intervals of {whose}; baselines left out): smaller gaps are "
                     "noise.")
    return lines
