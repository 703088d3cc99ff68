"""The comparison folder: ``comparison.json`` (what was asked), ``runs/<model>-s<seed>/`` (ordinary runs),
``results.json`` / ``results.csv`` (one row per run), ``statistics.json`` (the analysis), ``report.md``,
``report.html``, ``figures/``, ``tables.tex``, ``transfer/`` (scores on another dataset) and ``MANIFEST.json``.

Runs are named relative to the comparison (inside it) or, for a comparison of finished runs, by the absolute
folder it was given, with the sha256 of that run's manifest: a run that changed since is refused.
"""
from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field, model_validator

from ..data.provenance import DataSource, OrderedRecord
from ..errors import RecordError
from ..files import MANIFEST, json_text, relative_name, write_text_atomic
from ..manifest import Folder, sha256_of
from .base import AnyDict, Count, LabelNames, Name, OpenRecord, Record, Share, check, shorten, validate
from .run import MetricsRecord, Predictions, RunRecord, SplitMetrics, read_predictions
from .statistics import Statistics, parse_statistics

COMPARISON, RESULTS, RESULTS_CSV, STATISTICS = "comparison.json", "results.json", "results.csv", "statistics.json"
TRANSFER_DIR, TARGET = "transfer", "transfer/target.json"


class ComparisonDescription(Record):
    """comparison.json: what a study asked for (``config``) and every run's resolved configuration."""

    format: int = 2
    kind: str = "study"  # "study" (trained here) or "runs" (finished runs compared)
    config: AnyDict | None = None
    runs: dict[str, AnyDict] | None = None


class ResultRow(OpenRecord):
    model: Name
    seed: Count
    task: str
    n_test: Count
    accuracy: Share
    macro_f1: Share
    per_class: dict[str, AnyDict]
    run: str
    run_manifest: str | None = None  # sha256 of the run's MANIFEST.json when the comparison was written


class SkippedRun(Record):
    """A model a study did not train at a data budget, and why (at 0 labelled texts: a family that needs labels)."""

    model: Name
    budget: Name  # the data budget's canonical size ("0")
    reason: str


class Results(Record):
    runs: list[ResultRow] = Field(min_length=1)
    ensembles: list[list[str]] = Field(default_factory=list)
    skipped: list[SkippedRun] = Field(default_factory=list)  # listed in the table and the report, never silently missing

    @model_validator(mode="after")
    def _ensembles(self):
        """An ensemble averages two or more of the compared models (the report renders each again)."""
        models = {row.model for row in self.runs}
        for i, members in enumerate(self.ensembles):
            unknown = [m for m in members if m not in models]
            if unknown or len(set(members)) != len(members) or len(members) < 2:
                raise ValueError(f"ensembles[{i}]: {members!r:.200}; expected two or more of the compared models "
                                 f"({', '.join(sorted(models))[:200]}), each once")
        return self


class TransferFacts(OrderedRecord):
    """What a transfer score says about the data it was scored on (the report and the console show it); dumped with
    its keys in the order written, as results.json rows carry them."""

    dataset: Name
    shared_labels: LabelNames
    labels_without_texts: list[str] = Field(default_factory=list)
    kept: Count
    dropped: Count
    majority_label: str
    majority_rate: Share
    prediction: str
    scored_on: str | None = None
    overlap_with_training: Count | None = None


class TransferMetrics(SplitMetrics):
    transfer: TransferFacts

    @model_validator(mode="after")
    def _facts(self):
        facts = self.transfer
        if facts.kept != self.n:
            raise ValueError(f"transfer.kept: {facts.kept} texts kept, but the scores count {self.n}")
        if facts.majority_label not in facts.shared_labels:
            raise ValueError(f"transfer.majority_label: {facts.majority_label[:100]!r} is not a shared label")
        return self


class TransferTarget(Record):
    """transfer/target.json: the data a comparison's runs were scored on for transfer -- its configuration (data paths
    absolute), where its texts came from, and the split scored ("all": data without splits of its own)."""

    dataset: AnyDict
    source: AnyDict
    split: Name


@dataclass
class TransferScores:
    """One run scored on another dataset's test split: metrics and the predictions they come from."""

    metrics: TransferMetrics
    predictions: Predictions


@dataclass
class ComparisonRecord:
    """A written comparison: its rows, ensembles and runs (``os.fspath(record)`` is its folder). A workflow
    that just wrote it also hands back the analysis it rendered (``analysis``)."""

    folder: Path
    results: Results
    description: ComparisonDescription | None = None
    analysis: object | None = None  # emobench.evaluation.analysis.Comparison
    transfer_results: list | None = None  # emobench.evaluation.analysis.TransferResult, one per run
    budgets: object | None = None  # emobench.evaluation.analysis.BudgetAnalysis, when the study has data budgets
    noise: object | None = None  # emobench.evaluation.analysis.NoiseAnalysis, when the test split was audited
    files: Folder | None = field(default=None, repr=False)

    def __fspath__(self) -> str:
        return str(self.folder)

    def run_dirs(self) -> list[Path]:
        return [resolve_run(self.folder, row.run) for row in self.results.runs]

    @classmethod
    def load(cls, folder: str | Path, allow_modified: bool = False,
             regenerated: tuple[str, ...] = ()) -> "ComparisonRecord":
        """``regenerated``: outputs about to be rendered again, not verified (see :class:`~emobench.manifest.Folder`)."""
        folder = Path(folder)
        if not (folder / RESULTS).is_file():
            raise RecordError(f"{folder}: not a comparison directory (no {RESULTS})")
        files = Folder(folder, "comparison", allow_modified, regenerated=regenerated)
        results = validate(Results, files.read_json(RESULTS, "comparison results"), folder / RESULTS)
        description = None
        if files.has(COMPARISON):
            description = validate(ComparisonDescription, files.read_json(COMPARISON, "comparison description"),
                                   folder / COMPARISON)
        return cls(folder, results, description, files=files)

    def load_runs(self, allow_modified: bool = False) -> list[RunRecord]:
        """Every compared run, validated, and each the run the comparison was written from."""
        runs = []
        for i, row in enumerate(self.results.runs):
            run_dir = resolve_run(self.folder, row.run, f"{self.folder / RESULTS}: field runs[{i}].run")
            run = RunRecord.load(run_dir, allow_modified)
            manifest = run_dir / MANIFEST
            if row.run_manifest is not None and not allow_modified:
                check(manifest.is_file() and sha256_of(manifest) == row.run_manifest, self.folder / RESULTS,
                      f"runs[{i}].run_manifest", f"{run_dir} is not the run this comparison was written from (its "
                      "manifest changed)")
            test = run.metrics.splits.get("test")
            check(test is not None and abs(test.accuracy - row.accuracy) <= 1e-9 and abs(test.macro.f1 - row.macro_f1) <= 1e-9,
                  self.folder / RESULTS, f"runs[{i}]", f"the scores ({row.accuracy}, {row.macro_f1}) are not those of "
                  f"{run_dir}'s test split")
            _check_row(row, run, test.as_dict(), self.folder / RESULTS, f"runs[{i}]", run_dir)
            runs.append(run)
        return runs

    def transfer(self, run_names: list[str]) -> dict[str, TransferScores] | None:
        """The transfer scores written earlier (for re-rendering), each checked against its predictions."""
        if self.files is None or not self.files.has(TARGET):
            return None
        read_target(self.files)
        out = {}
        for name in run_names:
            scores = read_transfer(self.files, name)
            if scores is not None:
                out[name] = scores
        return out


def _check_row(row: ResultRow, run: RunRecord, test: dict, where: Path, field: str, run_dir: Path) -> None:
    """Everything a results row copies from its run (seed, task, test size, every average and per-class score) is the
    run's: the tables a report renders from results.json are those of the runs it names."""
    values = row.model_dump(mode="json")
    expected = {"seed": run.config.seed, "task": run.data.task, "n_test": test["n"]}
    for average in ("micro", "macro", "weighted", "samples"):
        for k in ("precision", "recall", "f1"):
            if average in test:
                expected[f"{average}_{k}"] = test[average][k]
    for key in ("subset_accuracy", "hamming_loss", "jaccard"):
        if key in test:
            expected[key] = test[key]
    for key, value in expected.items():
        if key not in values:
            continue
        given = values[key]
        same = given == value if isinstance(value, str) or value is None else (
            isinstance(given, int | float) and not isinstance(given, bool) and abs(given - value) <= 1e-9)
        check(same, where, f"{field}.{key}", f"{shorten(given)} recorded, but {run_dir} gives {value!r}")
    check(sorted(row.per_class) == sorted(test["per_class"]), where, f"{field}.per_class",
          f"labels {shorten(list(row.per_class))}, but {run_dir}'s test split scores {list(test['per_class'])}")
    for label, scores in test["per_class"].items():
        for k in ("precision", "recall", "f1", "support"):
            given = row.per_class[label].get(k)
            same = isinstance(given, int | float) and not isinstance(given, bool) and abs(given - scores[k]) <= 1e-9
            check(same, where, f"{field}.per_class.{label}.{k}", f"{shorten(given)} recorded, but {run_dir} gives "
                  f"{scores[k]!r}")




def resolve_run(folder: Path, value: str, where: str | None = None) -> Path:
    """A run a comparison names: inside it (relative) or, for finished runs compared, absolute."""
    if os.path.isabs(value):
        return Path(value)
    return folder / relative_name(value, where or f"{folder / RESULTS}: a run")


def transfer_names(name: str) -> tuple[str, str]:
    return f"{TRANSFER_DIR}/{name}.json", f"{TRANSFER_DIR}/{name}.csv"


def read_transfer(files: Folder, name: str) -> TransferScores | None:
    metrics_file, predictions_file = transfer_names(name)
    if not files.has(metrics_file):
        return None
    metrics = validate(TransferMetrics, files.read_json(metrics_file, "transfer metrics"), files.root / metrics_file)
    labels, without = metrics.transfer.shared_labels, metrics.transfer.labels_without_texts
    check(set(without) <= set(labels), files.root / metrics_file,
          "transfer.labels_without_texts", "expected shared labels")
    scored = [name for name in labels if name not in without]
    check(sorted(scored) == sorted(metrics.per_class), files.root / metrics_file, "transfer.shared_labels",
          "expected the shared labels (those with texts), as the per-class scores list them")
    metrics.per_class = {name: metrics.per_class[name] for name in scored}  # a JSON object's keys have no order
    predictions = read_predictions(files, predictions_file, labels)
    check(len(predictions) == metrics.n, files.root / predictions_file, "rows",
          f"{len(predictions)} rows, but the metrics count {metrics.n} texts")
    from .run import check_metrics

    check_metrics(predictions, metrics, labels, files.root / metrics_file, "", predictions_file, scored)
    return TransferScores(metrics, predictions)


def write_target(folder: Path, dataset: dict, source: DataSource | dict, split: str) -> TransferTarget:
    source = source.dump() if isinstance(source, DataSource) else source
    target = validate(TransferTarget, json.loads(json_text({"dataset": dataset, "source": source, "split": split})),
                      "the transfer target being saved")
    write_text_atomic(folder / TARGET, json_text(target.dump()))
    return target


def read_target(files: Folder) -> TransferTarget:
    return validate(TransferTarget, files.read_json(TARGET, "transfer target"), files.root / TARGET)


def write_description(folder: Path, description: dict) -> None:
    validate(ComparisonDescription, description, "the comparison description being saved")
    write_text_atomic(folder / COMPARISON, json_text(description))


def read_description(folder: Path, allow_modified: bool = False) -> ComparisonDescription | None:
    """comparison.json of a comparison being continued (its runs are checked one by one when reused)."""
    if not (folder / COMPARISON).is_file():
        return None
    files = Folder(folder, "comparison", allow_modified, note_unverified=False)
    return validate(ComparisonDescription, files.read_json(COMPARISON, "comparison description"), folder / COMPARISON)


def write_statistics(folder: Path, facts: dict) -> Statistics:
    """statistics.json, refused where a claim's direction is not that of the scores it names."""
    statistics = parse_statistics(json_text(facts), "the statistics being saved")
    check_claims(facts)
    write_text_atomic(folder / STATISTICS, json_text(facts))
    return statistics


def _claim(condition: bool, field: str, message: str) -> None:
    if not condition:
        raise RecordError(f"the statistics being saved: field {field}: {message}; a sentence of the report would be false")


def _ahead(first: float, second: float, metric: str) -> bool:
    from ..evaluation.statistics import LOWER_IS_BETTER

    return first < second if metric in LOWER_IS_BETTER else first > second


def check_claims(facts: dict) -> None:
    """Every significant paired test names as better the model with the better score on the test's own metric, and
    every verdict against the baseline points the way its scores do: a report never claims a gap the other way round."""
    comparison = facts.get("comparison") or {}
    for key in ("tests", "accuracy_tests"):
        for i, t in enumerate(comparison.get(key) or []):
            if t.get("score_a") is None:
                continue
            expected = None
            if t["significant"]:
                expected = t["a"] if _ahead(t["score_a"], t["score_b"], t["metric"]) else t["b"]
            _claim(t["better"] == expected, f"comparison.{key}[{i}].better", f"{t['better']!r}, but the "
                   f"{t['metric']} scores ({t['score_a']}, {t['score_b']}) make it {expected!r}")
    budgets = facts.get("budgets") or {}
    checks = [(f"comparison.against_baseline[{i}]", a) for i, a in enumerate(comparison.get("against_baseline") or [])]
    checks += [(f"budgets.against_baseline.{b}[{i}]", a) for b, found in (budgets.get("against_baseline") or {}).items()
               for i, a in enumerate(found)]
    for where, a in checks:
        if a.get("score") is None or a["verdict"] == "not significantly above":
            continue
        ahead = _ahead(a["score"], a["baseline_score"], a["metric"])
        _claim(ahead == (a["verdict"] == "above"), f"{where}.verdict", f"{a['verdict']!r}, but the "
               f"{a['metric']} scores are {a['score']} against the baseline's {a['baseline_score']}")
    for i, w in enumerate(budgets.get("winners") or []):
        _claim(not w["significant"] or w.get("tested_better") == w["best"], f"budgets.winners[{i}].significant",
               f"the best model {w['best']!r} is called significantly ahead, but the test finds {w.get('tested_better')!r}")


def write_results(folder: Path, rows: list[dict], ensembles: list[list[str]],
                  skipped: list[SkippedRun] = ()) -> Results:
    """results.json, and results.csv with the same rows flattened (per-class and transfer values as dotted columns);
    the runs a study skipped are in results.json only (results.csv holds scores)."""
    results = validate(Results, {"runs": rows, "ensembles": ensembles, "skipped": [s.model_dump() for s in skipped]},
                       "the comparison results being saved")
    write_text_atomic(folder / RESULTS, json_text(results.model_dump(mode="json")))
    flat = [_csv_row(row) for row in rows]
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(dict.fromkeys(k for row in flat for k in row)))
    writer.writeheader()
    writer.writerows(flat)
    write_text_atomic(folder / RESULTS_CSV, out.getvalue())
    return results


def _csv_row(row: dict) -> dict:
    flat = {k: v for k, v in row.items() if k not in ("per_class", "transfer")}
    for cls, values in row["per_class"].items():
        for k, v in values.items():
            flat[f"per_class.{cls}.{k}"] = v
    for k, v in (row.get("transfer") or {}).items():
        if isinstance(v, int | float | str):
            flat[f"transfer.{k}"] = v
    return flat



__all__ = ["ComparisonRecord", "ComparisonDescription", "Results", "ResultRow", "SkippedRun", "TransferScores", "MetricsRecord",
           "TransferTarget", "Statistics", "COMPARISON", "RESULTS", "STATISTICS", "TRANSFER_DIR", "TARGET", "transfer_names",
           "write_target", "read_target", "write_description",
           "read_description", "write_results", "resolve_run"]
