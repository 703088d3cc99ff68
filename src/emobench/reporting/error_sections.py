"""The report on mistakes: where each model fails, the mistakes every model makes, and label noise in the test split."""
from __future__ import annotations

import html

from ..evaluation.analysis import NOTHING_MISSED, Comparison, NoiseAnalysis
from .cells import clip
from .render import Bullets, Heading, Paragraph, Table


def error_blocks(c: Comparison, explanations: dict) -> list:
    from .explanations import to_html, to_markdown
    from .render import Html, md_escape

    blocks = [Heading(2, "Where the models fail"),
              Paragraph("Per model: the most confident mistakes, the most frequent confusions with example texts, and "
                        "the mistakes on texts that occur in the data with conflicting labels (label noise, not model "
                        "error). Token colours: green speaks for the predicted label, red against.")]
    baselines = set(c.baselines)
    compact = []
    for report in c.errors:
        if report.name in baselines:  # a constant or random answer's mistakes teach nothing: one line each
            compact.append(_baseline_line(c, report))
            continue
        blocks.append(Heading(3, report.name))
        noise = ("label noise not recorded for these runs" if report.noise_mistakes is None else
                 f"{report.noise_mistakes} of them on texts with conflicting labels in the data")
        blocks.append(Paragraph(f"{report.mistakes} mistakes on {c.n_test} test texts; {noise}."))
        if report.confident:
            blocks.append(Table(["text", "true", "predicted", "confidence", "label noise"],
                                [[clip(m.text), m.label, m.predicted, f"{m.confidence:.3f}", "yes" if m.label_noise else ""]
                                 for m in report.confident], caption="The most confident mistakes."))
        if report.confusions:
            multi = c.task == "multi_label"
            blocks.append(Table(["gold label missed" if multi else "true",
                                 "label predicted, not gold" if multi else "predicted", "count", "example texts"],
                                [[x.true, x.predicted, str(x.count), " / ".join(clip(t, 90) for t in x.examples)]
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
            blocks.append(Bullets([f"label noise: {clip(m.text)} (gold {m.label}, predicted {m.predicted})"
                                   for m in report.noise_examples[:3]]))
    if compact:
        blocks += [Heading(3, "Baselines"), Bullets(compact)]
    if c.shared_mistakes:
        shared = c.shared_mistakes
        blocks.append(Heading(3, "Mistakes every model makes"))
        blocks.append(Paragraph(f"{shared.count} of {shared.total} test texts are wrong for every compared model "
                                "(ensembles left out): hard cases, or wrong gold labels."))
        if shared.examples:
            names = list(shared.examples[0]["predictions"])
            blocks.append(Table(["text", "gold", *names], [[clip(e["text"]), e["label"], *[e["predictions"][n] for n in names]]
                                                           for e in shared.examples], caption="Examples."))
    return blocks


def _baseline_line(c: Comparison, report) -> str:
    top = report.confusions[0] if report.confusions else None
    answer = c.majority_answer if c.majority_answer is not None and c.majority_answer.name == report.name else None
    says = f"; it always answers {answer.label!r}" if answer is not None and answer.label is not None else ""
    tied = sum(1 for x in report.confusions if x.count == top.count) if top is not None else 0
    most = "" if top is None or says else (f"; most often {top.true} taken for {top.predicted} ({top.count})" if tied == 1
                                           else f"; {tied} confusions tied as the most frequent ({top.count} each)")
    return f"{report.name} (baseline): {report.mistakes} mistakes on {c.n_test} test texts{says}{most}."


def noise_blocks(n: NoiseAnalysis) -> list:
    interval = lambda i: f"{i.value:.4f} [{i.low:.3f}, {i.high:.3f}]"  # noqa: E731
    accuracy = "subset accuracy" if n.multi_label else "accuracy"
    header = ["model", "macro-F1, all texts", "macro-F1, unflagged", f"{accuracy}, all texts", f"{accuracy}, unflagged",
              "mistakes", "of them flagged"]
    rows = [[s.name + (" (the flagger's family)" if s.flagger_kin else ""), interval(s.all["macro_f1"]),
             interval(s.unflagged["macro_f1"]), interval(s.all["accuracy"]),
             interval(s.unflagged["accuracy"]), str(s.mistakes),
             f"{s.mistakes_flagged} ({100 * s.mistakes_flagged / max(s.mistakes, 1):.0f}%)"] for s in n.scores]
    examples = [[clip(e["text"], 100), ", ".join(e["given"]), ", ".join(e["suggested"]), f"{e['self_confidence']:.3f}",
                 f"{e['models_predicting_suggestion']} of {e['models']}"] for e in n.examples]
    blocks = [Heading(2, "Label noise in the test split"),
              Paragraph(f"{n.flagged} of the {n.total} test texts ({100 * n.flagged / max(n.total, 1):.1f}%) are flagged as "
                        f"likely mislabelled ({n.method}): their given label is improbable under models that never saw "
                        f"them. Of the {n.shared_mistakes} texts every model gets wrong, {n.shared_flagged} are flagged. "
                        "Flagged means suspect, not wrong: read the examples. Scores on the unflagged texts show how much "
                        "of the gap between models could be noise."),
              *([Paragraph(kin_sentence(n))] if any(s.flagger_kin for s in n.scores) else []),
              *[Paragraph(f"Warning: {line}") for line in n.warnings],
              Table(header, rows, caption="Every model (lowest seed) on all test texts and on the unflagged ones, 95% "
                    "bootstrap intervals; how many of its mistakes are on flagged texts.")]
    if examples:
        blocks.append(Table(["text", "given", "suggested", "self-confidence", "models predicting the suggestion"], examples,
                            caption="The least likely given labels."))
    return blocks


def kin_sentence(n: NoiseAnalysis) -> str:
    kin = [s.name for s in n.scores if s.flagger_kin]
    others = [s.name for s in n.scores if not s.flagger_kin and not s.baseline]
    fair = (f"compare {', '.join(others)} among themselves on the unflagged texts" if len(others) > 1 else
            f"{others[0]} is the one compared model free of this bias" if others else
            "no compared model is scored fairly on the unflagged texts")
    return (f"Not a fair comparison for {', '.join(kin)}: the flags come from a model of the same family "
            f"({n.method.split(',')[0]}), which flags the texts its kind of model disagrees with, so removing them "
            f"favours {'it' if len(kin) == 1 else 'them'} (marked \"the flagger's family\" below); {fair}.")
