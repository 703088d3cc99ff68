"""The `emobench` command: a thin Typer shell over the Python API.

Heavy libraries are imported inside the commands that need them, so `emobench --help` starts fast.
Text from data (label names, texts, paths) is never read as rich markup.
"""
from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import os
import signal
import sys
import typing
import warnings
from pathlib import Path
from typing import Optional

import typer
import typer.core
from rich.console import Console
from rich.markup import escape as _escape
from rich.table import Table

from .data.registry import DEFAULT_DATASET
from .errors import EmobenchError, spell
from .files import check_output_file
from .logs import logger
from .models.registry import DEFAULT_MODEL, DEFAULT_TUNED_MODEL

try:  # typer 0.2x carries its own copy of click: its exception classes are the ones raised
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - an older typer on the real click
    from click import exceptions as click_errors


class OptionValueError(click_errors.BadParameter):
    """A value an option does not take, said as ``--flag VALUE: expected ...`` (the value as typed)."""

    def format_message(self) -> str:
        return self.message


class Bounded:
    """An integer or a finite number within bounds: NaN, infinities and values outside the range are refused
    (click's own ranges let NaN through, since every comparison with NaN is false)."""

    def __init__(self, kind: type, low=None, high=None, low_open: bool = False, what: str = ""):
        self.kind, self.low, self.high, self.low_open, self.what = kind, low, high, low_open, what
        self.name = "integer" if kind is int else "number"

    def describe(self) -> str:
        noun = self.what or ("an integer" if self.kind is int else "a number")
        if self.low is not None and self.high is not None and not self.low_open:
            return f"{noun} from {self.low:,} to {self.high:,}"
        parts = [f"{'>' if self.low_open else '>='} {self.low:,}" if self.low is not None else "",
                 f"<= {self.high:,}" if self.high is not None else ""]
        return " ".join([noun, " and ".join(p for p in parts if p)]).strip()

    def check(self, value, flag: str, param=None, ctx=None):
        import math

        typed = value if isinstance(value, str) else str(value)
        if isinstance(value, str) and not value.isascii():  # int() and float() read Arabic-Indic or fullwidth digits
            raise OptionValueError(f"{flag} {typed!r}: expected {self.describe()} in ASCII digits", ctx=ctx, param=param)
        try:
            if isinstance(value, self.kind) and not isinstance(value, bool):
                number = value
            elif self.kind is int:
                number = int(typed.strip().replace("_", "x"), 10)  # no 1_000: int() would take it
            else:
                number = float(typed.strip())
        except (TypeError, ValueError):
            raise OptionValueError(f"{flag} {typed!r}: expected {self.describe()}", ctx=ctx, param=param) from None
        if isinstance(number, float) and not math.isfinite(number):
            raise OptionValueError(f"{flag} {typed}: expected a finite number ({self.describe()})", ctx=ctx, param=param)
        low_fails = self.low is not None and (number <= self.low if self.low_open else number < self.low)
        if low_fails or (self.high is not None and number > self.high):
            raise OptionValueError(f"{flag} {typed}: expected {self.describe()}", ctx=ctx, param=param)
        return number


def number(default, *flags: str, kind: type = int, low=None, high=None, low_open: bool = False, what: str = "",
           help: str = ""):
    """A numeric option, range-checked: every int and float option of the CLI is one (tests/test_cli_numbers.py)."""
    bounded = Bounded(kind, low, high, low_open, what)

    def parse(value):
        return bounded.check(value, flags[0])

    parse.bounded = bounded
    return typer.Option(default, *flags, help=help, metavar=bounded.name.upper(), parser=parse)


SEED = {"low": 0, "high": 2**32 - 1, "what": "a seed"}


class EmobenchGroup(typer.core.TyperGroup):
    """Usage errors (an unknown option, a value an option does not take) end like every other error: one ``error:``
    line on standard error and exit code 2; an option that takes one value given twice is one of them (the last one
    winning would run with a value the user may not mean: ``--seed 1 --seed 2``)."""

    def resolve_command(self, ctx, args):
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None and not getattr(command, "commands", None):
            _refuse_repeated(command, rest, f"{ctx.command_path} {name}")
        return name, command, rest

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_errors.NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click_errors.ClickException as exc:
            command = exc.ctx.command_path if getattr(exc, "ctx", None) is not None else "emobench"
            _error(exc.format_message() + (f" (see {command} --help)" if isinstance(exc, click_errors.UsageError) else ""))
            sys.exit(exc.exit_code)
        except typer.Abort:
            err.print("aborted", markup=False)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


class RepeatedOption(click_errors.ClickException):
    exit_code = 2


def _refuse_repeated(command, args: list[str], path: str) -> None:
    single = {}
    for param in command.params:
        if getattr(param, "multiple", False) or getattr(param, "param_type_name", "") != "option":
            continue
        for flag in [*param.opts, *getattr(param, "secondary_opts", [])]:
            single[flag] = param.opts[0]
    seen: set[str] = set()
    for arg in args:
        if arg == "--":
            break
        flag = arg.split("=", 1)[0] if arg.startswith("--") else arg
        if flag in single:
            if single[flag] in seen:
                raise RepeatedOption(f"{single[flag]} is given twice; give it once (see {path} --help)")
            seen.add(single[flag])


app = typer.Typer(help="Text emotion recognition: audit datasets, train and compare models, predict.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False, cls=EmobenchGroup,
                  rich_markup_mode=None)  # help texts are literal: "{target: [source, ...]}" is not markup
data_app = typer.Typer(help="Inspect datasets.", no_args_is_help=True, cls=EmobenchGroup)
app.add_typer(data_app, name="data")
# Text from data and users is printed as it is: no markup, and no emoji codes (":fire:" stays ":fire:").
console = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, soft_wrap=True, highlight=False, emoji=False)


# Library messages name API parameters; on the command line they are these flags (default: --name-with-dashes).
FLAGS = {"data_file": "--data", "json_out": "--json", "html_out": "--html", "overrides": "--set", "format_": "--format",
         "set_": "--set"}


def flag(name: str) -> str:
    return FLAGS.get(name, "--" + name.rstrip("_").replace("_", "-"))


def as_flags(message: str) -> str:
    return spell(message, flag)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is so that locks are released and partial work kept."""


_MAIN_PID = os.getpid()


def _terminate(signum, frame):
    if os.getpid() != _MAIN_PID:  # a forked worker (a library's pool) ends quietly, as it would without the handler
        os._exit(128 + signum)
    raise Terminated()


@contextlib.contextmanager
def user_errors():
    """Input and configuration errors become one clear line and exit code 2, never a traceback. Warnings
    are shown as they happen, one line each."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        seen = set()

        def show(message, category, filename, lineno, file=None, line=None):
            raw = message.args[0] if isinstance(message, Warning) and message.args else str(message)
            if issubclass(category, UserWarning) and str(raw) not in seen:
                seen.add(str(raw))
                from .data.text import printable

                err.print("[yellow]warning:[/] ", end="")
                err.print(printable(as_flags(str(raw))), markup=False)

        warnings.showwarning = show
        try:
            yield
        except EmobenchError as exc:
            _error(exc.render(flag))
            raise typer.Exit(2) from None
        except OSError as exc:  # disk full, permissions, a folder where a file was expected, ...
            where = f"{exc.filename}: " if exc.filename else ""
            _error(f"{where}{exc.strerror or exc}")
            raise typer.Exit(2) from None
        except Terminated:
            err.print("[yellow]terminated[/]")
            raise typer.Exit(143) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None


def escape(text: str) -> str:
    """User text in a table cell: no markup, no control characters (data/text.printable)."""
    from .data.text import printable

    return _escape(printable(str(text)))


def _error(message: str) -> None:
    from .data.text import printable

    err.print("[bold red]error:[/] ", end="")
    err.print(printable(message), markup=False)


class LogLevel(str, enum.Enum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


@app.callback()
def main_options(
    log_level: LogLevel = typer.Option(LogLevel.info, "--log-level", case_sensitive=False,
                                       help="how much to log on standard error; library messages show only at debug"),
    threads: Optional[str] = typer.Option(None, "--threads",
                                          help="threads for torch and ONNX Runtime: a number, or all (default: all the cores "
                                               "this process may use, whatever the load; recorded in each run)"),
):
    import os

    from .logs import configure

    configure(log_level.value)
    if threads is not None:
        chosen = threads.strip()
        if chosen.lower() != "all" and not (chosen.isascii() and chosen.isdigit() and 1 <= int(chosen) <= 4096):
            raise OptionValueError(f"--threads {threads!r}: expected a number of threads from 1 to 4,096, or all")
        os.environ["EMOBENCH_THREADS"] = threads


def say(text: str) -> None:
    """Plain text on standard output, never interpreted as markup, control characters shown as escapes."""
    from .data.text import printable

    console.print(printable(text), markup=False)


# ---------------------------------------------------------------- shared options

USER_FILE_OPTIONS = ("text_column", "label_column", "split_column", "label_names", "label_separator", "label_columns",
                     "no_header", "dataset_name", "data_format")

# The dataset options every command that reads a dataset takes (train, compare, tune, data audit, evaluate).
DATASET_OPTIONS = {
    "data_dir": (Optional[str], typer.Option(None, "--data-dir", help="data root (default: $EMOBENCH_DATA)")),
    "text_column": (str, typer.Option("text", "--text-column", help="text column of your files (a position with --no-header)")),
    "label_column": (str, typer.Option("label", "--label-column", help="label column of your files")),
    "split_column": (Optional[str], typer.Option(None, "--split-column",
                                                 help="split column: train / validation (val, dev) / test")),
    "train_file": (Optional[str], typer.Option(None, "--train-file", help="training file (one file per split)")),
    "validation_file": (Optional[str], typer.Option(None, "--validation-file", help="validation file")),
    "test_file": (Optional[str], typer.Option(None, "--test-file", help="test file")),
    "split_seed": (int, number(13, "--split-seed", **SEED, help="seed of generated splits (ISEAR, files without splits)")),
    "drop_placeholders": (bool, typer.Option(False, "--drop-placeholders",
                                             help="drop placeholder texts such as '[ No response.]' (ISEAR, your files)")),
    "label_names": (Optional[str], typer.Option(None, "--label-names",
                                                help="comma-separated label names in id order (integer labels index it)")),
    "label_separator": (Optional[str], typer.Option(None, "--label-separator",
                                                    help="several labels per text, separated by this (e.g. ,): multi-label")),
    "label_map": (Optional[str], typer.Option(None, "--label-map",
                                              help="JSON file {target: [source, ...]} (labels merged, renamed; others dropped), or "
                                                   "emotion-ekman / ekman-emotion")),
    "dataset_name": (Optional[str], typer.Option(None, "--dataset-name",
                                                 help="what reports and folder names call your files (default: the file name)")),
    "no_header": (bool, typer.Option(False, "--no-header", help="CSV/TSV without a header: columns are positions 1, 2, ...")),
    "label_columns": (Optional[str], typer.Option(None, "--label-columns",
                                                  help="multi-label data as one 0/1 column per label: the columns, comma-"
                                                       "separated, or all (every column but the text and split columns)")),
    "encoding": (str, typer.Option("utf-8", "--encoding",
                                   help="text encoding of your files (e.g. cp1252), or one per file: "
                                        "train=cp1252,validation=utf-8")),
    "data_format": (Optional[str], typer.Option(None, "--data-format",
                                                help="csv, tsv, jsonl or txt (text;label lines) for every file (default: "
                                                     "each file's suffix)")),
    "train_size": (Optional[str], typer.Option(None, "--train-size",
                                               help="a data budget: training texts per class (16), a share (0.1), or all; "
                                                    "a stratified subsample drawn with --seed")),
    "budget_validation": (bool, typer.Option(False, "--budget-validation",
                                             help="cut the validation split like the training split (a small-data user "
                                                  "has a small validation set too)")),
    "label_issues": (Optional[str], typer.Option(None, "--label-issues",
                                                 help="drop or relabel: train without the training texts confident "
                                                      "learning flags as likely mislabelled, or with the labels it suggests")),
    "label_issues_from": (Optional[str], typer.Option(None, "--label-issues-from",
                                                      help="the flags from a saved audit (data audit --label-issues --json) "
                                                           "of the same training data, instead of computing them")),
}
CLEANING = ("label_issues", "label_issues_from")
# The options of the data a comparison transfers to (--transfer DATASET): --transfer-text-column, ...
TRANSFER_OPTIONS = ("text_column", "label_column", "split_column", "label_names", "label_separator", "label_columns",
                    "label_map", "no_header", "encoding", "data_format", "dataset_name", "drop_placeholders")


def dataset_options(command=None, *, prefix: str = "", names=tuple(DATASET_OPTIONS)):
    """Adds dataset options to a command; they arrive in its ``**data`` keyword arguments. ``prefix``: the same
    options for a second dataset (``transfer_`` gives --transfer-text-column, ...)."""
    import functools
    import inspect

    if command is None:
        return functools.partial(dataset_options, prefix=prefix, names=names)
    signature = inspect.signature(command)
    own = [p for p in signature.parameters.values() if p.kind != inspect.Parameter.VAR_KEYWORD]
    options = {prefix + name: _prefixed(DATASET_OPTIONS[name], prefix) for name in names}
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation)
             for name, (annotation, option) in options.items()]

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        return command(*args, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=own + added)
    hints = typing.get_type_hints(command) if not hasattr(command, "__signature__") else dict(command.__annotations__)
    wrapper.__annotations__ = {**{k: v for k, v in hints.items() if k != "data"},
                               **{name: annotation for name, (annotation, _) in options.items()}}
    return wrapper


def _prefixed(entry, prefix: str):
    annotation, option = entry
    if not prefix:
        return entry
    flag_prefix = "--" + prefix.rstrip("_").replace("_", "-") + "-"
    return annotation, typer.Option(option.default, *[flag_prefix + d[2:] for d in option.param_decls],
                                    help=f"{option.help} (of the --{prefix.rstrip('_')} data)")


def _explicit(ctx: typer.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def _dataset_config(ctx: typer.Context, dataset: str, data: dict, prefix: str = ""):
    """The dataset options, refusing those that do not apply to the chosen dataset (silently ignoring
    them would train on something other than what was asked). ``prefix``: a second dataset's options, which its
    errors name (--transfer-label-map, not --label-map)."""
    if not prefix:
        return _dataset_options(ctx, dataset, data)
    from .errors import renamed

    try:
        return _dataset_options(ctx, dataset, data, prefix)
    except EmobenchError as exc:
        raise renamed(exc, prefix, set(TRANSFER_OPTIONS)) from None


def _dataset_options(ctx: typer.Context, dataset: str, data: dict, prefix: str = ""):
    from .data import DatasetConfig
    from .data.labelmap import read_label_map
    from .data.registry import READERS, USER_FILES, dataset_entry

    def given(name: str) -> bool:
        return _explicit(ctx, prefix + name)

    def value(name: str, default=None):
        return data.get(prefix + name, default)

    def flag_of(name: str) -> str:
        return "--" + (prefix + name).replace("_", "-")

    files = {k: value(f"{k}_file") for k in ("train", "validation", "test") if value(f"{k}_file")}
    if files and "train" not in files:
        raise EmobenchError("--validation-file/--test-file need --train-file")
    if files and _explicit(ctx, "dataset"):
        raise EmobenchError("give either --dataset or --train-file (with --validation-file/--test-file), not both")
    name = files["train"] if files else dataset
    entry = dataset_entry(name)
    builtin = entry is not READERS[USER_FILES] and not files
    if builtin:
        for option in USER_FILE_OPTIONS:
            if given(option):
                raise EmobenchError(f"{flag_of(option)} applies to your own data files, not to the "
                                    f"built-in dataset {name!r}")
    if (files or value("split_column") or (builtin and entry.ships_splits)) and given("split_seed"):
        raise EmobenchError("--split-seed applies to generated splits (ISEAR, files without a split column); "
                            "this data has its own splits")
    names = _label_names(value("label_names"), flag_of("label_names"))
    encoding, encodings = _encodings(value("encoding", "utf-8"), flag_of("encoding"), files)
    columns = value("label_columns")
    if columns is not None:
        columns = "all" if columns.strip() == "all" else [c.strip() for c in columns.split(",")]
    from .data.budgets import parse_size

    return DatasetConfig(name=name, data_dir=data.get("data_dir"), files=files, text_column=value("text_column", "text"),
                         label_column=value("label_column", "label"), split_column=value("split_column"),
                         split_seed=value("split_seed", 13), drop_placeholders=value("drop_placeholders", False),
                         label_names=names, encoding=encoding, encodings=encodings,
                         label_separator=value("label_separator"), label_map=read_label_map(value("label_map")),
                         label_map_name=value("label_map"), header=not value("no_header", False),
                         dataset_name=value("dataset_name"), data_format=value("data_format"), label_columns=columns,
                         train_size=parse_size(value("train_size")), budget_validation=value("budget_validation", False),
                         label_issues=value("label_issues"), label_issues_from=value("label_issues_from"))


def _encodings(value: str, flag_name: str, files: dict) -> tuple[str, dict[str, str]]:
    """``--encoding cp1252`` for every file, or ``--encoding train=cp1252,test=utf-8`` file by file."""
    if "=" not in value:
        return value.strip(), {}
    out = {}
    for pair in value.split(","):
        split, sep, codec = (part.strip() for part in pair.partition("="))
        if not sep or split not in ("train", "validation", "test") or not codec:
            raise EmobenchError(f"{flag_name} {value!r}: expected an encoding (e.g. cp1252) or split=encoding pairs "
                                "(e.g. train=cp1252,test=utf-8) with the splits train, validation, test")
        if split in out:
            raise EmobenchError(f"{flag_name} {value!r}: {split} is given twice")
        out[split] = codec
    if not files:
        raise EmobenchError(f"{flag_name} {value!r}: encodings per split apply to one file per split (--train-file, "
                            "--validation-file, --test-file); give one encoding for one file")
    return "utf-8", out


def _label_names(value: str | None, flag_name: str = "--label-names") -> list[str] | None:
    """``--label-names a,b,c``; a file path is refused with what to write instead."""
    if not value:
        return None
    if Path(value).expanduser().is_file():
        raise EmobenchError(f"{flag_name} {value}: a file; expected the names themselves, comma-separated in id order "
                            f"(e.g. {flag_name} \"$(paste -sd, {value})\" for a file with one name per line)")
    return [n.strip() for n in value.split(",")]


def _parse_overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise EmobenchError(f"--set {pair!r}: expected key=value")
        model, dot, name = key.strip().rpartition(".")  # a model name keeps its dashes (lstm-paper.epochs)
        name = f"{model}{dot}{name.replace('-', '_')}"
        if name in out:  # the last one winning would train on a value the user may not mean
            raise EmobenchError(f"--set {key.strip()} is given twice ({out[name]!r} and {value!r}); give it once")
        out[name] = value
    return out


DatasetOpt = typer.Option(DEFAULT_DATASET, "--dataset", "-d", help="emotion, isear, goemotions, goemotions:ekman, or a CSV/TSV/JSONL file")
AllowModifiedOpt = typer.Option(False, "--allow-modified",
                                help="use run, model, export, comparison or tuning folders whose files differ from their "
                                     "manifest (each difference is reported)")
QuietOpt = typer.Option(False, "--quiet", "-q", help="no progress bars (one line per epoch stays; --log-level warning for none)")
TrackOpt = typer.Option([], "--track", help="experiment tracking: mlflow and/or tensorboard (repeatable), stored under the output folder's tracking/")


def _make_tracker(kinds: list[str], folder: Path, experiment: str):
    if not kinds:
        return None
    from .files import check_output_folder, check_outside_records

    check_output_folder(folder)
    check_outside_records(folder, "output_dir")
    if (folder / "tracking").exists() and not (folder / "tracking").is_dir():
        raise EmobenchError(f"--track: {folder / 'tracking'} is a file; tracking writes a folder there")
    from .tracking import Tracker, check_available

    return Tracker(check_available(kinds), Path(folder) / "tracking", experiment)


# ---------------------------------------------------------------- commands


@data_app.command("audit")
@dataset_options(names=tuple(n for n in DATASET_OPTIONS if n not in CLEANING))
def data_audit(
    ctx: typer.Context,
    dataset: str = typer.Argument(DEFAULT_DATASET, help="emotion, isear, goemotions[:ekman], or a CSV/TSV/JSONL file"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="also write the audit as JSON to this file"),
    label_issues: bool = typer.Option(False, "--label-issues", help="also find likely mislabelled texts (confident "
                                      "learning on out-of-fold probabilities, through cleanlab)"),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="with --label-issues: the family that scores texts "
                                        "out of fold (default: tfidf, the fastest that is good enough)"),
    folds: int = number(5, "--folds", low=2, high=100, help="with --label-issues: folds of each split"),
    splits: Optional[str] = typer.Option(None, "--splits", help="with --label-issues: comma-separated splits (default: all)"),
    show: int = number(10, "--show", low=0, high=10**9, help="with --label-issues: issues shown per split (the JSON holds all)"),
    seed: int = number(0, "--seed", **SEED, help="with --label-issues: seed of the folds and models"),
    quiet: bool = QuietOpt,
    **data,
):
    """Sizes, label shares, text lengths, duplicates, conflicting labels, leakage, placeholders; for multi-label
    data also labels per text, co-occurring pairs and texts without a label. --label-issues adds the texts confident
    learning flags as likely mislabelled, per split and label, with the estimated noise matrix
    (multi-label: per label, how often it is given but likely absent or missing but likely present)."""
    with user_errors():
        from .data import audit, load_dataset
        from .files import write_json
        from .reporting.tables import audit_tables

        if json_out is not None:
            check_output_file(json_out, "json_out")
        if not label_issues:
            stray = [p for p in ("model", "folds", "splits", "show", "seed") if _explicit(ctx, p)]
            if stray:
                raise EmobenchError(f"--{stray[0]} applies to --label-issues")
        corpus = load_dataset(_dataset_config(ctx, dataset, data))
        if label_issues:
            from .models.registry import LABEL_ISSUES_MODEL, LABEL_ISSUES_WHY, resolve
            from .reporting.tables import label_issue_tables

            resolve(model or LABEL_ISSUES_MODEL)
            if model is None:
                from .data.registry import dataset_entry

                note = dataset_entry(dataset).audit_note
                err.print(f"scoring texts out of fold with {LABEL_ISSUES_WHY}" + (f" ({note})" if note else ""),
                          markup=False)
            from .experiments.label_issues import find_issues

            chosen = [s.strip() for s in splits.split(",")] if splits else None
            issues = find_issues(corpus, chosen, model, folds, seed,
                                 progress=None if quiet else (lambda line: err.print(line, markup=False)))
        report = audit(corpus)
        for table in audit_tables(report):
            console.print(table)
        for line in report["split_origin"]["notes"]:
            console.print(escape(line))
        if report["warnings"]:
            for line in report["warnings"]:
                console.print(f"[yellow]![/] {escape(line)}")
        else:
            console.print("[green]no duplicates, conflicts, leakage or placeholders found[/]")
        if label_issues:
            for table in label_issue_tables(issues, show):
                console.print(table)
        if json_out:
            if label_issues:
                report["label_issues"] = issues.model_dump(mode="json")
            write_json(json_out, report)
            say(f"audit written to {json_out}")


@app.command()
@dataset_options
def train(
    ctx: typer.Context,
    model: str = typer.Option(DEFAULT_MODEL, "--model", "-m", help="model name (see `emobench models`) or hf:<id or dir>"),
    dataset: str = DatasetOpt,
    seed: int = number(0, "--seed", **SEED, help="random seed"),
    preset: Optional[str] = typer.Option(None, help="hyper-parameter preset of the model family (e.g. paper, fast)"),
    set_: list[str] = typer.Option([], "--set", help="hyper-parameter override key=value (repeatable)"),
    output_dir: Path = typer.Option(Path("runs"), "--output-dir", "-o", help="where run directories go"),
    name: Optional[str] = typer.Option(None, help="run directory name (default: dataset-model-seed-time-random)"),
    resume: Optional[Path] = typer.Option(None, help="continue an interrupted run (its .partial directory)"),
    track: list[str] = TrackOpt,
    quiet: bool = QuietOpt,
    **data,
):
    """Train one model and write a run directory (config, versions, checksums, model, metrics, predictions)."""
    with user_errors():
        from .experiments.run import RunConfig
        from .experiments.run import train as train_run

        tracker = _make_tracker(track, Path(resume).parent if resume else output_dir, "emobench")
        if resume:
            given = [p for p in ctx.params if p not in ("resume", "quiet", "data_dir", "track") and _explicit(ctx, p)]
            if given:
                raise EmobenchError(f"--resume continues a run with its recorded configuration; "
                                    f"--{given[0].rstrip('_').replace('_', '-')} cannot be combined with it")
            if data.get("data_dir"):
                raise EmobenchError("--resume reads the data recorded in the run; --data-dir cannot be combined with it")
            run = train_run(resume=resume, progress=not quiet, tracker=tracker)
        else:
            dataset_config = _dataset_config(ctx, dataset, data)
            dataset_config.budget_seed = seed  # a data budget is drawn with the run's seed
            config = RunConfig(model=model, seed=seed, preset=preset, overrides=_parse_overrides(set_),
                               output_dir=str(output_dir), name=name, dataset=dataset_config)
            run = train_run(config, progress=not quiet, tracker=tracker)
        _show_run(run, quiet)
        say(f"run written to {run.folder}")


def _show_run(run, quiet: bool) -> None:
    from .evaluation import classification_report_text
    from .models.registry import family_class

    splits = {name: m.as_dict() for name, m in run.metrics.splits.items()}
    if not quiet:
        for split, m in splits.items():
            say(f"{split} ({m['n']} examples)")
            say(classification_report_text(m))
    summary = ", ".join((f"{s} subset accuracy {m['accuracy']:.4f} micro-F1 {m['micro']['f1']:.4f} macro-F1 "
                         f"{m['macro']['f1']:.4f}") if m.get("task") == "multi_label" else
                        f"{s} accuracy {m['accuracy']:.4f} macro-F1 {m['macro']['f1']:.4f}"
                        for s, m in splits.items())
    say(f"trained in {run.metrics.train_seconds:.1f} s; {summary}")
    for line in family_class(run.config.family).describe(run.metrics.model_info):
        say(line)


# The dataset options as the DatasetConfig fields they set (evaluate --data passes only what was given).
OPTION_FIELDS = {"no_header": ("header",), "label_map": ("label_map", "label_map_name"), "encoding": ("encoding", "encodings")}


@app.command()
@dataset_options
def evaluate(
    ctx: typer.Context,
    run: Path = typer.Argument(..., help="a run directory"),
    split: Optional[str] = typer.Option(None, help="split to score (default: test; a file or dataset without splits of its "
                                                   "own is scored whole)"),
    data_file: Optional[str] = typer.Option(None, "--data", help="a labelled file instead (CSV/TSV/JSONL, or text;label .txt), "
                                                                 "read with the run's columns unless the options say otherwise"),
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d",
                                          help="another dataset: only the labels both share count (see --label-map)"),
    allow_changed_data: bool = typer.Option(False, help="evaluate even if the data's checksums differ from the run's record"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="also write the metrics as JSON"),
    allow_modified: bool = AllowModifiedOpt,
    **data,
):
    """Re-evaluate a saved run: on its own split (checksums verified), a labelled file, or another dataset. A file
    or another dataset is scored on the labels it shares with the run (texts with other labels are counted)."""
    with user_errors():
        from .experiments.run import evaluate_run
        from .files import write_json

        given = {name for name in DATASET_OPTIONS if _explicit(ctx, name)}
        if data_file and dataset:
            raise EmobenchError("give --data FILE or --dataset NAME, not both")
        if data_file:
            refused = given & {"data_dir", "train_file", "validation_file", "test_file", "dataset_name", "train_size",
                               "budget_validation", "split_seed", *CLEANING}
            if refused or allow_changed_data:
                raise EmobenchError(f"--data evaluates on a file; {'--' + sorted(refused)[0].replace('_', '-') if refused else '--allow-changed-data'} "
                                    "does not apply to it")
        elif not dataset and given - {"data_dir"}:
            raise EmobenchError("dataset options other than --data-dir apply to --data FILE or --dataset NAME; the run's "
                                "own dataset is read as recorded")
        elif dataset and allow_changed_data:
            raise EmobenchError("--allow-changed-data applies to the run's own dataset, not to --dataset")
        if json_out is not None:
            check_output_file(json_out, "json_out")
        options = {}
        if data_file:
            config = _dataset_config(ctx, data_file, data)
            options = {field: getattr(config, field) for name in given for field in OPTION_FIELDS.get(name, (name,))}
        other = _dataset_config(ctx, dataset, data) if dataset else None
        result = evaluate_run(run, split=split, data_file=data_file, dataset=other,
                              data_dir=data.get("data_dir") if not (dataset or data_file) else None,
                              allow_changed_data=allow_changed_data, allow_modified=allow_modified, **options)
        metrics, report, transfer = result.metrics, result.report, result.transfer
        say(f"{result.scored} ({result.n} examples)")
        if transfer:
            _say_transfer(transfer)
        say(report)
        if transfer:
            say(f"hit rate (top shared label among the text's labels) {transfer['hit_rate']:.4f}; majority rate "
                f"{transfer['majority_rate']:.4f} (always {transfer['majority_label']!r})")
        if result.data_changes:
            say("NOTE: the data differs from what the run was trained on (--allow-changed-data): "
                + "; ".join(result.data_changes))
        if json_out:
            write_json(json_out, metrics)


def _say_transfer(transfer: dict) -> None:
    say(f"labels shared with {transfer['dataset']}: {', '.join(transfer['shared_labels'])}; only the run's: "
        f"{', '.join(transfer['model_only_labels']) or 'none'}; only the data's: "
        f"{', '.join(transfer['data_only_labels']) or 'none'}")
    dropped = transfer.get("dropped_by_label") or {}
    detail = f" ({', '.join(f'{k} {v}' for k, v in sorted(dropped.items(), key=lambda kv: -kv[1]))})" if dropped else ""
    say(f"{transfer['dropped']} of {transfer['examples']} examples dropped (no label the run knows){detail}; predictions: "
        f"{transfer['prediction']}; averages over the shared labels"
        + (f" with texts (none: {', '.join(transfer['labels_without_texts'])})" if transfer.get("labels_without_texts") else ""))


def _check_argument_text(text: str, number: int) -> None:
    """A command-line text that is not valid UTF-8 arrives with surrogate escapes: refused, never half-printed."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EmobenchError(f"text {number}: byte {text[exc.start].encode('utf-8', 'surrogateescape')!r} at character "
                            f"{exc.start} is not valid UTF-8; expected UTF-8 text") from None


def _texts_from_file(file: Path, text_column: str, encoding: str) -> list[str]:
    """The texts of a --file, read as batch scoring reads them (one reader for every route)."""
    from .serving.scoring import INPUTS, text_rows

    if file.suffix.lower() not in INPUTS:
        raise EmobenchError(f"{file}: expected a {', '.join(INPUTS)} file of texts")
    if not file.is_file():
        raise EmobenchError(f"{file}: file not found")
    return [text for number, _, text in text_rows(file, text_column, encoding) if number]


def _file_options(ctx, file: Path | None) -> None:
    """--text-column and --encoding read a --file: without one, or --text-column of a .txt (one text per line, no
    columns), they would be silently ignored."""
    if file is None:
        given = [p for p in ("text_column", "encoding") if _explicit(ctx, p)]
        if given:
            raise EmobenchError(f"--{given[0].replace('_', '-')} applies to --file")
    elif file.suffix.lower() == ".txt" and _explicit(ctx, "text_column"):
        raise EmobenchError(f"--text-column applies to a CSV, TSV or JSONL --file; {file.name} is one text per line")


WIDE_TABLE, TOP_LABELS = 8, 3  # the predict table shows every label up to 8 labels, the top 3 beyond


class Backend(str, enum.Enum):
    auto = "auto"
    torch = "torch"
    onnx = "onnx"


@app.command()
def predict(
    ctx: typer.Context,
    run: Path = typer.Argument(..., help="a run directory, a saved model directory or an ONNX export"),
    texts: list[str] = typer.Argument(None, help="texts to classify"),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="texts: one per line (.txt), or a CSV/TSV/JSONL column"),
    text_column: str = typer.Option("text", help="the text column of a CSV/TSV/JSONL --file"),
    as_json: bool = typer.Option(False, "--json", help="print JSON lines"),
    output: Optional[Path] = typer.Option(None, "--output", "-O",
                                          help="score --file into this .csv or .jsonl file, streaming (any file size)"),
    backend: Backend = typer.Option(Backend.auto, help="auto: ONNX for an export folder, else the model's own code"),
    engine: str = typer.Option("local", help="with --output: local, or ray (Ray Data, one model per worker)"),
    ray_address: Optional[str] = typer.Option(None, help="with --engine ray: a cluster address (default: a local Ray)"),
    ray_workers: int = number(1, "--ray-workers", low=1, high=4096, help="with --engine ray: scoring workers"),
    chunk_size: int = number(1024, "--chunk-size", low=1, high=1_000_000, help="with --output: texts per chunk"),
    encoding: str = typer.Option("utf-8", help="text encoding of --file"),
    allow_modified: bool = AllowModifiedOpt,
    quiet: bool = QuietOpt,
):
    """Print the label and the probability of every class for each text, or score a file (--output)."""
    with user_errors():
        from .serving import Predictor

        if output is not None:
            if texts or not file or as_json:
                raise EmobenchError("--output scores a --file; give no texts as arguments and no --json")
            stray = [p for p in ("ray_address", "ray_workers") if _explicit(ctx, p)]
            if engine != "ray" and stray:
                raise EmobenchError(f"--{stray[0].replace('_', '-')} applies to --engine ray")
            from .serving.scoring import score_file

            _file_options(ctx, file)
            result = score_file(run, file, output, text_column=text_column, chunk_size=chunk_size, backend=backend.value,
                                progress=not quiet, engine=engine, ray_address=ray_address, ray_workers=ray_workers,
                                encoding=encoding, allow_modified=allow_modified)
            say(f"scored {result.texts} texts in {result.seconds:.1f} s ({result.texts_per_second or 0:.0f} texts/s, "
                f"{engine}) into {result.output}")
            return
        given = [p for p in ("engine", "ray_address", "ray_workers", "chunk_size") if _explicit(ctx, p)]
        if given:
            raise EmobenchError(f"--{given[0].replace('_', '-')} applies to file scoring with --output")
        _file_options(ctx, file)
        items = list(texts or [])
        for i, text in enumerate(items, start=1):
            if not text.strip():
                raise EmobenchError(f"text {i} is empty; expected a text to classify")
            _check_argument_text(text, i)
        if file:
            items += _texts_from_file(file, text_column, encoding)
        if not items:
            raise EmobenchError("no text given: pass texts as arguments or --file")
        # Whatever a library prints while loading goes to standard error: --json output stays parseable.
        with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
            predictor = Predictor(run, backend.value, allow_modified)
            results = predictor.predict(items)
        if as_json:
            for r in results:
                print(json.dumps(r, ensure_ascii=False))
            return
        wide = len(predictor.label_names) > WIDE_TABLE  # 13 or 28 labels: the most probable ones, not a column each
        columns = [f"top {TOP_LABELS}"] if wide else [escape(n) for n in predictor.label_names]
        table = Table("text", "labels" if predictor.multi_label else "label", *columns)
        for r in results:
            text = r["text"] if len(r["text"]) <= 60 else r["text"][:57] + "..."
            chosen = ", ".join(r["labels"]) if predictor.multi_label else r["label"]
            if wide:
                top = sorted(r["probabilities"].items(), key=lambda kv: -kv[1])[:TOP_LABELS]
                cells = [escape(", ".join(f"{name} {p:.3f}" for name, p in top))]
            else:
                cells = [f"{p:.3f}" for p in r["probabilities"].values()]
            table.add_row(escape(text), f"[bold]{escape(chosen)}[/]", *cells)
        console.print(table)
        if wide:
            say(f"(the {TOP_LABELS} most probable of {len(predictor.label_names)} labels; --json gives every probability)")


@app.command()
def explain(
    run: Path = typer.Argument(..., help="a run directory or saved model directory"),
    texts: list[str] = typer.Argument(..., help="texts to explain"),
    label: Optional[str] = typer.Option(None, "--label", help="explain this label (default: the predicted one)"),
    html_out: Optional[Path] = typer.Option(None, "--html", help="also write the explanations as an HTML page"),
    as_json: bool = typer.Option(False, "--json", help="print JSON lines (tokens and scores)"),
    allow_modified: bool = AllowModifiedOpt,
):
    """Which words made the model say it: per-token attributions (Integrated Gradients for the LSTM and
    transformers, coefficient x tf-idf weight for tfidf)."""
    with user_errors():
        from dataclasses import asdict

        from .models import load_model
        from .models.explain import explain_texts
        from .reporting.explanations import to_html, to_rich

        for i, text in enumerate(texts, start=1):
            if not text.strip():
                raise EmobenchError(f"text {i} is empty; expected a text to explain")
            _check_argument_text(text, i)
        if html_out is not None:
            check_output_file(html_out, "html_out")
        with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
            model = load_model(run, allow_modified)
            explanations = explain_texts(model, texts, label)
        if as_json:
            for e in explanations:
                print(json.dumps(asdict(e), ensure_ascii=False))
        else:
            for e in explanations:
                console.print(to_rich(e), end="")
                say(f"-> {e.label} ({e.probability:.2f}; {e.method})")
        if html_out is not None:
            from .files import write_text_atomic
            from .reporting.render import STYLE

            body = "".join(f"<p>{to_html(e)}</p>" for e in explanations)
            write_text_atomic(html_out, f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>emobench explain</title>"
                                        f"<style>{STYLE}</style></head><body>{body}</body></html>\n")
            say(f"explanations written to {html_out}")


@app.command()
def export(
    run: Path = typer.Argument(..., help="a run directory"),
    format_: str = typer.Option("onnx", "--format", help="onnx"),
    quantize: Optional[str] = typer.Option(None, help="int8: also a statically quantised model (QDQ, calibrated on "
                                                      "training texts; used by default)"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="export folder (default: RUN-onnx beside the run)"),
    allow_modified: bool = AllowModifiedOpt,
):
    """Export a run's model to ONNX (transformers, both LSTMs), checked on the run's test split."""
    with user_errors():
        from .experiments.export import export_run

        if format_ != "onnx":
            raise EmobenchError(f"--format {format_!r}: expected onnx")
        record = export_run(run, output, quantize, allow_modified=allow_modified)
        for kind, scores in record.scores.items():
            agreement = f", agreement with PyTorch {scores.agreement:.4f}" if scores.agreement is not None else ""
            say(f"{kind}: accuracy {scores.accuracy:.4f}, macro-F1 {scores.macro_f1:.4f}{agreement}")
        say(f"exported to {record.folder} (checks passed on {record.examples} {record.check_split} texts)")


@app.command()
def serve(
    run: Path = typer.Argument(..., help="a run directory, a saved model directory or an ONNX export"),
    host: str = typer.Option("127.0.0.1", help="interface to listen on"),
    port: int = number(8000, "--port", low=1, high=65535, help="port"),
    backend: Backend = typer.Option(Backend.auto, help="auto: ONNX for an export folder, else the model's own code"),
    max_texts: int = number(64, "--max-texts", low=1, high=100_000, help="most texts in one request"),
    max_chars: int = number(10_000, "--max-chars", low=1, high=1_000_000, help="longest text, in characters"),
    max_batch: int = number(64, "--max-batch", low=1, high=100_000, help="most texts predicted together (requests are batched)"),
    batch_wait_ms: float = number(5.0, "--batch-wait-ms", kind=float, low=0, high=10_000, what="milliseconds",
                                  help="how long a batch waits for more requests, in milliseconds (at most 10 s)"),
    allow_modified: bool = AllowModifiedOpt,
):
    """Serve a model over HTTP: POST /predict, GET /health, GET /model, docs at /docs."""
    with user_errors():
        from .serving.service import ServiceSettings, serve as run_server

        import logging

        # uvicorn's start-up and access lines are library chatter: at --log-level debug only (emobench says where it
        # listens itself)
        level = "debug" if logger.isEnabledFor(logging.DEBUG) else "warning"
        run_server(run, host, port, backend.value, ServiceSettings(max_texts, max_chars, max_batch, batch_wait_ms),
                   log_level=level, allow_modified=allow_modified)


@app.command()
def models():
    """List the model names."""
    from .models import available_models

    table = Table("name", "description")
    for name, description in available_models().items():
        table.add_row(name, escape(description))
    table.add_row("hf:<id or dir>", "any Hugging Face encoder, fine-tuned for sequence classification")
    console.print(table)


def _ensembles(values: list[str], models: list[str] | None = None) -> list[list[str]]:
    """--ensemble values as member lists ('all' or a+b+c); checked against the models when they are known."""
    out = []
    for value in values:
        members = [m.strip() for m in value.split("+")]
        if not value.strip() or any(not m for m in members):
            raise EmobenchError(f"--ensemble {value!r}: expected 'all' or model names joined by + (e.g. tfidf+lstm)")
        out.append(["all"] if members == ["all"] else members)
    if models is not None:
        from .experiments.study import check_ensembles

        check_ensembles(out, models)
    return out


def _train_sizes(value: str | None) -> list[str | None]:
    from .data.budgets import parse_size

    if value is None:
        return [None]
    sizes = [part.strip() for part in value.split(",")]
    if not all(sizes):
        raise EmobenchError(f"--train-sizes {value!r}: expected sizes separated by commas, e.g. 8,32,all")
    try:
        return [parse_size(size) for size in sizes]
    except EmobenchError as exc:
        raise EmobenchError(f"--train-sizes {value!r}: {str(exc).split(': ', 1)[-1]}") from None


def _compare_overrides(pairs: list[str], models: list[str]) -> dict:
    """``--set model.key=value`` for one model, ``--set key=value`` for every compared model that has the key."""
    from .models.registry import param_names

    out: dict[str, dict] = {}
    for key, value in _parse_overrides(pairs).items():
        model, dot, param = key.rpartition(".")
        targets = [model] if dot else models
        if dot and model not in models:
            raise EmobenchError(f"--set {key}=...: {model!r} is not among the compared models ({', '.join(models)})")
        matched = False
        for target in targets:
            if param in param_names(target) or dot:  # an unknown one is validated (and refused) with the model's
                if param in out.get(target, {}):
                    raise EmobenchError(f"--set {key}=...: {target}'s {param} is also set by another --set "
                                        f"({out[target][param]!r}); give it once")
                out.setdefault(target, {})[param] = value
                matched = True
        if not matched:
            raise EmobenchError(f"--set {key}=...: no compared model has a parameter {param!r}")
    return out


@app.command()
@dataset_options(names=tuple(n for n in DATASET_OPTIONS if n != "train_size"))
@dataset_options(prefix="transfer_", names=TRANSFER_OPTIONS)
def compare(
    ctx: typer.Context,
    runs: list[Path] = typer.Argument(None, help="finished run directories to compare instead of training"),
    dataset: str = DatasetOpt,
    models: Optional[str] = typer.Option(None, "--models", help="comma-separated model names (default: the CPU study)"),
    seeds: int = number(1, "--seeds", low=1, high=1000, help="number of seeds per model (seeds 0, 1, ...)"),
    preset: Optional[str] = typer.Option(None, help="preset for every family that has it; 'paper' = the reference protocol"),
    set_: list[str] = typer.Option([], "--set", help="override MODEL.key=value, or key=value for every model that has it"),
    output_dir: Path = typer.Option(Path("comparisons"), "--output-dir", "-o"),
    name: Optional[str] = typer.Option(None, help="comparison directory name; an existing one is continued"),
    retrain: bool = typer.Option(False, help="retrain runs whose configuration or data changed (the old ones are deleted)"),
    format_: list[str] = typer.Option([], "--format", help="also 'latex' (tables.tex); md and html are always written"),
    ensemble: list[str] = typer.Option([], "--ensemble",
                                       help="add an ensemble: 'all' (every model) or models joined by + (repeatable)"),
    baselines: bool = typer.Option(True, "--baselines/--no-baselines",
                                   help="add the majority and stratified baselines (every model is tested against them)"),
    engine: str = typer.Option("local", "--engine", help="local, or ray: every run a Ray task (--ray-address for a "
                                                         "cluster; run folders on shared storage)"),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="with --engine ray: a cluster address "
                                                                          "(default: a local Ray)"),
    noise_audit: bool = typer.Option(True, "--noise-audit/--no-noise-audit",
                                     help="flag likely mislabelled test texts (cleanlab) and score every model without them"),
    train_sizes: Optional[str] = typer.Option(None, "--train-sizes",
                                              help="data budgets: training texts per class, shares or all, comma-separated "
                                                   "(e.g. 8,32,128,all); every model at every size and seed"),
    transfer: Optional[str] = typer.Option(None, "--transfer", help="also score every model on this dataset or file: its "
                                                                    "test split, or every text of data without splits"),
    track: list[str] = TrackOpt,
    allow_modified: bool = AllowModifiedOpt,
    quiet: bool = QuietOpt,
    **data,
):
    """Train (or reuse) every model on the identical split and write results and the report."""
    with user_errors():
        import datetime

        from .experiments.study import CompareConfig, compare_runs, default_models, run_comparison
        from .files import check_output_folder, check_plain_name
        from .models.registry import study_models

        formats = ["md", "html", *[f for f in format_ if f not in ("md", "html")]]
        unknown = [f for f in formats if f not in ("md", "html", "latex")]
        if unknown:
            raise EmobenchError(f"--format {unknown[0]!r}: expected latex (md and html are always written)")
        if runs:
            given = [p for p in ctx.params if p not in ("runs", "output_dir", "name", "format_", "quiet", "ensemble",
                                                        "allow_modified") and _explicit(ctx, p)]
            if given:
                raise EmobenchError(f"comparing finished runs uses their own configuration; "
                                    f"--{given[0].rstrip('_').replace('_', '-')} cannot be combined with run directories")
            check_output_folder(output_dir)
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            record = compare_runs(runs, output_dir / (check_plain_name(name) if name else f"runs-{stamp}"), formats=formats,
                                  ensembles=_ensembles(ensemble), allow_modified=allow_modified)
        else:
            if models is not None:
                chosen = [m.strip() for m in models.split(",") if m.strip()]
                if not chosen:
                    raise EmobenchError(f"--models {models!r}: no model names; expected e.g. tfidf,lstm (see `emobench models`)")
            else:
                chosen = study_models("paper") if preset == "paper" else default_models()
            target = None
            if transfer:
                target = _dataset_config(ctx, transfer, data, prefix="transfer_")
            else:
                given = [name for name in TRANSFER_OPTIONS if _explicit(ctx, "transfer_" + name)]
                if given:
                    raise EmobenchError(f"--transfer-{given[0].replace('_', '-')} needs --transfer")
            config = CompareConfig(
                dataset=dataclasses.replace(_dataset_config(ctx, dataset, data), budget_validation=False), models=chosen, seeds=list(range(seeds)), preset=preset,
                overrides=_compare_overrides(set_, chosen), output_dir=str(output_dir), name=name, formats=formats,
                transfer=target, ensembles=_ensembles(ensemble, chosen), baselines=baselines,
                train_sizes=_train_sizes(train_sizes), budget_validation=data["budget_validation"], engine=engine,
                ray_address=ray_address, noise_audit=noise_audit)
            if track:
                from .tracking import check_available

                track = check_available(track)
            record = run_comparison(config, progress=not quiet, log=lambda m: logger.info(m), retrain=retrain, track=track,
                                    allow_modified=allow_modified)
        _show_comparison(record)


@app.command()
@dataset_options
def tune(
    ctx: typer.Context,
    model: str = typer.Option(DEFAULT_TUNED_MODEL, "--model", "-m", help="model name (see `emobench models`) or hf:<id or dir>"),
    dataset: str = DatasetOpt,
    trials: int = number(20, "--trials", low=1, high=100_000,
                         help="number of trials in the study (completed and pruned; a rerun continues)"),
    timeout: Optional[float] = number(None, "--timeout", kind=float, low=0, high=10**9, low_open=True, what="seconds",
                                      help="seconds after which no new trial starts"),
    seed: int = number(0, "--seed", **SEED, help="seed of the sampler and of every trial"),
    preset: Optional[str] = typer.Option(None, help="preset the search starts from"),
    set_: list[str] = typer.Option([], "--set", help="fixed hyper-parameter key=value (not searched)"),
    space: list[str] = typer.Option([], "--space", help="search name=low:high[:log] or name=a,b,c (replaces the default space)"),
    output_dir: Path = typer.Option(Path("tuning"), "--output-dir", "-o"),
    name: Optional[str] = typer.Option(None, help="tuning folder name; an existing one is continued"),
    storage: Optional[str] = typer.Option(None, "--storage", help="an Optuna RDB URL (sqlite:////shared/tune.db, "
                                          "postgresql://...): processes on one or many machines share the study --name, "
                                          "each in its own folder (-o)"),
    track: list[str] = TrackOpt,
    allow_modified: bool = AllowModifiedOpt,
    quiet: bool = QuietOpt,
    **data,
):
    """Search hyper-parameters on validation (Optuna TPE + pruning), then train the best as an ordinary run."""
    with user_errors():
        from .experiments.tune import TuneConfig, parse_space
        from .experiments.tune import tune as run_tune

        if track:
            from .tracking import check_available

            track = check_available(track)
        dataset_config = _dataset_config(ctx, dataset, data)
        dataset_config.budget_seed = seed  # a data budget is drawn with the study's seed
        config = TuneConfig(model=model, trials=trials, timeout=timeout, seed=seed, preset=preset,
                            overrides=_parse_overrides(set_), space=parse_space(space, model),
                            output_dir=str(output_dir), name=name, dataset=dataset_config, storage=storage)
        record = run_tune(config, progress=not quiet, track=track, allow_modified=allow_modified)
        table = Table("trial", "state", "validation macro-F1", "parameters", title=f"{escape(model)}: trials")
        for r in record.trials.trials:
            table.add_row(str(r.trial) + (" (default)" if getattr(r, "default", False) else ""), r.state,
                          f"{r.val_macro_f1:.4f}" if r.val_macro_f1 is not None else "",
                          escape(", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.params.items())))
        console.print(table)
        splits = record.best.metrics.splits
        say(f"best configuration trained as {record.best.folder}: validation macro-F1 {splits['validation'].macro.f1:.4f}, "
            f"test accuracy {splits['test'].accuracy:.4f}, test macro-F1 {splits['test'].macro.f1:.4f}")
        say(f"summary: {record.summary}")


@app.command()
def report(
    comparison: Path = typer.Argument(..., help="a comparison directory"),
    format_: list[str] = typer.Option([], "--format", help="also 'latex'"),
    allow_modified: bool = AllowModifiedOpt,
):
    """Re-render a comparison's results and report from its runs, without training."""
    with user_errors():
        from .experiments.study import rerender

        unknown = [f for f in format_ if f not in ("md", "html", "latex")]
        if unknown:
            raise EmobenchError(f"--format {unknown[0]!r}: expected latex (md and html are always written)")
        _show_comparison(rerender(comparison, formats=["md", "html", *format_], allow_modified=allow_modified))


def _show_comparison(record) -> None:
    from .models.registry import is_baseline

    budgets = len({r.get("budget", "all") for r in record.rows}) > 1
    # results rows' accuracy is the exact match of the whole label set on multi-label data
    accuracy = "subset accuracy" if any(r.get("task") == "multi_label" for r in record.rows) else "accuracy"
    table = Table("model", *(["budget"] if budgets else []), "seed", accuracy, "macro-F1", "weighted-F1", "train s",
                  title="test split")
    for r in record.rows:
        name = str(r["model"]) + (" (baseline)" if is_baseline(str(r["model"])) else "")
        table.add_row(escape(name), *([str(r.get("budget", "all"))] if budgets else []), str(r["seed"]),
                      f"{r['accuracy']:.4f}", f"{r['macro_f1']:.4f}", f"{r['weighted_f1']:.4f}", f"{r['train_seconds']:.1f}")
    analysis = record.analysis
    if analysis is not None:
        for m in analysis.models:
            if m.name in analysis.ensembles:
                cells = [f"{m.scores[k].value:.4f}" if k in m.scores else "–" for k in ("accuracy", "macro_f1", "weighted_f1")]
                table.add_row(escape(m.name), ",".join(map(str, m.seeds)), *cells, f"{m.train_seconds:.1f}")
    console.print(table)
    checks = {"": analysis.flagged if analysis is not None else []}
    if record.budgets is not None:
        checks = {f" at budget {b}": [a for a in found if a.verdict != "above"]
                  for b, found in record.budgets.against_baseline.items()}
        winners = Table("budget", "best model", "macro-F1", "runner-up", "p (Holm, macro-F1)", "significantly ahead",
                        title="best model at each data budget")
        for w in record.budgets.winners:
            winners.add_row(w.budget, escape(w.best), f"{w.score:.4f}", escape(w.runner_up or "–"),
                            f"{w.p_holm:.2g}" if w.p_holm is not None else "–", "yes" if w.significant else "no")
        console.print(winners)
    for where, flagged_models in checks.items():
        for flagged in flagged_models:
            err.print("[yellow]warning:[/] ", end="")
            metric = flagged.metric.replace("_f1", "-F1")
            err.print(f"{flagged.name} is {flagged.verdict} the {flagged.baseline} baseline on {metric} on the test "
                      f"split{where} ({flagged.score:.4f} against {flagged.baseline_score:.4f}; Holm-adjusted p = "
                      f"{flagged.p_holm:.2g})", markup=False)
    transfer = record.transfer_results or []
    if transfer:
        first = transfer[0]
        table = Table("model", "seed", "macro-F1 [95% CI]", "hit rate [95% CI]", "majority rate", "in-domain macro-F1",
                      title=f"transfer: {escape(first.scored_on)}, {first.kept} texts on the shared labels "
                            f"({escape(', '.join(first.shared_labels))})")
        for r in transfer:
            table.add_row(escape(r.name), str(r.seed),
                          f"{r.scores['macro_f1'].value:.4f} [{r.scores['macro_f1'].low:.3f}, {r.scores['macro_f1'].high:.3f}]",
                          f"{r.hit_rate.value:.4f} [{r.hit_rate.low:.3f}, {r.hit_rate.high:.3f}]", f"{r.majority_rate:.4f}",
                          f"{r.in_domain['macro_f1']:.4f}")
        console.print(table)
    noise = getattr(record, "noise", None)
    if noise is not None:
        say(f"label noise: {noise.flagged} of {noise.total} test texts flagged as likely mislabelled; {noise.shared_flagged} "
            f"of the {noise.shared_mistakes} texts every model gets wrong among them")
    say(f"report: {record.folder / 'report.html'} and {record.folder / 'report.md'}")


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    app()


if __name__ == "__main__":
    sys.exit(main())
