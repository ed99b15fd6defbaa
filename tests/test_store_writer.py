"""The group-committing writer: waiting jobs share one transaction, each under its own
savepoint, and each waiter gets its own answer only after the commit.

Issue 10: "a single writer drains what is waiting, appends it in order, commits once, then
answers each waiter with its own receipt".
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from ledger.canonical import canonical_bytes
from ledger.store import Ledger
from ledger.verify import verify
from store import open_store

BODY = canonical_bytes({"case_id": "c", "commitments": []})


def test_jobs_waiting_together_commit_together_and_one_failing_fails_alone(tmp_path):
    ledger = Ledger.open(tmp_path)
    store = ledger.store
    release, running = threading.Event(), threading.Event()

    def slow(tx):
        running.set()
        release.wait(10)  # holds the writer, so the next jobs queue up behind it
        return tx.append("erasure", BODY, "slow").index

    def good(tx):
        return tx.append("erasure", BODY, "good").index

    def bad(tx):
        tx.append("erasure", BODY, "bad")
        raise ValueError("this job fails after appending")

    first = store._submit(slow, False)
    assert running.wait(10)
    queued = [store._submit(job, False) for job in (good, bad, good, good)]
    release.set()
    assert first.result(10) == 1
    assert [f.result(10) for f in (queued[0], queued[2], queued[3])] == [2, 3, 4]
    with pytest.raises(ValueError, match="fails after appending"):
        queued[1].result(10)
    assert store.batch_sizes[-1] == 4  # the four queued jobs made one batch
    # The failed job's entry was rolled back with its savepoint: no gap, the chain verifies.
    assert ledger.tree_size() == 5
    assert ledger.checkpoint_view().tree_size == 5
    assert verify(tmp_path / "redress.db").ok
    # Its receipts name the tree the batch committed and signed.
    receipt = store.write(good)
    assert receipt == 5
    ledger.close()


def test_concurrent_writers_each_get_their_own_receipt(tmp_path):
    ledger = Ledger.open(tmp_path)

    def append(n: int):
        return ledger.append("erasure", {"case_id": f"c{n}", "commitments": []})

    with ThreadPoolExecutor(16) as pool:
        receipts = list(pool.map(append, range(200)))
    assert sorted(r.index for r in receipts) == list(range(1, 201))
    assert all(r.tree_size > r.index for r in receipts)
    for r in receipts[:20]:
        assert ledger.entry(r.index).entry_hash == r.entry_hash
    assert verify(tmp_path / "redress.db").ok
    ledger.close()


def test_the_writer_outlives_a_batch_that_breaks(tmp_path):
    store = open_store(tmp_path)

    def breaks_the_transaction(tx):
        tx.conn.execute("COMMIT")  # ends the writer's transaction under it

    with pytest.raises(Exception):  # noqa: B017 - whatever SQLite says, the writer goes on
        store.write(breaks_the_transaction)
    assert store.write(lambda tx: tx.add_api_key("h", "audit")) is True
    with store.read() as tx:
        assert tx.api_keys() == [("h", "audit")]
    store.close()
