"""A batch run again guarded re-reads the tail: another process may append between the rollback
of the optimistic run and the re-run's new transaction.

The writers of processes sharing a file queue on `redress.db.lock`, so only a writer outside
that queue can come in between: here a second Redress process started after the lock file was
deleted (documented in `store.sqlite`: the processes no longer queue together and rely on
SQLite's lock alone). The gap is made deterministic with SQLite's own statement trace on the
writer's connection: when the writer is about to begin the re-run's transaction, the other
process appends its entries and exits, and only then does the writer's `BEGIN` go on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ledger.canonical import canonical_bytes
from ledger.store import Ledger
from ledger.verify import verify
from store.sqlite import DB_FILE, LOCK_SUFFIX

ROOT = Path(__file__).resolve().parent.parent
OTHER_ENTRIES = 3

# The other process: appends through its own store (its own writer, signer and lock file).
APPEND_ELSEWHERE = """
import json, sys
from pathlib import Path
from ledger.store import Ledger
ledger = Ledger.open(Path(sys.argv[1]))
receipts = [
    ledger.append("erasure", {"case_id": f"other-{n}", "commitments": []}, f"other-{n}")
    for n in range(int(sys.argv[2]))
]
ledger.close()
print(json.dumps([[r.index, r.entry_hash] for r in receipts]))
"""


def append_in_another_process(data: Path) -> list[list]:
    env = {k: v for k, v in os.environ.items() if k != "REDRESS_DATABASE_URL"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", APPEND_ELSEWHERE, str(data), str(OTHER_ENTRIES)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def erasure(tx, case_id: str):
    """Append an erasure entry of `case_id` (found by it in the id index)."""
    return tx.append("erasure", canonical_bytes({"case_id": case_id, "commitments": []}), case_id)


def test_a_guarded_rerun_reads_the_tail_another_process_appended_after_the_rollback(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("REDRESS_DATABASE_URL", raising=False)
    ledger = Ledger.open(tmp_path)
    store = ledger.store
    store.write(lambda tx: erasure(tx, "before"))  # the writer opens the lock file
    (tmp_path / (DB_FILE + LOCK_SUFFIX)).unlink()  # so the other process queues apart from it

    elsewhere: list[list] = []
    statements: list[str] = []

    def on_statement(sql: str) -> None:
        """SQLite's trace of the writer's connection: before the transaction that follows a
        rollback of the whole batch (not a job's `ROLLBACK TO`), let the other process append."""
        if sql == "BEGIN IMMEDIATE" and statements[-1:] == ["ROLLBACK"] and not elsewhere:
            elsewhere.extend(append_in_another_process(tmp_path))
        statements.append(sql)

    release, running = threading.Event(), threading.Event()

    def hold(tx):
        tx.conn.conn.set_trace_callback(on_statement)  # the writer's sqlite3 connection
        running.set()
        release.wait(30)  # holds the writer, so that the next jobs join its batch
        return erasure(tx, "held")

    def good(n):
        return lambda tx: erasure(tx, f"good-{n}")

    def bad(tx):
        erasure(tx, "bad")
        raise ValueError("this job fails on purpose, after appending")

    try:
        held = store._submit(hold, False)
        assert running.wait(30)
        jobs = [good(0), bad, good(1), good(2)]
        futures = [store._submit(job, False) for job in jobs]
        release.set()
        receipts = [held.result(60)] + [f.result(60) for n, f in enumerate(futures) if n != 1]
        with pytest.raises(ValueError, match="fails on purpose"):
            futures[1].result(60)

        # The gap was exercised: the optimistic run was rolled back, the other process
        # appended, and the re-run's transaction began after it.
        assert statements.count("ROLLBACK") == 1
        assert [index for index, _ in elsewhere] == [2, 3, 4]
        # The batch's entries follow the other process's, in order, none lost or forked.
        assert [r.index for r in receipts] == [5, 6, 7, 8]
        assert {r.tree_size for r in receipts} == {9}
        assert ledger.tree_size() == 9
        with store.read() as tx:
            for ref, receipt in zip(["held", "good-0", "good-1", "good-2"], receipts, strict=True):
                assert tx.find_entry("erasure", ref) == receipt.index
                assert tx.entry(receipt.index)[1] == receipt.entry_hash
            for n, (index, entry_hash) in enumerate(elsewhere):
                assert tx.find_entry("erasure", f"other-{n}") == index
                assert tx.entry(index)[1] == entry_hash
            assert tx.find_entry("erasure", "bad") is None
        assert ledger.checkpoint_view().tree_size == 9
    finally:
        release.set()
        ledger.close()
    report = verify(tmp_path / DB_FILE)
    assert report.ok, report
    checked = subprocess.run(
        [str(Path(sys.executable).parent / "redress"), "verify", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
