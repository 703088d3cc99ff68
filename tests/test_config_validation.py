"""Configuration is validated before any work: every Params field against its type, choices and range."""
import dataclasses
import errno
import json

import pytest
from typer.testing import CliRunner

import emobench.training.checkpoint as checkpoint
from emobench.cli import app
from emobench.errors import EmobenchError
from emobench.models.registry import FAMILIES, MODELS, family_class, resolve
from emobench.params import describe_params, params_from_dict


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_family_default_is_valid_and_every_bound_is_enforced(family):
    cls = family_class(family)
    params = params_from_dict(cls.Params, {})
    for f in dataclasses.fields(params):
        meta = f.metadata
        for key, outside in (("gt", lambda b: b), ("ge", lambda b: b - 1), ("lt", lambda b: b), ("le", lambda b: b + 1)):
            if meta.get(key) is None:
                continue
            value = outside(meta[key])
            value = int(value) if isinstance(f.default, int) and not isinstance(f.default, bool) else float(value)
            with pytest.raises(EmobenchError, match=rf"parameter {f.name}={value!r} \({cls.Params.__qualname__}\): expected"):
                params_from_dict(cls.Params, {f.name: value})


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_name_and_preset_resolves(name):
    spec = resolve(name)
    cls = spec.family_class
    for preset in cls.PRESETS:
        assert resolve(name, preset=preset).preset == preset
    kinds = ("an integer", "a number", "true or false", "a string", "'")  # a type, or Literal choices
    for field_name, default, allowed in describe_params(cls.Params):
        assert any(kind in allowed for kind in kinds), (field_name, allowed)


def test_parameter_descriptions_say_type_choices_and_range():
    from emobench.models.lstm import LstmParams
    from emobench.models.tfidf import TfidfParams

    rows = {name: (default, allowed) for name, default, allowed in describe_params(LstmParams)}
    assert rows["dropout"] == ("0.3", "a number >= 0 and < 1")
    assert rows["max_vocab"] == ("None", "an integer or none >= 1")
    assert rows["optimizer"] == ("'adamw'", "'adamw' or 'adam'")
    assert rows["freeze_embeddings"] == ("False", "true or false")
    assert dict((n, a) for n, _, a in describe_params(TfidfParams))["class_weight"] == "'balanced' or none"


def test_choices_are_literal_types_and_strings_are_coerced():
    from emobench.models.lstm import LstmParams

    params = params_from_dict(LstmParams, {"epochs": "3", "dropout": "0.5", "class_weight": "none", "metric": "accuracy",
                                           "max_vocab": "null", "freeze_embeddings": "yes"})
    assert (params.epochs, params.dropout, params.class_weight, params.metric, params.max_vocab, params.freeze_embeddings) == \
        (3, 0.5, None, "accuracy", None, True)
    with pytest.raises(EmobenchError, match=r"parameter metric='auc' \(LstmParams\): expected 'macro_f1' or 'accuracy'"):
        params_from_dict(LstmParams, {"metric": "auc"})
    with pytest.raises(EmobenchError, match=r"parameter epochs=True"):
        params_from_dict(LstmParams, {"epochs": True})  # JSON true is not an integer
    with pytest.raises(EmobenchError, match=r"unknown parameter 'lr' for LstmParams; expected one of .*learning_rate"):
        params_from_dict(LstmParams, {"lr": "0.1"})


def test_parameters_are_checked_before_the_data_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv("EMOBENCH_DATA", raising=False)
    result = CliRunner().invoke(app, ["train", "--model", "lstm", "--set", "dropout=2", "--dataset", str(tmp_path / "no.csv"),
                                      "-o", str(tmp_path / "runs"), "-q"])
    assert result.exit_code == 2 and "parameter dropout=2 (LstmParams): expected a number >= 0 and < 1" in result.output
    assert not (tmp_path / "runs").exists()


def test_a_full_disk_is_a_clear_error_and_leaves_nothing(tiny_root, tmp_path, monkeypatch):
    import safetensors.numpy

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(args[1]))

    monkeypatch.setattr(safetensors.numpy, "save_file", full)
    out = tmp_path / "runs"
    result = CliRunner().invoke(app, ["train", "--data-dir", str(tiny_root), "-o", str(out), "--name", "r", "-q"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "tfidf.safetensors: no space left on device" in result.output
    assert not out.exists()  # no half-written run


def test_a_full_disk_during_training_keeps_a_resumable_run(tiny_root, tmp_path, monkeypatch):
    real = checkpoint.write_part

    def full_at_epoch_2(tmp, *args):
        if "ckpt-0002" in str(tmp):
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp / "model.safetensors"))
        return real(tmp, *args)

    monkeypatch.setattr(checkpoint, "write_part", full_at_epoch_2)
    out = tmp_path / "runs"
    args = ["train", "--model", "lstm", "--set", "epochs=3", "--set", "hidden_size=8", "--set", "glove=none",
            "--data-dir", str(tiny_root), "-o", str(out), "--name", "r", "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "no space left on device; the unfinished run is kept in" in result.output
    assert (out / "r.partial" / "checkpoints" / "ckpt-0001").is_dir() and not (out / "r.partial" / "LOCK").exists()
    monkeypatch.setattr(checkpoint, "write_part", real)
    result = CliRunner().invoke(app, ["train", "--resume", str(out / "r.partial"), "-q"])
    assert result.exit_code == 0, result.output
    assert len(json.loads((out / "r" / "history.json").read_text())) == 3


def test_options_that_do_not_apply_are_refused(tiny_root, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["train", "--data-dir", str(tiny_root), "--label-column", "y", "-o", str(tmp_path), "-q"])
    assert result.exit_code == 2 and "--label-column applies to your own data files" in result.output
    result = runner.invoke(app, ["compare", "--models", "tfidf", "--seeds", "0", "--data-dir", str(tiny_root), "-o", str(tmp_path / "c")])
    assert result.exit_code == 2 and "--seeds 0: expected an integer from 1 to 1,000" in result.output
    assert not (tmp_path / "c").exists()


def test_the_registry_lists_exactly_the_options_the_config_declares():
    """The command line's option order lives in the registry, the options themselves on DatasetConfig's fields: one
    added to either without the other would be missing from the commands or from every dataset's accepted options."""
    from emobench.data.config import DatasetConfig
    from emobench.data.registry import DATASET_OPTIONS, READERS, USER_FILE_OPTIONS
    from emobench.params import field_options

    declared = set(field_options(DatasetConfig))
    assert set(DATASET_OPTIONS) == declared and len(DATASET_OPTIONS) == len(declared)
    assert set(USER_FILE_OPTIONS) <= declared
    for name, entry in READERS.items():
        assert set(entry.options) <= declared, name
