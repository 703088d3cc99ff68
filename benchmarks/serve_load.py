"""Load on a local `emobench serve`: 1,000 requests from 100 concurrent clients (throughput, p50 / p99 latency,
errors), then 200 malformed requests (every one must be answered 4xx, and the server must stay healthy).

    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/serve_load.py MODEL [--requests 1000] [--clients 100]

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
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        body = json.dumps(payload).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")
        self.writer.write(head.encode() + body)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--malformed", type=int, default=200)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "emobench.cli", "--log-level", "warning", "serve", args.model,
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
        result = asyncio.run(load("127.0.0.1", port, texts, args.requests, args.clients))
        result.update(asyncio.run(abuse(url, args.malformed)))
        result.update(model=card.get("model"), backend=card.get("backend"), family=card.get("family"))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print_table(f"emobench serve ({result['model']}, {result['backend']}) on 127.0.0.1", [result],
                ["requests", "clients", "requests_per_second", "p50_ms", "p99_ms", "errors", "malformed", "all_4xx",
                 "healthy_after"])
    print(json.dumps(result["statuses"]))
    print("results:", write_results("serve_load", [result], model=str(Path(args.model).resolve())))
    sys.exit(0 if result["errors"] == 0 and result["all_4xx"] and result["healthy_after"] else 1)


if __name__ == "__main__":
    main()
