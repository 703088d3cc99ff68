"""What a new user reaches for: `emobench --version`, `data audit -d` as every other command takes the dataset, and
`explain` wherever a model is -- an ONNX export and a stack (by occlusion), piped output that keeps the scores, and an
HTML page with a legend and the model's name."""
import json
import re

import pytest
from typer.testing import CliRunner

from emobench import __version__
from emobench.cli import app

runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"emobench {__version__}"


def test_data_audit_takes_the_dataset_as_every_command_does(tiny_root):
    as_option = runner.invoke(app, ["data", "audit", "-d", "emotion", "--data-dir", str(tiny_root)])
    as_argument = runner.invoke(app, ["data", "audit", "emotion", "--data-dir", str(tiny_root)])
    assert as_option.exit_code == 0 and as_option.output == as_argument.output
    both = runner.invoke(app, ["data", "audit", "emotion", "-d", "isear", "--data-dir", str(tiny_root)])
    assert both.exit_code == 2 and "the dataset is given twice ('emotion' and --dataset 'isear')" in both.output
    empty = runner.invoke(app, ["data", "audit", "-d", "", "--data-dir", str(tiny_root)])  # not the default emotion
    assert empty.exit_code == 2 and "no dataset given" in empty.output


def test_piped_explanations_keep_each_tokens_score(tfidf_run):
    result = runner.invoke(app, ["explain", str(tfidf_run), "i feel so happy today"])  # not a terminal
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "->" in line)
    scores = dict(re.findall(r"(\w+)\[([+-]\d\.\d\d)\]", line))
    assert list(scores) == ["i", "feel", "so", "happy", "today"] and float(scores["happy"]) > 0.1
    assert line.endswith("(1.00; coefficient x tf-idf weight)") or "-> joy" in line


def test_the_explain_page_has_a_legend_and_the_models_name(tfidf_run, tmp_path):
    result = runner.invoke(app, ["explain", str(tfidf_run), "i am so scared <b>now</b>", "--html", str(tmp_path / "e.html")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "e.html").read_text()
    assert "<h1>Why the model said it: tfidf (tfidf, fp64, trained on emotion)</h1>" in page
    assert "speaks for the label" in page and "Method: coefficient x tf-idf weight" in page
    assert "&lt;b&gt;now&lt;/b&gt;" in page and "<b>now</b>" not in page


@pytest.mark.slow
def test_an_export_is_explained_by_occlusion_and_agrees_with_its_own_predictions(tiny_root, tmp_path):
    from emobench import Predictor

    def ok(args):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        return result

    ok(["train", "--model", "lstm", "--set", "epochs=3", "--set", "hidden_size=8", "--set", "glove=none",
        "--data-dir", str(tiny_root), "-o", str(tmp_path), "--name", "l", "-q"])
    ok(["export", str(tmp_path / "l"), "-o", str(tmp_path / "e")])
    text = "i feel so happy and glad today"
    result = ok(["explain", str(tmp_path / "e"), text, "--json"])
    given = json.loads(result.output.strip().splitlines()[-1])
    assert given["tokens"] == text.split() and given["method"].startswith("occlusion")
    export = Predictor(tmp_path / "e")
    k = export.label_names.index(given["label"])
    full = export.probabilities([text])[0, k]
    without = export.probabilities([" ".join(w for j, w in enumerate(text.split()) if j != 3)])[0, k]
    assert given["scores"][3] == pytest.approx(full - without, abs=1e-6)
    assert export.card()["explains"] is True
