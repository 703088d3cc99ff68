"""Dataset audit: sizes, label shares, lengths, duplicates, conflicting labels, leakage, placeholders."""
from __future__ import annotations

from collections import defaultdict
from itertools import combinations

import numpy as np

from .corpus import Corpus
from .text import is_placeholder, normalize_text


def _duplicates(texts: list[str], labels: list[int]) -> tuple[int, int, list[dict]]:
    """(distinct texts seen more than once, of those with conflicting labels, examples)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for text, label in zip(texts, labels):
        groups[normalize_text(text)].append(label)
    repeated = {key: ids for key, ids in groups.items() if len(ids) > 1}
    conflicting = {key: ids for key, ids in repeated.items() if len(set(ids)) > 1}
    examples = [{"text": key, "count": len(ids), "labels": sorted(set(ids))} for key, ids in list(conflicting.items())[:5]]
    return len(repeated), len(conflicting), examples


def audit(corpus: Corpus) -> dict:
    """Audit every split and every pair of splits; returns a JSON-ready dict with a list of warnings."""
    report = {"dataset": corpus.name, "labels": corpus.label_names, "source": corpus.source.get("kind"), "splits": {}}
    keys = {}
    for name, split in corpus.splits.items():
        counts = np.bincount(np.asarray(split.labels, dtype=int), minlength=corpus.num_labels)
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
            "conflicting_texts": conflicting,
            "conflicting_examples": examples,
            "empty_texts": sum(1 for text in split.texts if not text.strip()),
            "placeholder_texts": len(placeholders),
            "placeholder_examples": sorted(set(placeholders))[:8],
        }
        keys[name] = {normalize_text(text) for text in split.texts}
    report["leakage"] = {
        f"{a}&{b}": len(keys[a] & keys[b]) for a, b in combinations(corpus.splits, 2)
    }
    all_texts = [t for s in corpus.splits.values() for t in s.texts]
    all_labels = [y for s in corpus.splits.values() for y in s.labels]
    repeated, conflicting, _ = _duplicates(all_texts, all_labels)
    report["overall"] = {"size": len(all_texts), "repeated_texts": repeated, "conflicting_texts": conflicting}
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
    for pair, shared in report["leakage"].items():
        if shared:
            a, b = pair.split("&")
            warnings.append(f"leakage: {shared} texts appear in both {a} and {b}")
    return warnings
