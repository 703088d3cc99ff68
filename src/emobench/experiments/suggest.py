"""Which texts to label next: a saved model scores a file of unlabelled texts, and the texts whose labels would help it
most are listed (evaluation/active.py chooses; records/suggestions.py holds the answer and writes the CSV)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ..errors import EmobenchError, option
from ..evaluation.active import DEFAULT_STRATEGY, POOL_FACTOR, SCORES, check_strategy, select
from ..files import check_output_file
from ..records.suggestions import Suggestion, Suggestions, check_new_file

# The dataset options that say how a file of texts is read (the rest are about labels and splits).
FILE_OPTIONS = ("text_column", "header", "encoding", "data_format", "drop_placeholders")


def suggest(model: str | Path, unlabeled: str | Path, n: int = 50, strategy: str = DEFAULT_STRATEGY, *, seed: int = 0,
            output: str | Path | None = None, force: bool = False, allow_modified: bool = False,
            pool_factor: int = POOL_FACTOR, **file_options) -> Suggestions:
    """The ``n`` texts of the file ``unlabeled`` whose labels would help ``model`` (a run, saved model or ONNX export,
    checked as ``predict`` checks it) most, by ``strategy`` (diverse: uncertain and unlike each other; margin; entropy;
    random, the control). The file is read as every dataset file is: ``file_options`` are DatasetConfig's
    ``text_column``, ``header``, ``encoding``, ``data_format``, ``drop_placeholders``. A text repeated in the file is
    suggested once. ``output``: also a CSV to label (refused if it exists, unless ``force``), checked before any work."""
    _check_arguments(n, strategy, seed, pool_factor)
    if output is not None:
        check_output_file(output, "output")
        check_new_file(Path(output), force)
        if Path(unlabeled).exists() and Path(output).resolve() == Path(unlabeled).resolve():
            raise EmobenchError(f"{option('output')} must not be the {option('unlabeled')} file")
    scorer = load_scorer(model, allow_modified)
    texts, digest = read_unlabeled(unlabeled, file_options)
    distinct = list(dict.fromkeys(texts))  # first occurrences, in the file's order
    probs = score_texts(scorer, distinct, unlabeled)
    thresholds = np.asarray(scorer.decision.thresholds) if scorer.multi_label else None
    chosen = select(probs, distinct, n, strategy, seed=seed, thresholds=thresholds, pool_factor=pool_factor)
    decided = scorer.decide(probs[chosen.indices])
    items = [Suggestion(rank=rank, text=distinct[i], predicted=_labels(scorer, choice),
                        probability=float(np.clip(probs[i].max(), 0, 1)), score=float(score))
             for rank, (i, choice, score) in enumerate(zip(chosen.indices, decided, chosen.scores), start=1)]
    result = Suggestions(model=str(model), family=scorer.family, labels=list(scorer.label_names),
                         task="multi_label" if scorer.multi_label else "single_label", source=str(unlabeled),
                         sha256=digest, strategy=strategy, score=SCORES[strategy], seed=seed, requested=n,
                         texts=len(texts), distinct=len(distinct), pool=chosen.pool,
                         notes=_notes(n, len(texts), len(distinct)), suggestions=items)
    if output is not None:
        result.write_csv(output, force)
    return result


def _check_arguments(n, strategy, seed, pool_factor) -> None:
    for name, value, low in (("n", n, 1), ("seed", seed, 0), ("pool_factor", pool_factor, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise EmobenchError(f"{option(name)} {value!r}: expected a whole number of at least {low}")
    check_strategy(strategy)


def _notes(n: int, read: int, distinct: int) -> list[str]:
    notes = []
    if read > distinct:
        notes.append(f"{read - distinct} repeated text(s) in the file: each distinct text is suggested once")
    if n > distinct:
        notes.append(f"{n} texts asked for, but the file has {distinct} distinct texts: all of them are listed, ranked")
    return notes


def _labels(scorer, choice) -> list[str]:
    if scorer.multi_label:
        return [scorer.label_names[k] for k in np.flatnonzero(choice)]
    return [scorer.label_names[int(choice)]]


def load_scorer(model: str | Path, allow_modified: bool = False):
    """The model behind ``model`` with every check ``predict`` makes: an ONNX export on ONNX Runtime, a run or saved
    model folder on its family's code."""
    from ..records.export import is_export

    path = Path(model)
    if str(path).endswith(".partial"):
        raise EmobenchError(f"{path}: an unfinished run or export; it cannot be used")
    if path.is_dir() and is_export(path):
        from ..models.onnx import OnnxModel

        return OnnxModel(path, allow_modified=allow_modified)
    from ..models import load_model

    return load_model(path, allow_modified)


def read_unlabeled(unlabeled: str | Path, file_options: dict) -> tuple[list[str], str]:
    """The file's texts and its sha256, read by the reader of every dataset file (data/readers/table.py)."""
    from ..data.config import DatasetConfig
    from ..data.readers.table import read_texts

    unknown = sorted(set(file_options) - set(FILE_OPTIONS))
    if unknown:
        raise EmobenchError(f"{unknown[0]!r}: not an option of the unlabelled file; expected {', '.join(FILE_OPTIONS)}")
    fields = {f.name for f in dataclasses.fields(DatasetConfig)}
    config = DatasetConfig(name=str(unlabeled), **{k: v for k, v in file_options.items() if k in fields})
    return read_texts(Path(unlabeled), config, option("unlabeled"))


def score_texts(scorer, texts: list[str], source) -> np.ndarray:
    """Every text's probabilities; a library failing on a text is an error naming the file, never a traceback."""
    try:
        return np.asarray(scorer.predict_proba_batched(texts), dtype=float)
    except (EmobenchError, KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - a tokenizer or runtime failure on some text
        raise EmobenchError(f"{source}: the model could not score its texts ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:200] if str(exc) else 'no detail'})") from None
