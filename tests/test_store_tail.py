"""The writer's tail when another process appends between its batches (`redress serve --workers
N`): each batch reads the true tail and, when it moved, the frontier of the larger tree, and its
receipt's tree is the whole ledger's.

Two stores on one data directory in this process stand for two processes: each has its own
writer thread, connection and turn on the lock file, so each sees the other's entries only
through the database, as a second process would."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ledger import merkle
from ledger.canonical import canonical_bytes
from ledger.store import Ledger
from ledger.verify import verify
from store.sqlite import DB_FILE


def leaves(data: Path) -> list[bytes]:
    with sqlite3.connect(data / DB_FILE) as conn:
        rows = conn.execute("SELECT entry FROM entries ORDER BY idx").fetchall()
    return [merkle.leaf_hash(bytes(row[0])) for row in rows]


def append_some(ledger: Ledger, first: int, count: int) -> list:
    """`count` erasure entries in one batch (one job), their receipts."""
    cases = [f"c-{first + n}" for n in range(count)]
    bodies = [canonical_bytes({"case_id": case, "commitments": []}) for case in cases]

    def job(tx):
        return [tx.append("erasure", body, None) for body in bodies]

    return ledger.store.write(job)


def test_each_writer_signs_the_whole_tree_after_the_other_appended(tmp_path: Path) -> None:
    one, other = Ledger.open(tmp_path), Ledger.open(tmp_path)
    try:
        written = 0
        # Batches of 1 to 9 entries, alternating between the writers, take the tree through
        # every frontier shape up to 100 leaves and past several powers of two.
        for turn in range(20):
            ledger = (one, other)[turn % 2]
            receipts = append_some(ledger, written, turn % 9 + 1)
            written += len(receipts)
            tree = leaves(tmp_path)
            last = receipts[-1]
            assert last.index == len(tree) - 1
            assert last.tree_size == len(tree)
            assert last.root_hash == merkle.root_of(tree).hex()
        # the writer that appended last goes on from its own tail
        receipts = append_some(ledger, written, 3)
        tree = leaves(tmp_path)
        assert receipts[-1].root_hash == merkle.root_of(tree).hex()
        assert len(tree) > 64
    finally:
        one.close()
        other.close()
    report = verify(tmp_path / DB_FILE)
    assert report.ok, report.summary
