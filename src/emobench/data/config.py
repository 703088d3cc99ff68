"""What to read, as one typed value: :class:`DatasetConfig`, saved with every run. Its fields carry their
command-line options (flag, help, default, how a typed value becomes the field's), so the command line is
generated from here and says every default once. Imports nothing heavy: the command line reads it to describe
its options."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ..errors import EmobenchError
from ..params import Option, option_field
from .registry import DEFAULT_DATASET, READERS, USER_FILES

SEED = {"low": 0, "high": 2**32 - 1, "what": "a seed"}


def parse_files(value, flag: str, values: dict) -> dict:
    files = {k: values.get(f"{k}_file") for k in ("train", "validation", "test") if values.get(f"{k}_file")}
    return {"files": files}


def parse_label_names(value: str | None, flag: str, values: dict) -> dict:
    """``--label-names a,b,c``; a file path is refused with what to write instead."""
    if not value:
        return {"label_names": None}
    if Path(value).expanduser().is_file():
        raise EmobenchError(f"{flag} {value}: a file; expected the names themselves, comma-separated in id order "
                            f"(e.g. {flag} \"$(paste -sd, {value})\" for a file with one name per line)")
    return {"label_names": [n.strip() for n in value.split(",")]}


def parse_label_map(value: str | None, flag: str, values: dict) -> dict:
    from .labelmap import read_label_map

    return {"label_map": read_label_map(value), "label_map_name": value}


def parse_encoding(value: str, flag: str, values: dict) -> dict:
    """``--encoding cp1252`` for every file, or ``--encoding train=cp1252,test=utf-8`` file by file."""
    if "=" not in value:
        return {"encoding": value.strip(), "encodings": {}}
    out = {}
    for pair in value.split(","):
        split, sep, codec = (part.strip() for part in pair.partition("="))
        if not sep or split not in ("train", "validation", "test") or not codec:
            raise EmobenchError(f"{flag} {value!r}: expected an encoding (e.g. cp1252) or split=encoding pairs "
                                "(e.g. train=cp1252,test=utf-8) with the splits train, validation, test")
        if split in out:
            raise EmobenchError(f"{flag} {value!r}: {split} is given twice")
        out[split] = codec
    if not parse_files(None, "", values)["files"]:
        raise EmobenchError(f"{flag} {value!r}: encodings per split apply to one file per split (--train-file, "
                            "--validation-file, --test-file); give one encoding for one file")
    return {"encoding": "utf-8", "encodings": out}


def parse_label_columns(value: str | None, flag: str, values: dict) -> dict:
    if value is not None:
        value = "all" if value.strip() == "all" else [c.strip() for c in value.split(",")]
    return {"label_columns": value}


def parse_train_size(value: str | None, flag: str, values: dict) -> dict:
    from .budgets import parse_size

    return {"train_size": parse_size(value)}


def parse_validation_split(value: str | None, flag: str, values: dict) -> dict:
    """A share of the training file (0.01 to 0.5) held out as the validation split."""
    import re

    if value is None:
        return {"validation_split": None}
    # plain ASCII decimals only, as --train-size reads a share: no exponent, no other script's digits, no "nan"
    text = str(value).strip()
    share = float(text) if re.fullmatch(r"(0?\.[0-9]+|[0-9]+(\.[0-9]*)?)", text) and len(text) <= 30 else -1.0
    if not 0.01 <= share <= 0.5:
        raise EmobenchError(f"{flag} {value!r}: expected the share of the training file to hold out, from 0.01 to 0.5")
    return {"validation_split": share}


def parse_label_files(value, flag: str, values: dict) -> dict:
    return {"label_files": {k: values[f"{k}_labels"] for k in ("train", "validation", "test") if values.get(f"{k}_labels")}}


def _labels(split: str) -> Option:
    return Option(f"{split}_labels", f"the labels of --{split}-file, one per line, in a file of their own (TweetEval's "
                                     f"{split if split != 'validation' else 'val'}_labels.txt beside "
                                     f"{split if split != 'validation' else 'val'}_text.txt)", None, optional=True,
                  parse=parse_label_files)


def _file(split: str, help: str) -> Option:
    return Option(f"{split}_file", help, None, optional=True, parse=parse_files)


@dataclass
class DatasetConfig:
    """Everything needed to load the same data again; saved with every run."""

    name: str = DEFAULT_DATASET  # a registered dataset ("emotion", "isear", "goemotions[:ekman]"), or a CSV/TSV/JSONL file
    data_dir: str | None = option_field(Option("data_dir", "data root (default: $EMOBENCH_DATA)", optional=True),
                                        default=None)
    # User files: one file (with a split column or a generated split) or one file per split.
    files: dict[str, str] = option_field(_file("train", "training file (one file per split)"),
                                         _file("validation", "validation file"), _file("test", "test file"),
                                         default_factory=dict)
    # A hub dataset's configuration (--dataset hf:cardiffnlp/tweet_eval --hf-config emotion): data/readers/hub.py.
    hf_config: str | None = option_field(
        Option("hf_config", "with --dataset hf:OWNER/NAME: the dataset's configuration (e.g. emotion of tweet_eval)",
               optional=True), default=None)
    # Parallel label files: --train-file holds one text per line, --train-labels the label of each line.
    label_files: dict[str, str] = option_field(_labels("train"), _labels("validation"), _labels("test"),
                                               default_factory=dict)
    text_column: str = option_field(Option("text_column", "text column of your files (a position with --no-header)"),
                                    default="text")
    label_column: str = option_field(Option("label_column", "label column of your files"), default="label")
    split_column: str | None = option_field(
        Option("split_column", "split column: train / validation (val, dev) / test", optional=True), default=None)
    # explicit names, in id order (integer labels index this list)
    label_names: list[str] | None = option_field(
        Option("label_names", "comma-separated label names in id order (integer labels index it)", None, optional=True,
               parse=parse_label_names), default=None)
    label_order: list[str] | None = None  # labels known beforehand (a run's, when scoring it): first, in this order
    # several labels per text, e.g. "joy,love" (JSON lists need none)
    label_separator: str | None = option_field(
        Option("label_separator", "several labels per text, separated by this (e.g. ,): multi-label", optional=True),
        default=None)
    label_map: dict | None = option_field(  # target label -> [source labels], applied after reading
        Option("label_map", "JSON file {target: [source, ...]} (labels merged, renamed; others dropped), or "
                            "emotion-ekman / ekman-emotion", None, optional=True, parse=parse_label_map,
               also=("label_map_name",)), default=None)
    label_map_name: str | None = None  # where the map came from (a file or a built-in name), for messages
    header: bool = option_field(  # False: CSV/TSV columns are named by position, "1", "2", ...
        Option("no_header", "CSV/TSV without a header: columns are positions 1, 2, ...", False, kind=bool,
               parse=lambda value, flag, values: {"header": not value}), default=True)
    # Generated splits (ISEAR, files without splits).
    split_fractions: dict[str, float] = field(default_factory=lambda: {"train": 0.8, "validation": 0.1, "test": 0.1})
    split_seed: int = option_field(
        Option("split_seed", "seed of generated splits (ISEAR, files without splits)", kind=int, bounds=SEED), default=13)
    validation_split: float | None = option_field(
        Option("validation_split", "hold out this share of a training file (0.1) as the validation split, stratified and "
                                   "seeded by --split-seed, when your files have none", optional=True,
               parse=parse_validation_split), default=None)
    drop_placeholders: bool = option_field(
        Option("drop_placeholders", "drop placeholder texts such as '[ No response.]' (ISEAR, your files)", kind=bool),
        default=False)
    encoding: str = option_field(
        Option("encoding", "text encoding of your files (e.g. cp1252), or one per file: train=cp1252,validation=utf-8",
               parse=parse_encoding, also=("encodings",)), default="utf-8")
    encodings: dict[str, str] = field(default_factory=dict)  # per file (train / validation / test / all), over encoding
    data_format: str | None = option_field(  # for every file (default: each file's suffix)
        Option("data_format", "csv, tsv, jsonl or txt (text;label lines) for every file (default: each file's suffix)",
               optional=True), default=None)
    label_columns: list[str] | str | None = option_field(  # one 0/1 column per label (multi-label), or "all" other columns
        Option("label_columns", "multi-label data as one 0/1 column per label: the columns, comma-separated, or all "
                                "(every column but the text and split columns)", None, optional=True,
               parse=parse_label_columns), default=None)
    dataset_name: str | None = option_field(  # default: the file's stem
        Option("dataset_name", "what reports and folder names call your files (default: the file name)", optional=True),
        default=None)
    # A quick first try: every split cut to at most this many texts (data/readers/__init__.py), recorded and said.
    limit: int | None = option_field(
        Option("limit", "a quick first try: at most this many texts of each split, drawn at random (every label kept "
                        "where the split has room; seeded by --split-seed); recorded, and the scores said to be a sample's",
               optional=True, kind=int, bounds={"low": 10, "high": 10**9, "what": "texts"}), default=None)
    # A data budget: the training split cut to this many texts per class ("16"), this share ("0.1"), or None (all);
    # drawn with budget_seed, the validation split too with budget_validation (data/budgets.py).
    train_size: str | None = option_field(
        Option("train_size", "a data budget: training texts per class (16; 0: no labelled texts, for the families that "
                             "learn from none), a share (0.1), or all; a stratified "
                             "subsample drawn with --seed", optional=True, parse=parse_train_size), default=None)
    budget_seed: int = 0
    budget_validation: bool = option_field(
        Option("budget_validation", "cut the validation split like the training split (a small-data user has a small "
                                    "validation set too)", kind=bool), default=False)
    # Train without the texts confident learning flags in the training split ("drop"), or with the labels it suggests
    # ("relabel"): flagged on the training split only, or read from a saved audit (experiments/label_issues.py).
    label_issues: str | None = option_field(
        Option("label_issues", "drop or relabel: train without the training texts confident learning flags as likely "
                               "mislabelled, or with the labels it suggests", optional=True), default=None)
    label_issues_from: str | None = option_field(
        Option("label_issues_from", "the flags from a saved audit (data audit --label-issues --json) of the same "
                                    "training data, instead of computing them", optional=True), default=None)
    # A reviewer's decisions on an audit's flags (emobench review AUDIT -> AUDIT.corrections.json): the training rows
    # relabelled as decided (experiments/review.py), recorded in data.json like label_issues.
    label_corrections: str | None = option_field(
        Option("label_corrections", "a review's decisions (emobench review AUDIT writes AUDIT.corrections.json): train "
                                    "on the training labels the reviewer corrected", optional=True), default=None)

    # Texts without labels (data/unlabeled.py) and label descriptions (data/descriptions.py), for the families that
    # learn from them (models/registry.py FIT_INPUTS); files are read with the options above (columns, encoding).
    unlabeled: str | None = option_field(
        Option("unlabeled", "texts without labels for the families that learn from them: a file (TXT one text per "
                            "line, or CSV/TSV/JSONL's text column), or rest (the training texts --train-size left out, "
                            "labels never read)", optional=True), default=None)
    label_descriptions: str | None = option_field(
        Option("label_descriptions", "label -> short description for the families that learn from them: JSON "
                                     "{label: description} or label<TAB or comma>description lines (default: the "
                                     "label's name)", optional=True), default=None)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def short_name(self) -> str:
        """"emotion", "isear", a user file's ``dataset_name`` or its stem: names reports, runs and comparisons."""
        if self.user_file:
            return self.dataset_name or Path(self.name).stem
        if READERS[self.reader].by_id:  # hf:cardiffnlp/tweet_eval with --hf-config emotion: tweet_eval-emotion
            import re

            base = self.name.partition(":")[2].rstrip("/").split("/")[-1] or "hub"
            name = self.dataset_name or base + (f"-{self.hf_config}" if self.hf_config else "")
            return re.sub(r"[^\w.-]+", "_", name)
        return self.name.replace(":", "-")

    @property
    def reader(self) -> str:
        return self.name.partition(":")[0] if self.name.partition(":")[0] in READERS else USER_FILES

    @property
    def user_file(self) -> bool:
        """The data is the user's own file(s), read by the one reader of user files."""
        return self.reader == USER_FILES

    def resolved(self) -> "DatasetConfig":
        """The same data with absolute paths (a run records where its data really was)."""
        from .readers.common import resolve_data_root

        root = resolve_data_root(self.data_dir)
        changes = {"data_dir": str(root.resolve()) if root else None,
                   "files": {k: str(Path(v).expanduser().resolve()) for k, v in self.files.items()}}
        from .unlabeled import REST

        for name in ("unlabeled", "label_descriptions"):
            value = getattr(self, name)
            if isinstance(value, str) and value.strip() and value != REST:
                changes[name] = str(Path(value).expanduser().resolve())
        if self.user_file and not self.files:
            changes["name"] = str(Path(self.name).expanduser().resolve())
        return replace(self, **changes)
