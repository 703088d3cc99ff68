"""Typed hyper-parameters: every family's ``Params`` is a dataclass whose choices are ``Literal`` types and
whose ranges are declared with :func:`param`. :func:`params_from_dict` builds one from strings (the command
line) or JSON (a saved run) and validates every field before any work starts."""
from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from typing import Any, Literal

from .errors import EmobenchError


def param(default, *, ge=None, gt=None, le=None, lt=None, doc: str = ""):
    """A dataclass field with a declared range (checked by :func:`validate`)."""
    return dataclasses.field(default=default, metadata={"ge": ge, "gt": gt, "le": le, "lt": lt, "doc": doc})


def _options(hint) -> tuple:
    origin = typing.get_origin(hint)
    return typing.get_args(hint) if origin in (typing.Union, types.UnionType) else (hint,)


def _describe(hint, meta: dict) -> str:
    parts = []
    for option in _options(hint):
        if option is type(None):
            parts.append("none")
        elif typing.get_origin(option) is Literal:
            parts.append(" or ".join(repr(v) for v in typing.get_args(option)))
        else:
            parts.append({int: "an integer", float: "a number", bool: "true or false", str: "a string (not empty)"}.get(
                option, str(option)))
    bounds = []
    for key, symbol in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
        if meta.get(key) is not None:
            bounds.append(f"{symbol} {meta[key]}")
    text = " or ".join(parts)
    return text + (" " + " and ".join(bounds) if bounds else "")


# What the command line reads as a number: plain ASCII decimals (Python's int() and float() would also take "1_000",
# Arabic-Indic digits and surrounding spaces, which a typo can produce as silently as a user can mean them).
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(nan|inf|infinity)", re.IGNORECASE)
MAX_INT_DIGITS = 4000  # Python refuses to convert more than 4,300


def _coerce(value, hint):
    """A command-line string as the field's type; other values pass through (validated later)."""
    if not isinstance(value, str):
        return value
    options = _options(hint)
    if type(None) in options and value.strip().lower() in ("none", "null", ""):
        return None
    bare = value.strip()
    for option in options:
        if typing.get_origin(option) is Literal and bare in typing.get_args(option):
            return bare
    for option in options:
        if option is bool:
            if bare.lower() in ("true", "1", "yes"):
                return True
            if bare.lower() in ("false", "0", "no"):
                return False
        elif option is int:
            if _INT.fullmatch(bare) and len(bare) <= MAX_INT_DIGITS:
                return int(bare)
        elif option is float:
            if _FLOAT.fullmatch(bare) and len(bare) <= MAX_INT_DIGITS:
                return float(bare)
        elif option is str:
            return value
    return value  # wrong type: validate() says what is allowed


def _fits(value, option) -> bool:
    if option is type(None):
        return value is None
    if typing.get_origin(option) is Literal:
        return isinstance(value, str | int | bool) and value in typing.get_args(option) and not (
            isinstance(value, bool) and not any(isinstance(v, bool) for v in typing.get_args(option)))
    if option is bool:
        return isinstance(value, bool)
    if option is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if option is float:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if option is str:  # a model name or a path: never empty, never with a NUL (no file has one)
        return isinstance(value, str) and bool(value.strip()) and "\x00" not in value
    return True


def shown(value, typed: str | None = None) -> str:
    """A parameter's value in a message: as the user typed it, a number bare (``2``, not the ``2.0`` it became), any
    other text quoted (``'auc'``, ``''``)."""
    if typed is None:
        text = repr(value)
    else:
        text = typed if _INT.fullmatch(typed) or _FLOAT.fullmatch(typed) else repr(typed)
    # a value as long as a file (a tampered record, a pasted text) is named, not echoed
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}... ({len(text):,} characters)"


SHOWN = 200


def check_field(params_type: type, name: str, value, typed: str | None = None) -> None:
    """One field's value against its type and range (not the class's own ``check()``, which sees every field);
    ``typed``: the text the value came from, quoted in the message."""
    f = {f.name: f for f in dataclasses.fields(params_type)}[name]
    _check_field(f, typing.get_type_hints(params_type)[name], value, typed, params_type.__qualname__)


def _check_field(f, hint, value, typed: str | None, owner: str) -> None:
    meta = f.metadata
    allowed = _describe(hint, meta)
    if not any(_fits(value, option) for option in _options(hint)):
        raise EmobenchError(f"parameter {f.name}={shown(value, typed)} ({owner}): expected {allowed}")
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return
    for key, ok in (("gt", lambda b: value > b), ("ge", lambda b: value >= b), ("lt", lambda b: value < b),
                    ("le", lambda b: value <= b)):
        if meta.get(key) is not None and not ok(meta[key]):
            raise EmobenchError(f"parameter {f.name}={shown(value, typed)} ({owner}): expected {allowed}")


def validate(params, typed: dict[str, str] | None = None) -> None:
    """Check every field against its type, choices and range, then the class's own ``check()``. ``typed``: the
    command-line text of fields given as strings, quoted in messages instead of the values they became."""
    typed = typed or {}
    hints = typing.get_type_hints(type(params), include_extras=False)
    name = type(params).__qualname__
    for f in dataclasses.fields(params):
        _check_field(f, hints[f.name], getattr(params, f.name), typed.get(f.name), name)
    check = getattr(params, "check", None)
    if check is not None:
        problem = check()
        if problem:
            for field_name, text in typed.items():  # "char_ngram_max=2" where the user wrote "2.0": the typed text
                value = getattr(params, field_name, None)
                forms = "|".join(re.escape(v) for v in sorted({str(value), repr(value)}, key=len, reverse=True))
                problem = re.sub(rf"(?<![\w.]){re.escape(field_name)}=(?:{forms})(?![\w.])",
                                 lambda _, n=field_name, t=text: f"{n}={shown(None, t)}", problem)
            raise EmobenchError(f"{problem} ({name})")


def params_from_dict(params_type: type, values: dict) -> Any:
    """Build and validate a Params dataclass from a dict of values or command-line strings."""
    fields = {f.name: f for f in dataclasses.fields(params_type)}
    hints = typing.get_type_hints(params_type)
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            raise EmobenchError(
                f"unknown parameter {key!r} for {params_type.__qualname__}; expected one of {', '.join(fields)}"
            )
        kwargs[key] = _coerce(value, hints[key])
    params = params_type(**kwargs)
    validate(params, {k: v for k, v in values.items() if isinstance(v, str)})
    return params


def coerce_field(params_type: type, name: str, value):
    """A command-line string as the type of field ``name`` (validated with the rest of the parameters later)."""
    return _coerce(value, typing.get_type_hints(params_type)[name])


def describe_params(params_type: type) -> list[tuple[str, str, str]]:
    """(name, default, allowed values) of every field, for help texts."""
    hints = typing.get_type_hints(params_type)
    return [(f.name, repr(f.default), _describe(hints[f.name], f.metadata)) for f in dataclasses.fields(params_type)]


# ---------------------------------------------------------------- command-line options of configuration fields

DEFAULT = object()  # an option's default is its field's default


@dataclasses.dataclass(frozen=True)
class Option:
    """A command-line option that sets a configuration field: the command line is generated from these, so a
    flag, its help and its default are said once, beside the field they set. ``parse`` turns the typed value
    into field values (``{field: value}``), given the flag as spelled and the other values given."""

    name: str  # the command's parameter name (train_file: --train-file)
    help: str
    default: Any = DEFAULT
    kind: type = str  # str, bool or int as typed on the command line
    optional: bool = False  # no value: None
    bounds: dict | None = None  # an int option's range: low, high, what (the CLI's number())
    parse: Any = None  # (value, flag, values) -> {field: value}; default: {the field: value}
    also: tuple[str, ...] = ()  # other fields the option sets besides its own

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def option_field(*options: Option, **field_kwargs):
    """A dataclass field that the command line sets through ``options`` (most fields: one option of their name)."""
    return dataclasses.field(metadata={"options": options}, **field_kwargs)


def field_options(config_type: type) -> dict[str, tuple[Option, tuple[str, ...]]]:
    """option name -> (the option with its default filled in, the fields it sets), in field order."""
    out = {}
    for f in dataclasses.fields(config_type):
        for opt in f.metadata.get("options", ()):
            default = opt.default
            if default is DEFAULT:
                default = f.default_factory() if f.default is dataclasses.MISSING else f.default
            out[opt.name] = (dataclasses.replace(opt, default=default), (f.name, *opt.also))
    return out
