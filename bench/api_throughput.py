"""Decisions per second through the real API, against a bare Litestar endpoint on the same setup.

Both servers run under uvicorn on loopback with the same settings and are driven by the same
client (asyncio + httpx, a fixed number of requests at a fixed concurrency), so the ratio says
what Redress's work (validation, rules, a durable ledger append) costs over Litestar itself.
The machines are noisy: quote the ratio from one run, not the absolute numbers.

    .venv/bin/python bench/api_throughput.py [--requests 2000] [--concurrency 8] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
ADMIN_KEY = "bench-admin-key-0123456789abcdef0123456789abcdef"
DECISION = {
    "policy": "wme",
    "as_of": "2026-12-24T09:00:00Z",
    "facts": {"received_at": "2026-12-23", "kind": "complaint", "category": "misconduct"},
}
BARE_APP = """
from litestar import Litestar, post

@post("/v1/decisions")
async def decide(data: dict) -> dict:
    return {"ok": True}

app = Litestar([decide])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not start")


async def drive(base: str, requests: int, concurrency: int, headers: dict[str, str]) -> float:
    """Send `requests` decision requests; return requests per second. Any non-2xx is an error."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            queue.get_nowait()
            response = await client.post("/v1/decisions", json=DECISION, headers=headers)
            if response.status_code >= 300:
                raise RuntimeError(f"{response.status_code}: {response.text[:200]}")

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return requests / (time.perf_counter() - started)


def measure(command: list[str], env: dict[str, str], port: int, args: argparse.Namespace) -> float:
    server = subprocess.Popen(command, env=env, cwd=env.get("BENCH_CWD", str(ROOT)))
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health")
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        asyncio.run(drive(f"http://127.0.0.1:{port}", 50, 2, headers))  # warm up
        return asyncio.run(
            drive(f"http://127.0.0.1:{port}", args.requests, args.concurrency, headers)
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent

    with tempfile.TemporaryDirectory() as scratch:
        env = dict(os.environ, REDRESS_ADMIN_KEY=ADMIN_KEY)
        port = free_port()
        redress = [str(bin_dir / "redress"), "serve", "--data-dir", f"{scratch}/data"]
        redress += ["--port", str(port), "--workers", str(args.workers)]
        decisions = measure(redress, env, port, args)

        Path(scratch, "bare_app.py").write_text(BARE_APP)
        port = free_port()
        bare = [str(bin_dir / "uvicorn"), "bare_app:app", "--port", str(port)]
        bare += ["--workers", str(args.workers), "--no-access-log", "--log-level", "warning"]
        bare_env = dict(env, BENCH_CWD=scratch)
        bare_rate = measure(bare, bare_env, port, args)

    print(f"requests={args.requests} concurrency={args.concurrency} workers={args.workers}")
    print(f"redress POST /v1/decisions: {decisions:8.1f} decisions/s (each durably in the ledger)")
    print(f"bare Litestar POST:         {bare_rate:8.1f} requests/s")
    print(f"ratio: {decisions / bare_rate:.3f} of bare Litestar")


if __name__ == "__main__":
    main()
