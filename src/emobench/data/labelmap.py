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
from .provenance import LabelMapSource
from .readers.common import DataWarning

SHARED_EKMAN = ["sadness", "joy", "anger", "fear", "surprise"]
BUILTIN = {
    "emotion-ekman": {label: [label] for label in SHARED_EKMAN},
    "ekman-emotion": {label: [label] for label in SHARED_EKMAN},
}


MAP_SHAPE = '{"target label": ["source label", ...]}'


def read_label_map(spec: str | Path | dict | None, where: str = "label map") -> dict[str, list[str]] | None:
    """A built-in map name, a JSON file path, or a dict; validated: an object of label -> list of labels, every target
    named once (spaces around names trimmed), every source listed once per target."""
    if spec is None:
        return None
    if isinstance(spec, dict):
        mapping = spec
    elif str(spec) in BUILTIN:
        return {k: list(v) for k, v in BUILTIN[str(spec)].items()}
    elif not isinstance(spec, str | Path) or not str(spec).strip():
        raise EmobenchError(f"{option('label_map')} {spec!r}: expected a JSON file {MAP_SHAPE} or a built-in map "
                            f"({', '.join(BUILTIN)})")
    else:
        path = Path(spec).expanduser()
        if path.is_dir():
            raise EmobenchError(f"{option('label_map')} {spec}: is a folder; expected a JSON file {MAP_SHAPE}")
        if not path.exists():
            raise EmobenchError(f"{option('label_map')} {spec}: no such file, and not a built-in map ({', '.join(BUILTIN)})")
        if not path.is_file():
            raise EmobenchError(f"{option('label_map')} {spec}: not a regular file; expected a JSON file {MAP_SHAPE}")
        try:
            mapping = read_json(path, "label map")
        except EmobenchError as exc:
            raise EmobenchError(f"{exc}; expected {MAP_SHAPE}") from None
        where = str(path)
    if not isinstance(mapping, dict):
        raise EmobenchError(f"{where}: expected a JSON object {MAP_SHAPE}")
    if not mapping:
        raise EmobenchError(f"{where}: an empty map; expected at least one target {MAP_SHAPE}")
    out = {}
    for target, sources in mapping.items():
        if isinstance(sources, str):
            sources = [sources]
        if not isinstance(target, str):
            raise EmobenchError(f"{where}: target {target!r} is not a label name; expected {MAP_SHAPE}")
        if not target.strip():
            raise EmobenchError(f"{where}: a target label name is empty")
        if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s.strip() for s in sources):
            raise EmobenchError(f"{where}: target {target!r} must map to a non-empty list of label names")
        name = target.strip()
        if name in out:
            raise EmobenchError(f"{where}: target {name!r} is named twice (spaces around names are trimmed)")
        listed = [s.strip() for s in sources]
        twice = next((s for i, s in enumerate(listed) if s in listed[:i]), None)
        if twice is not None:
            raise EmobenchError(f"{where}: target {name!r} lists {twice!r} twice; expected each source label once")
        out[name] = listed
    return out


def apply_label_map(corpus: Corpus, mapping: dict[str, list[str]], name: str = "label map") -> Corpus:
    """The corpus with its labels mapped (see the module docstring); the source records the map and what
    was dropped. ``mapping``: as :func:`read_label_map` reads it (a dict is checked again: it may come from the API
    or a saved configuration, not only from the command line)."""
    mapping = read_label_map(mapping, name)
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
    source = corpus.source.updated(label_map=LabelMapSource(name=name, map=mapping, unmapped_labels=unmapped,
                                                            dropped=dropped, source_labels=corpus.label_names))
    return Corpus(corpus.name, targets, splits, source, corpus.multi_label)
