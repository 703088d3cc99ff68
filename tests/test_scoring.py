"""Batch scoring: streaming in chunks (a file larger than one chunk), columns passing through, clear errors,
and the same scoring on Ray Data, locally and against a cluster address."""
import csv
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import tiny_examples
from emobench.cli import app
from emobench.serving.scoring import score_file

runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tfidf_run):
    return tfidf_run


@pytest.fixture
def big_csv(tmp_path):
    path = tmp_path / "in.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "gold"])
        for i, (text, label) in enumerate(tiny_examples(2500, 9)):
            writer.writerow([f"x{i:05d}", text if i != 7 else f'{text}, "quoted", with\na newline', label])
    return path


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_streams_a_file_larger_than_a_chunk_and_passes_columns_through(run_dir, big_csv, tmp_path):
    stats = score_file(run_dir, big_csv, tmp_path / "out.csv", chunk_size=300, progress=False)
    assert stats.texts == 2500 and stats.texts_per_second > 0
    rows = read_csv(tmp_path / "out.csv")
    source = read_csv(big_csv)
    assert [r["id"] for r in rows] == [r["id"] for r in source] and rows[7]["text"] == source[7]["text"]
    assert list(rows[0])[:3] == ["id", "text", "gold"] and "predicted_label" in rows[0] and "p_joy" in rows[0]
    accuracy = sum(r["predicted_label"] == r["gold"] for r in rows) / len(rows)
    assert accuracy > 0.9
    from emobench.serving import Predictor

    direct = Predictor(run_dir).predict([r["text"] for r in source[:50]])
    assert [d.label for d in direct] == [r["predicted_label"] for r in rows[:50]]
    assert not (tmp_path / "out.csv.partial").exists()


def test_jsonl_and_txt(run_dir, tmp_path):
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"text": t, "meta": {"n": i}}) + "\n" for i, (t, _) in
                                               enumerate(tiny_examples(30, 3))))
    score_file(run_dir, tmp_path / "in.jsonl", tmp_path / "out.jsonl", chunk_size=7, progress=False)
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(rows) == 30 and rows[4]["meta"] == {"n": 4} and set(rows[0]["probabilities"]) >= {"joy", "fear"}
    (tmp_path / "in.txt").write_text("i am so happy\n\nso angry\n")
    score_file(run_dir, tmp_path / "in.txt", tmp_path / "t.csv", progress=False)
    assert [r["text"] for r in read_csv(tmp_path / "t.csv")] == ["i am so happy", "so angry"]


def test_cli_scoring_and_bad_input(run_dir, big_csv, tmp_path):
    result = runner.invoke(app, ["predict", str(run_dir), "--file", str(big_csv), "--output", str(tmp_path / "o.jsonl"),
                                 "--chunk-size", "500"])
    assert result.exit_code == 0, result.output
    assert "scored 2500 texts in" in result.output and "texts/s" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("text,gold\nfine,joy\n,anger\n")
    result = runner.invoke(app, ["predict", str(run_dir), "--file", str(bad), "--output", str(tmp_path / "b.csv")])
    assert result.exit_code == 2 and "bad.csv, line 3: empty text in column 'text'" in result.output
    assert not (tmp_path / "b.csv").exists() and not (tmp_path / "b.csv.partial").exists()
    clash = tmp_path / "clash.csv"
    clash.write_text("text,predicted_label\nhello,joy\n")
    result = runner.invoke(app, ["predict", str(run_dir), "--file", str(clash), "--output", str(tmp_path / "c.csv")])
    assert result.exit_code == 2 and "already has a column 'predicted_label'" in result.output
    result = runner.invoke(app, ["predict", str(run_dir), "--file", str(big_csv), "--output", str(tmp_path / "o.parquet")])
    assert result.exit_code == 2 and "expected a .csv or .jsonl file" in result.output
    result = runner.invoke(app, ["predict", str(run_dir), "hello", "--engine", "ray"])
    assert result.exit_code == 2 and "--engine applies to file scoring with --output" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_ray_engine_local_and_cluster_address(run_dir, big_csv, tmp_path):
    pytest.importorskip("ray")
    import ray

    local = tmp_path / "local.csv"
    score_file(run_dir, big_csv, local, chunk_size=400, progress=False)
    ray_out = tmp_path / "ray.csv"
    stats = score_file(run_dir, big_csv, ray_out, chunk_size=400, progress=False, engine="ray", ray_workers=2)
    ray.shutdown()
    assert stats.texts == 2500 and ray_out.read_text() == local.read_text()  # the same scoring, the same order

    port = _free_port()
    ray_bin = Path(sys.executable).parent / "ray"
    env = {**os.environ, "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}
    started = subprocess.run([str(ray_bin), "start", "--head", "--port", str(port), "--num-cpus", "2",
                              "--include-dashboard", "false", "--disable-usage-stats"], capture_output=True, text=True,
                             env=env, timeout=180)
    assert started.returncode == 0, started.stderr[-3000:]
    try:
        result = runner.invoke(app, ["predict", str(run_dir), "--file", str(big_csv), "--output", str(tmp_path / "cluster.csv"),
                                     "--engine", "ray", "--ray-address", f"127.0.0.1:{port}", "--chunk-size", "400", "-q"])
        assert result.exit_code == 0, result.output
        assert (tmp_path / "cluster.csv").read_text() == local.read_text()
    finally:
        ray.shutdown()
        subprocess.run([str(ray_bin), "stop", "--force"], capture_output=True, timeout=120)
    wrong = runner.invoke(app, ["predict", str(run_dir), "--file", str(big_csv), "--output", str(tmp_path / "w.csv"),
                                "--engine", "ray", "--ray-address", f"127.0.0.1:{_free_port()}"])
    assert wrong.exit_code == 2 and "cannot start or reach Ray" in wrong.output
    shutil.rmtree(tmp_path / "ray", ignore_errors=True)


AWKWARD = ["i feel happy\u2028and glad", "so sad\u0085really", "plain angry text", "caf\u00e9 joy \u2603"]


def _awkward_inputs(folder: Path) -> list[Path]:
    """The same texts as .txt, .csv and .jsonl, with a byte order mark, CRLF line ends and U+2028 / U+0085 inside."""
    txt = folder / "a.txt"
    txt.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(AWKWARD).encode("utf-8") + b"\r\n")
    table = folder / "a.csv"
    with open(table, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(["id", "text"])
        writer.writerows([[i, t] for i, t in enumerate(AWKWARD)])
    lines = folder / "a.jsonl"
    lines.write_bytes(b"\xef\xbb\xbf" + "".join(json.dumps({"text": t, "id": i}, ensure_ascii=False) + "\r\n"
                                               for i, t in enumerate(AWKWARD)).encode("utf-8"))
    return [txt, table, lines]


def test_awkward_text_is_one_row_each(run_dir, tmp_path):
    for source in _awkward_inputs(tmp_path):
        out = tmp_path / f"{source.stem}-{source.suffix[1:]}.jsonl"
        score_file(run_dir, source, out, chunk_size=3, progress=False)
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").split("\n") if line]
        assert [r["text"] for r in rows] == AWKWARD, source.name  # no BOM in a column name, no split at U+2028


@pytest.mark.slow
def test_ray_and_local_write_identical_bytes(run_dir, tmp_path):
    pytest.importorskip("ray")
    import ray

    try:
        for source in _awkward_inputs(tmp_path):
            for suffix in (".csv", ".jsonl"):
                local, remote = tmp_path / f"l-{source.suffix[1:]}{suffix}", tmp_path / f"r-{source.suffix[1:]}{suffix}"
                score_file(run_dir, source, local, chunk_size=3, progress=False)
                score_file(run_dir, source, remote, chunk_size=3, progress=False, engine="ray", ray_workers=2)
                assert local.read_bytes() == remote.read_bytes(), (source.name, suffix)
    finally:
        ray.shutdown()


@pytest.mark.parametrize("name, content, message", [
    ("dup.csv", "text,text\na,b\n", r"dup\.csv, line 1: column 'text' appears twice"),
    ("keys.jsonl", '{"text": "i am happy", "id": 1}\n{"text": "so sad", "idx": 2}\n',
     r"keys\.jsonl, line 2: keys \['idx', 'text'\] differ from the first record's"),
    ("taken.jsonl", '{"text": "i am happy", "p_joy": 1}\n', r"the input already has a column 'p_joy'"),
    ("surrogate.jsonl", '{"text": "i am happy \\ud800"}\n', r"surrogate\.jsonl, line 1: column 'text': a lone surrogate"),
    ("surrogate-key.jsonl", '{"text": "ok", "note": "\\udfff"}\n', r"line 1: column 'note': a lone surrogate"),
    ("deep.jsonl", '{"text": "ok", "x": ' + "[" * 10_000 + "]" * 10_000 + "}\n", r"deep\.jsonl, line 1: JSON nested too deeply"),
    ("huge.jsonl", json.dumps({"text": "x" * 1_200_000}) + "\n", r"huge\.jsonl, line 1: column 'text': a text of 1,200,000"),
])
def test_scoring_never_shifts_or_invents_a_row(run_dir, tmp_path, name, content, message):
    from emobench.errors import EmobenchError

    source = tmp_path / name
    source.write_text(content, encoding="utf-8")
    out = tmp_path / "out.csv"
    with pytest.raises(EmobenchError, match=message):
        score_file(run_dir, source, out, progress=False)
    assert not out.exists() and not (tmp_path / "out.csv.partial").exists() and not (tmp_path / "out.csv.lock").exists()


def test_header_only_and_reordered_keys_are_handled(run_dir, tmp_path):
    (tmp_path / "h.csv").write_text("id,text\n")
    score_file(run_dir, tmp_path / "h.csv", tmp_path / "h-out.csv", progress=False)
    assert read_csv(tmp_path / "h-out.csv") == [] and \
        (tmp_path / "h-out.csv").read_text().startswith("id,text,predicted_label,p_sadness")
    (tmp_path / "o.jsonl").write_text('{"id": "a", "text": "i am so happy"}\n{"text": "i am so sad", "id": "b"}\n')
    score_file(run_dir, tmp_path / "o.jsonl", tmp_path / "o.csv", progress=False)
    rows = read_csv(tmp_path / "o.csv")
    assert [(r["id"], r["text"]) for r in rows] == [("a", "i am so happy"), ("b", "i am so sad")]  # by name, never shifted


def test_a_command_line_text_that_is_not_utf8(run_dir):
    bad = b"i am \xff happy".decode("utf-8", "surrogateescape")
    result = runner.invoke(app, ["predict", str(run_dir), bad])
    assert result.exit_code == 2 and "text 1: byte b'\\xff' at character 5 is not valid UTF-8" in result.output


@pytest.mark.slow
def test_a_study_on_ray_gives_the_local_engines_runs(shared_root, tmp_path):
    """compare --engine ray: every run a Ray task (a stack's included), the same metrics and predictions as the local engine; a rerun
    reuses them; a changed configuration is refused as locally."""
    ray = pytest.importorskip("ray")
    args = ["compare", "--models", "tfidf,lstm,stack", "--set", "lstm.epochs=2", "--set", "lstm.hidden_size=4", "--set",
            "lstm.glove=none", "--set", "stack.members=tfidf+lstm[epochs=2,hidden_size=4,glove=none]", "--set",
            "stack.folds=2", "--data-dir", str(shared_root), "--no-baselines", "-q"]
    local = runner.invoke(app, [*args, "-o", str(tmp_path / "local"), "--name", "x"])
    assert local.exit_code == 0, local.output
    try:
        on_ray = runner.invoke(app, [*args, "-o", str(tmp_path / "ray"), "--name", "x", "--engine", "ray"])
        assert on_ray.exit_code == 0, on_ray.output
        assert "finished on Ray" in on_ray.output or "as a Ray task" in on_ray.output
        for run in ("tfidf-s0", "lstm-s0", "stack-s0"):  # a stack too: its members train inside its one task
            a = json.loads((tmp_path / "local" / "x" / "runs" / run / "metrics.json").read_text())["splits"]["test"]
            b = json.loads((tmp_path / "ray" / "x" / "runs" / run / "metrics.json").read_text())["splits"]["test"]
            assert a["accuracy"] == b["accuracy"] and a["macro"] == b["macro"]
            assert (tmp_path / "local" / "x" / "runs" / run / "predictions" / "test.csv").read_bytes() == \
                (tmp_path / "ray" / "x" / "runs" / run / "predictions" / "test.csv").read_bytes()
        again = runner.invoke(app, [*args, "-o", str(tmp_path / "ray"), "--name", "x", "--engine", "ray"])
        assert again.exit_code == 0 and again.output.count("finished earlier, reused") == 3, again.output
        other = ["lstm.hidden_size=6" if a == "lstm.hidden_size=4" else a for a in args]
        changed = runner.invoke(app, [*other, "-o", str(tmp_path / "ray"), "--name", "x",
                                      "--engine", "ray"])
        assert changed.exit_code == 2 and "was trained with another configuration" in changed.output
    finally:
        ray.shutdown()


def test_compare_on_ray_at_an_address_where_none_runs_is_refused_at_once(shared_root, tmp_path):
    import time

    started = time.perf_counter()
    result = runner.invoke(app, ["compare", "--models", "tfidf", "--data-dir", str(shared_root), "-o", str(tmp_path), "--name",
                                 "x", "--engine", "ray", "--ray-address", "127.0.0.1:9", "-q"])
    assert result.exit_code == 2 and "cannot start or reach Ray at 127.0.0.1:9" in result.output, result.output
    assert time.perf_counter() - started < 15 and not (tmp_path / "x" / "runs").exists()
    wrong = runner.invoke(app, ["compare", "--models", "tfidf", "--data-dir", str(shared_root), "-o", str(tmp_path), "--name",
                                "y", "--ray-address", "127.0.0.1:9", "-q"])
    assert wrong.exit_code == 2 and "--ray-address applies to --engine ray" in wrong.output


class Panic(BaseException):
    """What a tokenizer's Rust panic is to Python: a BaseException, not an Exception."""


@pytest.fixture
def poisoned(monkeypatch):
    """The tfidf model panics on any batch holding the word POISON (as a tokenizer whose regex backtracks would)."""
    from emobench.models.tfidf import TfidfClassifier

    real = TfidfClassifier.logits

    def logits(self, texts):
        if any("POISON" in t for t in texts):
            raise Panic("regex backtracking limit exceeded")
        return real(self, texts)

    monkeypatch.setattr(TfidfClassifier, "logits", logits)


def test_a_text_the_model_cannot_score_is_named_not_a_traceback(run_dir, tmp_path, poisoned):
    from emobench.errors import EmobenchError
    from emobench.serving import Predictor

    result = runner.invoke(app, ["predict", str(run_dir), "i feel fine", "a POISON text"])
    assert result.exit_code == 2 and "error: text 2: the model could not score it (Panic: regex backtracking" in \
        result.output and "Traceback" not in result.output, result.output
    with pytest.raises(EmobenchError, match="text 3: the model could not score it"):
        Predictor(run_dir).predict(["fine", "also fine", "POISON"])
    source = tmp_path / "in.csv"
    rows = [("a", "i feel fine")] * 1500 + [("b", "here is POISON")] + [("c", "happy")] * 10
    source.write_text("id,text\n" + "".join(f"{i},{t}\n" for i, t in rows))
    scored = runner.invoke(app, ["predict", str(run_dir), "--file", str(source), "--output", str(tmp_path / "out.csv"), "-q"])
    assert scored.exit_code == 2 and f"{source}, line 1502: the model could not score this text (Panic" in scored.output, \
        scored.output
    assert not list(tmp_path.glob("out.csv*"))  # nothing half-written


@pytest.mark.slow
def test_a_ray_cluster_that_dies_mid_comparison_is_a_clear_error(tmp_path):
    """Ray's core ends the process (exit 1, a C++ log line) a minute after the head stops answering; emobench watches
    the head and says what happened first, keeping the finished runs."""
    pytest.importorskip("ray")
    import time

    from conftest import write_emotion_folder

    root = write_emotion_folder(tmp_path / "data")
    port = _free_port()
    ray_bin = Path(sys.executable).parent / "ray"
    # an earlier ray.init() in this process set RAY_AUTH_MODE=token, whose token lives in the real HOME
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}, "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0",
           "HOME": str(tmp_path)}
    started = subprocess.run([str(ray_bin), "start", "--head", "--port", str(port), "--num-cpus", "2",
                              "--include-dashboard", "false", "--disable-usage-stats"], capture_output=True, text=True,
                             env=env, timeout=180)
    assert started.returncode == 0, started.stderr[-3000:]
    err = open(tmp_path / "err.txt", "w")
    try:
        compare = subprocess.Popen([sys.executable, "-m", "emobench", "compare", "--models", "lstm", "--no-baselines",
                                    "--no-noise-audit", "--set", "lstm.epochs=100000", "--set", "lstm.patience=0",
                                    "--set", "lstm.glove=none", "--set", "lstm.hidden_size=4", "--data-dir", str(root),
                                    "--engine", "ray", "--ray-address", f"127.0.0.1:{port}", "-o", str(tmp_path / "c"),
                                    "--name", "dies", "-q"], stdout=subprocess.DEVNULL, stderr=err, env=env)
        deadline = time.monotonic() + 240
        while "training as a Ray task" not in (tmp_path / "err.txt").read_text() and time.monotonic() < deadline:
            time.sleep(1)
        time.sleep(5)  # the task is running on the cluster
    finally:
        subprocess.run([str(ray_bin), "stop", "--force"], capture_output=True, timeout=120, env=env)
    code = compare.wait(timeout=240)
    err.close()
    said = (tmp_path / "err.txt").read_text()
    assert code == 2 and "error: the Ray cluster at" in said and "stopped answering while 1 run(s)" in said, said[-3000:]
    assert "Traceback" not in said and "Failed to connect to GCS" not in said, said[-3000:]


def test_utf16_lines_end_at_line_feeds_only(run_dir, tmp_path):
    """A lone CR inside a text stays in it, in UTF-16 as in UTF-8 (batch scoring split UTF-16 files at it)."""
    from emobench.serving.scoring import text_rows

    for encoding in ("utf-8", "utf-16"):
        path = tmp_path / f"{encoding}.txt"
        path.write_bytes("hello\rworld\nfine\r\n".encode(encoding))
        assert [text for number, _, text in text_rows(path, "text", encoding) if number] == ["hello\rworld", "fine"]
