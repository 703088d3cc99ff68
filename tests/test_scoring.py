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
    assert [d["label"] for d in direct] == [r["predicted_label"] for r in rows[:50]]
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
    assert result.exit_code == 2 and "bad.csv, line 3: column 'text': expected a non-empty text" in result.output
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
