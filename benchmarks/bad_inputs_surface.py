"""The surface added last, in the same bad-input table: the HTTP service (malformed JSON, NaN / Infinity, Unicode edge
cases, oversized bodies, poisoned concurrent batches), ONNX export (every family, fp32 / int8, odd destinations,
concurrent exports), batch scoring (CSV / JSONL edge cases, concurrent outputs, a kill mid-way), transfer and
evaluate routes, encodings, multi-label inputs, tuning (bad spaces, failing trials, a kill and a rerun) and Ray.

Imported by benchmarks/bad_inputs.py (``cases()``); its HTTP cases need a service, which the runner provides:
``ws.http(request)`` and ``ws.http_many(requests)`` with requests as dicts (method, path, body, headers)."""
from __future__ import annotations

import csv
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from bad_inputs import Case, WORDS, _examples, _ok_output, copy_run, write

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
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    return {"method": method, "path": path, "body": body,
            "headers": headers if headers is not None else ({"content-type": "application/json"} if body is not None else {})}


def serve_case(name, request, message="", expect="error", check=None, status=None) -> Case:
    status = status or (r"4\d\d" if expect == "error" else "200")
    return Case(name, {"request": request, "status": status}, expect, message, check=check, group="serve", kind="http")


def many_case(name, requests, expect_statuses, message="", check=None) -> Case:
    """Concurrent requests (sent together, so they share batches): each answer's status must match its pattern."""
    return Case(name, {"requests": requests, "statuses": expect_statuses}, "ok", message, check=check, group="serve",
                kind="http")


def _labels(responses) -> list:
    return [json.loads(text)["predictions"][0]["label"] if status == 200 else None for status, text in responses]


_PREDICTORS: dict = {}


def _expected(ws, text: str) -> dict:
    """What `Predictor.predict` says of ``text`` with the served export: a served answer must be the same."""
    from emobench.serving import Predictor

    key = str(ws.root)
    if key not in _PREDICTORS:
        _PREDICTORS[key] = Predictor(ws.p("exports", "lstm-int8"))
    return _PREDICTORS[key].predict([text])[0]


def _same_as_predict(ws, text: str, answer: dict) -> str | None:
    want = _expected(ws, text)
    if answer.get("label") != want["label"] or any(abs(answer["probabilities"][k] - p) > 1e-5
                                                    for k, p in want["probabilities"].items()):
        return f"served {answer.get('label')!r}, predict says {want['label']!r}"
    return None


def _predicts(text):
    def check(case_dir, ws, responses):
        status, body = responses[0]
        if status != 200:
            return f"status {status}: {body[:200]}"
        return _same_as_predict(ws, text, json.loads(body)["predictions"][0])
    return check


def _all_as_predicted(requests):
    """Every 200 answer of concurrent requests equals what predict says of its text."""
    def check(case_dir, ws, responses):
        for request, (status, body) in zip(requests, responses):
            if status == 200:
                text = json.loads(request["body"])["texts"][0]
                problem = _same_as_predict(ws, text, json.loads(body)["predictions"][0])
                if problem:
                    return problem
        return None
    return check


def lstm_args(*extra):
    return ["--set", "epochs=1", "--set", "hidden_size=4", "--set", "glove=none", *extra]


def build_surface(ws, invoke) -> None:
    """What the surface cases need beside bad_inputs' workspace: an int8 LSTM export (served by the HTTP cases), a
    tiny BERT run, an lstm-paper run, a multi-label file and run, an indicator-column file and labelled files."""
    steps = [
        ["export", ws.p("runs", "lstm-run"), "--quantize", "int8", "-o", ws.p("exports", "lstm-int8")],
        ["train", "--model", "lstm-paper", "-o", ws.p("runs"), "--name", "paper-run", "--data-dir", str(ws.data), "-q",
         *lstm_args()],
    ]
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from tiny_models import build_bert

    build_bert([t for t, _ in _examples(120, 9)], ws.root / "tiny-bert")
    steps.append(["train", "--model", f"hf:{ws.root / 'tiny-bert'}", "-o", ws.p("runs"), "--name", "bert-run", "--data-dir",
                  str(ws.data), "-q", "--set", "epochs=1", "--set", "batch_size=16"])
    multi = ws.root / "multi"
    multi.mkdir()
    for split, n, seed in (("train", 90, 11), ("validation", 30, 12), ("test", 30, 13)):
        with open(multi / f"{split}.jsonl", "w", encoding="utf-8") as handle:
            for i, (text, label) in enumerate(_examples(n, seed)):
                labels = [label] + (["anger"] if i % 4 == 0 and label != "anger" else [])
                handle.write(json.dumps({"text": text + (" and angry" if len(labels) > 1 else ""), "label": labels}) + "\n")
    steps.append(["train", "--model", "tfidf", "--train-file", str(multi / "train.jsonl"), "--validation-file",
                  str(multi / "validation.jsonl"), "--test-file", str(multi / "test.jsonl"), "-o", ws.p("runs"), "--name",
                  "multi-run", "-q"])
    with open(ws.root / "user" / "indicators.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ID", "Tweet", *WORDS])
        for i, (text, label) in enumerate(_examples(90, 14)):
            writer.writerow([f"id-{i}", text, *[int(name == label) for name in WORDS]])
    with open(ws.root / "user" / "parts.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["utterance", "emotion", "part"])
        for i, (text, label) in enumerate(_examples(60, 15)):
            writer.writerow([text, label if i % 10 else "neutral", ["train", "test"][i % 2]])
    for args in steps:
        code, output = invoke(args)
        if code != 0:
            raise RuntimeError(f"workspace step failed: {args}\n{output}")


# ---------------------------------------------------------------- process cases (several processes, a kill)


def _cli() -> list[str]:
    return [sys.executable, "-m", "emobench.cli"]


def _together(commands: list[list[str]], env=None) -> list[subprocess.CompletedProcess]:
    processes = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) for c in commands]
    return [(p.wait(timeout=600), p.stdout.read()) for p in processes]


def concurrent_exports(ws, case_dir: Path):
    """Two exports to one folder at once: one writes it, the other refuses; the folder is whole."""
    out = case_dir / "exp"
    results = _together([[*_cli(), "export", ws.p("runs", "lstm-run"), "-o", str(out)]] * 2)
    codes = sorted(code for code, _ in results)
    if codes != [0, 2] or not (out / "export.json").is_file():
        return 1, "exit codes " + str(codes) + "\n" + "\n".join(o[-400:] for _, o in results)
    shutil_remove(out)
    return 2, next(o for code, o in results if code == 2)


def concurrent_scorings(ws, case_dir: Path):
    """Two scorings into one output at once: the second refuses, the output is one whole scoring."""
    source = case_dir / "in.txt"
    # long enough (seconds of scoring) that the two runs overlap however their start-up times differ
    source.write_text("".join(f"i feel happy today {i}\n" for i in range(100_000)), encoding="utf-8")
    out = case_dir / "out.csv"
    results = _together([[*_cli(), "predict", ws.p("runs", "tfidf-run"), "--file", str(source), "--output", str(out), "-q"]] * 2)
    codes = sorted(code for code, _ in results)
    rows = out.read_text(encoding="utf-8").count("\n") if out.is_file() else 0
    if codes != [0, 2] or rows != 100_001:
        return 1, f"exit codes {codes}, {rows} rows\n" + "\n".join(o[-400:] for _, o in results)
    out.unlink()
    source.unlink()
    return 2, next(o for code, o in results if code == 2)


def killed_scoring(ws, case_dir: Path):
    """SIGTERM while scoring: no output and no partial file are left; a rerun writes the whole output."""
    source = case_dir / "in.txt"
    source.write_text("".join(f"i feel happy today number {i}\n" for i in range(200_000)), encoding="utf-8")
    out = case_dir / "out.csv"
    command = [*_cli(), "predict", ws.p("runs", "tfidf-run"), "--file", str(source), "--output", str(out), "-q",
               "--chunk-size", "256"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    while not (case_dir / "out.csv.partial").exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=120)
    output = process.stdout.read()
    left = sorted(p.name for p in case_dir.iterdir() if p.name != "in.txt")
    if code == 0 or left:
        return 1, f"killed scoring: exit {code}, left {left}: {output[-300:]}"
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    rows = out.read_text(encoding="utf-8").count("\n") if out.is_file() else 0
    if again.returncode != 0 or rows != 200_001:
        return 1, f"rerun: exit {again.returncode}, {rows} rows: {again.stdout[-300:]}{again.stderr[-300:]}"
    out.unlink()
    source.unlink()
    return 0, "terminated, nothing left behind; the rerun wrote all 200,000 rows"


def killed_tuning(ws, case_dir: Path):
    """SIGTERM during a tuning study, then the same command again: the study continues to its trials."""
    command = [*_cli(), "tune", "--model", "lstm", "--trials", "3", "--data-dir", str(ws.data), "-o", str(case_dir / "t"),
               "--name", "s", "-q", "--set", "epochs=2", "--set", "hidden_size=4", "--set", "glove=none"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ledger = case_dir / "t" / "s" / "ledger.json"
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        if ledger.is_file() and json.loads(ledger.read_text() or "{}").get("trials"):
            break
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=120)
    again = subprocess.run(command, capture_output=True, text=True, timeout=900)
    trials = json.loads((case_dir / "t" / "s" / "trials.json").read_text())["trials"] if again.returncode == 0 else []
    states = [t["state"] for t in trials]
    # killed inside a trial, that trial is kept as failed and not counted; killed between trials, there is none
    if again.returncode != 0 or states.count("complete") != 3 or len(states) - states.count("complete") > 1 \
            or set(states) - {"complete", "fail"}:
        return 1, f"rerun: exit {again.returncode}, trials {states}: {again.stdout[-300:]}{again.stderr[-500:]}"
    return 0, "best configuration trained as " + again.stdout.split("best configuration trained as")[-1][:80]


def shutil_remove(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def process_case(name, run, message="", expect="error", group="export") -> Case:
    return Case(name, run, expect, message, group=group, kind="process",
                check=(lambda d, ws, out: None) if expect == "ok" else None)


# ---------------------------------------------------------------- the cases


def _csv(rows, header=("text", "label")) -> str:
    return ",".join(header) + "\n" + "".join(",".join(r) + "\n" for r in rows)


def _user_rows(n=30, seed=21):
    return [(t, l) for t, l in _examples(n, seed)]


def _scored_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _scoring_check(expected_rows, columns=None, contains=None):
    def check(case_dir, ws, output):
        out = next((p for p in case_dir.glob("out.*") if not p.name.endswith(".partial")), None)
        if out is None:
            return "no output written"
        if out.suffix == ".jsonl":
            rows = [json.loads(line) for line in out.read_text(encoding="utf-8").split("\n") if line]
            header = list(rows[0]) if rows else []
        else:
            rows = _scored_rows(out)
            header = out.read_text(encoding="utf-8").split("\n", 1)[0].split(",")
        if len(rows) != expected_rows:
            return f"{len(rows)} rows, expected {expected_rows}"
        if columns and header[: len(columns)] != columns:
            return f"columns {header}, expected {columns} first"
        if contains and not any(contains(r) for r in rows):
            return "a row lost its content"
        return None
    return check


def predict_file(name, content, message="", suffix=".csv", extra=(), expect="error", check=None, output="out.csv",
                 encoding="utf-8") -> Case:
    def setup(case_dir, ws):
        write(case_dir / f"in{suffix}", content, encoding)
    return Case(name, ["predict", "{ws}/runs/tfidf-run", "--file", "{case}/in" + suffix, "--output", "{case}/" + output, "-q",
                       *extra], expect, message, setup, check, group="scoring")


def _data_json_warning(pattern):
    def check(case_dir, ws, output):
        runs = list((case_dir / "out").glob("*/data.json"))
        if not runs:
            return "no run written"
        found = json.loads(runs[0].read_text()).get("warnings", [])
        return None if any(re.search(pattern, w) for w in found) else f"data.json warnings lack {pattern!r}: {found}"
    return check


def _export_check(kind):
    def check(case_dir, ws, output):
        record = json.loads((case_dir / "exp" / "export.json").read_text())
        invariant = record["checks"].get(f"{kind}_batch_invariance", {})
        if not record["passed"] or invariant.get("value") != 1.0:
            return f"export checks: {record['checks']}"
        return None
    return check


POISONED_BATCH = [http(body={"texts": [f"i feel so happy and glad {i}"]}) if i != 5 else http(body={"texts": [f"{POISON} x"]})
                  for i in range(12)]
SURROGATE_BATCH = [http(body=b'{"texts": ["bad \\ud800"]}') if i % 3 == 0 else http(body={"texts": [f"so sad and lonely {i}"]})
                   for i in range(9)]
OVERSIZED_BATCH = [http(body={"texts": ["a" * 10_001]}) if i % 2 else http(body={"texts": [f"so angry and furious {i}"]})
                   for i in range(8)]


def cases() -> list[Case]:
    c: list[Case] = []
    long = "a" * 10_001
    # -------- the HTTP service (an int8 LSTM export, served with the poison hook)
    c += [
        serve_case("NaN in the texts", http(body=b'{"texts": ["i feel fine", NaN]}'), r"texts.*1|valid string"),
        serve_case("Infinity as a text", http(body=b'{"texts": [Infinity]}'), r"valid string"),
        serve_case("-Infinity in another key", http(body=b'{"texts": ["ok"], "x": -Infinity}'), r"[Ee]xtra|not permitted"),
        serve_case("NaN nested in an object", http(body=b'{"texts": [{"a": [NaN]}]}'), r"valid string"),
        serve_case("a lone high surrogate", http(body=b'{"texts": ["so \\ud800 sad"]}'), r"lone surrogate"),
        serve_case("a lone low surrogate", http(body=b'{"texts": ["\\udc00"]}'), r"lone surrogate"),
        serve_case("a lone surrogate in the second text", http(body=b'{"texts": ["fine", "x \\udfff"]}'), r"texts\[1\].*lone surrogate"),
        serve_case("an emoji as a surrogate pair", http(body=b'{"texts": ["\\ud83d\\ude00 so happy and glad"]}'), expect="ok",
                   check=_predicts("\U0001F600 so happy and glad")),
        serve_case("an emoji in UTF-8", http(body={"texts": ["\U0001F600 so happy and glad"]}), expect="ok",
                   check=_predicts("\U0001F600 so happy and glad")),
        serve_case("zero-width and right-to-left marks", http(body={"texts": ["\u200d\u202e so sad and lonely \u202c"]}),
                   expect="ok", check=_predicts("\u200d\u202e so sad and lonely \u202c")),
        serve_case("a NUL character", http(body={"texts": ["so angry\u0000 and furious"]}), expect="ok",
                   check=_predicts("so angry\u0000 and furious")),
        serve_case("a line separator U+2028", http(body={"texts": ["so sad\u2028and lonely"]}), expect="ok",
                   check=_predicts("so sad\u2028and lonely")),
        serve_case("combining marks only", http(body={"texts": ["\u0301\u0301\u0301"]}), expect="ok",
                   check=_predicts("\u0301\u0301\u0301")),
        serve_case("Unicode spaces only", http(body={"texts": ["\u3000\u00a0\u2003"]}), r"texts\[0\] is empty"),
        serve_case("a text at the character limit", http(body={"texts": ["a" * 10_000]}), expect="ok",
                   check=_predicts("a" * 10_000)),
        serve_case("a text over the character limit", http(body={"texts": [long]}), r"texts\[0\] has 10001 characters",
                   check=None),
        serve_case("65 texts", http(body={"texts": ["ok"] * 65}), r"at most 64|too_long"),
        serve_case("no texts", http(body={"texts": []}), r"at least 1|too_short"),
        serve_case("a body declaring 10 MB", http(body=b"", headers={"content-type": "application/json",
                                                                        "content-length": str(10 * 1024 * 1024)}),
                   r"larger than", status="413"),
        serve_case("a 5 MB body", http(body={"texts": ["x" * 9_000] * 600}), r"larger than", status="413"),
        serve_case("malformed JSON", http(body=b'{"texts": ["unclosed'), r"JSON decode error"),
        serve_case("a key given twice", http(body=b'{"texts": ["so sad"], "texts": ["so happy"]}'),
                   r"key 'texts' appears twice"),
        serve_case("JSON nested 10,000 deep", http(body=b"[" * 10_000 + b"]" * 10_000), r"nested too deeply"),
        serve_case("a body that is not UTF-8", http(body=b'{"texts": ["\xff\xfe bad"]}'), r"is not UTF-8"),
        serve_case("a UTF-16 body (JSON allows it)", http(body='{"texts": ["so happy and glad"]}'.encode("utf-16")), expect="ok",
                   check=_predicts("so happy and glad")),
        serve_case("form-encoded", http(body=b"texts=hello", headers={"content-type": "application/x-www-form-urlencoded"}),
                   r"valid dictionary|JSON"),
        serve_case("no body", http(body=None), r"[Ff]ield required|missing"),
        serve_case("texts as a string", http(body={"texts": "so sad"}), r"valid list"),
        serve_case("a number as a text", http(body={"texts": [42]}), r"valid string"),
        serve_case("null texts", http(body={"texts": None}), r"valid list"),
        serve_case("a boolean as a text", http(body={"texts": [True]}), r"valid string"),
        serve_case("an unknown key", http(body={"texts": ["ok"], "top_k": 3}), r"[Ee]xtra|not permitted"),
        serve_case("GET /predict", http("GET", "/predict"), r"[Mm]ethod", status="405"),
        serve_case("an unknown path", http("POST", "/nothing", {"texts": ["x"]}), r"[Nn]ot [Ff]ound", status="404"),
        serve_case("/model shows no path of the machine", http("GET", "/model", None), expect="ok",
                   check=lambda d, ws, r: None if r[0][0] == 200 and str(ws.root) not in r[0][1] and
                   "/" not in json.loads(r[0][1]).get("folder", "") else f"/model: {r[0][1][:300]}", status="200"),
        serve_case("a text the model cannot score", http(body={"texts": ["fine", f"so {POISON} sad"]}),
                   r"could not score this text.*panicked"),
        many_case("a poisoned request among 12 concurrent ones", POISONED_BATCH, ["200"] * 5 + ["422"] + ["200"] * 6,
                  message=r"texts.*could not score", check=_all_as_predicted(POISONED_BATCH)),
        many_case("lone surrogates among concurrent requests", SURROGATE_BATCH, ["422" if i % 3 == 0 else "200" for i in range(9)],
                  message=r"lone surrogate", check=_all_as_predicted(SURROGATE_BATCH)),
        many_case("oversized and valid requests together", OVERSIZED_BATCH, ["422" if i % 2 else "200" for i in range(8)],
                  message=r"characters", check=_all_as_predicted(OVERSIZED_BATCH)),
    ]
    # -------- serve on the command line
    serve = lambda *a: ["serve", *a]
    c += [
        Case("serve a missing run", serve("{case}/nope"), message=r"nope: no such run", group="serve"),
        Case("serve --port 0", serve("{ws}/runs/tfidf-run", "--port", "0"), message=r"--port 0: expected 1\.\.65535", group="serve"),
        Case("serve --port 70000", serve("{ws}/runs/tfidf-run", "--port", "70000"), message=r"--port 70000", group="serve"),
        Case("serve --max-texts 0", serve("{ws}/runs/tfidf-run", "--max-texts", "0"), message=r"--max-texts 0: expected at least 1",
             group="serve"),
        Case("serve --batch-wait-ms -1", serve("{ws}/runs/tfidf-run", "--batch-wait-ms", "-1"), message=r"--batch-wait-ms -1",
             group="serve"),
        Case("serve a run with --backend onnx", serve("{ws}/runs/tfidf-run", "--backend", "onnx"), message=r"not an ONNX export",
             group="serve"),
        Case("serve an unresolvable host", serve("{ws}/runs/tfidf-run", "--host", "no-such-host.invalid"),
             message=r"--host no-such-host\.invalid: cannot resolve it", group="serve"),
        Case("serve an export with a corrupt export.json", serve("{case}/exp"), message=r"export\.json",
             setup=lambda d, ws: (__import__("shutil").copytree(ws.root / "exports" / "lstm-int8", d / "exp"),
                                  write(d / "exp" / "export.json", "{oops")), group="serve"),
    ]
    # -------- export
    export = lambda run, *a: ["export", run, *a]
    c += [
        Case("export a tfidf run", export("{ws}/runs/tfidf-run", "-o", "{case}/exp"), message=r"tfidf stays in scikit-learn",
             group="export"),
        Case("export --format tflite", export("{ws}/runs/lstm-run", "--format", "tflite", "-o", "{case}/exp"),
             message=r"--format 'tflite': expected onnx", group="export"),
        Case("export --quantize int4", export("{ws}/runs/lstm-run", "--quantize", "int4", "-o", "{case}/exp"),
             message=r"--quantize 'int4': expected int8", group="export"),
        Case("export into an existing folder", export("{ws}/runs/lstm-run", "-o", "{case}/exp"), message=r"exp already exists",
             setup=lambda d, ws: (d / "exp").mkdir(), group="export"),
        Case("export onto a file", export("{ws}/runs/lstm-run", "-o", "{case}/f"), message=r"f already exists",
             setup=lambda d, ws: write(d / "f", "x"), group="export"),
        Case("export under a file", export("{ws}/runs/lstm-run", "-o", "{case}/f/exp"), message=r"f: (is a file|Not a directory)",
             setup=lambda d, ws: write(d / "f", "x"), group="export"),
        Case("export a missing run", export("{case}/nope", "-o", "{case}/exp"), message=r"nope: no such run", group="export"),
        Case("export an unfinished run", export("{case}/r.partial", "-o", "{case}/exp"), message=r"unfinished run",
             setup=lambda d, ws: __import__("shutil").copytree(ws.root / "runs" / "lstm-run", d / "r.partial"), group="export"),
        Case("export a run with edited weights", export("{case}/run", "-o", "{case}/exp"), message=r"lstm\.safetensors",
             setup=copy_run("lstm-run", lambda run, ws: write(run / "model" / "lstm.safetensors", b"\x00" * 64), manifests=True),
             group="export"),
        Case("export an LSTM, fp32", export("{ws}/runs/lstm-run", "-o", "{case}/exp"), expect="ok", check=_export_check("fp32"),
             group="export"),
        Case("export an LSTM, int8", export("{ws}/runs/lstm-run", "--quantize", "int8", "-o", "{case}/exp"), expect="ok",
             check=_export_check("int8"), group="export"),
        Case("export lstm-paper, int8", export("{ws}/runs/paper-run", "--quantize", "int8", "-o", "{case}/exp"), expect="ok",
             check=_export_check("int8"), group="export"),
        Case("export a transformer, int8", export("{ws}/runs/bert-run", "--quantize", "int8", "-o", "{case}/exp"), expect="ok",
             check=_export_check("int8"), group="export"),
        Case("export a multi-label tfidf run", export("{ws}/runs/multi-run", "-o", "{case}/exp"),
             message=r"tfidf stays in scikit-learn", group="export"),
        Case("export into the run folder", export("{case}/run", "-o", "{case}/run/model"), message=r"model already exists",
             setup=copy_run("lstm-run", lambda run, ws: None), group="export"),
        process_case("two exports to one folder at once", concurrent_exports, r"another export is being written there|already exists"),
    ]
    # -------- batch scoring
    rows = _user_rows()
    c += [
        predict_file("a header-only CSV", "id,text\n", expect="ok", check=_scoring_check(0, ["id", "text"])),
        predict_file("a header-only TSV", "text\tid\n", suffix=".tsv", expect="ok", check=_scoring_check(0)),
        predict_file("an empty CSV", "", r"in\.csv, line 1: empty file"),
        predict_file("duplicate column names", "text,text\na,b\n", r"column 'text' appears twice"),
        predict_file("a column named predicted_label", "text,predicted_label\nso sad,x\n", r"predicted_label"),
        predict_file("a column named p_joy", "text,p_joy\nso sad,1\n", r"p_joy"),
        predict_file("a ragged row", "text,id\nso sad,1\nso happy,2,3\n", r"in\.csv, line 3: a row with 3 fields"),
        predict_file("a missing text column", "words\nso sad\n", r"in\.csv, line 2: missing column 'text'"),
        predict_file("an empty text", "text,id\nso sad,1\n,2\n", r"in\.csv, line 3: empty text"),
        predict_file("invalid UTF-8 in a row", b"text\nso sad\nbad \xff byte\n", r"in\.csv, line 3: bytes b'\\xff' are not valid"),
        predict_file("a BOM", "\ufefftext,id\nso sad and lonely,1\n", expect="ok", check=_scoring_check(1, ["text", "id"])),
        predict_file("CRLF line ends", "text,id\r\nso sad and lonely,1\r\nso happy,2\r\n", expect="ok", check=_scoring_check(2)),
        predict_file("U+2028 inside a field", 'text,id\n"so sad\u2028and lonely",1\nhappy,2\n', expect="ok",
                     check=_scoring_check(2, contains=lambda r: "\u2028" in r["text"])),
        predict_file("U+0085 inside a .txt line", "so sad\u0085and lonely\nhappy\n", suffix=".txt", expect="ok",
                     check=_scoring_check(2, contains=lambda r: "\u0085" in r["text"])),
        predict_file("JSONL keys in different orders", '{"text": "so sad", "id": 1}\n{"id": 2, "text": "so happy"}\n',
                     suffix=".jsonl", output="out.csv", expect="ok",
                     check=_scoring_check(2, contains=lambda r: r["id"] == "2" and r["text"] == "so happy")),
        predict_file("JSONL records with different keys to CSV", '{"text": "so sad", "id": 1}\n{"text": "so happy", "x": 2}\n',
                     r"line 2: .*keys|columns", suffix=".jsonl"),
        predict_file("JSONL with a key named probabilities", '{"text": "so sad", "probabilities": 1}\n', r"probabilities",
                     suffix=".jsonl", output="out.jsonl"),
        predict_file("JSONL with a lone surrogate", '{"text": "so \\ud800 sad"}\n', r"in\.jsonl, line 1: .*lone surrogate",
                     suffix=".jsonl"),
        predict_file("JSONL nested 10,000 deep", '{"text": "x", "n": ' + "[" * 10_000 + "]" * 10_000 + "}\n",
                     r"in\.jsonl, line 1: JSON nested too deeply", suffix=".jsonl"),
        predict_file("JSONL line that is a list", '{"text": "ok"}\n[1, 2]\n', r"in\.jsonl, line 2: expected a JSON object",
                     suffix=".jsonl"),
        predict_file("a text over 1,000,000 characters", "text\n" + "x" * 1_000_001 + "\n",
                     r"in\.csv, line 2: malformed CSV \(a field of more than 1,000,000 characters"),
        predict_file("output with an unknown suffix", _csv(rows), r"\.xlsx", output="out.xlsx"),
        predict_file("output into a missing folder", _csv(rows), r"no/out\.csv|does not exist", output="no/out.csv"),
        predict_file("output is the input", _csv(rows), r"--output must not be the input file", output="in.csv"),
        predict_file("--chunk-size 0", _csv(rows), r"--chunk-size 0", extra=("--chunk-size", "0")),
        predict_file("--engine spark", _csv(rows), r"--engine 'spark'", extra=("--engine", "spark")),
        Case("--ray-address without --engine ray", ["predict", "{ws}/runs/tfidf-run", "--file", "{ws}/user/test.csv", "--output",
                                                    "{case}/out.csv", "--ray-address", "127.0.0.1:1"],
             message=r"--ray-address applies to --engine ray", group="scoring"),
        Case("--engine without --output", ["predict", "{ws}/runs/tfidf-run", "so sad", "--engine", "ray"],
             message=r"--engine applies to file scoring with --output", group="scoring"),
        Case("a command-line text that is not UTF-8", ["predict", "{ws}/runs/tfidf-run", "bad \udcff byte"],
             message=r"text 1: byte b'\\xff' .* is not valid UTF-8", group="scoring"),
        process_case("two scorings into one output at once", concurrent_scorings, r"is being written|another", group="scoring"),
        process_case("a scoring killed mid-way, then rerun", killed_scoring, expect="ok", group="scoring"),
    ]
    # -------- Ray
    c += [
        Case("Ray at an address where none runs", ["predict", "{ws}/runs/tfidf-run", "--file", "{ws}/user/test.csv", "--output",
                                                   "{case}/out.csv", "--engine", "ray", "--ray-address", "127.0.0.1:9"],
             message=r"cannot start or reach Ray at 127\.0\.0\.1:9", group="ray"),
        Case("Ray with --ray-workers 0", ["predict", "{ws}/runs/tfidf-run", "--file", "{ws}/user/test.csv", "--output",
                                          "{case}/out.csv", "--engine", "ray", "--ray-workers", "0"],
             message=r"--ray-workers 0", group="ray"),
        Case("Ray with a malformed address", ["predict", "{ws}/runs/tfidf-run", "--file", "{ws}/user/test.csv", "--output",
                                              "{case}/out.csv", "--engine", "ray", "--ray-address", "not an address"],
             message=r"cannot start or reach Ray at not an address", group="ray"),
    ]
    # -------- transfer and evaluate routes
    cmp = lambda *a: ["compare", "--models", "tfidf", "--data-dir", "{ws}/data", "-o", "{case}/c", "--name", "x", "-q", *a]
    c += [
        Case("--transfer a missing file", cmp("--transfer", "{case}/nope.csv"), message=r"nope\.csv: file not found",
             group="transfer"),
        Case("--transfer without shared labels", cmp("--transfer", "{case}/t.csv"), message=r"none in common",
             setup=lambda d, ws: write(d / "t.csv", _csv([(f"text {i}", ["calm", "bored"][i % 2]) for i in range(20)])),
             group="transfer"),
        Case("--transfer-split-column missing", cmp("--transfer", "{ws}/user/parts.csv", "--transfer-text-column", "utterance",
                                                    "--transfer-label-column", "emotion", "--transfer-split-column", "nope"),
             message=r"parts\.csv, line 2: missing column 'nope'", group="transfer"),
        Case("--transfer-split-column without test rows", cmp("--transfer", "{case}/t.csv", "--transfer-split-column", "part"),
             message=r"no split 'test'", group="transfer",
             setup=lambda d, ws: write(d / "t.csv", _csv([(t, l, "train") for t, l in _user_rows()], ("text", "label", "part")))),
        Case("--transfer the training dataset", cmp("--transfer", "emotion"),
             message=r"that is the dataset the models are trained on", group="transfer"),
        Case("--transfer-text-column without --transfer", cmp("--transfer-text-column", "x"),
             message=r"--transfer-text-column needs --transfer", group="transfer"),
        Case("--transfer-label-map that is no file", cmp("--transfer", "{ws}/user/test.csv", "--transfer-label-map", "{case}/m.json"),
             message=r"m\.json: no such file", group="transfer"),
        Case("--transfer-encoding unknown", cmp("--transfer", "{ws}/user/test.csv", "--transfer-encoding", "klingon"),
             message=r"unknown encoding 'klingon'", group="transfer"),
        Case("--transfer-text-column on a built-in dataset", cmp("--transfer", "goemotions", "--transfer-text-column", "x"),
             message=r"--transfer-text-column applies to your own data files", group="transfer"),
        Case("--transfer a file's test split", cmp("--transfer", "{ws}/user/parts.csv", "--transfer-text-column", "utterance",
                                                   "--transfer-label-column", "emotion", "--transfer-split-column", "part"),
             expect="ok", check=lambda d, ws, out: None if "transfer: the test split of parts (parts.csv)" in out
             else f"no transfer summary: {out[-400:]}", group="transfer"),
    ]
    ev = lambda *a: ["evaluate", "{ws}/runs/tfidf-run", *a]
    c += [
        Case("evaluate --data, no header, positions", ev("--data", "{case}/d.csv", "--no-header", "--text-column", "2",
                                                         "--label-column", "1"), expect="ok",
             setup=lambda d, ws: write(d / "d.csv", "".join(f"{l},{t}\n" for t, l in _user_rows())),
             check=_ok_output(r"every text of d \(d\.csv\) \(30 examples\)"), group="evaluate routes"),
        Case("evaluate --data with a label map", ev("--data", "{case}/d.csv", "--label-map", "{case}/m.json"), expect="ok",
             setup=lambda d, ws: (write(d / "d.csv", _csv([(t, {"sadness": "down"}.get(l, l)) for t, l in _user_rows()])),
                                  write(d / "m.json", json.dumps({"sadness": ["down"], "joy": ["joy"], "anger": ["anger"]}))),
             check=_ok_output(r"0 of 30 examples dropped"), group="evaluate routes"),
        Case("evaluate --data, unknown labels counted", ev("--data", "{case}/d.csv"), expect="ok",
             setup=lambda d, ws: write(d / "d.csv", _csv([(t, "calm" if i % 5 == 0 else l) for i, (t, l) in enumerate(_user_rows())])),
             check=_ok_output(r"6 of 30 examples dropped \(no label the run knows\) \(calm 6\)"), group="evaluate routes"),
        Case("evaluate --data, a split of a split column", ev("--data", "{ws}/user/parts.csv", "--text-column", "utterance",
                                                              "--label-column", "emotion", "--split-column", "part", "--split",
                                                              "train"), expect="ok",
             check=_ok_output(r"the train split of parts"), group="evaluate routes"),
        Case("evaluate --data --split without a split column", ev("--data", "{ws}/user/test.csv", "--split", "validation"),
             message=r"test\.csv has no splits of its own", group="evaluate routes"),
        Case("evaluate --data, a label without texts", ev("--data", "{case}/d.csv"), expect="ok",
             setup=lambda d, ws: write(d / "d.csv", _csv([(t, l) for t, l in _user_rows() if l != "anger"])),
             check=_ok_output(r"anger.*no text has this label"), group="evaluate routes"),
        Case("evaluate --data --data-format txt", ev("--data", "{case}/d.dat", "--data-format", "txt"), expect="ok",
             setup=lambda d, ws: write(d / "d.dat", "".join(f"{t};{l}\n" for t, l in _user_rows())),
             check=_ok_output(r"\(30 examples\)"), group="evaluate routes"),
        Case("evaluate --data --dataset-name", ev("--data", "{ws}/user/test.csv", "--dataset-name", "x"),
             message=r"--data evaluates on a file; --dataset-name does not apply", group="evaluate routes"),
        Case("evaluate --data --train-file", ev("--data", "{ws}/user/test.csv", "--train-file", "{ws}/user/train.csv"),
             message=r"--train-file does not apply", group="evaluate routes"),
        Case("evaluate --data with indicator columns", ev("--data", "{ws}/user/indicators.csv", "--text-column", "Tweet",
                                                          "--label-columns", "sadness,joy,anger"), expect="ok",
             check=_ok_output(r"\(90 examples\)"), group="evaluate routes"),
        Case("evaluate --dataset that is the run's own", ev("--dataset", "emotion", "--data-dir", "{ws}/data"),
             message=r"is the run's own dataset", group="evaluate routes"),
        Case("evaluate a multi-label run on single-label data", ["evaluate", "{ws}/runs/multi-run", "--data", "{ws}/user/test.csv"],
             expect="ok", check=_ok_output(r"micro"), group="evaluate routes"),
    ]
    # -------- encodings
    cp1252 = _csv([(f"i feel \u2019so\u2019 {w} {i}", l) for i, (w, l) in enumerate(
        (word, label) for label in WORDS for word in WORDS[label] for _ in range(3))]).encode("cp1252")
    files = lambda *a: ["train", "--model", "tfidf", "--train-file", "{case}/train.csv", "--validation-file",
                        "{ws}/user/validation.csv", "--test-file", "{ws}/user/test.csv", "-o", "{case}/out", "-q", *a]
    c += [
        Case("a Windows-1252 file without --encoding", files(), message=r"train\.csv, line 2: .*looks like Windows-1252.*--encoding train=cp1252",
             setup=lambda d, ws: write(d / "train.csv", cp1252), group="encodings"),
        Case("--encoding train=cp1252", files("--encoding", "train=cp1252"), expect="ok", check=_ok_output(r"run written"),
             setup=lambda d, ws: write(d / "train.csv", cp1252), group="encodings"),
        Case("a UTF-8 file with one bad byte", files(), message=r"mixes encodings or is damaged",
             setup=lambda d, ws: write(d / "train.csv", _csv(_user_rows(36)).replace("i feel", "i \u2019feel").encode() + b"x\xe9,joy\n"),
             group="encodings"),
        Case("a UTF-8 file read as latin-1", files("--encoding", "latin-1"), expect="ok",
             setup=lambda d, ws: write(d / "train.csv", _csv([(t.replace("feel", "f\u00e9el"), l) for t, l in _user_rows(36)])),
             check=_data_json_warning(r"is valid UTF-8"), group="encodings"),
        Case("--encoding dev=cp1252", files("--encoding", "dev=cp1252"), message=r"with the splits train, validation, test",
             setup=lambda d, ws: write(d / "train.csv", cp1252), group="encodings"),
        Case("--encoding train twice", files("--encoding", "train=cp1252,train=utf-8"), message=r"train is given twice",
             setup=lambda d, ws: write(d / "train.csv", cp1252), group="encodings"),
        Case("--encoding per split for one file", ["train", "--model", "tfidf", "--dataset", "{ws}/user/train.csv", "--encoding",
                                                    "train=cp1252", "-o", "{case}/out", "-q"],
             message=r"encodings per split apply to one file per split", group="encodings"),
        Case("a UTF-16 file", ["data", "audit", "{case}/d.csv"], message=r"UTF-16 byte-order mark: pass --encoding utf-16",
             setup=lambda d, ws: write(d / "d.csv", _csv(_user_rows()).encode("utf-16")), group="encodings"),
        Case("--encoding utf-16", ["data", "audit", "{case}/d.csv", "--encoding", "utf-16"], expect="ok",
             setup=lambda d, ws: write(d / "d.csv", _csv(_user_rows()).encode("utf-16")), check=_ok_output(r"train"),
             group="encodings"),
        Case("a UTF-8 BOM", ["data", "audit", "{case}/d.csv", "--json", "{case}/a.json"], expect="ok",
             setup=lambda d, ws: write(d / "d.csv", "\ufeff" + _csv(_user_rows())),
             check=lambda d, ws, out: None if (d / "a.json").is_file() else "no audit", group="encodings"),
        Case("a Shift-JIS file", ["data", "audit", "{case}/d.csv"], message=r"multi-byte East Asian encoding.*shift_jis",
             setup=lambda d, ws: write(d / "d.csv", _csv([(f"\u3046\u308c\u3057\u3044 {t}", l) for t, l in _user_rows()]).encode("shift_jis")),
             group="encodings"),
        Case("--encoding rot13", ["data", "audit", "{ws}/user/test.csv", "--encoding", "rot13"],
             message=r"unknown encoding 'rot13'", group="encodings"),
        Case("--encoding on a built-in dataset per split", ["data", "audit", "emotion", "--data-dir", "{ws}/data", "--encoding",
                                                            "train=cp1252"], message=r"encodings per split apply",
             group="encodings"),
        Case("--data-format on a built-in dataset", ["data", "audit", "emotion", "--data-dir", "{ws}/data", "--data-format", "csv"],
             message=r"--data-format applies to your own data files", group="encodings"),
    ]
    # -------- multi-label inputs
    ind = lambda *a: ["train", "--model", "tfidf", "--dataset", "{ws}/user/indicators.csv", "--text-column", "Tweet", "-o",
                      "{case}/out", "-q", *a]
    c += [
        Case("--label-columns", ind("--label-columns", "sadness,joy,anger"), expect="ok", check=_ok_output(r"micro-F1"),
             group="multi-label"),
        Case("--label-columns all with an id column", ind("--label-columns", "all"), message=r"column 'ID': 'id-0' is not 0 or 1",
             group="multi-label"),
        Case("--label-columns with one column", ind("--label-columns", "joy"), message=r"expected two or more", group="multi-label"),
        Case("--label-columns with a missing column", ind("--label-columns", "joy,fear"), message=r"line 2: missing column 'fear'",
             group="multi-label"),
        Case("--label-columns and --label-separator", ind("--label-columns", "joy,anger", "--label-separator", "|"),
             message=r"give one way of reading labels", group="multi-label"),
        Case("--label-columns and --label-names", ind("--label-columns", "joy,anger", "--label-names", "a,b"),
             message=r"the column names are the labels", group="multi-label"),
        Case("--label-columns on emotion", train_args_ml("--label-columns", "a,b"), message=r"--label-columns applies to your own",
             group="multi-label"),
        Case("--label-columns naming the text column", ind("--label-columns", "Tweet,joy"), message=r"'Tweet' is the text",
             group="multi-label"),
        Case("--label-columns with a 2", ["data", "audit", "{case}/d.csv", "--label-columns", "a,b"],
             message=r"d\.csv, line 3: column 'b': '2' is not 0 or 1",
             setup=lambda d, ws: write(d / "d.csv", "text,a,b\nhello,1,0\nhi,0,2\n"), group="multi-label"),
        Case("--label-columns as JSON booleans", ["data", "audit", "{case}/d.jsonl", "--label-columns", "a,b"], expect="ok",
             setup=lambda d, ws: write(d / "d.jsonl", "".join(json.dumps({"text": f"t {i}", "a": i % 2 == 0, "b": i % 3 == 0}) + "\n"
                                                                for i in range(40))),
             check=_ok_output(r"multi-label"), group="multi-label"),
        Case("--label-columns with --no-header names", ["data", "audit", "{case}/d.csv", "--no-header", "--label-columns", "a,b"],
             message=r"--label-columns 'a': with --no-header, columns are positions",
             setup=lambda d, ws: write(d / "d.csv", "hello,1,0\n"), group="multi-label"),
    ]
    # -------- tuning
    tune = lambda *a, model="tfidf": ["tune", "--model", model, "--data-dir", "{ws}/data", "-o", "{case}/t", "--name", "s", "-q",
                                      "--trials", "2", *a]
    c += [
        Case("--space with no choices", tune("--space", "C="), message=r"--space 'C=': no choices", group="tuning"),
        Case("--space with commas only", tune("--space", "C=,,"), message=r"--space 'C=,,': no choices", group="tuning"),
        Case("--space for an unknown parameter", tune("--space", "flux=1:2"), message=r"--space 'flux=1:2'", group="tuning"),
        Case("--space low above high", tune("--space", "C=2:1"), message=r"expected low < high", group="tuning"),
        Case("--space log from 0", tune("--space", "C=0:1:log"), message=r"low > 0 for log", group="tuning"),
        Case("--space with a word for a number", tune("--space", "C=a,b"), message=r"C='a'|expected a number", group="tuning"),
        Case("--space with NaN", tune("--space", "C=nan:1"), message=r"expected low < high", group="tuning"),
        Case("--trials 0", tune("--trials", "0"), message=r"--trials 0: expected at least 1", group="tuning"),
        Case("--timeout -1", tune("--timeout", "-1"), message=r"--timeout -1", group="tuning"),
        Case("a trial whose parameters leave no feature", tune("--space", "min_df_char=5000,2", "--space", "word_ngram_max=1",
                                                               "--trials", "3"), expect="ok",
             check=_ok_output(r"leave no feature with these parameters"), group="tuning"),
        Case("tuning tfidf on multi-label data", ["tune", "--model", "tfidf", "--train-file", "{ws}/multi/train.jsonl",
                                                  "--validation-file", "{ws}/multi/validation.jsonl", "--test-file",
                                                  "{ws}/multi/test.jsonl", "-o", "{case}/t", "--name", "s", "-q", "--trials", "2"],
             expect="ok", check=_ok_output(r"best configuration trained"), group="tuning"),
        Case("tuning into a folder that is no study", ["tune", "--model", "tfidf", "--data-dir", "{ws}/data", "-o", "{ws}", "--name",
                                                       "runs", "-q", "--trials", "1"], message=r"runs", group="tuning"),
        Case("tuning an unknown model", tune(model="gpt9"), message=r"unknown model 'gpt9'", group="tuning"),
        Case("tuning with a bad fixed parameter", tune("--set", "C=-1"), message=r"parameter C=-1", group="tuning"),
        process_case("a tuning study killed, then rerun", killed_tuning, expect="ok", group="tuning"),
        Case("--storage that is no URL", tune("--storage", "not a url"), message=r"--storage .*not a database URL",
             group="tuning"),
        Case("--storage redis", tune("--storage", "redis://localhost/0"), message=r"'redis' is not a database", group="tuning"),
        Case("--storage in memory", tune("--storage", "sqlite://"), message=r"in-memory SQLite", group="tuning"),
        Case("--storage with a password shown nowhere", tune("--storage", "postgresql://me:hunter2@127.0.0.1:9/db"),
             message=r"^(?!.*hunter2).*postgresql://me:\*\*\*@", group="tuning"),
    ]
    # -------- data budgets, baselines, the Ray engine, the new families
    c += [
        Case("--train-sizes 0", cmp("--train-sizes", "0"), message=r"--train-sizes '0': .*texts per class", group="budgets"),
        Case("--train-sizes x", cmp("--train-sizes", "8,x"), message=r"--train-sizes '8,x'", group="budgets"),
        Case("--train-sizes twice", cmp("--train-sizes", "8,8"), message=r"--train-sizes names a size twice", group="budgets"),
        Case("--train-sizes empty item", cmp("--train-sizes", "8,,all"), message=r"expected sizes separated by commas",
             group="budgets"),
        Case("--budget-validation alone", cmp("--budget-validation"), message=r"--budget-validation .*needs --train-sizes",
             group="budgets"),
        Case("--train-size 1.5", train_args_ml("--train-size", "1.5"), message=r"--train-size '1\.5'", group="budgets"),
        Case("--train-size on a budget", train_args_ml("--train-size", "4"), expect="ok", check=_ok_output(r"run written"),
             group="budgets"),
        Case("a budget study", cmp("--train-sizes", "4,all", "--seeds", "2"), expect="ok",
             check=_ok_output(r"best model at each data budget"), group="budgets"),
        Case("--engine spark", cmp("--engine", "spark"), message=r"--engine 'spark': expected local or ray", group="budgets"),
        Case("compare --ray-address without --engine ray", cmp("--ray-address", "127.0.0.1:9"),
             message=r"--ray-address applies to --engine ray", group="budgets"),
        Case("compare on Ray where none runs", cmp("--engine", "ray", "--ray-address", "127.0.0.1:9"),
             message=r"cannot start or reach Ray at 127\.0\.0\.1:9", group="budgets"),
        Case("setfit body with a foreign module", train_args_ml("--model", "setfit", "--set", "body={case}/body"),
             message=r"modules\.json: module 'evil\.Module' is not one emobench loads",
             setup=lambda d, ws: (__import__("shutil").copytree(ws.root / "tiny-bert", d / "body"),
                                  write(d / "body" / "modules.json", '[{"idx": 0, "name": "0", "path": "", "type": "evil.Module"}]')),
             group="new families"),
        Case("static body that is no folder", train_args_ml("--model", "static", "--set", "body={case}/nope"),
             message=r"static body .*nope.*expected a local model folder", group="new families"),
        Case("setfit body that is a file", train_args_ml("--model", "setfit", "--set", "body={ws}/user/test.csv"),
             message=r"setfit body .*expected a local model folder", group="new families"),
        Case("setfit --set num_iterations=0", train_args_ml("--model", "setfit", "--set", "num_iterations=0"),
             message=r"parameter num_iterations=0", group="new families"),
        Case("static --set pca_dims=1", train_args_ml("--model", "static", "--set", "pca_dims=1"),
             message=r"parameter pca_dims=1", group="new families"),
        Case("an unknown parameter of the baseline", train_args_ml("--model", "majority", "--set", "C=1"),
             message=r"unknown parameter 'C' for BaselineParams", group="new families"),
        Case("a stratified baseline", train_args_ml("--model", "stratified"), expect="ok", check=_ok_output(r"run written"),
             group="new families"),
    ]
    # -------- label issues
    audit_ = lambda *a: ["data", "audit", "emotion", "--data-dir", "{ws}/data", *a]
    c += [
        Case("--label-issues burn", train_args_ml("--label-issues", "burn"), message=r"--label-issues 'burn': expected drop or relabel",
             group="label issues"),
        Case("--label-issues-from alone", train_args_ml("--label-issues-from", "{ws}/user/test.csv"),
             message=r"--label-issues-from gives the flags .*give both", group="label issues"),
        Case("--label-issues-from a missing file", train_args_ml("--label-issues", "drop", "--label-issues-from", "{case}/no.json"),
             message=r"--label-issues-from .*no\.json: no such file", group="label issues"),
        Case("--label-issues-from not JSON", train_args_ml("--label-issues", "drop", "--label-issues-from", "{case}/a.json"),
             message=r"a\.json: the label-issues audit is not valid JSON", setup=lambda d, ws: write(d / "a.json", "{oops"),
             group="label issues"),
        Case("--label-issues-from an audit without issues", train_args_ml("--label-issues", "drop", "--label-issues-from",
                                                                          "{case}/a.json"),
             message=r"a\.json: field", setup=lambda d, ws: write(d / "a.json", '{"splits": {}}'), group="label issues"),
        Case("--label-issues-from an audit of other data", train_args_ml("--label-issues", "drop", "--label-issues-from",
                                                                         "{case}/a.json"),
             message=r"the audit was made on other training data", setup=_other_audit, group="label issues"),
        Case("audit --label-issues --folds 1", audit_("--label-issues", "--folds", "1"), message=r"--folds 1: expected an integer >= 2",
             group="label issues"),
        Case("audit --label-issues --splits dev", audit_("--label-issues", "--splits", "dev"), message=r"no split 'dev'",
             group="label issues"),
        Case("audit --folds without --label-issues", audit_("--folds", "3"), message=r"--folds applies to --label-issues",
             group="label issues"),
        Case("audit --label-issues --show -1", audit_("--label-issues", "--show", "-1"), message=r"--show -1: expected 0 or more",
             group="label issues"),
        Case("audit --label-issues --model gpt9", audit_("--label-issues", "--model", "gpt9"), message=r"unknown model 'gpt9'",
             group="label issues"),
        Case("audit --label-issues with too many folds", audit_("--label-issues", "--folds", "40"),
             message=r"too few for 40 folds|cannot be made", group="label issues"),
        Case("audit --label-issues", audit_("--label-issues", "--json", "{case}/a.json", "-q"), expect="ok",
             check=lambda d, ws, out: None if "label_issues" in json.loads((d / "a.json").read_text()) else "no issues in the JSON",
             group="label issues"),
        Case("train --label-issues drop", train_args_ml("--label-issues", "drop"), expect="ok",
             check=_data_json_warning(r"cleaned training split"), group="label issues"),
        Case("tune --label-issues relabel", tune("--label-issues", "relabel"), expect="ok",
             check=_ok_output(r"best configuration trained"), group="label issues"),
        Case("evaluate --data with --label-issues", ev("--data", "{ws}/user/test.csv", "--label-issues", "drop"),
             message=r"--label-issues does not apply", group="label issues"),
        Case("compare without the noise audit", cmp("--no-noise-audit"), expect="ok",
             check=lambda d, ws, out: None if not (d / "c" / "x" / "label_issues.json").exists() else "audited anyway",
             group="label issues"),
    ]
    return c


def _other_audit(case_dir: Path, ws) -> None:
    """A saved audit of another training split: the labels of the workspace's tiny data, other texts."""
    from emobench.data import DatasetConfig, load_dataset
    from emobench.experiments.label_issues import find_issues, save_issues

    corpus = load_dataset(DatasetConfig(name=str(ws.root / "user" / "train.csv"), files={
        "train": str(ws.root / "user" / "train.csv"), "test": str(ws.root / "user" / "test.csv")}))
    save_issues(case_dir / "a.json", find_issues(corpus, ["train"], folds=3))


def train_args_ml(*extra):
    return ["train", "--model", "tfidf", "--data-dir", "{ws}/data", "-o", "{case}/out", "-q", *extra]


def outcome_http(case: Case, responses: list[tuple[int, str]], healthy: bool, ws, case_dir) -> tuple[str, str]:
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


def _send_all(one, requests: list[dict]) -> list[tuple[int, str]]:
    """Every request at once (a thread each), so concurrent ones share the service's batches."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, len(requests))) as pool:
        return list(pool.map(one, requests))


class ProcessService:
    """`emobench serve` of the workspace's int8 export (with the poison hook) as a process on 127.0.0.1."""

    def __init__(self, ws, env: dict):
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
    """The same service in-process (FastAPI's TestClient), for the test suite; the poison hook is patched in."""

    def __init__(self, ws):
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
