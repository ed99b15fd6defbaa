"""What both stores' schemas share: the double-checked, locked walk to a version, and the
unique keys the service relies on.

Each store keeps its own version record, lock and steps (`store.migrations` for SQLite,
`store.pg_migrations` for PostgreSQL); the order of reading, locking, refusing a newer schema,
stepping and committing is written once here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from store.base import DamagedValue, SchemaTooNew

# Why a store whose migrations meet tables they made already is refused: its version record
# was set back by other hands (`redress verify` names it: `schema_version_problem`).
SET_BACK = (
    "the schema's version record was set back by other hands: it names a version older than "
    "its tables are"
)


def run_script(conn: Any, script: str) -> None:
    """A migration's statements, one by one (SQLite's `executescript` would commit the
    migration's transaction first)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def migrate_locked(
    conn: Any,
    *,
    read_version: Callable[[Any], int],
    upto: int,
    known: int,
    holder: str,
    begin: str,
    lock: str | None,
    step: Callable[[Any, int], None],
) -> None:
    """Bring `conn`'s schema to `upto`: a read first (the common case, already there, takes no
    lock), then `begin` and `lock`, a second read, `SchemaTooNew` for a version above `known`
    (`holder` names what holds it in the message), `step(conn, version)` for the rest, and
    commit; any failure rolls the whole walk back."""
    if read_version(conn) == upto:
        return
    conn.execute(begin)
    try:
        if lock is not None:
            conn.execute(lock)
        version = read_version(conn)
        if version > known:
            raise SchemaTooNew(
                f"{holder} schema is version {version}; this Redress knows up to "
                f"{known}: upgrade Redress"
            )
        step(conn, version)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def set_back() -> DamagedValue:
    """What opening a store whose version record was set back raises (`SET_BACK`)."""
    return DamagedValue(SET_BACK)


def schema_version_problem(version: int, known: int, tables_current: bool) -> str | None:
    """Why `redress verify` cannot hold a store at schema `version` to this Redress's tables
    (`known`), or None when it is this Redress's: a newer one it cannot read, an older one
    `redress serve` migrates first, or one set back by other hands (`tables_current`: its
    tables are this version's already; `serve` refuses such a store, `SET_BACK`)."""
    if version == known:
        return None
    if version > known:
        return f"the schema is version {version}; this Redress knows up to {known}: upgrade Redress"
    if tables_current:
        return (
            "the schema's version record was set back by other hands: it names version "
            f"{version}, its tables are version {known}'s"
        )
    return (
        f"the schema is version {version}, older than this Redress's {known}: `redress serve` "
        "migrates it (or refuses it, if its version record was set back by other hands); "
        "verify it then"
    )


# The columns each table keeps unique (its primary key, or a unique index), which the service's
# reads rely on: a table rebuilt without one could hold a row twice, listed twice or counted
# twice in a report, while every row is right alone. `redress verify` checks they are still
# kept (`missing_unique_key`); tests/test_store_schema.py holds this to a new store's.
UNIQUE_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "entries": (("idx",),),
    "tree_nodes": (("level", "position"),),
    "checkpoints": (("tree_size",),),
    "api_keys": (("key_hash",), ("key_id",)),
    "idempotency": (("key", "owner"),),
    "cases": (("case_id",),),
    "case_decisions": (("case_id", "seq"),),
    "case_obligations": (("case_id", "name"),),
    "personal_keys": (("case_id",),),
    "personal_records": (("commitment",),),
    "decision_index": (("decision_id",), ("idx",)),
    "decision_flags": (("flag", "idx"),),
    "decision_obligations": (("idx", "seq"),),
    "decision_counts": (
        ("as_of_day", "disposition", "flag", "policy", "purpose", "route", "stage"),
    ),
    "console_sessions": (("id_hash",),),
}


# Columns the ledger does not hold (so no check compares them with an entry) but the API serves
# or its writes read, and what the service writes in each: SQLite keeps any type anywhere, and
# another was served (a BLOB `reference` answered as text), failed a report (a BLOB
# `complainant`, a text `seq`), every write to a case (a text `version`) or the listing of
# overdue cases (an empty `gaps`). "JSON list": NULL, or the JSON text of a non-empty list;
# "hash": a SHA-256 hash in lowercase hex (erasure names each by it: other text failed it);
# "counter": an integer from 1, below its column's largest (the next write adds one: at the
# largest, every write to the case failed). `redress verify` names a table holding another
# (`store.sqlite.mistyped_table`, `store.postgres.mistyped_table`: PostgreSQL's columns hold
# their own type only, so there the JSON text and the counter's range are what is checked).
TYPED_COLUMNS: dict[str, dict[str, str]] = {
    "cases": {
        "reference": "text",
        "complainant": "text",
        "updated_at": "text",
        "version": "counter",
    },
    "case_obligations": {"seq": "integer", "gaps": "JSON list"},
    "idempotency": {"owner": "text", "key": "text", "request_hash": "text", "created_at": "text"},
    "api_keys": {"key_hash": "text"},
    "personal_records": {"commitment": "hash", "sealed_at": "text"},
    "checkpoints": {"signed_at": "text"},
}
# Of those, the ones the service never leaves NULL where the table's declaration lets SQLite
# hold one (a TEXT primary key may be NULL): a key with no hash failed every request.
NEVER_NULL: dict[str, tuple[str, ...]] = {"api_keys": ("key_hash",)}


def missing_unique_key(kept: Mapping[str, Iterable[Iterable[str]]]) -> tuple[str, tuple] | None:
    """The first (table, columns) of `UNIQUE_KEYS` that `kept` (each table's unique column
    sets, as a store reports them) does not hold; None when every one is kept."""
    for table, keys in UNIQUE_KEYS.items():
        held = {tuple(sorted(columns)) for columns in kept.get(table, ())}
        for columns in keys:
            if columns not in held:
                return table, columns
    return None
