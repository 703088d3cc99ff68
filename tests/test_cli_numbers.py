"""Every numeric option of every command is range-checked, NaN and infinities refused: one ``error:`` line naming the
option and the value as typed, exit 2 (``serve --batch-wait-ms 1e12`` made every request wait forever)."""
import math
import typing

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.main import get_command
from typer.testing import CliRunner

from emobench.cli import app, click_errors

runner = CliRunner()
ROOT = get_command(app)


def commands(group=ROOT, path=()):
    for name, command in getattr(group, "commands", {}).items():
        if getattr(command, "commands", None):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


def _annotation(param):
    annotation = param.type_descriptor.annotation
    return next((a for a in typing.get_args(annotation) if a is not type(None)), annotation)


def _bounded(param):
    return getattr(param.type_descriptor.parameter_info.parser, "bounded", None)


def numeric_options():
    return [(path, command, param, _bounded(param)) for path, command in commands() for param in command.params
            if _bounded(param) is not None]


OPTIONS = numeric_options()
ARGUMENTS = {"predict": ["run"], "explain": ["run", "text"], "export": ["run"], "serve": ["run"], "evaluate": ["run"],
             "report": ["c"], "distill": ["teacher"], "suggest": ["--unlabeled", "u.txt", "--model", "run"],
             "review": ["a.json"]}


def test_every_numeric_option_is_bounded():
    """No option parses an int or float without bounds: click's INT and FLOAT types (and its ranges, which let NaN
    through) are not used; every numeric option goes through cli.number()."""
    loose = [f"{' '.join(path)} {param.opts[0]}" for path, command in commands() for param in command.params
             if _annotation(param) in (int, float) and _bounded(param) is None]
    assert not loose, loose
    assert len(OPTIONS) >= 15
    named = {(" ".join(path), param.opts[0]) for path, _, param, _ in OPTIONS}
    for expected in (("serve", "--batch-wait-ms"), ("serve", "--port"), ("tune", "--timeout"), ("tune", "--trials"),
                     ("train", "--seed"), ("compare", "--seeds"), ("train", "--split-seed"), ("data audit", "--folds"),
                     ("predict", "--chunk-size")):
        assert expected in named, expected


def _parse(path, command, flag, value):
    args = [*ARGUMENTS.get(path[-1], []), flag, value]
    return command.make_context(" ".join(path), args)


numbers = st.one_of(st.integers(-10**30, 10**30).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "1e12", "1e-320", "-0", "0x10", "1_000", "",
                                     " 5 ", "5.5", "five", "٣", "1e400"]),
                    st.text(max_size=8))


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(index=st.integers(0, len(OPTIONS) - 1), value=numbers)
@example(index=next(i for i, o in enumerate(OPTIONS) if o[2].opts[0] == "--batch-wait-ms"), value="1e12")
@example(index=next(i for i, o in enumerate(OPTIONS) if o[2].opts[0] == "--batch-wait-ms"), value="nan")
def test_any_value_of_a_numeric_option_is_parsed_or_refused_clearly(index, value):
    path, command, param, bounded = OPTIONS[index]
    flag = param.opts[0]
    try:
        context = _parse(path, command, flag, value)
    except click_errors.BadParameter as exc:
        message = exc.format_message()
        assert message.startswith(f"{flag} ") and ": expected " in message, message
        return
    parsed = context.params[param.name]
    assert isinstance(parsed, bounded.kind) and not isinstance(parsed, bool)
    assert math.isfinite(parsed)
    assert bounded.low is None or (parsed > bounded.low if bounded.low_open else parsed >= bounded.low)
    assert bounded.high is None or parsed <= bounded.high


@pytest.mark.parametrize("args, message", [
    (["serve", "run", "--batch-wait-ms", "nan"], "--batch-wait-ms nan: expected a finite number"),
    (["serve", "run", "--batch-wait-ms", "1e12"], "--batch-wait-ms 1e12: expected milliseconds from 0 to 10,000"),
    (["serve", "run", "--port", "0"], "--port 0: expected an integer from 1 to 65,535"),
    (["tune", "--timeout", "inf"], "--timeout inf: expected a finite number"),
    (["train", "--seed", "-1"], "--seed -1: expected a seed from 0 to 4,294,967,295"),
    (["compare", "--seeds", "0"], "--seeds 0: expected an integer from 1 to 1,000"),
    (["train", "--bogus"], "No such option: --bogus (see "),
])
def test_the_command_line_says_one_error_line(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [f"error: {message}"] or (len(lines) == 1 and lines[0].startswith(f"error: {message}")), result.output


@pytest.mark.parametrize("args, message", [
    (["train", "--set", "epochs=3", "--set", "epochs=5"], "--set epochs is given twice ('3' and '5')"),
    (["compare", "--models", "tfidf,lstm", "--set", "lstm.epochs=3", "--set", "epochs=5"],
     "lstm's epochs is also set by another --set ('3')"),
])
def test_a_parameter_set_twice_is_refused(args, message):
    """The last value winning would train on a value the user may not mean."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and message in result.output, result.output
