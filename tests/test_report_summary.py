"""The report starts with its answer (the best model with its interval, against the runner-up and the majority
baseline, the label-noise estimate, the data's main warnings); baselines get one line each in the failure analysis and
are bold in no table; the per-class F1 chart's legend covers no bar."""
import re

import numpy as np
import pytest

from emobench.data import DatasetConfig
from emobench.experiments.study import CompareConfig, run_comparison


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from conftest import write_emotion_folder

    root = tmp_path_factory.mktemp("summary")
    data = write_emotion_folder(root / "data")
    record = run_comparison(CompareConfig(dataset=DatasetConfig(data_dir=str(data)), models=["tfidf"],
                                          output_dir=str(root / "out"), name="c"), progress=False, log=lambda m: None)
    folder = root / "out" / "c"
    return record, (folder / "report.md").read_text(), (folder / "report.html").read_text()


def test_the_summary_comes_first_and_gives_the_answer(report):
    record, md, _ = report
    headings = re.findall(r"^## (.+)$", md, re.M)
    assert headings[0] == "Summary" and "Conclusions" not in headings
    summary = md.split("## Summary", 1)[1].split("\n## ", 1)[0]
    best = next(r for r in record.results.runs if r.model == "tfidf")
    assert f"Best macro-F1: **tfidf** ({best.macro_f1:.4f}, 95% bootstrap interval [" in summary.replace("\\[", "[")
    assert "tfidf is significantly above the majority baseline on macro-F1" in summary
    assert "Label noise in the test split:" in summary and "flagged as likely mislabelled" in summary
    assert "The data: leakage:" in summary  # what can make a score wrong comes first
    assert summary.count("sha256") <= 1  # the per-file checksum warnings said once, if at all
    if best.macro_f1 == 1.0:  # the tiny data is learnt perfectly: no precision is claimed from empty intervals
        assert "have no width" in summary and "known to about ±" not in summary


def test_baselines_get_one_line_in_the_failure_analysis_and_are_never_bold(report):
    _, md, html = report
    failures = md.split("## Where the models fail", 1)[1].split("\n## ", 1)[0]
    assert "### majority" not in failures and "### stratified" not in failures
    lines = re.findall(r"^- (majority|stratified) \(baseline\): (\d+) mistakes on 48 test texts", failures, re.M)
    assert [name for name, _ in lines] == ["majority", "stratified"]
    baseline_rows = [line for line in md.splitlines() if re.match(r"^\| (majority|stratified) \(baseline\)", line)]
    assert len(baseline_rows) >= 4 and not any("**" in row for row in baseline_rows)
    html_rows = re.findall(r"<tr><td>(?:majority|stratified) \(baseline\)</td>.*?</tr>", html)
    assert len(html_rows) >= 4 and not any("<b>" in row for row in html_rows)


@pytest.mark.parametrize("models, labels", [(3, 6), (8, 6), (2, 28)])
def test_the_per_class_legend_covers_no_bar(models, labels):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.patches import Rectangle

    from emobench.reporting.plots import per_class_f1_figure

    f1 = np.ones((models, labels))  # the tallest bars there can be
    f1[:, ::2] = 0.97
    fig = per_class_f1_figure([f"model-{k}" for k in range(models)], [f"label{j}" for j in range(labels)], f1)
    fig.canvas.draw()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent()
    bars = [p.get_window_extent() for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == models * labels
    assert not any(legend.overlaps(bar) for bar in bars)
    assert legend.y0 >= ax.get_window_extent().y1 - 1  # above the panel
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_the_summary_puts_leakage_first_and_a_tied_confusion_is_said_tied():
    from types import SimpleNamespace

    from emobench.reporting.error_sections import _baseline_line
    from emobench.reporting.summary_sections import _main_warnings

    said = _main_warnings(["a.txt: sha256 1 differs from the published x", "b.txt: sha256 2 differs from the published y",
                           "train: 3 texts occur more than once", "leakage: 7 texts appear in both train and test",
                           "12 texts with conflicting labels"])
    assert said[0].startswith("leakage") and "conflicting" in said[1]
    assert said[-1].startswith("2 data files differ from the published ones")
    confusions = [SimpleNamespace(true=t, predicted=p, count=3) for t, p in (("anger", "fear"), ("joy", "love"))]
    c = SimpleNamespace(majority_answer=None, n_test=48)
    report = SimpleNamespace(name="stratified", mistakes=41, confusions=confusions)
    assert _baseline_line(c, report).endswith("2 confusions tied as the most frequent (3 each).")
    report.confusions = confusions[:1]
    assert _baseline_line(c, report).endswith("most often anger taken for fear (3).")
