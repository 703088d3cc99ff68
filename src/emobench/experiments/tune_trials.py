"""One tuning trial: the parameters drawn, the model trained on the training split and scored on validation (pruned
by its per-epoch validation macro-F1), and the outcome written to the ledger before the trial ends, so a continued
study knows emobench ran it."""
from __future__ import annotations

import time
from pathlib import Path

from ..data import Corpus
from ..errors import EmobenchError
from ..logs import logger as log
from ..models.registry import ModelSpec
from ..records.run import EpochRecord
from ..records.tuning import Ledger, LedgerEntry, write_ledger
from ..tracking import tracker_for
from .data_checks import fit_inputs
from .tune_space import suggest
from .tune_storage import OWNER_KEY

SURPLUS = "surplus"


class TrialFailed(Exception):
    """A trial whose parameters cannot be trained on this data: recorded as failed, and the study goes on."""


def check_not_surplus(trial, wanted: int) -> None:
    """A shared study stops at ``wanted`` trials, whoever runs them; processes that each see one trial missing start
    one at the same moment. Trial numbers are given out by the database one at a time, so the trials numbered before
    this one decide: if ``wanted`` of them are finished or running, this one is not run (it is recorded as failed,
    marked surplus, and does not count) and the process stops."""
    import optuna

    counted = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.RUNNING)
    before = [t for t in trial.study.get_trials(deepcopy=False, states=counted) if t.number < trial.number]
    if len(before) >= wanted:
        trial.set_user_attr(SURPLUS, True)
        trial.study.stop()
        raise TrialFailed(f"the study already holds {wanted} trials")


class Objective:
    """What Optuna maximises: a trial's best validation macro-F1 (``shared``: the study is shared, and stops at
    ``trials`` trials whoever runs them)."""

    def __init__(self, spec: ModelSpec, space: dict, corpus: Corpus, folder: Path, ledger: Ledger, seed: int,
                 fixed: dict, trials: int, shared: bool, track=()):
        self.spec, self.space, self.corpus, self.folder, self.ledger = spec, space, corpus, folder, ledger
        self.seed, self.fixed, self.trials, self.shared, self.track = seed, fixed, trials, shared, track

    def record(self, trial, state: str, value: float | None) -> None:
        """Into the ledger before the trial ends, so a continued study knows emobench ran it."""
        self.ledger.trials.append(LedgerEntry(number=trial.number, state=state, params=dict(trial.params), value=value))
        write_ledger(self.folder, self.ledger)

    def __call__(self, trial) -> float:
        trial.set_user_attr(OWNER_KEY, str(self.folder.resolve()))  # which folder's ledger answers for it
        if self.shared:
            check_not_surplus(trial, self.trials)
        values = {name: suggest(trial, name, dimension) for name, dimension in self.space.items()}
        model = self.spec.with_overrides(values).build()
        tracker = tracker_for(self.track, self.folder, "tune", f"trial-{trial.number}")
        if tracker:
            tracker.start({"trial": trial.number, "params": values, "fixed": self.fixed})
        started = time.perf_counter()
        try:
            self._fit(trial, model, tracker)
            score, accuracy = self._score(trial, model)
            trial.set_user_attr("val_accuracy", accuracy)
            trial.set_user_attr("seconds", time.perf_counter() - started)
            log.info("trial %d: validation macro-F1 %.4f (%s) in %.0f s", trial.number, score,
                     ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()),
                     time.perf_counter() - started)
            if tracker:
                tracker.finish(None, {"val_macro_f1": score, "val_accuracy": accuracy})
            self.record(trial, "complete", float(score))
            return score
        finally:
            if tracker:
                tracker.close()

    def _fit(self, trial, model, tracker) -> None:
        import optuna

        def on_epoch(epoch: EpochRecord) -> None:
            if tracker:
                tracker.epoch(epoch)
            if hasattr(epoch, "val_macro_f1"):
                trial.report(epoch.val_macro_f1, epoch.epoch)
                if trial.should_prune():
                    log.info("trial %d pruned after epoch %d (validation macro-F1 %.4f)", trial.number, epoch.epoch,
                             epoch.val_macro_f1)
                    # Optuna stores a pruned trial's last reported value as its value: the ledger records the same
                    self.record(trial, "pruned", float(epoch.val_macro_f1))
                    raise optuna.TrialPruned()

        corpus = self.corpus
        try:
            # No work_dir: a trial is not resumable (a killed one is marked failed), so nothing is checkpointed.
            model.fit(corpus["train"], corpus["validation"], corpus.label_names, seed=self.seed, progress=False,
                      on_epoch=on_epoch, **fit_inputs(self.spec, corpus))
        except (EmobenchError, ValueError) as exc:  # this trial's parameters do not work on this data
            trial.set_user_attr("error", str(exc)[:500])
            log.warning("trial %d failed (%s); the study goes on", trial.number, str(exc).splitlines()[0][:300])
            raise TrialFailed(str(exc)) from None

    def _score(self, trial, model) -> tuple[float, float]:
        """The best epoch's validation macro-F1 and accuracy; a family without epochs is scored as every run is (the
        model's own decision rule: argmax, or tuned thresholds)."""
        from ..evaluation.metrics import compute_metrics

        # epochs scored on validation describe the model (a family that trains a body without validation scores,
        # then fits a head, has epochs that do not): scored from its epochs only then
        if model.history and all(hasattr(h, "val_macro_f1") for h in model.history):
            best = max(model.history, key=lambda h: h.val_macro_f1)
            trial.set_user_attr("epochs", len(model.history))
            trial.set_user_attr("best_epoch", best.epoch)
            return best.val_macro_f1, best.val_accuracy
        validation = self.corpus["validation"]
        metrics = compute_metrics(model.truth(validation), model.predict(validation.texts), self.corpus.label_names)
        return metrics.macro.f1, metrics.accuracy
