"""The command line's infrastructure: range-checked numbers, usage errors as one ``error:`` line and exit code 2,
an option given twice refused, library errors and warnings as one line each, and the consoles.

Text from data (label names, texts, paths) is never read as rich markup.
"""
from __future__ import annotations

import contextlib
import os
import sys
import warnings

import typer
import typer.core
from rich.console import Console

from ..data.config import SEED
from ..errors import EmobenchError, spell
from ..reporting.console import escape

try:  # typer 0.2x carries its own copy of click: its exception classes are the ones raised
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - an older typer on the real click
    from click import exceptions as click_errors

__all__ = ["Bounded", "EmobenchGroup", "OptionValueError", "SEED", "click_errors", "console", "err", "error", "escape",
           "explicit", "flag", "number", "say", "show", "terminate", "user_errors"]


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


class EmobenchGroup(typer.core.TyperGroup):
    """Usage errors (an unknown option, a value an option does not take) end like every other error: one ``error:``
    line on standard error and exit code 2; an option that takes one value given twice is one of them (the last one
    winning would run with a value the user may not mean: ``--seed 1 --seed 2``)."""

    def parse_args(self, ctx, args):
        _refuse_repeated(self, self._own_args(args), ctx.command_path)  # --threads 2 --threads 1 as well
        return super().parse_args(ctx, args)

    def _own_args(self, args: list[str]) -> list[str]:
        """The group's own options: what comes before the command's name."""
        takes_value = {flag for p in self.params if not getattr(p, "is_flag", False) for flag in p.opts}
        skip = False
        for i, arg in enumerate(args):
            if not skip and arg in self.commands:
                return args[:i]
            skip = arg in takes_value and not skip
        return list(args)

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
            error(exc.format_message() + (f" (see {command} --help)" if isinstance(exc, click_errors.UsageError) else ""))
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


def terminate(signum, frame):
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
                from ..data.text import printable

                err.print("[yellow]warning:[/] ", end="")
                err.print(printable(as_flags(str(raw))), markup=False)

        warnings.showwarning = show
        try:
            yield
        except EmobenchError as exc:
            error(exc.render(flag))
            raise typer.Exit(2) from None
        except OSError as exc:  # disk full, permissions, a folder where a file was expected, ...
            where = f"{exc.filename}: " if exc.filename else ""
            error(f"{where}{exc.strerror or exc}")
            raise typer.Exit(2) from None
        except Terminated:
            err.print("[yellow]terminated[/]")
            raise typer.Exit(143) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None


def error(message: str) -> None:
    from ..data.text import printable

    err.print("[bold red]error:[/] ", end="")
    err.print(printable(message), markup=False)


def say(text: str) -> None:
    """Plain text on standard output, never interpreted as markup, control characters shown as escapes."""
    from ..data.text import printable

    console.print(printable(text), markup=False)


def explicit(ctx: typer.Context, name: str) -> bool:
    """The user typed the option (its value is not the default)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def show(rendering) -> None:
    """A rendering of reporting/console.py: its tables and lines on standard output, its warnings on standard error."""
    for kind, value in rendering:
        if kind == "rich":
            console.print(value)
        elif kind == "warning":
            err.print("[yellow]warning:[/] ", end="")
            err.print(value, markup=False)
        else:
            say(value)
