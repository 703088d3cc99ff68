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
    assert corpus.source.warnings
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


def test_user_text_is_printed_verbatim_never_as_emoji_codes(tmp_path):
    """rich replaces :name: codes even with markup off, unless told not to: a label named :fire: stayed 🔥."""
    path = tmp_path / "d.csv"
    words = {":fire:": "burning hot", ":abc:": "cold ice"}
    rows = [(f"it is {words[label]} {i}", label) for i in range(40) for label in [list(words)[i % 2]]]
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows([("text", "label"), *rows])
    trained = runner.invoke(app, ["train", "--dataset", str(path), "-o", str(tmp_path / "runs"), "--name", "r", "-q"])
    assert trained.exit_code == 0, trained.output
    result = runner.invoke(app, ["predict", str(tmp_path / "runs" / "r"), "so :fire: hot"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and ":fire:" in result.output and "🔥" not in result.output, result.output
    refused = runner.invoke(app, ["compare", "--models", "tfidf", "--dataset", str(path), "--engine", "ray",
                                  "--ray-address", "127.0.0.1:abc", "-o", str(tmp_path / "c")])
    assert refused.exit_code == 2 and "127.0.0.1:abc" in refused.output and "🔤" not in refused.output, refused.output


def test_outputs_never_go_inside_a_folder_emobench_wrote(tfidf_run, tmp_path):
    """A finished run, model or export has a manifest: new files inside it would break it (export -o RUN/model/onnx left
    the run unusable). Every output option refuses such a place, and the run stays usable."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tfidf_run, run)
    texts = tmp_path / "t.txt"
    texts.write_text("i feel fine\n")
    for args, flag in ((["export", str(run), "-o", str(run / "model" / "onnx")], "--output"),
                       (["predict", str(run), "--file", str(texts), "--output", str(run / "scores.csv")], "--output"),
                       (["evaluate", str(run), "--json", str(run / "model" / "m.json")], "--json"),
                       (["explain", str(run), "i feel fine", "--html", str(run / "e.html")], "--html"),
                       (["train", "-o", str(run / "model"), "--data-dir", str(tmp_path)], "--output-dir"),
                       (["compare", "--models", "tfidf", "-o", str(run), "--data-dir", str(tmp_path)], "--output-dir"),
                       (["tune", "--model", "tfidf", "-o", str(run / "x"), "--data-dir", str(tmp_path)], "--output-dir"),
                       (["data", "audit", "--data-dir", str(tmp_path), "--json", str(run / "a.json")], "--json")):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and f"error: {flag} " in result.output and "a folder emobench wrote" in result.output, \
            (args, result.output)
    assert sorted(p.name for p in (run / "model").iterdir()) == sorted(p.name for p in (tfidf_run / "model").iterdir())
    again = runner.invoke(app, ["predict", str(run), "i feel fine"])
    assert again.exit_code == 0, again.output


def test_output_files_are_named_as_given(tfidf_run, tmp_path):
    missing = runner.invoke(app, ["evaluate", str(tfidf_run), "--json", str(tmp_path / "no" / "such" / "m.json")])
    assert missing.exit_code == 2 and f"--json {tmp_path / 'no' / 'such' / 'm.json'}: the folder" in missing.output
    assert ".tmp" not in missing.output
    (tmp_path / "f").write_text("a file")
    tracked = runner.invoke(app, ["train", "--track", "tensorboard", "-o", str(tmp_path / "f"), "--data-dir", str(tmp_path)])
    assert tracked.exit_code == 2 and "is a file; expected a folder" in tracked.output and "File exists" not in \
        tracked.output, tracked.output
