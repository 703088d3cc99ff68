"""Texts without labels as an input of their own (``--unlabeled FILE`` or ``--unlabeled rest``): read by the dataset
readers (data/readers/table.py), carried on the corpus as :class:`UnlabeledTexts`, and summarised for the run's
data.json as :class:`UnlabeledSource`. ``rest`` is the training texts a data budget left out: only their texts are
taken, never their labels (data/budgets.py hands over the texts alone)."""
from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field

from ..errors import EmobenchError, option
from ..schema import Count, Record

REST = "rest"  # --unlabeled rest: the training texts a data budget left out
# How a family uses the texts, said in data.json (the families that take them: models/registry.py FIT_INPUTS)
USE = "self-training pool"


class UnlabeledSource(Record):
    """data.json's ``unlabeled``: where the texts came from, their checksum and number, which validation and test texts
    are among them (scores on those splits are then transductive) and how the run's model used them."""

    source: str  # "rest" or "file"
    file: str | None = None  # the file read (absolute), None for rest
    sha256: str  # of the file's bytes; for rest, of the texts
    count: Count
    overlap: dict[str, Count] = Field(default_factory=dict)  # split -> its texts that are also unlabeled texts
    used_by: str | None = None  # the family that learnt from them
    use: str | None = None  # how (USE)


@dataclass(frozen=True)
class UnlabeledTexts:
    texts: list[str]
    source: str  # "rest" or "file"
    file: str | None
    sha256: str
    overlap: dict[str, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.texts)

    def record(self, family: str | None = None) -> UnlabeledSource:
        return UnlabeledSource(source=self.source, file=self.file, sha256=self.sha256, count=self.count,
                               overlap=dict(self.overlap), used_by=family, use=USE if family else None)

    def overlap_warning(self) -> str | None:
        if not self.overlap:
            return None
        shared = ", ".join(f"{n} {split}" for split, n in self.overlap.items())
        return (f"{shared} text(s) are also unlabeled texts ({option('unlabeled')} {self.file or REST}): scores on those "
                "splits are transductive (the model saw their texts, not their labels, while training)")


def check_unlabeled(value: str | None, train_size: str | None, *, budgeted_later: bool = False) -> None:
    """``--unlabeled`` as given: a file, or rest with a data budget (a comparison's budgets come later:
    ``budgeted_later``)."""
    if value is None:
        return
    if not isinstance(value, str) or not value.strip():
        raise EmobenchError(f"{option('unlabeled')} {value!r}: expected a text file (TXT, CSV, TSV, JSONL) or rest")
    if value == REST and train_size is None and not budgeted_later:
        raise EmobenchError(f"{option('unlabeled')} rest is the training texts a data budget leaves out; it needs "
                            f"{option('train_size')} (or compare's {option('train_sizes')} without all)")


def texts_digest(texts: list[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8") + b"\n")
    return digest.hexdigest()


def _overlap(texts: list[str], corpus) -> dict[str, int]:
    pool = set(texts)
    counts = {name: sum(1 for t in corpus.splits[name].texts if t in pool)
              for name in ("validation", "test") if name in corpus.splits}
    return {name: n for name, n in counts.items() if n}


def unlabeled_texts(config, corpus, rest: list[str] | None = None) -> UnlabeledTexts | None:
    """The unlabeled texts the configuration asks for, given the corpus they go with (and, for rest, the texts its
    budget left out); their overlap with the validation and test texts is warned about and kept."""
    from .readers.common import DataWarning

    if config.unlabeled is None or (config.unlabeled == REST and rest is None):
        return None
    if config.unlabeled == REST:
        texts, file, source, digest = list(rest), None, REST, texts_digest(rest)
        if not texts:
            raise EmobenchError(f"{option('unlabeled')} rest: the data budget leaves no training text out")
    else:
        from .readers.table import read_texts

        path = Path(config.unlabeled).expanduser()
        texts, digest = read_texts(path, config, option("unlabeled"))
        file, source = str(path.resolve()), "file"
    made = UnlabeledTexts(texts, source, file, digest, _overlap(texts, corpus))
    message = made.overlap_warning()
    if message:
        warnings.warn(message, DataWarning, stacklevel=2)
    return made


def with_rest(corpus, config, full_train):
    """The budgeted corpus with ``--unlabeled rest``: the texts of ``full_train`` (the split before the budget) its
    budget left out. Only their texts are taken (data/budgets.py left_out_texts)."""
    from dataclasses import replace

    from .budgets import left_out_texts

    if config.unlabeled != REST or corpus.source.budget is None or full_train is None:
        return corpus
    rest = left_out_texts(full_train, corpus.source.budget.rows.get("train", []))
    return replace(corpus, unlabeled=unlabeled_texts(config, corpus, rest))


def with_fit_inputs(corpus, config, full_train=None):
    """The corpus with what the configuration gives besides labelled texts: its unlabeled texts (a file, or rest of
    ``full_train``) and label descriptions."""
    from dataclasses import replace

    from .descriptions import read_descriptions

    if config.unlabeled == REST and config.train_size is None:
        check_unlabeled(config.unlabeled, None)
    descriptions = read_descriptions(config.label_descriptions, corpus.label_names, config.encoding) \
        if config.label_descriptions else None
    unlabeled = unlabeled_texts(config, corpus) if config.unlabeled not in (None, REST) else None
    return with_rest(replace(corpus, unlabeled=unlabeled, descriptions=descriptions), config, full_train)
