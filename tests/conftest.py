import os
import random
import tempfile
from pathlib import Path

import pytest

# The static family caches distillations under EMOBENCH_CACHE: the tests keep theirs in a temporary folder.
os.environ.setdefault("EMOBENCH_CACHE", tempfile.mkdtemp(prefix="emobench-test-cache-"))

WORDS = {
    "sadness": ["sad", "lonely", "miserable", "heartbroken", "gloomy", "hopeless"],
    "joy": ["happy", "glad", "cheerful", "delighted", "joyful", "great"],
    "love": ["loving", "affectionate", "romantic", "tender", "passionate", "caring"],
    "anger": ["angry", "furious", "irritated", "annoyed", "mad", "outraged"],
    "fear": ["scared", "afraid", "terrified", "nervous", "anxious", "frightened"],
    "surprise": ["surprised", "amazed", "shocked", "astonished", "stunned", "startled"],
}
FRAMES = ["i feel {} today", "i am feeling so {} right now", "im {} about the whole thing",
          "honestly i feel {} and i do not know why", "this makes me {}", "i was {} when i heard it"]
LABELS = list(WORDS)


def tiny_examples(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = LABELS[i % len(LABELS)]
        text = rng.choice(FRAMES).format(rng.choice(WORDS[label]))
        out.append((text + f" {rng.choice(['', 'really', 'again', 'lol'])}".rstrip(), label))
    return out


MULTI_LABELS = ["joy", "sadness", "anger", "fear"]


def multi_examples(n: int, seed: int) -> list[tuple[str, list[str]]]:
    """Learnable multi-label texts: one of MULTI_LABELS in turn, a second one in every third text."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        chosen = [MULTI_LABELS[i % 4]] + ([MULTI_LABELS[(i + 1 + rng.randrange(3)) % 4]] if i % 3 == 0 else [])
        words = " and ".join(rng.choice(WORDS[label]) for label in chosen)
        out.append((f"today i feel {words} {rng.choice(['', 'really', 'lol'])}".strip(), sorted(set(chosen))))
    return out


def write_emotion_folder(root: Path, sizes=(180, 48, 48)) -> Path:
    folder = root / "emotion"
    folder.mkdir(parents=True, exist_ok=True)
    for filename, n, seed in zip(("train.txt", "val.txt", "test.txt"), sizes, (1, 2, 3)):
        (folder / filename).write_text("".join(f"{t};{l}\n" for t, l in tiny_examples(n, seed)), encoding="utf-8")
    return root


@pytest.fixture
def tiny_root(tmp_path) -> Path:
    """A data root with a small, learnable dair-ai-format emotion dataset."""
    return write_emotion_folder(tmp_path / "data")


@pytest.fixture(scope="session")
def shared_root(tmp_path_factory) -> Path:
    """The tiny dataset once for the whole test run (read only: tests that change data use ``tiny_root``)."""
    return write_emotion_folder(tmp_path_factory.mktemp("shared") / "data")


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Tiny, randomly initialised BERT, DistilBERT, RoBERTa and XLNet model folders, built once per test run."""
    from tiny_models import BUILDERS

    texts = [t for t, _ in tiny_examples(300, 1)]
    root = tmp_path_factory.mktemp("models")
    return {name: build(texts, root / name) for name, build in BUILDERS.items()}


@pytest.fixture(scope="session")
def tfidf_run(shared_root, tmp_path_factory) -> Path:
    """A finished tfidf run on the tiny dataset, trained once per test run. Read it; to change it, copy it
    (``run_copy``)."""
    from typer.testing import CliRunner

    from emobench.cli import app

    out = tmp_path_factory.mktemp("runs")
    result = CliRunner().invoke(app, ["train", "--data-dir", str(shared_root), "-o", str(out), "--name", "tfidf", "-q"])
    assert result.exit_code == 0, result.output
    return out / "tfidf"


@pytest.fixture
def run_copy(tfidf_run, tmp_path) -> Path:
    """A copy of the shared tfidf run, for tests that edit it."""
    import shutil

    return Path(shutil.copytree(tfidf_run, tmp_path / "r"))


@pytest.fixture
def real_data_root() -> Path:
    root = os.environ.get("EMOBENCH_DATA")
    if not root or not (Path(root) / "emotion" / "train.txt").is_file():
        pytest.skip("EMOBENCH_DATA does not point at the shared datasets")
    return Path(root)


def pytest_collection_modifyitems(config, items):
    # Tests marked `slow` (subprocesses, Ray, two-process Accelerate, kills) run by default; `-m "not slow"`
    # leaves them out for a quick loop.
    # Tests marked `data` use the real datasets; without EMOBENCH_DATA they skip cleanly.
    root = os.environ.get("EMOBENCH_DATA")
    if root and (Path(root) / "emotion").is_dir():
        return
    skip = pytest.mark.skip(reason="EMOBENCH_DATA is not set to the shared datasets")
    for item in items:
        if "data" in item.keywords:
            item.add_marker(skip)


def checked_export(run, out, quantize=None):
    """The export of a tiny random model, judged by what holds on any CPU: the checks ran and their verdicts follow
    from their recorded values and limits. int8 scores depend on the CPU's arithmetic, so an int8 export may fail its
    score checks; then the error names each failed check with its value and limit, and nothing is written (None)."""
    import json
    import re

    from emobench.errors import EmobenchError
    from emobench.experiments.export import export_run

    try:
        folder = export_run(run, out, quantize).folder
    except EmobenchError as exc:
        failed = re.findall(r"(\w+) (-?[0-9.]+) \(at (least|most) ([0-9.]+)\)", str(exc))
        assert quantize and failed, str(exc)
        for name, value, side, limit in failed:
            assert name in ("int8_accuracy_drop", "int8_macro_f1_drop"), str(exc)
            assert float(value) > float(limit) if side == "most" else float(value) < float(limit), str(exc)
        assert not out.exists() and not out.with_name(out.name + ".partial").exists()
        return None
    record = json.loads((folder / "export.json").read_text())
    assert record["passed"] and "one text" in record["tolerance"]
    for name, check in record["checks"].items():
        assert check["passed"] is True, (name, check)
        if "allowed" in check:
            assert check["value"] <= check["allowed"] + 1e-12 and check["allowed"] >= max(0.005, check["one_text"])
        if name == "fp32_agreement":
            assert check["value"] >= check["required"] >= min(0.995, 1 - 1 / record["examples"]) - 1e-12
    return folder, record
