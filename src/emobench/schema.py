"""What every typed value and record shares: pydantic models validated strictly (types, ranges, no unknown
fields), errors that name the file and the field, and the field types several records use. On the bottom floor, so
that the producers (data, evaluation, training) return the very types the records embed."""
from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from .errors import RecordError

Task = Literal["single_label", "multi_label"]
FORMAT = 3  # 3: folders carry a manifest; 2 (emobench 0.2): data-only files, no manifest
_PLAIN_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=@-]*$")


class Record(BaseModel):
    """Strict: a string where a number belongs, an unknown key or a missing one is an error."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_default=False)

    def dump(self) -> dict:
        return self.model_dump(mode="json", exclude_none=False)


class OpenRecord(Record):
    """A record that keeps keys it does not know (metrics, facts about a model): they are carried, never used."""

    model_config = ConfigDict(extra="allow", strict=True)


def _plain_file(value: str) -> str:
    if not _PLAIN_FILE.match(value) or ".." in value:
        raise ValueError(f"{value!r}: expected a plain file name inside the folder (no '/', no '..', not absolute)")
    return value


def _unique_names(values: list[str]) -> list[str]:
    seen = set()
    for value in values:
        if not value.strip():
            raise ValueError("a label name is empty")
        if value in seen:
            raise ValueError(f"label {value!r} appears twice; label names must be unique")
        seen.add(value)
    return values


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{value!r}: expected a finite number")
    return value


def _named(value: str) -> str:
    if not value.strip() or not value.isprintable():
        raise ValueError(f"{value[:100]!r}: expected a name (not blank, no control characters)")
    return value


FileName = Annotated[str, AfterValidator(_plain_file)]
Name = Annotated[str, Field(min_length=1, max_length=1000), AfterValidator(_named)]  # a model, family or dataset name
LabelNames = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1), AfterValidator(_unique_names)]
Finite = Annotated[float, AfterValidator(_finite)]
Share = Annotated[float, Field(ge=0, le=1)]
Count = Annotated[int, Field(ge=0)]
AnyDict = dict[str, Any]


def where_of(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not part or part != part.strip() or not part.isprintable() or len(part) > 100:
            out += f"[{part[:100]!r}]"  # a key that would not read as one (empty, spaces, control characters)
        else:
            out += f".{part}" if out else str(part)
    return out or "(the whole file)"


def validate(model: type[BaseModel], data: Any, where) -> Any:
    """``data`` as a ``model``; the first problem is an error naming ``where`` (the file) and the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        message = first["msg"].removeprefix("Value error, ")
        loc = where_of(first["loc"]) if first["loc"] else None
        named = re.match(r"^([A-Za-z_](?:[\w.-]|\[[^\]]*\])*): (.*)$", message, re.S)
        if named and (loc is None or not first["loc"] or first["type"] == "value_error"):
            # a rule across fields names the field it is about: "decision.thresholds: ..."
            loc = f"{loc}.{named.group(1)}" if loc and first["loc"] else named.group(1)
            message = named.group(2)
        count = exc.error_count()
        more = f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else ""
        raise RecordError(f"{where}: field {loc or '(the whole file)'}: {message}{more}; the file was edited or is not "
                          "emobench's") from None


def shorten(value) -> str:
    """A value quoted in a record error: its repr, cut after 60 characters when longer than 80."""
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + f"... ({len(text)} characters)"


def check(condition: bool, where, field: str, message: str) -> None:
    """A cross-field rule of a record."""
    if not condition:
        raise RecordError(f"{where}: field {field}: {message}; the file was edited or is not emobench's")


def record_of(cls: type, name: str | None = None) -> type[Record]:
    """A strict record with the fields (types and defaults) of the dataclass ``cls``, so a configuration saved
    as JSON is validated against the very class that is built from it."""
    import dataclasses
    import typing

    from pydantic import create_model

    hints = typing.get_type_hints(cls)
    fields = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            fields[f.name] = (hints[f.name], f.default)
        elif f.default_factory is not dataclasses.MISSING:
            fields[f.name] = (hints[f.name], Field(default_factory=f.default_factory))
        else:
            fields[f.name] = (hints[f.name], ...)
    return create_model(name or f"{cls.__name__}Record", __base__=Record, **fields)
