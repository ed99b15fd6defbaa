"""`Store.write_async`: the awaited write's answer reaches its event loop only after the commit,
and a request cancelled while it awaits cancels neither its job nor the answers of the others
in its batch (the store settles each future on the loop, only if it is still pending).

Run on SQLite here and on PostgreSQL by `test_postgres_async`."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from store import open_store

JOBS = 8


def cancelled_waiter_leaves_its_batch_answered(data: Path) -> None:
    store = open_store(data)
    release, running = threading.Event(), threading.Event()

    def hold(tx):
        running.set()
        release.wait(30)  # holds the writer, so the awaited jobs queue up and share one batch
        return tx.add_api_key("held", "audit")

    def key(n: int):
        return lambda tx: tx.add_api_key(f"key-{n}", "audit")

    async def cancel_one_of_many() -> tuple[list[bool], bool]:
        holder = asyncio.get_running_loop().run_in_executor(None, store.write, hold)
        assert await asyncio.to_thread(running.wait, 30)
        futures = [store.write_async(key(n)) for n in range(JOBS)]

        async def awaiting(future):
            return await future

        requests = [asyncio.ensure_future(awaiting(f)) for f in futures]
        await asyncio.sleep(0)  # every request awaits its future
        requests[0].cancel()
        release.set()
        answered = await asyncio.wait_for(asyncio.gather(*requests[1:]), 30)
        return answered, await holder

    try:
        answered, held = asyncio.run(cancel_one_of_many())
        with store.read() as tx:
            stored = {key_hash for key_hash, _ in tx.api_keys()}
        assert store.write(key(0)) is False  # the cancelled request's key is taken already
    finally:
        store.close()
    assert held is True
    assert answered == [True] * (JOBS - 1)
    assert {f"key-{n}" for n in range(JOBS)} <= stored  # the cancelled request's job committed
    assert (
        store.batch_sizes[-2] >= JOBS
    )  # the awaited jobs shared one batch (SQLite: the held one too)


def test_a_cancelled_waiter_leaves_its_job_and_its_batch_answered(tmp_path, monkeypatch):
    monkeypatch.delenv("REDRESS_DATABASE_URL", raising=False)
    cancelled_waiter_leaves_its_batch_answered(tmp_path)


def reading_thread(data: Path) -> bool:
    """`Store.call_reading` answers what its function read; True when the function ran on the
    event loop's own thread."""
    store = open_store(data)
    store.write(lambda tx: tx.add_api_key("read-back", "audit"))

    def read_keys() -> tuple[set[str], int]:
        with store.read() as tx:
            return {key_hash for key_hash, _ in tx.api_keys()}, threading.get_ident()

    async def read_from_a_coroutine() -> bool:
        found, thread = await store.call_reading(read_keys)
        assert "read-back" in found
        return thread == threading.get_ident()

    try:
        return asyncio.run(read_from_a_coroutine())
    finally:
        store.close()


def test_a_sqlite_point_read_runs_on_the_event_loop(tmp_path):
    # Handing it to a worker thread and back cost more CPU than the read (store/sqlite.py).
    assert reading_thread(tmp_path) is True
