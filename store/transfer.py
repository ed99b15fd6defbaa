"""`redress migrate`: copy a SQLite store into an empty PostgreSQL database, byte for byte.

Every table is copied in one PostgreSQL transaction, under the lock on the ledger's tail row,
so a node started on the target meanwhile waits and then sees the whole ledger or none of it.
Entry bytes, tree nodes and signed checkpoints are copied as stored (never re-encoded or
re-signed), so the root hash is the same and every checkpoint still verifies.

The decision index (`store.decision_index`) is copied too, from the same snapshot, rather than
rebuilt: it is derived from the ledger, but copied it is the very index the SQLite node's
reports, listing and console read (so PostgreSQL answers them alike from the first request),
it takes one `COPY` per table instead of decoding every entry again, and migrate needs no
policies' time zones. A source whose index is behind its ledger (a store upgraded to the index's
schema and never rebuilt) stays behind after the copy; `Copied.indexed` against
`Copied.decisions` says so, and `redress index rebuild --database URL` remakes it there.
Console sessions are copied as well, so every table is.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import psycopg

from store.postgres import PostgresStore, unavailable
from store.sqlite import DB_FILE, open_store

# Table: its columns, in SQLite's stored order (personal records by rowid, so that their
# sequence in PostgreSQL keeps which record is the latest).
TABLES: dict[str, tuple[str, str]] = {
    "entries": ("idx, kind, ref, entry_hash, entry", "idx"),
    "tree_nodes": ("level, position, hash", "level, position"),
    "checkpoints": ("tree_size, root_hash, note, signed_at", "tree_size"),
    "personal_keys": ("case_id, key", "case_id"),
    "personal_records": ("commitment, case_id, sealed, sealed_at", "rowid"),
    "api_keys": ("key_hash, role, created_at, key_id, name, revoked_at", "key_hash"),
    "cases": (
        "case_id, policy, state, facts, reference, complainant, opened_at, updated_at, stage, "
        "route, latest_decision_id, version, personal, personal_commitment, purpose",
        "case_id",
    ),
    "case_decisions": ("case_id, seq, decision_id", "case_id, seq"),
    "idempotency": ("owner, key, request_hash, status, response, created_at", "owner, key"),
    "case_obligations": (
        "case_id, seq, name, rule, due, done_at, status, first_decision_id, last_decision_id, "
        "passes_at, dropped_at, ends_at, gaps",
        "case_id, name",
    ),
    # The decision index and its companions (derived from the ledger, copied as they stand).
    "decision_index": (
        "idx, decision_id, policy, as_of, as_of_day, received_at, received_day, purpose, "
        "case_id, key_id, disposition, stage, route, kind, category, complainant_type, upheld, "
        "urgent, actions, latest",
        "idx",
    ),
    "decision_flags": ("idx, flag", "idx, flag"),
    "decision_counts": (
        "policy, as_of_day, purpose, route, stage, disposition, flag, count",
        "purpose, flag, as_of_day, policy, route, stage, disposition",
    ),
    "decision_obligations": (
        "idx, seq, name, rule, due, done_at, status, policy, purpose, received_day",
        "idx, seq",
    ),
    "console_sessions": ("id_hash, role, csrf, expires_at, key_id", "id_hash"),
}


class TargetNotEmpty(RuntimeError):
    """The target database already holds a ledger, keys or cases."""


@dataclass(frozen=True)
class Copied:
    rows: dict[str, int]
    tree_size: int
    tail_hash: str
    decisions: int  # `decision` entries in the ledger copied

    @property
    def indexed(self) -> int:
        """Decisions the copied index holds (fewer than `decisions`: the source's was behind)."""
        return self.rows["decision_index"]


def copy_to_postgres(data_dir: Path, url: str) -> Copied:
    """Copy the store in `data_dir` into the (empty) database at `url`."""
    open_store(data_dir).close()  # bring the SQLite store to the current schema first
    PostgresStore(url).close()  # create the target's tables (StoreUnavailable if unreachable)
    source = sqlite3.connect(f"file:{Path(data_dir) / DB_FILE}?mode=ro", uri=True)
    try:
        target = psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError as exc:
        source.close()
        raise unavailable(url, exc) from None
    try:
        source.execute("BEGIN")  # one snapshot of the source
        target.execute("BEGIN")
        size = target.execute("SELECT size FROM ledger_tail WHERE id = 1 FOR UPDATE").fetchone()
        holding = [t for t in TABLES if target.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()]
        if size[0] or holding:
            raise TargetNotEmpty(
                f"the database already holds {', '.join(holding) or 'a ledger'}: "
                "migrate copies into an empty database only"
            )
        rows = {table: _copy_table(source, target, table) for table in TABLES}
        tail = source.execute("SELECT idx, entry_hash FROM entries ORDER BY idx DESC LIMIT 1")
        last = tail.fetchone()
        tree_size, tail_hash = (0, "0" * 64) if last is None else (last[0] + 1, last[1])
        decisions = source.execute("SELECT COUNT(*) FROM entries WHERE kind = 'decision'")
        decision_count = decisions.fetchone()[0]
        target.execute(
            "UPDATE ledger_tail SET size = %s, tail_hash = %s WHERE id = 1", (tree_size, tail_hash)
        )
        target.execute("COMMIT")
    except BaseException:
        if not target.broken:
            target.execute("ROLLBACK")
        raise
    finally:
        target.close()
        source.close()
    return Copied(rows, tree_size, tail_hash, decision_count)


def _copy_table(source: sqlite3.Connection, target: psycopg.Connection, table: str) -> int:
    columns, order = TABLES[table]
    count = 0
    rows = source.execute(f"SELECT {columns} FROM {table} ORDER BY {order}")
    with target.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row))
            count += 1
    return count
