"""The group-committing writer: waiting jobs share one transaction, each under its own
savepoint, and each waiter gets its own answer only after the commit.

Issue 10: "a single writer drains what is waiting, appends it in order, commits once, then
answers each waiter with its own receipt".
"""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from ledger.canonical import canonical_bytes, parse_entry
from ledger.store import Ledger
from ledger.verify import verify
from store import open_store
from store.sqlite import ROWS_PER_INSERT

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
    # The four queued jobs, submitted while it ran, joined the slow job's batch.
    assert store.batch_sizes[-1] == 5
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


def _queued_behind_a_held_writer(store, jobs):
    """Submit `jobs` from threads while the writer is held by another job, so that they are
    all waiting when it is free and join its batch; their futures, in submission order."""
    release, running = threading.Event(), threading.Event()

    def hold(tx):
        running.set()
        release.wait(10)

    held = store._submit(hold, False)
    assert running.wait(10)
    futures = [None] * len(jobs)

    def submit(n):
        futures[n] = store._submit(jobs[n], False)

    for n in range(len(jobs)):  # one thread each, in order, so the queue keeps their order
        t = threading.Thread(target=submit, args=(n,))
        t.start()
        t.join()
    release.set()
    held.result(10)
    return futures


def test_a_failing_job_in_the_middle_of_a_batch_fails_alone_with_its_own_error(tmp_path):
    ledger = Ledger.open(tmp_path)
    store = ledger.store
    hooks_run: list[str] = []

    def good(n):
        def job(tx):
            receipt = tx.append("erasure", BODY, f"good-{n}")
            tx.before_commit(lambda t: hooks_run.append(f"good-{n}"))
            return receipt

        return job

    def bad(tx):
        tx.append("erasure", BODY, "bad")
        tx.add_api_key("bad-key", "audit")
        tx.before_commit(lambda t: hooks_run.append("bad"))
        raise ValueError("the middle job fails after writing")

    jobs = [good(0), good(1), good(2), bad, good(3), good(4), good(5)]
    futures = _queued_behind_a_held_writer(store, jobs)
    with pytest.raises(ValueError, match="the middle job fails"):
        futures[3].result(10)
    receipts = [f.result(10) for n, f in enumerate(futures) if n != 3]
    assert store.batch_sizes[-1] == 8  # they joined the held job's batch
    assert [r.index for r in receipts] == [1, 2, 3, 4, 5, 6]  # consecutive, in order
    assert {r.tree_size for r in receipts} == {7}
    # Each good job's hook ran exactly once (not again for the run that found the failure),
    # the failed job's never.
    assert sorted(hooks_run) == [f"good-{n}" for n in range(6)]
    with store.read() as tx:
        assert tx.find_entry("erasure", "bad") is None
        assert tx.api_keys() == []
        for n, r in enumerate(receipts):
            assert tx.find_entry("erasure", f"good-{n}") == r.index
            assert tx.entry(r.index)[1] == r.entry_hash
    assert ledger.tree_size() == 7
    assert ledger.checkpoint_view().tree_size == 7
    assert verify(tmp_path / "redress.db").ok
    ledger.close()


def test_a_job_sees_the_entries_and_claims_of_earlier_jobs_in_its_batch(tmp_path):
    """Entries wait to be inserted until the next statement: a later job's lookup must still
    find an earlier one's entry (the policy entry a decision appends on first use), and an
    earlier job's claim on an idempotency key, also when the batch is run again guarded."""
    ledger = Ledger.open(tmp_path)
    store = ledger.store

    def decision(n):
        def job(tx):
            if tx.find_entry("policy", "v1") is None:
                tx.append("policy", BODY, "v1")
            return tx.append("decision", BODY, f"d{n}").index

        return job

    def claiming(tx):
        if tx.claim_response("key", "once", "hash", "2000-01-01T00:00:00Z") is not None:
            raise LookupError("already claimed")
        return tx.append("decision", BODY, "claimed").index

    # A batch that runs through (optimistically): one policy entry, before the first decision.
    futures = _queued_behind_a_held_writer(store, [decision(0), decision(1), decision(2)])
    assert [f.result(10) for f in futures] == [2, 3, 4]
    # A batch run again guarded, after its second claim of the same key failed.
    jobs = [decision(3), claiming, decision(4), claiming, decision(5)]
    futures = _queued_behind_a_held_writer(store, jobs)
    assert futures[0].result(10) == 5
    assert futures[1].result(10) == 6
    assert futures[2].result(10) == 7
    with pytest.raises(LookupError, match="already claimed"):
        futures[3].result(10)
    assert futures[4].result(10) == 8
    with store.read() as tx:
        assert [i for i, _, _ in tx.entries(0, 20)] == list(range(9))
        assert [kind for (kind,) in tx.conn.execute("SELECT kind FROM entries")].count(
            "policy"
        ) == 1
        assert tx.find_entry("policy", "v1") == 1
        assert tx.stored_response("key", "once") is not None
    assert verify(tmp_path / "redress.db").ok
    ledger.close()


def test_the_entries_of_one_batch_share_its_time(tmp_path):
    ledger = Ledger.open(tmp_path)
    store = ledger.store
    jobs = [lambda tx, n=n: tx.append("erasure", BODY, f"e{n}") for n in range(4)]
    futures = _queued_behind_a_held_writer(store, jobs)
    indices = [f.result(10).index for f in futures]
    with store.read() as tx:
        times = {parse_entry(tx.entry(i)[0])["recorded_at"] for i in indices}
        genesis = parse_entry(tx.entry(0)[0])["recorded_at"]
    assert len(times) == 1
    assert genesis <= times.pop()
    ledger.close()


def _indexed(n: int, fails: bool = False, reads: bool = False):
    """A job that appends a decision entry and indexes it (one flag, one register row), like
    `service.workflows`' jobs; `fails` raises afterwards, `reads` first searches the index for
    the decisions indexed before it."""

    def job(tx):
        seen = [d["idx"] for d in tx.search_decisions({}, 0, 50)] if reads else None
        receipt = tx.append("decision", BODY, f"d{n}")
        row = {
            "idx": receipt.index, "decision_id": f"d{n}", "policy": "wme",
            "as_of": "2026-02-01T09:00:00Z", "as_of_day": "2026-02-01",
            "received_at": "2026-02-01", "received_day": "2026-02-01", "purpose": "live",
            "disposition": "investigate", "stage": "stage_1", "route": "investigator",
            "urgent": 0, "actions": "acknowledge",
        }  # fmt: skip
        owed = [{"name": "acknowledge", "rule": "r", "due": "2026-02-05", "status": "open"}]
        tx.index_decision(row, ["late"], owed)
        if fails:
            raise ValueError(f"job {n} fails after indexing")
        return receipt.index, seen

    return job


@pytest.mark.parametrize("failing", [False, True])
def test_a_batch_indexes_each_decision_once_and_a_failed_jobs_rows_go_with_it(tmp_path, failing):
    """The writer keeps a batch's index rows and inserts them together, adding up the day's
    counts over the batch: every decision of the batch is counted once, a later job sees the
    rows of earlier ones, and a job that fails leaves none (also when the batch is run again
    guarded)."""
    ledger = Ledger.open(tmp_path)
    store = ledger.store
    jobs = [_indexed(0), _indexed(1), _indexed(2, fails=failing), _indexed(3, reads=True)]
    futures = _queued_behind_a_held_writer(store, jobs)
    good = [0, 1, 3] if failing else [0, 1, 2, 3]
    assert store.batch_sizes[-1] == 5  # they joined the held job's batch
    if failing:
        with pytest.raises(ValueError, match="job 2 fails"):
            futures[2].result(10)
    results = {n: futures[n].result(10) for n in good}
    indices = sorted(index for index, _ in results.values())
    assert sorted(results[3][1]) == indices[:-1]  # the earlier jobs' rows, not its own
    with store.read() as tx:
        assert tx.indexed_decisions() == len(good)
        combos, flags = tx.routing_counts(None, None, None)
        assert combos == [("wme", "investigator", "stage_1", "investigate", len(good))]
        assert flags == [("wme", "late", len(good))]
        counted = tx.conn.execute("SELECT SUM(count) FROM decision_counts").fetchone()[0]
        assert counted == 2 * len(good)  # each decision's combination and its flag, once
        found = tx.search_decisions({"flag": "late"}, 0, 50)
        assert sorted(d["idx"] for d in found) == indices
        assert tx.obligation_groups(None, None, None) == [
            ("wme", "acknowledge", "open", "2026-02-05", None, None, len(good))
        ]
    ledger.close()


def test_a_row_the_database_refuses_fails_its_own_job_and_leaves_none_of_its_rows(tmp_path):
    """A batch's rows of a table go in as one multi-row statement (`insert_rows`, `OR FAIL`):
    when one of them breaks a constraint (a decision id indexed twice), the batch is run again
    guarded and only the job that wrote it fails, with no row of it left behind."""
    ledger = Ledger.open(tmp_path)
    store = ledger.store
    jobs = [_indexed(0), _indexed(1), _indexed(1), _indexed(3)]
    futures = _queued_behind_a_held_writer(store, jobs)
    with pytest.raises(sqlite3.IntegrityError):
        futures[2].result(10)
    indices = sorted(futures[n].result(10)[0] for n in (0, 1, 3))
    assert indices == [1, 2, 3]
    with store.read() as tx:
        assert tx.tree_size() == 4
        assert tx.indexed_decisions() == 3
        assert [d["idx"] for d in tx.search_decisions({"flag": "late"}, 0, 50)] == [3, 2, 1]
        rows = tx.conn.execute("SELECT COUNT(*) FROM decision_obligations").fetchone()[0]
        assert rows == 3
    assert verify(tmp_path / "redress.db").ok
    ledger.close()


def test_a_job_with_more_rows_than_one_insert_takes_writes_them_all_in_order(tmp_path):
    ledger = Ledger.open(tmp_path)
    count = 2 * ROWS_PER_INSERT + 3
    items = [("erasure", {"case_id": f"c{n}", "commitments": []}) for n in range(count)]
    receipts = ledger.append_many(items)
    assert [r.index for r in receipts] == list(range(1, count + 1))
    assert {r.tree_size for r in receipts} == {count + 1}
    for n in (0, ROWS_PER_INSERT, count - 1):
        assert ledger.entry(n + 1).body["case_id"] == f"c{n}"
    assert verify(tmp_path / "redress.db").ok
    ledger.close()


def _opened(n: int, fails: bool = False):
    """A job that opens case `c{n}` as `service.workflows` does (the case row, its first
    decision, its register, sealed personal data): inserts only, which the writer keeps for
    the batch's other rows; `fails` raises afterwards."""

    def job(tx):
        row = {
            "case_id": f"c{n}", "policy": "wme", "purpose": "live", "state": "open",
            "facts": "{}", "reference": f"REF-{n}", "complainant": None,
            "opened_at": "2026-02-01T09:00:00Z", "updated_at": "2026-02-01T09:00:00Z",
            "stage": "stage_1", "route": None, "latest_decision_id": f"d{n}",
            "personal": "sealed", "personal_commitment": f"commit-{n}",
        }  # fmt: skip
        owed = [{"name": "acknowledge", "rule": "r", "due": "2026-02-05", "status": "open"}]
        tx.add_case(row, f"d{n}", owed)
        tx.put_personal(f"c{n}", b"k" * 32, f"commit-{n}", b"sealed")
        receipt = tx.append("decision", BODY, f"d{n}")
        if fails:
            raise ValueError(f"job {n} fails after opening its case")
        return receipt.index

    return job


def test_cases_opened_in_one_batch_commit_with_it_and_a_failed_one_leaves_nothing(tmp_path):
    """A new case's rows wait for the batch's other rows, like the decision index's: every
    case opened in a batch is stored whole, and one whose job fails leaves no row behind
    (its batch run again, each job under its own savepoint)."""
    ledger = Ledger.open(tmp_path)
    store = ledger.store
    futures = _queued_behind_a_held_writer(store, [_opened(0), _opened(1, fails=True), _opened(2)])
    with pytest.raises(ValueError, match="job 1 fails"):
        futures[1].result(10)
    assert sorted(futures[n].result(10) for n in (0, 2)) == [1, 2]
    with store.read() as tx:
        assert tx.case_ids() == ["c0", "c2"]
        for n in (0, 2):
            assert tx.case(f"c{n}")["reference"] == f"REF-{n}"
            assert tx.case_decision_ids(f"c{n}") == [f"d{n}"]
            assert [o["name"] for o in tx.case_obligations(f"c{n}")] == ["acknowledge"]
            assert tx.personal_key(f"c{n}") == b"k" * 32
        assert tx.case("c1") is None and tx.personal_key("c1") is None
        assert tx.latest_sealed("c1") is None and tx.case_obligations("c1") == []
    ledger.close()
