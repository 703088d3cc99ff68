"""Output is safe for terminals, Markdown, LaTeX and HTML; long texts and foreign formats are handled clearly."""
import csv
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from emobench.cli import app
from emobench.data import DatasetConfig, load_dataset
from emobench.errors import DataError
from emobench.experiments.study import compare_runs
from emobench.reporting.render import latex_escape, md_escape

runner = CliRunner()
HOSTILE = ["a|b", "<script>x</script>", "50% & $x_1$ #{~^}\\", "**bold**", "[red]x[/red]", "two\nlines", "$\\foo$",
           "cost $5 or $6"]  # the last two are mathtext to matplotlib unless drawn literally


def test_predict_never_reads_text_as_markup(tfidf_run):
    for text in ("i feel [/] so sad", "[sad] and [bold]lonely[/bold]"):
        result = runner.invoke(app, ["predict", str(tfidf_run), text], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert text in result.output
    result = runner.invoke(app, ["predict", str(tfidf_run), "[sad] text", "--json"])
    assert json.loads(result.stdout)["text"] == "[sad] text"


def test_escaping_functions():
    assert md_escape("a|b <i>x</i> *y* _z_ `c`") == "a\\|b \\<i\\>x\\</i\\> \\*y\\* \\_z\\_ \\`c\\`"
    assert md_escape("two\nlines") == "two lines"
    assert latex_escape("50% & $x_1$ #{~^}\\") == \
        r"50\% \& \$x\_1\$ \#\{\textasciitilde{}\textasciicircum{}\}\textbackslash{}"


def test_reports_escape_label_names(tmp_path):
    from test_report import make_run

    rng = np.random.default_rng(0)
    y = rng.integers(0, len(HOSTILE), 120)
    runs = [make_run(tmp_path / "r", m, 0, y, np.where(rng.random(120) < acc, y, 0), labels=HOSTILE)
            for m, acc in (("m|1", 0.9), ("m<2>", 0.6))]
    out = compare_runs(runs, tmp_path / "c", formats=["md", "html", "latex"]).folder
    md = (out / "report.md").read_text()
    tables, current = [], []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line.replace("\\|", ""))
        elif current:
            tables.append(current)
            current = []
    assert len(tables) >= 3
    for table in tables:  # a pipe in a label never adds a column
        assert len({line.count("|") for line in table}) == 1, table
    assert "<script>" not in md and "\\<script\\>" in md
    html = (out / "report.html").read_text()
    assert "<script>" not in html and "&lt;script&gt;" in html and "m&lt;2&gt;" in html
    tex = (out / "tables.tex").read_text()
    assert r"50\% \& \$x\_1\$" in tex and "<script>" not in tex and r"\textless{}script\textgreater{}" in tex
    assert "two lines" in tex and "two\nlines" not in tex


def test_long_texts_are_truncated_with_a_warning_and_huge_fields_refused(tmp_path):
    path = tmp_path / "d.csv"
    rows = [(f"i feel thing {i}", ["a", "b"][i % 2]) for i in range(40)] + [("w" * 150_000, "a")]
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows([("text", "label"), *rows])
    with pytest.warns(UserWarning, match=r"1 text\(s\) longer than 100,000 characters truncated to 100,000 \(line 42\)"):
        corpus = load_dataset(DatasetConfig(name=str(path)))
    assert max(len(t) for s in corpus.splits.values() for t in s.texts) == 100_000
    assert corpus.source["warnings"]
    with open(path, "a") as handle:
        handle.write("z" * 1_100_000 + ",b\n")
    with pytest.raises(DataError, match=r"d.csv, line 43: malformed row \(a field of more than 1,000,000 characters"):
        load_dataset(DatasetConfig(name=str(path)))


@pytest.mark.parametrize("name, content, message", [
    ("d.xlsx", b"PK\x03\x04rest", "Excel files are not supported"),
    ("d.parquet", b"PAR1rest", "Parquet files are not supported"),
    ("d.csv", b"PK\x03\x04rest", "the file is a zip archive (such as Excel .xlsx), not text"),
])
def test_unsupported_formats_say_so(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    result = runner.invoke(app, ["data", "audit", str(tmp_path / name)])
    assert result.exit_code == 2 and message in result.output and "UTF-8" not in result.output
