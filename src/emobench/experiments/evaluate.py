"""Evaluating a run: its metrics on a split while it is trained, and afterwards on its own dataset's split (the data
verified first), on a labelled file, or on another dataset (on the labels both share, see :mod:`.transfer`)."""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..data import Corpus, DatasetConfig, Split, load_dataset
from ..errors import EmobenchError, option
from ..evaluation import classification_report_text, compute_metrics
from ..evaluation.metrics import SplitMetrics
from ..files import check_output_file
from ..models.base import Classifier, load_model
from ..records.run import RunRecord, RunWriter, gold_names, write_evaluation
from ..records.transfer import TransferReport
from .data_checks import recorded_corpus, verify_data


def evaluate_split(model: Classifier, split: Split, writer: RunWriter | None = None, name: str = "test",
                   batch_size: int = 256) -> SplitMetrics:
    """Metrics of ``model`` on ``split``, timing included; with a ``writer``, the per-example predictions too."""
    from ..evaluation.calibration import calibration_scores

    started = time.perf_counter()
    logits = model.logits_batched(split.texts, batch_size)
    probs = model.probabilities(logits / model.temperature)
    predicted = model.decide(probs)
    seconds = time.perf_counter() - started
    truth = model.truth(split)
    metrics = compute_metrics(truth, predicted, model.label_names)
    metrics.eval_seconds = seconds
    metrics.examples_per_second = len(split) / seconds if seconds > 0 else None
    if len(split):  # how honest the probabilities are, before and after temperature scaling
        metrics.calibration = {"temperature": model.temperature,
                                  "before": calibration_scores(model.probabilities(logits), truth),
                                  "after": calibration_scores(probs, truth)}
    if writer is not None:
        writer.predictions(name, split.texts, gold_names(split, model.label_names), probs, predicted, model.label_names)
    return metrics


@dataclass
class Evaluation:
    """What ``evaluate_run`` returns: the metrics, the per-class report as text, and what it scored on."""

    metrics: SplitMetrics
    report: str
    scored: str  # the split, file or dataset
    transfer: TransferReport | None = None  # for another dataset: shared labels, dropped texts, majority rate
    data_changes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return self.metrics.n


# The reading options a labelled file inherits from the run's own data unless they are given; a group is inherited
# whole or not at all (named columns given for a file with a header do not inherit the run's "no header").
INHERITED_READING = (("text_column", "label_column", "header", "label_columns"), ("label_separator",), ("label_names",))


def file_config(recorded: DatasetConfig, data_file: str | Path, options: dict | None = None) -> DatasetConfig:
    """How to read a labelled file to score a run on: ``options`` (DatasetConfig fields) as given, the run's own
    reading options (columns, header, label separator or columns, label names) for the rest."""
    options = dict(options or {})
    unknown = sorted(set(options) - {f.name for f in dataclasses.fields(DatasetConfig)})
    if unknown:
        raise EmobenchError(f"{unknown[0]!r} is not a dataset option")
    if "name" in options or "files" in options:
        raise EmobenchError("the file to evaluate on is data_file")
    inherited = {k: getattr(recorded, k) for group in INHERITED_READING if not set(group) & set(options) for k in group}
    if not recorded.user_file:  # a built-in dataset's own reading options say nothing about a user file
        inherited = {}
    return DatasetConfig(**{**inherited, **options, "name": str(data_file)})


def scoring_data(config: DatasetConfig, split: str | None = None) -> tuple[Corpus, str]:
    """Data that is only scored, never trained on, and the split to score: its own ``split`` (default: test) when
    it has splits of its own (a dataset that ships them, split files, a split column), else every text (split
    "all": a generated split would score a random tenth of what no model has seen)."""
    from ..data.registry import dataset_entry

    own = dataset_entry(config.name).ships_splits or bool(config.files) or bool(config.split_column)
    if not own:
        if split not in (None, "all"):
            where = config.name if config.user_file else config.short_name
            raise EmobenchError(f"{where} has no splits of its own, so every text is scored; leave out {option('split')} "
                                f"(or give a {option('split_column')})")
        config = dataclasses.replace(config, split_fractions={"all": 1.0})
    corpus = load_dataset(config, require_train=False)
    split = split or ("test" if own else "all")
    corpus[split]  # noqa: B018 -- an unknown split is a clear error naming the splits there are
    if not len(corpus[split]):
        raise EmobenchError(f"the {split} split of {corpus.name} has no texts")
    return corpus, split


def evaluate_run(run_dir: str | Path, split: str | None = None, data_file: str | None = None,
                 dataset: DatasetConfig | None = None, data_dir: str | None = None, allow_changed_data: bool = False,
                 allow_modified: bool = False, json_out: Path | None = None, **file_options) -> Evaluation:
    """Re-evaluate a saved run: on its own dataset's ``split`` (the recorded checksums are verified first), on a
    labelled file (``data_file``, read with the run's column names and label options unless ``file_options`` --
    any :class:`DatasetConfig` field, e.g. ``header=False``, ``label_map=...`` -- say otherwise), or on another
    dataset (``dataset``). A file or another dataset is scored on the labels it shares with the run: texts whose
    labels the run does not know are dropped and counted (see :func:`transfer_evaluate`). ``json_out``: a file the
    metrics are also written to."""
    if json_out is not None:
        check_output_file(json_out, "json_out")
    run = RunRecord.load(run_dir, allow_modified)
    model = load_model(run_dir, allow_modified)
    if data_file is not None and dataset is not None:
        raise EmobenchError(f"give {option('data_file')} or {option('dataset')}, not both")
    if file_options and data_file is None:
        raise EmobenchError(f"{', '.join(sorted(file_options))}: reading options apply to {option('data_file')}")
    if data_file is not None or dataset is not None:
        if allow_changed_data:
            raise EmobenchError(f"{option('allow_changed_data')} applies to the run's own dataset")
        result = _evaluate_elsewhere(run, model, split, data_file, dataset, file_options)
    else:
        result = _evaluate_own(run, model, Path(run_dir), split, data_dir, allow_changed_data)
    if json_out is not None:
        write_evaluation(json_out, result.metrics)
    return result


def _evaluate_elsewhere(run: RunRecord, model: Classifier, split: str | None, data_file: str | None,
                        dataset: DatasetConfig | None, file_options: dict) -> Evaluation:
    from .transfer import transfer_evaluate

    config = file_config(run.dataset_config(), data_file, file_options) if data_file is not None else dataset
    if data_file is None and same_dataset(config, run.dataset_config()):
        raise EmobenchError(f"{config.name} is the run's own dataset; leave out {option('dataset')} to score its "
                            f"{split or 'test'} split (the other splits were trained or tuned on)")
    if data_file is not None:  # a file speaks the run's labels (and may have others, which are counted)
        config = dataclasses.replace(config, label_order=list(run.labels))
    corpus, split = scoring_data(config, split)
    scored = transfer_evaluate(model, corpus, split)
    metrics = scored.metrics
    metrics.transfer = scored.transfer  # carried after the scores, as the JSON has it
    return Evaluation(metrics, classification_report_text(metrics), scored_description(corpus, split), scored.transfer)


def _evaluate_own(run: RunRecord, model: Classifier, run_dir: Path, split: str | None, data_dir: str | None,
                  allow_changed_data: bool) -> Evaluation:
    own = run.dataset_config()
    if data_dir:
        own.data_dir = data_dir  # the same files, found elsewhere (checksums are verified)
    corpus = recorded_corpus(own, run.data, inputs=False)
    split = split or "test"
    data = corpus[split]
    changes = verify_data(run.data, corpus, run_dir, allow_changed_data)
    metrics = evaluate_split(model, data)
    metrics.data_verified = not changes
    if changes:
        metrics.data_changes = changes
    return Evaluation(metrics, classification_report_text(metrics), split, data_changes=changes)


def same_dataset(a: DatasetConfig, b: DatasetConfig) -> bool:
    ra, rb = a.resolved(), b.resolved()
    return (ra.name, ra.files, ra.label_map) == (rb.name, rb.files, rb.label_map)


def scored_description(corpus: Corpus, split: str) -> str:
    """"the test split of goemotions:ekman (test.tsv)", "every text of meld (meld.csv)": what a score is about."""
    files = [Path(f).name for f in corpus.source.file_names()]
    what = f"every text of {corpus.name}" if split == "all" else f"the {split} split of {corpus.name}"
    return what + (f" ({', '.join(files)})" if files and len(files) <= 3 else "")
