"""Nothing read from a run directory or model folder can execute code: models are data only (JSON and
safetensors), old pickles are refused unread, and remote model code is never trusted."""
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from emobench.cli import app
from emobench.data import load_dataset
from emobench.errors import EmobenchError
from emobench.models import build_model, load_model

PICKLE_SUFFIXES = {".pkl", ".pickle", ".pt", ".bin", ".pth"}


class Marker:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def files_of(folder: Path) -> set[str]:
    return {p.suffix for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name, overrides", [("tfidf", {}), ("tfidf", {"classifier": "logreg", "char_ngram_max": "0"}),
                                             ("lstm", {"epochs": "2", "hidden_size": "8"})])
def test_saved_models_are_data_only_and_reload_identically(tiny_root, tmp_path, name, overrides):
    corpus = load_dataset("emotion", data_dir=str(tiny_root))
    model = build_model(name, overrides).fit(corpus["train"], corpus["validation"], corpus.label_names, progress=False)
    model.save(tmp_path / "m")
    assert not files_of(tmp_path / "m") & PICKLE_SUFFIXES, files_of(tmp_path / "m")
    texts = corpus["test"].texts
    assert np.array_equal(load_model(tmp_path / "m").predict_proba(texts), model.predict_proba(texts))


def test_checkpoints_hold_no_pickle(tiny_root, tmp_path, monkeypatch):
    import emobench.training.loop as loop
    from emobench.data import DatasetConfig
    from emobench.experiments.run import RunConfig, train

    def stop(epoch):
        if epoch == 2:
            raise KeyboardInterrupt()

    monkeypatch.setattr(loop, "_after_epoch", stop)
    config = RunConfig(model="lstm", overrides={"epochs": "3", "hidden_size": "8"}, output_dir=str(tmp_path), name="r",
                       dataset=DatasetConfig(name="emotion", data_dir=str(tiny_root)))
    with pytest.raises(KeyboardInterrupt):
        train(config, progress=False)
    checkpoints = tmp_path / "r.partial" / "checkpoints"
    assert files_of(checkpoints) == {".safetensors", ".json"}


@pytest.mark.parametrize("family, filename, meta", [
    ("tfidf", "tfidf.pkl", {"family": "tfidf", "params": {}, "label_names": ["a", "b"]}),
    ("transformer", "features_head.pkl", {"family": "transformer", "params": {"pretrained": "x", "mode": "features"},
                                          "label_names": ["a", "b"]}),
])
def test_old_pickled_models_are_refused_unread(tmp_path, family, filename, meta):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "emobench_model.json").write_text(json.dumps(meta))
    marker = tmp_path / "EXECUTED"
    with open(folder / filename, "wb") as handle:
        pickle.dump(Marker(str(marker)), handle)
    with pytest.raises(EmobenchError, match=rf"{filename}: this model was saved by emobench 0.1 with pickle"):
        load_model(folder)
    result = CliRunner().invoke(app, ["predict", str(folder), "hello"])
    assert result.exit_code == 2 and "refuses it" in result.output
    assert not marker.exists()


def test_remote_code_in_a_model_folder_is_never_run(tiny_root, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = tmp_path / "model"
    folder.mkdir()
    marker = tmp_path / "EXECUTED"
    (folder / "config.json").write_text(json.dumps({"model_type": "evil", "auto_map": {
        "AutoConfig": "evil.C", "AutoModelForSequenceClassification": "evil.M", "AutoTokenizer": ["evil.T", None]}}))
    (folder / "evil.py").write_text(f"open({str(marker)!r}, 'w')\n")
    result = CliRunner().invoke(app, ["train", "--model", f"hf:{folder}", "--data-dir", str(tiny_root), "-o", str(tmp_path / "runs"), "-q"])
    assert result.exit_code == 2 and "config.json: field auto_map: the model ships its own code" in result.output
    assert not marker.exists() and not (tmp_path / "runs").exists()


def test_every_from_pretrained_refuses_remote_code():
    source = (Path(__file__).parent.parent / "src" / "emobench").rglob("*.py")
    calls = []
    for path in source:
        for line in path.read_text().splitlines():
            if ".from_pretrained(" in line and "def " not in line and "nn.Embedding" not in line:
                calls.append((path.name, line.strip()))
    assert [name for name, _ in calls] == ["transformer.py"]  # one loader (load_pretrained) serves every transformers class
    assert all("trust_remote_code=False" in line for _, line in calls), calls


@pytest.mark.parametrize("target, content, message", [
    ("model/emobench_model.json", "{\"family\": ", "model description is not valid JSON"),
    ("model/tfidf_vocabulary.json", "[", "TF-IDF vocabulary is not valid JSON"),
    ("model/tfidf.safetensors", b"\x00" * 20, "the weights file cannot be read"),
    ("metrics.json", "{}", "field train_seconds: Field required"),
])
def test_corrupt_run_files_are_clear_errors(run_copy, target, content, message):
    runner = CliRunner()
    path = run_copy / target
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    command = ["evaluate", str(run_copy)] if target == "metrics.json" else ["predict", str(run_copy), "hi"]
    result = runner.invoke(app, command)  # the manifest names the edited file
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{Path(target).name}: " in result.output and "was saved; the file was truncated, replaced or edited" in result.output
    result = runner.invoke(app, [*command, "--allow-modified"])  # past the manifest, the file's own validation
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert Path(target).name in result.output and message in result.output, result.output
