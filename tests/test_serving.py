"""The HTTP service in-process (FastAPI's test client): every endpoint and every class of bad request."""
import asyncio
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from emobench.serving.service import Batcher, ServiceSettings, create_app


@pytest.fixture(scope="module")
def run_dir(tfidf_run):
    return tfidf_run


@pytest.fixture(scope="module")
def client(run_dir):
    with TestClient(create_app(run_dir, settings=ServiceSettings(max_texts=4, max_chars=200))) as client:
        yield client


def test_predict_health_model_docs(client, run_dir):
    response = client.post("/predict", json={"texts": ["i feel so furious and angry", "i am terrified and scared"]})
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    assert [p["label"] for p in predictions] == ["anger", "fear"]
    assert abs(sum(predictions[0]["probabilities"].values()) - 1) < 1e-6 and "labels" not in predictions[0]
    assert client.get("/health").json()["status"] == "ok"
    card = client.get("/model").json()
    assert card["family"] == "tfidf" and card["dataset"] == "emotion" and len(card["labels"]) == 6
    assert card["test_metrics"]["accuracy"] == json.loads((run_dir / "metrics.json").read_text())["splits"]["test"]["accuracy"]
    assert card["emobench_version"] and client.get("/docs").status_code == 200
    assert "/predict" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("body, where", [
    ({"texts": []}, "texts"),
    ({"texts": ["a", "b", "c", "d", "e"]}, "texts"),
    ({"texts": ["fine", "x" * 201]}, "texts[1] has 201 characters; the maximum is 200"),
    ({"texts": ["fine", "   "]}, "texts[1] is empty"),
    ({"texts": ["fine", 3]}, '"texts", 1], "msg": "Input should be a valid string"'),
    ({"texts": "just one string"}, "texts"),
    ({"text": ["wrong key"]}, "texts"),
    ({"texts": ["ok"], "extra": 1}, "extra"),
    (None, "body"),
])
def test_bad_requests_are_422_with_the_item_and_the_reason(client, body, where):
    response = client.post("/predict", json=body) if body is not None else client.post("/predict")
    assert response.status_code == 422
    assert where in json.dumps(response.json()["detail"])


def test_malformed_json_and_wrong_methods(client):
    response = client.post("/predict", content=b'{"texts": [', headers={"content-type": "application/json"})
    assert response.status_code == 422 and "json" in json.dumps(response.json()).lower()
    assert client.get("/predict").status_code == 405
    assert client.post("/health").status_code == 405
    assert client.get("/nope").status_code == 404
    assert client.post("/predict", json={"texts": ["still healthy"]}).status_code == 200


def test_concurrent_requests_are_batched(run_dir):
    from emobench.serving import Predictor

    batcher = Batcher(Predictor(run_dir), ServiceSettings(max_batch=64, batch_wait_ms=50))

    async def many():
        await batcher.start()
        results = await asyncio.gather(*[batcher.predict([f"i feel happy {i}", "so sad"]) for i in range(20)])
        await batcher.stop()
        return results

    results = asyncio.run(many())
    assert len(results) == 20 and all(len(r) == 2 and r[1].label == "sadness" for r in results)
    assert batcher.batches < 20  # 40 texts from 20 requests went through fewer model calls


@pytest.mark.parametrize("raw, where", [
    (b'{"texts": [NaN]}', '"texts", 0'),
    (b'{"texts": ["fine", Infinity]}', '"texts", 1'),
    (b'{"texts": ["ok"], "x": -Infinity}', '"x"'),
    (b"NaN", '"body"'),
    (b'{"texts": ["fine", "bad \\ud800 text"]}', "texts[1] holds a lone surrogate (U+D800) at character 4"),
])
def test_json_that_python_accepts_but_is_no_text_is_a_422(client, raw, where):
    response = client.post("/predict", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert where in json.dumps(response.json()["detail"]) and "NaN" not in response.text.replace('"NaN"', "")


def test_a_422_never_echoes_the_input(client):
    big = "y" * 5000
    response = client.post("/predict", json={"texts": ["ok", big]})
    assert response.status_code == 422 and big not in response.text and len(response.text) < 2000


def test_a_body_larger_than_any_valid_request_is_refused_unread(client):
    response = client.post("/predict", content=b'{"texts": ["' + b"x" * 10_000_000 + b'"]}',
                           headers={"content-type": "application/json"})
    assert response.status_code == 413 and "larger than" in response.json()["detail"]
    assert client.post("/predict", json={"texts": ["still fine"]}).status_code == 200


def test_model_card_shows_no_path_of_the_machine(client, run_dir):
    card = client.get("/model").text
    assert str(run_dir.parent) not in card and "/" not in json.loads(card)["folder"]


def test_a_poisoned_text_fails_only_its_own_request(run_dir):
    from emobench.serving import Predictor

    predictor = Predictor(run_dir)
    real = predictor.probabilities

    class Panic(BaseException):  # what a Rust panic in a tokenizer raises: not an Exception
        pass

    def probabilities(texts):
        if any("POISON" in t for t in texts):
            raise Panic("tokenizer panicked")
        return real(texts)

    predictor.probabilities = probabilities
    batcher = Batcher(predictor, ServiceSettings(max_batch=64, batch_wait_ms=50))

    async def many():
        await batcher.start()
        jobs = [batcher.predict([f"i feel happy {i}"] if i != 3 else ["POISON here"]) for i in range(8)]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        after = await batcher.predict(["so sad"])
        await batcher.stop()
        return results, after

    results, after = asyncio.run(many())
    failed = [r for r in results if isinstance(r, BaseException)]
    assert len(failed) == 1 and "tokenizer panicked" in str(failed[0]) and results[3] is failed[0]
    assert all(r[0].label == "joy" for i, r in enumerate(results) if i != 3)
    assert after[0].label == "sadness" and batcher.failures == 1  # the batcher is alive
    assert failed[0].index == 0


def test_a_poisoned_text_is_a_422_naming_it(run_dir, monkeypatch):
    from emobench.serving.predictor import Predictor

    real = Predictor.probabilities

    class Panic(BaseException):
        pass

    def probabilities(self, texts):
        if any("POISON" in t for t in texts):
            raise Panic("tokenizer panicked")
        return real(self, texts)

    monkeypatch.setattr(Predictor, "probabilities", probabilities)
    with TestClient(create_app(run_dir)) as client:
        response = client.post("/predict", json={"texts": ["i am happy", "so POISON", "fine"]})
        assert response.status_code == 422
        detail = response.json()["detail"][0]
        assert detail["loc"] == ["body", "texts", 1] and "tokenizer panicked" in detail["msg"] and "POISON" not in detail["msg"]
        assert client.get("/health").json()["status"] == "ok"
        assert client.post("/predict", json={"texts": ["i am happy"]}).status_code == 200


@pytest.mark.slow
def test_stalled_connections_are_closed_and_a_busy_port_is_clear(run_dir, tmp_path):
    import socket
    import subprocess
    import sys

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "emobench.cli", "serve", str(run_dir), "--port", str(busy)],
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and f"--port {busy}: cannot listen" in done.stderr
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-c", (
        "from emobench.serving.service import serve, ServiceSettings; "
        f"serve({str(run_dir)!r}, port={port}, settings=ServiceSettings(request_seconds=2), log_level='warning')")])
    try:
        import time

        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        silent = socket.create_connection(("127.0.0.1", port), timeout=10)
        dribble = socket.create_connection(("127.0.0.1", port), timeout=10)
        dribble.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"te")
        started = time.time()
        assert silent.recv(10) == b"" and dribble.recv(10) == b""  # both closed by the server
        assert time.time() - started < 8
        ok = socket.create_connection(("127.0.0.1", port), timeout=10)
        body = b'{"texts": ["i am so happy"]}'
        ok.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                   + str(len(body)).encode() + b"\r\n\r\n" + body)
        assert b"200 OK" in ok.recv(1000)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize("setting, value", [("batch_wait_ms", float("nan")), ("batch_wait_ms", 1e12), ("max_texts", 0),
                                            ("max_chars", 1.5), ("request_seconds", float("inf")), ("max_batch", True)])
def test_service_settings_are_range_checked_in_the_api_too(setting, value):
    from emobench.errors import EmobenchError
    from emobench.serving.service import ServiceSettings

    with pytest.raises(EmobenchError, match=f"{setting} {value!r}: expected"):
        ServiceSettings(**{setting: value})


def test_a_utf16_body_is_refused_as_not_utf8(client):
    """JSON is UTF-8: json.loads would guess UTF-16 from a body's first bytes and answer 200."""
    body = json.dumps({"texts": ["i am so happy"]}).encode("utf-16")
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422 and "UTF-8" in response.text


def test_a_streamed_body_over_the_limit_is_a_413(client):
    """Sent in chunks, without a Content-Length: refused as too large (it was a 400 saying the body could not be
    parsed), and a streamed body within the limit is answered as any other."""
    def chunks(n):
        yield b'{"texts": ["'
        for _ in range(n):
            yield b"a" * 1000
        yield b'"]}'

    response = client.post("/predict", content=chunks(2000), headers={"content-type": "application/json"})
    assert response.status_code == 413 and "larger than" in response.json()["detail"]
    fine = client.post("/predict", content=(part for part in [b'{"texts": ', b'["so sad and lonely"]}']),
                       headers={"content-type": "application/json"})
    assert fine.status_code == 200 and fine.json()["predictions"][0]["label"]
    assert client.get("/health").json()["status"] == "ok"


def test_explain_answers_as_the_explain_command(client, run_dir):
    from emobench import explain

    texts = ["i feel so furious and angry", "i am terrified and scared"]
    response = client.post("/explain", json={"texts": texts})
    assert response.status_code == 200, response.text
    given = response.json()["explanations"]
    expected = explain(run_dir, texts)
    assert [(g["label"], g["tokens"]) for g in given] == [(e.label, e.tokens) for e in expected]
    assert all(np.allclose(g["scores"], e.scores) for g, e in zip(given, expected))
    toward = client.post("/explain", json={"texts": texts[:1], "label": "joy"}).json()["explanations"][0]
    assert toward["label"] == "joy" and toward["probability"] < 0.5
    card = client.get("/model").json()
    assert card["explains"] is True and "no_explanations" not in card and card["precision"] == "fp64"
    assert card["limits"] == {"max_texts": 4, "max_chars": 200}


@pytest.mark.parametrize("body, where, reason", [
    ({"texts": ["fine"], "label": "nope"}, ["body", "label"], "Input should be"),
    ({"texts": ["fine"], "label": 3}, ["body", "label"], "Input should be"),
    ({"texts": ["fine", "x" * 201]}, ["body", "texts", 1], "texts[1] has 201 characters; the maximum is 200"),
    ({"texts": []}, ["body", "texts"], "at least 1 item"),
    ({"texts": ["fine"], "extra": 1}, ["body", "extra"], "Extra inputs are not permitted"),
])
def test_explain_refuses_what_predict_refuses_and_a_label_the_model_lacks(client, body, where, reason):
    response = client.post("/explain", json=body)
    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"] == where and reason in problem["msg"], problem


def test_a_model_without_attributions_has_no_explain_route_and_says_why(tmp_path):
    from emobench.data import Split
    from emobench.models import build_model

    texts = ["happy", "sad", "glad", "blue"] * 5
    build_model("majority").fit(Split(texts, [0, 1] * 10), None, ["joy", "sadness"]).save(tmp_path / "m")
    with TestClient(create_app(tmp_path / "m")) as majority:
        card = majority.get("/model").json()
        assert card["explains"] is False and "no word attributions" in card["no_explanations"]
        assert majority.post("/explain", json={"texts": ["hi"]}).status_code == 404
        assert "/explain" not in majority.get("/openapi.json").json()["paths"]
        assert majority.get("/").status_code == 200


def test_a_text_the_model_cannot_explain_is_a_422_naming_it(run_dir, monkeypatch):
    from emobench.models.tfidf import TfidfClassifier

    real = TfidfClassifier.attributions

    def poisoned(self, text, label):
        if "poison" in text:
            raise ValueError("cannot")
        return real(self, text, label)

    monkeypatch.setattr(TfidfClassifier, "attributions", poisoned)
    with TestClient(create_app(run_dir, settings=ServiceSettings(max_texts=4, max_chars=200))) as c:
        response = c.post("/explain", json={"texts": ["fine", "a poison text"]})
        assert response.status_code == 422
        (problem,) = response.json()["detail"]
        assert problem["loc"] == ["body", "texts", 1] and "could not score" in problem["msg"]
        assert "poison" not in response.text
        assert c.post("/explain", json={"texts": ["fine"]}).status_code == 200


def test_the_page_and_its_files_are_served_with_a_strict_policy(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    for name in ("page.css", "common.js", "try.js"):
        assert f"page/{name}" in page.text
        served = client.get(f"/page/{name}")
        assert served.status_code == 200 and served.headers["x-content-type-options"] == "nosniff"
    assert "innerHTML" not in client.get("/page/try.js").text + client.get("/page/common.js").text
    assert client.get("/page/try.js?text=alert(1)").text == client.get("/page/try.js").text  # no parameter read
    for missing in ("/page/../service.py", "/page/", "/page/try.html", "/page/x.js"):
        assert client.get(missing).status_code == 404, missing
    assert "/" not in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("path, headers, where, reason", [
    ("/explain?label=anger", {}, ["query", "label"], "reads its JSON body only"),
    ("/predict?texts=x", {}, ["query", "texts"], "reads its JSON body only"),
    ("/predict", {"content-encoding": "gzip"}, ["header", "content-encoding"], "expected an uncompressed body"),
    ("/predict", {"content-type": "application/json; charset=latin-1"}, ["header", "content-type"], "expected utf-8"),
])
def test_what_a_body_endpoint_would_ignore_is_refused(client, path, headers, where, reason):
    """Found from outside: /explain?label=anger explained the predicted label, a gzip or latin-1 body was read as
    plain UTF-8."""
    response = client.post(path, content=json.dumps({"texts": ["i am happy"]}).encode(),
                           headers={"content-type": "application/json", **headers})
    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"] == where and reason in problem["msg"], problem
    fine = client.post("/predict", content=b'{"texts": ["i am happy"]}',
                       headers={"content-type": "application/json; charset=UTF-8"})
    assert fine.status_code == 200
