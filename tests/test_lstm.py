import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emobench.data import load_dataset
from emobench.models import build_model, load_model
from emobench.models.glove import glove_matrix
from emobench.models.lstm import Vocabulary, tokenize
from emobench.experiments.run import RunConfig, train
from emobench.data import DatasetConfig
from emobench.training import LengthBucketBatches
import emobench.training.loop as loop

FAST = {"epochs": "3", "hidden_size": "16", "batch_size": "16", "learning_rate": "0.01"}


def test_tokenizer_and_vocabulary():
    assert tokenize("I can't BELIEVE it!!! #sad") == ["i", "can't", "believe", "it", "sad"]
    vocab = Vocabulary.build(["a b b c", "b c d"], min_freq=2)
    assert vocab.words == ["<pad>", "<unk>", "b", "c"]
    assert vocab.encode("b zzz c") == [2, 1, 3]
    assert len(Vocabulary.build(["a b b c", "b c d"], max_size=1)) == 3


def test_glove_package_and_text_file(tmp_path):
    matrix, coverage = glove_matrix(["<pad>", "<unk>", "the", "qqqzzzxx"])
    assert matrix.shape == (4, 50)
    assert np.allclose(matrix[2, :3], [0.418, 0.24968, -0.41242])
    assert not matrix[0].any() and coverage["found"] == 1 and coverage["coverage"] == 0.5
    text = tmp_path / "vectors.txt"
    text.write_text("happy 1 2 3\nsad 4 5 6\n")
    matrix, coverage = glove_matrix(["<pad>", "<unk>", "sad", "glad"], str(text))
    assert matrix.shape == (4, 3) and matrix[2].tolist() == [4, 5, 6] and coverage["found"] == 1


def test_length_buckets_cover_every_example_once_and_group_lengths():
    lengths = list(np.random.default_rng(0).integers(1, 60, 1000))
    sampler = LengthBucketBatches(lengths, 32, seed=1, bucket_batches=10)
    sampler.set_epoch(3)
    batches = sampler.batches()
    assert sorted(i for b in batches for i in b) == list(range(1000))
    spread = np.mean([np.ptp([lengths[i] for i in b]) for b in batches])
    assert spread < 10  # random batches of 32 would span ~55
    assert sampler.batches() == batches  # deterministic per (seed, epoch)
    sampler.set_epoch(4)
    assert sampler.batches() != batches


@pytest.mark.parametrize("name", ["lstm", "lstm-paper"])
def test_lstm_trains_saves_and_reloads(tiny_root, tmp_path, name):
    corpus = load_dataset("emotion", data_dir=str(tiny_root))
    model = build_model(name, {**FAST, "epochs": "8"})
    model.fit(corpus["train"], corpus["validation"], corpus.label_names, progress=False)
    assert len(model.history) >= 1 and {"train_loss", "val_loss", "val_accuracy", "val_macro_f1", "seconds"} <= set(model.history[0].model_dump())
    assert model.info["glove"]["coverage"] > 0.9
    probs = model.predict_proba(corpus["test"].texts)
    assert probs.shape == (48, 6) and np.allclose(probs.sum(1), 1, atol=1e-5)
    if name == "lstm":
        assert (probs.argmax(1) == np.array(corpus["test"].labels)).mean() > 0.5
    model.save(tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert np.allclose(again.predict_proba(corpus["test"].texts), probs, atol=1e-6)


class Interrupt(Exception):
    pass


def test_resumed_run_matches_uninterrupted_run(tiny_root, tmp_path, monkeypatch):
    def config(name):
        return RunConfig(model="lstm", seed=7, overrides=dict(FAST), output_dir=str(tmp_path), name=name,
                         dataset=DatasetConfig(name="emotion", data_dir=str(tiny_root)))

    straight = train(config("straight"), progress=False).folder

    def stop_after_first(epoch):
        if epoch == 1:
            raise Interrupt()

    monkeypatch.setattr(loop, "_after_epoch", stop_after_first)
    with pytest.raises(Interrupt):
        train(config("resumed"), progress=False)
    partial = tmp_path / "resumed.partial"
    assert (partial / "checkpoints" / "ckpt-0001" / "state.json").is_file() and not (tmp_path / "resumed").exists()
    monkeypatch.setattr(loop, "_after_epoch", lambda epoch: None)
    resumed = train(resume=partial, progress=False).folder
    assert resumed == tmp_path / "resumed"
    a = json.loads((straight / "metrics.json").read_text())["splits"]
    b = json.loads((resumed / "metrics.json").read_text())["splits"]
    for split in ("validation", "test"):
        assert a[split]["accuracy"] == b[split]["accuracy"]
        assert a[split]["confusion_matrix"] == b[split]["confusion_matrix"]
    ha = json.loads((straight / "history.json").read_text())
    hb = json.loads((resumed / "history.json").read_text())
    assert [round(h["train_loss"], 6) for h in ha] == [round(h["train_loss"], 6) for h in hb]
    assert (straight / "predictions" / "test.csv").read_text() == (resumed / "predictions" / "test.csv").read_text()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_loop_under_accelerate_two_processes(tiny_root, tmp_path):
    """Two CPU processes: validation metrics cover every example exactly once.

    accelerate 1.x's `launch --cpu --num_processes 2` starts one process unless an MPI hostfile is
    given; `--multi_gpu` on a machine without GPUs starts two (torchrun) and the loop joins them
    in a gloo group on the CPU."""
    script = Path(__file__).parent / "accelerate_worker.py"
    out = tmp_path / "out.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port())]
    result = subprocess.run([*launcher, str(script), str(tiny_root), str(out)], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-8000:]
    report = json.loads(out.read_text())
    assert report["num_processes"] == 2
    assert report["val_n"] == [47, 47]  # an odd-sized validation set, no example dropped or doubled
    assert report["indices"] == list(range(47))
    assert report["history_accuracy"] == pytest.approx(report["recomputed_accuracy"])


def test_default_study_adds_minilm_on_a_gpu(monkeypatch):
    import torch

    from emobench.experiments.study import default_models

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert default_models() == ["tfidf", "lstm", "lstm-paper"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert default_models() == ["tfidf", "lstm", "lstm-paper", "minilm"]
