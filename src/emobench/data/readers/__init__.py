"""Dataset readers behind one protocol: a reader turns a :class:`DatasetConfig` into a :class:`Corpus`.

The registry maps dataset names to reader modules (imported when used); a name that is not registered is
a user file (CSV/TSV/JSONL). A new dataset is one file in this package and one entry in ``READERS``.
"""
from __future__ import annotations

import codecs
import importlib
import re
import warnings
from pathlib import Path
from typing import Protocol

from ...errors import DataError, EmobenchError, option
from ..config import DatasetConfig
from ..corpus import Corpus
from ..registry import DEFAULT_DATASET, READERS, DatasetEntry, dataset_entry
from .common import FORMATS, DataChecksumWarning, DataWarning, resolve_data_root


class Reader(Protocol):
    def load(self, config: DatasetConfig) -> Corpus: ...


def load_dataset(config: DatasetConfig | str | None = None, require_train: bool = True, **overrides) -> Corpus:
    """Load a corpus by name ("emotion", "isear") or from a user file, as the config says. Warnings about
    the data are shown and recorded in ``corpus.source.warnings``. ``require_train=False``: data that is only
    scored (another dataset, a labelled file) needs no training split."""
    if config is None or isinstance(config, str):
        config = DatasetConfig(name=config or DEFAULT_DATASET)
    if overrides:
        config = DatasetConfig(**{**config.to_dict(), **overrides})
    check_config(config)
    reader = importlib.import_module(f"{__name__}.{READERS[config.reader].module}")
    if config.hf_config is not None and not READERS[config.reader].by_id:
        raise EmobenchError(f"{option('hf_config')} applies to a hub dataset (--dataset hf:OWNER/NAME)")
    if not config.user_file and ":" in config.name and not getattr(reader, "VARIANTS", None) \
            and not READERS[config.reader].by_id:
        raise EmobenchError(f"dataset {config.reader!r} has no variants; expected {config.reader!r}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        corpus = reader.load(config)
        if config.label_map:
            from ..labelmap import apply_label_map

            corpus = apply_label_map(corpus, config.label_map, config.label_map_name or option("label_map"))
        if config.limit is not None:
            corpus = limited(corpus, config.limit, config.split_seed)
        full_train = corpus.splits.get("train")
        if config.train_size is not None:
            from ..budgets import apply_budget

            corpus = apply_budget(corpus, config.train_size, config.budget_seed, config.budget_validation)
        if require_train and (config.unlabeled or config.label_descriptions):
            from ..unlabeled import with_fit_inputs

            corpus = with_fit_inputs(corpus, config, full_train)
        failed = None
        try:
            check_corpus(corpus, require_train, config)
        except DataError as exc:
            failed = exc
    for w in caught:  # shown again to the caller, and kept with the data
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if failed is not None:
        raise failed
    corpus.source = corpus.source.updated(
        warnings=[str(w.message) for w in caught if issubclass(w.category, DataWarning)],
        reader_version=getattr(reader, "VERSION", 1), config=config.resolved().to_dict())
    return corpus


def limited(corpus: Corpus, n: int, seed: int) -> Corpus:
    """Every split cut to at most ``n`` texts (``--limit``): a seeded random sample that first takes one text of each
    label (multi-label: of each text's first label) while there is room, so that a quick try still sees every label."""
    import numpy as np

    cut = {}
    for name, split in corpus.splits.items():
        if len(split) <= n:
            cut[name] = split
            continue
        order = np.random.default_rng(seed).permutation(len(split))
        key = (lambda y: y[0] if len(y) else -1) if corpus.multi_label else (lambda y: y)
        first, seen = [], set()
        for i in order:
            if key(split.labels[i]) not in seen:
                seen.add(key(split.labels[i]))
                first.append(int(i))
        chosen = first[:n]
        taken = set(chosen)
        chosen += [int(i) for i in order if int(i) not in taken][: n - len(chosen)]
        cut[name] = split.subset(sorted(chosen))
    if any(len(cut[k]) < len(v) for k, v in corpus.splits.items()):
        warnings.warn(f"a quick try ({option('limit')} {n}): every split cut to at most {n} texts "
                      f"({', '.join(f'{k} {len(cut[k])} of {len(v)}' for k, v in corpus.splits.items())}); the scores are "
                      "a sample's, not the dataset's", DataWarning, stacklevel=2)
    return Corpus(corpus.name, corpus.label_names, cut, corpus.source, corpus.multi_label, corpus.unlabeled,
                  corpus.descriptions)


def check_config(config: DatasetConfig, recorded: bool = False) -> None:
    """A dataset configuration, as given (``recorded``: as a run recorded it, whose input files may be gone since)."""
    if not isinstance(config.name, str) or not config.name.strip():
        raise EmobenchError("no dataset given; expected emotion, isear, or a CSV/TSV/JSONL file")
    total = sum(config.split_fractions.values())
    if abs(total - 1) > 1e-6 or any(f <= 0 for f in config.split_fractions.values()):
        raise EmobenchError(f"split fractions {config.split_fractions}: expected positive shares summing to 1")
    for name in ("split_seed", "budget_seed"):  # numpy's seeds
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**32 - 1:
            raise EmobenchError(f"{option(name)} {value!r}: expected a seed from 0 to {2**32 - 1:,}")
    if config.label_names:
        names = [str(n).strip() for n in config.label_names]
        other = next(((i, n) for i, n in enumerate(names) if n.isdigit() and n != str(i)), None)
        if other is not None:  # "1,0": would the label 1 be the name "1" (id 0) or the id 1 (the name "0")?
            raise EmobenchError(f"{option('label_names')} {','.join(names)}: {other[1]!r} at position {other[0]} is the "
                                "integer id of another label; names in id order must not be other labels' ids")
    if config.label_separator is not None and (not config.label_separator or config.label_separator.isalnum()):
        raise EmobenchError(f"{option('label_separator')} {config.label_separator!r}: expected a separator such as ',' or '|'")
    if config.dataset_name is not None:
        if not config.user_file:
            raise EmobenchError(f"{option('dataset_name')} names your own data files; {config.name!r} has its name")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}", config.dataset_name):
            raise EmobenchError(f"{option('dataset_name')} {config.dataset_name!r}: expected a short plain name (letters, "
                                "digits, '.', '_', '-', '+'; at most 64 characters)")
    if config.data_format is not None and config.data_format not in FORMATS:
        raise EmobenchError(f"{option('data_format')} {config.data_format!r}: expected one of {', '.join(FORMATS)}")
    _check_encodings(config)
    _check_label_columns(config)
    _check_fit_inputs(config)
    _check_cleaning_and_budget(config, recorded)


def _check_encodings(config: DatasetConfig) -> None:
    for split, codec in {"": config.encoding, **config.encodings}.items():
        try:
            if not codecs.lookup(codec)._is_text_encoding:  # base64, rot13, zip: bytes-to-bytes, not a text encoding
                raise LookupError(codec)
        except (LookupError, TypeError, ValueError):  # ValueError: a name with a NUL character
            shown = codec if isinstance(codec, str) and codec.isprintable() and codec.strip() == codec and codec else \
                repr(codec)
            raise EmobenchError(f"{option('encoding')} {split + '=' if split else ''}{shown}: unknown encoding {codec!r}; "
                                "expected a Python codec name such as utf-8, cp1252, latin-1") from None
    for name, value in (("encoding", config.encodings), ("data_format", config.data_format)):
        if value and not config.user_file:
            what = "per-file encodings apply" if name == "encoding" else f"{option(name)} applies"
            raise EmobenchError(f"{what} to your own data files; {config.name!r} has its own format")


def _check_fit_inputs(config: DatasetConfig) -> None:
    from ..descriptions import check_descriptions_option
    from ..unlabeled import check_unlabeled

    check_unlabeled(config.unlabeled, config.train_size, budgeted_later=True)  # rest alone: refused where it is read
    check_descriptions_option(config.label_descriptions)


def _check_label_columns(config: DatasetConfig) -> None:
    if config.label_columns is not None and not config.user_file:
        raise EmobenchError(f"{option('label_columns')} applies to your own data files, not to {config.name!r}")
    if isinstance(config.label_columns, list):
        if len(config.label_columns) < 2 or len(set(config.label_columns)) != len(config.label_columns) \
                or not all(isinstance(c, str) and c.strip() for c in config.label_columns):
            raise EmobenchError(f"{option('label_columns')} {','.join(map(str, config.label_columns))}: expected two or more "
                                "distinct column names (or all)")
        if config.label_names:
            raise EmobenchError(f"{option('label_names')} and {option('label_columns')}: with indicator columns the column "
                                "names are the labels")
    elif config.label_columns not in (None, "all"):
        raise EmobenchError(f"{option('label_columns')} {config.label_columns!r}: expected column names, or all")


def _check_cleaning_and_budget(config: DatasetConfig, recorded: bool) -> None:
    if config.label_issues not in (None, "drop", "relabel"):
        raise EmobenchError(f"{option('label_issues')} {config.label_issues!r}: expected drop or relabel")
    if config.label_issues_from is not None:
        if config.label_issues is None:
            raise EmobenchError(f"{option('label_issues_from')} gives the flags {option('label_issues')} drop or relabel "
                                "acts on; give both")
        # a recorded run keeps the cleaned rows in data.json: its audit file may be gone since
        if not recorded and not Path(config.label_issues_from).expanduser().is_file():
            raise EmobenchError(f"{option('label_issues_from')} {config.label_issues_from}: no such file; expected a "
                                "saved audit (emobench data audit --label-issues --json FILE)")
    if config.label_corrections is not None:
        if config.label_issues is not None:
            raise EmobenchError(f"{option('label_corrections')} holds a reviewer's decisions on the flagged texts; "
                                f"{option('label_issues')} would flag and change them again; give one of the two")
        if not recorded and not Path(config.label_corrections).expanduser().is_file():
            raise EmobenchError(f"{option('label_corrections')} {config.label_corrections}: no such file; expected a "
                                "review's decisions (emobench review AUDIT writes AUDIT.corrections.json)")
    if config.train_size is not None:
        from ..budgets import parse_size

        parse_size(config.train_size)
    if config.budget_validation and config.train_size is None:
        raise EmobenchError(f"{option('budget_validation')} cuts the validation split like the training split; it needs "
                            f"{option('train_size')}")
    if config.text_column == config.label_column:
        raise EmobenchError(f"{option('text_column')} and {option('label_column')} are both {config.text_column!r}; expected two columns")


def check_corpus(corpus: Corpus, require_train: bool = True, config: DatasetConfig | None = None) -> None:
    files = corpus.source.file_names()
    where = files[0] if len(files) == 1 else corpus.name
    # one file per split: a problem of a split is named by its file (the dataset's name is no file)
    per_split = dict(config.files) if config is not None and config.user_file and config.files else {}

    def file_of(split: str):
        return per_split.get(split, where)

    if not require_train:
        if not any(len(split) for split in corpus.splits.values()):
            raise DataError("no examples", where)
        return
    budget = corpus.source.budget
    if budget is not None and budget.size == NO_LABELS:  # an empty training split asked for (zero-shot): nothing to check
        for name, split in corpus.splits.items():
            if name != "train" and not len(split):
                raise DataError(f"the {name} split is empty", file_of(name))
        return
    if "train" not in corpus.splits or not len(corpus["train"]):
        raise DataError(f"no training examples (splits found: {', '.join(n for n, s in corpus.splits.items() if len(s)) or 'none'})",
                        file_of("train"))
    for name, split in corpus.splits.items():
        if not len(split):
            raise DataError(f"the {name} split is empty", file_of(name))
    counts = corpus["train"].label_matrix(corpus.num_labels).sum(axis=0)
    present = [i for i, c in enumerate(counts) if c]
    if len(present) < 2:
        only = corpus.label_names[present[0]] if present else "none"
        raise DataError(f"the training data has one label only ({only!r}); a classifier needs at least two",
                        file_of("train"))
    if corpus.multi_label:
        never = [corpus.label_names[i] for i, c in enumerate(counts) if not c]
        if never:
            warnings.warn(f"{where}: labels never seen in training: {', '.join(never)} (they cannot be learnt)",
                          DataWarning, stacklevel=3)


from ..budgets import NONE as NO_LABELS  # noqa: E402
from .emotion import EMOTION_LABELS, load_emotion  # noqa: E402
from .isear import ISEAR_LABELS, load_isear  # noqa: E402
from .table import load_table  # noqa: E402

__all__ = ["DatasetConfig", "DataChecksumWarning", "DataWarning", "Reader", "READERS", "DatasetEntry", "dataset_entry",
           "DEFAULT_DATASET", "load_dataset",
           "resolve_data_root", "EMOTION_LABELS", "ISEAR_LABELS", "load_emotion", "load_isear", "load_table"]
