"""The options commands share, generated where they are declared: the dataset options from
:class:`~emobench.data.config.DatasetConfig`'s fields (flag, help, default), in the registry's order; and the
``--set``, ``--track``, ``--quiet`` and ``--allow-modified`` options."""
from __future__ import annotations

import functools
import inspect
import typing
from pathlib import Path
from typing import Optional

import typer

from ..data.config import DatasetConfig
from ..data.registry import DATASET_OPTIONS, DEFAULT_DATASET, config_from_options
from ..errors import EmobenchError, renamed
from ..params import field_options
from .shell import explicit, number

CLEANING = ("label_issues", "label_issues_from", "label_corrections")
# The options of the data a comparison transfers to (--transfer DATASET): --transfer-text-column, ...
TRANSFER_OPTIONS = ("text_column", "label_column", "split_column", "label_names", "label_separator", "label_columns",
                    "label_map", "no_header", "encoding", "data_format", "dataset_name", "drop_placeholders")
FIELD_OPTIONS = field_options(DatasetConfig)
# The dataset options as the DatasetConfig fields they set (evaluate --data passes only what was given).
OPTION_FIELDS = {name: fields for name, (_, fields) in FIELD_OPTIONS.items()}


def typer_option(name: str, prefix: str = "") -> tuple[object, object]:
    """(annotation, typer option) of a dataset option; ``prefix``: the same option of a second dataset."""
    spec, _ = FIELD_OPTIONS[name]
    flag = "--" + (prefix + name).replace("_", "-")
    help = spec.help + (f" (of the --{prefix.rstrip('_')} data)" if prefix else "")
    if spec.bounds is not None:
        return int, number(spec.default, flag, **spec.bounds, help=help)
    annotation = spec.kind if spec.kind is not str else (Optional[str] if spec.optional else str)
    return annotation, typer.Option(spec.default, flag, help=help)


def dataset_options(command=None, *, prefix: str = "", names=DATASET_OPTIONS):
    """Adds dataset options to a command; they arrive in its ``**data`` keyword arguments. ``prefix``: the same
    options for a second dataset (``transfer_`` gives --transfer-text-column, ...)."""
    if command is None:
        return functools.partial(dataset_options, prefix=prefix, names=names)
    signature = inspect.signature(command)
    own = [p for p in signature.parameters.values() if p.kind != inspect.Parameter.VAR_KEYWORD]
    options = {prefix + name: typer_option(name, prefix) for name in names}
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


def dataset_config(ctx: typer.Context, dataset: str, data: dict, prefix: str = "") -> DatasetConfig:
    """The dataset the options say, refusing those that do not apply to it (data/registry.py). ``prefix``: a second
    dataset's options, which its errors name (--transfer-label-map, not --label-map)."""
    values = {name: data[prefix + name] for name in FIELD_OPTIONS if prefix + name in data}
    if prefix:
        values["data_dir"] = data.get("data_dir")
    given = {name for name in FIELD_OPTIONS if prefix + name in data and explicit(ctx, prefix + name)}
    try:
        return config_from_options(dataset, values, given, dataset_given=explicit(ctx, "dataset"), prefix=prefix)
    except EmobenchError as exc:
        if not prefix:
            raise
        raise renamed(exc, prefix, set(TRANSFER_OPTIONS)) from None


def parse_overrides(pairs: list[str]) -> dict:
    """``--set key=value`` pairs; a model's name keeps its dashes (lstm-paper.epochs), a key's become underscores."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise EmobenchError(f"--set {pair!r}: expected key=value")
        model, dot, name = key.strip().rpartition(".")
        name = f"{model}{dot}{name.replace('-', '_')}"
        if name in out:  # the last one winning would train on a value the user may not mean
            raise EmobenchError(f"--set {key.strip()} is given twice ({out[name]!r} and {value!r}); give it once")
        out[name] = value
    return out


def checked_tracking(kinds: list[str]) -> list[str]:
    """The --track values, checked to be installed (none: nothing to check)."""
    if not kinds:
        return kinds
    from ..tracking import check_available

    return check_available(kinds)


def make_tracker(kinds: list[str], folder: Path, experiment: str):
    if not kinds:
        return None
    from ..files import check_output_folder, check_outside_records

    check_output_folder(folder)
    check_outside_records(folder, "output_dir")
    if (folder / "tracking").exists() and not (folder / "tracking").is_dir():
        raise EmobenchError(f"--track: {folder / 'tracking'} is a file; tracking writes a folder there")
    from ..tracking import Tracker, check_available

    return Tracker(check_available(kinds), Path(folder) / "tracking", experiment)


DatasetOpt = typer.Option(DEFAULT_DATASET, "--dataset", "-d", help="emotion, isear, goemotions, goemotions:ekman, or a CSV/TSV/JSONL file")
AllowModifiedOpt = typer.Option(False, "--allow-modified",
                                help="use run, model, export, comparison or tuning folders whose files differ from their "
                                     "manifest (each difference is reported)")
QuietOpt = typer.Option(False, "--quiet", "-q", help="no progress bars (one line per epoch stays; --log-level warning for none)")
TrackOpt = typer.Option([], "--track", help="experiment tracking: mlflow and/or tensorboard (repeatable), stored under the output folder's tracking/")


def model_option(default: str):
    """``--model/-m`` of the commands that train one model (train, tune)."""
    return typer.Option(default, "--model", "-m", help="model name (see `emobench models`) or hf:<id or dir>")
