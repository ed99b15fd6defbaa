"""CPU per GET of one recorded thing (`GET /v1/decisions/{id}`, its `/receipt`, or
`GET /v1/cases/{id}`), driven in process through ASGI as `decision_asgi.py` drives the POST:
`concurrency` clients in one event loop, each reading in turn; the process's CPU per read, and
the event loop's thread alone (`loop_us_per_read`).

    PYTHONPATH=. .venv/bin/python bench/read_asgi.py [--read decision|receipt|case]
        [--reads 4000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(Path(__file__).resolve().parent))

from decision_asgi import DECISION, call, in_a_fresh_store, lifespan  # noqa: E402


async def recorded_path(app, read: str) -> str:  # noqa: ANN001
    """Record the thing to read (a decision, or a case), and the path that reads it."""
    body = json.dumps(DECISION).encode()
    recording = "/v1/cases" if read == "case" else "/v1/decisions"
    status, answer = await call(app, "POST", recording, body)
    if status != 201:
        raise RuntimeError(f"status {status}: {answer[:200]!r}")
    found = json.loads(answer)
    if read == "case":
        return f"/v1/cases/{found['case_id']}"
    suffix = "/receipt" if read == "receipt" else ""
    return f"/v1/decisions/{found['decision_id']}{suffix}"


async def reader(app, path: str, count: int) -> None:  # noqa: ANN001
    for _ in range(count):
        status, _ = await call(app, "GET", path)
        if status != 200:
            raise RuntimeError(f"status {status}")


async def run(args: argparse.Namespace, data: Path) -> dict:
    from api.app import create_app

    app = create_app(data)
    async with lifespan(app):
        path = await recorded_path(app, args.read)
        await reader(app, path, 200)  # warm up
        each = args.reads // args.concurrency
        cpu, loop, wall = time.process_time(), time.thread_time(), time.perf_counter()
        await asyncio.gather(*[reader(app, path, each) for _ in range(args.concurrency)])
        cpu, loop = time.process_time() - cpu, time.thread_time() - loop
        wall = time.perf_counter() - wall
    done = each * args.concurrency
    return {
        "read": args.read,
        "reads": done,
        "cpu_us_per_read": round(cpu / done * 1e6, 1),
        "loop_us_per_read": round(loop / done * 1e6, 1),
        "wall_per_s": round(done / wall, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--read", default="decision", choices=["decision", "receipt", "case"])
    parser.add_argument("--reads", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    print(json.dumps(in_a_fresh_store(run, args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
