"""The shipped datasets (EMOBENCH_DATA): audit numbers from shared/data/README.md, baseline quality."""
import pytest

from emobench.data import audit, load_dataset

pytestmark = pytest.mark.data


def test_emotion_audit_matches_readme(real_data_root):
    corpus = load_dataset("emotion", data_dir=str(real_data_root))
    report = audit(corpus)
    sizes = {name: s.size for name, s in report.splits.items()}
    assert sizes == {"train": 16000, "validation": 2000, "test": 2000}
    assert report.splits["train"].label_counts == {"sadness": 4666, "joy": 5362, "love": 1304, "anger": 2159, "fear": 1937, "surprise": 572}
    assert report.splits["validation"].label_counts == {"sadness": 550, "joy": 704, "love": 178, "anger": 275, "fear": 212, "surprise": 81}
    assert report.splits["test"].label_counts == {"sadness": 581, "joy": 695, "love": 159, "anger": 275, "fear": 224, "surprise": 66}
    dup = {n: (s.repeated_texts, s.conflicting_texts) for n, s in report.splits.items()}
    assert dup == {"train": (31, 30), "validation": (2, 2), "test": (0, 0)}
    assert report.leakage == {"train&validation": 5, "train&test": 11, "validation&test": 3}


def test_isear_audit_matches_readme(real_data_root):
    corpus = load_dataset("isear", data_dir=str(real_data_root))
    counts = {name: 0 for name in corpus.label_names}
    for split in corpus.splits:
        for name, c in corpus.label_counts(split).items():
            counts[name] += c
    assert counts == {"joy": 1094, "fear": 1095, "anger": 1096, "sadness": 1096, "disgust": 1096, "shame": 1096, "guilt": 1093}
    report = audit(corpus)
    assert report.overall.size == 7666
    assert report.overall.repeated_texts == 55
    texts = [t for s in corpus.splits.values() for t in s.texts]
    assert sum(t == "[ No response.]" for t in texts) == 78
    assert not any("\u00e1" in t for t in texts)
    placeholders = sum(s.placeholder_texts for s in report.splits.values())
    assert 90 <= placeholders <= 150  # "about a hundred"
    assert {n: len(s) for n, s in corpus.splits.items()} == {"train": 6130, "validation": 768, "test": 768}
    dropped = load_dataset("isear", data_dir=str(real_data_root), drop_placeholders=True)
    assert sum(len(s) for s in dropped.splits.values()) == 7666 - placeholders


def test_tfidf_meets_the_baseline_bar(real_data_root):
    from emobench.models import build_model
    from emobench.experiments.run import evaluate_split

    corpus = load_dataset("emotion", data_dir=str(real_data_root))
    model = build_model("tfidf").fit(corpus["train"], corpus["validation"], corpus.label_names)
    metrics = evaluate_split(model, corpus["test"])
    assert metrics.accuracy >= 0.89
    assert metrics.macro.f1 >= 0.85


def test_goemotions_matches_readme(real_data_root):
    corpus = load_dataset("goemotions", data_dir=str(real_data_root))
    assert corpus.multi_label and len(corpus.label_names) == 28 and corpus.label_names[0] == "admiration"
    assert {n: len(s) for n, s in corpus.splits.items()} == {"train": 43410, "validation": 5426, "test": 5427}
    report = audit(corpus)
    several = {n: s.multi_label.texts_with_several_labels for n, s in report.splits.items()}
    assert several == {"train": 7102, "validation": 878, "test": 837}
    assert report.splits["train"].label_counts["neutral"] == 14219
    assert (report.splits["train"].label_counts["grief"], report.splits["test"].label_counts["grief"]) == (77, 6)
    assert max(int(k) for k in report.splits["train"].multi_label.labels_per_text) == 5
    assert not corpus.source.warnings  # the published files
    ekman = load_dataset("goemotions:ekman", data_dir=str(real_data_root))
    assert ekman.label_names == ["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]
    assert len(ekman["test"]) == 5427  # every text maps to an Ekman label or neutral


def test_goemotions_reads_the_same_texts_by_every_route(real_data_root):
    """The built-in reader and --train-file on the same TSV bytes decode the release's CSV quoting alike (as the
    hub's loader does): 1,097 training texts hold quotes, none keeps the quoting."""
    from emobench.data import DatasetConfig

    builtin = load_dataset("goemotions", data_dir=str(real_data_root))
    folder = real_data_root / "goemotions"
    files = {"train": str(folder / "train.tsv"), "validation": str(folder / "dev.tsv"), "test": str(folder / "test.tsv")}
    names = [line.strip() for line in (folder / "labels.txt").read_text().splitlines() if line.strip()]
    as_files = load_dataset(DatasetConfig(name=files["train"], files=files, header=False, text_column="1", label_column="2",
                                          label_separator=",", label_names=names))
    for split in ("train", "validation", "test"):
        assert builtin[split].texts == as_files[split].texts, split
    quoted = [t for t in builtin["train"].texts if '"' in t]
    raw = [line.split("\t")[0] for line in (folder / "train.tsv").read_text(encoding="utf-8").splitlines()]
    assert len(quoted) == 1097 and sum('""' in t for t in raw) == 1097  # every quoted text was escaped in the file
    assert sum('""' in t for t in quoted) == 2  # decoded: only the two texts that really hold two quotes in a row
