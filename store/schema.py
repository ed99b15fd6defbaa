"""What both stores' schema migrations share: the double-checked, locked walk to a version.

Each store keeps its own version record, lock and steps (`store.migrations` for SQLite,
`store.pg_migrations` for PostgreSQL); the order of reading, locking, refusing a newer schema,
stepping and committing is written once here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from store.base import SchemaTooNew


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
