"""The analysis of a comparison, as typed results: per-model scores with bootstrap intervals and spread over
seeds, per-class tables, paired tests with Holm's correction, transfer to another dataset. Pure functions of
the runs' test-set outcomes; the report only renders what this returns (``asdict`` gives statistics.json).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from .calibration import ReliabilityBin
from .statistics import (LOWER_IS_BETTER, MULTI_LABEL_METRICS, SINGLE_LABEL_METRICS, Counts, bootstrap, holm, indicators,
                         METRIC_NAMES, mcnemar, mean_interval, mean_std, metric_values, randomization_test, rounds_for)

ALPHA = 0.05
N_BOOT = 1000


@dataclass
class RunOutcome:
    """One run's outcome on its test split, as a study loads it."""

    name: str  # shown in reports: the model name, or the run folder when one model name has several configurations
    model: str
    seed: int
    run_dir: str
    task: str
    labels: list[str]
    metrics: dict  # metrics.json's test entry
    y_true: np.ndarray  # label ids, or a 0/1 matrix (multi-label)
    y_pred: np.ndarray
    probs: np.ndarray | None = None
    texts: list[str] = field(default_factory=list)
    history: list | None = None
    train_seconds: float = 0.0
    parameters: int | None = None
    params: dict | None = None
    preset: str | None = None
    temperature: float | None = None  # None: probabilities not from one model (an ensemble)
    val_true: np.ndarray | None = None  # validation predictions, for ensembles' thresholds
    val_probs: np.ndarray | None = None
    members: list[str] | None = None  # an ensemble's models
    baseline: bool = False  # majority or stratified: shown and tested like a model, never chosen
    budget: str | None = None  # the data budget it was trained on (None: the whole training split)
    train_texts: int = 0  # labelled training texts
    model_info: dict = field(default_factory=dict)  # the model's recorded facts (a baseline's chosen answer)


@dataclass
class Interval:
    value: float
    low: float
    high: float


@dataclass
class ModelSummary:
    name: str
    seeds: list[int]
    scores: dict[str, Interval]  # the lowest seed's test scores with 95% bootstrap intervals
    over_seeds: dict[str, dict]  # metric -> {mean, sd, n}
    per_class: dict[str, dict[str, float]]  # label -> precision/recall/f1 (mean over seeds) and support
    train_seconds: float
    eval_examples_per_second: float | None
    parameters: int | None
    confusion: list | None = None  # single-label, lowest seed
    history: list | None = None
    baseline: bool = False


@dataclass
class PairTest:
    a: str
    b: str
    method: str
    metric: str
    statistic: float
    p_value: float
    p_holm: float
    significant: bool
    better: str | None  # significant: the model with the better ``metric`` on these predictions (never another metric's)
    only_a_right: int | None = None  # McNemar's discordant pairs
    only_b_right: int | None = None
    score_a: float | None = None  # ``metric`` of a and b on the tested predictions
    score_b: float | None = None


@dataclass
class AgainstBaseline:
    """Whether a model beats the majority baseline on the test split (the paired test between the two on ``metric``)."""

    name: str
    baseline: str
    p_holm: float
    verdict: str  # "above", "below" or "not significantly above", on ``metric``
    metric: str = "macro_f1"
    score: float | None = None  # the model's and the baseline's ``metric`` on the tested predictions
    baseline_score: float | None = None


@dataclass
class BaselineAnswer:
    """What the majority baseline answers, and from which data the answer was chosen (never the test labels)."""

    name: str
    label: str | None  # the label it always answers (None: multi-label, or not one constant label)
    chosen_from: str  # a sentence: the data and the rule that chose it
    tie: bool  # several labels were equally frequent in the training data
    scores: dict[str, float]  # its accuracy and macro-F1 on the test split


@dataclass
class ConstantReference:
    """The best constant answer on the test split: a reference line read off the test labels, not a model."""

    label: str
    scores: dict[str, float]  # accuracy and macro-F1 of always answering ``label`` on the test split
    tied_labels: list[str] = field(default_factory=list)  # as frequent as ``label`` in the test split: the same scores


@dataclass
class Calibration:
    """How honest a model's test probabilities are, before and after temperature scaling."""

    name: str
    temperature: float | None
    before: dict | None  # ece, brier, log_loss (None: no single temperature, e.g. an ensemble)
    after: dict
    validation: dict | None  # the same on validation, from the run's metrics
    bins_before: list[ReliabilityBin] | None
    bins_after: list[ReliabilityBin]


@dataclass
class Mistake:
    text: str
    label: str
    predicted: str
    confidence: float
    label_noise: bool  # the text occurs elsewhere in the data with another label


@dataclass
class Confusion:
    true: str  # multi-label: a gold label the model missed (NOTHING_MISSED: none, the mistake is an extra label)
    predicted: str  # multi-label: a label predicted but not gold (NOTHING_EXTRA: none)
    count: int
    examples: list[str]


@dataclass
class ErrorReport:
    name: str
    mistakes: int
    confident: list[Mistake]  # the most confident mistakes
    confusions: list[Confusion]  # the most frequent (true, predicted) pairs
    noise_mistakes: int | None  # mistakes on texts with conflicting labels in the data (None: not recorded)
    noise_examples: list[Mistake]


@dataclass
class SharedMistakes:
    count: int  # test texts every compared model gets wrong
    total: int
    examples: list[dict]


@dataclass
class Comparison:
    dataset: str
    task: str
    labels: list[str]
    n_test: int
    seeds: list[int]
    metrics: list[str]  # the overall metrics, in table order
    primary: str  # the metric models are ranked by
    models: list[ModelSummary]
    tests: list[PairTest]
    test_description: str
    alpha: float = ALPHA
    ensembles: list[str] = field(default_factory=list)
    calibration: list[Calibration] = field(default_factory=list)
    errors: list[ErrorReport] = field(default_factory=list)
    shared_mistakes: SharedMistakes | None = None
    baselines: list[str] = field(default_factory=list)
    against_baseline: list[AgainstBaseline] = field(default_factory=list)
    accuracy_tests: list[PairTest] = field(default_factory=list)  # McNemar on accuracy (single-label), its own Holm family
    accuracy_test_description: str = ""
    majority_answer: BaselineAnswer | None = None
    best_constant: ConstantReference | None = None

    @property
    def flagged(self) -> list[AgainstBaseline]:
        """The models not significantly above the majority baseline."""
        return [a for a in self.against_baseline if a.verdict != "above"]


def metrics_for(task: str) -> list[str]:
    return list(MULTI_LABEL_METRICS if task == "multi_label" else SINGLE_LABEL_METRICS)


def group_by_model(outcomes: list[RunOutcome]) -> dict[str, list[RunOutcome]]:
    grouped: dict[str, list[RunOutcome]] = {}
    for outcome in outcomes:
        grouped.setdefault(outcome.name, []).append(outcome)
    return {name: sorted(runs, key=lambda r: r.seed) for name, runs in grouped.items()}


def _metric_from(metrics: dict, metric: str) -> float:
    if metric in ("accuracy", "subset_accuracy"):
        return metrics["accuracy"]
    if metric in ("hamming_loss", "jaccard"):
        return metrics[metric]
    return metrics[metric.replace("_f1", "")]["f1"]


def summarise_model(name: str, runs: list[RunOutcome], metrics: list[str]) -> ModelSummary:
    first = runs[0]
    intervals = bootstrap(Counts(first.y_true, first.y_pred, len(first.labels)), metrics, N_BOOT, seed=0)
    over_seeds = {}
    if len(runs) > 1:
        for metric in metrics:
            mean, sd = mean_std([_metric_from(r.metrics, metric) for r in runs])
            over_seeds[metric] = {"mean": mean, "sd": sd, "n": len(runs)}
    per_class = {}
    for label in first.labels:
        values = {k: float(np.mean([r.metrics["per_class"][label][k] for r in runs])) for k in ("precision", "recall", "f1")}
        per_class[label] = {**values, "support": first.metrics["per_class"][label]["support"]}
    return ModelSummary(
        name=name, seeds=[r.seed for r in runs], scores={m: Interval(*intervals[m]) for m in metrics}, over_seeds=over_seeds,
        per_class=per_class, train_seconds=float(np.mean([r.train_seconds for r in runs])),
        eval_examples_per_second=first.metrics.get("examples_per_second"), parameters=first.parameters,
        confusion=first.metrics.get("confusion_matrix"), history=first.history, baseline=first.baseline)


def find_test(tests: list[PairTest], a: str, b: str) -> PairTest | None:
    return next((t for t in tests if {t.a, t.b} == {a, b}), None)


def _better(a: str, b: str, score_a: float, score_b: float, metric: str) -> str | None:
    """The model with the better ``metric`` (None on a tie): decided by the scores themselves, never by another metric."""
    if score_a == score_b:
        return None
    return a if (score_a > score_b) != (metric in LOWER_IS_BETTER) else b


def _adjusted(pairs: list[tuple[str, str]], raw: list[dict], metric: str) -> list[PairTest]:
    adjusted = holm([r["p_value"] for r in raw]) if raw else []
    tests = []
    for (a, b), r, p_adj in zip(pairs, raw, adjusted):
        better = _better(a, b, r["score_a"], r["score_b"], metric)
        significant = bool(p_adj < ALPHA and better is not None)
        tests.append(PairTest(a, b, r["method"], metric, float(r["statistic"]), float(r["p_value"]), float(p_adj),
                              significant, better if significant else None, r.get("b"), r.get("c"),
                              float(r["score_a"]), float(r["score_b"])))
    return tests


def pair_tests(first: dict[str, RunOutcome], task: str, primary: str) -> tuple[list[PairTest], str, list[PairTest], str]:
    """Every pair of models on the same test examples (lowest seed): an approximate randomization test on the
    primary metric (the one models are ranked by, so a ranking is tested on its own metric), Holm-adjusted over the
    pairs; and, for single-label data, McNemar's test on accuracy, a family of its own. Returns the primary tests and
    their description, then the accuracy tests and theirs."""
    pairs = list(combinations(first, 2))
    rounds = rounds_for(len(pairs), ALPHA)
    raw = [randomization_test(first[a].y_true, first[a].y_pred, first[b].y_pred, primary, rounds=rounds,
                              num_labels=len(first[a].labels)) for a, b in pairs]
    tests = _adjusted(pairs, raw, primary)
    description = (f"an approximate randomization test on {METRIC_NAMES[primary]} ({rounds:,} rounds of swapping "
                   "the two models' outputs per example)")
    accuracy_tests, accuracy_description = [], ""
    if task == "single_label":
        accuracy_tests = _adjusted(pairs, [mcnemar(first[a].y_true, first[a].y_pred, first[b].y_pred) for a, b in pairs],
                                   "accuracy")
        accuracy_description = ("McNemar's test on accuracy (which texts each model gets right; exact below 25 "
                                "discordant pairs, else continuity-corrected chi-square)")
    return tests, description, accuracy_tests, accuracy_description


def analyse(outcomes: list[RunOutcome], dataset: str, ensembles: list[list[str]] | None = None,
            conflicting: set[str] | None = None, majority: str | None = None) -> Comparison:
    """Everything the report shows about a comparison: ``ensembles`` (lists of model names) are added as
    models of their own; ``conflicting`` (normalised texts with conflicting labels in the data) separates
    label noise from model errors; ``majority``: the baseline every other model is tested against."""
    task, labels = outcomes[0].task, outcomes[0].labels
    metrics = metrics_for(task)
    primary = "macro_f1"
    outcomes = outcomes + [e for members in ensembles or [] for e in ensemble_outcomes(outcomes, members)]
    grouped = group_by_model(outcomes)
    models = [summarise_model(name, runs, metrics) for name, runs in grouped.items()]
    first = {name: runs[0] for name, runs in grouped.items()}
    tests, description, accuracy_tests, accuracy_description = pair_tests(first, task, primary)
    singles = [o for name, o in first.items() if o.members is None and not o.baseline]
    return Comparison(dataset=dataset, task=task, labels=labels, n_test=len(outcomes[0].y_true),
                      seeds=sorted({o.seed for o in outcomes}), metrics=metrics, primary=primary, models=models,
                      tests=tests, test_description=description,
                      ensembles=[name for name, o in first.items() if o.members is not None],
                      calibration=[calibration_of(o) for o in first.values()],
                      errors=[error_analysis(o, conflicting) for o in first.values()],
                      shared_mistakes=shared_mistakes(singles) if len(singles) > 1 else None,
                      baselines=[name for name, o in first.items() if o.baseline],
                      against_baseline=against_baseline(first, tests, majority), accuracy_tests=accuracy_tests,
                      accuracy_test_description=accuracy_description,
                      majority_answer=majority_answer(first[majority]) if majority in first else None,
                      best_constant=best_constant(outcomes[0]))


def against_baseline(first: dict[str, RunOutcome], tests: list[PairTest], majority: str | None) -> list[AgainstBaseline]:
    """Every model (not a baseline) against the majority baseline, from the Holm-adjusted paired tests (on their
    metric, the primary one: the verdict's direction is that metric's)."""
    if majority is None or majority not in first:
        return []
    out = []
    for name, outcome in first.items():
        if outcome.baseline:
            continue
        test = find_test(tests, name, majority)
        verdict = "not significantly above"
        if test.significant:
            verdict = "above" if test.better == name else "below"
        mine = test.a == name
        out.append(AgainstBaseline(name, majority, test.p_holm, verdict, test.metric,
                                   test.score_a if mine else test.score_b, test.score_b if mine else test.score_a))
    return out


def _scores_of(y_true, y_pred, num_labels: int) -> dict[str, float]:
    totals = Counts(y_true, y_pred, num_labels).totals()
    return {m: float(metric_values(totals, m)[0]) for m in ("accuracy", "macro_f1")}


def majority_answer(outcome: RunOutcome) -> BaselineAnswer:
    """The label the majority baseline answers (read off its test predictions, where it is constant) and how its
    training chose it (the model's recorded facts)."""
    info = outcome.model_info or {}
    scores = _scores_of(outcome.y_true, outcome.y_pred, len(outcome.labels))
    if outcome.task == "multi_label":
        return BaselineAnswer(outcome.name, None, "each label's share of the training texts, decided with thresholds tuned "
                              "on validation like any model's", False, scores)
    answers = np.unique(np.asarray(outcome.y_pred))
    if len(answers) != 1:
        return BaselineAnswer(outcome.name, None, f"not one constant label: its test predictions hold {len(answers)} "
                              "labels", False, scores)
    label = outcome.labels[int(answers[0])]
    tied = info.get("tied_labels") or []
    listed = ", ".join(repr(t) for t in tied)
    chosen = {"train": "the most frequent label of the training split",
              "validation": f"the training split's labels {listed} tie; of them, the most frequent in the validation split",
              "label_order": f"the training split's labels {listed} tie and the validation split does not break the tie: "
                             "the first of them in label order, an arbitrary choice"}.get(info.get("answer_from"))
    if chosen is None:
        chosen = ("the most frequent label of the training split; how a tie would have been broken is not recorded for "
                  "this run: emobench then gave a tie to the first label in label order")
    return BaselineAnswer(outcome.name, label, chosen, len(tied) > 1, scores)


def best_constant(outcome: RunOutcome) -> ConstantReference | None:
    """Always answering the test split's most frequent label: the best constant answer on accuracy and on macro-F1
    alike (a constant label's F1 grows with its share). Single-label data only."""
    if outcome.task != "single_label" or not len(outcome.y_true):
        return None
    y_true = np.asarray(outcome.y_true)
    counts = np.bincount(y_true, minlength=len(outcome.labels))
    top = int(counts.argmax())
    tied = [outcome.labels[k] for k in np.flatnonzero(counts == counts[top])]
    return ConstantReference(outcome.labels[top], _scores_of(y_true, np.full(len(y_true), top), len(outcome.labels)),
                             tied if len(tied) > 1 else [])


# ---------------------------------------------------------------- ensembles


def ensemble_name(members: list[str]) -> str:
    return "ensemble(" + "+".join(members) + ")"


def ensemble_outcomes(outcomes: list[RunOutcome], members: list[str]) -> list[RunOutcome]:
    """The average of the members' (calibrated) probabilities, one ensemble per seed the members share.
    Multi-label ensembles decide with thresholds tuned on the members' averaged validation probabilities."""
    from ..evaluation.metrics import compute_metrics

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
            from .thresholds import decide, tune_thresholds

            at_least_one = bool(first.y_true.sum(axis=1).min() > 0)
            if all(r.val_probs is not None for r in runs):
                chosen = tune_thresholds(np.mean([r.val_probs for r in runs], axis=0), first.val_true, at_least_one)
                thresholds = np.asarray(chosen["thresholds"])
            else:
                thresholds = np.full(len(first.labels), 0.5)
            y_pred = decide(probs, thresholds, at_least_one)
        else:
            y_pred = probs.argmax(axis=1)
        metrics = compute_metrics(first.y_true, y_pred, first.labels)
        speeds = [r.metrics.get("examples_per_second") for r in runs]
        # the members score one after another, so their times per example add up
        metrics["examples_per_second"] = 1 / sum(1 / x for x in speeds) if all(speeds) else None
        out.append(RunOutcome(name=ensemble_name(members), model="ensemble", seed=seed, run_dir="", task=first.task,
                              labels=first.labels, metrics=metrics, y_true=first.y_true, y_pred=y_pred, probs=probs,
                              texts=first.texts, train_seconds=float(sum(r.train_seconds for r in runs)),
                              parameters=sum(r.parameters or 0 for r in runs), members=list(members)))
    return out


# ---------------------------------------------------------------- calibration


def calibration_of(outcome: RunOutcome) -> Calibration:
    from .calibration import calibration_scores, reliability, uncalibrated

    multi = outcome.task == "multi_label"
    recorded = outcome.metrics.get("calibration") or {}
    after = recorded.get("after") or calibration_scores(outcome.probs, outcome.y_true)
    before = bins_before = None
    if outcome.temperature is not None:
        before = recorded.get("before")
        raw = uncalibrated(outcome.probs, outcome.temperature, multi)
        before = before or calibration_scores(raw, outcome.y_true)
        bins_before = reliability(raw, outcome.y_true)
    return Calibration(name=outcome.name, temperature=outcome.temperature, before=before, after=after,
                       validation=outcome.metrics.get("validation_calibration"), bins_before=bins_before,
                       bins_after=reliability(outcome.probs, outcome.y_true))


# ---------------------------------------------------------------- errors


NO_LABEL = "(no label)"
NOTHING_MISSED = "(none missed: a wrong extra label)"
NOTHING_EXTRA = "(none extra: a missed label)"


def _names(row, labels: list[str], multi: bool) -> str:
    return "+".join(labels[k] for k in np.flatnonzero(row)) or NO_LABEL if multi else labels[int(row)]


def error_analysis(outcome: RunOutcome, conflicting: set[str] | None, top: int = 5, examples: int = 2) -> ErrorReport:
    """The most confident mistakes, the most frequent confusions with example texts, and the mistakes on
    texts that carry conflicting labels in the data (label noise rather than model error)."""
    from ..data.text import normalize_text

    multi = outcome.task == "multi_label"
    y_true, y_pred, probs, labels = outcome.y_true, outcome.y_pred, outcome.probs, outcome.labels
    wrong = np.flatnonzero((y_true != y_pred).any(axis=1) if multi else y_true != y_pred)
    if multi:  # confidence of a wrong set: the most probable label that is wrongly in or out of it
        error_mass = np.abs(probs - y_true)
        confidence = error_mass.max(axis=1)
    else:
        confidence = probs[np.arange(len(probs)), y_pred]

    def mistake(i) -> Mistake:
        return Mistake(text=outcome.texts[i], label=_names(y_true[i], labels, multi), predicted=_names(y_pred[i], labels, multi),
                       confidence=float(confidence[i]),
                       label_noise=conflicting is not None and normalize_text(outcome.texts[i]) in conflicting)

    ranked = wrong[np.argsort(-confidence[wrong], kind="stable")]
    pairs: dict[tuple[str, str], list[int]] = {}
    for i in wrong:
        if multi:
            missed = [labels[k] for k in np.flatnonzero(y_true[i] & (1 - y_pred[i]))] or [NOTHING_MISSED]
            extra = [labels[k] for k in np.flatnonzero(y_pred[i] & (1 - y_true[i]))] or [NOTHING_EXTRA]
            keys = [(m, e) for m in missed for e in extra]
        else:
            keys = [(labels[int(y_true[i])], labels[int(y_pred[i])])]
        for key in keys:
            pairs.setdefault(key, []).append(int(i))
    confusions = sorted(pairs.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:top]
    noise = [i for i in ranked if conflicting is not None and normalize_text(outcome.texts[i]) in conflicting]
    return ErrorReport(
        name=outcome.name, mistakes=int(len(wrong)), confident=[mistake(i) for i in ranked[:top]],
        confusions=[Confusion(t, p, len(ids), [outcome.texts[i] for i in ids[:examples]]) for (t, p), ids in confusions],
        noise_mistakes=len(noise) if conflicting is not None else None, noise_examples=[mistake(i) for i in noise[:top]])


def shared_mistakes(outcomes: list[RunOutcome], top: int = 5) -> SharedMistakes:
    """Test texts that every model gets wrong: hard cases, or wrong labels."""
    first = outcomes[0]
    multi = first.task == "multi_label"
    wrong = np.ones(len(first.y_true), dtype=bool)
    for o in outcomes:
        wrong &= (o.y_true != o.y_pred).any(axis=1) if multi else o.y_true != o.y_pred
    ids = np.flatnonzero(wrong)
    examples = [{"text": first.texts[i], "label": _names(first.y_true[i], first.labels, multi),
                 "predictions": {o.name: _names(o.y_pred[i], o.labels, multi) for o in outcomes}} for i in ids[:top]]
    return SharedMistakes(count=int(len(ids)), total=int(len(first.y_true)), examples=examples)


@dataclass
class TransferResult:
    """One model scored on another dataset's test split, on the labels both share."""

    name: str
    seed: int
    dataset: str
    task: str
    shared_labels: list[str]
    kept: int
    dropped: int
    scores: dict[str, Interval]  # the target task's metrics, averaged over the shared labels
    hit_rate: Interval  # the model's top shared label is one of the text's labels
    majority_label: str
    majority_rate: float  # the hit rate of always answering the most frequent shared label
    in_domain: dict[str, float]  # the same model on its own test split
    prediction: str
    scored_on: str = ""  # "the test split of X (test.tsv)", "every text of meld.csv"
    labels_without_texts: list[str] = field(default_factory=list)  # shared, but no scored text has them
    overlap_with_training: int | None = None  # scored texts that also occur in the training split


def analyse_transfer(outcomes: list[RunOutcome], metrics: dict[str, dict], predictions: dict) -> list[TransferResult]:
    """Transfer results of every run (keyed by run folder name), with bootstrap intervals; ``predictions`` hold
    ``y_true``, ``y_pred`` and ``probs`` over the shared labels."""
    results = []
    for outcome in outcomes:
        key = outcome.run_dir.rstrip("/").rsplit("/", 1)[-1]
        if key not in metrics or metrics[key] is None:
            continue
        m, p = metrics[key], predictions[key]
        info = m["transfer"]
        task = m.get("task", "single_label")
        chosen = metrics_for(task)
        shared, without = info["shared_labels"], info.get("labels_without_texts", [])
        columns = [i for i, name in enumerate(shared) if name not in without]  # the labels averaged over
        y_true = indicators(p.y_true, len(shared))[:, columns]
        y_pred = indicators(p.y_pred, len(shared))[:, columns]
        intervals = bootstrap(Counts(y_true, y_pred, len(columns)), chosen, N_BOOT, seed=0)
        hit = bootstrap_hits(_hits(p))
        results.append(TransferResult(
            name=outcome.name, seed=outcome.seed, dataset=info["dataset"], task=task, shared_labels=info["shared_labels"],
            kept=info["kept"], dropped=info["dropped"], scores={k: Interval(*intervals[k]) for k in chosen},
            hit_rate=hit, majority_label=info["majority_label"], majority_rate=info["majority_rate"],
            in_domain={"accuracy": outcome.metrics["accuracy"], "macro_f1": outcome.metrics["macro"]["f1"]},
            prediction=info["prediction"], scored_on=info.get("scored_on") or f"the test split of {info['dataset']}",
            labels_without_texts=without, overlap_with_training=info.get("overlap_with_training")))
    return results


def _hits(predictions) -> np.ndarray:
    """1 where the model's most probable shared label is one of the text's labels."""
    top = np.asarray(predictions.probs).argmax(axis=1)
    y_true = np.asarray(predictions.y_true)
    if y_true.ndim == 2:
        return y_true[np.arange(len(top)), top].astype(float)
    return (y_true == top).astype(float)


def bootstrap_hits(hits: np.ndarray, n_boot: int = N_BOOT, seed: int = 0) -> Interval:
    from .statistics import resample_weights

    if not len(hits):
        return Interval(0.0, 0.0, 0.0)
    weights = resample_weights(len(hits), n_boot, seed)
    samples = weights @ hits / len(hits)
    low, high = np.quantile(samples, [0.025, 0.975])
    return Interval(float(hits.mean()), float(low), float(high))


# ---------------------------------------------------------------- data budgets


@dataclass
class BudgetPoint:
    """One model at one data budget: macro-F1 and accuracy on the test split, over seeds."""

    name: str
    budget: str  # "16" texts per class, "0.1" of the split, or "all"
    train_texts: float  # labelled training texts (mean over seeds)
    seeds: list[int]
    macro_f1: Interval  # mean over seeds; 95% t-interval over seeds (one seed: bootstrap over test texts)
    accuracy: float
    baseline: bool = False


@dataclass
class BudgetWinner:
    """The best model at a budget (by mean macro-F1 over seeds), and whether it is really ahead of the runner-up and
    above the majority: both tested on macro-F1 on the lowest seed's test predictions."""

    budget: str
    best: str
    score: float
    runner_up: str | None
    runner_up_score: float | None
    p_holm: float | None  # best against runner-up, Holm-adjusted over the budgets
    significant: bool  # the test finds the best model significantly ahead (on the tested seed's macro-F1)
    against_majority: str | None  # the best model's verdict against the majority baseline, on macro-F1
    metric: str = "macro_f1"
    tested_better: str | None = None  # the model the test finds significantly better (None: no significant difference)
    tested_scores: tuple[float, float] | None = None  # best's and runner-up's macro-F1 on the tested seed's predictions


@dataclass
class BudgetAnalysis:
    budgets: list[str]  # from the smallest to "all"
    points: list[BudgetPoint]
    winners: list[BudgetWinner]
    against_baseline: dict[str, list[AgainstBaseline]]  # budget -> every model against the majority
    validation: str  # "full" (the whole validation split) or "budget" (cut like the training split)
    test_description: str
    majority_answers: dict[str, BaselineAnswer] = field(default_factory=dict)  # budget -> what the majority answers


def _t_interval(values: list[float]) -> tuple[float, float, float]:
    mean, low, high = mean_interval(values)
    return mean, max(0.0, low), min(1.0, high)  # a score lies in [0, 1]


def analyse_budgets(by_budget: dict[str, list[RunOutcome]], majority: str | None, validation: str) -> BudgetAnalysis:
    """Learning curves (macro-F1 against labelled texts, intervals over seeds), the best model at each budget with a
    paired test against the runner-up (Holm over the budgets), and every model against the majority baseline."""
    points, raw, checks, answers = [], [], {}, {}
    for budget, outcomes in by_budget.items():
        grouped = group_by_model(outcomes)
        task = outcomes[0].task
        for name, runs in grouped.items():
            values = [r.metrics["macro"]["f1"] for r in runs]
            if len(runs) > 1:
                interval = Interval(*_t_interval(values))
            else:
                interval = Interval(*bootstrap(Counts(runs[0].y_true, runs[0].y_pred, len(runs[0].labels)), ["macro_f1"],
                                               N_BOOT, seed=0)["macro_f1"])
            points.append(BudgetPoint(name, budget, float(np.mean([r.train_texts for r in runs])),
                                      [r.seed for r in runs], interval, float(np.mean([r.metrics["accuracy"] for r in runs])),
                                      runs[0].baseline))
        first = {name: runs[0] for name, runs in grouped.items()}
        tests, description, _, _ = pair_tests(first, task, "macro_f1")
        checks[budget] = against_baseline(first, tests, majority)
        if majority in first:
            answers[budget] = majority_answer(first[majority])
        ranked = sorted([p for p in points if p.budget == budget and not p.baseline], key=lambda p: -p.macro_f1.value)
        if not ranked:
            continue
        best, runner = ranked[0], (ranked[1] if len(ranked) > 1 else None)
        test = find_test(tests, best.name, runner.name) if runner is not None else None
        verdict = next((c.verdict for c in checks[budget] if c.name == best.name), None)
        raw.append((budget, best, runner, test, verdict))
    tested = [r[3] for r in raw if r[3] is not None]
    adjusted = iter(holm([t.p_value for t in tested]) if tested else [])
    winners = []
    for budget, best, runner, test, verdict in raw:
        p_holm = better = scores = None
        if test is not None:
            p_holm = float(next(adjusted))
            # the direction is that of the tested predictions' macro-F1, which may differ from the mean over seeds
            mine = test.a == best.name
            scores = (test.score_a, test.score_b) if mine else (test.score_b, test.score_a)
            if p_holm < ALPHA:
                better = _better(test.a, test.b, test.score_a, test.score_b, test.metric)
        winners.append(BudgetWinner(budget, best.name, best.macro_f1.value, runner.name if runner else None,
                                    runner.macro_f1.value if runner else None, p_holm, better == best.name, verdict,
                                    "macro_f1", better, scores))
    description = "an approximate randomization test on macro-F1 on the lowest seed's test predictions"
    return BudgetAnalysis(list(by_budget), points, winners, checks, validation, description, answers)


# ---------------------------------------------------------------- label noise in the test split


@dataclass
class NoiseScores:
    """A model on every test text and on the texts not flagged as likely mislabelled."""

    name: str
    all: dict[str, Interval]  # macro_f1, accuracy
    unflagged: dict[str, Interval]
    mistakes: int
    mistakes_flagged: int
    # of the flagging model's family (or an ensemble with such a member): the texts were flagged where a model of its
    # kind disagrees with the label, so its score on the unflagged texts is favoured
    flagger_kin: bool = False
    baseline: bool = False


@dataclass
class NoiseAnalysis:
    flagged: int
    total: int
    method: str  # the model and folds that flagged them
    scores: list[NoiseScores]
    shared_mistakes: int  # test texts every model gets wrong
    shared_flagged: int  # ... of them flagged
    examples: list[dict]  # the flagged texts: text, given, suggested, self-confidence, models predicting the suggestion
    warnings: list[str] = field(default_factory=list)  # the audit's own (e.g. many flags from a weak model)
    multi_label: bool = False  # "accuracy" is then subset accuracy


def analyse_noise(outcomes: list[RunOutcome], flagged: list[dict], method: str, top: int = 8,
                  warnings: list[str] | None = None, kin: set[str] | frozenset = frozenset()) -> NoiseAnalysis:
    """Every model (lowest seed) scored on all test texts and on the unflagged ones, with bootstrap intervals; how many of
    its mistakes, and of the texts every model gets wrong, are flagged. ``flagged``: the test split's issues (index,
    text, given, suggested, self_confidence), most doubtful first; ``kin``: the models of the flagging model's family."""
    grouped = group_by_model(outcomes)
    first = {name: runs[0] for name, runs in grouped.items()}
    any_outcome = next(iter(first.values()))
    n = len(any_outcome.y_true)
    rows = np.array(sorted({int(f["index"]) for f in flagged if int(f["index"]) < n}), dtype=int)
    keep = np.setdiff1d(np.arange(n), rows)
    multi = any_outcome.task == "multi_label"
    scores, wrong_all = [], np.ones(n, dtype=bool)
    for name, o in first.items():
        wrong = (o.y_true != o.y_pred).any(axis=1) if multi else o.y_true != o.y_pred
        if not o.baseline:
            wrong_all &= wrong
        intervals = {}
        for which, subset in (("all", np.arange(n)), ("unflagged", keep)):
            counts = Counts(np.asarray(o.y_true)[subset], np.asarray(o.y_pred)[subset], len(o.labels))
            found = bootstrap(counts, ["macro_f1", "accuracy" if not multi else "subset_accuracy"], N_BOOT, seed=0)
            intervals[which] = {"macro_f1": Interval(*found["macro_f1"]),
                                "accuracy": Interval(*found["accuracy" if not multi else "subset_accuracy"])}
        scores.append(NoiseScores(name, intervals["all"], intervals["unflagged"], int(wrong.sum()),
                                  int(wrong[rows].sum()) if len(rows) else 0, name in kin, o.baseline))
    labels = any_outcome.labels
    examples = []
    for f in flagged[:top]:
        i = int(f["index"])
        agreeing = 0
        for o in first.values():
            predicted = [labels[k] for k in np.flatnonzero(o.y_pred[i])] if multi else [labels[int(o.y_pred[i])]]
            agreeing += sorted(predicted) == sorted(f["suggested"])
        examples.append({**f, "models_predicting_suggestion": agreeing, "models": len(first)})
    return NoiseAnalysis(flagged=int(len(rows)), total=n, method=method, scores=scores,
                         shared_mistakes=int(wrong_all.sum()), shared_flagged=int(wrong_all[rows].sum()) if len(rows) else 0,
                         examples=examples, warnings=list(warnings or []), multi_label=multi)
