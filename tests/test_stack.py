"""Stacking (the stack family): members scored out of fold, a logistic regression trained on those scores, members
retrained on every text. The folds are honest (no member scores a text it trained on), the combiner learns which member
to trust, the mean combiner is the members' average, a saved stack scores as it did, single- and multi-label, and it is
a model like any other through the CLI (train, compare, predict) while export and explain refuse it clearly."""
import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import LABELS, MULTI_LABELS, multi_examples, tiny_examples
from emobench.cli import app
from emobench.data import Split
from emobench.errors import EmobenchError
from emobench.models import build_model, load_model
from emobench.models.stack import C_GRID, StackClassifier, member_specs, parse_members
from emobench.models.stack_parts import Estimate

LSTM = "lstm[epochs=2,hidden_size=8,batch_size=16,learning_rate=0.01,glove=none]"
WEAK = "lstm[epochs=1,hidden_size=2,batch_size=64,learning_rate=0.0001,glove=none]"  # learns next to nothing


def _split(examples, labels):
    return Split([t for t, _ in examples], [[labels.index(x) for x in y] if isinstance(y, list) else labels.index(y)
                                            for _, y in examples])


@pytest.fixture(scope="module")
def data():
    return _split(tiny_examples(150, 1), LABELS), _split(tiny_examples(48, 2), LABELS), _split(tiny_examples(48, 3), LABELS)


@pytest.fixture(scope="module")
def stacked(data, tmp_path_factory):
    train, val, _ = data
    model = build_model("stack", {"members": f"tfidf+{WEAK}", "folds": "3"})
    model.fit(train, val, LABELS, seed=0, progress=False)
    folder = tmp_path_factory.mktemp("stack") / "model"
    model.save(folder)
    return model, folder


def test_no_member_scores_a_text_it_was_trained_on(data, monkeypatch):
    train, val, _ = data
    train = Split([f"{text} n{i}" for i, text in enumerate(train.texts)], train.labels)  # tiny data repeats texts
    seen = []
    real = StackClassifier._fit_member

    def spy(self, spec, split, validation, seed, progress, said):
        model = real(self, spec, split, validation, seed, progress, said)
        trained_on = set(split.texts)
        inner = model.predict_proba_batched

        def scored(texts, batch_size=256):
            seen.append((len(trained_on), len(texts), len(trained_on & set(texts))))
            return inner(texts, batch_size)
        model.predict_proba_batched = scored
        return model

    monkeypatch.setattr(StackClassifier, "_fit_member", spy)
    model = build_model("stack", {"members": f"tfidf+{LSTM}", "folds": "4"})
    model.fit(train, val, LABELS, seed=0, progress=False)
    folds = [row for row in seen if row[1] < len(train)]  # the out-of-fold scoring calls
    assert len(folds) == 2 * 4  # two members, four folds each
    assert all(overlap == 0 and fit + held == len(train) for fit, held, overlap in folds), folds
    # every training text scored once per member
    assert sum(held for _, held, _ in folds) == 2 * len(train)
    assert model.info["folds"] == 4 and [m["name"] for m in model.info["members"]] == ["tfidf", "lstm"]


def test_the_combiner_trusts_the_member_that_knows(stacked, data):
    model, _ = stacked
    k = len(LABELS)
    good, weak = np.abs(model.head.coef[:, :k]).sum(), np.abs(model.head.coef[:, k:]).sum()
    assert good > 2 * weak, (good, weak)
    by_name = {m["name"]: m for m in model.info["members"]}
    assert by_name["tfidf"]["out_of_fold_macro_f1"] > by_name["lstm"]["out_of_fold_macro_f1"]
    _, _, test = data
    # no worse than its best member, which an average with a useless member would be
    tfidf = model.members[0]
    ours = (model.predict(test.texts) == np.asarray(test.labels)).mean()
    theirs = (tfidf.predict(test.texts) == np.asarray(test.labels)).mean()
    mean = np.mean([m.predict_proba(test.texts) for m in model.members], axis=0).argmax(1)
    assert ours >= theirs - 0.03 and ours >= (mean == np.asarray(test.labels)).mean() - 0.03


def test_a_saved_stack_scores_as_it_did_in_any_batch(stacked, data):
    model, folder = stacked
    _, _, test = data
    loaded = load_model(folder)
    assert isinstance(loaded, StackClassifier) and [m.family for m in loaded.members] == ["tfidf", "lstm"]
    together = loaded.predict_proba(test.texts)
    np.testing.assert_allclose(together, model.predict_proba(test.texts), atol=1e-6)
    one_by_one = np.concatenate([loaded.predict_proba([t]) for t in test.texts[:8]])
    np.testing.assert_allclose(one_by_one, together[:8], atol=1e-5)
    record = json.loads((folder / "emobench_model.json").read_text())
    assert record["family"] == "stack" and record["params"]["members"] == f"tfidf+{WEAK}"
    assert (folder / "members" / "0-tfidf" / "MANIFEST.json").is_file()


def test_the_mean_combiner_is_the_members_average(data):
    train, _, test = data
    model = build_model("stack", {"members": f"tfidf+{LSTM}", "combiner": "mean"})
    with pytest.warns(UserWarning, match="no validation split"):
        model.fit(train, None, LABELS, seed=0, progress=False)
    assert model.head is None and model.info["folds"] == 0 and model.temperature == 1.0
    mean = np.mean([m.predict_proba(test.texts) for m in model.members], axis=0)
    np.testing.assert_allclose(model.predict_proba(test.texts), mean, atol=1e-9)


@pytest.mark.parametrize("multi", [False, True])
def test_the_combiner_and_its_estimate_on_a_sample_of_the_out_of_fold_scores(monkeypatch, multi):
    """More texts than C_SAMPLE: the regularisation is chosen on a sample, the stack's cross-validated estimate is
    made on one drawn from every fold (one drawn apart from the folds, with the same seed, fell in a single fold)."""
    import emobench.models.stack as stack_module

    monkeypatch.setattr(stack_module, "C_SAMPLE", 40)
    labels = MULTI_LABELS if multi else LABELS
    train, val = (_split(multi_examples(n, seed), labels) if multi else _split(tiny_examples(n, seed), labels)
                  for n, seed in ((160, 1), (48, 2)))
    model = build_model("stack", {"members": f"tfidf+{LSTM}", "folds": "3"})
    model.fit(train, val, labels, seed=0, progress=False)
    assert 38 <= model.info["cross_validated_texts"] <= 42
    assert 0 <= model.info["cross_validated_macro_f1"] <= 1 and all(c in C_GRID for c in model.info["combiner_C"])
    assert any(f"{model.info['cross_validated_texts']} texts)" in line for line in StackClassifier.describe(model.info))


@pytest.mark.parametrize("n, folds", [(43_410, 5), (16_000, 5), (9_000, 3)])
def test_the_estimates_sample_takes_each_folds_share(n, folds):
    from sklearn.model_selection import KFold

    from emobench.models.stack_parts import fold_sample

    split = list(KFold(folds, shuffle=True, random_state=0).split(np.arange(n)))  # as the stack cuts its folds
    kept = fold_sample(split, n, 8_000)
    assert abs(kept.sum() - 8_000) <= folds
    for fit_rows, held_rows in split:
        assert abs(kept[held_rows].sum() - 8_000 / folds) <= 1 and kept[fit_rows].sum() >= 8_000 * (folds - 1) / folds - 5
    assert fold_sample(split, 5_000, 8_000).all()


def test_a_multi_label_stack_decides_with_thresholds(tmp_path):
    def split(n, seed):
        return _split(multi_examples(n, seed), MULTI_LABELS)
    train, val, test = split(160, 1), split(48, 2), split(48, 3)
    model = build_model("stack", {"members": f"tfidf+{LSTM}", "folds": "3"})
    model.fit(train, val, MULTI_LABELS, seed=0, progress=False)
    assert model.multi_label and model.decision is not None and model.head.coef.shape == (4, 8)
    decided = model.predict(test.texts)
    assert decided.shape == (48, 4) and set(np.unique(decided)) <= {0, 1}
    model.save(tmp_path / "m")
    np.testing.assert_array_equal(load_model(tmp_path / "m").predict(test.texts), decided)


def test_the_same_seed_gives_the_same_stack(data):
    train, val, test = data
    runs = [build_model("stack", {"members": f"tfidf+{LSTM}", "folds": "2"}).fit(train, val, LABELS, seed=5, progress=False)
            for _ in range(2)]
    np.testing.assert_array_equal(runs[0].predict_proba(test.texts), runs[1].predict_proba(test.texts))


@pytest.mark.parametrize("members, message", [
    ("tfidf", "two or more members"),
    ("tfidf+tfidf", "named twice"),
    ("tfidf+majority", "majority is a baseline"),
    ("tfidf+stack", "cannot hold a stack"),
    ("tfidf+nope", "unknown model 'nope'; a member is one of tfidf, lstm,"),
    ("nope", "unknown model 'nope'; a member is one of"),
    ("tfidf+lstm[epochs=x]", "parameter epochs='x'"),
    ("tfidf+lstm[bogus=1]", "unknown parameter 'bogus'"),
    ("tfidf+lstm[epochs]", "'epochs' is not key=value"),
    ("tfidf+lstm[epochs=1,epochs=2]", "epochs= given twice"),
    ("tfidf[]+lstm", "member tfidf: empty brackets"),
    ("tfidf+lstm[ , ]", "member lstm: empty brackets"),
    ("tfidf++lstm", "expected two or more model names joined by +"),
    ("tfidf+lstm]", "unexpected ']'"),
    ("", "expected a string"),
])
def test_bad_members_are_refused_before_any_training(members, message):
    with pytest.raises(EmobenchError, match=message.replace("[", r"\[").replace("]", r"\]").replace("+", r"\+")):
        build_model("stack", {"members": members})


def test_a_stack_asks_ray_for_a_gpu_when_a_member_would():
    from emobench.models.registry import resolve

    assert not resolve("stack").uses_gpu and not resolve("stack", {"members": "tfidf+lstm"}).uses_gpu
    assert resolve("stack", {"members": "tfidf+minilm"}).uses_gpu and resolve("stack", preset="best").uses_gpu
    assert resolve("minilm").uses_gpu and not resolve("tfidf").uses_gpu


def test_members_parse_with_their_parameters():
    assert parse_members(" tfidf + lstm[epochs=5, glove=none]+hf:org/name") == [
        ("tfidf", {}), ("lstm", {"epochs": "5", "glove": "none"}), ("hf:org/name", {})]


def test_too_few_texts_for_the_folds_is_a_clear_error(data):
    train, val, _ = data
    with pytest.raises(EmobenchError, match="folds=5 needs at least 10 training texts, got 6"):
        build_model("stack", {"members": f"tfidf+{LSTM}"}).fit(train.subset(range(6)), val, LABELS, progress=False)


def test_a_stack_through_the_command_line(shared_root, tmp_path):
    runner = CliRunner()
    members = ["--set", f"members=tfidf+{LSTM}", "--set", "folds=2"]
    result = runner.invoke(app, ["train", "--model", "stack", *members, "--data-dir", str(shared_root), "-o", str(tmp_path),
                                 "--name", "s", "-q"])
    assert result.exit_code == 0, result.output
    assert "member tfidf: out-of-fold macro-F1" in result.output
    assert "stacked, cross-validated on the out-of-fold scores" in result.output
    result = runner.invoke(app, ["predict", str(tmp_path / "s"), "i feel so happy today"])
    assert result.exit_code == 0 and "joy" in result.output, result.output
    result = runner.invoke(app, ["export", str(tmp_path / "s"), "-o", str(tmp_path / "e")])
    assert result.exit_code == 2 and "emobench distill" in result.output and not (tmp_path / "e").exists(), result.output
    result = runner.invoke(app, ["explain", str(tmp_path / "s"), "i feel so happy", "--json"])
    assert result.exit_code == 0, result.output  # the whole stack's answer, word by word (occlusion)
    explained = json.loads(result.output.strip().splitlines()[-1])
    assert explained["tokens"] == ["i", "feel", "so", "happy"] and explained["method"].startswith("occlusion")
    assert max(explained["scores"]) == explained["scores"][3]  # "happy" carries the label
    result = runner.invoke(app, ["compare", "--models", "stack,tfidf", *members, "--data-dir", str(shared_root), "-o",
                                 str(tmp_path / "c"), "--name", "c", "-q", "--format", "md"])
    assert result.exit_code == 0, result.output
    rows = {row["model"]: row for row in json.loads((tmp_path / "c" / "c" / "results.json").read_text())["runs"]}
    assert {"stack", "tfidf", "majority"} <= set(rows)


# ---------------------------------------------------------------- a time limit (compare --preset best --time-limit)

def _estimates(monkeypatch, seconds: dict):
    """Each member's estimated seconds as given (a CPU's speed decides nothing in these tests)."""
    monkeypatch.setattr(StackClassifier, "_estimate", lambda self, spec, *a, **k: Estimate(seconds[spec.name],
                                                                                          seconds[spec.name]))


def test_members_that_do_not_fit_the_time_limit_are_left_out_up_front(data, monkeypatch, tmp_path):
    train, val, test = data
    _estimates(monkeypatch, {"tfidf": 1.0, "lstm": 10_000.0, "lstm-paper": 2.0})
    model = build_model("stack", {"members": f"tfidf+{LSTM}+{LSTM.replace('lstm', 'lstm-paper')}", "folds": "2",
                                  "time_limit": "600"})
    model.fit(train, val, LABELS, seed=0, progress=False)
    assert [m["name"] for m in model.info["members"]] == ["tfidf", "lstm-paper"]
    assert model.info["left_out"][0]["name"] == "lstm" and "estimated 10000 s" in model.info["left_out"][0]["reason"]
    assert model.info["estimated_seconds"] == {"tfidf": 1.0, "lstm": 10000.0, "lstm-paper": 2.0}
    assert any("lstm left out for time" in w for w in model.info["warnings"])
    assert any(line.startswith("member lstm left out: estimated 10000 s") for line in StackClassifier.describe(model.info))
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert len(loaded.members) == 2 and not (tmp_path / "m" / "members" / "1-lstm").exists()
    np.testing.assert_allclose(loaded.predict_proba(test.texts), model.predict_proba(test.texts), atol=1e-6)


def test_a_waiting_member_trains_when_the_others_leave_time(data):
    """Estimates err both ways: a member left waiting up front trains once the planned ones finish early."""
    train, val, _ = data
    model = build_model("stack", {"members": f"tfidf+{LSTM}", "folds": "2", "time_limit": "600"})
    model._estimate = lambda spec, *a, **k: Estimate(*[{"tfidf": 400.0, "lstm": 300.0}[spec.name]] * 2)
    model.fit(train, val, LABELS, seed=0, progress=False)
    assert [m["name"] for m in model.info["members"]] == ["tfidf", "lstm"] and "left_out" not in model.info


def test_a_member_that_cannot_be_measured_is_left_out_with_why(data, tmp_path):
    train, val, _ = data
    missing = tmp_path / "no-such-model"
    model = build_model("stack", {"members": f"tfidf+hf:{missing}[mode=features]", "folds": "2", "time_limit": "600"})
    model.fit(train, val, LABELS, seed=0, progress=False)
    assert [m["name"] for m in model.info["members"]] == ["tfidf"]
    left = model.info["left_out"][0]
    assert left["name"] == f"hf:{missing}" and left["reason"].startswith("not measurable: ") and "no-such-model" in left["reason"]


def test_measuring_is_part_of_the_time_limit(data, monkeypatch):
    """Past 15% of the limit spent measuring, the remaining candidates are not measured (nor trained)."""
    train, val, _ = data
    import emobench.models.stack_parts as parts

    spent = {"s": 0.0}

    def estimate(self, spec, *a, **k):
        spent["s"] += 200.0  # each measurement takes 200 s of a 1000 s limit
        return Estimate(1.0, 1.0)
    monkeypatch.setattr(StackClassifier, "_estimate", estimate)
    monkeypatch.setattr(parts.Clock, "left", lambda self: 1000.0 - spent["s"])
    model = build_model("stack", {"members": f"tfidf+{LSTM}+lstm-paper[epochs=1,hidden_size=4,glove=none]",
                                  "folds": "2", "time_limit": "1000"})
    model.fit(train, val, LABELS, seed=0, progress=False)
    assert [m["name"] for m in model.info["members"]] == ["tfidf"]
    reasons = {o["name"]: o["reason"] for o in model.info["left_out"]}
    assert set(reasons) == {"lstm", "lstm-paper"} and all(r.startswith("not measured: ") for r in reasons.values())
    assert any("only tfidf fitted the time limit" in w for w in model.info["warnings"])


def test_a_combiner_for_other_members_or_with_nan_is_refused(stacked, tmp_path):
    import shutil

    from safetensors.numpy import load_file, save_file

    from emobench.errors import RecordError

    _, folder = stacked
    for name, change in (("nan", lambda arrays, meta: (arrays["coef"].__setitem__((0, 0), np.nan), meta)),
                         ("order", lambda arrays, meta: (None, {**meta, "emobench.members": '["lstm", "tfidf"]'}))):
        copy = Path(shutil.copytree(folder, tmp_path / name))
        path = copy / "stack.safetensors"
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as handle:
            meta = handle.metadata()
        arrays = load_file(str(path))
        _, meta = change(arrays, meta)
        save_file(arrays, str(path), metadata=meta)
        with pytest.warns(UserWarning), pytest.raises(RecordError, match="stack.safetensors: " + (
                "tensor coef: expected finite" if name == "nan" else r"the combiner was trained on the members")):
            load_model(copy, allow_modified=True)


def test_a_member_folder_that_is_not_there_is_refused_before_anything_trains(data, tmp_path, monkeypatch):
    train, val, _ = data
    trained = []
    monkeypatch.setattr(StackClassifier, "_fit_member", lambda self, spec, *a: trained.append(spec.name))
    with pytest.raises(EmobenchError, match=r"stack member hf:.*no-such-model"):
        build_model("stack", {"members": f"tfidf+hf:{tmp_path / 'no-such-model'}"}).fit(train, val, LABELS, progress=False)
    assert trained == []


def test_nothing_fitting_the_time_limit_is_a_clear_error(data, monkeypatch):
    train, val, _ = data
    _estimates(monkeypatch, {"tfidf": 5_000.0, "lstm": 10_000.0})
    with pytest.raises(EmobenchError, match=r"time_limit of 60 s \(compare --preset best gives it most of what "
                       r"--time-limit leaves after the test split's audit\): no member fits; the fastest, tfidf, "
                       r"needs about 5000 s"):
        build_model("stack", {"members": f"tfidf+{LSTM}", "time_limit": "60"}).fit(train, val, LABELS, progress=False)


def test_a_member_slower_than_measured_is_dropped_after_its_first_fold(data, monkeypatch):
    train, val, _ = data
    _estimates(monkeypatch, {"tfidf": 1.0, "lstm": 1.0})
    import emobench.models.stack_parts as parts

    state = {"late": False}
    monkeypatch.setattr(parts.Clock, "left", lambda self: 0.0 if state["late"] else 1_000.0)
    real = StackClassifier._fit_member

    def fit(self, spec, *args):
        state["late"] = spec.family == "lstm"  # the clock runs out once the LSTM trains
        return real(self, spec, *args)
    monkeypatch.setattr(StackClassifier, "_fit_member", fit)
    model = build_model("stack", {"members": f"tfidf+{LSTM}", "folds": "3", "time_limit": "1000"})
    model.fit(train, val, LABELS, seed=0, progress=False)
    assert [m["name"] for m in model.info["members"]] == ["tfidf"] and model.head.coef.shape[1] == len(LABELS)
    assert "measured" in model.info["left_out"][0]["reason"]


def test_a_member_whose_samples_did_not_scale_is_tried_in_the_time_left(data, monkeypatch):
    """Early stopping or a data-sized batch can make a line through two samples wildly high (GoEmotions' static member:
    8,637 s estimated for fits of about 115 s each): such a member is tried when the least it could take fits."""
    train, val, _ = data
    _estimates(monkeypatch, {"tfidf": 1.0})
    model = build_model("stack", {"members": f"tfidf+{LSTM}", "folds": "2", "time_limit": "600"})
    model._estimate = lambda spec, *a, **k: {"tfidf": Estimate(1.0, 1.0), "lstm": Estimate(10_000.0, 5.0)}[spec.name]
    model.fit(train, val, LABELS, seed=0, progress=False)
    assert [m["name"] for m in model.info["members"]] == ["tfidf", "lstm"] and "left_out" not in model.info
    model._estimate = lambda spec, *a, **k: {"tfidf": Estimate(1.0, 1.0), "lstm": Estimate(10_000.0, 900.0)}[spec.name]
    model.fit(train, val, LABELS, seed=0, progress=False)
    assert [m["name"] for m in model.info["members"]] == ["tfidf"]
    assert model.info["left_out"][0]["reason"].startswith("estimated 10000 s for 3 fits")
    said = StackClassifier.describe(model.info)  # what the report says of it: the limit, the time, who was left out
    assert model.info["time_limit"] == 600 and any(line.startswith(
        "its time limit 600 s (under compare --preset best: most of --time-limit, after the test split's audit); "
        "trained in ") for line in said), said
    assert [line for line in said if "lstm left out" in line] == \
        [f"member lstm left out: {model.info['left_out'][0]['reason']}"], said


def test_a_line_that_did_not_scale_plans_nothing_but_its_members_are_tried(data, caplog):
    """lstm-paper on GoEmotions: a line through two samples said 710 s for six fits, a fold took 506 s. A member whose
    samples did not scale is never planned on its line, only tried when time is left, under a deadline; with nothing
    planned the first tried member trains (and is not stopped: the first member never is)."""
    train, val, _ = data
    model = build_model("stack", {"members": f"tfidf+{LSTM}", "folds": "2", "time_limit": "600"})
    model._estimate = lambda spec, *a, **k: {"tfidf": Estimate(2.0, 1.0), "lstm": Estimate(3.0, 2.0)}[spec.name]
    with caplog.at_level("INFO", logger="emobench"):
        model.fit(train, val, LABELS, seed=0, progress=False)
    assert [m["name"] for m in model.info["members"]] == ["tfidf", "lstm"] and "left_out" not in model.info
    said = caplog.text
    assert "stack within 600 s: nothing planned; waiting, each tried in turn if the time it needs is left: tfidf (~2 s, at least 1 s: " \
           "its samples did not scale as a line, so it is not planned on them), lstm (~3 s, at least 2 s" in said, said
    assert "stack: timing tfidf on two small samples" in said
    assert "trying tfidf" in said and "trying lstm" in said
    assert model.info["least_seconds"] == {"tfidf": 1.0, "lstm": 2.0}


def test_the_first_member_given_trains_first_even_when_only_a_later_one_was_planned(data, monkeypatch):
    """GoEmotions: tfidf's samples did not scale and the LSTM's did; planned alone, the LSTM trained first, and the
    first member is never stopped (six fits of 360 s in a 27-minute limit). The order given decides."""
    train, val, _ = data
    fitted = []
    real = StackClassifier._fit_member

    def fit(self, spec, *args):
        fitted.append(spec.name)
        return real(self, spec, *args)
    monkeypatch.setattr(StackClassifier, "_fit_member", fit)
    model = build_model("stack", {"members": f"tfidf+{LSTM}", "folds": "2", "time_limit": "600"})
    model._estimate = lambda spec, *a, **k: {"tfidf": Estimate(2.0, 1.0), "lstm": Estimate(30.0, 30.0)}[spec.name]
    model.fit(train, val, LABELS, seed=0, progress=False)
    assert fitted == ["tfidf"] * 3 + ["lstm"] * 3
    assert [m["name"] for m in model.info["members"]] == ["tfidf", "lstm"]


def test_a_tried_member_is_stopped_at_its_share_of_the_time(data, monkeypatch):
    train, val, test = data
    import torch

    import emobench.models.stack_parts as parts

    model = build_model("stack", {"members": f"tfidf+{LSTM}", "folds": "2", "time_limit": "600"})
    model._estimate = lambda spec, *a, **k: {"tfidf": Estimate(1.0, 1.0), "lstm": Estimate(10_000.0, 5.0)}[spec.name]
    monkeypatch.setattr(parts, "now", lambda: float("inf"))  # every deadline has passed by the LSTM's first step
    model.fit(train, val, LABELS, seed=0, progress=False)
    assert [m["name"] for m in model.info["members"]] == ["tfidf"]
    left = model.info["left_out"][0]
    assert left["name"] == "lstm" and re.match(r"stopped after \d+ s: it ran past its first fold's share, \d+ s, of "
                                               r"time_limit=600", left["reason"]), left
    assert any("lstm left out for time: stopped after" in w for w in model.info["warnings"])
    assert torch.nn.Linear(2, 2)(torch.zeros(1, 2)).shape == (1, 2)  # the deadline is gone with the member
    assert model.predict_proba(test.texts).shape == (len(test), len(LABELS))


@pytest.mark.parametrize("first, second, least", [(10.0, 19.0, None), (24.4, 18.0, 3 * 24.4), (10.0, 40.0, 30.0)])
def test_the_least_a_member_could_take_trusts_the_line_only_where_the_samples_scaled(data, monkeypatch, first, second,
                                                                                    least):
    train, val, _ = data
    import emobench.models.stack_parts as parts

    ticks = iter([0.0, first, 100.0, 100.0 + second])  # each sample's start and end
    monkeypatch.setattr(parts, "now", lambda: next(ticks))
    monkeypatch.setattr(StackClassifier, "_fit_member", lambda self, *a: type("M", (), {"info": {}})())
    model = build_model("stack", {"members": f"tfidf+{LSTM}", "folds": "2"})
    estimate = model._estimate(member_specs(model.params)[1], train, val, 0, len(train) / 2)
    assert estimate.least == pytest.approx(estimate.seconds if least is None else least, abs=0.1)
    assert estimate.seconds > estimate.least or least is None


def test_the_real_estimate_measures_two_samples(data):
    train, val, _ = data
    model = build_model("stack", {"members": f"tfidf+{LSTM}", "folds": "2"})
    model.label_names, model.multi_label = list(LABELS), False
    spec = member_specs(model.params)[1]
    estimate = model._estimate(spec, train, val, 0, len(train) / 2)
    assert 0 < estimate.least <= estimate.seconds < 600


def test_compare_preset_best_stacks_what_fits_and_reports_what_did_not(shared_root, tmp_path, monkeypatch):
    _estimates(monkeypatch, {"tfidf": 1.0, "lstm": 9_000.0, "static": 9_000.0, "minilm-features": 9_000.0,
                             "lstm-paper": 9_000.0, "minilm": 9_000.0})
    result = CliRunner().invoke(app, ["compare", "--preset", "best", "--time-limit", "2m", "--data-dir", str(shared_root),
                                      "-o", str(tmp_path), "--name", "b", "--no-noise-audit"])
    assert result.exit_code == 0, result.output
    assert "stack within 108 s: tfidf ~1 s; waiting, each tried in turn if the time it needs is left: lstm (~9000 s)" in result.output
    report = (tmp_path / "b" / "report.md").read_text()
    assert "member minilm left out: estimated 9000 s for 6 fits, more than the time left of time\\_limit=108" in report
    config = json.loads((tmp_path / "b" / "runs" / "stack-s0" / "config.json").read_text())
    assert config["preset"] == "best" and config["params"]["time_limit"] == 108.0


def _audit_taking(monkeypatch, seconds: float):
    """The test split's audit, really made, recorded as having taken ``seconds``."""
    from emobench.experiments import label_issues

    real = label_issues.find_issues
    monkeypatch.setattr(label_issues, "find_issues",
                        lambda *a, **k: real(*a, **k).model_copy(update={"seconds": seconds}))


def test_the_test_splits_audit_is_part_of_the_time_limit_and_a_rerun_plans_alike(shared_root, tmp_path, monkeypatch):
    _estimates(monkeypatch, {"tfidf": 1.0, "lstm": 9_000.0, "static": 9_000.0, "minilm-features": 9_000.0,
                             "lstm-paper": 9_000.0, "minilm": 9_000.0})
    _audit_taking(monkeypatch, 30.0)
    args = ["compare", "--preset", "best", "--time-limit", "2m", "--data-dir", str(shared_root), "-o", str(tmp_path),
            "--name", "b", "--no-baselines"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "time limit 120 s: the test split's audit took 30 s; the stack gets 81 s" in result.output
    assert result.output.index("looking for likely mislabelled") < result.output.index("stack within 81 s")
    assert json.loads((tmp_path / "b" / "label_issues.json").read_text())["seconds"] == 30.0
    config = tmp_path / "b" / "runs" / "stack-s0" / "config.json"
    assert json.loads(config.read_text())["params"]["time_limit"] == 81.0
    _audit_taking(monkeypatch, 1.0)  # a rerun reuses the audit, and with it the audit's recorded time
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "the stack gets 81 s" in again.output and "stack-s0: finished earlier, reused" in again.output


def test_an_audit_leaving_too_little_of_the_time_limit_is_a_clear_error(shared_root, tmp_path, monkeypatch):
    _audit_taking(monkeypatch, 115.0)
    result = CliRunner().invoke(app, ["compare", "--preset", "best", "--time-limit", "2m", "--data-dir",
                                      str(shared_root), "-o", str(tmp_path), "--name", "b"])
    assert result.exit_code == 2, result.output
    assert ("error: the test split's label-noise audit took 115 s of --time-limit 120 s, leaving too little for a "
            "stack: give a longer limit, or --noise-audit false (--no-noise-audit)") in result.output
    assert not (tmp_path / "b").exists() and "Traceback" not in result.output


@pytest.mark.parametrize("args, message", [
    (["--time-limit", "30m"], "--time-limit applies to --preset best"),
    (["--preset", "best", "--time-limit", "0"], "--time-limit '0': expected a duration from 1 s to 100,000,000 s"),
    (["--preset", "best", "--time-limit", "0.5"], "--time-limit '0.5': expected a duration from 1 s"),
    (["--preset", "best", "--time-limit", "30x"], "--time-limit '30x': expected a duration from 1 s"),
    (["--preset", "best", "--time-limit", "-5m"], "expected a duration from 1 s"),
    (["--preset", "best", "--seeds", "2"], "--time-limit is the time of one stack (--preset best has one, 30 minutes "
                                             "unless given): give one seed"),
    (["--preset", "best", "--models", "tfidf"], "--preset best chooses the models"),
    (["--preset", "BEST", "--time-limit", "1m"], "--time-limit applies to --preset best (the stack that fits it), not "
                                                 "--preset BEST"),
    (["--preset", "best", "--time-limit", "1m", "--ensemble", "all"],
     "--ensemble all (the comparison's models but baselines: stack): an ensemble needs at least two models"),
    (["--preset", "best", "--time-limit", "1m", "--seeds", "2"], "--time-limit is the time of one stack"),
    (["--preset", "best", "--time-limit", "1m", "--train-sizes", "8,16"], "--time-limit is the time of one stack"),
])
def test_bad_time_limits_are_refused_before_anything_trains(args, message, shared_root, tmp_path):
    result = CliRunner().invoke(app, ["compare", *args, "--data-dir", str(shared_root), "-o", str(tmp_path / "c")])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "c").exists()


def test_preset_best_without_a_time_limit_has_thirty_minutes(tmp_path):
    from emobench.data import DatasetConfig
    from emobench.experiments.study_plan import CompareConfig, plan_comparison

    config = CompareConfig(models=["stack"], preset="best", dataset=DatasetConfig(name="emotion"),
                           output_dir=str(tmp_path), name="c")
    stack = next(p for p in plan_comparison(config)[1] if p.model == "stack")
    assert stack.run.overrides["time_limit"] == "1620"
    assert plan_comparison(config, audit_seconds=300.0)[1][0].run.overrides["time_limit"] == "1350"


@pytest.mark.parametrize("params, message", [
    ({"combiner": "mean", "folds": "3"}, "parameters folds=3 and combiner='mean': folds are for combiner=logreg"),
    ({"time_limit": "0.5"}, "parameter time_limit=0.5: expected 0 (no limit) or at least 1 second"),
    ({"time_limit": "1e12"}, "parameter time_limit=1e12 (StackParams): expected"),
])
def test_stack_parameters_that_cannot_apply_are_refused(params, message):
    with pytest.raises(EmobenchError) as caught:
        build_model("stack", {"members": "tfidf+static", **params})
    assert message in str(caught.value)


def test_a_stack_below_its_best_member_is_warned_of(data, monkeypatch):
    train, val, _ = data
    monkeypatch.setattr(StackClassifier, "_cross_validated",
                        lambda self, x, split, folds, chosen: (0.0, np.ones(len(split), bool)))
    model = build_model("stack", {"members": f"tfidf+{LSTM}", "folds": "2"})
    model.fit(train, val, LABELS, seed=0, progress=False)
    best = max(model.info["members"], key=lambda m: m["out_of_fold_macro_f1"])
    assert any(w.startswith(f"stack: its cross-validated macro-F1, 0.000, is below its member {best['name']}'s out of "
                            f"fold on the same {len(train)} texts, {best['out_of_fold_macro_f1']:.3f}: the combiner "
                            f"adds nothing on this data") for w in model.info["warnings"]), model.info["warnings"]
    # the report's and the run's note on the model says it too (the report is read, not the console)
    assert any(line.startswith("warning: stack: its cross-validated macro-F1, 0.000") for line in
               StackClassifier.describe(model.info))


def test_damaged_member_weights_are_refused_naming_the_file(stacked, tmp_path):
    import shutil

    from safetensors.torch import load_file, save_file

    from emobench.errors import RecordError

    _, folder = stacked
    copy = Path(shutil.copytree(folder, tmp_path / "nan"))
    path = copy / "members" / "1-lstm" / "lstm.safetensors"
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata()
    tensors = load_file(str(path))
    name = next(k for k, v in tensors.items() if v.is_floating_point())
    tensors[name][..., 0] = float("nan")
    save_file(tensors, str(path), metadata=meta)
    with pytest.warns(UserWarning), pytest.raises(RecordError, match=rf"lstm\.safetensors: tensor {name} holds NaN"):
        load_model(copy, allow_modified=True)


def test_the_combiners_regularisation_is_chosen_on_a_stratified_sample_and_fitted_on_every_row(monkeypatch):
    from sklearn.linear_model import LogisticRegressionCV

    from emobench.models.stack_parts import ChosenC, stratified_sample

    rng = np.random.default_rng(0)
    y = (rng.random(3_000) < 0.1).astype(int)
    x = np.c_[y + rng.normal(0, 1.0, len(y)), rng.normal(0, 1.0, len(y))]
    rows = stratified_sample(y, 500, 0)
    assert len(rows) == 500 and len(set(rows)) == 500 and abs(y[rows].mean() - y.mean()) < 0.005
    assert list(stratified_sample(y[:400], 500, 0)) == list(range(400))
    seen = []
    real = LogisticRegressionCV.fit
    monkeypatch.setattr(LogisticRegressionCV, "fit", lambda self, a, b: seen.append(len(b)) or real(self, a, b))
    chosen: list[float] = []
    fitted = ChosenC([0.001, 0.1, 10.0], chosen, sample=500).fit(x, y)
    assert seen == [500] and chosen[0] in (0.001, 0.1, 10.0)
    assert fitted.C == chosen[0] and fitted.coef_[0][0] > 0.5  # fitted on every row, at the chosen C
    assert ChosenC([0.1], chosen := [], sample=500).fit(x, np.r_[1, np.zeros(len(y) - 1, int)]).C == 1.0 and chosen == [1.0]
