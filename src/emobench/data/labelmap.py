"""Label maps: ``target label -> [source labels]``, applied to a loaded corpus.

A map renames and merges labels (GoEmotions' 27 emotions into Ekman's six), and drops what it does not
name: a single-label text whose label maps to nothing is dropped, a multi-label text keeps the targets its
labels map to (and is dropped if it had labels and none maps). Everything dropped is counted, warned about
and recorded in the corpus source. A source label mapped to two targets makes single-label data ambiguous
and is refused.

Built in: ``emotion-ekman`` (dair-ai -> Ekman: sadness, joy, anger, fear, surprise are shared; love has no
counterpart) and ``ekman-emotion`` (the reverse; disgust and neutral have no counterpart).
"""
from __future__ import annotations

import warnings
from pathlib import Path

from ..errors import EmobenchError, option
from ..files import read_json
from .corpus import Corpus, Split
from .readers.common import DataWarning

SHARED_EKMAN = ["sadness", "joy", "anger", "fear", "surprise"]
BUILTIN = {
    "emotion-ekman": {label: [label] for label in SHARED_EKMAN},
    "ekman-emotion": {label: [label] for label in SHARED_EKMAN},
}


def read_label_map(spec: str | Path | dict | None) -> dict[str, list[str]] | None:
    """A built-in map name, a JSON file path, or a dict; validated: an object of label -> list of labels."""
    if spec is None or spec == "":
        return None
    if isinstance(spec, dict):
        mapping, where = spec, "label map"
    elif str(spec) in BUILTIN:
        return {k: list(v) for k, v in BUILTIN[str(spec)].items()}
    else:
        path = Path(spec).expanduser()
        if not path.is_file():
            raise EmobenchError(f"{option('label_map')} {spec}: no such file, and not a built-in map ({', '.join(BUILTIN)})")
        try:
            mapping = read_json(path, "label map")
        except EmobenchError as exc:
            raise EmobenchError(f"{exc}; expected {{\"target label\": [\"source label\", ...]}}") from None
        where = str(path)
    if not isinstance(mapping, dict) or not mapping:
        raise EmobenchError(f"{where}: expected a JSON object {{\"target label\": [\"source label\", ...]}}")
    out = {}
    for target, sources in mapping.items():
        if isinstance(sources, str):
            sources = [sources]
        if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s.strip() for s in sources):
            raise EmobenchError(f"{where}: target {target!r} must map to a non-empty list of label names")
        if not str(target).strip():
            raise EmobenchError(f"{where}: a target label name is empty")
        out[str(target)] = [s.strip() for s in sources]
    return out


def apply_label_map(corpus: Corpus, mapping: dict[str, list[str]], name: str = "label map") -> Corpus:
    """The corpus with its labels mapped (see the module docstring); the source records the map and what
    was dropped."""
    known = set(corpus.label_names)
    unknown = sorted({s for sources in mapping.values() for s in sources if s not in known})
    if unknown:
        raise EmobenchError(f"{name}: {', '.join(map(repr, unknown))} not a label of {corpus.name} "
                            f"({', '.join(corpus.label_names)})")
    targets = list(mapping)
    by_source: dict[int, list[int]] = {}
    for t, sources in enumerate(mapping.values()):
        for source in sources:
            by_source.setdefault(corpus.label_names.index(source), []).append(t)
    if not corpus.multi_label:
        ambiguous = [corpus.label_names[s] for s, ts in by_source.items() if len(ts) > 1]
        if ambiguous:
            raise EmobenchError(f"{name}: {', '.join(map(repr, ambiguous))} map(s) to several targets, which single-label "
                                f"data cannot hold")
    unmapped = [label for i, label in enumerate(corpus.label_names) if i not in by_source]
    splits, dropped = {}, {}
    for split_name, split in corpus.splits.items():
        texts, labels = [], []
        for text, label in zip(split.texts, split.labels):
            if corpus.multi_label:
                mapped = sorted({t for source in label for t in by_source.get(source, [])})
                if label and not mapped:
                    continue
                texts.append(text)
                labels.append(mapped)
            elif label in by_source:
                texts.append(text)
                labels.append(by_source[label][0])
        dropped[split_name] = len(split) - len(texts)
        splits[split_name] = Split(texts, labels)
    if any(dropped.values()):
        warnings.warn(f"{name}: {sum(dropped.values())} texts dropped because none of their labels is mapped "
                      f"({', '.join(f'{k} {v}' for k, v in dropped.items() if v)}); labels without a target: "
                      f"{', '.join(unmapped) or 'none'}", DataWarning, stacklevel=2)
    source = dict(corpus.source)
    source["label_map"] = {"name": name, "map": mapping, "unmapped_labels": unmapped, "dropped": dropped,
                           "source_labels": corpus.label_names}
    return Corpus(corpus.name, targets, splits, source, corpus.multi_label)
