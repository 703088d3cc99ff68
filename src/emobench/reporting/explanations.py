"""Token attributions rendered for the terminal (rich), HTML (coloured spans) and Markdown (scores in brackets)."""
from __future__ import annotations

import html

from rich.text import Text

from ..data.text import printable


def _strength(scores: list[float]) -> list[float]:
    top = max((abs(s) for s in scores), default=0.0) or 1.0
    return [s / top for s in scores]


def to_rich(explanation) -> Text:
    """Green for tokens that speak for the label, red against; the stronger, the deeper."""
    text = Text()
    for token, s in zip(explanation.tokens, _strength(explanation.scores)):
        shade = int(40 + 160 * abs(s))
        colour = f"rgb(0,{shade},0)" if s > 0 else f"rgb({shade},0,0)"
        text.append(printable(token), style=f"bold white on {colour}" if abs(s) > 0.15 else "")
        text.append(" ")
    return text


def to_html(explanation) -> str:
    spans = []
    for token, s in zip(explanation.tokens, _strength(explanation.scores)):
        colour = f"rgba(0,160,0,{abs(s):.2f})" if s > 0 else f"rgba(210,0,0,{abs(s):.2f})"
        spans.append(f"<span style='background:{colour}' title='{s:+.3f}'>{html.escape(token)}</span>")
    return (f"<span class='attr'>{' '.join(spans)}</span> <small>&rarr; {html.escape(explanation.label)} "
            f"({explanation.probability:.2f})</small>")


def to_plain(explanation) -> str:
    """Each token with its score, for output that is not a terminal (no colours to carry them)."""
    return " ".join(f"{printable(t)}[{s:+.2f}]" for t, s in zip(explanation.tokens, explanation.scores))


def to_markdown(explanation) -> str:
    from .render import md_escape

    return " ".join(f"{md_escape(t)}[{s:+.2f}]" for t, s in zip(explanation.tokens, explanation.scores)) + \
        f" → {md_escape(explanation.label)} ({explanation.probability:.2f})"


def to_page(explanations, model: str = "") -> str:
    """Every explanation on one HTML page, styled like the reports: the model's name, a legend, then each text."""
    from .render import STYLE

    methods = sorted({e.method for e in explanations})
    legend = ("<p class='legend'><span style='background:rgba(0,160,0,0.8)'>&nbsp;for&nbsp;</span> a word that speaks "
              "for the label, <span style='background:rgba(210,0,0,0.8)'>&nbsp;against&nbsp;</span> one that speaks "
              "against it; the deeper the colour, the larger its share of the text's strongest attribution (hover a "
              f"word for its score). Method: {html.escape(', '.join(methods))}.</p>")
    title = f"Why the model said it: {model}" if model else "Why the model said it"
    body = "".join(f"<p>{to_html(e)}</p>" for e in explanations)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{legend}{body}</body></html>\n")
