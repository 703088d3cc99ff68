"""Records and the safe file layer: manifests written last and verified on load, names that stay inside their
folder, bounded JSON, and outputs claimed by one process at a time (exports, comparisons, tuning, scored files)."""
import json
import os
import shutil
import subprocess
import sys
import warnings

import pytest
from typer.testing import CliRunner

from emobench.claims import Lock, claim_folder
from emobench.cli import app
from emobench.errors import EmobenchError, RecordError
from emobench.files import MANIFEST, ModifiedFileWarning, UnverifiedFolderWarning, parse_json, relative_name
from emobench.manifest import Folder
from emobench.records.run import RunRecord

runner = CliRunner()


def test_a_run_lists_every_file_and_pins_its_model(tfidf_run):
    manifest = json.loads((tfidf_run / MANIFEST).read_text())["files"]
    assert {"config.json", "environment.json", "data.json", "metrics.json", "predictions/test.csv",
            "predictions/validation.csv", "model/MANIFEST.json"} == set(manifest)  # the model by its own manifest
    model = json.loads((tfidf_run / "model" / MANIFEST).read_text())["files"]
    assert set(model) == {"emobench_model.json", "tfidf.safetensors", "tfidf_vocabulary.json"}
    record = RunRecord.load(tfidf_run)
    assert record.files.verified and record.data.split_digests["test"] == record.predictions("test").digest()


def test_an_edited_file_is_refused_then_allowed_loudly(run_copy):
    metrics = json.loads((run_copy / "metrics.json").read_text())
    (run_copy / "metrics.json").write_text(json.dumps(metrics, indent=4))  # same content, other bytes
    with pytest.raises(RecordError, match=r"metrics\.json: .* when the run was saved; the file was truncated, replaced"):
        RunRecord.load(run_copy)
    with pytest.warns(ModifiedFileWarning, match=r"metrics\.json: .*used anyway because allow_modified was given"):
        record = RunRecord.load(run_copy, allow_modified=True)
    assert record.metrics.splits["test"].accuracy == metrics["splits"]["test"]["accuracy"]


def test_a_folder_without_a_manifest_loads_with_one_note(run_copy):
    for manifest in run_copy.rglob(MANIFEST):
        manifest.unlink()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        RunRecord.load(run_copy)
        from emobench.models import load_model

        load_model(run_copy)
    notes = [w for w in caught if issubclass(w.category, UnverifiedFolderWarning)]
    assert len(notes) == 2 and all("saved by emobench 0.2" in str(w.message) for w in notes)  # one per load, not per file


def test_names_stay_inside_the_folder(tmp_path):
    for bad in ("/etc/passwd", "../x.json", "a/../../b", "~/x", "a\\b", "", "./x"):
        with pytest.raises(RecordError, match="expected a file name inside the folder"):
            relative_name(bad, "where")
    assert relative_name("predictions/test.csv", "where") == "predictions/test.csv"
    (tmp_path / "f").mkdir()
    (tmp_path / "secret.json").write_text("{}")
    (tmp_path / "f" / "link.json").symlink_to(tmp_path / "secret.json")
    folder = Folder(tmp_path / "f", "model", note_unverified=False)
    with pytest.raises(RecordError, match=r"link\.json: the file is a symlink"):
        folder.read_json("link.json")


def test_json_is_bounded():
    with pytest.raises(RecordError, match="nested too deeply"):
        parse_json(b"[" * 10_000 + b"]" * 10_000, "f.json")
    with pytest.raises(RecordError, match="nested more than 64 levels"):
        parse_json(b"[" * 70 + b"]" * 70, "f.json")
    with pytest.raises(RecordError, match="NaN is not a JSON number"):
        parse_json(b'{"t": NaN}', "f.json")
    with pytest.raises(RecordError, match="is not UTF-8"):
        parse_json(b"\xff\xfe{}", "f.json")
    assert parse_json(b'{"a": [1, 2]}', "f.json") == {"a": [1, 2]}


def test_a_strict_folder_refuses_files_it_did_not_write(run_copy):
    (run_copy / "model" / "special_tokens_map.json").write_text("{}")
    with pytest.raises(RecordError, match=r"special_tokens_map\.json: not written by emobench"):
        from emobench.models import load_model

        load_model(run_copy)


def test_a_claimed_output_is_never_taken_from_a_live_owner(tmp_path):
    partial = tmp_path / "out.partial"
    lock = claim_folder(partial, "export")
    (partial / "half-written.onnx").write_bytes(b"x")
    with pytest.raises(EmobenchError, match=r"out\.partial: another export is being written there by process"):
        claim_folder(partial, "export")
    assert (partial / "half-written.onnx").is_file()  # the owner's work is untouched
    lock.release()


def test_a_dead_owner_is_detected_and_its_partial_taken_over(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    partial = tmp_path / "out.partial"
    partial.mkdir()
    (partial / "LOCK").write_text(json.dumps({"pid": int(dead.stdout), "host": os.uname().nodename, "started": "t"}))
    (partial / "stale.onnx").write_bytes(b"x")
    with pytest.warns(UserWarning, match=r"removed an unfinished export left by process .* which no longer exists"):
        lock = claim_folder(partial, "export")
    assert not (partial / "stale.onnx").exists() and lock.held
    lock.release()


def test_export_scoring_comparison_and_tuning_refuse_a_busy_output(tfidf_run, shared_root, tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    Lock.of(busy, "comparison").acquire()  # this process: alive
    (busy / "comparison.json").write_text("{}")
    result = runner.invoke(app, ["compare", "--models", "tfidf", "--data-dir", str(shared_root), "-o", str(tmp_path),
                                 "--name", "busy", "-q"])
    assert result.exit_code == 2 and "the comparison is being written by process" in result.output
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "tune.json").write_text("{}")
    Lock.of(tmp_path / "t", "tuning").acquire()
    result = runner.invoke(app, ["tune", "--model", "tfidf", "--data-dir", str(shared_root), "-o", str(tmp_path), "--name",
                                 "t", "--trials", "1", "-q"])
    assert result.exit_code == 2 and "the tuning is being tuned by process" in result.output
    (tmp_path / "texts.txt").write_text("i feel happy\n")
    Lock(tmp_path / "scores.csv.lock", "scored file").acquire()
    result = runner.invoke(app, ["predict", str(tfidf_run), "--file", str(tmp_path / "texts.txt"), "--output",
                                 str(tmp_path / "scores.csv"), "-q"])
    assert result.exit_code == 2 and "being written by process" in result.output and not (tmp_path / "scores.csv").exists()


@pytest.mark.slow
def test_two_exports_to_one_folder(shared_root, tmp_path):
    """Two processes export to the same folder at once: one export is written, the other is refused clearly
    (it never deletes the winner's partial folder, and never blames the model)."""
    run = tmp_path / "l"
    result = runner.invoke(app, ["train", "--model", "lstm", "--set", "epochs=2", "--set", "hidden_size=8", "--set",
                                 "glove=none", "--data-dir", str(shared_root), "-o", str(tmp_path), "--name", "l", "-q"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "exp"
    command = [sys.executable, "-m", "emobench.cli", "export", str(run), "--quantize", "int8", "-o", str(out)]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [(p.wait(timeout=300), p.stdout.read()) for p in procs]
    codes = sorted(code for code, _ in outputs)
    assert codes == [0, 2], outputs
    loser = next(text for code, text in outputs if code == 2)
    assert ("being written there by process" in loser or "already exists" in loser or "claiming it right now" in loser), loser
    assert "agreement" not in loser.split("error:")[-1]
    assert (out / "export.json").is_file() and not (tmp_path / "exp.partial").exists()
    shutil.rmtree(out)
