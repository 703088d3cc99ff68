"""Property-based tests of the dataset and model options on the command line (Hypothesis): ``--set key=value`` for
every family's parameters, ``--train-size`` and ``compare --train-sizes``, ``--label-map`` files and ``tune --space``.

Every invocation either is refused before any training, or is accepted and then stops at once on data that is not
there (``--dataset`` names a missing file in the case's folder): that error, naming the data file, is how an accepted
configuration is told from a refused one. A refusal is exit code 2 with exactly one ``error:`` line that names the
option or the parameter, and quotes values only as they were typed; never a traceback, never a file written or opened
outside the case's folder. Expected outcomes come from an oracle written here from the documented rules, not from the
code under test. Runs are bounded, counted and reproducible as in test_generated_readers.py."""
from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

from hypothesis import example, given, note
from hypothesis import strategies as st
from typer.testing import CliRunner

from emobench.cli import app
from emobench.data import DatasetConfig, load_dataset
from emobench.data.budgets import parse_size
from emobench.errors import EmobenchError
from emobench.models.registry import family_class, params_type, resolve
from generated import COUNTS, bounded, case_folder, counted
from test_generated_readers import assert_one_error_line, watched

runner = CliRunner()
MODELS = ["tfidf", "lstm", "lstm-paper", "minilm", "setfit", "static", "majority", "stack"]  # `emobench models`, one per family


def invoke(case: Path, args: list[str]):
    with watched(case):
        result = runner.invoke(app, args, catch_exceptions=True)
    if isinstance(result.exception, Exception) and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback: the property is broken
    note(f"args: {args!r}\noutput: {result.output}")
    return result


def stopped_on_missing_data(result, case: Path, counting: str) -> bool:
    """Accepted: the run went on to read the data, which is not there."""
    line = assert_one_error_line(result)
    accepted = line == f"error: {case / 'missing.csv'}: file not found"
    COUNTS[f"{counting}:{'accepted' if accepted else 'refused'}"] += 1
    return accepted


# ---------------------------------------------------------------- the oracle of one typed value

def _options(hint) -> tuple:
    return typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)


ASCII_INT = re.compile(r"[+-]?[0-9]+")
ASCII_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def in_range(value, meta: dict) -> bool:
    return all(meta.get(k) is None or op(value, meta[k]) for k, op in (
        ("gt", lambda v, b: v > b), ("ge", lambda v, b: v >= b), ("lt", lambda v, b: v < b), ("le", lambda v, b: v <= b)))


def read_value(hint, meta: dict, typed: str):
    """(True, value) where the documented rules read ``typed`` as a valid value of the field, else (False, None):
    none/null/empty for an optional field, a Literal choice, true/1/yes and false/0/no, plain ASCII integers and
    decimals (finite, within the declared range), a non-empty string."""
    bare = typed.strip()
    options = _options(hint)
    if type(None) in options and bare.lower() in ("none", "null", ""):
        return True, None
    for option in options:
        if typing.get_origin(option) is Literal and bare in typing.get_args(option):
            return True, bare
    for option in options:
        if option is bool and bare.lower() in ("true", "1", "yes", "false", "0", "no"):
            return True, bare.lower() in ("true", "1", "yes")
        if option is int and ASCII_INT.fullmatch(bare) and len(bare) <= 4000:
            value = int(bare)
            return (True, value) if in_range(value, meta) else (False, None)
        if option is float and (ASCII_DECIMAL.fullmatch(bare) or bare.lower().lstrip("+-") in ("nan", "inf", "infinity")):
            try:
                exact = Decimal(bare)
            except InvalidOperation:
                return False, None
            if not exact.is_finite():
                return False, None
            value = float(bare)
            return (True, value) if value == value and abs(value) != float("inf") and in_range(value, meta) else (False, None)
        if option is str:
            return (True, typed) if typed.strip() and "\x00" not in typed else (False, None)
    return False, None


def as_shown(text: str) -> list[str]:
    """How a typed value appears in a message: bare or quoted, and past 200 characters cut, with its length said
    (emobench/params.py shown)."""
    from emobench.params import SHOWN

    forms = [text, repr(text)]
    return [f if len(f) <= SHOWN else f"{f[:SHOWN]}... ({len(f):,} characters)" for f in forms]


def quoted_as_typed(line: str, key: str, typed: str) -> bool:
    return any(f"{key}={form}" in line for form in as_shown(typed))


def assert_quotes_only_typed(line: str, typed: dict[str, str]) -> None:
    """Where the message shows ``key=value`` for a parameter the user set, the value is what was typed (the first
    time: a hint may follow, "or char_ngram_max=0 for none")."""
    for key, text in typed.items():
        match = re.search(rf"(?<![\w.]){re.escape(key)}=", line)
        if match:
            rest = line[match.end():]
            assert any(rest.startswith(form) for form in as_shown(text)), (key, text, line)


# ---------------------------------------------------------------- values as typed

def literal_spellings(model: str) -> list[str]:
    out = []
    hints = typing.get_type_hints(params_type(model))
    for hint in hints.values():
        for option in _options(hint):
            if typing.get_origin(option) is Literal:
                for choice in typing.get_args(option):
                    out += [choice, choice.upper(), f" {choice}", f"{choice}x"]
    return out


NUMBER_SPELLINGS = ["-0", "+0", "0.0", "-0.0", "1e400", "-1e400", "1e-400", "NaN", "nan", "-nan", "inf", "-inf", "Infinity",
                    "1_000", "0x10", "1,5", "\u0663", "\uff11", " 5 ", "5 ", "+3", ".5", "5.", "1e3", "2.5e-1", "0.3", "0.99",
                    "1", "2", "3", "8", "64", "-1", "0", "1.0", "2.0", "1e-05", "0.00001", "9" * 20, "9" * 4301]
WORD_SPELLINGS = ["", " ", "none", "None", "null", "NULL", "true", "True", "TRUE", "yes", "Yes", "y", "on", "off", "false",
                  "no", "No", "t", "f", "balanced", "svm", "adam", "café", "caf\udce9", "a\nb", "x" * 300, "\x00",
                  "/nonexistent/glove.txt", "sentence-transformers/all-MiniLM-L6-v2"]


def typed_values(model: str):
    return st.one_of(
        st.sampled_from(NUMBER_SPELLINGS), st.sampled_from(WORD_SPELLINGS), st.sampled_from(literal_spellings(model)),
        st.integers(-5, 10**7).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.floats(0, 1).map(lambda f: f"{f:.6f}"), st.text(max_size=10),
    )


def plausible_values(model: str, key: str):
    """Values a user would mean as valid for the field (in range, each type's spellings), to balance the junk."""
    cls = family_class(resolve(model).family)
    key = getattr(cls, "ALIASES", {}).get(key, key)
    fields = {f.name: f for f in dataclasses.fields(cls.Params)}
    if key not in fields:
        return typed_values(model)
    meta, out = fields[key].metadata, []
    for option in _options(typing.get_type_hints(cls.Params)[key]):
        if option is type(None):
            out.append(st.sampled_from(["none", "null", "None", ""]))
        elif typing.get_origin(option) is Literal:
            out.append(st.sampled_from(typing.get_args(option)).flatmap(lambda c: st.sampled_from([c, f" {c} "])))
        elif option is bool:
            out.append(st.sampled_from(["true", "false", "True", "FALSE", "1", "0", "yes", "no", " yes"]))
        elif option is int:
            low = meta.get("ge") if meta.get("ge") is not None else (meta["gt"] + 1 if meta.get("gt") is not None else -5)
            high = meta.get("le") if meta.get("le") is not None else (meta["lt"] - 1 if meta.get("lt") is not None else low + 500)
            out.append(st.integers(low, high).flatmap(lambda n: st.sampled_from([str(n), f"+{n}" if n >= 0 else str(n),
                                                                                 f" {n}", f"{n:03d}"])))
        elif option is float:
            low = bound(meta, "ge", "gt")
            low = -5.0 if low is None else float(low)
            high = bound(meta, "le", "lt")
            high = low + 10.0 if high is None else float(high)
            numbers = st.floats(low, high, exclude_min=meta.get("gt") is not None, exclude_max=meta.get("lt") is not None)
            out.append(numbers.flatmap(lambda x: st.sampled_from([repr(x), f"{x:.3g}", f"{x:e}", f"{x:.12f}"])))
        elif option is str:
            out.append(st.sampled_from(["none", "/tmp/nonexistent-model", MINILM, "café", "a b"]))
    return st.one_of(out)


MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def bound(meta: dict, inclusive: str, exclusive: str):
    return meta[inclusive] if meta.get(inclusive) is not None else meta.get(exclusive)


def parameter_keys(model: str):
    fields = [f.name for f in dataclasses.fields(params_type(model))]
    aliases = list(getattr(family_class(resolve(model).family), "ALIASES", {}))
    return st.one_of(st.sampled_from(fields), st.sampled_from(fields).map(lambda k: k.replace("_", "-")),
                     st.sampled_from(aliases or fields), st.sampled_from(["epoch", "Dropout", "lstm.epochs", "C ", "", " "]))


# ---------------------------------------------------------------- --set key=value

@st.composite
def set_cases(draw):
    model = draw(st.sampled_from(MODELS))
    keys = draw(st.lists(parameter_keys(model), min_size=1, max_size=3))
    raw = []
    for key in keys:
        plausible = draw(st.integers(0, 9)) < 6
        value = draw(plausible_values(model, key.strip().replace("-", "_")) if plausible else typed_values(model))
        raw.append(f"{key}={value}")
    if draw(st.integers(0, 9)) == 0:
        raw.append(draw(st.sampled_from(["noequals", "=3", " =3"])))
    return model, raw


def expect_set(model: str, raw: list[str]):
    """("ok", None) or ("refused", what): "pair" (not key=value), "unknown" (key), or "value" (the keys at fault)."""
    cls = family_class(resolve(model).family)
    fields = {f.name: f for f in dataclasses.fields(cls.Params)}
    hints = typing.get_type_hints(cls.Params)
    aliases = getattr(cls, "ALIASES", {})
    overrides = {}
    for pair in raw:  # in the order given: the first problem is the one said
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            return "refused", ("pair", pair)
        prefix, dot, name = key.strip().rpartition(".")
        if f"{prefix}{dot}{name.replace('-', '_')}" in overrides:
            return "refused", ("twice", key.strip())
        overrides[f"{prefix}{dot}{name.replace('-', '_')}"] = value
    typed = {}
    for key, value in overrides.items():
        if aliases.get(key, key) in typed:
            return "refused", ("same", key)
        typed[aliases.get(key, key)] = value
    unknown = [k for k in typed if k not in fields]
    if unknown:
        return "refused", ("unknown", unknown)
    bad, values = [], {}
    for key, text in typed.items():
        ok, value = read_value(hints[key], fields[key].metadata, text)
        if ok:
            values[key] = value
        else:
            bad.append(key)
    if bad:
        return "refused", ("value", bad, typed)
    params = dataclasses.replace(resolve(model).params, **values)
    if getattr(params, "check", None) and params.check():
        return "refused", ("cross", list(values), typed)
    source = getattr(params, "pretrained", None)
    # documented: a model to start from is an existing folder or a hub id (org/name), read when the run starts
    if isinstance(source, str) and not Path(source).is_dir() and not HUB_ID.fullmatch(source):
        return "refused", ("source", source)
    return "ok", None


HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")


def test_set_any_parameter_of_any_family(tmp_path):
    @bounded(400)
    @given(set_cases())
    @example(("lstm", ["dropout=2"]))  # refused quoting 2, not the 2.0 it became
    @example(("tfidf", ["C=-0"]))
    @example(("tfidf", ["char_ngram_max=2"]))  # with the default char_ngram_min=3
    @example(("lstm", ["glove="]))  # an empty path
    @example(("lstm", ["epochs=" + "9" * 5000]))  # past Python's integer-string limit
    @example(("static", ["body=org/name"]))  # an alias (a hub id: read when the run starts)
    @example(("setfit", ["body=org/a", "pretrained=org/b"]))  # one parameter under two names: one would silently win
    @example(("setfit", ["body=none", "body=none", "noequals"]))  # the first problem in the order given
    @example(("tfidf", ["max_iter=1_000"]))
    def check(case_spec):
        COUNTS["test_set_any_parameter_of_any_family"] += 1
        model, raw = case_spec
        with case_folder(tmp_path) as case:
            args = ["train", "--model", model, "--dataset", str(case / "missing.csv"), "-o", str(case / "runs"), "-q"]
            for pair in raw:
                args += ["--set", pair]
            result = invoke(case, args)
            verdict, detail = expect_set(model, raw)
            accepted = stopped_on_missing_data(result, case, "test_set_any_parameter_of_any_family")
            assert accepted == (verdict == "ok"), (verdict, detail, result.output)
            if accepted:
                return
            line = assert_one_error_line(result)
            kind = detail[0]
            if kind == "pair":
                assert "--set" in line and repr(detail[1]) in line, line
            elif kind == "twice":
                assert line.startswith(f"error: --set {detail[1]} is given twice"), line
            elif kind == "same":
                assert "name the same parameter" in line and f"{detail[1]}=" in line, line
            elif kind == "source":
                assert f"={detail[1]}" in line and ("no such model folder" in line or "hub id" in line), line
            elif kind == "unknown":
                assert "unknown parameter" in line and any(repr(k) in line for k in detail[1]), line
            elif kind == "value":
                keys, typed = detail[1], detail[2]
                assert any(quoted_as_typed(line, k, typed[k]) for k in keys), (keys, line)
                assert_quotes_only_typed(line, typed)
            else:
                assert "parameters" in line, line
                assert_quotes_only_typed(line, detail[2])

    check()
    counted("test_set_any_parameter_of_any_family", 350)


# ---------------------------------------------------------------- --train-size, compare --train-sizes

SIZE_SPELLINGS = ["all", "ALL", " all ", "al", "", " ", "0", "00", "016", "1", "-1", "-0", "+5", "1.0", "1.", "0.", ".5",
                  "0.5", "00.5", "0.50", "1e-05", "1E-5", "0.00001", "5e-1", "1e3", "1e0", "0e-3", "nan", "inf", "1/2",
                  "50%", "\u0663", "1_0", "9" * 16, "9" * 5000, "0." + "0" * 400 + "1", "0.99999999999999999999", "0.1x"]
sizes_typed = st.one_of(st.sampled_from(SIZE_SPELLINGS), st.integers(-3, 10**6).map(str),
                        st.floats(0, 1).map(repr), st.floats(0, 1).map(lambda f: f"{f:.8f}"),
                        st.decimals(0, 1, places=12, allow_nan=False, allow_infinity=False).map(str),
                        st.text(max_size=6))


def expect_size(typed: str):
    """The documented budget rules: all, texts per class (an integer >= 0; 0 is no labelled texts), a share strictly
    between 0 and 1 written as a decimal (0.1, .1) or with an exponent (1e-05); returns the value it means (None for
    all), or raises."""
    text = typed.strip().lower()
    if text == "all":
        return None
    if re.fullmatch(r"[0-9]+", text):
        if len(text.lstrip("0")) > 15:
            raise ValueError(typed)
        return int(text)
    if re.fullmatch(r"0?\.[0-9]+", text) or re.fullmatch(r"([0-9]+\.?[0-9]*|\.[0-9]+)e[+-]?[0-9]{1,4}", text):
        exact = Decimal(text)
        if 0 < exact < 1 and 0.0 < float(text) < 1.0:
            return float(text)
    raise ValueError(typed)


def test_train_size_values(tmp_path):
    @bounded(200)
    @given(sizes_typed)
    @example("0.00001")  # was refused quoting 1e-05
    @example("1e-05")
    @example("9" * 5000)
    def check(typed):
        COUNTS["test_train_size_values"] += 1
        try:
            meant, ok = expect_size(typed), True
        except ValueError:
            meant, ok = None, False
        if ok:  # the canonical string reads back as itself and means the same budget
            canonical = parse_size(typed)
            assert parse_size(canonical) == canonical
            if canonical is not None:
                assert "e" not in canonical
                assert (int(canonical) == meant) if isinstance(meant, int) else (float(canonical) == meant)
        with case_folder(tmp_path) as case:
            result = invoke(case, ["train", "--dataset", str(case / "missing.csv"), "-o", str(case / "runs"), "-q",
                                   "--train-size", typed])
            accepted = stopped_on_missing_data(result, case, "test_train_size_values")
            zero = ok and meant == 0  # a size, but not for train's default family, which needs labels
            assert accepted == (ok and not zero), (typed, result.output)
            if zero:
                assert assert_one_error_line(result).startswith("error: --train-size 0: the tfidf family does not learn "
                                                                "from no labelled texts"), result.output
            elif not accepted:
                line = assert_one_error_line(result)
                assert line.startswith(f"error: --train-size {typed!r}: "), line

    check()
    counted("test_train_size_values", 170)


def test_compare_train_sizes_lists(tmp_path):
    @bounded(80)
    @given(st.lists(sizes_typed.filter(lambda s: "," not in s), min_size=1, max_size=3))
    @example(["8", "0.00001", "all"])
    def check(sizes):
        COUNTS["test_compare_train_sizes_lists"] += 1
        typed = ",".join(sizes)
        ok, twice = all(s.strip() for s in sizes), False
        try:
            meant = [expect_size(s) for s in sizes]
            twice = len(set(meant)) != len(meant)
        except ValueError:
            ok = False
        with case_folder(tmp_path) as case:
            result = invoke(case, ["compare", "--models", "tfidf", "--dataset", str(case / "missing.csv"), "-o",
                                   str(case / "out"), "-q", "--train-sizes", typed])
            accepted = stopped_on_missing_data(result, case, "test_compare_train_sizes_lists")
            zero = ok and not twice and 0 in meant  # tfidf alone: nothing to train at 0 labelled texts
            assert accepted == (ok and not twice and not zero), (typed, result.output)
            if not accepted:
                line = assert_one_error_line(result)
                if zero:
                    assert line.startswith("error: --train-sizes 0: none of the compared models (tfidf) learns from no "
                                           "labelled texts"), line
                elif ok and twice:
                    assert line == "error: --train-sizes names a size twice", line
                else:
                    assert line.startswith(f"error: --train-sizes {typed!r}: "), line
                assert "1e-05" not in line or "1e-05" in typed, line

    check()
    counted("test_compare_train_sizes_lists", 65)


# ---------------------------------------------------------------- --label-map FILE

DATA_LABELS = ["joy", "sadness", "anger", "fear"]
DATA_ROWS = [("i am happy", "joy", "train"), ("so glad", "joy", "train"), ("so sad", "sadness", "train"),
             ("gloomy day", "sadness", "train"), ("furious", "anger", "train"), ("scared", "fear", "train"),
             ("cheerful", "joy", "validation"), ("mad", "anger", "validation"), ("blue", "sadness", "validation"),
             ("lonely", "sadness", "test"), ("afraid", "fear", "test"), ("delighted", "joy", "test")]
source_names = st.one_of(st.sampled_from(DATA_LABELS), st.sampled_from([" joy ", "Joy", "love", "", " ", "joy,fear"]))
target_names = st.one_of(st.sampled_from(["positive", "negative", "other", "joy", " positive", "", " "]), st.text(max_size=5))
map_values = st.one_of(
    st.lists(source_names, min_size=0, max_size=4), source_names,
    st.lists(st.one_of(source_names, st.integers(), st.none(), st.lists(source_names, max_size=2)), max_size=3),
    st.none(), st.integers(), st.dictionaries(st.text(max_size=3), source_names, max_size=2))
map_objects = st.one_of(st.dictionaries(target_names, map_values, max_size=4),
                        st.dictionaries(st.sampled_from(["positive", "negative", "other"]),
                                        st.lists(st.sampled_from(DATA_LABELS), min_size=1, max_size=3), min_size=1,
                                        max_size=3),
                        st.lists(source_names, max_size=3), st.text(max_size=5), st.integers(), st.none(), st.booleans())


@st.composite
def plausible_maps(draw) -> dict:
    """Each label to a target or to none, then sometimes one slip: a source twice, an unknown source, a string for a
    list, spaces around a name, one source under two targets."""
    targets = draw(st.lists(st.sampled_from(["positive", "negative", "other", "joy", "Fear", "big feeling"]), min_size=2,
                            max_size=3, unique=True))
    mapping: dict = {}
    for label in DATA_LABELS:
        target = draw(st.sampled_from(targets + [None]))
        if target is not None:
            mapping.setdefault(target, []).append(label)
    slip = draw(st.sampled_from(["none"] * 5 + ["twice", "unknown", "string", "spaces", "two targets"]))
    if mapping and slip != "none":
        target = draw(st.sampled_from(sorted(mapping)))
        if slip == "twice":
            mapping[target].append(mapping[target][0])
        elif slip == "unknown":
            mapping[target].append(draw(st.sampled_from(["love", "Joy", "surprise"])))
        elif slip == "string" and len(mapping[target]) == 1:
            mapping[target] = mapping[target][0]
        elif slip == "spaces":
            mapping[f" {target} "] = [f" {s}" for s in mapping.pop(target)]
        elif slip == "two targets":
            other = draw(st.sampled_from(["positive", "negative", "other"]))
            if other != target:
                mapping.setdefault(other, []).append(mapping[target][0])
    return mapping


@st.composite
def label_map_files(draw):
    """(kind, bytes or None): a JSON file of any shape, or damaged bytes, or not a file at all."""
    kind = draw(st.sampled_from(["json"] * 8 + ["raw", "folder", "missing", "builtin", "empty-name"]))
    if kind == "json":
        obj = draw(st.one_of(plausible_maps(), plausible_maps(), map_objects))
        text = json.dumps(obj, ensure_ascii=draw(st.booleans()))
        return kind, obj, text.encode("utf-8")
    if kind == "raw":
        raw = draw(st.sampled_from([
            b'{"positive": ["joy"], "positive": ["fear"], "negative": ["sadness"]}', b"", b"{", b"[" * 5000 + b"]" * 5000,
            b'{"a": NaN}', b'\xef\xbb\xbf{"positive": ["joy"], "negative": ["sadness", "anger", "fear"]}',
            '{"positif": ["joy"], "négatif": ["sadness"]}'.encode("latin-1"), b'{"positive": ["joy"]} trailing',
            b"\x00\x01", b'{"positive": ["joy", "joy"], "negative": ["sadness"]}']))
        return kind, None, raw
    return kind, None, None


def expect_map(obj):
    """The mapped corpus {split: [target per kept text]} with the targets, or the reason it is refused."""
    if not isinstance(obj, dict) or not obj:
        return "refused", "shape"
    mapping = {}
    for target, sources in obj.items():
        if isinstance(sources, str):
            sources = [sources]
        if not target.strip():
            return "refused", "empty target"
        if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s.strip() for s in sources):
            return "refused", "sources"
        if target.strip() in mapping:
            return "refused", "target twice"
        listed = [s.strip() for s in sources]
        if len(set(listed)) != len(listed):
            return "refused", "listed twice"
        mapping[target.strip()] = listed
    if any(s not in DATA_LABELS for sources in mapping.values() for s in sources):
        return "refused", "unknown source"
    owners = {}
    for target, sources in mapping.items():
        for s in sources:
            owners.setdefault(s, []).append(target)
    if any(len(t) > 1 for t in owners.values()):
        return "refused", "several targets"
    targets = list(mapping)
    splits = {}
    for text, label, split in DATA_ROWS:
        if label in owners:
            splits.setdefault(split, []).append(targets.index(owners[label][0]))
    if any(not splits.get(s) for s in ("train", "validation", "test")) or len(set(splits["train"])) < 2:
        return "refused", "data"
    return "ok", (targets, splits)


def test_label_map_files(tmp_path):
    @bounded(200)
    @given(label_map_files())
    @example(("json", {"positive": ["joy", "joy"], "negative": ["sadness"]},
              b'{"positive": ["joy", "joy"], "negative": ["sadness"]}'))  # was said to map to several targets
    @example(("folder", None, None))  # was said to be no such file
    @example(("json", {" positive": ["joy"], "positive": ["sadness"]}, b'{" positive": ["joy"], "positive": ["sadness"]}'))
    def check(case_spec):
        COUNTS["test_label_map_files"] += 1
        kind, obj, raw = case_spec
        with case_folder(tmp_path) as case:
            data = case / "data.csv"
            data.write_text("text,label,split\n" + "".join(f"{t},{l},{s}\n" for t, l, s in DATA_ROWS), encoding="utf-8")
            spec = str(case / "map.json")
            if kind in ("json", "raw"):
                Path(spec).write_bytes(raw)
            elif kind == "folder":
                Path(spec).mkdir()
            elif kind == "builtin":
                spec = "emotion-ekman"  # names surprise, which this data has not
            elif kind == "empty-name":
                spec = ""
            json_out = case / "audit.json"
            with watched(case, outputs=(json_out,)):
                result = runner.invoke(app, ["data", "audit", str(data), "--split-column", "split", "--label-map", spec,
                                             "--json", str(json_out)])
            if isinstance(result.exception, Exception) and not isinstance(result.exception, SystemExit):
                raise result.exception
            note(result.output)
            if kind == "json":
                verdict, detail = expect_map(obj)
            elif kind == "raw" and raw.startswith(b"\xef\xbb\xbf"):
                verdict, detail = expect_map(json.loads(raw.decode("utf-8-sig")))
            else:
                verdict, detail = "refused", kind
            COUNTS[f"test_label_map_files:{'mapped' if verdict == 'ok' else 'refused'}"] += 1
            if verdict == "ok":
                assert result.exit_code == 0, (detail, result.output)
                report = json.loads(json_out.read_text(encoding="utf-8"))
                targets, splits = detail
                assert report["labels"] == targets
                for split, ids in splits.items():
                    assert report["splits"][split]["label_counts"] == {t: ids.count(i) for i, t in enumerate(targets)}
                return
            line = assert_one_error_line(result)
            assert not json_out.exists()
            if detail == "data":
                assert str(data) in line, line
            else:
                assert (spec and spec in line) or "--label-map" in line, line
            if detail == "listed twice" or raw == b'{"positive": ["joy", "joy"], "negative": ["sadness"]}':
                assert "twice" in line and "several targets" not in line, line
            if detail == "folder":
                assert "is a folder" in line and "JSON file" in line and "no such file" not in line, line
            if detail == "missing":
                assert "no such file" in line, line

    check()
    counted("test_label_map_files", 170)


# ---------------------------------------------------------------- tune --space

def space_specs(model: str):
    number = st.one_of(st.sampled_from(NUMBER_SPELLINGS[:30]), st.integers(-3, 300).map(str),
                       st.floats(-1, 10).map(lambda f: f"{f:.3g}"), st.sampled_from(["1e-4", "1e-2", "0.1", "0.5", "0.9"]))
    ranges = st.tuples(number, number, st.sampled_from(["", ":log", ":linear", ":LOG", ":x", "::", ":log:1"])).map(
        lambda t: f"{t[0]}:{t[1]}{t[2]}")
    choices = st.lists(typed_values(model).filter(lambda v: "," not in v), min_size=0, max_size=3).map(",".join)
    junk = st.sampled_from(["", ":", "1:", ":2", "a:b", ",", "1,,2"])
    return st.one_of(ranges, ranges, choices, junk)


@st.composite
def plausible_space(draw, model: str, key: str) -> str:
    """A range within the field's declared bounds, or choices a user would mean as valid."""
    cls = family_class(resolve(model).family)
    fields = {f.name: f for f in dataclasses.fields(cls.Params)}
    hint_options = _options(typing.get_type_hints(cls.Params)[key])
    meta = fields[key].metadata
    if (int in hint_options or float in hint_options) and draw(st.booleans()):
        integer = float not in hint_options
        low = bound(meta, "ge", "gt")
        low = (0 if integer else 0.0) if low is None else low
        high = bound(meta, "le", "lt")
        high = low + (200 if integer else 10.0) if high is None else high
        if integer and meta.get("lt") is not None:
            high -= 1
        if integer:
            a = draw(st.integers(low + (1 if meta.get("gt") is not None else 0), high - 1))
            b = draw(st.integers(a + 1, high))
            texts = [str(a), str(b)]
        else:
            numbers = st.floats(low, high, exclude_min=True, exclude_max=meta.get("lt") is not None)
            a, b = sorted([draw(numbers), draw(numbers)])
            if a == b:
                return f"{key}={a!r}"  # one choice
            texts = [repr(a), f"{b:.17g}"]
        scale = draw(st.sampled_from(["", ":log", ":linear"]))
        return f"{key}={texts[0]}:{texts[1]}{scale}"
    values = draw(st.lists(plausible_values(model, key).filter(lambda v: "," not in v and v.strip()), min_size=1,
                           max_size=3))
    return f"{key}={','.join(values)}"


@st.composite
def space_cases(draw):
    model = draw(st.sampled_from(MODELS))
    if draw(st.integers(0, 9)) < 5:
        names = draw(st.lists(st.sampled_from([f.name for f in dataclasses.fields(params_type(model))]), min_size=1,
                              max_size=2, unique=True))
        raw = [draw(plausible_space(model, name)) for name in names]
    else:
        pairs = draw(st.lists(st.tuples(parameter_keys(model), space_specs(model)), min_size=1, max_size=2))
        raw = [f"{k}={v}" for k, v in pairs]
    if draw(st.integers(0, 9)) == 0:
        raw.append("noequals")
    return model, raw


def expect_space(model: str, raw: list[str]):
    """("ok", None) or ("refused", (kind, pair)) by the documented --space rules and the parameters' types."""
    cls = family_class(resolve(model).family)
    fields = {f.name: f for f in dataclasses.fields(cls.Params)}
    hints = typing.get_type_hints(cls.Params)
    aliases = getattr(cls, "ALIASES", {})
    corners = {}
    for pair in raw:
        key, sep, spec = pair.partition("=")
        key = aliases.get(key.strip().replace("-", "_"), key.strip().replace("-", "_"))
        if not sep or key not in fields or key in corners:
            return "refused", ("space", pair)
        options = _options(hints[key])
        integer = int in options and float not in options
        if ":" in spec and (integer or float in options):
            parts = [p.strip() for p in spec.split(":")]
            if len(parts) not in (2, 3):
                return "refused", ("space", pair)
            bounds = []
            for text in parts[:2]:
                if integer:
                    if not re.fullmatch(r"[+-]?[0-9]{1,15}", text):
                        return "refused", ("space", pair)
                    bounds.append(int(text))
                else:
                    if not ASCII_DECIMAL.fullmatch(text):
                        return "refused", ("space", pair)
                    value = float(text)
                    if value != value or abs(value) == float("inf"):
                        return "refused", ("space", pair)
                    bounds.append(value)
            scale = parts[2] if len(parts) == 3 else "linear"
            if not bounds[0] < bounds[1] or scale not in ("linear", "log") or (scale == "log" and bounds[0] <= 0):
                return "refused", ("space", pair)
            if not all(in_range(b, fields[key].metadata) for b in bounds):
                return "refused", ("space", pair)
            corners[key] = bounds
        else:
            texts = [v.strip() for v in spec.split(",") if v.strip()]
            values = []
            for text in texts:
                ok, value = read_value(hints[key], fields[key].metadata, text)
                if not ok:
                    return "refused", ("space", pair)
                values.append(value)
            if not values:
                return "refused", ("space", pair)
            corners[key] = values
    base = resolve(model).params
    for key, values in corners.items():
        for value in values:
            params = dataclasses.replace(base, **{key: value})
            if getattr(params, "check", None) and params.check():
                return "refused", ("cross", key)
    return "ok", None


def test_tune_space_values(tmp_path):
    @bounded(300)
    @given(space_cases())
    @example(("lstm", ["dropout=nan:1"]))
    @example(("lstm", ["dropout=0:2"]))  # refused quoting 2, not 2.0
    @example(("lstm", ["epochs=1.5:3"]))  # was searched from 1: int(1.5)
    @example(("lstm", ["learning_rate=1e-4:1e-2:log:extra"]))  # the extra part was ignored
    @example(("lstm", ["dropout=0.1:0.2", "dropout=0.3:0.4"]))  # the first was dropped silently
    @example(("lstm", ["max_length=16:64"]))  # an optional integer was searched as a float
    @example(("tfidf", ["C=0.1:1e400"]))
    @example(("tfidf", ["char_ngram_max=1:4"]))  # a corner below the default char_ngram_min
    @example(("setfit", ["body=a,b"]))
    def check(case_spec):
        COUNTS["test_tune_space_values"] += 1
        model, raw = case_spec
        with case_folder(tmp_path) as case:
            args = ["tune", "--model", model, "--dataset", str(case / "missing.csv"), "-o", str(case / "tuning"), "-q"]
            for pair in raw:
                args += ["--space", pair]
            result = invoke(case, args)
            verdict, detail = expect_space(model, raw)
            accepted = stopped_on_missing_data(result, case, "test_tune_space_values")
            assert accepted == (verdict == "ok"), (verdict, detail, result.output)
            if accepted:
                return
            line = assert_one_error_line(result)
            if detail[0] == "space":
                assert line.startswith("error: --space ") and any(repr(pair) in line for pair in raw), line
            else:
                assert "parameters" in line and detail[1] in line, line

    check()
    counted("test_tune_space_values", 250)


# ---------------------------------------------------------------- the known defects, as plain tests

def test_a_share_written_out_is_quoted_as_written(tmp_path):
    result = runner.invoke(app, ["train", "--dataset", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "r"),
                                 "--train-size", "0.00001x"])
    assert_one_error_line(result, "--train-size '0.00001x'")
    assert parse_size("0.00001") == "0.00001" and parse_size("1e-05") == "0.00001"
    DatasetConfig(train_size=parse_size("0.00001"))  # the canonical form passes the configuration check
    from emobench.data.readers import check_config

    check_config(DatasetConfig(train_size=parse_size("0.00001")))


def test_a_label_listed_twice_is_said_to_be_listed_twice(tmp_path):
    (tmp_path / "m.json").write_text('{"positive": ["joy", "joy"]}')
    result = runner.invoke(app, ["train", "--dataset", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "r"),
                                 "--label-map", str(tmp_path / "m.json")])
    line = assert_one_error_line(result, "m.json", "'joy' twice")
    assert "several targets" not in line


def test_a_label_map_folder_is_said_to_be_a_folder(tmp_path):
    (tmp_path / "maps").mkdir()
    result = runner.invoke(app, ["train", "--dataset", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "r"),
                                 "--label-map", str(tmp_path / "maps")])
    line = assert_one_error_line(result, "--label-map", "is a folder", "JSON file")
    assert "no such file" not in line


def test_a_label_map_given_as_a_dict_is_checked_like_a_file(tmp_path):
    (tmp_path / "d.csv").write_text("text,label\n" + "".join(f"t{i},{['joy', 'sad'][i % 2]}\n" for i in range(20)))
    try:
        load_dataset(DatasetConfig(name=str(tmp_path / "d.csv"), label_map={"pos": "joy", "neg": ["sad", "sad"]}))
    except EmobenchError as exc:
        assert "'sad' twice" in str(exc)
    else:
        raise AssertionError("a source listed twice was accepted")


def test_validation_split_values(tmp_path):
    """--validation-split: any typed text is a share from 0.01 to 0.5 written as a plain decimal, or refused quoting it."""
    def expect(typed: str) -> bool:
        text = typed.strip()
        if len(text) > 30 or not re.fullmatch(r"(0?\.[0-9]+|[0-9]+(\.[0-9]*)?)", text, re.ASCII):
            return False
        return Decimal("0.01") <= Decimal(text) <= Decimal("0.5")

    @bounded(120)
    @given(st.one_of(st.from_regex(r"\A\s?[0-9]?\.?[0-9]{0,4}\s?\Z"), st.text(max_size=12),
                     st.decimals(min_value=-1, max_value=2, allow_nan=True).map(str)))
    @example("0.1")
    @example("0.5")
    @example("0.501")
    @example("0.01")
    @example("0.009")
    @example("1e-1")
    @example("٠.٢")
    @example("nan")
    def check(typed):
        COUNTS["test_validation_split_values"] += 1
        if typed.startswith("-") or "\x00" in typed:
            return  # an option-looking value or a NUL: the shell's business
        with case_folder(tmp_path) as case:
            result = invoke(case, ["train", "--train-file", str(case / "missing.csv"), "-o", str(case / "runs"), "-q",
                                   "--validation-split", typed])
            accepted = stopped_on_missing_data(result, case, "test_validation_split_values")
            assert accepted == expect(typed), (typed, result.output)
            if not accepted:
                line = assert_one_error_line(result)
                assert line.startswith(f"error: --validation-split {typed!r}: expected the share"), line

    check()
    counted("test_validation_split_values", 100)
