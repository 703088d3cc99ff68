"""Report documents and their renderers: one list of blocks written as Markdown, self-contained HTML and
LaTeX tables. Text that comes from data (label names, texts, model names, paths) is always escaped for the
target format; emphasis is structure (:class:`Span`), never markup inside a string."""
from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple


class Span(NamedTuple):
    style: str  # "b" (bold), "code", "raw_html" (trusted HTML made by emobench, shown only in HTML)
    text: str


def bold(text) -> Span:
    return Span("b", str(text))


def code(text) -> Span:
    return Span("code", str(text))


Inline = str | Span | list  # a list of str and Span


@dataclass
class Table:
    """Rows of plain-text cells; ``bold`` holds (row, column) pairs; ``groups`` an optional column-group header."""

    header: list[str]
    rows: list[list[str]]
    bold: set = field(default_factory=set)
    groups: list[tuple[str, int]] | None = None
    caption: Inline = ""


@dataclass
class Heading:
    level: int
    text: str


@dataclass
class Paragraph:
    content: Inline


@dataclass
class Bullets:
    items: list


@dataclass
class Figure:
    path: Path
    caption: str


@dataclass
class Html:
    """Trusted HTML made by emobench (e.g. coloured attributions); Markdown gets ``markdown`` instead."""

    html: str
    markdown: str = ""


def _parts(content: Inline) -> list[Span]:
    if isinstance(content, Span):
        return [content]
    if isinstance(content, str):
        return [Span("", content)]
    return [p if isinstance(p, Span) else Span("", str(p)) for p in content]


# ---------------------------------------------------------------- escaping

_MD_SPECIAL = re.compile(r"([\\`*_\[<>|&~$])")


def md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).splitlines()))


def _md_code(text: str) -> str:
    text = " ".join(str(text).splitlines())
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


_LATEX = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#", "_": r"\_",
          "%": r"\%", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
          "|": r"\textbar{}", "±": r"$\pm$", "\n": " ", "\r": " "}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX))


def latex_escape(text: str) -> str:
    return _LATEX_RE.sub(lambda m: _LATEX[m.group(0)], str(text))


def inline_markdown(content: Inline) -> str:
    out = []
    for span in _parts(content):
        if span.style == "b":
            out.append(f"**{md_escape(span.text)}**")
        elif span.style == "code":
            out.append(_md_code(span.text))
        elif span.style != "raw_html":
            out.append(md_escape(span.text))
    return "".join(out)


def inline_html(content: Inline) -> str:
    out = []
    for span in _parts(content):
        text = html.escape(span.text)
        out.append({"b": f"<b>{text}</b>", "code": f"<code>{text}</code>", "raw_html": span.text}.get(span.style, text))
    return "".join(out)


def inline_latex(content: Inline) -> str:
    return "".join(f"\\textbf{{{latex_escape(s.text)}}}" if s.style == "b" else
                   f"\\texttt{{{latex_escape(s.text)}}}" if s.style == "code" else
                   "" if s.style == "raw_html" else latex_escape(s.text) for s in _parts(content))


# ---------------------------------------------------------------- renderers


def render_markdown(blocks, folder: Path) -> str:
    out = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append("#" * block.level + " " + md_escape(block.text))
        elif isinstance(block, Paragraph):
            out.append(inline_markdown(block.content))
        elif isinstance(block, Bullets):
            out.append("\n".join(f"- {inline_markdown(item)}" for item in block.items))
        elif isinstance(block, Table):
            t = block
            lines = ["| " + " | ".join(md_escape(h) for h in t.header) + " |", "|" + "---|" * len(t.header)]
            for i, row in enumerate(t.rows):
                lines.append("| " + " | ".join(f"**{md_escape(c)}**" if (i, j) in t.bold else md_escape(c)
                                               for j, c in enumerate(row)) + " |")
            caption = inline_markdown(t.caption)
            out.append("\n".join(lines) + (f"\n\n*{caption}*" if caption else ""))
        elif isinstance(block, Figure):
            out.append(f"![{md_escape(block.caption)}]({Path(block.path).relative_to(folder).as_posix()})\n\n"
                       f"*{md_escape(block.caption)}*")
        elif isinstance(block, Html) and block.markdown:
            out.append(block.markdown)
    return "\n\n".join(out) + "\n"


STYLE = ("body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
         "table{border-collapse:collapse;margin:1em 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 6px;"
         "text-align:center}td:first-child{text-align:left}caption{caption-side:bottom;font-style:italic;"
         "padding:4px;font-size:12px}td.best{background:#eef6ff}img{max-width:100%}figcaption{font-style:italic;"
         "font-size:12px}code{background:#f4f4f4;padding:0 3px}td.text{text-align:left;max-width:520px}"
         ".attr span{padding:1px 2px;border-radius:3px}")


def render_html(blocks) -> str:
    body = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            body.append(f"<p>{inline_html(block.content)}</p>")
        elif isinstance(block, Bullets):
            body.append("<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in block.items) + "</ul>")
        elif isinstance(block, Table):
            body.append(_html_table(block))
        elif isinstance(block, Figure):
            data = base64.b64encode(Path(block.path).read_bytes()).decode()
            body.append(f"<figure><img alt='{html.escape(block.caption, quote=True)}' src='data:image/png;base64,{data}'>"
                        f"<figcaption>{html.escape(block.caption)}</figcaption></figure>")
        elif isinstance(block, Html):
            body.append(block.html)
    title = next((b.text for b in blocks if isinstance(b, Heading)), "emobench report")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n")


def _html_table(t: Table) -> str:
    parts = ["<table>"]
    caption = inline_html(t.caption)
    if caption:
        parts.append(f"<caption>{caption}</caption>")
    header = t.header
    if t.groups:  # a row of class names over P / R / F1
        parts.append("<tr>" + "".join(f"<th colspan='{span}'>{html.escape(g)}</th>" for g, span in t.groups) + "</tr>")
        header, col = [], 0
        for group, span in t.groups:
            header += [h.rsplit(" ", 1)[-1] if group else h for h in t.header[col : col + span]]
            col += span
    parts.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
    for i, row in enumerate(t.rows):
        cells = "".join(f"<td class='best'><b>{html.escape(c)}</b></td>" if (i, j) in t.bold else f"<td>{html.escape(c)}</td>"
                        for j, c in enumerate(row))
        parts.append(f"<tr>{cells}</tr>")
    parts.append("</table>")
    return "".join(parts)


def render_latex(blocks) -> str:
    out = ["% emobench tables (booktabs); best value of each column in bold"]
    for block in blocks:
        if not isinstance(block, Table):
            continue
        t = block
        out.append("\\begin{table}[ht]\\centering\\small")
        out.append("\\begin{tabular}{l" + "r" * (len(t.header) - 1) + "}\\toprule")
        out.append(" & ".join(latex_escape(h) for h in t.header) + " \\\\\\midrule")
        for i, row in enumerate(t.rows):
            out.append(" & ".join(f"\\textbf{{{latex_escape(c)}}}" if (i, j) in t.bold else latex_escape(c)
                                  for j, c in enumerate(row)) + " \\\\")
        out.append("\\bottomrule\\end{tabular}")
        caption = inline_latex(t.caption)
        if caption:
            out.append(f"\\caption{{{caption}}}")
        out.append("\\end{table}\n")
    return "\n".join(out)


def write_documents(blocks, folder: Path, formats) -> dict[str, Path]:
    from ..files import write_text_atomic

    written = {}
    if "md" in formats or "html" in formats:
        write_text_atomic(folder / "report.md", render_markdown(blocks, folder))
        written["md"] = folder / "report.md"
    if "html" in formats:
        write_text_atomic(folder / "report.html", render_html(blocks))
        written["html"] = folder / "report.html"
    if "latex" in formats:
        write_text_atomic(folder / "tables.tex", render_latex(blocks))
        written["latex"] = folder / "tables.tex"
    return written
