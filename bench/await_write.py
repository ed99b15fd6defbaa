"""CPU per awaited store write on the event loop: `concurrency` coroutines in one uvloop, each
awaiting `Store.write_async` of a job that writes nothing, so what is counted is the hand-off
(submitting, the writer's answer, waking the coroutine), not SQLite's work.

    PYTHONPATH=CHECKOUT .venv/bin/python bench/await_write.py [--shield] [--writes 300]

`--shield` awaits through `asyncio.shield`, as `service.workflows` did before write_async
returned a future of the loop (run it on a checkout of that time for the before).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import uvloop

from store.sqlite import open_store


async def client(store, writes: int, shield: bool) -> None:  # noqa: ANN001
    for _ in range(writes):
        if shield:
            await asyncio.shield(store.write_async(lambda tx: None))
        else:
            await store.write_async(lambda tx: None)


async def run(args: argparse.Namespace) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp))
        await asyncio.gather(*(client(store, args.writes, args.shield) for _ in range(4)))
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(
            *(client(store, args.writes, args.shield) for _ in range(args.concurrency))
        )
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        store.close()
    done = args.writes * args.concurrency
    return f"{cpu / done * 1e6:.1f} us CPU per awaited write, {done / wall:.0f} writes/s"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--shield", action="store_true")
    print(uvloop.run(run(parser.parse_args())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
