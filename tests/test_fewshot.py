"""The fewshot family: label-description anchors, a body fine-tuned towards them on the shared loop, one linear head,
self-training on unlabeled texts checked on validation, and a zero-shot model that sees no label at all. On a tiny
random body no score is promised; what is asserted follows from the method (a text equal to a description is closest
to its own anchor; a checked self-training is kept exactly when validation says so)."""
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import LABELS, checked_export
from emobench.cli import app
from emobench.data import DatasetConfig, Split, load_dataset
from emobench.errors import EmobenchError, EmobenchWarning
from emobench.models import build_model, load_model

runner = CliRunner()


@pytest.fixture(scope="module")
def corpus(shared_root):
    return load_dataset(DatasetConfig(data_dir=str(shared_root)))


def tiny(tiny_models, **more):
    return build_model("fewshot", {"body": str(tiny_models["bert"]), "epochs": 2, "learning_rate": 1e-3, **more})


def test_trained_from_the_cli_reloads_to_the_same_answers_alone_and_in_a_batch(tiny_models, shared_root, tmp_path):
    result = runner.invoke(app, ["train", "--model", "fewshot", "--set", f"body={tiny_models['bert']}", "--set",
                                 "epochs=2", "--data-dir", str(shared_root), "-o", str(tmp_path), "--name", "f", "-q"])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "f" / "model" / "emobench_model.json").read_text())
    info = record["info"]
    assert info["labelled_texts"] == 180 and info["descriptions"] == "label names"
    assert info["finetune"]["epochs"] == 2 and info["finetune"]["class_vectors"] == "anchors"
    # the anchors' weight was chosen on validation: the chosen one scores best there, ties to the smaller weight
    scores = {float(w): f for w, f in info["anchor_weight"]["validation_macro_f1"].items()}
    best = max(scores.values())
    assert info["anchor_weight"]["value"] == min(w for w, f in scores.items() if f == best)
    model = load_model(tmp_path / "f")
    texts = load_dataset(DatasetConfig(data_dir=str(shared_root)))["test"].texts
    batched = model.predict_proba(texts)
    alone = np.concatenate([model.predict_proba([t]) for t in texts])
    assert np.abs(batched - alone).max() <= 1e-5
    assert not {p.name for p in (tmp_path / "f" / "model").iterdir()} & {"modules.json", "model.pkl"}  # data only


def test_zero_labels_use_the_descriptions_alone_and_no_validation_label(tiny_models, corpus, tmp_path):
    descriptions = [f"a text about {name} and nothing else" for name in LABELS]
    empty = Split([], [])
    # the validation split's labels are shuffled nonsense: a zero-shot model must not read them
    validation = Split(corpus["validation"].texts, [0] * len(corpus["validation"]))
    model = tiny(tiny_models).fit(empty, validation, LABELS, seed=0, descriptions=descriptions)
    assert model.temperature == 1.0 and model.info["calibration"].startswith("none")
    assert model.info["labelled_texts"] == 0 and "finetune" not in model.info
    # a text equal to a description has cosine 1 with its own anchor: the largest possible, whatever the body
    assert list(model.predict(descriptions)) == list(range(len(LABELS)))
    model.save(tmp_path / "z")
    assert list(load_model(tmp_path / "z").predict(descriptions)) == list(range(len(LABELS)))


def test_self_training_is_kept_exactly_when_validation_says_it_helps(tiny_models, corpus):
    unlabeled = corpus["test"].texts + ["", "   "] + corpus["train"].texts[:5]  # blanks and labelled texts are not pooled
    model = tiny(tiny_models, pseudo_per_class=3).fit(corpus["train"], corpus["validation"], LABELS, seed=0,
                                                      unlabeled=unlabeled)
    record = model.info["self_training"]
    assert record["pool"] == len(set(corpus["test"].texts) - set(corpus["train"].texts))
    assert record["given"] == len(unlabeled)
    assert record["pseudo_labelled"] == sum(record["per_label"].values()) <= 3 * len(LABELS)
    scores = record["validation_macro_f1"]
    assert record["used"] is (scores["with"] >= scores["without"])
    # the anchor weight recorded is the kept head's: its validation score is the one the check kept
    kept = scores["with"] if record["used"] else scores["without"]
    assert max(model.info["anchor_weight"]["validation_macro_f1"].values()) == kept


def test_self_training_without_validation_is_not_made_and_says_so(tiny_models, corpus):
    texts = corpus["test"].texts
    with pytest.warns(EmobenchWarning, match="unlabeled texts are not used: self-training is kept only where"):
        model = tiny(tiny_models).fit(corpus["train"], None, LABELS, seed=0, unlabeled=texts)
    assert any("are not used" in w for w in model.info["warnings"]) and not model.info["self_training"]["used"]
    plain = tiny(tiny_models).fit(corpus["train"], None, LABELS, seed=0)
    assert np.array_equal(model.predict_proba(texts), plain.predict_proba(texts))  # the very model without them
    unchecked = tiny(tiny_models, self_training_check=False).fit(corpus["train"], corpus["validation"], LABELS, seed=0,
                                                                  unlabeled=texts)
    assert unchecked.info["self_training"]["used"] and "unchecked" in unchecked.info["self_training"]["why"]


def test_learned_class_vectors_and_a_fixed_anchor_weight(tiny_models, corpus):
    model = tiny(tiny_models, anchors=False).fit(corpus["train"], corpus["validation"], LABELS, seed=0)
    assert model.info["finetune"]["class_vectors"] == "learned" and model.info["anchors"] is False
    fixed = tiny(tiny_models, anchor_weight=0.5).fit(corpus["train"], corpus["validation"], LABELS, seed=0)
    assert fixed.info["anchor_weight"] == {"value": 0.5, "chosen": "given"}


def test_the_same_seed_gives_the_same_model(tiny_models, corpus):
    texts = corpus["test"].texts
    first = tiny(tiny_models).fit(corpus["train"], corpus["validation"], LABELS, seed=3).predict_proba(texts)
    second = tiny(tiny_models).fit(corpus["train"], corpus["validation"], LABELS, seed=3).predict_proba(texts)
    assert np.array_equal(first, second)


@pytest.mark.parametrize("what, kwargs, message", [
    ("unlabeled", {"unlabeled": ["a text"]}, "the tfidf family does not learn from texts without labels"),
    ("descriptions", {"descriptions": LABELS}, "the tfidf family does not learn from label descriptions"),
])
def test_families_that_do_not_learn_from_an_input_refuse_it(corpus, what, kwargs, message):
    with pytest.raises(EmobenchError, match=message + r"; families that do: fewshot") as refused:
        build_model("tfidf").fit(corpus["train"], corpus["validation"], LABELS, **kwargs)
    assert "--" not in str(refused.value)  # the API's error names no command-line option


def test_bad_inputs_to_the_family(tiny_models, corpus):
    with pytest.raises(EmobenchError, match="does not learn from no labelled texts"):
        build_model("tfidf").fit(Split([], []), corpus["validation"], LABELS)
    with pytest.raises(EmobenchError, match="2 label descriptions for 6 labels"):
        tiny(tiny_models).fit(corpus["train"], corpus["validation"], LABELS, descriptions=["a", "b"])
    multi = Split(["happy and sad", "angry"], [[0, 1], [2]])
    with pytest.raises(EmobenchError, match="classifies single-label data"):
        tiny(tiny_models).fit(multi, None, LABELS)


def test_exported_to_onnx_with_its_checks(tiny_models, shared_root, tmp_path):
    result = runner.invoke(app, ["train", "--model", "fewshot", "--set", f"body={tiny_models['bert']}", "--set",
                                 "epochs=1", "--data-dir", str(shared_root), "-o", str(tmp_path), "--name", "f", "-q"])
    assert result.exit_code == 0, result.output
    exported = checked_export(tmp_path / "f", tmp_path / "x")
    assert exported is not None
    folder, record = exported
    assert all(check["value"] == 1.0 for name, check in record["checks"].items() if name.endswith("batch_invariance"))


def test_tuned_trials_are_scored_on_validation(tiny_models, shared_root, tmp_path):
    """The fine-tuning epochs carry no validation score (the head comes after them): a trial is scored as the model
    it made, on validation, not from its epochs."""
    result = runner.invoke(app, ["tune", "--model", "fewshot", "--trials", "1", "--set", f"body={tiny_models['bert']}",
                                 "--set", "epochs=1", "--data-dir", str(shared_root), "-o", str(tmp_path), "--name",
                                 "t", "-q"])
    assert result.exit_code == 0, result.output
    trials = json.loads((tmp_path / "t" / "trials.json").read_text())["trials"]
    assert [t["state"] for t in trials] == ["complete"] and 0.0 <= trials[0]["val_macro_f1"] <= 1.0


def test_a_zero_shot_run_exports_int8_calibrated_on_validation_texts(tiny_models, shared_root, tmp_path):
    args = ["train", "--model", "fewshot", "--set", f"body={tiny_models['bert']}", "--train-size", "0", "-o",
            str(tmp_path), "-q"]
    assert runner.invoke(app, [*args, "--data-dir", str(shared_root), "--name", "z"]).exit_code == 0
    exported = checked_export(tmp_path / "z", tmp_path / "x", quantize="int8")
    if exported is not None:  # int8 scores depend on the CPU: a failed score check writes nothing (checked_export)
        assert exported[1]["quantization"]["calibration_split"] == "validation"
    # without training or validation texts there is nothing to calibrate on: refused, naming the way out
    from emobench.data import Corpus
    from emobench.experiments.export import _calibration_texts

    bare = Corpus("d", LABELS, {"train": Split([], []), "test": Split(["a text"], [0])})
    with pytest.raises(EmobenchError, match=r"z: int8 needs texts to calibrate .* export it without quantize"):
        _calibration_texts(bare, tmp_path / "z")
