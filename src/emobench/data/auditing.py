"""Dataset audit: sizes, label shares, lengths, duplicates, conflicting labels, leakage, placeholders; for
multi-label data also label cardinality, co-occurring label pairs and texts without a label."""
from __future__ import annotations

from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np

from .audit_report import (AuditReport, BudgetOrigin, ConflictExample, LabelPair, MultiLabelFacts, OverallAudit,
                           SplitAudit, SplitOrigin, Words)
from .budgets import NONE as NO_LABELS
from .corpus import Corpus, Split
from .text import is_placeholder, normalize_text


def _key(label, names: list[str]):
    """A text's label(s) by name: what a reader of the audit can check against the data (ids depend on the order)."""
    return tuple(names[i] for i in label) if isinstance(label, list | tuple) else names[label]


def _duplicates(texts: list[str], labels: list, names: list[str]) -> tuple[int, list[str], list[ConflictExample]]:
    """(distinct texts seen more than once; the normalised texts among them with conflicting labels --
    label noise, not model error; examples, their labels by name)."""
    groups: dict[str, list] = defaultdict(list)
    for text, label in zip(texts, labels):
        groups[normalize_text(text)].append(_key(label, names))
    repeated = {key: ids for key, ids in groups.items() if len(ids) > 1}
    conflicting = {key: ids for key, ids in repeated.items() if len(set(ids)) > 1}
    examples = [ConflictExample(text=key, count=len(ids),
                                labels=[list(y) if isinstance(y, tuple) else y for y in sorted(set(ids), key=str)])
                for key, ids in list(conflicting.items())[:5]]
    return len(repeated), sorted(conflicting), examples


def _multi_label_facts(matrix: np.ndarray, names: list[str]) -> MultiLabelFacts:
    per_text = matrix.sum(axis=1)
    together = matrix.T.astype(np.int64) @ matrix.astype(np.int64)
    pairs = [(int(together[i, j]), names[i], names[j]) for i, j in combinations(range(len(names)), 2) if together[i, j]]
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    return MultiLabelFacts(
        cardinality=round(float(per_text.mean()), 4) if len(per_text) else 0.0,
        labels_per_text={str(k): int((per_text == k).sum()) for k in range(int(per_text.max()) + 1)} if len(per_text) else {},
        texts_without_label=int((per_text == 0).sum()),
        texts_with_several_labels=int((per_text > 1).sum()),
        top_pairs=[LabelPair(labels=[a, b], texts=n) for n, a, b in pairs[:10]],
    )


def _split_audit(corpus: Corpus, split: Split) -> SplitAudit:
    matrix = split.label_matrix(corpus.num_labels)
    counts = matrix.sum(axis=0)
    lengths = np.array([len(text.split()) for text in split.texts]) if len(split) else np.zeros(1)
    repeated, conflicting, examples = _duplicates(split.texts, split.labels, corpus.label_names)
    placeholders = [text for text in split.texts if is_placeholder(text)]
    facts = {"multi_label": _multi_label_facts(matrix, corpus.label_names)} if corpus.multi_label else {}
    return SplitAudit(
        size=len(split),
        label_counts={label: int(c) for label, c in zip(corpus.label_names, counts)},
        label_shares={label: round(float(c) / max(len(split), 1), 4) for label, c in zip(corpus.label_names, counts)},
        words=Words(mean=round(float(lengths.mean()), 2), p50=float(np.percentile(lengths, 50)),
                    p95=float(np.percentile(lengths, 95)), max=int(lengths.max())),
        repeated_texts=repeated,
        conflicting_texts=len(conflicting),
        conflicting_examples=examples,
        empty_texts=sum(1 for text in split.texts if not text.strip()),
        placeholder_texts=len(placeholders),
        # the most frequent first: the warning quotes it, so it says what this data holds
        placeholder_examples=[text for text, _ in sorted(Counter(placeholders).items(), key=lambda c: (-c[1], c[0]))][:8],
        **facts,
    )


def audit(corpus: Corpus) -> AuditReport:
    """Audit every split and every pair of splits, with a list of warnings (``.dump()``: the JSON of ``data audit``)."""
    keys = {name: {normalize_text(text) for text in split.texts} for name, split in corpus.splits.items()}
    all_texts = [t for s in corpus.splits.values() for t in s.texts]
    all_labels = [y for s in corpus.splits.values() for y in s.labels]
    repeated, conflicting, _ = _duplicates(all_texts, all_labels, corpus.label_names)
    report = AuditReport(
        dataset=corpus.name, labels=corpus.label_names, task=corpus.task, source=corpus.source.kind,
        splits={name: _split_audit(corpus, split) for name, split in corpus.splits.items()},
        leakage={f"{a}&{b}": len(keys[a] & keys[b]) for a, b in combinations(corpus.splits, 2)},
        overall=OverallAudit(size=len(all_texts), repeated_texts=repeated, conflicting_texts=len(conflicting),
                             conflicting_keys=conflicting),
        split_origin=split_origin(corpus), warnings=[])
    report.warnings = audit_warnings(report)
    return report


def _percent(fractions: dict) -> str:
    return "/".join(f"{100 * share:g}" for share in fractions.values())


def split_origin(corpus: Corpus) -> SplitOrigin:
    """Where the splits come from, from what the reader recorded in ``corpus.source``: the data's own, or cut by
    emobench (a stratified split drawn with a seed, a data budget); a split the data lacks is named. Another seed
    gives other splits, and so other scores: an audit that does not say so passes a drawn split off as the data's."""
    recipe, budget = corpus.source.split, corpus.source.budget
    files = ", ".join(Path(f).name for f in corpus.source.files) or corpus.name
    notes = []
    generated = list(recipe.file_lines or recipe.fractions or []) if recipe else []
    if recipe:
        notes.append(f"the {', '.join(generated)} splits were cut by emobench from {files}, not shipped with the data: a "
                     f"stratified {_percent(recipe.fractions)} split drawn with split seed {recipe.seed} (another "
                     "seed gives other splits, and other scores)")
    if budget and str(budget.size) == NO_LABELS:  # asked for: said once, as a fact, not as a defect per label
        notes.append("the training split is empty: a data budget of 0, no labelled texts (zero-shot), as asked; the "
                     "validation and test splits are whole")
    elif budget:
        cut = "training and validation splits are" if budget.validation else "training split is"
        size = f"{budget.size} texts per class" if str(budget.size).isdigit() else f"a share of {budget.size}"
        notes.append(f"the {cut} a data budget of {size}, drawn by emobench with seed {budget.seed} from the "
                     "split read")
    missing = [name for name in ("validation", "test") if name not in corpus.splits]
    if missing and "train" in corpus.splits:
        notes.append(f"no {' or '.join(missing)} split: the data has none and emobench cut none"
                     + (" (a model trained on it skips temperature scaling and chooses nothing on held-out data)"
                        if "validation" in missing else ""))
    return SplitOrigin(generated=bool(recipe), generated_splits=generated, seed=recipe.seed if recipe else None,
                       fractions=recipe.fractions if recipe else None,
                       budget=BudgetOrigin(size=budget.size, seed=budget.seed, validation=bool(budget.validation))
                       if budget else None, missing_splits=missing, notes=notes)


def run_warnings(report: AuditReport) -> list[str]:
    """The audit's warnings a trained model's scores depend on: texts given conflicting labels (no model can score
    them right) and texts shared between splits (a test text seen in training inflates its score). The same lines as
    in ``report.warnings``, so a run's data.json (``audit_warnings``) records what training printed."""
    return [line for kind, line in _warnings(report) if kind in ("conflicts", "leakage")]


def _label_text(label) -> str:
    if isinstance(label, list | tuple):
        return "+".join(label) or "no label"
    return str(label)


def _shown(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def audit_warnings(report: AuditReport) -> list[str]:
    return [line for _, line in _warnings(report)]


def _warnings(report: AuditReport) -> list[tuple[str, str]]:
    """(kind, line) of every warning of an audit."""
    found = []
    for name, info in report.splits.items():
        if info.repeated_texts:
            line = f"{name}: {info.repeated_texts} texts occur more than once, {info.conflicting_texts} of them with " \
                   "conflicting labels"
            if info.conflicting_texts:
                first = info.conflicting_examples[0]
                given = [_label_text(label) for label in first.labels]
                line += f" (e.g. {_shown(first.text)} labelled {', '.join(given[:-1])} and {given[-1]})"
            found.append(("conflicts" if info.conflicting_texts else "repeats", line))
        if info.empty_texts or info.placeholder_texts:
            example = info.placeholder_examples[0] if info.placeholder_examples else ""
            found.append(("placeholders", f"{name}: {info.placeholder_texts} empty or placeholder texts (e.g. "
                                          f"{_shown(example)})"))
        if info.multi_label and info.multi_label.texts_without_label:
            found.append(("unlabelled", f"{name}: {info.multi_label.texts_without_label} texts have no label"))
    for pair, shared in report.leakage.items():
        if shared:
            a, b = pair.split("&")
            found.append(("leakage", f"leakage: {shared} texts appear in both {a} and {b}"))
    return found
