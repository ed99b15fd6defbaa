"""CPU per `POST /v1/decisions` of the Litestar app alone, driven in process through ASGI (no
HTTP server, no sockets): `concurrency` clients in one event loop, each posting in turn; the
process's CPU (event loop and the store's writer thread) over the run, per decision, and the
event loop's thread alone (`loop_us_per_decision`).

    PYTHONPATH=. .venv/bin/python bench/decision_asgi.py [--decisions 4000] [--concurrency 32]
        [--dates 1] [--path /v1/decisions] [--events-per-case 0]

`--dates N` posts N complaints in turn, received on N consecutive days (each decided the next
morning) instead of wrk's one body: what repeats cost against what differs (the rules engine's
answers are remembered by message, and deadlines are computed per date). `--path /v1/cases`
opens a case with each body instead (the same decision, with its case row and register);
`--path events` records events (`POST /v1/cases/{id}/events`), each client on a case of its own
(with `--events-per-case N`, on a case of its own for every N events: a case's life is short).

Less noisy than wrk on a shared machine: what it counts is CPU time, not wall-clock time.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(Path(__file__).resolve().parent))

from http_stack import ADMIN_KEY, DECISION  # noqa: E402

HEADERS = [
    (b"host", b"127.0.0.1"),
    (b"content-type", b"application/json"),
    (b"authorization", f"Bearer {ADMIN_KEY}".encode()),
]


def bodies(dates: int) -> Iterator[bytes]:
    """wrk's body, or with `dates` > 1 that complaint received on each of `dates` days."""
    if dates == 1:
        return itertools.repeat(json.dumps(DECISION).encode())
    first = date(2025, 1, 6)
    varied = []
    for offset in range(dates):
        received = first + timedelta(days=offset)
        body = {**DECISION, "as_of": f"{received + timedelta(days=1)}T09:00:00Z"}
        body["facts"] = {**DECISION["facts"], "received_at": str(received)}
        varied.append(json.dumps(body).encode())
    return itertools.cycle(varied)


def scope(method: str, path: str, body: bytes) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [*HEADERS, (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def call(app, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:  # noqa: ANN001
    """One request through `app`: its status and body."""
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope(method, path, body), receive, send)
    return status, b"".join(chunks)


async def client(app, count: int, posted: Iterator[bytes], paths: Iterator[str]) -> None:  # noqa: ANN001
    for _ in range(count):
        status, _ = await call(app, "POST", next(paths), next(posted))
        if status != 201:
            raise RuntimeError(f"status {status}")


# An event on a case opened with wrk's body: its stage 2 outcome issued on one of four days.
EVENTS = [
    json.dumps({"facts": {"stage_two_outcome_at": day}, "as_of": "2026-01-20T10:00:00Z"}).encode()
    for day in ("2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08")
]


async def case_events(app, count: int) -> list[str]:  # noqa: ANN001
    """`count` cases opened with wrk's body: the path of each one's events."""
    paths = []
    for _ in range(count):
        status, answer = await call(app, "POST", "/v1/cases", json.dumps(DECISION).encode())
        if status != 201:
            raise RuntimeError(f"status {status}: {answer[:200]!r}")
        paths.append(f"/v1/cases/{json.loads(answer)['case_id']}/events")
    return paths


async def run(args: argparse.Namespace, data: Path) -> dict:
    from api.app import create_app

    app = create_app(data)
    async with lifespan(app):
        each = args.decisions // args.concurrency
        if args.path == "events":  # each client records events on cases of its own
            per_case = args.events_per_case or each
            cases = -(-each // per_case)  # each client's
            opened = await case_events(app, args.concurrency * cases + 1)
            warm_up, opened = itertools.repeat(opened[0]), opened[1:]
            paths = [
                itertools.chain.from_iterable(
                    itertools.repeat(path, per_case) for path in opened[n :: args.concurrency]
                )
                for n in range(args.concurrency)
            ]
            posted = itertools.cycle(EVENTS)
        else:
            warm_up = itertools.repeat(args.path)
            paths = [itertools.repeat(args.path)] * args.concurrency
            posted = bodies(args.dates)
        await client(app, 6, posted, warm_up)
        cpu, loop, wall = time.process_time(), time.thread_time(), time.perf_counter()
        clients = [client(app, each, posted, path) for path in paths]
        await asyncio.gather(*clients)
        cpu, loop = time.process_time() - cpu, time.thread_time() - loop
        wall = time.perf_counter() - wall
    done = each * args.concurrency
    return {
        "decisions": done,
        "cpu_us_per_decision": round(cpu / done * 1e6, 1),
        "loop_us_per_decision": round(loop / done * 1e6, 1),
        "wall_per_s": round(done / wall, 1),
    }


class lifespan:  # noqa: N801
    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app

    async def __aenter__(self) -> None:
        for hook in self.app.on_startup:
            result = hook(self.app)
            if asyncio.iscoroutine(result):
                await result

    async def __aexit__(self, *_: object) -> None:
        for hook in self.app.on_shutdown:
            result = hook(self.app)
            if asyncio.iscoroutine(result):
                await result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--dates", type=int, default=1)
    paths = ["/v1/decisions", "/v1/cases", "events"]
    parser.add_argument("--path", default="/v1/decisions", choices=paths)
    parser.add_argument("--events-per-case", type=int, default=0)
    args = parser.parse_args()
    for _ in range(args.rounds):
        print(json.dumps(in_a_fresh_store(run, args)), flush=True)
    return 0


def in_a_fresh_store(
    run: Callable[[argparse.Namespace, Path], Awaitable[dict]], args: argparse.Namespace
) -> dict:
    """`run(args, data)` on uvloop, over a fresh data directory with the bench's admin key."""
    import os

    import uvloop

    from api.keys import bootstrap_admin

    os.environ["REDRESS_ADMIN_KEY"] = ADMIN_KEY
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        bootstrap_admin(data)
        return uvloop.run(run(args, data))


if __name__ == "__main__":
    sys.exit(main())
