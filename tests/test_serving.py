"""The HTTP service in-process (FastAPI's test client): every endpoint and every class of bad request."""
import asyncio
import json

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
    assert len(results) == 20 and all(len(r) == 2 and r[1]["label"] == "sadness" for r in results)
    assert batcher.batches < 20  # 40 texts from 20 requests went through fewer model calls
