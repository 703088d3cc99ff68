"""A tuning's search space: ``--space`` values parsed and checked against the family's parameters, and each
dimension drawn for a trial. A dimension is ``[kind, low, high]`` (kind ``int``, ``float``, ``int-log`` or
``float-log``) or ``["choice", [values]]``, as ``tune.json`` records it."""
from __future__ import annotations

import dataclasses
import math
import re
import types
import typing

from ..errors import EmobenchError, option
from ..models.registry import ModelSpec, resolve
from ..params import check_field, coerce_field

NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(nan|inf|infinity)", re.IGNORECASE)


def parse_space(pairs: list[str], model: str | ModelSpec) -> dict:
    """``name=low:high[:log]`` (numbers) or ``name=a,b,c`` (choices), for a parameter of ``model``'s family. Every
    bound and choice is checked against the parameter's type and range here, so a refusal quotes what was typed; a
    parameter searched twice, an integer parameter with fractional bounds, or a non-finite bound is refused."""
    spec = model if isinstance(model, ModelSpec) else resolve(model)
    params_type = spec.family_class.Params
    fields = {f.name: f for f in dataclasses.fields(params_type)}
    hints = typing.get_type_hints(params_type)
    space = {}
    for pair in pairs or []:
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        key = spec.aliases.get(key, key)
        if not sep or key not in fields:
            raise EmobenchError(f"{option('space')} {pair!r}: expected name=low:high[:log] or name=a,b,c with a parameter of "
                                f"{params_type.__qualname__} ({', '.join(fields)})")
        if key in space:
            raise EmobenchError(f"{option('space')} {pair!r}: {key} is searched twice; give one {option('space')} per "
                                "parameter")
        hint = hints[key]
        kinds = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
        integer = int in kinds and float not in kinds
        if ":" in text and (integer or float in kinds):
            space[key] = _range(params_type, key, pair, text, integer)
        else:
            space[key] = _choices(params_type, key, pair, text)
    return space


def _range(params_type: type, key: str, pair: str, text: str, integer: bool) -> list:
    """``low:high[:log]``: finite numbers (integers for an integer parameter), low < high, each a valid value."""
    parts = [part.strip() for part in text.split(":")]
    if len(parts) not in (2, 3):
        raise EmobenchError(f"{option('space')} {pair!r}: expected numbers low:high[:log]")
    bounds = [_bound(pair, key, part, integer) for part in parts[:2]]
    low, high = bounds
    scale = parts[2] if len(parts) > 2 else "linear"
    if not low < high or scale not in ("linear", "log") or (scale == "log" and low <= 0):
        raise EmobenchError(f"{option('space')} {pair!r}: expected low < high (and low > 0 for log)")
    for typed, number in zip(parts[:2], bounds):
        try:
            check_field(params_type, key, int(number) if integer else number, typed)
        except EmobenchError as exc:
            raise EmobenchError(f"{option('space')} {pair!r}: {exc}") from None
    kind = "int" if integer else "float"
    return [f"{kind}-log" if scale == "log" else kind, low, high]


def _bound(pair: str, key: str, text: str, integer: bool) -> float:
    if integer and not re.fullmatch(r"[+-]?[0-9]{1,15}", text):
        raise EmobenchError(f"{option('space')} {pair!r}: {key} is an integer parameter; expected integer "
                            "bounds low:high[:log]")
    try:
        number = float(text) if NUMBER.fullmatch(text) else None
    except ValueError:
        number = None
    if number is None:
        raise EmobenchError(f"{option('space')} {pair!r}: expected numbers low:high[:log]")
    if not math.isfinite(number):
        raise EmobenchError(f"{option('space')} {pair!r}: {text} is not a finite number; expected numbers "
                            "low:high[:log]")
    return number


def _choices(params_type: type, key: str, pair: str, text: str) -> list:
    """``a,b,c``: each a valid value of the parameter; a value given twice counts once."""
    texts = [v.strip() for v in text.split(",") if v.strip()]
    if not texts:
        raise EmobenchError(f"{option('space')} {pair!r}: no choices; expected name=a,b,c or name=low:high[:log]")
    choices = {}
    for typed in texts:
        value = coerce_field(params_type, key, typed)
        try:
            check_field(params_type, key, value, typed)
        except EmobenchError as exc:
            raise EmobenchError(f"{option('space')} {pair!r}: {exc}") from None
        choices.setdefault((type(value), value), value)
    return ["choice", list(choices.values())]


def suggest(trial, name: str, dimension: list):
    """The value of one dimension Optuna draws for a trial."""
    kind = dimension[0]
    if kind == "choice":
        return trial.suggest_categorical(name, dimension[1])
    low, high = dimension[1], dimension[2]
    if kind.startswith("int"):
        return trial.suggest_int(name, int(low), int(high), log=kind.endswith("log"))
    return trial.suggest_float(name, low, high, log=kind.endswith("log"))


def corners(space: dict) -> list[dict]:
    """Every bound and choice of the space, one parameter at a time: each must be a valid configuration."""
    out = []
    for name, dimension in space.items():
        values = dimension[1] if dimension[0] == "choice" else [dimension[1], dimension[2]]
        out += [{name: value if not isinstance(value, float) or not dimension[0].startswith("int") else int(value)}
                for value in values]
    return out
