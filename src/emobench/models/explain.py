"""Why did the model say that? Per-token attributions toward a label.

Every family answers through the same protocol method, ``attributions(text, label index)``: TF-IDF models
give each word the sum of coefficient x tf-idf weight over the n-grams it takes part in (word n-grams split
evenly between their words, character n-grams between the words they occur in); the LSTM and transformers
give Integrated Gradients (captum) over their input embeddings, against an all-padding baseline.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import EmobenchError, option


@dataclass
class Explanation:
    text: str
    tokens: list[str]
    scores: list[float]  # attribution of each token toward ``label`` (positive: for it)
    label: str
    probability: float
    method: str


def explain_texts(model, texts: list[str], target: str | None = None) -> list[Explanation]:
    """Attributions toward ``target`` (a label name), or toward each text's predicted label; a model without them
    says why (its ``explanation_gap``)."""
    if (gap := model.explanation_gap()) is not None:
        raise EmobenchError(gap)
    if target is not None and target not in model.label_names:
        raise EmobenchError(f"{option('label')} {target!r}: not one of the model's labels ({', '.join(model.label_names)})")
    probs = model.predict_proba(list(texts))
    out = []
    for text, row in zip(texts, probs):
        k = model.label_names.index(target) if target is not None else int(np.argmax(row))
        tokens, scores, method = model.attributions(text, k)
        out.append(Explanation(text, list(tokens), [float(s) for s in scores], model.label_names[k], float(row[k]), method))
    return out


OCCLUSION = "occlusion (each word left out in turn)"


def occlusion(scorer, text: str, label: int) -> tuple[list[str], list[float], str]:
    """Attributions any scorer can give, by its predictions alone (an ONNX export, a stack, static embeddings): each
    word's score is how much the label's probability falls when that word is left out of the text (negative: the
    label is likelier without it). One batch of as many texts as words, scored like any other batch."""
    words = text.split()
    if not words:
        return [], [], OCCLUSION
    variants = [text] + [" ".join(words[:i] + words[i + 1:]) or " " for i in range(len(words))]
    probs = scorer.predict_proba(variants)[:, label]
    return words, [float(probs[0] - p) for p in probs[1:]], OCCLUSION
