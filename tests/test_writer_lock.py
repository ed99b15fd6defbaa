"""The writers of processes sharing one SQLite file queue on `redress.db.lock` (a `flock`) in
front of SQLite's write lock, which stays the truth.

Issue 10: "`redress serve --workers 2` … scales instead of stalling"; issue 9: "a busy store
answers 503 with `Retry-After` after at most 5 s of waiting".
"""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import store.sqlite
from ledger.store import Ledger
from ledger.verify import verify
from store import StoreBusy, open_store

pytestmark = pytest.mark.sqlite_only

HOLD_FLOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.readline()
"""

TRY_FLOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
"""


def _append_from_threads(data_dir: str, worker: int, out: str) -> None:
    """Eight threads appending at once; every receipt this process was given, to a file."""
    ledger = Ledger.open(Path(data_dir))
    acked: list[list] = []

    def client(thread: int) -> None:
        for n in range(40):
            ref = f"p{worker}-t{thread}-{n}"
            receipt = ledger.append("erasure", {"case_id": ref, "commitments": []})
            acked.append([receipt.index, receipt.entry_hash, ref])

    threads = [threading.Thread(target=client, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ledger.close()
    Path(out).write_text(json.dumps(acked))


def test_two_processes_appending_at_once_keep_every_acknowledged_entry(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Ledger.open(data).close()
    context = multiprocessing.get_context("spawn")
    outs = [tmp_path / f"acked{w}.json" for w in range(2)]
    workers = [
        context.Process(target=_append_from_threads, args=(str(data), w, str(outs[w])))
        for w in range(2)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert [w.exitcode for w in workers] == [0, 0]
    acked = [tuple(a) for out in outs for a in json.loads(out.read_text())]
    assert len(acked) == 2 * 8 * 40
    with sqlite3.connect(data / "redress.db") as conn:
        rows = conn.execute(
            "SELECT idx, entry_hash, json_extract(CAST(entry AS TEXT), '$.body.case_id') "
            "FROM entries"
        )
        stored = {i: (digest, ref) for i, digest, ref in rows}
    # Every acknowledged append is there, where and as its receipt said; no index given twice.
    assert len({index for index, _, _ in acked}) == len(acked)
    assert all(stored.get(index) == (digest, ref) for index, digest, ref in acked)
    assert len(stored) == 1 + len(acked)  # and nothing else but the genesis entry
    report = verify(data / "redress.db")
    assert report.ok, report.summary
    assert (data / "redress.db.lock").is_file()


def test_a_held_sqlite_lock_is_still_store_busy_and_the_queue_is_let_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file lock only orders Redress writers: a process outside the queue holding SQLite's
    write lock (a `sqlite3` shell in `BEGIN IMMEDIATE`) still makes a write `StoreBusy`."""
    monkeypatch.setattr(store.sqlite, "BUSY_WAIT_S", 1.0)
    data = tmp_path / "data"
    writer = open_store(data)
    writer.write(lambda tx: tx.add_api_key("before", "audit"))
    blocker = sqlite3.connect(data / "redress.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        began = time.monotonic()
        with pytest.raises(StoreBusy):
            writer.write(lambda tx: tx.add_api_key("blocked", "audit"))
        assert time.monotonic() - began < 3
        # The writer is not left holding the queue: another process gets its turn at once.
        tried = subprocess.run([sys.executable, "-c", TRY_FLOCK, str(data / "redress.db.lock")])
        assert tried.returncode == 0
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert writer.write(lambda tx: tx.add_api_key("after", "audit")) is True
    with writer.read() as tx:
        assert sorted(h for h, _ in tx.api_keys()) == ["after", "before"]
    writer.close()


def test_a_process_keeping_its_turn_is_store_busy_and_a_late_turn_is_given_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holding the queue's lock (stuck, say) makes a write `StoreBusy` within
    `BUSY_WAIT_S`; once it lets go, writes go on, and the turn granted to the write that gave
    up is not kept from the other processes."""
    monkeypatch.setattr(store.sqlite, "BUSY_WAIT_S", 1.0)
    data = tmp_path / "data"
    writer = open_store(data)
    writer.write(lambda tx: tx.add_api_key("before", "audit"))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_FLOCK, str(data / "redress.db.lock")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        began = time.monotonic()
        with pytest.raises(StoreBusy):
            writer.write(lambda tx: tx.add_api_key("blocked", "audit"))
        assert time.monotonic() - began < 3
        # Reads are not in the queue.
        with writer.read() as tx:
            assert [h for h, _ in tx.api_keys()] == ["before"]
    finally:
        holder.communicate("\n", timeout=10)
    assert writer.write(lambda tx: tx.add_api_key("after", "audit")) is True
    deadline = time.monotonic() + 5
    while True:  # the abandoned turn is released as soon as it is granted
        lock = str(data / "redress.db.lock")
        if subprocess.run([sys.executable, "-c", TRY_FLOCK, lock]).returncode == 0:
            break
        assert time.monotonic() < deadline, "the writer kept a turn nobody waits for"
        time.sleep(0.1)
    with writer.read() as tx:
        assert sorted(h for h, _ in tx.api_keys()) == ["after", "before"]
    writer.close()


def test_without_a_usable_lock_file_the_writer_relies_on_sqlite_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "redress.db.lock").mkdir()  # cannot be opened as a file
    writer = open_store(data)
    assert writer.write(lambda tx: tx.add_api_key("h", "audit")) is True
    writer.close()
