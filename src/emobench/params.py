"""Typed hyper-parameters: every family's ``Params`` is a dataclass whose choices are ``Literal`` types and
whose ranges are declared with :func:`param`. :func:`params_from_dict` builds one from strings (the command
line) or JSON (a saved run) and validates every field before any work starts."""
from __future__ import annotations

import dataclasses
import math
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
            parts.append({int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(option, str(option)))
    bounds = []
    for key, symbol in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
        if meta.get(key) is not None:
            bounds.append(f"{symbol} {meta[key]}")
    text = " or ".join(parts)
    return text + (" " + " and ".join(bounds) if bounds else "")


def _coerce(value, hint):
    """A command-line string as the field's type; other values pass through (validated later)."""
    if not isinstance(value, str):
        return value
    options = _options(hint)
    if type(None) in options and value.strip().lower() in ("none", "null", ""):
        return None
    for option in options:
        if typing.get_origin(option) is Literal and value in typing.get_args(option):
            return value
    for option in options:
        try:
            if option is bool:
                if value.lower() in ("true", "1", "yes"):
                    return True
                if value.lower() in ("false", "0", "no"):
                    return False
            elif option is int:
                return int(value)
            elif option is float:
                return float(value)
            elif option is str:
                return value
        except ValueError:
            continue
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
    if option is str:
        return isinstance(value, str)
    return True


def validate(params) -> None:
    """Check every field against its type, choices and range, then the class's own ``check()``."""
    hints = typing.get_type_hints(type(params), include_extras=False)
    name = type(params).__qualname__
    for f in dataclasses.fields(params):
        value, hint, meta = getattr(params, f.name), hints[f.name], f.metadata
        allowed = _describe(hint, meta)
        if not any(_fits(value, option) for option in _options(hint)):
            raise EmobenchError(f"parameter {f.name}={value!r} ({name}): expected {allowed}")
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        for key, ok in (("gt", lambda b: value > b), ("ge", lambda b: value >= b), ("lt", lambda b: value < b),
                        ("le", lambda b: value <= b)):
            if meta.get(key) is not None and not ok(meta[key]):
                raise EmobenchError(f"parameter {f.name}={value!r} ({name}): expected {allowed}")
    check = getattr(params, "check", None)
    if check is not None:
        problem = check()
        if problem:
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
    validate(params)
    return params


def coerce_field(params_type: type, name: str, value):
    """A command-line string as the type of field ``name`` (validated with the rest of the parameters later)."""
    return _coerce(value, typing.get_type_hints(params_type)[name])


def describe_params(params_type: type) -> list[tuple[str, str, str]]:
    """(name, default, allowed values) of every field, for help texts."""
    hints = typing.get_type_hints(params_type)
    return [(f.name, repr(f.default), _describe(hints[f.name], f.metadata)) for f in dataclasses.fields(params_type)]
