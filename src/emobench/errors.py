"""The exception types a user sees as a clear message instead of a traceback.

Messages name the parameters of the Python API (``seed``, ``output_dir``), written as :func:`option` marks;
``str(error)`` spells them as parameter names and the command line spells them as its flags (``--seed``,
``--output-dir``), so the library never assumes it was called from the CLI.
"""
from __future__ import annotations

import re
from collections.abc import Callable

_MARK = "\x1f"  # unit separator: never in a message otherwise
_OPTION = re.compile(f"{_MARK}([A-Za-z_][A-Za-z0-9_]*){_MARK}")


def option(name: str) -> str:
    """A parameter named in a message: ``seed`` through the API, ``--seed`` on the command line."""
    return f"{_MARK}{name}{_MARK}"


def spell(message: str, how: Callable[[str], str] = lambda name: name) -> str:
    """``message`` with every :func:`option` mark written by ``how`` (default: the parameter name)."""
    return _OPTION.sub(lambda m: how(m.group(1)), message)


def renamed(exc: "EmobenchError", prefix: str, names) -> "EmobenchError":
    """``exc`` with the parameters in ``names`` spelled as ``prefix + name``: an error about the second dataset of a
    command names its own options (``--transfer-label-columns``, not ``--label-columns``)."""
    message = exc.args[0] if exc.args else ""
    marked = _OPTION.sub(lambda m: option(prefix + m.group(1)) if m.group(1) in names else m.group(0), message)
    return EmobenchError(marked)


class EmobenchError(Exception):
    """An error caused by input or configuration; the CLI prints its message and exits with code 2."""

    def __str__(self) -> str:
        return spell(super().__str__())

    def render(self, how: Callable[[str], str]) -> str:
        return spell(self.args[0] if self.args else "", how)


class EmobenchWarning(UserWarning):
    """A loud, recorded warning; like errors, it names API parameters (the CLI spells them as flags)."""

    def __str__(self) -> str:
        return spell(super().__str__())


class DataError(EmobenchError):
    """Bad input data: the message names the file, the line or field, and what was expected."""

    def __init__(self, message: str, path=None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        super().__init__(where + message)
        self.path = path
        self.line = line


class RecordError(EmobenchError):
    """A folder emobench wrote (run, model, export, comparison, tuning) that is incomplete, edited or not
    emobench's: the message names the file and the field."""


class TrainingDiverged(EmobenchError):
    """The training loss became NaN or infinite: nothing of the run is worth resuming."""


class UnknownSplitError(EmobenchError, KeyError):
    """A split name the dataset does not have (a KeyError too, for mapping-style callers)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return spell(str(self.args[0]))
