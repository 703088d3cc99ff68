"""Ensembles: the members' averaged probabilities, scored as a model of their own."""
from __future__ import annotations

import numpy as np

from ..metrics import compute_metrics
from .outcomes import RunOutcome, group_by_model


def ensemble_name(members: list[str]) -> str:
    return "ensemble(" + "+".join(members) + ")"


def ensemble_outcomes(outcomes: list[RunOutcome], members: list[str]) -> list[RunOutcome]:
    """The average of the members' (calibrated) probabilities, one ensemble per seed the members share.
    Multi-label ensembles decide with thresholds tuned on the members' averaged validation probabilities."""
    grouped = group_by_model(outcomes)
    missing = [m for m in members if m not in grouped]
    if missing:
        raise ValueError(f"ensemble members {missing} are not among the compared models ({', '.join(grouped)})")
    seeds = sorted(set.intersection(*[{r.seed for r in grouped[m]} for m in members]))
    out = []
    for seed in seeds:
        runs = [next(r for r in grouped[m] if r.seed == seed) for m in members]
        first = runs[0]
        probs = np.mean([r.probs for r in runs], axis=0)
        if first.task == "multi_label":
            from ..thresholds import decide, tune_thresholds

            at_least_one = bool(first.y_true.sum(axis=1).min() > 0)
            if all(r.val_probs is not None for r in runs):
                chosen = tune_thresholds(np.mean([r.val_probs for r in runs], axis=0), first.val_true, at_least_one)
                thresholds = np.asarray(chosen.thresholds)
            else:
                thresholds = np.full(len(first.labels), 0.5)
            y_pred = decide(probs, thresholds, at_least_one)
        else:
            y_pred = probs.argmax(axis=1)
        metrics = compute_metrics(first.y_true, y_pred, first.labels)
        speeds = [r.metrics.examples_per_second for r in runs]
        # the members score one after another, so their times per example add up
        metrics.examples_per_second = 1 / sum(1 / x for x in speeds) if all(speeds) else None
        out.append(RunOutcome(name=ensemble_name(members), model="ensemble", seed=seed, run_dir="", task=first.task,
                              labels=first.labels, metrics=metrics, y_true=first.y_true, y_pred=y_pred, probs=probs,
                              texts=first.texts, train_seconds=float(sum(r.train_seconds for r in runs)),
                              parameters=sum(r.parameters or 0 for r in runs), members=list(members)))
    return out
