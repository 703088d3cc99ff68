"""Stacking (as AutoGluon stacks): each member model scores every training text out of fold (trained on the other
folds), a logistic regression learns from those out-of-fold probabilities how far to trust each member on each label,
and the members are then trained again on all the training texts to score new ones. Averaging (``--ensemble``)
weighs every member alike, so members that share their mistakes outvote the one that is right; the combiner
learns which member to believe, from texts none of them saw while training.

Saved as data only: each member's own model folder (with its manifest) under ``members/``, the combiner's
coefficients as safetensors. A stack cannot be exported to ONNX as one graph; distil it into an LSTM
(``emobench distill``) for a single fast model."""
from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np

from ..data import Split
from ..errors import EmobenchError, EmobenchWarning, RecordError
from ..files import read_tensors
from ..manifest import Folder
from ..records.model import MODEL_FILE, ModelRecord
from . import stack_parts
from .base import Classifier, check_weights_labels, safetensors_metadata
from .linear import LinearHead, fit_head
from .stack_parts import (MEMBERS, ChosenC, Clock, Estimate, OutOfTime, StackParams, check_sources,  # noqa: F401
                          deadline, describe_stack, fold_sample, left_out_warning, line_estimate, macro_f1, member_folder,
                          member_specs, parse_members)

WEIGHTS = "stack.safetensors"
MEMBERS_KEY = "emobench.members"  # the combiner's file names the members its columns are, in order
FLOOR = 1e-6  # probabilities are clipped here before their logarithm (a member that is certain and wrong)
C_GRID = [0.001, 0.01, 0.1, 1.0, 10.0]  # the combiner's regularisation, cross-validated on out-of-fold scores
C_SAMPLE = 8_000  # rows, at most, of the out-of-fold scores the combiner's regularisation is chosen on
PROBE = 200  # texts of the smaller sample a member's training time is measured on (time_limit)
RESERVE = 0.05  # of the time left, kept for the combiner, calibration and scoring
MEASURING = 0.15  # of the time limit, at most, spent measuring candidates before training


# `compare --preset best`: every family worth stacking, cheapest and most useful first; --time-limit keeps those that
# fit. MiniLM fine-tuned with the CPU settings of the transformer family's "fast" preset.
BEST_MEMBERS = ("tfidf+lstm+static+minilm-features+lstm-paper+minilm[batch_size=32,epochs=3,learning_rate=1e-4,"
                "warmup_ratio=0.06,max_length=64,class_weight=balanced]")


class StackClassifier(Classifier):
    family = "stack"
    Params = StackParams
    PRESETS = {"best": {"members": BEST_MEMBERS}}

    @staticmethod
    def uses_gpu(params: StackParams) -> bool:
        return any(spec.uses_gpu for spec in member_specs(params))

    def __init__(self, params=None, label_names: list[str] | None = None):
        super().__init__(params, label_names)
        self.members: list[Classifier] = []
        self.head: LinearHead | None = None

    # -- training
    def _fit(self, train: Split, validation: Split | None, *, seed: int = 0, progress: bool = True, **options) -> None:
        from ..logs import logger as log

        started = time.perf_counter()
        specs = member_specs(self.params)
        if not self.params.time_limit:  # a member's model folder checked before any member trains
            check_sources(specs)
        folds = self._folds(train, seed) if self.params.combiner == "logreg" else []
        said: dict[str, None] = {}
        clock = Clock(started, self.params.time_limit)
        queue, waiting, estimates = (self._plan(specs, train, validation, seed, len(folds), clock) if clock.limited
                                     else (specs, [], {}))
        trained = self._train_members(queue, waiting, estimates, train, validation, folds, seed, progress, clock, said)
        order = [name for name in self.params.names() if name in trained]  # saved and scored in the order given
        if len(order) == 1 and len(specs) > 1:
            said.setdefault(f"only {order[0]} fitted the time limit: this stack is {order[0]} alone, recalibrated", None)
            log.warning("stack: only %s fitted the time limit: the stack is %s alone", order[0], order[0])
        self.members = [trained[name][0] for name in order]
        member_info = [trained[name][2] for name in order]
        self.head = None
        if self.params.combiner == "logreg":
            self._stack(np.stack([trained[name][1] for name in order]), member_info, train, folds, said)
        self.info.update({"members": member_info, "folds": len(folds),
                          "parameters": sum(m.num_parameters() for m in self.members),
                          "stack_seconds": round(time.perf_counter() - started, 3),
                          **({"time_limit": self.params.time_limit} if clock.limited else {})})
        if said:  # each member's warnings once, not once per fold
            self.info["warnings"] = [*self.info.get("warnings", []), *said]

    def _train_members(self, queue: list, waiting: list, estimates: dict, train: Split, validation: Split | None,
                       folds: list, seed: int, progress: bool, clock: Clock, said: dict) -> dict[str, tuple]:
        """The members in the order given: each planned one (``queue``), and each waiting one whose fits could take
        the time the planned ones leave (``Estimate.least``; estimates err both ways), tried under a deadline; its
        folds keep or drop it. So the first member trained is the first one given that fits, the cheap one that is
        never stopped, not a costlier one planned on a guess."""
        from ..logs import logger as log

        planned, order = {s.name for s in queue}, self.params.names()
        pending = sorted([*queue, *waiting], key=lambda s: order.index(s.name))
        trained: dict[str, tuple] = {}
        while True:
            later = sum(estimates[s.name].seconds for s in pending if s.name in planned) if estimates else 0.0
            room = clock.left() * (1 - RESERVE) - later
            spec = next((s for s in pending if s.name in planned or estimates[s.name].least <= room), None)
            if spec is None:
                break
            pending.remove(spec)
            if spec.name not in planned:
                log.info("stack: %.0f s left: trying %s (~%.0f s estimated, at least %.0f s; its folds decide)",
                         clock.left(), spec.name, estimates[spec.name].seconds, estimates[spec.name].least)
            share = None if spec.name in planned else room / (len(folds) + 1)
            done = self._train_member(spec, train, validation, folds, seed, progress, clock, bool(trained), said, share)
            if done is not None:
                trained[spec.name] = done
        for spec in pending:
            self._leave_out(spec.name, f"estimated {estimates[spec.name].seconds:.0f} s for {len(folds) + 1} fits, "
                            f"more than the time left of time_limit={self.params.time_limit:g}", said, quiet=True)
        return trained

    def _train_member(self, spec, train: Split, validation: Split | None, folds: list, seed: int, progress: bool,
                      clock: Clock, droppable: bool, said: dict, share: float | None = None) -> tuple | None:
        """(model on all texts, out-of-fold probabilities, info), or None when its folds ran too slow for the time left
        (never the first member trained). A droppable member is stopped at the end of the time; a member tried in time
        others left also when its first fold takes more than ``share`` seconds."""
        from ..logs import logger as log

        started = time.perf_counter()
        end = started + clock.left() * (1 - RESERVE) if droppable and clock.limited else None
        share = share if droppable else None  # the first member trained is never stopped
        scores, f = np.zeros((len(train), len(self.label_names))), -1
        try:
            for f, (fit_rows, held_rows) in enumerate(folds):
                log.info("stack: %s, fold %d of %d", spec.name, f + 1, len(folds))
                with deadline(started + share if share and f == 0 else end):
                    model = self._fit_member(spec, train.subset(fit_rows), validation, seed, progress, said)
                scores[held_rows] = model.predict_proba_batched(train.subset(held_rows).texts)
                # measured, not estimated: the folds left and the final fit (on k/(k-1) as many texts)
                per_fold = (time.perf_counter() - started) / (f + 1)
                needed = per_fold * (len(folds) - f - 1 + len(folds) / max(len(folds) - 1, 1))
                if droppable and clock.left() < needed:
                    self._leave_out(spec.name, f"measured {per_fold:.0f} s a fold: {needed:.0f} s more, "
                                    f"{clock.left():.0f} s left of time_limit={self.params.time_limit:g}", said)
                    return None
            log.info("stack: %s on all %d training texts", spec.name, len(train))
            with deadline(end):
                model = self._fit_member(spec, train, validation, seed, progress, said)
        except OutOfTime:
            limit = f"its first fold's share, {share:.0f} s," if share and f == 0 else "the end of the time limit"
            self._leave_out(spec.name, f"stopped after {time.perf_counter() - started:.0f} s: it ran past {limit} "
                            f"of time_limit={self.params.time_limit:g}", said)
            return None
        return model, scores, {"name": spec.name, "family": spec.family, "parameters": model.num_parameters(),
                               "train_seconds": round(time.perf_counter() - started, 3)}

    def _plan(self, specs: list, train: Split, validation: Split | None, seed: int, folds: int,
              clock: Clock) -> tuple[list, list, dict]:
        """The members that fit ``time_limit``, in the order given, from each one's training time measured on two
        small samples (a fixed part, e.g. scoring the validation split each epoch, and a part per text), said before
        any of them trains; the others wait for time a member leaves unused. Returns (planned, waiting, estimates)."""
        from ..logs import logger as log

        fold_texts = len(train) * (folds - 1) / folds if folds else 0
        chosen, waiting, planned, estimates = [], [], 0.0, {}
        for spec in specs:
            spent = clock.spent()
            if estimates and (spent > MEASURING * clock.limit or planned >= clock.left() * (1 - RESERVE)):
                # measuring is part of the limit: past its share, or once the planned members fill the time, the
                # remaining candidates are not measured (and not trained)
                self.info.setdefault("left_out", []).append({"name": spec.name, "reason": (
                    f"not measured: {spent:.0f} s of time_limit={self.params.time_limit:g} went to measuring and "
                    f"{planned:.0f} s are planned")})
                continue
            try:
                log.info("stack: timing %s on two small samples of the training texts", spec.name)
                estimate = self._estimate(spec, train, validation, seed, fold_texts)
            except EmobenchError as exc:  # e.g. a body folder that is not there: said, and the others go on
                self.info.setdefault("left_out", []).append({"name": spec.name, "reason": f"not measurable: {exc}"})
                log.warning("stack: %s left out: it could not be trained on a sample (%s)", spec.name, exc)
                continue
            estimates[spec.name] = estimate
            # a member whose samples did not scale as a line is never planned on that line: it is tried, stopped at
            # its share of the time, when time is left
            if estimate.trusted and planned + estimate.seconds <= clock.left() * (1 - RESERVE):
                chosen.append(spec)
                planned += estimate.seconds
            else:
                waiting.append(spec)
        self.info["estimated_seconds"] = {name: e.seconds for name, e in estimates.items()}
        self.info["least_seconds"] = {name: e.least for name, e in estimates.items() if not e.trusted}
        log.info("stack within %g s: %s%s", self.params.time_limit,
                 ", ".join(f"{s.name} ~{estimates[s.name].seconds:.0f} s" for s in chosen) or "nothing planned",
                 "; waiting, each tried in turn if the time it needs is left: " + ", ".join(
                     f"{s.name} (~{estimates[s.name].seconds:.0f} s" + (
                         f", at least {estimates[s.name].least:.0f} s: its samples did not scale as a line, so it is "
                         "not planned on them)" if not estimates[s.name].trusted else ")") for s in waiting)
                 if waiting else "")
        if not chosen and not estimates:
            raise EmobenchError(f"time_limit={self.params.time_limit:g}: no member could be trained on a sample: "
                                + "; ".join(o["reason"] for o in self.info["left_out"]))
        if not chosen and not any(estimates[s.name].least <= clock.left() * (1 - RESERVE) for s in waiting):
            fastest = min(estimates, key=lambda name: estimates[name].seconds)
            raise EmobenchError(f"the stack's time_limit of {self.params.time_limit:g} s (compare --preset best gives it "
                                f"most of what --time-limit leaves after the test split's audit): no member fits; "
                                f"the fastest, {fastest}, needs about "
                                f"{estimates[fastest].seconds:.0f} s, and measuring took {clock.spent():.0f} s")
        return chosen, waiting, estimates

    def _estimate(self, spec, train: Split, validation: Split | None, seed: int, fold_texts: float) -> Estimate:
        """Seconds for a member's out-of-fold fits and its final fit, from fits on two samples (``line_estimate``)."""
        small = min(PROBE, max(len(train) // 4, 2))
        rng = np.random.default_rng(seed)
        times = []
        for n in (small, 2 * small):
            rows = rng.choice(len(train), size=min(n, len(train)), replace=False)
            started = stack_parts.now()
            model = self._fit_member(spec, train.subset(rows), validation, seed, False, {})
            times.append((len(rows), stack_parts.now() - started - float(model.info.get("preparation_seconds", 0))))
        folds = self.params.folds if self.params.combiner == "logreg" else 0
        return line_estimate(times, folds, fold_texts, len(train))

    def _leave_out(self, name: str, reason: str, said: dict, quiet: bool = False) -> None:
        from ..logs import logger as log

        self.info.setdefault("left_out", []).append({"name": name, "reason": reason})
        said.setdefault(left_out_warning(name, reason), None)
        if not quiet:
            log.warning("stack: %s left out for time (%s)", name, reason)

    def _folds(self, train: Split, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
        from sklearn.model_selection import KFold, StratifiedKFold

        k = self.params.folds
        if len(train) < 2 * k:
            raise EmobenchError(f"a stack with folds={k} needs at least {2 * k} training texts, got {len(train)}; "
                                "lower folds= or give more texts")
        rows = np.arange(len(train))
        if not self.multi_label:
            counts = np.bincount(np.asarray(train.labels), minlength=len(self.label_names))
            if counts[counts > 0].min() >= k:
                return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(rows, train.labels))
            warnings.warn(f"stack: a label has fewer than {k} training texts, so the folds are not stratified (some "
                          "fold's members never see it)", EmobenchWarning, stacklevel=3)
        return list(KFold(k, shuffle=True, random_state=seed).split(rows))

    def _fit_member(self, spec, split: Split, validation: Split | None, seed: int, progress: bool,
                    said: dict) -> Classifier:
        model = spec.build()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(split, validation, self.label_names, seed=seed, progress=progress)
        for warning in caught:
            said.setdefault(f"member {spec.name}: {warning.message}", None)
        for warning in model.info.get("warnings", []):  # the loop's own (validation still rising at the last epoch)
            said.setdefault(f"member {spec.name}: {warning}", None)
        return model

    def _features(self, member_probs: np.ndarray) -> np.ndarray:
        """(members, texts, labels) probabilities -> (texts, members x labels) log-probabilities."""
        logs = np.log(np.clip(member_probs, FLOOR, 1.0))
        return logs.transpose(1, 0, 2).reshape(member_probs.shape[1], -1)

    def _fit_combiner(self, x: np.ndarray, train: Split) -> tuple[LinearHead, list[float]]:
        """The combiner trained on the members' out-of-fold features ``x`` (``_features``)."""
        chosen: list[float] = []
        head = fit_head(x, train, len(self.label_names), self.multi_label,
                        lambda: ChosenC(C_GRID, chosen, C_SAMPLE), "logreg")
        return head, chosen

    def _stack(self, oof: np.ndarray, member_info: list[dict], train: Split, folds: list, said: dict) -> None:
        """The combiner fitted on the members' out-of-fold probabilities ``oof``, and its own cross-validated
        macro-F1, warned of where a member alone scores better on the same texts."""
        from ..logs import logger as log

        x = self._features(oof)
        self.head, chosen = self._fit_combiner(x, train)
        truth = self.truth(train)
        for info, scores in zip(member_info, oof):
            info["out_of_fold_macro_f1"] = macro_f1(truth, scores, self.multi_label)
        score, kept = self._cross_validated(x, train, folds, chosen)
        self.info.update(cross_validated_macro_f1=score, cross_validated_texts=int(kept.sum()), combiner_C=chosen)
        alone = {info["name"]: macro_f1(truth[kept], scores[kept], self.multi_label)
                 for info, scores in zip(member_info, oof)}
        best = max(alone, key=alone.get)
        if score < alone[best]:
            message = (f"its cross-validated macro-F1, {score:.3f}, is below its member {best}'s out of fold on the "
                       f"same {int(kept.sum()):,} texts, {alone[best]:.3f}"
                       + (" (each at a 0.5 threshold, before thresholds are tuned on validation)" if self.multi_label
                          else "") + f": the combiner adds nothing on this data, and {best} alone may do as well")
            said.setdefault(f"stack: {message}", None)
            log.warning("stack: %s", message)

    def _cross_validated(self, x: np.ndarray, train: Split, folds: list,
                         chosen: list[float]) -> tuple[float, np.ndarray]:
        """The combiner's own out-of-fold macro-F1 (fitted on the other folds' scores, at the regularisation chosen
        on them), on a sample of at most ``C_SAMPLE`` texts: an honest estimate of the stack, where scoring the scores
        it was fitted on would flatter it. Returns (macro-F1, the mask of the texts scored)."""
        from sklearn.linear_model import LogisticRegression

        truth, kept = self.truth(train), fold_sample(folds, len(train), C_SAMPLE)
        out = np.zeros((len(train), len(self.label_names)))
        C = float(np.median(chosen)) if chosen else 1.0
        for fit_rows, held_rows in folds:
            fit_rows, held_rows = fit_rows[kept[fit_rows]], held_rows[kept[held_rows]]
            head = fit_head(x[fit_rows], train.subset(fit_rows), len(self.label_names), self.multi_label,
                            lambda: LogisticRegression(C=C, max_iter=2000), "logreg")
            out[held_rows] = head.scores(x[held_rows], len(self.label_names))
        return macro_f1(truth[kept], self.probabilities(out[kept]), self.multi_label), kept

    def _combine(self, member_probs: np.ndarray) -> np.ndarray:
        if self.head is None:  # mean: the averaged probabilities as logits the Scorer turns back into them
            mean = np.clip(member_probs.mean(axis=0), FLOOR, 1.0)
            return np.log(mean) if not self.multi_label else np.log(mean) - np.log1p(-np.clip(mean, 0, 1 - FLOOR))
        return self.head.scores(self._features(member_probs), len(self.label_names))

    def logits(self, texts):
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.label_names)))
        return self._combine(np.stack([m.predict_proba(texts) for m in self.members]))

    def kept_names(self, where: Path | None = None) -> list[str]:
        """The members trained (those the time limit left out are recorded in info.left_out)."""
        names = self.params.names()
        left = self.info.get("left_out", [])
        if not isinstance(left, list) or any(not isinstance(o, dict) or o.get("name") not in names for o in left):
            raise RecordError(f"{where}: field info.left_out: {str(left)[:200]}; expected members of {self.params.members}")
        out = [n for n in names if n not in {o["name"] for o in left}]
        if not out:
            raise RecordError(f"{where}: field info.left_out: every member is left out")
        return out

    def num_parameters(self) -> int:
        return int(self.info.get("parameters", 0)) + (self.head.coef.size if self.head is not None else 0)

    @classmethod
    def describe(cls, info: dict) -> list[str]:
        return describe_stack(info)

    # -- persistence
    def _save_weights(self, directory: Path) -> None:
        from safetensors.numpy import save_file

        kept = self.kept_names()
        for i, name in enumerate(self.params.names()):
            if name in kept:
                self.members[kept.index(name)].save(directory / member_folder(i, name))
        if self.head is not None:  # the combiner's columns are its members' in this order: said in its file
            save_file(self.head.arrays(), str(directory / WEIGHTS),
                      metadata={**self.weights_metadata(), MEMBERS_KEY: json.dumps(kept, ensure_ascii=False)})

    def _load_weights(self, folder: Folder, record: ModelRecord) -> None:
        from .registry import family_class, family_of

        members = []
        kept = self.kept_names(folder.root / MODEL_FILE)
        for i, name in enumerate(self.params.names()):
            if name not in kept:
                continue
            sub = folder.subfolder(member_folder(i, name), "model", strict=True)
            member_record = ModelRecord.read(sub)
            where = sub.root / MODEL_FILE
            if member_record.family != family_of(name):
                raise RecordError(f"{where}: field family: {member_record.family!r}, but the stack's member {name} is "
                                  f"of the {family_of(name)} family")
            if member_record.label_names != record.label_names or member_record.multi_label != record.multi_label:
                raise RecordError(f"{where}: field label_names: {member_record.label_names}, but the stack's labels are "
                                  f"{record.label_names}; a member of another model")
            members.append(family_class(member_record.family).load(sub))
        self.members = members
        if self.params.combiner == "mean":
            self.head = None
            return
        path = folder.path(WEIGHTS, "weights")
        arrays = read_tensors(path)
        missing = [key for key in ("coef", "intercept", "classes") if key not in arrays]
        if missing:
            raise RecordError(f"{path}: no tensor {missing[0]}; the weights are not an emobench stack's")
        head = LinearHead.from_arrays(arrays, "logreg", where=path)
        features = len(members) * len(record.label_names)
        if head.coef.ndim != 2 or head.coef.shape[1] != features or head.intercept.shape != (head.coef.shape[0],):
            raise RecordError(f"{path}: coefficients of shape {head.coef.shape} do not fit {len(members)} members x "
                              f"{len(record.label_names)} labels")
        outputs = head.coef.shape[0] if record.multi_label else len(record.label_names)
        metadata = safetensors_metadata(path) or {}
        check_weights_labels(record, outputs, path, metadata)
        if metadata.get(MEMBERS_KEY) != json.dumps(kept, ensure_ascii=False):
            raise RecordError(f"{path}: the combiner was trained on the members {metadata.get(MEMBERS_KEY, 'not recorded')},"
                              f" not {json.dumps(kept, ensure_ascii=False)} (emobench_model.json's members in order)")
        head.check_classes(len(record.label_names), len(record.label_names), path)
        self.head = head

    # -- explanations and export
    def onnx_graph(self, directory: Path):
        raise EmobenchError(self.onnx_refusal())

    @classmethod
    def onnx_refusal(cls) -> str:
        return ("a stack is several models and a combiner, not one ONNX graph; distil it into one fast model with "
                "`emobench distill STACK_RUN --student lstm` and export that")
