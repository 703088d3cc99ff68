"""dair-ai emotion (CARER, Saravia et al. 2018): ``<root>/emotion/{train,val,test}.txt`` as ``text;label``,
or the Hugging Face hub (``dair-ai/emotion``, configuration "split") when there is no local copy."""
from __future__ import annotations

import warnings
from pathlib import Path

from ...errors import DataError, EmobenchError, option
from ..corpus import Corpus, Split, sha256_file, sha256_texts
from ..provenance import DataSource
from .common import DataChecksumWarning, read_text, resolve_data_root, semicolon_lines
from .values import TextChecker

EMOTION_LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]
EMOTION_FILES = {"train": "train.txt", "validation": "val.txt", "test": "test.txt"}
EMOTION_SHA256 = {
    "train.txt": "3ab03d945a6cb783d818ccd06dafd52d2ed8b4f62f0f85a09d7d11870865b190",
    "val.txt": "34faaa31962fe63cdf5dbf6c132ef8ab166c640254ab991af78f3aea375e79ef",
    "test.txt": "60f531690d20127339e7f054edc299a82c627b5ec0dd5d552d53d544e0cfcc17",
}


def read_emotion_file(path: Path, check: TextChecker) -> Split:
    texts, labels = [], []
    for number, text, label in semicolon_lines(read_text(path).splitlines(), path):
        if label not in EMOTION_LABELS:
            raise DataError(f"label {label!r} is not one of {', '.join(EMOTION_LABELS)}", path, number)
        texts.append(check(text, "text", path, number))
        labels.append(EMOTION_LABELS.index(label))
    return Split(texts, labels)


def load(config) -> Corpus:
    if config.drop_placeholders:
        raise EmobenchError(f"{option('drop_placeholders')} applies to ISEAR and user files; dair-ai emotion keeps its published "
                            "splits (the audit lists its placeholder-like texts)")
    return load_emotion(config.data_dir)


def load_emotion(data_dir: str | None = None) -> Corpus:
    """Local files under the data root if present, else the hub."""
    root = resolve_data_root(data_dir)
    if root is not None:
        folder = root / "emotion" if (root / "emotion").is_dir() else root
        if all((folder / f).is_file() for f in EMOTION_FILES.values()):
            return _from_folder(folder)
    return _from_hub(root)


def _from_folder(folder: Path) -> Corpus:
    splits, files = {}, {}
    check = TextChecker()
    for split, filename in EMOTION_FILES.items():
        path = folder / filename
        checksum = sha256_file(path)
        files[str(path.resolve())] = checksum
        if checksum != EMOTION_SHA256[filename]:
            warnings.warn(
                f"{path}: sha256 {checksum[:12]}... differs from the published dair-ai file "
                f"({EMOTION_SHA256[filename][:12]}...); results will not be comparable with published numbers",
                DataChecksumWarning, stacklevel=3,
            )
        splits[split] = read_emotion_file(path, check)
    check.report()
    return Corpus("emotion", list(EMOTION_LABELS), splits, DataSource(kind="dair-ai-files", files=files))


def _from_hub(root: Path | None) -> Corpus:
    where = f"no emotion/train.txt, val.txt, test.txt under {root}" if root else f"no data root (EMOBENCH_DATA or {option('data_dir')})"
    try:
        import datasets  # optional: pip install 'emobench[hub]'
    except ImportError:
        raise EmobenchError(
            f"dair-ai emotion: {where}, and the 'datasets' package for the hub is not installed "
            "(pip install 'emobench[hub]', or set EMOBENCH_DATA to a folder holding emotion/train.txt, val.txt, test.txt)"
        ) from None
    try:
        hub = datasets.load_dataset("dair-ai/emotion", "split")
    except Exception as exc:  # network, auth, cache: all mean "not available here"
        raise EmobenchError(f"dair-ai emotion: {where}, and the hub could not be reached ({exc})") from None
    names = hub["train"].features["label"].names
    if names != EMOTION_LABELS:
        raise EmobenchError(f"dair-ai emotion from the hub has labels {names}, expected {EMOTION_LABELS}")
    splits = {name: Split(list(hub[name]["text"]), list(hub[name]["label"])) for name in ("train", "validation", "test")}
    checks = {f"hub:dair-ai/emotion/{name}": sha256_texts(split) for name, split in splits.items()}
    return Corpus("emotion", list(EMOTION_LABELS), splits, DataSource(kind="hub", files=checks))
