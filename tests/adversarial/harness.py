"""What the two adversarial tables share: the workspaces their cases copy and point at, the case types, the
classification of an outcome, the audit hook on ``open``, the ways of invoking `emobench` (in-process and as a
process), the HTTP service the serving cases talk to, and the loop that runs a list of cases.

Outcomes: "clear error" (exit 2, or a RecordError/EmobenchError, whose message names the file / line / key / field,
nothing written or changed), "correct" (a bad-looking input or a harmless edit emobench handles, with the right
result; an allowed modification said out loud), and the failures: "traceback", "wrong result" (an answer where a
refusal was due, or a wrong answer), "half-written" (an error that left files behind or changed the folder),
"opened outside" (a tampered folder made Python open a file in ``outside/``), "code execution" (a hostile file ran
code), "lost run" (a finished run was changed or removed), "unclear error" (a refusal that does not say what is
wrong, or an HTTP error that echoes the input) and "crash" (the HTTP service cannot answer, or is unhealthy after
the case).
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

WORDS = {
    "sadness": ["sad", "lonely", "miserable", "heartbroken"], "joy": ["happy", "glad", "cheerful", "delighted"],
    "anger": ["angry", "furious", "irritated", "annoyed"],
}
# the bad-input workspace's finished work, which no case may change (ok cases may add to the comparison)
PROTECTED = ("runs/tfidf-run", "runs/lstm-run", "cmp/study")
FAILURES = ("traceback", "wrong result", "half-written", "opened outside", "code execution", "lost run",
            "unclear error", "crash")


def examples(n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` learnable texts of three emotions, in turn."""
    rng = random.Random(seed)
    labels = list(WORDS)
    return [(f"i feel {rng.choice(WORDS[labels[i % 3]])} today {rng.choice(['', 'really', 'lol'])}".strip(), labels[i % 3])
            for i in range(n)]


# ---------------------------------------------------------------- the workspaces


@dataclass
class Workspace:
    """A folder of finished work the cases point at (bad inputs) or copy and edit (tampered folders)."""

    root: Path
    _watch: OpenWatch | None = field(default=None, repr=False, compare=False)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def marker(self) -> Path:
        """Created by hostile files if they ever run code."""
        return self.root / "EXECUTED"

    @property
    def outside(self) -> Path:
        """Decoys a tampered folder may point at; nothing may open them."""
        return self.root / "outside"

    def p(self, *parts) -> str:
        return str(self.root.joinpath(*parts))

    def watch(self) -> OpenWatch:
        """The audit hook on ``open`` for this workspace's ``outside/`` (one per workspace: hooks cannot be removed),
        checked once to see an open there, or its zero would mean nothing."""
        if self._watch is None:
            watch = OpenWatch(self.outside)
            watch.active = True
            (self.outside / "secret.json").read_bytes()
            watch.active = False
            if not watch.seen:
                raise RuntimeError("the audit hook did not see a file opened in outside/")
            watch.seen.clear()
            self._watch = watch
        return self._watch


def _run_steps(steps: list[list[str]], invoke) -> None:
    for args in steps:
        code, output = invoke(args)
        if code != 0:
            raise RuntimeError(f"workspace step failed: {args}\n{output}")


def build_bad_inputs_workspace(root: Path, invoke: Callable[[list[str]], tuple[int, str]]) -> Workspace:
    """Tiny datasets, finished runs (tfidf, LSTM, lstm-paper, a tiny BERT, multi-label, one on user files), an int8
    LSTM export (served by the HTTP cases), a finished comparison, an indicator-column file and labelled files."""
    from tiny_models import build_bert

    ws = Workspace(root)
    (ws.data / "emotion").mkdir(parents=True)
    for name, n, seed in (("train.txt", 90, 1), ("val.txt", 30, 2), ("test.txt", 30, 3)):
        (ws.data / "emotion" / name).write_text("".join(f"{t};{l}\n" for t, l in examples(n, seed)))
    (ws.root / "user").mkdir()
    for split, n, seed in (("train", 90, 4), ("validation", 30, 5), ("test", 30, 6)):
        with open(ws.root / "user" / f"{split}.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            writer.writerows(examples(n, seed))
    common = ["--data-dir", str(ws.data), "-q"]
    tiny_lstm = ["--set", "epochs=1", "--set", "hidden_size=4", "--set", "glove=none"]
    _run_steps([
        ["train", "--model", "tfidf", "-o", ws.p("runs"), "--name", "tfidf-run", *common],
        ["train", "--model", "lstm", "-o", ws.p("runs"), "--name", "lstm-run", "--set", "epochs=2", "--set", "hidden_size=8",
         "--set", "glove=none", *common],
        ["compare", "--models", "tfidf,lstm", "-o", ws.p("cmp"), "--name", "study", "--set", "lstm.epochs=1", "--set",
         "lstm.hidden_size=4", "--set", "lstm.glove=none", *common],
        ["train", "--model", "tfidf", "--train-file", ws.p("user", "train.csv"), "--validation-file",
         ws.p("user", "validation.csv"), "--test-file", ws.p("user", "test.csv"), "-o", ws.p("runs"), "--name", "user-run",
         "-q"],
    ], invoke)
    steps = [
        ["export", ws.p("runs", "lstm-run"), "--quantize", "int8", "-o", ws.p("exports", "lstm-int8")],
        ["train", "--model", "lstm-paper", "-o", ws.p("runs"), "--name", "paper-run", *common, *tiny_lstm],
    ]
    build_bert([t for t, _ in examples(120, 9)], ws.root / "tiny-bert")
    steps.append(["train", "--model", f"hf:{ws.root / 'tiny-bert'}", "-o", ws.p("runs"), "--name", "bert-run", "--data-dir",
                  str(ws.data), "-q", "--set", "epochs=1", "--set", "batch_size=16"])
    multi = ws.root / "multi"
    multi.mkdir()
    for split, n, seed in (("train", 90, 11), ("validation", 30, 12), ("test", 30, 13)):
        with open(multi / f"{split}.jsonl", "w", encoding="utf-8") as handle:
            for i, (text, label) in enumerate(examples(n, seed)):
                labels = [label] + (["anger"] if i % 4 == 0 and label != "anger" else [])
                handle.write(json.dumps({"text": text + (" and angry" if len(labels) > 1 else ""), "label": labels}) + "\n")
    steps.append(["train", "--model", "tfidf", "--train-file", str(multi / "train.jsonl"), "--validation-file",
                  str(multi / "validation.jsonl"), "--test-file", str(multi / "test.jsonl"), "-o", ws.p("runs"), "--name",
                  "multi-run", "-q"])
    with open(ws.root / "user" / "indicators.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ID", "Tweet", *WORDS])
        for i, (text, label) in enumerate(examples(90, 14)):
            writer.writerow([f"id-{i}", text, *[int(name == label) for name in WORDS]])
    with open(ws.root / "user" / "parts.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["utterance", "emotion", "part"])
        for i, (text, label) in enumerate(examples(60, 15)):
            writer.writerow([text, label if i % 10 else "neutral", ["train", "test"][i % 2]])
    _run_steps(steps, invoke)
    return ws


def build_tampered_workspace(root: Path, invoke) -> Workspace:
    """Tiny data; runs of every family; exports (fp32, int8); a comparison; a tuning folder; decoys outside."""
    from tiny_models import build_bert

    ws = Workspace(root)
    data = root / "data" / "emotion"
    data.mkdir(parents=True)
    for name, n, seed in (("train.txt", 120, 1), ("val.txt", 36, 2), ("test.txt", 36, 3)):
        (data / name).write_text("".join(f"{t};{l}\n" for t, l in examples(n, seed)))
    multi = root / "multi"
    multi.mkdir()
    rng = random.Random(0)
    for split, n in (("train", 90), ("validation", 30), ("test", 30)):
        rows = []
        for i in range(n):
            labels = sorted({list(WORDS)[i % 3], list(WORDS)[rng.randrange(3)]})
            rows.append(json.dumps({"text": "i am " + " and ".join(rng.choice(WORDS[l]) for l in labels), "label": labels}))
        (multi / f"{split}.jsonl").write_text("\n".join(rows) + "\n")
    bert = build_bert([t for t, _ in examples(300, 9)], root / "tiny-bert")
    common = ["--data-dir", ws.p("data"), "-o", ws.p("runs"), "-q"]
    tiny = ["--set", "glove=none", "--set", "hidden_size=8"]
    _run_steps([
        ["train", "--model", "tfidf", "--name", "tfidf", *common],
        ["train", "--model", "lstm", "--name", "lstm", "--set", "epochs=3", "--set", "learning_rate=0.01", *tiny, *common],
        ["train", "--model", "lstm-paper", "--name", "paper", "--set", "epochs=2", "--set", "max_vocab=12", *tiny, *common],
        ["train", "--model", f"hf:{bert}", "--name", "bert", "--set", "epochs=2", "--set", "batch_size=16", "--set",
         "learning_rate=0.003", *common],
        ["train", "--model", "setfit", "--name", "setfit", "--set", f"body={bert}", "--set", "max_steps=10", *common],
        ["train", "--model", "static", "--name", "static", "--set", f"body={bert}", *common],
        ["train", "--model", "majority", "--name", "majority", *common],
        ["train", "--model", "tfidf", "--name", "multi", "--train-file", str(multi / "train.jsonl"), "--validation-file",
         str(multi / "validation.jsonl"), "--test-file", str(multi / "test.jsonl"), "-o", ws.p("runs"), "-q"],
        ["export", ws.p("runs", "lstm"), "--quantize", "int8", "-o", ws.p("exports", "lstm")],
        ["export", ws.p("runs", "paper"), "-o", ws.p("exports", "paper")],
        ["export", ws.p("runs", "bert"), "--quantize", "int8", "-o", ws.p("exports", "bert")],
        ["compare", "--models", "tfidf,lstm", "--set", "lstm.epochs=1", "--set", "lstm.glove=none", "--set",
         "lstm.hidden_size=4", "--data-dir", ws.p("data"), "-o", ws.p("cmp"), "--name", "study", "-q"],
        ["tune", "--model", "tfidf", "--trials", "3", "--data-dir", ws.p("data"), "-o", ws.p("tuning"), "--name", "t", "-q"],
    ], invoke)
    ws.outside.mkdir()
    for name in ("vocab.json", "emobench_model.json"):
        shutil.copy(root / "exports" / "lstm" / name, ws.outside / name)
    shutil.copy(root / "exports" / "bert" / "tokenizer.json", ws.outside / "tokenizer.json")
    shutil.copy(root / "exports" / "bert" / "model.onnx", ws.outside / "model.onnx")
    (ws.outside / "secret.json").write_text('{"words": ["<pad>", "<unk>", "secret"], "length": 3}')
    return ws


# ---------------------------------------------------------------- the case types


@dataclass
class Case:
    """A bad input: arguments, a file, a request or a race that must end as a clear error or a correct result."""

    name: str
    # kind "cli": arguments ("{ws}" is replaced by the workspace root, "{case}" by the case's own folder); "http": a
    # request spec ({"request": http(...), "status": regex} or {"requests": [...], "statuses": [...]}); "process": a
    # function (ws, case_dir) -> (exit code, output) that runs several processes itself (concurrent writers, a kill).
    args: list | dict | Callable
    expect: str = "error"  # "error" or "ok"
    message: str = ""  # regex the output must match (errors: names the file / line / key)
    setup: Callable | None = None  # setup(case_dir, ws)
    check: Callable | None = None  # "ok" cases: check(case_dir, ws, output or responses) -> problem or None
    env: dict = field(default_factory=dict)
    group: str = ""
    kind: str = "cli"


@dataclass
class TamperedCase:
    """A copy of a folder emobench wrote, edited, then used through the CLI, the Python API or the service.

    Modes: "manifest" (the folder as saved: its manifest catches the edit), "allow" (``--allow-modified`` /
    ``allow_modified=True``: past the manifest, the file's own validation must catch it), "legacy" (as emobench 0.2
    saved it: no manifest at all)."""

    name: str
    group: str  # run, model, export, comparison, tuning
    source: str  # the folder copied, relative to the workspace
    edit: Callable | None  # edit(folder, ws)
    via: str  # "cli", "api" or "service"
    args: list = field(default_factory=list)  # CLI arguments ("{f}": the copied folder, "{ws}": the workspace)
    call: Callable | None = None  # api/service: call(folder, allow_modified) -> result
    expect: str = "error"  # "error" or "ok"
    message: str = ""  # a refusal's message must match (names the file and the field)
    mode: str = "allow"  # "manifest", "allow" or "legacy"
    check: Callable | None = None  # ok cases: check(output or result) -> problem or None


# ---------------------------------------------------------------- classifying an outcome


def digest(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink() and "__pycache__" not in path.parts:
            out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def substitute(values, ws: Workspace, case_dir: Path) -> list[str]:
    return [str(v).replace("{ws}", str(ws.root)).replace("{case}", str(case_dir)) for v in values]


def refusal(message: str, code: int, output: str, case_dir: Path, before: dict,
            said=lambda output: output[-400:]) -> tuple[str, str]:
    """The outcome of a case that must be refused: exit 2 with a message matching ``message``, nothing changed."""
    if code == 0:
        return "wrong result", "exit 0 where an error was due: " + said(output)[-300:]
    if message and not re.search(message, output, re.S):
        return "unclear error", f"message does not match {message!r}: {said(output)}"
    after = digest(case_dir)
    if after != before:
        new = sorted(set(after) - set(before)) or sorted(k for k in after if after[k] != before.get(k))
        return "half-written", f"left behind or changed: {new[:3]}"
    return "clear error", ""


def verdict(expect: str, message: str, code: int, output: str, case_dir: Path, before: dict,
            ok_problem: Callable[[], str | None], said=lambda output: output[-400:]) -> tuple[str, str]:
    """What both tables conclude from an exit code and an output: a traceback, a refusal as due, or an ok result
    that ``ok_problem`` finds nothing wrong with."""
    if "Traceback" in output or code not in (0, 2):
        return "traceback", output[-3000:]
    if expect == "error":
        return refusal(message, code, output, case_dir, before, said)
    if code != 0:
        return "wrong result", f"exit {code} where it should work: {output[-600:]}"
    problem = ok_problem()
    return ("wrong result", problem) if problem else ("correct", "")


def classify(case: Case, code: int, output: str, ws: Workspace, case_dir: Path, before: dict,
             protected_before: dict) -> tuple[str, str]:
    """A bad input run through the CLI or as processes."""
    if ws.marker.exists():
        ws.marker.unlink()
        return "code execution", "a hostile file ran code"
    for name, before_digest in protected_before.items():
        if digest(ws.root / name) != before_digest:
            return "lost run", f"{name} was changed or removed"
    return verdict(case.expect, case.message, code, output, case_dir, before,
                   lambda: case.check(case_dir, ws, output) if case.check else None)


def classify_http(case: Case, responses: list[tuple[int, str]], healthy: bool, ws: Workspace,
                  case_dir: Path) -> tuple[str, str]:
    """An HTTP case: every answer's status as expected, errors naming the item without echoing the input, the
    service healthy after it."""
    if not healthy:
        return "crash", "/health is not ok after the case"
    spec = case.args
    patterns = spec.get("statuses") or [spec.get("status", r"4\d\d")] * len(responses)
    for (status, text), pattern in zip(responses, patterns):
        if status >= 500:
            return "traceback", f"status {status}: {text[:300]}"
        if not re.fullmatch(pattern, str(status)):
            return ("wrong result" if status == 200 else "unclear error"), f"status {status}, expected {pattern}: {text[:300]}"
        if 400 <= status < 500:
            if len(text) > 4000:
                return "unclear error", f"a {len(text)}-byte error echoes the input"
            if case.message and not re.search(case.message, text, re.S):
                return "unclear error", f"message does not match {case.message!r}: {text[:300]}"
    problem = case.check(case_dir, ws, responses) if case.check else None
    if problem:
        return "wrong result", problem
    return ("clear error" if case.expect == "error" else "correct"), ""


def said(output: str) -> str:
    """The output without warnings and data notes: what the refusal said."""
    lines = [line for line in output.splitlines() if line.strip() and not line.startswith("warning:") and
             "used anyway because" not in line and "differs from the published dair-ai" not in line]
    return "\n".join(lines)[-700:]


def classify_tampered(case: TamperedCase, code: int, output: str, result, opened: list[str], case_dir: Path,
                      before: dict) -> tuple[str, str]:
    """A tampered folder used through the CLI, the API or the service."""
    if opened:
        return "opened outside", f"opened {sorted(set(opened))[:3]}"

    def ok_problem() -> str | None:
        problem = case.check(result if case.via != "cli" else output) if case.check else None
        if case.mode == "allow" and "allow_modified" not in output and "--allow-modified" not in output:
            problem = problem or "the allowed modification was not reported"
        return problem
    return verdict(case.expect, case.message, code, output or str(result), case_dir, before, ok_problem, said)


class OpenWatch:
    """An audit hook recording every file Python opens under ``outside``."""

    def __init__(self, outside: Path):
        self.outside = str(outside.resolve())
        self.seen: list[str] = []
        self.active = False
        sys.addaudithook(self)

    def __call__(self, event: str, args) -> None:
        if not self.active or event != "open" or not args:
            return
        target = args[0]
        if isinstance(target, int):
            return
        try:
            path = os.path.realpath(os.fsdecode(target))
        except (TypeError, ValueError):
            return
        if path.startswith(self.outside):
            self.seen.append(path)


# ---------------------------------------------------------------- invoking emobench


def cli_invoker():
    """`emobench` in this process (typer's CliRunner): ``invoke(args, env) -> (exit code, output)``; an env value ""
    unsets the variable; a traceback is added to the output."""
    from typer.testing import CliRunner

    from emobench.cli import app

    def invoke(args, env=None):
        env = {k: (v or None) for k, v in {"HF_HUB_OFFLINE": "1", **(env or {})}.items()}
        result = CliRunner().invoke(app, args, env=env)
        output = result.output
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            import traceback

            output += "Traceback\n" + "".join(traceback.format_exception(result.exception))
        return result.exit_code, output
    return invoke


def subprocess_invoker(base_env: dict):
    """`emobench` as a process of its own, with ``base_env``; an env value "" unsets the variable."""
    def invoke(args, env=None):
        merged = {**base_env, **(env or {})}
        merged = {k: v for k, v in merged.items() if v != ""}
        done = subprocess.run([sys.executable, "-m", "emobench.cli", *args], capture_output=True, text=True, env=merged,
                              timeout=600)
        return done.returncode, done.stdout + done.stderr
    return invoke


# ---------------------------------------------------------------- the HTTP service


POISON = "\u2063emobench-poison"  # a text holding it makes the served model raise (see SERVER below)
# `emobench serve` whose model raises a BaseException on a poisoned text, as a Rust tokenizer's panic does: no real
# text breaks a tokenizer once lone surrogates are refused, so the service's isolation is tried this way.
SERVER = f"""
import sys
from emobench.serving import predictor
real = predictor.Predictor.probabilities
class Panic(BaseException):
    pass
def probabilities(self, texts):
    if any({POISON!r} in t for t in texts):
        raise Panic("the tokenizer panicked")
    return real(self, texts)
predictor.Predictor.probabilities = probabilities
from emobench.cli import main
sys.argv = ["emobench"] + sys.argv[1:]
main()
"""


def http(method="POST", path="/predict", body=None, headers=None) -> dict:
    """A request (method, path, body bytes, headers) for a service driver."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    return {"method": method, "path": path, "body": body,
            "headers": headers if headers is not None else ({"content-type": "application/json"} if body is not None else {})}


def _send_all(one, requests: list[dict]) -> list[tuple[int, str]]:
    """Every request at once (a thread each), so concurrent ones share the service's batches."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, len(requests))) as pool:
        return list(pool.map(one, requests))


class ProcessService:
    """`emobench serve` of the workspace's int8 export (with the poison hook) as a process on 127.0.0.1."""

    def __init__(self, ws: Workspace, env: dict):
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = subprocess.Popen([sys.executable, "-c", SERVER, "--log-level", "warning", "serve",
                                         ws.p("exports", "lstm-int8"), "--port", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        for _ in range(600):
            try:
                if self._one(http("GET", "/health"))[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the service did not start: " + self.process.stderr.read().decode()[-2000:])

    def _one(self, request: dict) -> tuple[int, str]:
        import http.client

        if request["body"] is not None and len(request["body"]) > 1 << 20:
            return self._expecting(request)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(request["method"], request["path"], body=request["body"], headers=request["headers"])
            response = connection.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            connection.close()

    def _expecting(self, request: dict) -> tuple[int, str]:
        """A large body as curl sends one: ``Expect: 100-continue``, the body only if the server asks for it (a server
        that refuses a body from its length answers at once, and the body is never sent)."""
        import socket

        body = request["body"]
        head = "".join(f"{k}: {v}\r\n" for k, v in request["headers"].items())
        with socket.create_connection(("127.0.0.1", self.port), timeout=60) as conn:
            conn.sendall(f"{request['method']} {request['path']} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}Content-Length: "
                         f"{len(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n".encode())
            reply = conn.recv(65536)
            if reply.startswith(b"HTTP/1.1 100"):
                conn.sendall(body)
                reply = reply.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in reply else b""
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                reply += chunk
        status_line, _, rest = reply.partition(b"\r\n")
        return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2].decode("utf-8", "replace")

    def send(self, requests: list[dict]) -> list[tuple[int, str]]:
        return _send_all(self._one, requests)

    def healthy(self) -> bool:
        status, text = self._one(http("GET", "/health"))
        return status == 200 and json.loads(text)["status"] == "ok"

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


class ClientService:
    """The same service in-process (FastAPI's TestClient), for the test suite; the poison hook is patched in until
    ``close``."""

    def __init__(self, ws: Workspace):
        from fastapi.testclient import TestClient

        from emobench.serving import predictor
        from emobench.serving.service import create_app

        real = predictor.Predictor.probabilities

        class Panic(BaseException):
            pass

        def probabilities(self, texts):
            if any(POISON in t for t in texts):
                raise Panic("the tokenizer panicked")
            return real(self, texts)

        self._restore = lambda: setattr(predictor.Predictor, "probabilities", real)
        predictor.Predictor.probabilities = probabilities
        self.client = TestClient(create_app(ws.p("exports", "lstm-int8")))
        self.client.__enter__()

    def _one(self, request: dict) -> tuple[int, str]:
        response = self.client.request(request["method"], request["path"], content=request["body"],
                                       headers=request["headers"])
        return response.status_code, response.text

    def send(self, requests: list[dict]) -> list[tuple[int, str]]:
        return _send_all(self._one, requests)

    def healthy(self) -> bool:
        response = self.client.get("/health")
        return response.status_code == 200 and response.json()["status"] == "ok"

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        self._restore()


# ---------------------------------------------------------------- running the cases


def _run_bad_input(case: Case, ws: Workspace, case_dir: Path, invoke, service) -> dict:
    if case.setup:
        case.setup(case_dir, ws)
    protected = {name: digest(ws.root / name) for name in PROTECTED if (ws.root / name).exists()
                 and not (case.expect == "ok" and name.startswith("cmp"))}
    before = digest(case_dir)
    started = time.perf_counter()
    code = None
    if case.kind == "http":
        requests = case.args.get("requests") or [case.args["request"]]
        try:
            responses = service.send(requests)
            outcome, detail = classify_http(case, responses, service.healthy(), ws, case_dir)
        except Exception as exc:  # noqa: BLE001 - a service that cannot answer is the finding
            outcome, detail = "crash", f"{type(exc).__name__}: {exc}"
    else:
        if case.kind == "process":
            code, output = case.args(ws, case_dir)
        else:
            code, output = invoke(substitute(case.args, ws, case_dir), case.env)
        outcome, detail = classify(case, code, output, ws, case_dir, before, protected)
    return {"case": case.name, "group": case.group, "expected": case.expect, "exit_code": code, "outcome": outcome,
            "detail": detail, "seconds": round(time.perf_counter() - started, 2)}


def _prepare(case: TamperedCase, ws: Workspace, case_dir: Path) -> Path:
    folder = case_dir / Path(case.source).name  # the copy keeps its name (a study continued by name finds it)
    shutil.copytree(ws.root / case.source, folder, symlinks=True)
    if case.mode == "legacy":
        for manifest in folder.rglob("MANIFEST.json"):
            manifest.unlink()
    if case.edit is not None:
        case.edit(folder, ws)
    return folder


def _run_tampered(case: TamperedCase, ws: Workspace, case_dir: Path, invoke) -> dict:
    import traceback
    import warnings

    from emobench.errors import EmobenchError

    watch = ws.watch()
    folder = _prepare(case, ws, case_dir)
    before = digest(case_dir)
    allow = case.mode == "allow"
    output, result = "", None
    watch.seen.clear()
    watch.active = True
    started = time.perf_counter()
    try:
        if case.via == "cli":
            args = [str(a).replace("{f}", str(folder)).replace("{ws}", str(ws.root)) for a in case.args]
            if allow:
                args.insert(1, "--allow-modified")
            code, output = invoke(args)
        else:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    result = case.call(folder, allow)
                    code = 0
                except EmobenchError as exc:
                    code, output = 2, str(exc)
                except Exception as exc:  # noqa: BLE001 - a traceback is what the table counts
                    code, output = 1, "Traceback\n" + "".join(traceback.format_exception(exc))
                if case.via == "service" and code == 0:
                    response, card = result
                    if "detail" in response:
                        code, output = 2, json.dumps(response)
                output = "\n".join(str(w.message) for w in caught) + "\n" + output
    finally:
        watch.active = False
    seconds = time.perf_counter() - started
    outcome, detail = classify_tampered(case, code, output, result, watch.seen, case_dir, before)
    return {"case": case.name, "group": case.group, "via": case.via, "mode": case.mode, "expected": case.expect,
            "exit_code": code, "outcome": outcome, "detail": detail, "seconds": round(seconds, 2), "said": said(output)}


def run_cases(ws: Workspace, invoke, cases: list[Case | TamperedCase], log=print, service=None, prefix: str = "") -> list[dict]:
    """Every case of ``cases``, in order, each in its own folder ``cases/{prefix}NNN`` of the workspace, classified
    (one row each). ``invoke(args, env) -> (exit code, output)`` runs `emobench`. ``service``: what HTTP cases are sent
    to (``send(requests) -> [(status, text)]``, ``healthy() -> bool``); without it they are left out. A tampered case's
    folder is removed after it; the environment is restored after every case."""
    results = []
    env_before = dict(os.environ)
    chosen = [case for case in cases if not (isinstance(case, Case) and case.kind == "http" and service is None)]
    for i, case in enumerate(chosen):
        case_dir = ws.root / "cases" / f"{prefix}{i:03d}"  # one level deep: API calls find the workspace 2 levels up
        case_dir.mkdir(parents=True)
        if isinstance(case, TamperedCase):
            row = _run_tampered(case, ws, case_dir, invoke)
            log(f"[{i + 1:3d}] {row['outcome']:14s} {case.name} ({case.via}, {case.mode})" +
                (f"  -- {row['detail'][:400]}" if row["detail"] else ""))
            shutil.rmtree(case_dir, ignore_errors=True)
        else:
            row = _run_bad_input(case, ws, case_dir, invoke, service)
            log(f"[{i + 1:3d}] {row['outcome']:13s} {case.name}" + (f"  -- {row['detail']}" if row["detail"] else ""))
        results.append(row)
        os.environ.clear()
        os.environ.update(env_before)
    return results


def summary(results: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in results:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    return counts
