"""Versioned migrations: a store written by the pre-versioning code opens, and keeps its data;
a store newer than the code is refused.

Issue 10: "one storage layer that every package uses: … versioned schema migrations".
"""

from __future__ import annotations

import sqlite3

import pytest

from cases import CaseStore
from ledger.store import Ledger
from store import SchemaTooNew, open_store
from store.migrations import SCHEMA_VERSION

# The tables exactly as the code before `store/` created them (sqlite-utils' DDL).
OLD_SCHEMA = """
CREATE TABLE [entries] ([idx] INTEGER PRIMARY KEY, [kind] TEXT NOT NULL, [ref] TEXT,
  [entry_hash] TEXT NOT NULL, [entry] BLOB NOT NULL);
CREATE INDEX [idx_entries_kind_ref] ON [entries] ([kind], [ref]);
CREATE TABLE [tree_nodes] ([level] INTEGER, [position] INTEGER, [hash] BLOB NOT NULL,
  PRIMARY KEY ([level], [position]));
CREATE TABLE [checkpoints] ([tree_size] INTEGER PRIMARY KEY, [root_hash] TEXT NOT NULL,
  [note] TEXT NOT NULL, [signed_at] TEXT NOT NULL);
CREATE TABLE [personal_keys] ([case_id] TEXT PRIMARY KEY, [key] BLOB);
CREATE TABLE [personal_records] ([commitment] TEXT PRIMARY KEY, [case_id] TEXT NOT NULL,
  [sealed] BLOB NOT NULL, [sealed_at] TEXT NOT NULL);
CREATE INDEX [idx_personal_records_case_id] ON [personal_records] ([case_id]);
CREATE TABLE api_keys ( key_hash TEXT PRIMARY KEY, role TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE [case_cases] ([case_id] TEXT PRIMARY KEY, [policy] TEXT, [facts] TEXT,
  [personal] TEXT, [personal_commitment] TEXT, [created_at] TEXT, [updated_at] TEXT);
CREATE TABLE [case_decisions] ([case_id] TEXT, [seq] INTEGER, [decision_id] TEXT,
  PRIMARY KEY ([case_id], [seq]));
CREATE TABLE [case_deadlines] ([case_id] TEXT, [name] TEXT, [due] TEXT, [rule] TEXT,
  [passes_at] TEXT);
CREATE INDEX [idx_case_deadlines_passes_at] ON [case_deadlines] ([passes_at]);
CREATE INDEX [idx_case_deadlines_case_id] ON [case_deadlines] ([case_id]);
"""


def old_store(tmp_path) -> None:
    """An old store with a ledger of one genesis entry and one case with two decisions."""
    Ledger.open(tmp_path).close()  # the signing key and a real genesis entry
    with sqlite3.connect(tmp_path / "redress.db") as fresh:
        genesis = fresh.execute("SELECT * FROM entries").fetchall()
        nodes = fresh.execute("SELECT * FROM tree_nodes").fetchall()
    (tmp_path / "redress.db").unlink()
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"redress.db{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(tmp_path / "redress.db", isolation_level=None)
    conn.executescript(OLD_SCHEMA)
    conn.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?)", genesis)
    conn.executemany("INSERT INTO tree_nodes VALUES (?, ?, ?)", nodes)
    conn.execute("INSERT INTO api_keys VALUES ('ab', 'admin', '2026-12-01T00:00:00+00:00')")
    conn.execute(
        "INSERT INTO case_cases VALUES ('c1', 'wme', '{\"kind\": \"complaint\"}', 'sealed', "
        "'cd', '2026-12-01T10:00:00.000000Z', '2026-12-02T10:00:00.000000Z')"
    )
    conn.execute("INSERT INTO case_decisions VALUES ('c1', 0, 'd1'), ('c1', 1, 'd2')")
    conn.execute(
        "INSERT INTO case_deadlines VALUES ('c1', 'outcome', '2027-01-18', 'complaint', "
        "'2027-01-19T00:00:00.000000Z')"
    )
    conn.close()


@pytest.mark.sqlite_only
def test_a_store_written_before_versioning_is_migrated_and_keeps_its_data(tmp_path):
    old_store(tmp_path)
    store = open_store(tmp_path)
    ledger = Ledger.open(tmp_path, store)
    case = CaseStore(store, {"wme": "Europe/London"}).get("c1")
    assert case is not None
    assert case.facts == {"kind": "complaint"} and case.decision_ids == ["d1", "d2"]
    assert case.created_at == "2026-12-01T10:00:00.000000Z" and case.state == "open"
    assert case.personal == "sealed" and case.version == 1
    assert [(d.name, d.due) for d in case.open_deadlines] == [("outcome", "2027-01-18")]
    assert case.obligations[0]["last_decision_id"] == "d2"
    assert ledger.tree_size() == 1 and ledger.checkpoint_view().tree_size == 1
    with store.read() as tx:
        assert tx.api_keys() == [("ab", "admin")]
    store.close()
    with sqlite3.connect(tmp_path / "redress.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"cases", "case_obligations"} <= tables and "case_cases" not in tables


@pytest.mark.sqlite_only
def test_a_store_with_a_newer_schema_is_refused(tmp_path):
    open_store(tmp_path).close()
    with sqlite3.connect(tmp_path / "redress.db") as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaTooNew):
        open_store(tmp_path)
