"""The stack family's small parts: its parameters and members as written in ``members=`` (names with bracketed
parameters), the clock of its time limit, and the combiner's estimator noting the regularisation it chose."""
from __future__ import annotations

import re
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import EmobenchError
from ..params import param

MEMBERS = "members"  # the folder of the members' model folders

_MEMBER = re.compile(r"([^\[\]+]+)(?:\[([^\[\]]*)\])?")


def parse_members(text: str) -> list[tuple[str, dict]]:
    """``tfidf+lstm[epochs=5,glove=none]`` -> [("tfidf", {}), ("lstm", {"epochs": "5", "glove": "none"})]."""
    out, rest = [], text
    while True:
        match = _MEMBER.match(rest)
        if not match or not match.group(1).strip():
            raise EmobenchError("expected two or more model names joined by +, each with optional [key=value,...] "
                                "(e.g. tfidf+lstm[epochs=5])")
        overrides = {}
        pairs = [p.strip() for p in (match.group(2) or "").split(",") if p.strip()]
        if match.group(2) is not None and not pairs:
            raise EmobenchError(f"member {match.group(1).strip()}: empty brackets; give key=value pairs "
                                f"(e.g. {match.group(1).strip()}[epochs=5]) or drop the brackets")
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep or not key.strip():
                raise EmobenchError(f"member {match.group(1).strip()}: {pair!r} is not key=value")
            if key.strip() in overrides:
                raise EmobenchError(f"member {match.group(1).strip()}: {key.strip()}= given twice")
            overrides[key.strip()] = value.strip()
        out.append((match.group(1).strip(), overrides))
        rest = rest[match.end():]
        if not rest:
            break
        if not rest.startswith("+"):
            raise EmobenchError(f"unexpected {rest[:20]!r}; expected + between members")
        rest = rest[1:]
    return out


class Clock:
    """Seconds left of a fit's time limit (infinite without one)."""

    def __init__(self, started: float, limit: float):
        self.started, self.limit = started, limit

    @property
    def limited(self) -> bool:
        return self.limit > 0

    def left(self) -> float:
        return self.limit - (time.perf_counter() - self.started) if self.limited else float("inf")

    def spent(self) -> float:
        return self.limit - self.left()


@dataclass(frozen=True)
class Estimate:
    """A member's planned seconds (the line through its two samples, for all its fits) and the fewest its fits could
    take (``least``): the same where the samples scaled as a line does, else each fit at least the smaller sample's
    time. A member whose cost did not scale with its texts (early stopping after a data-dependent number of epochs, a
    batch size or step budget set by the data's size) is tried when ``least`` fits, stopped if it overruns."""
    seconds: float
    least: float

    @property
    def trusted(self) -> bool:
        """The samples scaled as a line does: the line is its estimate, planned on."""
        return self.least == self.seconds


SAFETY = 1.15  # estimates are raised this much: early stopping, not a sample's size, decides a real run's epochs
LINEAR = (1.2, 2.5)  # how much longer twice the texts may take for the two samples' line to be trusted


def line_estimate(times: list[tuple[int, float]], folds: int, fold_texts: float, texts: int) -> Estimate:
    """From (texts, seconds) of fits on two samples, the second twice the first: t(n) = a + b n for ``folds`` fits on
    ``fold_texts`` texts and one on ``texts``. Where twice the texts did not take between LINEAR times as long, the
    line is not trusted: the least its fits could take is the smaller sample's time for each."""
    (n1, t1), (n2, t2) = times
    per_text = max((t2 - t1) / max(n2 - n1, 1), t2 / n2 / 4)  # never below a quarter of the average (noise)
    fixed = max(t1 - per_text * n1, 0.0)
    seconds = round(SAFETY * (folds * (fixed + per_text * fold_texts) + fixed + per_text * texts), 1)
    scaled = LINEAR[0] <= t2 / max(t1, 1e-9) <= LINEAR[1]
    return Estimate(seconds, seconds if scaled else round((folds + 1) * max(t1, 0.0), 1))


class OutOfTime(Exception):
    """A member's fit ran past the moment it had (``deadline``)."""


now = time.perf_counter  # the deadline's clock (a test moves it)


@contextmanager
def deadline(at: float | None):
    """Stops every torch module's forward pass once ``now()`` passes ``at`` (raises OutOfTime), as AutoGluon gives each
    model its share of the time: a member whose cost the two samples could not foresee is tried in the time left and
    stopped there. Members without torch modules (tfidf) are not stopped; they are the cheap ones."""
    if at is None:
        yield
        return
    import torch

    def check(module, args):
        if now() > at:
            raise OutOfTime
    handle = torch.nn.modules.module.register_module_forward_pre_hook(check)
    try:
        yield
    finally:
        handle.remove()


class ChosenC:
    """A logistic regression whose regularisation is chosen by cross-validation on the log-loss (LogisticRegressionCV
    over ``grid``) on at most ``sample`` of the rows, stratified, then fitted on all of them at that C, noted in
    ``chosen``. The sample bounds the combiner's time: cross-validating every C on every row took about 4.5 s per
    label on GoEmotions' 43,410 texts with two members, 28 labels (one fit at one C: 0.3 s)."""

    def __init__(self, grid: list[float], chosen: list[float], sample: int, seed: int = 0):
        self.grid, self.chosen, self.sample, self.seed = grid, chosen, sample, seed

    def fit(self, x, y):
        from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

        y = np.asarray(y)
        rows = stratified_sample(y, self.sample, self.seed)
        counts = np.bincount(y[rows])
        cv = min(5, int(counts[counts > 0].min()))
        with warnings.catch_warnings():  # scikit-learn 1.9's notices of 1.10's changed defaults, not about this fit
            warnings.simplefilter("ignore", FutureWarning)
            C = 1.0
            if cv >= 2 and (counts > 0).sum() >= 2:
                search = LogisticRegressionCV(Cs=self.grid, cv=cv, scoring="neg_log_loss", max_iter=2000)
                C = float(np.ravel(search.fit(x[rows], y[rows]).C_)[0])
            self.chosen.append(C)
            return LogisticRegression(C=C, max_iter=2000).fit(x, y)


def stratified_sample(y: np.ndarray, size: int, seed: int) -> np.ndarray:
    """At most ``size`` rows, each label's share kept (every row when there are no more)."""
    if len(y) <= size:
        return np.arange(len(y))
    from sklearn.model_selection import train_test_split

    counts = np.bincount(y)
    stratify = y if counts[counts > 0].min() >= 2 else None  # a label seen once cannot be split by share
    return np.sort(train_test_split(np.arange(len(y)), train_size=size, stratify=stratify, random_state=seed)[0])


def fold_sample(folds: list, n: int, size: int) -> np.ndarray:
    """A mask of at most about ``size`` of ``n`` rows, each fold's held-out rows giving their share (every row when
    there are no more). Drawn fold by fold: a sample drawn apart from the folds with the same seed (scikit-learn's
    splitters shuffle alike) fell in one fold alone on GoEmotions, leaving the other folds nothing to fit on."""
    if n <= size:
        return np.ones(n, bool)
    kept, rng = np.zeros(n, bool), np.random.default_rng(0)
    for _, held_rows in folds:
        kept[rng.choice(held_rows, size=round(size * len(held_rows) / n), replace=False)] = True
    return kept


def left_out_warning(name: str, reason: str) -> str:
    """The warning a member left out for time is recorded with (beside its ``left_out`` entry)."""
    return f"member {name} left out for time: {reason}"


def describe_stack(info: dict) -> list[str]:
    """A stack's lines in a run's output and report: its members' out-of-fold scores, those left out, its own."""
    lines = []
    for member in info.get("members", []):
        score = member.get("out_of_fold_macro_f1")
        lines.append(f"member {member.get('name')}" + (f": out-of-fold macro-F1 {score:.3f}" if score is not None else ""))
    for left in info.get("left_out", []):
        lines.append(f"member {left.get('name')} left out: {left.get('reason')}")
    if info.get("cross_validated_macro_f1") is not None:
        lines.append(f"stacked, cross-validated on the out-of-fold scores: macro-F1 "
                     f"{info['cross_validated_macro_f1']:.3f} ({info.get('folds')} folds"
                     + (f", {info['cross_validated_texts']:,} texts)" if info.get("cross_validated_texts") else ")"))
    if info.get("time_limit"):
        lines.append(f"its time limit {info['time_limit']:g} s (under compare --preset best: most of --time-limit, "
                     f"after the test split's audit); trained in {info.get('stack_seconds', 0):.0f} s")
    # the stack's own warnings (a combiner that adds nothing, one member alone) and its members'; those left out for
    # time are listed above
    listed = {left_out_warning(left.get("name"), left.get("reason")) for left in info.get("left_out", [])}
    lines += [f"warning: {w}" for w in info.get("warnings", []) if w not in listed]
    return lines


def macro_f1(truth: np.ndarray, probs: np.ndarray, multi_label: bool) -> float:
    from sklearn.metrics import f1_score

    pred = (probs >= 0.5).astype(int) if multi_label else probs.argmax(axis=1)
    return round(float(f1_score(truth, pred, average="macro", zero_division=0)), 4)


@dataclass
class StackParams:
    members: str = param("tfidf+lstm+static", doc="model names joined by + (two or more, any family but stack), each "
                         "with its own parameters in brackets if wanted: tfidf+lstm[epochs=5,glove=none]")
    folds: int = param(5, ge=2, le=20, doc="out-of-fold scoring: each member is trained folds + 1 times")
    combiner: Literal["logreg", "mean"] = param("logreg", doc="mean: the members' averaged probabilities (an ablation)")
    small_data: bool = param(False, doc="members use their families' defaults for a data budget (set on a budget)")
    time_limit: float = param(0.0, ge=0, le=1e8, doc="seconds for the whole fit (0: none): members are measured on small "
                              "samples first, those that do not fit are left out (said, recorded), and a member whose "
                              "folds run slower than measured is dropped")

    def parsed(self) -> list[tuple[str, dict]]:
        """The members as (model name, parameter overrides)."""
        return parse_members(self.members)

    def names(self) -> list[str]:
        return [name for name, _ in self.parsed()]

    def check(self) -> str | None:
        try:
            member_specs(self)
        except EmobenchError as exc:
            return f"parameters members={self.members!r}: {exc.args[0]}"
        if self.combiner == "mean" and self.folds != StackParams.folds:
            return (f"parameters folds={self.folds} and combiner=mean: folds are for combiner=logreg (a mean is fitted "
                    "on no out-of-fold scores); leave folds out")
        if 0 < self.time_limit < 1:
            return f"parameter time_limit={self.time_limit:g}: expected 0 (no limit) or at least 1 second"
        return None


def member_specs(params: StackParams) -> list:
    """The members' specs: their names' defaults (on a budget, their families' small-data defaults) and overrides."""
    from .registry import family_of, is_baseline, resolve, small_data
    from .stack import StackClassifier

    from .registry import MODELS

    members = params.parsed()
    names = [name for name, _ in members]
    for name in names:  # an unknown name before the count: "nosuch" alone is a name to fix, not a member too few
        try:
            family_of(name)
        except EmobenchError:
            stackable = [m for m in MODELS if not is_baseline(m) and family_of(m) != StackClassifier.family]
            raise EmobenchError(f"unknown model {name!r}; a member is one of {', '.join(stackable)}, or "
                                "hf:<hub id or model directory>") from None
    if len(members) < 2:
        raise EmobenchError("expected two or more members joined by + (e.g. tfidf+lstm)")
    if len(set(names)) != len(names):
        raise EmobenchError("a model is named twice")
    specs = []
    for name, overrides in members:
        if family_of(name) == StackClassifier.family:
            raise EmobenchError("a stack cannot hold a stack")
        if is_baseline(name):
            raise EmobenchError(f"{name} is a baseline, not a model to stack")
        specs.append(resolve(name, {**(small_data(name) if params.small_data else {}), **overrides}))
    return specs


def check_sources(specs: list) -> None:
    """Every member's model folder (``pretrained``, ``body``) as a run checks its own before reading data."""
    from .pretrained import check_source
    from .transformer import resolve_pretrained

    for spec in specs:
        source = getattr(spec.params, "pretrained", None)
        if isinstance(source, str):
            try:
                check_source(resolve_pretrained(source), "pretrained")
            except EmobenchError as exc:
                raise EmobenchError(f"stack member {spec.name}: {exc.args[0]}") from None


def member_folder(index: int, name: str) -> str:
    from .registry import folder_name

    return f"{MEMBERS}/{index}-{folder_name(name)}"
