"""Schema 3: keys get a public id, a name and a revocation time; a store that reached version 2
before the `idempotency` table existed gets it. Keys made before version 3 keep working, with an
id derived from their stored hash (never from the secret)."""

from __future__ import annotations

import sqlite3

import pytest

from keys import KeyRing, key_hash
from store import open_store
from store.migrations import MIGRATIONS, SCHEMA_VERSION, _run


def test_a_version_2_store_without_the_idempotency_table_migrates_to_3(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    conn = sqlite3.connect(data / "redress.db", isolation_level=None)
    conn.execute("BEGIN")
    MIGRATIONS[0](conn)
    MIGRATIONS[1](conn)
    _run(conn, "DROP TABLE IF EXISTS idempotency")  # as schema 2 was first written
    conn.execute(
        "INSERT INTO api_keys (key_hash, role, created_at) VALUES (?, 'decide', '2026-01-01')",
        (key_hash("an old key"),),
    )
    conn.execute("PRAGMA user_version = 2")
    conn.execute("COMMIT")
    conn.close()

    store = open_store(data)
    try:
        with store.read() as tx:
            (row,) = tx.key_records()
            assert tx.stored_response("key_x", "k") is None  # the table is there
        assert row["key_id"] == "key_" + key_hash("an old key")[:16]
        assert row["name"] is None and row["revoked_at"] is None
        caller = KeyRing(store).caller("an old key")
        assert caller is not None and caller.role == "decide"
    finally:
        store.close()
    assert SCHEMA_VERSION >= 3  # 4: the cases migration (purpose, register order) follows


def test_a_claimed_key_is_answered_in_the_same_transaction_and_a_failed_write_keeps_nothing(
    tmp_path,
):
    """The claim and the response are written by the job's own transaction: a job that fails
    after claiming leaves no claim behind."""
    store = open_store(tmp_path / "data")
    try:

        def failing(tx):
            assert tx.claim_response("key_a", "k-1", "hash-1", "2000-01-01") is None
            raise RuntimeError("the write failed")

        with pytest.raises(RuntimeError):
            store.write(failing)
        with store.read() as tx:
            assert tx.stored_response("key_a", "k-1") is None

        def answered(tx):
            assert tx.claim_response("key_a", "k-1", "hash-1", "2000-01-01") is None
            tx.before_commit(lambda t: t.put_response("key_a", "k-1", 201, b'{"ok":true}'))

        store.write(answered)
        with store.read() as tx:
            kept = tx.stored_response("key_a", "k-1")
        assert (kept.request_hash, kept.status, kept.body) == ("hash-1", 201, b'{"ok":true}')

        def again(tx):
            return tx.claim_response("key_a", "k-1", "hash-2", "2000-01-01")

        assert store.write(again).request_hash == "hash-1"  # claimed already: nothing new
    finally:
        store.close()
