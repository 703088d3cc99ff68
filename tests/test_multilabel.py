"""Multi-label data as a first-class task: readers, audit, every family, thresholds, metrics, report."""
import json
import random

import numpy as np
import pytest
from sklearn.metrics import f1_score, hamming_loss, precision_recall_fscore_support
from typer.testing import CliRunner

from conftest import MULTI_LABELS, multi_examples
from emobench.cli import app
from emobench.data import DatasetConfig, audit, load_dataset
from emobench.data.labelmap import apply_label_map, read_label_map
from emobench.errors import EmobenchError
from emobench.evaluation import compute_metrics
from emobench.models import build_model, load_model
from emobench.evaluation.thresholds import decide, tune_thresholds

runner = CliRunner()
LABELS = MULTI_LABELS


@pytest.fixture
def multi_files(tmp_path):
    """train/validation/test as TSV with '|'-separated labels, and the same as JSONL lists."""
    files = {}
    for split, n, seed in (("train", 240, 1), ("validation", 80, 2), ("test", 80, 3)):
        rows = multi_examples(n, seed)
        tsv = tmp_path / f"{split}.tsv"
        tsv.write_text("text\temotions\n" + "".join(f"{t}\t{'|'.join(ls)}\n" for t, ls in rows))
        jsonl = tmp_path / f"{split}.jsonl"
        jsonl.write_text("".join(json.dumps({"text": t, "label": ls}) + "\n" for t, ls in rows))
        files[split] = (tsv, jsonl)
    return files


def tsv_config(files):
    return DatasetConfig(name=str(files["train"][0]), files={s: str(f[0]) for s, f in files.items()},
                         label_column="emotions", label_separator="|")


def test_readers_accept_label_sets(multi_files):
    tsv = load_dataset(tsv_config(multi_files))
    jsonl = load_dataset(DatasetConfig(name=str(multi_files["train"][1]), files={s: str(f[1]) for s, f in multi_files.items()}))
    assert tsv.multi_label and jsonl.multi_label and tsv.label_names == sorted(LABELS) == jsonl.label_names
    assert tsv["train"].labels == jsonl["train"].labels
    assert any(len(labels) == 2 for labels in tsv["train"].labels)
    with pytest.raises(EmobenchError, match="looks like several labels; for multi-label data pass label_separator"):
        load_dataset(DatasetConfig(name=str(multi_files["train"][0]), files={s: str(f[0]) for s, f in multi_files.items()},
                                   label_column="emotions"))


def test_multi_label_audit(multi_files):
    report = audit(load_dataset(tsv_config(multi_files)))
    facts = report.splits["train"].multi_label
    assert report.task == "multi_label"
    assert facts.texts_with_several_labels == 80 and facts.texts_without_label == 0
    assert facts.cardinality == pytest.approx(1 + 80 / 240, abs=1e-4)
    assert facts.labels_per_text == {"0": 0, "1": 160, "2": 80}
    assert sum(p.texts for p in facts.top_pairs) == 80 and len(facts.top_pairs[0].labels) == 2
    result = runner.invoke(app, ["data", "audit", str(multi_files["train"][0]), "--train-file", str(multi_files["train"][0]),
                                 "--test-file", str(multi_files["test"][0]), "--label-column", "emotions", "--label-separator", "|"])
    assert result.exit_code == 2 and "give either --dataset or --train-file" in result.output


def test_metrics_match_scikit_learn():
    rng = np.random.default_rng(0)
    y = (rng.random((300, 5)) < 0.3).astype(int)
    p = np.where(rng.random((300, 5)) < 0.8, y, 1 - y)
    m = compute_metrics(y, p, list("abcde"))
    assert m.task == "multi_label" and m.n == 300
    for average in ("micro", "macro", "weighted", "samples"):
        ref = precision_recall_fscore_support(y, p, average=average, zero_division=0)
        assert (getattr(m, average).precision, getattr(m, average).recall, getattr(m, average).f1) == pytest.approx(ref[:3])
    assert m.subset_accuracy == pytest.approx((y == p).all(axis=1).mean()) == m.accuracy
    assert m.hamming_loss == pytest.approx(hamming_loss(y, p))
    assert m.per_class["c"].f1 == pytest.approx(f1_score(y[:, 2], p[:, 2]))
    assert m.label_confusion["a"] == [int(((y[:, 0] == 0) & (p[:, 0] == 0)).sum()), int(((y[:, 0] == 0) & (p[:, 0] == 1)).sum()),
                                         int(((y[:, 0] == 1) & (p[:, 0] == 0)).sum()), int(((y[:, 0] == 1) & (p[:, 0] == 1)).sum())]


def test_thresholds_global_or_per_label_whichever_scores_better():
    rng = np.random.default_rng(1)
    truth = (rng.random((400, 3)) < 0.3).astype(int)
    probs = np.clip(truth * 0.5 + rng.random((400, 3)) * 0.4, 0, 1)
    probs[:, 2] = np.clip(truth[:, 2] * 0.15 + rng.random(400) * 0.2, 0, 1)  # label 2 needs a low threshold
    chosen = tune_thresholds(probs, truth, at_least_one=False)
    assert chosen.kind == "per_label" and chosen.per_label[2] < chosen.per_label[0]
    assert chosen.validation_macro_f1["per_label"] > chosen.validation_macro_f1["global"]
    empty = decide(np.array([[0.1, 0.2, 0.05]]), np.array([0.5, 0.5, 0.5]), at_least_one=True)
    assert empty.tolist() == [[0, 1, 0]]


FAMILIES = [("tfidf", {}), ("tfidf", {"classifier": "logreg"}), ("lstm", {"epochs": "10", "hidden_size": "16", "glove": "none",
                                                                                        "learning_rate": "0.01", "batch_size": "16"})]


@pytest.mark.parametrize("name, overrides", FAMILIES)
def test_each_family_trains_multi_label_and_reloads(multi_files, tmp_path, name, overrides):
    corpus = load_dataset(tsv_config(multi_files))
    model = build_model(name, overrides).fit(corpus["train"], corpus["validation"], corpus.label_names, progress=False)
    probs = model.predict_proba(corpus["test"].texts)
    assert probs.shape == (80, 4) and not np.allclose(probs.sum(axis=1), 1)  # independent per label
    assert model.decision.kind in ("global", "per_label") and model.decision.at_least_one
    predicted = model.predict(corpus["test"].texts)
    metrics = compute_metrics(corpus["test"].label_matrix(4), predicted, corpus.label_names)
    assert metrics.micro.f1 > 0.6
    model.save(tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert again.multi_label and np.array_equal(again.predict(corpus["test"].texts), predicted)
    assert np.allclose(again.predict_proba(corpus["test"].texts), probs, atol=1e-6)


def test_transformer_multi_label_is_a_standard_hf_model(multi_files, tmp_path):
    from tiny_models import build_bert
    from transformers import AutoModelForSequenceClassification

    corpus = load_dataset(tsv_config(multi_files))
    bert = build_bert([t for t in corpus["train"].texts], tmp_path / "bert")
    model = build_model(f"hf:{bert}", {"epochs": "2", "batch_size": "16", "learning_rate": "0.003"})
    model.fit(corpus["train"], corpus["validation"], corpus.label_names, progress=False)
    assert model.history[0].val_threshold > 0 and "val_micro_f1" in model.history[0].model_dump()
    model.save(tmp_path / "m")
    hf = AutoModelForSequenceClassification.from_pretrained(tmp_path / "m")
    assert hf.config.problem_type == "multi_label_classification"
    assert np.allclose(load_model(tmp_path / "m").predict_proba(corpus["test"].texts), model.predict_proba(corpus["test"].texts),
                       atol=1e-5)
    features = build_model(f"hf:{bert}", {"mode": "features"}).fit(corpus["train"], corpus["validation"], corpus.label_names,
                                                                  progress=False)
    assert features.predict(corpus["test"].texts).shape == (80, 4)


def test_cli_train_predict_and_compare_multi_label(multi_files, tmp_path):
    files = ["--train-file", str(multi_files["train"][0]), "--validation-file", str(multi_files["validation"][0]),
             "--test-file", str(multi_files["test"][0]), "--label-column", "emotions", "--label-separator", "|"]
    result = runner.invoke(app, ["train", *files, "-o", str(tmp_path), "--name", "r", "-q"])
    assert result.exit_code == 0, result.output
    assert "micro-F1" in result.output
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())["splits"]["test"]
    assert metrics["task"] == "multi_label" and {"micro", "samples", "hamming_loss"} <= set(metrics)
    header = (tmp_path / "r" / "predictions" / "test.csv").read_text().splitlines()[0]
    assert header.startswith("index,text,labels,predicted,p_")
    out = runner.invoke(app, ["predict", str(tmp_path / "r"), "today i feel happy and angry", "--json"])
    item = json.loads(out.stdout)
    assert set(item["labels"]) == {"anger", "joy"} and set(item["probabilities"]) == set(LABELS)
    evaluated = runner.invoke(app, ["evaluate", str(tmp_path / "r"), "--data", str(multi_files["test"][0]), "--label-column",
                                    "emotions", "--label-separator", "|", "--json", str(tmp_path / "e.json")])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads((tmp_path / "e.json").read_text())["micro"]["f1"] == pytest.approx(metrics["micro"]["f1"])
    compared = runner.invoke(app, ["compare", *files, "--models", "tfidf,lstm", "--set", "lstm.epochs=3", "--set", "lstm.glove=none",
                                   "-o", str(tmp_path / "c"), "--name", "ml", "-q"])
    assert compared.exit_code == 0, compared.output
    md = (tmp_path / "c" / "ml" / "report.md").read_text()
    assert "micro-F1 \\[95% CI]" in md and "Hamming loss" in md and "approximate randomization on macro-F1" in md
    assert "| label | support |" in md  # labels as rows
    stats = json.loads((tmp_path / "c" / "ml" / "statistics.json").read_text())["comparison"]
    assert stats["task"] == "multi_label" and stats["tests"][0]["method"].startswith("approximate randomization")


def test_label_maps(multi_files, tmp_path):
    corpus = load_dataset(tsv_config(multi_files))
    joy_only = sum(labels == [corpus.label_names.index("joy")] for labels in corpus["train"].labels)
    mapped = apply_label_map(corpus, {"negative": ["sadness", "anger", "fear"]})
    assert mapped.label_names == ["negative"] and mapped.source.label_map.dropped["train"] == joy_only > 0
    assert all(labels == [0] for labels in mapped["train"].labels)
    path = tmp_path / "map.json"
    path.write_text(json.dumps({"positive": ["joy"], "negative": ["sadness", "anger", "fear"]}))
    ok = load_dataset(DatasetConfig(**{**tsv_config(multi_files).to_dict(), "label_map": read_label_map(str(path))}))
    assert ok.label_names == ["positive", "negative"] and ok.source.label_map.dropped["train"] == 0
    assert read_label_map("emotion-ekman") == {label: [label] for label in ["sadness", "joy", "anger", "fear", "surprise"]}


def write_goemotions(root):
    folder = root / "goemotions"
    folder.mkdir(parents=True)
    names = ["admiration", "anger", "annoyance", "fear", "joy", "sadness", "surprise", "neutral"]
    (folder / "labels.txt").write_text("\n".join(names) + "\n")
    (folder / "ekman_mapping.json").write_text(json.dumps({"anger": ["anger", "annoyance"], "fear": ["fear"],
                                                           "joy": ["joy", "admiration"], "sadness": ["sadness"],
                                                           "surprise": ["surprise"]}))
    rng = random.Random(0)
    for name, n in (("train.tsv", 120), ("dev.tsv", 40), ("test.tsv", 40)):
        lines = []
        for i in range(n):
            ids = sorted({i % 8, rng.randrange(8)}) if i % 4 == 0 else [i % 8]
            lines.append(f"comment {i} about [NAME] and\ta tab\t{','.join(map(str, ids))}\tid{i}")
        (folder / name).write_text("\n".join(lines) + "\n")
    return root


def test_goemotions_reader_and_ekman_variant(tmp_path):
    root = write_goemotions(tmp_path)
    with pytest.warns(UserWarning, match="differs from the published GoEmotions file"):
        corpus = load_dataset(DatasetConfig(name="goemotions", data_dir=str(root)))
    assert corpus.multi_label and len(corpus.label_names) == 8 and len(corpus["validation"]) == 40
    assert corpus["train"].texts[0] == "comment 0 about [NAME] and\ta tab"  # a tab inside a text survives
    ekman = load_dataset(DatasetConfig(name="goemotions:ekman", data_dir=str(root)))
    assert ekman.label_names == ["anger", "fear", "joy", "sadness", "surprise", "neutral"] and ekman.name == "goemotions:ekman"
    raw = corpus["train"].labels[1]  # id 1 = anger
    assert raw == [1] and ekman["train"].labels[1] == [0]
    assert ekman["train"].labels[0] in ([2], [0, 2], [1, 2], [2, 3], [2, 4], [2, 5])  # admiration -> joy, with another
    bad = root / "goemotions" / "test.tsv"
    bad.write_text("text\t3,99\tid\n")
    with pytest.raises(EmobenchError, match=r"test.tsv, line 1: label ids '3,99': expected ids 0..7"):
        load_dataset(DatasetConfig(name="goemotions", data_dir=str(root)))


def test_cross_dataset_evaluation_counts_shared_labels_only(tfidf_run, tmp_path):
    root = write_goemotions(tmp_path / "go")
    result = runner.invoke(app, ["evaluate", str(tfidf_run), "--dataset", "goemotions:ekman", "--data-dir", str(root),
                                 "--json", str(tmp_path / "t.json")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "t.json").read_text())
    info = metrics["transfer"]
    assert info["shared_labels"] == ["sadness", "joy", "anger", "fear", "surprise"]
    assert info["model_only_labels"] == ["love"] and info["data_only_labels"] == ["neutral"]
    assert info["dropped"] > 0 and info["kept"] + info["dropped"] == 40
    assert set(metrics["per_class"]) == set(info["shared_labels"])  # no zeros for classes the data cannot contain
    assert "hit rate" in result.output and "dropped (no label the run knows)" in result.output


def test_compare_with_transfer(tiny_root, tmp_path):
    root = write_goemotions(tmp_path / "go")
    import shutil

    shutil.copytree(tiny_root / "emotion", root / "emotion")
    result = runner.invoke(app, ["compare", "--models", "tfidf", "--data-dir", str(root), "--transfer", "goemotions:ekman",
                                 "-o", str(tmp_path / "c"), "--name", "t", "-q"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "c" / "t"
    assert (folder / "transfer" / "tfidf-s0.csv").is_file()
    md = (folder / "report.md").read_text()
    assert "## Transfer to goemotions:ekman" in md and "majority rate" in md
    row = json.loads((folder / "results.json").read_text())["runs"][0]
    assert row["transfer"]["dataset"] == "goemotions:ekman" and 0 <= row["transfer"]["macro_f1"] <= 1
    (folder / "report.md").unlink()
    assert runner.invoke(app, ["report", str(folder)]).exit_code == 0
    assert "## Transfer to goemotions:ekman" in (folder / "report.md").read_text()


def test_multi_label_baselines_answer_as_their_strategy_says(multi_files):
    """Thresholds tuned on validation made the stratified baseline the same tuned constant as the majority one."""
    corpus = load_dataset(tsv_config(multi_files))
    test = corpus["test"].texts
    shares = corpus["train"].label_matrix(4).mean(axis=0)
    answers = {}
    for name in ("majority", "stratified"):
        model = build_model(name).fit(corpus["train"], corpus["validation"], corpus.label_names, progress=False)
        assert model.decision.kind == "default" and model.decision.thresholds == [0.5] * 4
        answers[name] = model.predict(test)
    majority = answers["majority"]
    expected = (shares >= 0.5) if (shares >= 0.5).any() else np.eye(4, dtype=bool)[shares.argmax()]
    assert (majority == majority[0]).all() and np.array_equal(majority[0].astype(bool), expected)
    assert len({tuple(row) for row in answers["stratified"]}) > 1  # drawn per text, not one answer
