"""Dataset audit: sizes, label shares, lengths, duplicates, conflicting labels, leakage, placeholders; for
multi-label data also label cardinality, co-occurring label pairs and texts without a label."""
from __future__ import annotations

from collections import defaultdict
from itertools import combinations

import numpy as np

from .corpus import Corpus
from .text import is_placeholder, normalize_text


def _key(label):
    return tuple(label) if isinstance(label, list | tuple) else label


def _duplicates(texts: list[str], labels: list) -> tuple[int, list[str], list[dict]]:
    """(distinct texts seen more than once; the normalised texts among them with conflicting labels --
    label noise, not model error; examples)."""
    groups: dict[str, list] = defaultdict(list)
    for text, label in zip(texts, labels):
        groups[normalize_text(text)].append(_key(label))
    repeated = {key: ids for key, ids in groups.items() if len(ids) > 1}
    conflicting = {key: ids for key, ids in repeated.items() if len(set(ids)) > 1}
    examples = [{"text": key, "count": len(ids), "labels": sorted(set(ids), key=str)} for key, ids in list(conflicting.items())[:5]]
    return len(repeated), sorted(conflicting), examples


def _multi_label_facts(matrix: np.ndarray, names: list[str]) -> dict:
    per_text = matrix.sum(axis=1)
    together = matrix.T.astype(np.int64) @ matrix.astype(np.int64)
    pairs = [(int(together[i, j]), names[i], names[j]) for i, j in combinations(range(len(names)), 2) if together[i, j]]
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    return {
        "cardinality": round(float(per_text.mean()), 4) if len(per_text) else 0.0,
        "labels_per_text": {str(k): int((per_text == k).sum()) for k in range(int(per_text.max()) + 1)} if len(per_text) else {},
        "texts_without_label": int((per_text == 0).sum()),
        "texts_with_several_labels": int((per_text > 1).sum()),
        "top_pairs": [{"labels": [a, b], "texts": n} for n, a, b in pairs[:10]],
    }


def audit(corpus: Corpus) -> dict:
    """Audit every split and every pair of splits; returns a JSON-ready dict with a list of warnings."""
    report = {"dataset": corpus.name, "labels": corpus.label_names, "task": corpus.task,
              "source": corpus.source.get("kind"), "splits": {}}
    keys = {}
    for name, split in corpus.splits.items():
        matrix = split.label_matrix(corpus.num_labels)
        counts = matrix.sum(axis=0)
        lengths = np.array([len(text.split()) for text in split.texts]) if len(split) else np.zeros(1)
        repeated, conflicting, examples = _duplicates(split.texts, split.labels)
        placeholders = [text for text in split.texts if is_placeholder(text)]
        report["splits"][name] = {
            "size": len(split),
            "label_counts": {label: int(c) for label, c in zip(corpus.label_names, counts)},
            "label_shares": {label: round(float(c) / max(len(split), 1), 4) for label, c in zip(corpus.label_names, counts)},
            "words": {
                "mean": round(float(lengths.mean()), 2),
                "p50": float(np.percentile(lengths, 50)),
                "p95": float(np.percentile(lengths, 95)),
                "max": int(lengths.max()),
            },
            "repeated_texts": repeated,
            "conflicting_texts": len(conflicting),
            "conflicting_examples": examples,
            "empty_texts": sum(1 for text in split.texts if not text.strip()),
            "placeholder_texts": len(placeholders),
            "placeholder_examples": sorted(set(placeholders))[:8],
        }
        if corpus.multi_label:
            report["splits"][name]["multi_label"] = _multi_label_facts(matrix, corpus.label_names)
        keys[name] = {normalize_text(text) for text in split.texts}
    report["leakage"] = {
        f"{a}&{b}": len(keys[a] & keys[b]) for a, b in combinations(corpus.splits, 2)
    }
    all_texts = [t for s in corpus.splits.values() for t in s.texts]
    all_labels = [y for s in corpus.splits.values() for y in s.labels]
    repeated, conflicting, _ = _duplicates(all_texts, all_labels)
    report["overall"] = {"size": len(all_texts), "repeated_texts": repeated, "conflicting_texts": len(conflicting),
                         "conflicting_keys": conflicting}
    report["warnings"] = audit_warnings(report)
    return report


def audit_warnings(report: dict) -> list[str]:
    warnings = []
    for name, info in report["splits"].items():
        if info["repeated_texts"]:
            warnings.append(
                f"{name}: {info['repeated_texts']} texts occur more than once, "
                f"{info['conflicting_texts']} of them with conflicting labels"
            )
        if info["empty_texts"] or info["placeholder_texts"]:
            warnings.append(f"{name}: {info['placeholder_texts']} empty or placeholder texts (e.g. 'no response')")
        multi = info.get("multi_label")
        if multi and multi["texts_without_label"]:
            warnings.append(f"{name}: {multi['texts_without_label']} texts have no label")
    for pair, shared in report["leakage"].items():
        if shared:
            a, b = pair.split("&")
            warnings.append(f"leakage: {shared} texts appear in both {a} and {b}")
    return warnings
