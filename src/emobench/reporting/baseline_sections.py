"""The report on the baselines: every model against the majority, what it answers, and the best constant answer."""
from __future__ import annotations

from ..evaluation.analysis import Comparison
from ..evaluation.statistics import METRIC_NAMES
from .render import Bullets, Heading, Paragraph, bold


def constant_sentence(c: Comparison) -> str:
    k = c.best_constant
    which = (f"one of the test split's equally most frequent labels ({', '.join(map(repr, k.tied_labels))}; any of them "
             "scores the same)" if k.tied_labels else "the most frequent label of the test split")
    return (f"Reference line, not a model: always answering {k.label!r}, {which}, scores "
            f"accuracy {k.scores['accuracy']:.4f} and macro-F1 {k.scores['macro_f1']:.4f}. It is read off the test labels, "
            "which no model may use, so it is not a baseline any model was tested against; it shows what a constant "
            "answer can reach on this split.")


def answer_sentence(answer) -> str:
    if answer.label is None:
        return f"The {answer.name} baseline answers from {answer.chosen_from}."
    return (f"The {answer.name} baseline always answers {answer.label!r} ({answer.chosen_from}); on the test split it "
            f"scores accuracy {answer.scores['accuracy']:.4f} and macro-F1 {answer.scores['macro_f1']:.4f}.")


def verdict_sentence(a) -> str:
    where = {"above": "is significantly above", "below": "is significantly BELOW",
             "not significantly above": "is NOT significantly above"}[a.verdict]
    metric = METRIC_NAMES.get(a.metric, a.metric)
    return (f"{a.name} {where} the {a.baseline} baseline on {metric} ({a.score:.4f} against {a.baseline_score:.4f}; "
            f"Holm-adjusted p = {a.p_holm:.2g}).")


def baseline_blocks(c: Comparison) -> list:
    """Every model against the majority baseline: a model not significantly above it has learnt nothing we can see."""
    lines = []
    for a in c.against_baseline:
        sentence = verdict_sentence(a)
        lines.append(sentence if a.verdict == "above" else [bold(sentence)])
    note = ("Baselines (" + ", ".join(c.baselines) + ") are scored and tested like the models, marked \"(baseline)\", "
            "and never bold. ") if c.baselines else ""
    answer = (" " + answer_sentence(c.majority_answer)) if c.majority_answer is not None else ""
    metric = METRIC_NAMES[c.primary]
    blocks = [Heading(2, "Against the baselines"),
              Paragraph(note + f"Each model against the majority baseline on {metric}, with the paired {metric} test "
                        f"above.{answer}")]
    if c.best_constant is not None:
        blocks.append(Paragraph(constant_sentence(c)))
    blocks.append(Bullets(lines))
    return blocks
