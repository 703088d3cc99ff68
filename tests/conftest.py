import os
import random
from pathlib import Path

import pytest

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


@pytest.fixture
def real_data_root() -> Path:
    root = os.environ.get("EMOBENCH_DATA")
    if not root or not (Path(root) / "emotion" / "train.txt").is_file():
        pytest.skip("EMOBENCH_DATA does not point at the shared datasets")
    return Path(root)


def pytest_collection_modifyitems(config, items):
    # Tests marked `data` use the real datasets; without EMOBENCH_DATA they skip cleanly.
    root = os.environ.get("EMOBENCH_DATA")
    if root and (Path(root) / "emotion").is_dir():
        return
    skip = pytest.mark.skip(reason="EMOBENCH_DATA is not set to the shared datasets")
    for item in items:
        if "data" in item.keywords:
            item.add_marker(skip)
