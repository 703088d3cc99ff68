"""A dataset by hub id (``--dataset hf:OWNER/NAME``) through ``datasets``: tested offline on a local folder of parquet
files that ``datasets.load_dataset`` reads exactly as it reads a hub dataset (ClassLabel features included); read with
the same options and checks as a local file, recorded as a hub source, cached, refused in one line when absent."""
import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from conftest import LABELS, tiny_examples
from emobench.cli import app
from emobench.data import DatasetConfig, load_dataset
from emobench.errors import EmobenchError

datasets = pytest.importorskip("datasets")
runner = CliRunner()


@pytest.fixture
def hub_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    folder = tmp_path / "tweets"
    folder.mkdir()
    features = datasets.Features({"id": datasets.Value("int64"), "tweet": datasets.Value("string"),
                                  "emotion": datasets.ClassLabel(names=LABELS)})
    for name, n, seed in (("train", 120, 1), ("validation", 30, 2), ("test", 30, 3)):
        rows = tiny_examples(n, seed)
        datasets.Dataset.from_dict({"id": list(range(n)), "tweet": [t for t, _ in rows],
                                    "emotion": [LABELS.index(y) for _, y in rows]}, features=features
                                   ).to_parquet(str(folder / f"{name}.parquet"))
    return folder


def test_a_hub_dataset_reads_as_a_local_file_would_with_its_class_names(hub_folder, tmp_path):
    config = DatasetConfig(name=f"hf:{hub_folder}", text_column="tweet", label_column="emotion")
    corpus = load_dataset(config)
    assert corpus.label_names == LABELS  # the ClassLabel's order, not the alphabet's
    for name, n, seed in (("train", 120, 1), ("validation", 30, 2), ("test", 30, 3)):
        rows = tiny_examples(n, seed)
        assert corpus[name].texts == [t for t, _ in rows] and corpus[name].labels == [LABELS.index(y) for _, y in rows]
    assert corpus.source.kind == "hub" and sorted(corpus.source.files) == sorted(
        f"hub:{hub_folder}/{s}" for s in ("train", "validation", "test"))
    cached = sorted((tmp_path / "cache" / "hub").glob("*.jsonl"))
    assert len(cached) == 3
    stamps = [p.stat().st_mtime_ns for p in cached]
    again = load_dataset(config)  # read from the cache, not written again
    assert again["test"].texts == corpus["test"].texts and [p.stat().st_mtime_ns for p in cached] == stamps
    assert config.short_name == "tweets"
    assert DatasetConfig(name="hf:cardiffnlp/tweet_eval", hf_config="emotion").short_name == "tweet_eval-emotion"


def test_a_hub_dataset_trains_and_evaluates_like_any(hub_folder, tmp_path):
    common = ["-d", f"hf:{hub_folder}", "--text-column", "tweet", "--label-column", "emotion"]
    trained = runner.invoke(app, ["train", *common, "--model", "tfidf", "-o", str(tmp_path / "r"), "--name", "h", "-q"])
    assert trained.exit_code == 0, trained.output
    data = json.loads((tmp_path / "r" / "h" / "data.json").read_text())
    assert data["source"]["kind"] == "hub" and data["labels"] == LABELS
    assert data["source"]["config"]["name"] == f"hf:{hub_folder}" and data["source"]["config"]["text_column"] == "tweet"
    evaluated = runner.invoke(app, ["evaluate", str(tmp_path / "r" / "h")])
    assert evaluated.exit_code == 0, evaluated.output


@pytest.mark.parametrize("extra, message", [
    ([], r"the train split has no column 'text' \(its columns: id, tweet, emotion\); name it with --text-column"),
    (["--text-column", "tweet"], r"no column 'label' .*name it with --label-column"),
    (["--text-column", "tweet", "--label-column", "emotion", "--train-file", "x.csv"], r"either --dataset or --train-file"),
])
def test_hub_options_are_checked_as_a_files_are(hub_folder, extra, message):
    result = runner.invoke(app, ["data", "audit", "-d", f"hf:{hub_folder}", *extra])
    assert result.exit_code == 2 and len([line for line in result.output.splitlines() if line.startswith("error:")]) == 1
    assert __import__("re").search(message, result.output), result.output


def test_a_hub_id_that_cannot_be_loaded_is_one_line_and_hf_config_goes_with_hub_data(tmp_path):
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "EMOBENCH_CACHE": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "emobench.cli", "data", "audit", "-d", "hf:nobody/no-such-data"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "error: hf:nobody/no-such-data: the datasets library could not load it (" in done.stderr
    with pytest.raises(EmobenchError, match="--hf-config applies to a hub dataset|hf_config applies to a hub dataset"):
        load_dataset(DatasetConfig(name="emotion", hf_config="x"))
    with pytest.raises(EmobenchError, match="expected hf:OWNER/NAME"):
        load_dataset(DatasetConfig(name="hf:"))
