"""Property-based tests of the record loaders (Hypothesis): any mutation of any JSON file of every folder kind emobench
writes -- a run (tfidf, LSTM, multi-label tfidf), a model folder (tfidf, LSTM, a stack holding a tfidf and an LSTM), an fp32 ONNX export, a comparison (with a transfer),
a tuning folder, a label-issues audit and a static-embedding cache entry -- loaded through the readers that use it
(the records' own ``load``, the models, the Predictor and its service card, the comparison's re-rendering, a tuning
study continued, a saved audit used for cleaning) and through the CLI (`predict`, `evaluate`, `compare RUN RUN`,
`report`, `tune`).

The property: a correct result (the same predictions, metrics and rows as the untouched folder), or a clear error --
an EmobenchError on one line naming a file of the folder and the field (the CLI: exit 2 with exactly one ``error:``
line) -- never another exception, never a silent wrong result, nothing opened outside the case's folder (the data
root and the interpreter's own files aside), nothing half-written (an error leaves the folder as it was).

Each mutation runs three ways: as is (the manifest's sha256 refuses it), with ``allow_modified`` (the records' own
checks must catch it) and with every MANIFEST.json rewritten to match (the manifest is then the file to trust: the
field checks alone must hold).

Runs are bounded and reproducible (derandomized, no example database). EMOBENCH_HYPOTHESIS_SCALE=10 runs ten times
the examples; EMOBENCH_HYPOTHESIS_RANDOM=1 draws new ones on every run (and prints the blob of a failure). Each test
prints how many examples it ran (``pytest -s``) and asserts a minimum."""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from typer.testing import CliRunner

from emobench.errors import EmobenchError
from generated import COUNTS, bounded, outside, recording
from generated import counted as shared_counted

LOG = os.environ.get("EMOBENCH_RECORDS_LOG")


def counted(name: str, minimum: int) -> None:
    known = ", ".join(f"{k.split(': ', 1)[1]} {v}" for k, v in sorted(COUNTS.items()) if k.startswith("known unclear"))
    shared_counted(name, minimum, f", {COUNTS[name + '/loads']} loads" + (f"; known unclear refusals so far: {known}"
                                                                          if known else ""))


def snapshot(folder: Path) -> dict:
    """Every file under ``folder`` with its size and sha256 (folders: None)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_symlink() or not p.is_dir():
            out[str(p.relative_to(folder))] = (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest()) \
                if p.is_file() else "link"
        else:
            out[str(p.relative_to(folder))] = None
    return out


@contextlib.contextmanager
def watched(case: Path, allowed: tuple = ()):
    """Every file opened while the block runs lies in ``case``, ``allowed`` or the interpreter's own folders."""
    with recording() as events:
        yield
    far = outside(events, case, *allowed)
    assert not far, f"opened outside the case folder: {far}"


LOAD_SECONDS = 60  # a load that takes longer does unbounded work for what a file says (a model of a million layers)


class TookTooLong(BaseException):  # not an Exception: no `except Exception` in a loader may swallow it
    pass


@contextlib.contextmanager
def bounded_time(seconds: int):
    """The block is interrupted after ``seconds`` (SIGALRM: the main thread, as pytest runs tests)."""
    import signal

    def interrupt(signum, frame):
        raise TookTooLong(f"a load ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# ---------------------------------------------------------------- the folders, built once

TEXTS = ["i feel so happy and glad today", "i am so furious and angry", "honestly i feel lonely and sad", "ok"]
LSTM = ["--set", "epochs=6", "--set", "hidden_size=16", "--set", "glove=none"]


def _cli(args, env=None):
    from emobench.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args], env={"HF_HUB_OFFLINE": "1", "COLUMNS": "4000", **(env or {})})
    output = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        output += "\nTraceback\n" + "".join(traceback.format_exception(result.exception))
    return result.exit_code, output, result.stdout


@dataclass
class World:
    root: Path
    data: Path
    sources: dict[str, str] = field(default_factory=dict)  # kind -> folder (relative to root)
    baselines: dict = field(default_factory=dict)  # (source, loader) -> digest


def _build(root: Path) -> World:
    from conftest import multi_examples, tiny_examples, write_emotion_folder

    world = World(root, write_emotion_folder(root / "data"))
    common = ["--data-dir", world.data, "-q"]
    (root / "transfer.csv").write_text("text,label\n" + "".join(f"{t},{l}\n" for t, l in tiny_examples(48, 9)
                                                                if l in ("joy", "sadness", "anger", "fear")))
    steps = [
        ["train", "--model", "tfidf", "-o", root / "runs", "--name", "tfidf", *common],
        ["train", "--model", "lstm", "-o", root / "runs", "--name", "lstm", *LSTM, *common],
        ["export", root / "runs" / "lstm", "-o", root / "exports" / "lstm"],
        ["train", "--model", "stack", "--set", "members=tfidf+lstm[epochs=1,hidden_size=4,glove=none]", "--set",
         "folds=2", "-o", root / "runs", "--name", "stack", *common],
        ["compare", "--models", "tfidf", "-o", root / "cmp", "--name", "study", "--no-noise-audit", "--no-baselines",
         "--transfer", root / "transfer.csv", *common],
        ["tune", "--model", "tfidf", "--trials", "2", "-o", root / "tuning", "--name", "t", *common],
        ["data", "audit", "emotion", "--label-issues", "--splits", "train", "--json", root / "audit.json",
         "--data-dir", world.data],
    ]
    multi = root / "multi"  # a multi-label dataset (thresholds, per-label confusions, subset accuracy, Jaccard)
    multi.mkdir()
    for split, n, seed in (("train", 120, 11), ("validation", 40, 12), ("test", 40, 13)):
        rows = [{"text": text, "label": labels} for text, labels in multi_examples(n, seed)]
        (multi / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    steps.append(["train", "--model", "tfidf", "--train-file", multi / "train.jsonl", "--validation-file",
                  multi / "validation.jsonl", "--test-file", multi / "test.jsonl", "-o", root / "runs", "--name", "multi",
                  "-q"])
    for args in steps:
        code, output, _ = _cli(args)
        assert code == 0, f"{args}: {output}"
    (root / "outside").mkdir()
    (root / "outside" / "secret.json").write_text('{"secret": true}')
    _reviewed(root, world.data)
    world.sources = {"run-tfidf": "runs/tfidf", "run-lstm": "runs/lstm", "run-multi": "runs/multi",
                     "model-lstm": "runs/lstm/model", "model-tfidf": "runs/tfidf/model", "model-stack": "runs/stack/model",
                     "export": "exports/lstm", "comparison": "cmp/study",
                     "tuning": "tuning/t", "audit": "audit.json", "corrections": "a.corrections.json"}
    # a static-embedding cache entry, distilled from a tiny BERT (a few seconds)
    try:
        from tiny_models import build_bert

        from emobench.models.static import body_key, cache_root, distilled

        body = build_bert([t for t, _ in tiny_examples(120, 1)], root / "tiny-bert")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            distilled(str(body), 256)
        shutil.copytree(cache_root() / body_key(body, 256), root / "cache" / "entry")
        world.sources["cache"] = "cache/entry"
    except ImportError:  # static embeddings are an extra
        pass
    return world


def _reviewed(root: Path, data: Path) -> None:
    """A review of an audit of the world's training split (a.json): a text kept, a suggestion accepted, one relabelled,
    saved as a.corrections.json."""
    from adversarial.cases_review import audit_of, decide_three

    decide_three(audit_of(root, data))


DATA_ROOTS: list[Path] = []  # the data the world's runs were trained on


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    root = tmp_path_factory.mktemp("records")
    world = _build(root)
    DATA_ROOTS[:] = [world.data, root / "multi"]
    (root / "cases").mkdir()
    return world


def json_files(world: World, source: str) -> list[str]:
    """The JSON files of a folder (relative names), or the audit file itself."""
    path = world.root / world.sources[source]
    if path.is_file():
        return [""]
    return sorted(str(p.relative_to(path)) for p in path.rglob("*.json"))


# ---------------------------------------------------------------- mutations

class Raw(str):
    """JSON text inserted as is (numbers JSON can write but Python cannot hold, escaped lone surrogates)."""


@dataclass(frozen=True)
class Pairs:
    """An object written with these (key, value) pairs, repeated keys included."""

    pairs: tuple


def dumps(value) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Pairs):
        return "{" + ", ".join(f"{json.dumps(k)}: {dumps(v)}" for k, v in value.pairs) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dumps(v) for v in value) + "]"
    return json.dumps(value)


def paths_of(data, limit: int = 300) -> list[tuple]:
    """Paths to values of ``data`` (breadth first, long lists sampled at a few indices)."""
    out, queue = [], [((), data)]
    while queue and len(out) < limit:
        path, value = queue.pop(0)
        out.append(path)
        if isinstance(value, dict):
            queue.extend((path + (k,), v) for k, v in value.items())
        elif isinstance(value, list):
            picked = sorted({0, 1, len(value) // 2, len(value) - 1})
            queue.extend((path + (i,), value[i]) for i in picked if 0 <= i < len(value))
    return out


def get(data, path):
    for part in path:
        data = data[part]
    return data


def put(data, path, value):
    """``data`` with the value at ``path`` replaced (a fresh copy along the path)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {k: (put(v, rest, value) if k == head else v) for k, v in data.items()}
    copy = list(data)
    copy[head] = put(copy[head], rest, value)
    return copy


DELETE = object()


def remove(data, path):
    head, rest = path[0], path[1:]
    if rest:
        return put(data, (head,), remove(data[head], rest))
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if k != head}
    return [v for i, v in enumerate(data) if i != head]


EXTREMES = [None, True, False, 0, 1, -1, 2, 7, 2 ** 31, 2 ** 63, -2 ** 63, 10 ** 30, 10 ** 400, -10 ** 400, 1e308, -1e308,
            5e-324, 1e-320, 0.5, -0.0, 1.5, 0.999999, 1.0000001, Raw("1e400"), Raw("-1e400"), Raw("1E999"), "", " ",
            "x" * 100_000, "../../outside/secret.json", "/etc/passwd", "~/x", "a/../b", "joy", "sadness", "surprise",
            "single_label", "multi_label", "tfidf", "lstm", "complete", "pruned", "fp32", "int8", "vocabulary", "tokenizer",
            Raw('"\\ud800"'), "\x00", "\u2028", "é😀", "NaN", "Infinity", "1.0", "true", "null", [], [[[[]]]], [None],
            [1, "a"],
            list(range(1000)), ["joy", "joy"], [""], {}, {"a": 1}, {"": None}, {"format": 1}]
KEYS = ["zz_unknown", "", " ", "__proto__", "format", "labels", "label_names", "task", "files", "splits", "runs", "trials",
        "x" * 500, "\u2028"]
values = st.one_of(st.sampled_from(EXTREMES), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                   st.text(max_size=12), st.booleans(), st.none(),
                   st.lists(st.one_of(st.integers(-2, 3), st.text(max_size=4), st.none()), max_size=4))


def perturbations(value, strings: list[str]) -> st.SearchStrategy:
    """Changes that keep the type: the plausible edits a manifest rewritten to match would hide."""
    if isinstance(value, bool):
        return st.just(not value)
    if isinstance(value, int):
        return st.sampled_from([value + 1, value - 1, -value, 0, -1, value * 2, 10 ** 9, value + 10 ** 6])
    if isinstance(value, float):
        return st.sampled_from([value * (1 + 1e-9), value + 1e-6, value + 0.01, -value, 0.0, 1.0, value / 2, 1 - value,
                                min(1.0, value + 0.1), max(0.0, value - 0.1), value * 10, float(int(value))])
    if isinstance(value, str):
        return st.sampled_from(["", " ", value + "x", value[::-1], value.upper(), "../" + value, "/tmp/" + value,
                                value + "/..", *strings[:40]])
    if isinstance(value, list):
        options = [value[::-1], value[:-1], value[1:], value + value[:1], [], value[:1] * len(value)]
        if len(value) > 2:
            options.append([value[1], value[0], *value[2:]])
        return st.sampled_from(options)
    if isinstance(value, dict):
        items = list(value.items())
        return st.sampled_from([{}, dict(items[::-1]), dict(items[1:]), {**value, **dict(items[:1])}])
    return st.sampled_from([0, "", [], {}, False])


def strings_of(data) -> list[str]:
    found, stack = [], [data]
    while stack and len(found) < 200:
        item = stack.pop()
        if isinstance(item, str) and len(item) < 200:
            found.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
            found.extend(k for k in list(item)[:20])
        elif isinstance(item, list):
            stack.extend(item[:30])
    return sorted(set(found))


@dataclass(frozen=True)
class Mutation:
    kind: str
    path: tuple = ()
    value: object = None
    at: int = 0

    def __repr__(self) -> str:
        value = repr(self.value)
        value = value if len(value) < 80 else value[:60] + f"...({len(value)} chars)"
        if callable(self.value):
            value = getattr(self.value, "__name__", "edit")
        return f"Mutation({self.kind}, path={self.path!r}, value={value}, at={self.at})"

    def _repr_pretty_(self, printer, cycle):  # how Hypothesis shows a failing example
        printer.text(repr(self))

    def apply(self, raw: bytes) -> bytes:
        if self.kind == "truncate":
            return raw[: self.at]
        if self.kind == "bytes":
            return self.value(raw, self.at) if callable(self.value) else self.value
        data = json.loads(raw)
        if self.kind in ("replace", "perturb"):
            return dumps(put(data, self.path, self.value)).encode("utf-8")
        if self.kind == "delete":
            return dumps(remove(data, self.path)).encode("utf-8")
        if self.kind == "add":
            key, value = self.value
            target = get(data, self.path)
            return dumps(put(data, self.path, Pairs((*target.items(), (key, value))))).encode("utf-8")
        if self.kind == "duplicate":
            key, value = self.value
            target = get(data, self.path)
            pairs = [(k, v) for k, v in target.items()]
            at = [k for k, _ in pairs].index(key)
            pairs.insert(at + 1, (key, target[key] if value is DELETE else value))
            return dumps(put(data, self.path, Pairs(tuple(pairs)))).encode("utf-8")
        if self.kind == "deep":
            inner = get(data, self.path)
            text = dumps(put(data, self.path, Raw("@@DEEP@@")))
            return text.replace("@@DEEP@@", "[" * self.at + dumps(inner) + "]" * self.at).encode("utf-8")
        if self.kind == "reformat":
            return self.value(data).encode("utf-8")
        raise AssertionError(self.kind)


def _insert(chunk: bytes):
    def insert(raw: bytes, at: int) -> bytes:
        at = min(at, len(raw))
        return raw[:at] + chunk + raw[at:]
    insert.__name__ = f"insert {chunk!r}"
    return insert


def _encoded(codec: str):
    def encode(raw: bytes, at: int) -> bytes:
        return raw.decode("utf-8").encode(codec, "replace")
    encode.__name__ = f"as {codec}"
    return encode


BYTE_EDITS = [b"", b"\xff\xfe\xfd", b"\x00" * 16, b"\x80\x04\x95pickle", b"SQLite format 3\x00", b"null", b"[]", b'"x"',
              b"0", b"1e400", b"[" * 10_000 + b"]" * 10_000, b'{"a": ' * 3_000 + b"1" + b"}" * 3_000,
              _insert(b"\xff"), _insert(b"\xc3"), _insert(b"\xed\xa0\x80"), _insert(b"\x00"), _insert(b"\xef\xbb\xbf"),
              _insert(b"NaN"), _insert(b"Infinity"), _insert(b"}"), _insert(b"\n\n"), _encoded("utf-16"),
              _encoded("latin-1"), _encoded("utf-32"), lambda raw, at: b"\xef\xbb\xbf" + raw]
REFORMATS = [lambda d: json.dumps(d), lambda d: json.dumps(d, indent=4, sort_keys=True),
             lambda d: json.dumps(d, ensure_ascii=True, separators=(",", ":")) + "\n\n",
             lambda d: " \n" + json.dumps(d) + "\t"]


@st.composite
def mutations(draw, raw: bytes) -> Mutation:
    """One edit of the JSON file ``raw``: a value replaced (another type, an extreme, a plausible neighbour), a key
    deleted, added or repeated, the file truncated, made of other bytes, nested deep or written another way."""
    data = json.loads(raw)
    paths = paths_of(data)
    kind = draw(st.sampled_from(["replace", "replace", "perturb", "perturb", "perturb", "delete", "add", "duplicate",
                                 "truncate", "bytes", "deep", "reformat"]))
    objects = [p for p in paths if isinstance(get(data, p), dict)]
    filled = [p for p in objects if get(data, p)]
    if kind == "replace":
        return Mutation(kind, draw(st.sampled_from(paths)), draw(values))
    if kind == "perturb":
        path = draw(st.sampled_from(paths[1:] or paths))
        return Mutation(kind, path, draw(perturbations(get(data, path), strings_of(data))))
    if kind == "delete" and len(paths) > 1:
        return Mutation(kind, draw(st.sampled_from(paths[1:])))
    if kind == "add" and objects:
        return Mutation(kind, draw(st.sampled_from(objects)), (draw(st.sampled_from(KEYS)), draw(values)))
    if kind == "duplicate" and filled:
        path = draw(st.sampled_from(filled))
        key = draw(st.sampled_from(sorted(get(data, path))))
        return Mutation(kind, path, (key, draw(st.one_of(st.just(DELETE), values))))
    if kind == "deep":
        return Mutation(kind, draw(st.sampled_from(paths)), at=draw(st.sampled_from([1, 40, 62, 63, 64, 65, 200, 20_000])))
    if kind == "reformat":
        return Mutation(kind, value=draw(st.sampled_from(REFORMATS)))
    if kind == "bytes":
        return Mutation(kind, value=draw(st.sampled_from(BYTE_EDITS)), at=draw(st.integers(0, len(raw))))
    return Mutation("truncate", at=draw(st.integers(0, max(0, len(raw) - 1))))


def harmless(mutation: Mutation, before: bytes, after: bytes) -> bool:
    """The same JSON, written another way: every reader must give exactly the untouched folder's result."""
    if after == before:
        return True
    try:  # compared as canonical text: True == 1 == 1.0 in Python, not in JSON
        canonical = [json.dumps(json.loads(raw.decode("utf-8")), sort_keys=True) for raw in (after, before)]
        return canonical[0] == canonical[1] and mutation.kind != "duplicate"
    except (ValueError, RecursionError):
        return False


# ---------------------------------------------------------------- cases: a copy, mutated, resealed, loaded


def reseal(folder: Path, skip: Path | None = None) -> None:
    """Every MANIFEST.json under ``folder`` rewritten to match its files (deepest first), except ``skip`` (a mutated
    manifest itself); a comparison's results.json records its runs' manifests' sha256, updated too."""
    from emobench.files import json_text
    from emobench.manifest import sha256_of

    manifests = sorted(folder.rglob("MANIFEST.json"), key=lambda p: -len(p.parts))
    for manifest in manifests:
        if manifest == skip:
            continue
        results = manifest.parent / "results.json"
        if results.is_file() and results != skip:
            try:
                rows = json.loads(results.read_bytes())
                for row in rows["runs"]:
                    run = manifest.parent / row["run"] / "MANIFEST.json"
                    if isinstance(row.get("run_manifest"), str) and run.is_file():
                        row["run_manifest"] = sha256_of(run)
                results.write_text(json_text(rows))
            except (ValueError, KeyError, TypeError, OSError, RecursionError):
                pass
        try:
            data = json.loads(manifest.read_bytes())
            for name, entry in data["files"].items():
                path = manifest.parent / name
                if path.is_file():
                    entry.update(size=path.stat().st_size, sha256=sha256_of(path))
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            continue
        manifest.write_text(json_text(data))


MODES = ("manifest", "allow", "rewritten")


@dataclass
class Outcome:
    ok: bool
    digest: object = None
    message: str = ""
    warned: bool = False


@dataclass
class Loader:
    """A reader of a folder kind: ``call(folder, allow, case) -> digest`` (an EmobenchError: refused) or, through the
    CLI, ``args(folder, case)`` and ``digest(stdout, output, case)``."""

    name: str
    call: Callable | None = None
    args: Callable | None = None
    digest: Callable | None = None
    writes: bool = False  # the loader writes into the folder on success (re-rendering, continuing a study)
    extra: Callable | None = None  # what else the case needs beside the folder (another run): (world, case) -> None

    def _repr_pretty_(self, printer, cycle):
        printer.text(f"Loader({self.name!r})")

    def run(self, world: World, folder: Path, allow: bool, case: Path) -> Outcome:
        if self.args is not None:
            args = [str(a) for a in self.args(folder, case, world)]
            if allow:
                args.insert(1, "--allow-modified")
            code, output, stdout = _cli(args)
            if code == 0:
                return Outcome(True, self.digest(stdout, output, case), warned="--allow-modified" in output)
            assert code == 2 and "Traceback" not in output, f"exit {code}:\n{output[-6000:]}"
            errors = [line for line in output.splitlines() if line.startswith("error:")]
            assert len(errors) == 1, f"expected exactly one error line:\n{output[-3000:]}"
            lines = output.splitlines()
            at = lines.index(errors[0])
            said = " ".join([errors[0].removeprefix("error:").strip(),
                             *[l for l in lines[at + 1:] if l.strip() and not l.startswith("warning:")]])
            return Outcome(False, message=said)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = self.call(folder, allow, case, world)
            except EmobenchError as exc:
                return Outcome(False, message=str(exc))
        from emobench.files import ModifiedFileWarning

        return Outcome(True, result, warned=any(issubclass(w.category, ModifiedFileWarning) for w in caught))


# ---- digests: what a reader gives that the untouched folder fixes (verifiable from the folder itself)

def _r(x, digits=6):
    return None if x is None else round(float(x), digits)


def split_digest(m) -> dict:
    d = m.as_dict() if hasattr(m, "as_dict") else m
    out = {"n": d["n"], "accuracy": _r(d["accuracy"]), "task": d.get("task", "single_label")}
    for avg in ("macro", "weighted", "micro", "samples"):
        if d.get(avg) is not None:
            out[avg] = {k: _r(d[avg][k]) for k in ("precision", "recall", "f1")}
    out["per_class"] = {name: {k: _r(v[k]) for k in ("precision", "recall", "f1", "support")}
                        for name, v in d["per_class"].items()}
    if "confusion_matrix" in d:
        out["confusion_matrix"] = d["confusion_matrix"]
    return out


def run_digest(record) -> dict:
    out = {"labels": record.labels, "task": record.data.task, "seed": record.config.seed,
           "splits": {s: split_digest(m) for s, m in record.metrics.splits.items()}}
    for split in record.metrics.splits:
        p = record.predictions(split)
        out[f"predictions/{split}"] = (hashlib.sha256("\x1f".join(p.texts).encode("utf-8", "surrogatepass")).hexdigest(),
                                       p.y_true.tolist(), p.y_pred.tolist(), np.round(p.probs, 6).tolist())
    return out


def predictions_digest(items: list[dict]) -> list:
    """The labels and probabilities, after checking that they are probabilities whatever the folder said."""
    assert len(items) == len(TEXTS)
    for item in items:
        probs = item["probabilities"]
        assert probs and all(isinstance(p, float) and math.isfinite(p) and 0 <= p <= 1 for p in probs.values()), item
        if "label" in item:
            assert abs(sum(probs.values()) - 1) < 1e-4 and probs[item["label"]] >= max(probs.values()) - 1e-6, item
        else:
            assert set(item["labels"]) <= set(probs), item
    return [(item.get("label", item.get("labels")), {k: _r(v, 5) for k, v in item["probabilities"].items()})
            for item in items]


def api_run(folder, allow, case, world):
    from emobench.records.run import RunRecord

    return run_digest(RunRecord.load(folder, allow_modified=allow))


def api_model(folder, allow, case, world):
    from emobench.models import load_model

    model = load_model(folder, allow_modified=allow)
    probs = model.predict_proba_batched(TEXTS)
    assert probs.shape == (len(TEXTS), len(model.label_names)) and np.isfinite(probs).all()
    assert ((probs >= 0) & (probs <= 1)).all() and (model.multi_label or np.allclose(probs.sum(axis=1), 1, atol=1e-4))
    return (list(model.label_names), np.round(probs, 5).tolist(), model.decide(probs).tolist())


def api_predictor(folder, allow, case, world):
    from emobench.serving import Predictor

    return predictions_digest([p.dump() for p in Predictor(folder, allow_modified=allow).predict(TEXTS)])


def api_card(folder, allow, case, world):
    """The Predictor's card (what the service's /model says) and its predictions: JSON the service can send."""
    from emobench.serving import Predictor

    predictor = Predictor(folder, allow_modified=allow)
    card = predictor.card()
    json.dumps(card, allow_nan=False)  # the service sends it: a number JSON cannot write would be a 500
    kept = {k: card.get(k) for k in ("family", "backend", "task", "labels")}
    if "export" not in card:  # a run's test metrics are checked against its predictions
        kept["test_metrics"] = card.get("test_metrics")
    return kept, predictions_digest([p.dump() for p in predictor.predict(TEXTS)])


def api_service(folder, allow, case, world):
    from fastapi.testclient import TestClient

    from emobench.serving.service import create_app

    with TestClient(create_app(folder, allow_modified=allow)) as client:
        predicted = client.post("/predict", json={"texts": TEXTS})
        card = client.get("/model")
    assert predicted.status_code == 200 and card.status_code == 200, (predicted.text, card.text)
    body = predicted.json()
    items = body["predictions"] if isinstance(body, dict) else body
    card = card.json()
    kept = {k: card.get(k) for k in ("family", "backend", "task", "labels")}
    return kept, predictions_digest(items)


def cli_predict_args(folder, case, world):
    return ["predict", folder, *TEXTS, "--json"]


def cli_predict_digest(stdout, output, case):
    return predictions_digest([json.loads(line) for line in stdout.splitlines() if line.startswith("{")])


def cli_evaluate_args(folder, case, world):
    return ["evaluate", folder]


def cli_evaluate_digest(stdout, output, case):
    return [line for line in stdout.splitlines() if line.strip() and not line.startswith("warning:")]


def _other_run(world, case):
    shutil.copytree(world.root / "runs" / "lstm", case / "other")


def cli_compare_args(folder, case, world):
    return ["compare", case / "other", folder, "-o", case / "out", "--name", "c", "-q"]


def rows_digest(rows: list[dict]) -> list:
    """A comparison's rows as the runs fix them (the model's name is what a run's config.json calls it: any name)."""
    assert all(isinstance(r["model"], str) and r["model"].strip() for r in rows), rows
    return [(r["seed"], _r(r["accuracy"]), _r(r["macro_f1"]), r["n_test"],
             {c: {k: _r(s.get(k)) for k in ("precision", "recall", "f1", "support")} for c, s in r["per_class"].items()})
            for r in rows]


def cli_compare_digest(stdout, output, case):
    return rows_digest(json.loads((case / "out" / "c" / "results.json").read_text())["runs"])


def api_rerender(folder, allow, case, world):
    from emobench.experiments.study import rerender

    record = rerender(folder, allow_modified=allow)
    return rows_digest([row.dump() for row in record.results.runs]), record.results.ensembles


def api_comparison(folder, allow, case, world):
    from emobench.records.comparison import ComparisonRecord

    record = ComparisonRecord.load(folder, allow_modified=allow)
    runs = record.load_runs(allow_modified=allow)
    transfer = record.transfer([r.name for r in runs]) or {}
    return rows_digest([row.dump() for row in record.results.runs]), [run_digest(r) for r in runs], {
        name: (split_digest(t.metrics), t.predictions.y_pred.tolist(), np.round(t.predictions.probs, 6).tolist())
        for name, t in transfer.items()}


def cli_report_args(folder, case, world):
    return ["report", folder]


def cli_report_digest(stdout, output, case):
    folder = next(p for p in case.iterdir() if p.name == "study")
    return rows_digest(json.loads((folder / "results.json").read_text())["runs"])


def tuning_digest(record) -> dict:
    return {"model": record.description.model, "space": record.description.space, "seed": record.description.seed,
            "trials": [(t.trial, t.state, _r(t.val_macro_f1), t.params) for t in record.trials.trials],
            "best": run_digest(record.best)}


def api_tuning(folder, allow, case, world):
    from emobench.records.tuning import TuningRecord

    return tuning_digest(TuningRecord.load(folder, allow_modified=allow))


def api_tune(folder, allow, case, world):
    from emobench.data import DatasetConfig
    from emobench.experiments.tune import TuneConfig, tune

    config = TuneConfig(model="tfidf", trials=2, dataset=DatasetConfig(name="emotion", data_dir=str(world.data)),
                        output_dir=str(folder.parent), name=folder.name)
    return tuning_digest(tune(config, progress=False, allow_modified=allow))


def cli_tune_args(folder, case, world):
    return ["tune", "--model", "tfidf", "--trials", "2", "--data-dir", world.data, "-o", folder.parent, "--name",
            folder.name, "-q"]


def cli_tune_digest(stdout, output, case):
    from emobench.records.tuning import TuningRecord

    # the command verified the folder (with --allow-modified where the case gave it): the digest reads what it left
    return tuning_digest(TuningRecord.load(case / "t", allow_modified=True))


def audit_digest(audit) -> dict:
    return audit.model_dump(mode="json")


def api_audit(folder, allow, case, world):
    from emobench.records.label_issues import read_label_issues

    audit = read_label_issues(folder)
    check_audit_consistent(audit)
    return audit_digest(audit)


def api_cleaning(folder, allow, case, world):
    """The audit used to clean a training split (train --label-issues drop --label-issues-from AUDIT)."""
    from emobench.data import DatasetConfig, load_dataset
    from emobench.experiments.label_issues import cleaning_plan

    corpus = load_dataset(DatasetConfig(name="emotion", data_dir=str(world.data)))
    plan = cleaning_plan(corpus, "relabel", str(folder))
    train = corpus["train"]
    assert all(0 <= row < len(train) for row in plan.rows) and len(set(plan.rows)) == len(plan.rows)
    assert all(len(s) == 1 and s[0] in corpus.label_names for s in plan.suggested)
    return plan.rows, plan.suggested


def _audit_beside(world, case) -> None:
    shutil.copy(world.root / "a.json", case / "a.json")


def api_review(folder, allow, case, world):
    """The corrections resumed by a review of their audit (emobench review AUDIT)."""
    from emobench.experiments.review import Review

    review = Review(folder.with_name("a.json"))
    try:
        items = {(it.split, it.index): it for it in review.items}
        for d in review.corrections.decisions:  # whatever the file said: decisions of flagged rows, as flagged
            item = items[(d.split, d.index)]
            assert d.text == item.text and sorted(d.given) == sorted(item.given)
            assert set(d.labels) <= set(review.audit.labels) and len(d.labels) == 1
        return review.corrections.model_dump(mode="json")
    finally:
        review.close()


def api_correction_plan(folder, allow, case, world):
    """The corrections trained on (train --label-corrections FILE)."""
    from emobench.data import DatasetConfig, load_dataset
    from emobench.experiments.review import correction_plan

    corpus = load_dataset(DatasetConfig(name="emotion", data_dir=str(world.data)))
    plan = correction_plan(corpus, str(folder))
    train = corpus["train"]
    assert all(0 <= row < len(train) for row in plan.rows) and len(set(plan.rows)) == len(plan.rows)
    assert all(len(s) == 1 and s[0] in corpus.label_names for s in plan.suggested)
    return plan.rows, plan.suggested


def check_audit_consistent(audit) -> None:
    """What a loaded audit promises whatever its file said: issues of rows inside the split, each once, of labels the
    audit knows, no more than it flagged, per-label counts of those labels, a noise matrix over the labels."""
    labels = set(audit.labels)
    for name, split in audit.splits.items():
        rows = [issue.index for issue in split.issues]
        assert all(r < split.n for r in rows), (name, "an issue outside the split")
        assert len(set(rows)) == len(rows), (name, "a row named twice")
        assert len(split.issues) <= split.flagged <= split.n, (name, "flagged")
        assert set(split.per_label) == labels and max(split.per_label.values()) <= split.flagged, (name, "per_label")
        for issue in split.issues:
            assert set(issue.given) <= labels and set(issue.suggested) <= labels, (name, "labels of an issue")
        if split.noise_matrix is not None:
            size = len(audit.labels)
            assert len(split.noise_matrix) == size and all(len(row) == size for row in split.noise_matrix)


def api_cache(folder, allow, case, world):
    from emobench.records.cache import read_static_entry

    arrays, tokenizer, settings = read_static_entry(folder)
    return ({k: hashlib.sha256(v.tobytes()).hexdigest() for k, v in sorted(arrays.items())}, tokenizer.name,
            settings.model_dump())


def api_static_model(folder, allow, case, world):
    from emobench.models.static import _from_cache

    model = _from_cache(folder)
    return np.round(np.asarray(model.encode(TEXTS)), 5).tolist()


LOADERS: dict[str, list[Loader]] = {
    "run": [Loader("RunRecord.load", api_run), Loader("load_model", api_model), Loader("Predictor", api_predictor),
            Loader("Predictor.card", api_card), Loader("cli predict", args=cli_predict_args, digest=cli_predict_digest),
            Loader("cli evaluate", args=cli_evaluate_args, digest=cli_evaluate_digest)],
    "run-compare": [Loader("cli compare RUN RUN", args=cli_compare_args, digest=cli_compare_digest, extra=_other_run)],
    "model": [Loader("load_model", api_model), Loader("Predictor", api_predictor),
              Loader("cli predict", args=cli_predict_args, digest=cli_predict_digest)],
    "export": [Loader("Predictor", api_predictor), Loader("Predictor.card", api_card),
               Loader("cli predict", args=cli_predict_args, digest=cli_predict_digest)],
    "service": [Loader("service", api_service)],
    # the readers that render or train again (a second or so each) are drawn less often than the records' own load
    "comparison": [*[Loader("ComparisonRecord.load", api_comparison)] * 3, Loader("rerender", api_rerender, writes=True),
                   Loader("cli report", args=cli_report_args, digest=cli_report_digest, writes=True)],
    "tuning": [*[Loader("TuningRecord.load", api_tuning)] * 4, Loader("tune continued", api_tune, writes=True),
               Loader("cli tune", args=cli_tune_args, digest=cli_tune_digest, writes=True)],
    "audit": [Loader("read_label_issues", api_audit), Loader("cleaning_plan", api_cleaning)],
    "corrections": [Loader("Review", api_review, extra=_audit_beside), Loader("correction_plan", api_correction_plan)],
    "cache": [Loader("read_static_entry", api_cache), Loader("static model", api_static_model)],
}

# where a folder lands in its case (a study continued by name, a comparison re-rendered, keep their names)
CASE_NAMES = {"comparison": "study", "tuning": "t", "audit": "audit.json", "cache": "entry",
              "corrections": "a.corrections.json"}


def baseline(world: World, source: str, loader: Loader) -> object:
    key = (source, loader.name)
    if key not in world.baselines:
        case = Path(tempfile.mkdtemp(dir=world.root / "cases", prefix="base-"))
        folder = _copy(world, source, case)
        if loader.extra:
            loader.extra(world, case)
        outcome = loader.run(world, folder, False, case)
        assert outcome.ok, f"{source} via {loader.name}: the untouched folder is refused: {outcome.message}"
        world.baselines[key] = outcome.digest
        shutil.rmtree(case, ignore_errors=True)
    return world.baselines[key]


def _copy(world: World, source: str, case: Path) -> Path:
    origin = world.root / world.sources[source]
    target = case / CASE_NAMES.get(source, origin.name)
    if origin.is_file():
        shutil.copy(origin, target)
    else:
        shutil.copytree(origin, target, symlinks=True)
    return target


FILE_PROBLEMS = re.compile(
    r"not valid JSON|not UTF-8|nested|sha256 differs|bytes, but|is too large|bytes; at most|missing|not a finished|"
    r"no such|not a (comparison|tuning) (directory|folder)|manifest|not written by emobench|not listed|corrupt|"
    r"not a tokenizer|cannot (be )?load|cannot be read|the weights and the description disagree|not the vocabulary|"
    r"come from different exports|the audit keeps \d+ of its \d+ issues|"
    r"the data differs from what the run was trained on")


# Clear refusals that name the wrong file or no field, raised outside records/ (see each note): counted, not failed.
KNOWN_UNCLEAR = {
    # models/tfidf.py checks the class ids before the label names (check_weights_labels): an emobench_model.json with a
    # label name removed is blamed on the weights file
    "tfidf: class ids before label names": r"tfidf\.safetensors: class ids \[.*\] do not fit \d+ labels$",
    # `evaluate` of a run whose config.json lost dataset.data_dir reads the data root of the environment (or the hub),
    # then compares the files' sha256 with data.json: refused as data that cannot be found (or that differs)
    "evaluate: data_dir removed": r"^dair-ai emotion: no data root \(EMOBENCH_DATA or --data-dir\), and the hub could not",
    # `evaluate` checks the dataset options of the run's config.json (data/readers check_config) and words a problem as
    # the user's command-line option ("--budget-validation ... needs --train-size"), naming neither the run nor its file
    "evaluate: config.json's dataset options refused as command-line options": r"^--[a-z-]+ ",
}


def check_error(message: str, case: Path, name: str, source: str, loader: str = "") -> None:
    """One line that names a file of the case's folder and the field (or what is wrong with the whole file)."""
    assert message and "\n" not in message and "\r" not in message, f"not one line: {message!r}"
    for known, pattern in KNOWN_UNCLEAR.items():
        if known.startswith("evaluate") and loader != "cli evaluate":
            continue
        if re.search(pattern, message):
            COUNTS[f"known unclear refusal: {known}"] += 1
            return
    assert len(message) < 4000, f"an error of {len(message)} characters: {message[:300]}..."
    data = re.search(rf"^({re.escape(str(DATA_ROOTS[0]))}|{re.escape(str(DATA_ROOTS[1]))})/\S+, line \d+: ", message) \
        if DATA_ROOTS else None  # `evaluate`, `tune`: the run's data, read with its recorded options, is refused
    assert str(case) in message or data or (source == "tuning" and "tunes another configuration" in message), \
        f"names no file of the folder: {message}"
    if data:
        return
    assert "field " in message or FILE_PROBLEMS.search(message) or "differs from what emobench recorded" in message \
        or "tunes another configuration" in message or "study.db" in message, f"names no field: {message}"


REGENERATED = ("results.csv", "statistics.json", "report.md", "report.html", "tables.tex")
MODEL_READERS = ("load_model", "Predictor", "Predictor.card", "cli predict", "cli evaluate", "service")


def verifies(loader: Loader, source: str, target: str) -> bool:
    """Whether ``loader`` checks ``target`` against its folder's manifest: a modified file it uses must be reported
    (``allow_modified``). A folder's own manifest cannot be checked; a model folder inside a run, comparison or tuning
    folder is verified when the model is loaded; a run's model readers do not read the run's other files."""
    if target == "MANIFEST.json" or source in ("audit", "cache", "corrections"):
        return False
    if loader.writes and source == "comparison" and (target in REGENERATED or target.startswith("figures/")):
        return False  # outputs about to be rendered again are not read
    in_model = source.startswith("model-") or "model/" in target
    if loader.name in MODEL_READERS:
        return in_model or source == "export" or loader.name in ("Predictor.card", "cli evaluate", "service")
    return not in_model


def free(loader: Loader, source: str, target: str, mode: str, same: bool) -> bool:
    """Whether a valid edit may change what ``loader`` gives: only where nothing beside the edited value can confirm
    it, and only once the edit was allowed (``allow_modified``, said out loud) or sealed into the manifest -- a model's
    temperature, vocabulary order or parameters (its predictions are then checked to be probabilities, with the
    model's labels), a cache entry's settings or tokenizer, what a tuning folder says it tuned, and a saved audit (a
    file the user keeps, without a manifest: its readers check that it holds together, and the cleaning checks every
    issue against its row). A run's metrics, a comparison's rows and a study's trials are checked against the
    predictions, the runs and the ledger: they must always be the saved ones."""
    if same:
        return False
    if source in ("audit", "corrections"):  # files the user keeps: checked to hold together and against the data
        return True
    if mode == "manifest":
        return False
    model_file = source.startswith("model-") or source == "export" or "model/" in target
    return (source in ("audit", "cache") or target == "tune.json" or model_file and loader.name in MODEL_READERS)


def pinned(source: str, target: str) -> bool:
    """Files an export's graph pins by their sha256 (the vocabulary, the tokenizer): any other bytes are refused, the
    same JSON written another way included."""
    return source == "export" and target in ("vocab.json", "tokenizer.json")


def run_case(world: World, test: str, source: str, kind: str, target: str, mutation: Mutation, loader: Loader,
             modes=MODES) -> None:
    """The mutation applied to ``target`` of a copy of ``source``, loaded by ``loader`` in each mode."""
    COUNTS[test] += 1
    origin = world.root / world.sources[source] / target if target else world.root / world.sources[source]
    before = origin.read_bytes()
    after = mutation.apply(before)
    same = harmless(mutation, before, after)
    if currently_in_test_context():
        note(f"{source}/{target} via {loader.name}: {mutation!r} (harmless: {same})")
    expected = baseline(world, source, loader)
    for mode in modes:
        case = Path(tempfile.mkdtemp(dir=world.root / "cases", prefix=f"{mode}-"))
        try:
            folder = _copy(world, source, case)
            if loader.extra:
                loader.extra(world, case)
            path = folder / target if target else folder
            path.write_bytes(after)
            if mode == "rewritten":
                reseal(folder, skip=path if path.name == "MANIFEST.json" else None)
            before_case = snapshot(case)
            with watched(case, allowed=tuple(DATA_ROOTS)), bounded_time(LOAD_SECONDS):
                outcome = loader.run(world, folder, mode == "allow", case)  # the runs' own data: evaluate, tune
            COUNTS[test + "/loads"] += 1
            if LOG:  # EMOBENCH_RECORDS_LOG=FILE: every outcome, one JSON line each, to read the refusals
                with open(LOG, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps({"mode": mode, "source": source, "target": target, "loader": loader.name,
                                             "mutation": repr(mutation), "ok": outcome.ok,
                                             "message": outcome.message.replace(str(case), "CASE")}) + "\n")
            COUNTS[f"{test}:{mode} {'loaded' if outcome.ok else 'refused'}"] += 1
            where = f"[{mode}] {source}/{target} via {loader.name}: {mutation!r}"
            if outcome.ok:
                if outcome.digest != expected:
                    assert free(loader, source, target, mode, same), f"{where}: a different result from the untouched " \
                                                                      "folder's"
                    COUNTS[f"{test}:{mode} loaded a valid edit with another result"] += 1
                if mode == "allow" and after != before and verifies(loader, source, target):
                    assert outcome.warned, f"{where}: loaded without saying it was modified"
            else:
                assert not same or mode == "manifest" and after != before or pinned(source, target), \
                    f"{where}: the same JSON, written another way, refused: {outcome.message}"
                check_error(outcome.message, case, target, source, loader.name)
                after_case = snapshot(case)
                assert after_case == before_case, f"{where}: the refusal changed the folder"
                if loader.name == "cli compare RUN RUN":
                    assert not (case / "out" / "c").exists() and not (case / "out" / "c.partial").exists()
        finally:
            shutil.rmtree(case, ignore_errors=True)


# ---------------------------------------------------------------- the tests


@st.composite
def cases(draw, world: World, sources: list[str], kind: str, loaders: list[Loader] | None = None):
    source = draw(st.sampled_from(sources))
    target = draw(st.sampled_from(json_files(world, source)))
    origin = world.root / world.sources[source] / target if target else world.root / world.sources[source]
    mutation = draw(mutations(origin.read_bytes()))
    loader = draw(st.sampled_from(loaders or LOADERS[kind]))
    return source, target, mutation, loader


# what is mutated: (the test's name, the folders drawn from, their kind, examples, how the edits meet the manifest)
FOLDERS = [
    ("runs", ["run-tfidf", "run-lstm", "run-multi"], "run", 400, None),
    ("models", ["model-lstm", "model-tfidf", "model-stack"], "model", 200, None),
    ("exports", ["export"], "export", 200, None),
    ("service", ["export", "run-tfidf", "run-multi"], "service", 40, None),
    ("compare", ["run-tfidf"], "run-compare", 10, None),
    ("comparisons", ["comparison"], "comparison", 60, None),
    ("tuning", ["tuning"], "tuning", 60, None),
    ("audits", ["audit"], "audit", 200, ("file",)),
    ("corrections", ["corrections"], "corrections", 150, ("file",)),
    ("cache", ["cache"], "cache", 100, ("manifest", "rewritten")),
]


@pytest.mark.parametrize("name,sources,kind,examples,modes", FOLDERS, ids=[f[0] for f in FOLDERS])
def test_any_mutation_of_any_record_file(world, name, sources, kind, examples, modes):
    if name == "cache" and "cache" not in world.sources:
        pytest.skip("static embeddings are not installed")

    @bounded(examples)
    @given(st.data())
    def check(data):
        source, target, mutation, loader = data.draw(cases(world, sources, kind))
        run_case(world, name, source, kind, target, mutation, loader, **({"modes": modes} if modes else {}))

    check()
    counted(name, examples)


# ---------------------------------------------------------------- what the runs found, kept as plain cases


def loader_named(kind: str, name: str) -> Loader:
    return next(loader for loader in LOADERS[kind] if loader.name == name)


def test_found_metrics_keys_in_another_order_are_the_same_metrics(world):
    """metrics.json rewritten with its keys sorted (per_class in alphabetical order) was refused: "labels [...], but
    data.json says [...]". A JSON object's keys have no order; the names are checked and kept in the labels' order."""
    run_case(world, "found", "run-tfidf", "run", "metrics.json", Mutation("reformat", value=REFORMATS[1]),
             loader_named("run", "RunRecord.load"))


@pytest.mark.parametrize("path, value", [
    (("splits", "test", "macro", "precision"), 0.5), (("splits", "test", "per_class", "joy", "recall"), 0.25),
    (("splits", "validation", "confusion_matrix", 0, 0), 7), (("splits", "test", "weighted", "recall"), 0.9)])
def test_found_every_recorded_metric_is_checked_against_the_predictions(world, path, value):
    """Only accuracy, macro/weighted F1 and per-class F1 and support were recomputed: an edited precision, recall or
    confusion matrix loaded silently (and showed in reports) once the manifest matched."""
    from emobench.records.run import RunRecord

    run_case(world, "found", "run-tfidf", "run", "metrics.json", Mutation("perturb", path, value),
             loader_named("run", "RunRecord.load"))
    case = Path(tempfile.mkdtemp(dir=world.root / "cases"))
    folder = _copy(world, "run-tfidf", case)
    metrics = folder / "metrics.json"
    metrics.write_bytes(Mutation("perturb", path, value).apply(metrics.read_bytes()))
    reseal(folder)
    field = ".".join(str(p) for p in path).replace(".0.0", "[0][0]")
    with pytest.raises(EmobenchError, match=rf"metrics\.json: field {re.escape(field)}: {value}(\.0)? recorded, but the "
                                            r"predictions \(predictions/\w+\.csv\) give"):
        RunRecord.load(folder)


def test_found_a_tokenizer_token_without_an_id_is_refused(world):
    """A cache entry's tokenizer.json with an added token of no id: TypeError ('>' between None and int) in
    check_tokenizer_json, because the search for a bad id used None as its "nothing found"."""
    if "cache" not in world.sources:
        pytest.skip("static embeddings are not installed")
    mutation = Mutation("perturb", ("added_tokens", 0), {})
    run_case(world, "found", "cache", "cache", "tokenizer.json", mutation, loader_named("cache", "read_static_entry"),
             modes=("rewritten",))
    from emobench.records.cache import read_static_entry

    case = Path(tempfile.mkdtemp(dir=world.root / "cases"))
    folder = _copy(world, "cache", case)
    (folder / "tokenizer.json").write_bytes(mutation.apply((folder / "tokenizer.json").read_bytes()))
    reseal(folder)
    with pytest.raises(EmobenchError, match=r"tokenizer\.json: field added_tokens: id None; expected integers >= 0"):
        read_static_entry(folder)


AUDIT_FINDINGS = [
    # a noise matrix row of 5 shares for 6 labels loaded
    (("label_issues", "splits", "train", "noise_matrix", 0), [0.9, 0.0, 0.0, 0.0, 0.0],
     r"field label_issues\.splits\.train\.noise_matrix: expected 6 rows of 6 shares"),
    # an empty label name loaded; the per-label counts then named a label the audit does not have
    (("label_issues", "labels", 0), "", r"field label_issues\.labels\[0\]"),
    # a format this version does not know loaded as if it were its own
    (("label_issues", "format"), 2, r"field label_issues\.format"),
    # a task of no kind loaded (a string field)
    (("label_issues", "task"), "both", r"field label_issues\.task"),
    # an issue of a row past the split: a comparison's noise analysis indexed its texts with it (IndexError)
    (("label_issues", "splits", "train", "issues", 0, "index"), 10 ** 6,
     r"field label_issues\.splits\.train\.issues\[0\]\.index: row 1000000, but the training split has 180 texts"),
    (("label_issues", "splits", "train", "issues", 0, "suggested"), ["pride"],
     r"field label_issues\.splits\.train\.issues\[0\]\.suggested: 'pride' is not a label of the audit"),
    (("label_issues", "splits", "train", "flagged"), 10 ** 6, r"field label_issues\.splits\.train\.flagged"),
    (("label_issues", "splits", "train", "digest"), "x", r"field label_issues\.splits\.train\.digest"),
]


@pytest.mark.parametrize("path, value, message", AUDIT_FINDINGS)
def test_found_a_saved_audit_holds_together(world, path, value, message):
    """Label-issues audits loaded whatever their counts, rows, labels and noise matrix said."""
    from emobench.records.label_issues import read_label_issues

    mutation = Mutation("perturb", path, value)
    run_case(world, "found", "audit", "audit", "", mutation, loader_named("audit", "read_label_issues"), modes=("file",))
    case = Path(tempfile.mkdtemp(dir=world.root / "cases"))
    audit = _copy(world, "audit", case)
    audit.write_bytes(mutation.apply(audit.read_bytes()))
    with pytest.raises(EmobenchError, match=message):
        read_label_issues(audit)


def _tuning_copy(world: World, edit) -> Path:
    case = Path(tempfile.mkdtemp(dir=world.root / "cases"))
    folder = _copy(world, "tuning", case)
    edit(folder)
    return folder


def test_a_refused_continuation_keeps_the_tuning_folder_verified(world):
    def edit(folder: Path) -> None:
        metrics = folder / "best" / "metrics.json"
        metrics.write_bytes(Mutation("perturb", ("splits", "test", "accuracy"), 0.5).apply(metrics.read_bytes()))
        reseal(folder)  # the manifests say this is the saved folder: the records' own checks must refuse it

    folder = _tuning_copy(world, edit)
    with pytest.raises(EmobenchError, match=r"best/metrics\.json: field splits\.test\.accuracy: 0\.5 recorded"):
        api_tune(folder, False, folder.parent, world)
    assert (folder / "MANIFEST.json").is_file(), "the refusal removed the tuning folder's manifest"


def test_a_continuation_allowed_a_modified_best_run_finishes(world):
    def edit(folder: Path) -> None:
        config = folder / "best" / "config.json"
        config.write_text(json.dumps(json.loads(config.read_text())))  # the same JSON, written compactly

    folder = _tuning_copy(world, edit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the modified file, said out loud
        record = api_tune(folder, True, folder.parent, world)
    assert record == baseline(world, "tuning", loader_named("tuning", "tune continued"))


def test_a_model_description_cannot_make_the_load_unbounded(world):
    case = Path(tempfile.mkdtemp(dir=world.root / "cases"))
    folder = _copy(world, "model-lstm", case)
    description = folder / "emobench_model.json"
    description.write_bytes(Mutation("perturb", ("params", "num_layers"), 1_000_001).apply(description.read_bytes()))
    reseal(folder)
    with bounded_time(5):
        with pytest.raises(EmobenchError, match=r"emobench_model\.json: field params"):
            api_model(folder, False, case, world)


def edited(world: World, source: str, target: str, mutation: Mutation, sealed: bool = True) -> Path:
    """A copy of ``source`` with ``mutation`` applied to ``target`` and (``sealed``) its manifests rewritten to match."""
    case = Path(tempfile.mkdtemp(dir=world.root / "cases"))
    folder = _copy(world, source, case)
    path = folder / target if target else folder
    path.write_bytes(mutation.apply(path.read_bytes()))
    if sealed:
        reseal(folder)
    return folder


def _load_run(folder):
    from emobench.records.run import RunRecord

    return RunRecord.load(folder)


def _load_comparison(folder):
    from emobench.records.comparison import ComparisonRecord

    record = ComparisonRecord.load(folder)
    return record.load_runs()


def _load_comparison_transfer(folder):
    from emobench.records.comparison import ComparisonRecord

    record = ComparisonRecord.load(folder)
    return record.transfer([run.name for run in record.load_runs()])


def _load_tuning(folder):
    from emobench.records.tuning import TuningRecord

    return TuningRecord.load(folder)


def _load_export(folder):
    from emobench.serving import Predictor

    return Predictor(folder).predict(TEXTS)


def _load_cache(folder):
    from emobench.records.cache import read_static_entry

    return read_static_entry(folder)


FOUND = [
    # found: data.json's source was read unchecked; `evaluate` then compared a sha256 of True ("zz_unknown: sha256
    # True... when trained, None... now"), and a list of files broke `.items()`
    ("run-tfidf", "data.json", Mutation("add", ("source", "files"), ("zz_unknown", True)), _load_run,
     r"data\.json: field source\.files\.zz_unknown: Input should be a valid string"),
    ("run-tfidf", "data.json", Mutation("replace", ("source", "files"), [1, "a"]), _load_run,
     r"data\.json: field source\.files: Input should be a valid dictionary"),
    # found: `compare RUN RUN` of a run whose config.json names the model " " wrote a comparison of a blank model
    ("run-tfidf", "config.json", Mutation("perturb", ("model",), " "), _load_run,
     r"config\.json: field model: ' ': expected a name"),
    # found: a dimension of the search space in another shape loaded (and `in_space` would index it)
    ("tuning", "tune.json", Mutation("perturb", ("space", "C"), [5.0, 0.02, "float-log"]), _load_tuning,
     r"tune\.json: field space\.C: \[5\.0, 0\.02, 'float-log'\]; expected"),
    # found: a trial's parameter taken out of the space loaded, the trials then outside it
    ("tuning", "tune.json", Mutation("delete", ("space", "C")), _load_tuning,
     r"trials\.json: field trials\[0\]\.params: C outside the search space of tune\.json"),
    # found: a cache entry's tokenizer with a token fewer than its vectors: model2vec's ValueError ("Number of tokens
    # (115) does not match number of vectors (116)") escaped as a traceback when the static model was built
    ("cache", "tokenizer.json", Mutation("delete", ("model", "vocab", "a")), _load_cache,
     r"tokenizer\.json: field model\.vocab: 115 tokens, but static\.safetensors holds 116 vectors"),
    # found: a transfer's facts were read unchecked: `emobench report` of a comparison whose transfer/<run>.json says
    # "scored_on": true crashed in rich's escape (TypeError, exit 1)
    ("comparison", "transfer/tfidf-s0.json", Mutation("replace", ("transfer", "scored_on"), True), _load_comparison_transfer,
     r"transfer/tfidf-s0\.json: field transfer\.scored_on: Input should be a valid string"),
    ("comparison", "transfer/tfidf-s0.json", Mutation("perturb", ("transfer", "kept"), 7), _load_comparison_transfer,
     r"transfer/tfidf-s0\.json: field transfer\.kept: 7 texts kept, but the scores count 32"),
    # found: a split taken out of metrics.json loaded, its predictions then unchecked and the run without validation
    ("run-lstm", "metrics.json", Mutation("delete", ("splits", "validation")), _load_run,
     r"metrics\.json: field splits: no 'validation' split, but predictions/validation\.csv exists"),
    # found: a blank dataset name loaded; `compare RUN RUN` then said only "the runs were evaluated on different data"
    ("run-tfidf", "data.json", Mutation("perturb", ("dataset",), ""), _load_run, r"data\.json: field dataset"),
    # review: what `emobench tune` prints (trials.json) was not checked against the ledger
    ("tuning", "trials.json", Mutation("perturb", ("trials", 1, "val_macro_f1"), 0.5), _load_tuning,
     r"trials\.json: field trials\[1\]: trial 1 \(complete, .*0\.5\) differs from ledger\.json"),
    ("tuning", "best/config.json", Mutation("perturb", ("overrides", "C"), 4.0), _load_tuning,
     r"best/config\.json: field overrides: .* but the best trial of trials\.json has"),
    # review: a comparison's rows were checked on accuracy and macro-F1 only; the per-class table and the other
    # averages it renders were not, nor its ensembles
    ("comparison", "results.json", Mutation("perturb", ("runs", 0, "per_class", "joy", "recall"), 0.5), _load_comparison,
     r"results\.json: field runs\[0\]\.per_class\.joy\.recall: 0\.5 recorded, but .* gives 1\.0"),
    ("comparison", "results.json", Mutation("perturb", ("runs", 0, "weighted_precision"), 0.25), _load_comparison,
     r"results\.json: field runs\[0\]\.weighted_precision: 0\.25 recorded"),
    ("comparison", "results.json", Mutation("replace", ("ensembles",), [["tfidf", "lstm"]]), _load_comparison,
     r"results\.json: field ensembles\[0\]: \['tfidf', 'lstm'\]; expected two or more of the compared models"),
    # review: an export's checks were taken as written: a verdict its value contradicts, a passed export with a
    # failed check, a missing check
    ("export", "export.json", Mutation("perturb", ("checks", "fp32_agreement", "required"), 1.5), _load_export,
     r"export\.json: field checks\.fp32_agreement\.passed: True, but its value 1\.0 is below the required 1\.5"),
    ("export", "export.json", Mutation("delete", ("checks", "fp32_agreement")), _load_export,
     r"export\.json: field checks: no fp32_agreement check"),
]


@pytest.mark.parametrize("source, target, mutation, load, message", FOUND,
                         ids=[f"{s}/{t}:{m.kind}{list(m.path)}" for s, t, m, _, _ in FOUND])
def test_found_edits_sealed_into_the_manifest_are_refused(world, source, target, mutation, load, message):
    """Each of these loaded (or broke a reader) with its manifest rewritten to match; now a clear error naming the file
    and the field."""
    if source == "cache" and "cache" not in world.sources:
        pytest.skip("static embeddings are not installed")
    folder = edited(world, source, target, mutation)
    with pytest.raises(EmobenchError, match=message):
        load(folder)
