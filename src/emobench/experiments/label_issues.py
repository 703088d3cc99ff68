"""Label noise: which texts are likely mislabelled, found by confident learning (the ``cleanlab`` library: Northcutt et
al.), from out-of-fold predicted probabilities of one of our families.

Out of fold: the training split is cut into k stratified folds and each fold is scored by a model trained on the
others; a held-out split (validation, test) is cut into folds the same way, and each fold is scored by a model
trained on the whole training split plus the split's other folds -- so every split is scored by models that saw
about as much data, and no text is scored by a model that saw it. A tenth of each model's training part is held
out for its temperature (multi-label: its thresholds). Then ``cleanlab.filter.find_label_issues`` (single-label) or
``cleanlab.multilabel_classification.filter.find_label_issues`` ranks the issues by self-confidence, and
``cleanlab.count.estimate_latent`` estimates the noise matrix (multi-label: ``common_multilabel_issues`` estimates,
label by label, how often it is given but likely absent, or missing but likely present).

A study uses it three ways: an audit (``emobench data audit --label-issues``), the test split's flagged texts in a
comparison's report, and training on a cleaned training split (``--label-issues drop|relabel``), where the flags
are computed on the training split only, or read from a saved audit made on the same training data.
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np

from ..data import Corpus, Split
from ..data.provenance import CleaningPlan
from ..errors import EmobenchError, EmobenchWarning, option
from ..logs import logger as log
from ..models.registry import LABEL_ISSUES_MODEL, resolve
from ..records.label_issues import LabelIssues, read_label_issues, write_label_issues
from ..records.run import gold_names, split_digest

ACTIONS = ("drop", "relabel")
# Above this share of a split flagged, the audit warns: confident learning flags a text wherever the scoring model
# confidently disagrees with its label, so a model that is often wrong on the data flags its own mistakes too.
MANY_FLAGGED = 0.25
METHOD = "cleanlab confident learning (find_label_issues, ranked by self-confidence), out-of-fold probabilities"


def _cleanlab():
    """Import the cleanlab modules used here, or say which extra installs them."""
    import importlib
    import importlib.util

    if importlib.util.find_spec("cleanlab") is None:
        raise EmobenchError("finding label issues needs cleanlab (pip install 'emobench[noise]')") from None
    # cleanlab.filter imports cleanlab's datalab, one of whose modules runs warnings.filterwarnings("ignore") when
    # imported: every later warning of the process would vanish, emobench's own loud ones included. Imported inside
    # catch_warnings, the process's filters are put back as they were; the modules stay imported.
    with warnings.catch_warnings():
        for module in ("cleanlab.count", "cleanlab.filter", "cleanlab.rank", "cleanlab.multilabel_classification.filter",
                       "cleanlab.multilabel_classification.rank", "cleanlab.multilabel_classification.dataset"):
            importlib.import_module(module)


def _folds(split: Split, num_labels: int, folds: int, seed: int) -> list[np.ndarray]:
    """Stratified folds (multi-label: by each text's rarest label); each fold's rows."""
    from sklearn.model_selection import StratifiedKFold

    matrix = split.label_matrix(num_labels)
    counts = matrix.sum(axis=0)
    strata = np.array([int(np.flatnonzero(row)[np.argmin(counts[np.flatnonzero(row)])]) if row.any() else -1
                       for row in matrix]) if split.multi_label else np.asarray(split.labels)
    if len(split) < folds * 2:
        raise EmobenchError(f"{len(split)} texts are too few for {folds} folds; give fewer {option('folds')}")
    largest = int(np.bincount(strata[strata >= 0]).max()) if (strata >= 0).any() else 0
    if largest < folds:
        raise EmobenchError(f"no label has {folds} texts (the most frequent has {largest}), so {folds} stratified folds "
                            f"cannot be made; give fewer {option('folds')}")
    # A label rarer than the folds cannot be in every fold: scikit-learn warns and still splits, which is right.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        return [test for _, test in splitter.split(np.zeros(len(split)), strata)]


def _fit(model_name: str, train: Split, label_names: list[str], seed: int):
    """A model of the family trained on ``train``, a tenth of it held out for temperature and thresholds."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(train))
    held = max(1, len(train) // 10)
    model = resolve(model_name).build()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmobenchWarning)
        model.fit(train.subset(order[held:]), train.subset(order[:held]), label_names, seed=seed, progress=False)
    return model


def out_of_fold(corpus: Corpus, split: str, model_name: str, folds: int, seed: int, progress=None) -> np.ndarray:
    """Every text of ``split`` scored by a model that never saw it (see the module docstring)."""
    data = corpus[split]
    probs = np.zeros((len(data), corpus.num_labels))
    for k, rows in enumerate(_folds(data, corpus.num_labels, folds, seed)):
        rest = np.setdiff1d(np.arange(len(data)), rows)
        part = data.subset(rest)
        if split != "train":
            train = corpus["train"]
            part = Split(train.texts + part.texts, train.labels + part.labels)
        model = _fit(model_name, part, corpus.label_names, seed + k)
        probs[rows] = model.predict_proba_batched([data.texts[i] for i in rows])
        if progress:
            progress(f"{split}: fold {k + 1}/{folds} scored")
    return probs


def find_issues(corpus: Corpus, splits: list[str] | None = None, model: str | None = None, folds: int = 5, seed: int = 0,
                show: int | None = None, progress=None) -> LabelIssues:
    """The label issues of ``splits`` (default: every split) of ``corpus``; ``show``: keep the top issues only (the
    counts are always of all of them)."""
    _cleanlab()
    model = model or LABEL_ISSUES_MODEL
    resolve(model)  # an unknown name or family is an error before any work
    if not isinstance(folds, int) or folds < 2:
        raise EmobenchError(f"{option('folds')} {folds!r}: expected an integer >= 2")
    splits = list(splits or corpus.splits)
    unknown = [s for s in splits if s not in corpus.splits]
    if unknown:
        raise EmobenchError(f"{option('splits')}: {corpus.name} has no split {unknown[0]!r} (it has {', '.join(corpus.splits)})")
    for split in splits:  # every split's folds before any scoring: a split too small fails now, not after the others
        try:
            _folds(corpus[split], corpus.num_labels, folds, seed)
        except EmobenchError as exc:
            raise EmobenchError(f"the {split} split ({len(corpus[split])} texts): {exc}") from None
    started = time.perf_counter()
    record = {"format": 1, "dataset": corpus.name, "labels": corpus.label_names, "task": corpus.task, "model": model,
              "folds": folds, "seed": seed, "method": METHOD, "splits": {}, "warnings": []}
    for split in splits:
        log.info("label issues: scoring the %s split (%d texts) out of fold with %s, %d folds", split, len(corpus[split]),
                 model, folds)
        probs = out_of_fold(corpus, split, model, folds, seed, progress)
        record["splits"][split] = _split_issues(corpus, split, probs, model, show, record["warnings"])
    record["seconds"] = round(time.perf_counter() - started, 3)
    return LabelIssues.model_validate(record)


def _split_issues(corpus: Corpus, split: str, probs: np.ndarray, model: str, show: int | None, said: list[str]) -> dict:
    """One split's issues from its out-of-fold probabilities; a warning, if many are flagged, is added to ``said``."""
    data, names = corpus[split], corpus.label_names
    ranked, quality, suggested, noise, label_noise = _ranked(corpus, split, probs)
    model_f1 = _macro_f1(data.label_matrix(len(names)), probs, corpus.multi_label)
    share = len(ranked) / max(len(data), 1)
    if share > MANY_FLAGGED:
        message = (f"{split}: {len(ranked)} of {len(data)} texts ({100 * share:.0f}%) are flagged as likely mislabelled, "
                   f"and {model} itself scores macro-F1 {model_f1:.3f} out of fold on them: confident learning flags "
                   f"every text such a model confidently disagrees with, so many of these flags may be the model's "
                   f"mistakes rather than the labels'. Read them, or score with a stronger family")
        said.append(message)
        warnings.warn(f"{message} ({option('model')})", EmobenchWarning, stacklevel=3)
    golds = gold_names(data, names)
    per_label = {name: 0 for name in names}
    for i in ranked:
        for name in (golds[i] if corpus.multi_label else [golds[i]]):
            per_label[name] += 1
    kept = ranked if show is None else ranked[:show]
    issues = [{"index": int(i), "text": data.texts[i], "given": list(golds[i]) if corpus.multi_label else [golds[i]],
               "suggested": suggested[i], "self_confidence": float(np.clip(quality[i], 0, 1))} for i in kept]
    return {"n": len(data), "digest": split_digest(data.texts, golds), "flagged": int(len(ranked)),
            "model_macro_f1": model_f1, "per_label": per_label, "noise_matrix": noise, "label_noise": label_noise,
            "issues": issues}


def _ranked(corpus: Corpus, split: str, probs: np.ndarray):
    """cleanlab's issues ranked by self-confidence, every text's label quality and suggested label(s), and the noise
    estimate (single-label: the noise matrix; multi-label: per label)."""
    from cleanlab.count import compute_confident_joint, estimate_latent
    from cleanlab.filter import find_label_issues
    from cleanlab.multilabel_classification import filter as multi_filter
    from cleanlab.multilabel_classification import rank as multi_rank
    from cleanlab.rank import get_label_quality_scores

    data, names = corpus[split], corpus.label_names
    if corpus.multi_label:
        labels = [list(y) for y in data.labels]
        ranked = multi_filter.find_label_issues(labels, probs, return_indices_ranked_by="self_confidence", n_jobs=1)
        quality = multi_rank.get_label_quality_scores(labels, probs)
        suggested = [[names[k] for k in np.flatnonzero(row >= 0.5)] or [names[int(row.argmax())]] for row in probs]
        return ranked, quality, suggested, None, _label_noise(labels, probs, names)
    labels = np.asarray(data.labels)
    if len(np.unique(labels)) < 2:
        raise EmobenchError(f"the {split} split has one label only; label issues need at least two")
    # n_jobs=1: cleanlab's worker pool forks a process that holds torch's threads, and terminates its
    # workers with SIGTERM; one process is as fast at these sizes and gives the same ranking.
    ranked = find_label_issues(labels, probs, return_indices_ranked_by="self_confidence", n_jobs=1)
    quality = get_label_quality_scores(labels, probs, method="self_confidence")
    suggested = [[names[int(row.argmax())]] for row in probs]
    _, matrix, _ = estimate_latent(compute_confident_joint(labels, probs), labels)
    return ranked, quality, suggested, np.asarray(matrix).round(6).tolist(), None


def _macro_f1(truth: np.ndarray, probs: np.ndarray, multi_label: bool) -> float:
    """The scoring model's macro-F1 out of fold against the given labels (multi-label: probability >= 0.5)."""
    from ..evaluation.statistics import Counts, metric_values

    predicted = (probs >= 0.5).astype(int) if multi_label else probs.argmax(axis=1)
    given = truth if multi_label else truth.argmax(axis=1)
    return float(metric_values(Counts(given, predicted, probs.shape[1]).totals(), "macro_f1")[0])


def _label_noise(labels: list[list[int]], probs: np.ndarray, names: list[str]) -> list[dict]:
    """Multi-label noise per label, one against the rest: what cleanlab's ``common_multilabel_issues`` summarises, from
    the same per-label issues (``find_multilabel_issues_per_class``), computed here with ``n_jobs=1``:
    ``common_multilabel_issues`` leaves n_jobs unset, and cleanlab then forks a worker pool on Linux -- a fork of a
    process whose torch threads are running, which now and then hangs forever on a lock held by a thread that the
    child does not have."""
    from cleanlab.multilabel_classification.filter import find_multilabel_issues_per_class

    issues, _, _ = find_multilabel_issues_per_class(labels, probs, return_indices_ranked_by="self_confidence", n_jobs=1)
    given = np.zeros((len(labels), len(names)), dtype=bool)
    for row, ids in enumerate(labels):
        given[row, list(ids)] = True
    total = max(len(labels), 1)
    out = []
    for k, name in enumerate(names):
        flagged = np.zeros(len(labels), dtype=bool)
        flagged[np.asarray(issues[k], dtype=int)] = True
        spurious, missing = int((flagged & given[:, k]).sum()), int((flagged & ~given[:, k]).sum())
        out.append({"label": name, "spurious": spurious, "spurious_share": spurious / total, "missing": missing,
                    "missing_share": missing / total})
    return out


find_label_issues = find_issues  # the package's name for it (emobench.find_label_issues)


def save_issues(path: str | Path, issues: LabelIssues) -> LabelIssues:
    return write_label_issues(Path(path), issues)


# ---------------------------------------------------------------- training on cleaned data


def cleaning_plan(corpus: Corpus, action: str, source: str | None = None, model: str | None = None, folds: int = 5,
                  seed: int = 0) -> CleaningPlan:
    """Which training rows to drop or relabel: computed on the training split only, or read from a saved audit (used
    only if its training split is this one, text by text). Returns what data.json records."""
    if action not in ACTIONS:
        raise EmobenchError(f"{option('label_issues')} {action!r}: expected drop or relabel")
    train = corpus["train"]
    if source:
        audit = read_label_issues(source)
        found = audit.splits.get("train")
        if found is None:
            raise EmobenchError(f"{option('label_issues_from')} {source}: field splits: the audit has no training split (it audited "
                                f"{', '.join(audit.splits) or 'no split'}); audit the training split (--splits train)")
        digest = split_digest(train.texts, gold_names(train, corpus.label_names))
        if found.digest != digest or audit.labels != corpus.label_names:
            raise EmobenchError(f"{option('label_issues_from')} {source}: the audit was made on other training data "
                                "(its training split's texts, labels or label names differ); audit this data again")
        if found.flagged != len(found.issues):
            raise EmobenchError(f"{option('label_issues_from')} {source}: the audit keeps {len(found.issues)} of its "
                                f"{found.flagged} issues (--show); save every issue to train without them")
        check_issues(audit, corpus, source)
        for line in audit.warnings:  # said when the audit was made; said again where its flags are used
            warnings.warn(f"{source}: {line}", EmobenchWarning, stacklevel=2)
    else:
        audit = find_issues(Corpus(corpus.name, corpus.label_names, {"train": train}, corpus.source, corpus.multi_label),
                            ["train"], model, folds, seed)
    return plan_from_issues(audit, action, source)


def check_issues(audit: LabelIssues, corpus: Corpus, source) -> None:
    """Every issue of a saved audit's training split against the row it names: the row exists, holds the issue's text
    and given label(s), is named once, and the suggestion is labels of this data (one, for single-label data). The
    split's digest alone says the audit was made on this data, not that its issues were left as they were written."""
    where = f"{source}: field splits.train.issues"
    if audit.task != corpus.task:
        raise EmobenchError(f"{source}: field task: {audit.task!r}, but the training data is {corpus.task}")
    train = corpus["train"]
    golds = gold_names(train, corpus.label_names)
    known = set(corpus.label_names)
    seen: set[int] = set()
    for k, issue in enumerate(audit.splits["train"].issues):
        at = f"{where}[{k}]"
        row = issue.index
        if row >= len(train):
            raise EmobenchError(f"{at}.index: row {row}, but the training split has {len(train)} texts")
        if row in seen:
            raise EmobenchError(f"{at}.index: row {row} is named by two issues; each row is flagged once")
        seen.add(row)
        if issue.text != train.texts[row]:
            raise EmobenchError(f"{at}.text: not the text of training row {row}; the audit was edited")
        given = sorted(golds[row]) if corpus.multi_label else [golds[row]]
        if sorted(issue.given) != given:
            raise EmobenchError(f"{at}.given: {issue.given}, but training row {row} is labelled {given}")
        strange = [name for name in issue.suggested if name not in known]
        if strange:
            raise EmobenchError(f"{at}.suggested: {strange[0]!r} is not a label of this data "
                                f"({', '.join(corpus.label_names)})")
        if len(set(issue.suggested)) != len(issue.suggested):
            raise EmobenchError(f"{at}.suggested: {issue.suggested} names a label twice")
        if not issue.suggested or (not corpus.multi_label and len(issue.suggested) != 1):
            raise EmobenchError(f"{at}.suggested: {issue.suggested}; expected "
                                + ("at least one label" if corpus.multi_label else "exactly one label (single-label data)"))


def plan_from_issues(audit: LabelIssues, action: str, source: str | None = None) -> CleaningPlan:
    """The cleaning plan (what data.json records) from an audit of the training split; ``source``: the file it was read
    from, if any."""
    found = audit.splits["train"]
    rows = sorted(issue.index for issue in found.issues)
    by_row = {issue.index: issue.suggested for issue in found.issues}
    return CleaningPlan(action=action, audit=str(Path(source).resolve()) if source else None, model=audit.model,
                        folds=audit.folds, train_digest=found.digest, rows=rows,
                        suggested=[by_row[r] for r in rows] if action == "relabel" else None,
                        audit_warnings=list(audit.warnings))


def apply_cleaning(corpus: Corpus, plan: CleaningPlan) -> Corpus:
    """The corpus with the planned training rows dropped or relabelled (recorded in ``corpus.source``)."""
    train = corpus["train"]
    names = corpus.label_names
    rows = plan.rows
    if rows and max(rows) >= len(train):
        raise EmobenchError(f"label issues name row {max(rows)} of a training split of {len(train)} texts")
    if plan.action not in (*ACTIONS, "correct"):
        raise EmobenchError(f"label cleaning {plan.action!r}: expected drop, relabel or correct")
    if plan.action == "drop":
        drop = set(rows)
        keep = [i for i in range(len(train)) if i not in drop]
        cleaned = train.subset(keep)
    else:
        labels = list(train.labels)
        for row, suggested in zip(rows, plan.suggested):
            ids = sorted(names.index(n) for n in suggested)
            labels[row] = ids if corpus.multi_label else ids[0]
        cleaned = Split(list(train.texts), labels)
    message = (f"training on a cleaned training split: {len(rows)} of {len(train)} texts flagged as likely mislabelled "
               f"were {'dropped' if plan.action == 'drop' else 'relabelled'} ({plan.model}, "
               f"{'from ' + plan.audit if plan.audit else 'computed on the training split'})") if plan.action != "correct" \
        else f"training on corrected labels: a reviewer relabelled {len(rows)} of {len(train)} training texts ({plan.audit})"
    before, after = (split.label_matrix(len(names)).sum(axis=0) for split in (train, cleaned))
    emptied = [name for name, b, a in zip(names, before, after) if b and not a]
    if len([a for a in after if a]) < 2:
        kept = [name for name, a in zip(names, after) if a]
        raise EmobenchError(f"cleaning the training split ({option('label_corrections' if plan.action == 'correct' else 'label_issues')} {plan.action}) leaves "
                            f"{'one label' if kept else 'no text'}{' (' + kept[0] + ')' if kept else ''}; a classifier "
                            "needs at least two: keep the labels, or fix them by hand")
    said = [message]
    if emptied:
        said.append(f"cleaning the training split ({plan.action}) took away every training text of "
                    f"{', '.join(emptied)}: the model cannot learn {'it' if len(emptied) == 1 else 'them'}")
    source = corpus.source.updated(label_issues=plan, warnings=[*corpus.source.warnings, *said, *plan.audit_warnings])
    for line in said:
        warnings.warn(line, _data_warning(), stacklevel=2)
    descriptions = corpus.descriptions.for_labels(corpus.label_names, names) if corpus.descriptions else None
    return Corpus(corpus.name, names, {**corpus.splits, "train": cleaned}, source, corpus.multi_label, corpus.unlabeled,
                  descriptions)


def _data_warning():
    from ..data.readers.common import DataWarning

    return DataWarning
