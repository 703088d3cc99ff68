"""Load on a local `emobench serve`: 1,000 requests from 100 concurrent clients (throughput, p50 / p99 latency,
errors), then 200 malformed requests (every one must be answered 4xx, and the server must stay healthy).

    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/serve_load.py MODEL [--requests 1000] [--clients 100]
    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/serve_load.py MODEL --soak [--requests 5000]

``--soak``: the requests mix valid ones with 10% poisoned ones (JSON NaN / Infinity, lone surrogates, a text over
--max-chars, a body declaring 10 MB, and a text the model cannot score), all sent concurrently so poisoned items
share batches with valid ones. Every valid request must be answered with the probabilities `Predictor.predict`
gives for its text (label equal, probabilities within 1e-5), every poisoned one with a 4xx, and /health must be
fine afterwards. No real text breaks a tokenizer since lone surrogates are refused at validation, so the soak's
server is `emobench serve` with one change: a text holding the marker below raises a BaseException inside the
model, as a panicking Rust tokenizer does.

MODEL is a run directory or an ONNX export. The server runs on 127.0.0.1 as a subprocess and is stopped at
the end; every request has a timeout, so the benchmark always ends.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from common import print_table, write_results

from emobench.data import load_dataset


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def malformed(i: int) -> tuple[str, str, dict]:
    """(method, path, httpx keyword arguments) of the i-th kind of bad request."""
    kinds = [
        ("POST", "/predict", {"json": {"texts": []}}),
        ("POST", "/predict", {"json": {"texts": ["x"] * 1000}}),
        ("POST", "/predict", {"json": {"texts": ["y" * 20_000]}}),
        ("POST", "/predict", {"json": {"texts": ["fine", 42]}}),
        ("POST", "/predict", {"json": {"texts": [None]}}),
        ("POST", "/predict", {"json": {"texts": "not a list"}}),
        ("POST", "/predict", {"json": {"text": ["wrong key"]}}),
        ("POST", "/predict", {"json": ["a bare list"]}),
        ("POST", "/predict", {"content": b'{"texts": ["unclosed', "headers": {"content-type": "application/json"}}),
        ("POST", "/predict", {"content": b"\xff\xfe\x00 not utf-8", "headers": {"content-type": "application/json"}}),
        ("POST", "/predict", {}),
        ("POST", "/predict", {"json": {"texts": ["  "]}}),
        ("POST", "/predict", {"json": {"texts": ["ok"], "unexpected": True}}),
        ("GET", "/predict", {}),
        ("POST", "/nothing-here", {"json": {"texts": ["ok"]}}),
        ("PUT", "/model", {}),
        ("DELETE", "/health", {}),
        ("POST", "/predict", {"content": b"texts=hello", "headers": {"content-type": "application/x-www-form-urlencoded"}}),
        ("POST", "/predict", {"json": {"texts": [{"nested": "object"}]}}),
        ("POST", "/predict", {"json": {"texts": [["nested", "list"]]}}),
    ]
    return kinds[i % len(kinds)]


class Connection:
    """One keep-alive HTTP/1.1 connection on bare asyncio streams. The load generator shares the server's two
    cores, so it must cost far less than the server: httpx's AsyncClient with 100 pooled connections managed
    74 GET /health per second against this server, these connections 1,447 (measured on the 2-core machine)."""

    def __init__(self, host: str, port: int):
        self.host, self.port, self.reader, self.writer = host, port, None, None

    async def post_json(self, path: str, payload: dict) -> tuple[int, bytes]:
        return await self.post_raw(path, json.dumps(payload).encode())

    async def post_raw(self, path: str, body: bytes, declared: int | None = None) -> tuple[int, bytes]:
        """``declared``: a Content-Length other than the body's (the body is then not sent: a server must refuse a
        declared 10 MB body before reading it)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {declared if declared is not None else len(body)}\r\n\r\n")
        self.writer.write(head.encode() + (body if declared is None else b""))
        await self.writer.drain()
        status = int((await self.reader.readline()).split()[1])
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
            elif name.strip().lower() == "connection" and value.strip().lower() == "close":
                close = True
        payload_bytes = await self.reader.readexactly(length)
        if close:
            self.close()
        return status, payload_bytes

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def load(host: str, port: int, texts: list[str], requests: int, clients: int) -> dict:
    latencies, errors = [], []
    queue: asyncio.Queue = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(texts[i % len(texts)])

    async def client():
        connection = Connection(host, port)
        while not queue.empty():
            text = queue.get_nowait()
            started = time.perf_counter()
            try:
                status, body = await asyncio.wait_for(connection.post_json("/predict", {"texts": [text]}), 60)
                if status != 200 or len(json.loads(body)["predictions"]) != 1:
                    errors.append(status)
            except (OSError, asyncio.TimeoutError, ValueError, KeyError, asyncio.IncompleteReadError) as exc:
                errors.append(type(exc).__name__)
                connection.close()
            latencies.append(time.perf_counter() - started)
        connection.close()

    started = time.perf_counter()
    await asyncio.gather(*[client() for _ in range(clients)])
    seconds = time.perf_counter() - started
    latencies = np.array(latencies)
    return {"requests": requests, "clients": clients, "seconds": seconds, "requests_per_second": requests / seconds,
            "p50_ms": float(np.percentile(latencies, 50) * 1000), "p99_ms": float(np.percentile(latencies, 99) * 1000),
            "errors": len(errors), "error_kinds": sorted({str(e) for e in errors})}


async def abuse(url: str, count: int) -> dict:
    import httpx

    statuses = []
    async with httpx.AsyncClient(timeout=30) as session:
        for i in range(count):
            method, path, kwargs = malformed(i)
            response = await session.request(method, f"{url}{path}", **kwargs)
            statuses.append(response.status_code)
        healthy = (await session.get(f"{url}/health")).status_code == 200
        works = (await session.post(f"{url}/predict", json={"texts": ["still working?"]})).status_code == 200
    return {"malformed": count, "all_4xx": all(400 <= s < 500 for s in statuses),
            "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))}, "healthy_after": healthy,
            "predicts_after": works}


POISON_MARKER = "\u2063emobench-soak-poison"  # an invisible separator and a word no real text holds
# `emobench serve` whose model raises (a BaseException, as a Rust panic does) on a text holding the marker.
POISONED_SERVER = f"""
import sys
from emobench.serving import predictor
real = predictor.Predictor.probabilities
class Panic(BaseException):
    pass
def probabilities(self, texts):
    if any({POISON_MARKER!r} in t for t in texts):
        raise Panic("the tokenizer panicked")
    return real(self, texts)
predictor.Predictor.probabilities = probabilities
from emobench.cli import main
sys.argv = ["emobench"] + sys.argv[1:]
main()
"""
POISONS = {  # kind -> (body, declared length or None)
    "json NaN": (b'{"texts": ["i feel fine", NaN]}', None),
    "json Infinity": (b'{"texts": ["i feel fine"], "x": -Infinity}', None),
    "lone surrogate": (b'{"texts": ["so \\ud800 sad"]}', None),
    "text over --max-chars": (json.dumps({"texts": ["a" * 10_001]}).encode(), None),
    "body declaring 10 MB": (b"", 10 * 1024 * 1024),
    "text the model cannot score": (json.dumps({"texts": ["i am happy", f"i am {POISON_MARKER} sad"]}).encode(), None),
}


async def soak(host: str, port: int, texts: list[str], expected: dict, requests: int, clients: int,
               poison_share: float = 0.1) -> dict:
    """Valid and poisoned requests, concurrently: every valid answer checked against ``expected`` (text -> the
    Predictor's output), every poisoned one a 4xx."""
    kinds, every = list(POISONS), round(1 / poison_share)
    plan = [("poison", kinds[(i // every) % len(kinds)]) if i % every == 0 else ("valid", texts[i % len(texts)])
            for i in range(requests)]
    queue: asyncio.Queue = asyncio.Queue()
    for item in plan:
        queue.put_nowait(item)
    latencies, outcome = [], {"valid": 0, "valid_correct": 0, "valid_wrong": [], "poisoned": 0, "poisoned_4xx": 0,
                              "poisoned_other": [], "errors": []}

    async def client():
        connection = Connection(host, port)
        while not queue.empty():
            kind, value = queue.get_nowait()
            started = time.perf_counter()
            try:
                if kind == "valid":
                    status, body = await asyncio.wait_for(connection.post_json("/predict", {"texts": [value]}), 60)
                    outcome["valid"] += 1
                    got = json.loads(body)["predictions"][0] if status == 200 else None
                    want = expected[value]
                    if got is not None and got.get("label") == want.get("label") and all(
                            abs(got["probabilities"][k] - p) <= 1e-5 for k, p in want["probabilities"].items()):
                        outcome["valid_correct"] += 1
                    else:
                        outcome["valid_wrong"].append(status)
                    latencies.append(time.perf_counter() - started)
                else:
                    body, declared = POISONS[value]
                    status, _ = await asyncio.wait_for(connection.post_raw("/predict", body, declared), 60)
                    outcome["poisoned"] += 1
                    if 400 <= status < 500:
                        outcome["poisoned_4xx"] += 1
                    else:
                        outcome["poisoned_other"].append(f"{value}: {status}")
                    if declared is not None:
                        connection.close()  # the server closes a refused oversized request's connection
            except (OSError, asyncio.TimeoutError, ValueError, KeyError, asyncio.IncompleteReadError) as exc:
                outcome["errors"].append(f"{kind}: {type(exc).__name__}")
                connection.close()
        connection.close()

    started = time.perf_counter()
    await asyncio.gather(*[client() for _ in range(clients)])
    seconds = time.perf_counter() - started
    latencies = np.array(latencies)
    return {"requests": requests, "clients": clients, "seconds": seconds, "requests_per_second": requests / seconds,
            "p50_ms": float(np.percentile(latencies, 50) * 1000), "p99_ms": float(np.percentile(latencies, 99) * 1000),
            "valid": outcome["valid"], "valid_correct": outcome["valid_correct"], "poisoned": outcome["poisoned"],
            "poisoned_4xx": outcome["poisoned_4xx"], "poison_kinds": kinds, "errors": len(outcome["errors"]),
            "error_kinds": sorted(set(outcome["errors"]))[:10], "wrong": outcome["valid_wrong"][:10] + outcome["poisoned_other"][:10]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("--requests", type=int, default=None, help="default: 1,000 (5,000 with --soak)")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--malformed", type=int, default=200)
    parser.add_argument("--soak", action="store_true", help="mix 10%% poisoned requests in, and check every answer")
    args = parser.parse_args()
    args.requests = args.requests or (5000 if args.soak else 1000)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-c", POISONED_SERVER] if args.soak else [sys.executable, "-m", "emobench.cli"]
    server = subprocess.Popen([*command, "--log-level", "warning", "serve", args.model, "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        import httpx

        for _ in range(600):
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise SystemExit("the server did not start: " + server.stderr.read().decode()[-2000:])
        card = httpx.get(f"{url}/model", timeout=10).json()
        texts = load_dataset("emotion")["test"].texts
        if args.soak:
            from emobench.serving import Predictor

            expected = {r.text: r.dump() for r in Predictor(args.model).predict(texts)}
            result = asyncio.run(soak("127.0.0.1", port, texts, expected, args.requests, args.clients))
            health = httpx.get(f"{url}/health", timeout=10).json()
            result.update(healthy_after=health["status"] == "ok", failed_requests_seen=health["failed_requests"],
                          predicts_after=httpx.post(f"{url}/predict", json={"texts": ["still working?"]},
                                                    timeout=30).status_code == 200)
        else:
            result = asyncio.run(load("127.0.0.1", port, texts, args.requests, args.clients))
            result.update(asyncio.run(abuse(url, args.malformed)))
        result.update(model=card.get("model"), backend=card.get("backend"), family=card.get("family"))
    finally:
        server.terminate()
        server.wait(timeout=30)
    title = f"emobench serve ({result['model']}, {result['backend']}) on 127.0.0.1"
    if args.soak:
        print_table(title + ": soak", [result], ["requests", "clients", "requests_per_second", "p50_ms", "p99_ms", "valid",
                                                 "valid_correct", "poisoned", "poisoned_4xx", "errors", "healthy_after"])
        print("results:", write_results("serve_soak", [result], model=str(Path(args.model).resolve())))
        ok = result["valid_correct"] == result["valid"] and result["poisoned_4xx"] == result["poisoned"] \
            and not result["errors"] and result["healthy_after"] and result["predicts_after"]
        sys.exit(0 if ok else 1)
    print_table(title, [result], ["requests", "clients", "requests_per_second", "p50_ms", "p99_ms", "errors", "malformed",
                                  "all_4xx", "healthy_after"])
    print(json.dumps(result["statuses"]))
    print("results:", write_results("serve_load", [result], model=str(Path(args.model).resolve())))
    sys.exit(0 if result["errors"] == 0 and result["all_4xx"] and result["healthy_after"] else 1)


if __name__ == "__main__":
    main()
