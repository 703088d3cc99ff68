"""Going through a label-issues audit by hand (``emobench review AUDIT``): the flagged texts least likely first (the
model's probability of the given label, lowest first), each kept, given the suggestion or other labels. Every decision
is saved at once, atomically, to the corrections file beside the audit, which one reviewer holds at a time and from
which a review resumes; ``--label-corrections`` trains on it (``correction_plan``)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import Corpus
from ..data.provenance import CleaningPlan
from ..errors import EmobenchError, EmobenchWarning, option
from ..records.corrections import Corrections, Decision, corrections_path, read_corrections, write_corrections
from ..records.label_issues import LabelIssues, read_label_issues
from ..records.run import gold_names, split_digest

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class ReviewItem:
    split: str
    index: int
    text: str
    given: list[str]
    suggested: list[str]
    self_confidence: float  # the scoring model's probability of the given label(s), out of fold


class Review:
    """An audit under review: its flagged texts in review order, the decisions so far, and the corrections file held
    (a second reviewer of the same file is refused until :meth:`close`)."""

    def __init__(self, audit: str | Path):
        # the audit itself, through any link: its decisions go beside it, whatever name it was reached by
        self.audit_path = Path(audit).expanduser().resolve() if Path(audit).exists() else Path(audit)
        if not self.audit_path.is_file():
            raise EmobenchError(f"{self.audit_path}: no such file; expected a saved label-issues audit (emobench data "
                                "audit --label-issues --json FILE, or a comparison's label_issues.json)")
        self.audit: LabelIssues = read_label_issues(self.audit_path)
        self.items = sorted((ReviewItem(name, i.index, i.text, list(i.given), list(i.suggested), i.self_confidence)
                             for name, split in self.audit.splits.items() for i in split.issues),
                            key=lambda it: (it.self_confidence, SPLITS.index(it.split) if it.split in SPLITS else 9, it.index))
        if not self.items:
            raise EmobenchError(f"{self.audit_path}: the audit flags no text; there is nothing to review")
        self.path = corrections_path(self.audit_path)
        _check_writable(self.path)
        self.votes = _comparison_votes(self.audit_path.parent, self.audit)
        self._lock = _hold(self.audit_path)
        try:
            self.corrections = self._resume()
            self._written = self.path.read_bytes() if self.path.is_file() else None
        except BaseException:
            self.close()
            raise

    def _resume(self) -> Corrections:
        audit = self.audit
        fresh = Corrections(audit=self.audit_path.name, dataset=audit.dataset, labels=audit.labels, task=audit.task,
                            digests={name: split.digest for name, split in audit.splits.items()}, decisions=[])
        if not self.path.exists():
            return fresh
        found = read_corrections(self.path)
        for field in ("dataset", "labels", "task", "digests"):
            if getattr(found, field) != getattr(fresh, field):
                raise EmobenchError(f"{self.path}: field {field}: not the audit's ({self.audit_path.name}); these "
                                    "corrections were made on another audit or edited; move the file away to start over")
        by_row = {(it.split, it.index): it for it in self.items}
        for k, d in enumerate(found.decisions):
            item = by_row.get((d.split, d.index))
            at = f"{self.path}: field decisions[{k}]"
            if item is None:
                raise EmobenchError(f"{at}.index: {d.split} row {d.index} is not a text the audit flags")
            if d.text != item.text or sorted(d.given) != sorted(item.given):
                raise EmobenchError(f"{at}.{'text' if d.text != item.text else 'given'}: not {d.split} row {d.index} "
                                    "of the audit; the file was edited")
            if d.decision == "accept" and sorted(d.labels) != sorted(item.suggested):
                raise EmobenchError(f"{at}.labels: {d.labels}, but the decision is accept (the suggestion "
                                    f"{item.suggested})")
        return found

    def decided(self) -> dict[tuple[str, int], Decision]:
        """The decisions so far by (split, row): looked up once per listing, not once per text."""
        return {(d.split, d.index): d for d in self.corrections.decisions}

    def decision_of(self, item: ReviewItem) -> Decision | None:
        return self.decided().get((item.split, item.index))

    def decide(self, position: int, decision: str, labels: list[str] | None = None) -> Decision:
        """Decide the ``position``-th item (review order): keep, accept (the suggestion) or relabel (``labels``); saved
        before this returns."""
        if not 0 <= position < len(self.items):
            raise EmobenchError(f"item {position}: expected 0 to {len(self.items) - 1}")
        item = self.items[position]
        chosen = {"keep": item.given, "accept": item.suggested}.get(decision, labels)
        if decision not in ("keep", "accept", "relabel") or chosen is None:
            raise ReviewRefusal("decision", f"decision {decision!r}: expected keep, accept, or relabel with labels")
        strange = [name for name in chosen if name not in self.audit.labels]
        if strange or len(set(chosen)) != len(chosen):
            raise ReviewRefusal("labels", f"labels {chosen}: expected distinct labels of the audit "
                                          f"({', '.join(self.audit.labels)})")
        if self.audit.task == "single_label" and len(chosen) != 1:
            raise ReviewRefusal("labels", f"labels {chosen}: single-label data takes exactly one label")
        made = Decision(split=item.split, index=item.index, text=item.text, given=item.given, decision=decision,
                        labels=sorted(chosen, key=self.audit.labels.index))
        others = [d for d in self.corrections.decisions if (d.split, d.index) != (item.split, item.index)]
        updated = self.corrections.model_copy(update={"decisions": [*others, made]})
        now = self.path.read_bytes() if self.path.is_file() else None
        if now != self._written:  # edited (or removed) beside the running review: never overwritten unseen
            raise EmobenchError(f"{self.path}: changed since this review last wrote it (edited by hand or by another "
                                "program); nothing was saved: stop the review, check the file, and start it again")
        try:
            write_corrections(self.path, updated)
        except OSError as exc:
            raise EmobenchError(f"{self.path}: the decision could not be saved ({exc.strerror or exc})") from None
        self._written = self.path.read_bytes()
        self.corrections = updated
        return made

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()  # releases the lock
            self._lock = None


def _comparison_votes(folder: Path, audit: LabelIssues) -> dict[tuple[str, int], dict[str, list[str]]]:
    """A comparison's audit (its label_issues.json): what each of its runs (baselines left out) predicted for every
    flagged text, where the run was scored on the very split the audit flagged (its digest). Other audits: none."""
    from ..models.registry import is_baseline
    from ..records.comparison import COMPARISON
    from ..records.run import RunRecord

    votes: dict[tuple[str, int], dict[str, list[str]]] = {}
    if not (folder / COMPARISON).is_file() or not (folder / "runs").is_dir():
        return votes
    for run_dir in sorted(p for p in (folder / "runs").iterdir() if p.is_dir() and not p.name.endswith(".partial")):
        try:
            run = RunRecord.load(run_dir)
            if is_baseline(run.config.model):
                continue
            for split, found in audit.splits.items():
                if split not in run.metrics.splits:
                    continue
                predictions = run.predictions(split)
                if predictions.digest() != found.digest:
                    continue
                for issue in found.issues:
                    chosen = predictions.y_pred[issue.index]
                    said = [predictions.labels[k] for k in np.flatnonzero(chosen)] if predictions.multi_label else \
                        [predictions.labels[int(chosen)]]
                    votes.setdefault((split, issue.index), {})[run_dir.name] = said
        except EmobenchError:  # a run that cannot be read casts no vote (the review goes on)
            continue
    return votes


class ReviewRefusal(EmobenchError):
    """A decision the review cannot take, naming the request's ``field``."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _check_writable(path: Path) -> None:
    """The review saves every decision beside the audit: a folder it cannot write in is said before the review
    starts, not at the first decision."""
    import os
    import tempfile

    folder = path.parent
    try:
        handle, probe = tempfile.mkstemp(prefix=".emobench-probe-", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise EmobenchError(f"{folder}: the review cannot write its decisions here ({exc.strerror or exc}); copy the "
                            "audit to a folder you can write to and review the copy") from None
    if path.exists() and not os.access(path, os.W_OK):
        raise EmobenchError(f"{path}: not writable; the review saves its decisions there")


def _hold(audit: Path):
    """The review's lock, held while it runs: on the audit file itself (a review only reads it), so that nothing is
    written beside it for the lock and a lock file can never be left behind. A second reviewer is refused, not made
    to wait."""
    import fcntl

    lock = audit.open("rb")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        raise EmobenchError(f"{audit}: another review of this audit is running; one reviewer at a time (its decisions "
                            f"go to {corrections_path(audit)})") from None
    return lock


def correction_plan(corpus: Corpus, source: str | Path, config=None) -> CleaningPlan:
    """The training rows a reviewer relabelled (``--label-corrections FILE``), checked against this training split row
    by row; what data.json records."""
    where = option("label_corrections")
    found = read_corrections(source)
    train = corpus["train"]
    if "train" not in found.digests:
        raise EmobenchError(f"{where} {source}: field digests: the audit reviewed {', '.join(found.digests)}, not the "
                            "training split; --label-corrections corrects training labels (audit the training split: "
                            "data audit --label-issues --splits train)")
    golds = gold_names(train, corpus.label_names)
    if found.labels != corpus.label_names:
        raise EmobenchError(f"{where} {source}: field labels: {found.labels}, but this data's labels are "
                            f"{corpus.label_names}; made for other training data")
    if found.digests["train"] != split_digest(train.texts, golds):
        cut = [option(name) for name, on in (("train_size", config.train_size is not None), ("limit", config.limit),
                                             ("validation_split", config.validation_split is not None)) if on] \
            if config is not None else []
        why = (f"; {' and '.join(cut)} cut the training split, and corrections apply to the whole split that was audited"
               if cut else "")
        raise EmobenchError(f"{where} {source}: field digests.train: made for other training data (its training split's "
                            f"texts or labels differ from this one's{why})")
    for k, d in enumerate(found.decisions):
        if d.split == "train" and (d.index >= len(train) or train.texts[d.index] != d.text or sorted(d.given) != sorted(
                golds[d.index] if corpus.multi_label else [golds[d.index]])):
            raise EmobenchError(f"{where} {source}: field decisions[{k}]: not training row {d.index} of this data "
                                "(its text or given labels differ); the file was edited")
    elsewhere = sorted({d.split for d in found.decisions if d.split != "train"})
    if elsewhere:
        warnings.warn(f"{source}: the decisions on the {' and '.join(elsewhere)} split{'s' if len(elsewhere) > 1 else ''} "
                      "are not applied: runs train on corrected labels and are scored on the splits as published",
                      EmobenchWarning, stacklevel=2)
    changed = found.changed("train")
    rows = sorted(changed)
    audit = Path(source).resolve()
    return CleaningPlan(action="correct", audit=str(audit), model=f"a reviewer ({audit.name})", folds=0,
                        train_digest=found.digests["train"], rows=rows, suggested=[changed[r] for r in rows])
