"""GoEmotions (Demszky et al., ACL 2020), the "simplified" release: multi-label Reddit comments.

Local files under ``<root>/goemotions/``: ``train.tsv``, ``dev.tsv``, ``test.tsv`` (``text<TAB>label ids<TAB>
comment id``, no header, ids comma-separated), ``labels.txt`` (28 names in id order) and
``ekman_mapping.json``; otherwise the hub (``google-research-datasets/go_emotions``, "simplified").

Variants: ``goemotions`` (27 emotions + neutral) and ``goemotions:ekman`` (anger, disgust, fear, joy,
sadness, surprise + neutral: a text gets every Ekman label one of its labels maps to).
"""
from __future__ import annotations

import csv
import io
import json
import warnings
from pathlib import Path

from ...errors import DataError, EmobenchError, option
from ..corpus import Corpus, Split, sha256_file, sha256_texts
from ..provenance import DataSource
from .common import DataChecksumWarning, read_text, resolve_data_root
from .values import TextChecker

FILES = {"train": "train.tsv", "validation": "dev.tsv", "test": "test.tsv"}
SHA256 = {
    "train.tsv": "1c254a142be5c00e80d819b9ae1bbd36d94b2eeb8f4b1271846508d57e57d9c5",
    "dev.tsv": "575489c079c9de1097062a01738f998590d6b7ead66dd1c9fd1d2ba01fd8bc62",
    "test.tsv": "0587b2dd8b27b97352adbfc3fb083d46005c8946657fdc2b1ca8b1cc7f1f8be4",
    "labels.txt": "45c3ef86782d2a4d7fedcd6d8c111aa0d0e94720689bd164fac94fefb4495a89",
}
VARIANTS = ("", "ekman")
# Used when the hub is the source (the local copy brings its own ekman_mapping.json).
# 2: texts decoded from the release's CSV quoting (1 kept the quotes), as the hub's loader reads them
VERSION = 2
EKMAN = {"anger": ["anger", "annoyance", "disapproval"], "disgust": ["disgust"], "fear": ["fear", "nervousness"],
         "joy": ["joy", "amusement", "approval", "excitement", "gratitude", "love", "optimism", "relief", "pride",
                 "admiration", "desire", "caring"],
         "sadness": ["sadness", "disappointment", "embarrassment", "grief", "remorse"],
         "surprise": ["surprise", "realization", "confusion", "curiosity"]}


def load(config) -> Corpus:
    from ..labelmap import apply_label_map

    variant = config.name.partition(":")[2]
    if variant not in VARIANTS:
        raise EmobenchError(f"unknown GoEmotions variant {config.name!r}; expected goemotions or goemotions:ekman")
    if config.drop_placeholders:
        raise EmobenchError(f"{option('drop_placeholders')} applies to ISEAR and user files; GoEmotions keeps its published splits")
    root = resolve_data_root(config.data_dir)
    folder = None
    if root is not None:
        folder = root / "goemotions" if (root / "goemotions").is_dir() else root
        if not all((folder / f).is_file() for f in (*FILES.values(), "labels.txt")):
            folder = None
    corpus, ekman = _from_folder(folder, config.encoding) if folder else _from_hub(root)
    if variant == "ekman":
        corpus = apply_label_map(corpus, {**ekman, "neutral": ["neutral"]}, "GoEmotions -> Ekman")
        corpus.name = "goemotions:ekman"
    return corpus


def read_split(path: Path, num_labels: int, check: TextChecker, encoding: str = "utf-8") -> Split:
    """A TSV split, CSV-quoted as the release writes it (a text with quotes is written in quotes, its quotes doubled):
    decoded like the hub's loader
    (``csv`` with a tab delimiter) and like ``--train-file`` on the same bytes, so every route reads the same texts."""
    texts, labels = [], []
    reader = csv.reader(io.StringIO(read_text(path, encoding), newline=""), delimiter="\t")
    try:
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise DataError(f"malformed TSV ({exc})", path, reader.line_num) from None
    for number, parts in rows:
        if not parts or not "".join(parts).strip():
            continue
        if len(parts) > 3:  # an unquoted tab inside a text: the last two fields are fixed
            parts = ["\t".join(parts[:-2]), *parts[-2:]]
        if len(parts) != 3:
            raise DataError("expected 'text<TAB>label ids<TAB>comment id'", path, number)
        text, ids, _ = parts
        try:
            values = sorted({int(v) for v in ids.split(",")})
        except ValueError:
            raise DataError(f"label ids {ids!r}: expected comma-separated integers", path, number) from None
        if not values or values[0] < 0 or values[-1] >= num_labels:
            raise DataError(f"label ids {ids!r}: expected ids 0..{num_labels - 1}", path, number)
        texts.append(check(text, "text", path, number))
        labels.append(values)
    return Split(texts, labels)


def _from_folder(folder: Path, encoding: str) -> tuple[Corpus, dict]:
    names = [line.strip() for line in read_text(folder / "labels.txt", encoding).splitlines() if line.strip()]
    files, splits, check = {}, {}, TextChecker()
    for name in (*FILES.values(), "labels.txt"):
        checksum = sha256_file(folder / name)
        files[str((folder / name).resolve())] = checksum
        if checksum != SHA256[name]:
            warnings.warn(f"{folder / name}: sha256 {checksum[:12]}... differs from the published GoEmotions file "
                          f"({SHA256[name][:12]}...)", DataChecksumWarning, stacklevel=3)
    for split, name in FILES.items():
        splits[split] = read_split(folder / name, len(names), check, encoding)
    check.report()
    ekman = EKMAN
    if (folder / "ekman_mapping.json").is_file():
        try:
            ekman = json.loads((folder / "ekman_mapping.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"not valid JSON ({exc.msg})", folder / "ekman_mapping.json", exc.lineno) from None
        files[str((folder / "ekman_mapping.json").resolve())] = sha256_file(folder / "ekman_mapping.json")
    return Corpus("goemotions", names, splits, DataSource(kind="goemotions-files", files=files), multi_label=True), ekman


def _from_hub(root: Path | None) -> tuple[Corpus, dict]:
    where = f"no goemotions/train.tsv, dev.tsv, test.tsv, labels.txt under {root}" if root else \
        f"no data root (EMOBENCH_DATA or {option('data_dir')})"
    try:
        import datasets  # optional: pip install 'emobench[hub]'
    except ImportError:
        raise EmobenchError(f"GoEmotions: {where}, and the 'datasets' package for the hub is not installed "
                            "(pip install 'emobench[hub]')") from None
    from ...logs import quiet_libraries

    quiet_libraries()  # after the import: huggingface_hub sets its own level when first imported
    try:
        hub = datasets.load_dataset("google-research-datasets/go_emotions", "simplified")
    except Exception as exc:  # network, auth, cache: all mean "not available here"
        raise EmobenchError(f"GoEmotions: {where}, and the hub could not be reached ({exc})") from None
    names = list(hub["train"].features["labels"].feature.names)
    splits = {name: Split(list(hub[name]["text"]), [sorted(set(v)) for v in hub[name]["labels"]])
              for name in ("train", "validation", "test")}
    checks = {f"hub:google-research-datasets/go_emotions/{name}": sha256_texts(split) for name, split in splits.items()}
    return Corpus("goemotions", names, splits, DataSource(kind="hub", files=checks), multi_label=True), EKMAN
