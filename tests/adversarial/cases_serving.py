"""The HTTP service (an int8 LSTM export, served with the poison hook: see harness.SERVER): NaN / Infinity, Unicode
edge cases, oversized and malformed bodies, wrong types, poisoned requests among concurrent ones; and `serve`'s
own options. A served answer must equal what `Predictor.predict` says."""
from __future__ import annotations

import json
import shutil

from .harness import POISON, Case, http
from .helpers import write


def serve_case(name, request, message="", expect="error", check=None, status=None) -> Case:
    """One request: its answer's status must match ``status`` (a 4xx for an error, 200 for ok)."""
    status = status or (r"4\d\d" if expect == "error" else "200")
    return Case(name, {"request": request, "status": status}, expect, message, check=check, group="serve", kind="http")


def many_case(name, requests, expect_statuses, message="", check=None) -> Case:
    """Concurrent requests (sent together, so they share batches): each answer's status must match its pattern."""
    return Case(name, {"requests": requests, "statuses": expect_statuses}, "ok", message, check=check, group="serve",
                kind="http")


_PREDICTORS: dict = {}


def _expected(ws, text: str):
    """What `Predictor.predict` says of ``text`` with the served export: a served answer must be the same."""
    from emobench.serving import Predictor

    key = str(ws.root)
    if key not in _PREDICTORS:
        _PREDICTORS[key] = Predictor(ws.p("exports", "lstm-int8"))
    return _PREDICTORS[key].predict([text])[0]


def _same_as_predict(ws, text: str, answer: dict) -> str | None:
    want = _expected(ws, text)
    if answer.get("label") != want.label or any(abs(answer["probabilities"][k] - p) > 1e-5
                                                for k, p in want.probabilities.items()):
        return f"served {answer.get('label')!r}, predict says {want.label!r}"
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
        serve_case("a UTF-16 body (JSON exchanged between systems is UTF-8: RFC 8259)",
                   http(body='{"texts": ["so happy and glad"]}'.encode("utf-16")), r"is not UTF-8; expected a UTF-8 body",
                   status="422"),
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
        Case("serve --port 0", serve("{ws}/runs/tfidf-run", "--port", "0"), message=r"--port 0: expected an integer from 1 to 65,535", group="serve"),
        Case("serve --batch-wait-ms nan", serve("{ws}/runs/tfidf-run", "--batch-wait-ms", "nan"),
             message=r"error: --batch-wait-ms nan: expected a finite number", group="serve"),
        Case("serve --batch-wait-ms 1e12", serve("{ws}/runs/tfidf-run", "--batch-wait-ms", "1e12"),
             message=r"--batch-wait-ms 1e12: expected milliseconds from 0 to 10,000", group="serve"),
        Case("serve --batch-wait-ms inf", serve("{ws}/runs/tfidf-run", "--batch-wait-ms", "inf"),
             message=r"--batch-wait-ms inf: expected a finite number", group="serve"),
        Case("serve --max-chars 1e9", serve("{ws}/runs/tfidf-run", "--max-chars", "1e9"),
             message=r"--max-chars '1e9': expected an integer", group="serve"),
        Case("serve --port 70000", serve("{ws}/runs/tfidf-run", "--port", "70000"), message=r"--port 70000", group="serve"),
        Case("serve --max-texts 0", serve("{ws}/runs/tfidf-run", "--max-texts", "0"), message=r"--max-texts 0: expected an integer from 1 to",
             group="serve"),
        Case("serve --batch-wait-ms -1", serve("{ws}/runs/tfidf-run", "--batch-wait-ms", "-1"), message=r"--batch-wait-ms -1",
             group="serve"),
        Case("serve a run with --backend onnx", serve("{ws}/runs/tfidf-run", "--backend", "onnx"), message=r"not an ONNX export",
             group="serve"),
        Case("serve an unresolvable host", serve("{ws}/runs/tfidf-run", "--host", "no-such-host.invalid"),
             message=r"--host no-such-host\.invalid: cannot resolve it", group="serve"),
        Case("serve an export with a corrupt export.json", serve("{case}/exp"), message=r"export\.json",
             setup=lambda d, ws: (shutil.copytree(ws.root / "exports" / "lstm-int8", d / "exp"),
                                  write(d / "exp" / "export.json", "{oops")), group="serve"),
    ]
    return c
