"""ONNX export round trips: tiny models of each transformer architecture and both LSTMs, fp32 and int8, the
export's self-check, and the ONNX backend behind predict and the Predictor with the same output."""
import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import checked_export, tiny_examples
from emobench.cli import app
from emobench.errors import EmobenchError
from emobench.serving import Predictor
from emobench.experiments.export import export_run
from tiny_models import BUILDERS

runner = CliRunner()
FAST = ["--set", "epochs=3", "--set", "batch_size=16", "--set", "learning_rate=0.003", "--set", "warmup_ratio=0"]


def train(root, out, name, *args):
    result = runner.invoke(app, ["train", *args, "--data-dir", str(root), "-o", str(out), "--name", name, "-q"])
    assert result.exit_code == 0, result.output
    return out / name


def check_round_trip(run, out, quantize=None):
    exported = checked_export(run, out, quantize)
    if exported is None:  # int8 failed its score checks on this CPU (said and refused); the fp32 graph round-trips
        return check_round_trip(run, out.with_name(out.name + "-fp32"))
    folder, record = exported
    for kind in record["files"]:  # alone and in mixed batches: the same answer
        check = record["checks"][f"{kind}_batch_invariance"]
        assert check["value"] == 1.0 and check["max_difference"] <= 1e-5 and check["texts"] == min(500, record["examples"])
    if "int8" in record["files"]:
        assert record["quantization"]["method"] == "static" and record["quantization"]["calibration_texts"] == 180
    texts = ["i feel so furious and angry", "honestly i was terrified", "i am glad"]
    torch_out, onnx_out = Predictor(run).predict(texts), Predictor(folder).predict(texts)
    card = Predictor(folder).card()  # what the service's /model and its page say the weights are
    assert card["precision"] == ("int8" if "int8" in record["files"] else "fp32") and card["explains"] is True
    assert Predictor(run).card()["precision"] == "fp32"
    assert [set(r.dump()) for r in onnx_out] == [set(r.dump()) for r in torch_out]  # the same output format
    for a, b in zip(torch_out, onnx_out):
        assert a.dump().keys() == b.dump().keys() and a.text == b.text
        if "int8" not in record["files"]:
            assert np.allclose(list(a.probabilities.values()), list(b.probabilities.values()), atol=1e-4)
    return folder, record


@pytest.mark.parametrize("arch", list(BUILDERS))
def test_transformers_export_to_onnx(arch, tiny_models, tiny_root, tmp_path):
    run = train(tiny_root, tmp_path, arch, "--model", f"hf:{tiny_models[arch]}", *FAST)
    folder, record = check_round_trip(run, tmp_path / f"{arch}-onnx", quantize="int8")
    assert (folder / "tokenizer.json").is_file()
    meta = json.loads((folder / "emobench_model.json").read_text())
    assert meta["onnx"]["file"] == ("model.int8.onnx" if "int8" in record["files"] else "model.onnx")
    assert meta["onnx"]["preprocess"]["left"] == (arch == "xlnet")


@pytest.mark.parametrize("model", ["lstm", "lstm-paper"])
def test_lstms_export_to_onnx(model, tiny_root, tmp_path):
    run = train(tiny_root, tmp_path, model, "--model", model, "--set", "epochs=4", "--set", "hidden_size=16")
    folder, record = check_round_trip(run, tmp_path / f"{model}-onnx")
    assert record["scores"]["fp32"]["accuracy"] == record["scores"]["pytorch"]["accuracy"]
    assert (folder / "vocab.json").is_file()


def test_cli_export_and_predict_with_the_onnx_backend(tiny_root, tmp_path):
    run = train(tiny_root, tmp_path, "l", "--model", "lstm", "--set", "epochs=4", "--set", "hidden_size=16")
    result = runner.invoke(app, ["export", str(run), "-o", str(tmp_path / "exp")])
    assert result.exit_code == 0, result.output
    assert "fp32: accuracy" in result.output
    a = runner.invoke(app, ["predict", str(run), "i am so scared", "--json"])
    b = runner.invoke(app, ["predict", str(tmp_path / "exp"), "i am so scared", "--json", "--backend", "onnx"])
    assert json.loads(a.stdout)["label"] == json.loads(b.stdout)["label"]
    assert set(json.loads(a.stdout)) == set(json.loads(b.stdout))
    wrong = runner.invoke(app, ["predict", str(run), "hi", "--backend", "onnx"])
    assert wrong.exit_code == 2 and "not an ONNX export" in wrong.output
    again = runner.invoke(app, ["export", str(run), "-o", str(tmp_path / "exp")])
    assert again.exit_code == 2 and "already exists" in again.output


def test_tfidf_and_failed_checks_are_explained(tiny_root, tmp_path, monkeypatch):
    run = train(tiny_root, tmp_path, "t", "--model", "tfidf")
    result = runner.invoke(app, ["export", str(run), "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "tfidf stays in scikit-learn" in result.output and not (tmp_path / "x").exists()
    lstm = train(tiny_root, tmp_path, "l", "--model", "lstm", "--set", "epochs=2", "--set", "hidden_size=8")
    from emobench.models.onnx import OnnxModel

    real = OnnxModel.predict  # the fp32 graph answering every text otherwise: the check must fail and leave nothing
    monkeypatch.setattr(OnnxModel, "predict", lambda self, texts: (real(self, texts) + 1) % len(self.label_names))
    with pytest.raises(EmobenchError, match="failed its checks .*fp32_agreement 0.0000 .at least 0.9792."):
        export_run(lstm, tmp_path / "y")
    assert not (tmp_path / "y").exists() and not (tmp_path / "y.partial").exists()


def test_multi_label_export(tmp_path):
    import random

    rng = random.Random(0)
    words = {"joy": ["happy", "glad"], "anger": ["angry", "mad"], "fear": ["scared", "afraid"]}
    for split, n in (("train", 150), ("validation", 60), ("test", 60)):
        rows = []
        for i in range(n):
            labels = sorted({list(words)[i % 3], list(words)[rng.randrange(3)]})
            rows.append(json.dumps({"text": "i am " + " and ".join(rng.choice(words[l]) for l in labels), "label": labels}))
        (tmp_path / f"{split}.jsonl").write_text("\n".join(rows) + "\n")
    result = runner.invoke(app, ["train", "--model", "lstm", "--set", "epochs=6", "--set", "hidden_size=16", "--set",
                                 "learning_rate=0.01", "--train-file", str(tmp_path / "train.jsonl"), "--validation-file",
                                 str(tmp_path / "validation.jsonl"), "--test-file", str(tmp_path / "test.jsonl"), "-o",
                                 str(tmp_path), "--name", "ml", "-q"])
    assert result.exit_code == 0, result.output
    folder, record = check_round_trip(tmp_path / "ml", tmp_path / "ml-onnx")
    assert record["task"] == "multi_label" and "micro_f1" in record["scores"]["fp32"]
    assert "labels" in Predictor(folder).predict(["i am happy"])[0].dump()


def test_the_int8_checks_allow_what_one_text_can_move():
    """The self-check means what it says at any size: one text whose int8 prediction differs never fails it. On 48 texts
    of six labels, all right, one changed prediction lowers macro-F1 by 2.09 points, more than 1/48 (the limit that
    failed on another CPU); two changed predictions of one label go past what one text can do."""
    from emobench.experiments.export import score_checks

    names = ["sadness", "joy", "love", "anger", "fear", "surprise"]
    truth = np.repeat(np.arange(6), 8)
    reference = truth.copy()
    one, two = truth.copy(), truth.copy()
    one[0] = 1
    two[[0, 1]] = 1
    for decided, passes in ((one, True), (two, False)):
        scores, checks = {"pytorch": {"accuracy": 1.0, "macro_f1": 1.0}}, {}
        score_checks(truth, reference, {"fp32": reference, "int8": decided}, names, scores, checks)
        drop = checks["int8_macro_f1_drop"]
        assert drop["passed"] is passes and checks["int8_accuracy_drop"]["passed"] is passes, checks
        assert drop["one_text"] == pytest.approx((1 - 14 / 15 + 1 - 16 / 17) / 6) and drop["one_text"] > 1 / 48
    scores, checks = {"pytorch": {"accuracy": 1.0, "macro_f1": 1.0}}, {}
    score_checks(truth, reference, {"fp32": one}, names, scores, checks)
    assert checks["fp32_agreement"]["passed"] and checks["fp32_agreement"]["required"] == pytest.approx(47 / 48)
    score_checks(truth, reference, {"fp32": two}, names, scores, checks)
    assert not checks["fp32_agreement"]["passed"]


def test_inference_batches_bound_padding_on_a_cpu():
    from emobench.batching import length_order

    lengths = [5, 60, 6, 7, 58, 8, 5, 61]
    plain = length_order(lengths, 64)
    assert len(plain) == 1 and [lengths[i] for i in plain[0]] == sorted(lengths)
    budgeted = length_order(lengths, 64, max_tokens=128)
    assert sorted(i for b in budgeted for i in b) == list(range(len(lengths)))  # every text exactly once
    assert all(len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 128 for b in budgeted)
    assert [len(b) for b in budgeted] == [5, 2, 1]  # the short ones together, the long ones apart from them
    assert [len(b) for b in length_order(lengths, 3, max_tokens=10_000)] == [3, 3, 2]
    assert [len(b) for b in length_order([500, 400], 64, max_tokens=128)] == [1, 1]  # a text longer than the budget


def test_int8_answers_do_not_depend_on_the_batch(tiny_root, tmp_path):
    """Static int8: a text scored alone, in chunks of 1, 7 or 64, gets identical bytes in the scored file."""
    from emobench.serving.scoring import score_file

    run = train(tiny_root, tmp_path, "l", "--model", "lstm", "--set", "epochs=3", "--set", "hidden_size=16")
    exported = checked_export(run, tmp_path / "exp", "int8")
    if exported is None:
        pytest.skip("the int8 graph failed its score checks on this CPU (said and refused; see checked_export)")
    folder = exported[0]
    source = tmp_path / "texts.txt"
    source.write_text("".join(f"{t}\n" for t, _ in tiny_examples(150, 7)))
    outputs = []
    for chunk in (1, 7, 64):
        score_file(folder, source, tmp_path / f"s{chunk}.csv", chunk_size=chunk, progress=False)
        outputs.append((tmp_path / f"s{chunk}.csv").read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]


@pytest.mark.parametrize("size, speedup, pays", [(0.27, 0.95, True), (0.8, 1.0, True), (0.81, 1.14, False),
                                                 (1.0, 1.15, True), (1.02, 0.94, False)])
def test_int8_pays_when_smaller_or_faster_and_says_so(size, speedup, pays):
    from emobench.experiments.export import int8_verdict

    verdict = int8_verdict(size, speedup, 128)
    assert verdict["pays"] is pays and f"{size:.2f}x fp32's" in verdict["why"]
    assert ("export without --quantize" in verdict["why"]) is not pays


def test_an_lstm_int8_export_quantises_its_embedding_and_records_what_int8_gains(tiny_root, tmp_path):
    run = train(tiny_root, tmp_path, "l", "--model", "lstm", "--set", "epochs=2", "--set", "hidden_size=8")
    exported = checked_export(run, tmp_path / "exp", "int8")
    if exported is None:
        pytest.skip("the int8 graph failed its score checks on this CPU (said and refused; see checked_export)")
    gains = exported[1]["quantization"]
    assert "Gather" in gains["operators"] and 0 < gains["size_ratio"] < 1 and gains["speedup"] > 0
    sizes = exported[1]["files"]
    assert gains["size_ratio"] == pytest.approx(sizes["int8"] / sizes["fp32"], abs=1e-4)
    assert gains["pays"] == (gains["size_ratio"] <= 0.8 or gains["speedup"] >= 1.15)


def test_onnxruntime_writes_nothing_outside_the_folders_given(tmp_path):
    """onnxruntime 1.32 keeps a device id and an event cache under ~/.cache/Microsoft unless told not to (an outsider
    found /root/.cache/Microsoft/DeveloperTools/.onnxruntime/onnxruntime.db written by `export`); emobench tells it."""
    import os
    import subprocess
    import sys

    script = """
import sys, emobench, onnx, onnxruntime
from onnx import TensorProto, helper
io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1]) for n in "xy"]
graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", io[:1], io[1:])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.save(model, sys.argv[1])
onnxruntime.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
"""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "m.onnx")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [str(p.relative_to(home)) for p in home.rglob("*")] == []
