"""Console sessions: a random id in an HttpOnly cookie, the session itself on the server.

Only the SHA-256 of a session id is stored, with the signed-in role, a per-session CSRF token
and an expiry; signing out deletes the row, so the old cookie opens nothing. The table lives in
the data directory's `redress.db` through this class's own connection for now (the store layer
will take it over): `create`, `get`, `delete`, nothing else.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

LIFETIME = timedelta(hours=8)


@dataclass(frozen=True)
class Session:
    role: str
    csrf: str
    expires_at: datetime


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    """Sessions in the `console_sessions` table of one SQLite file; thread-safe."""

    def __init__(self, db_path: Path, lifetime: timedelta = LIFETIME) -> None:
        self.lifetime = lifetime
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            db_path, timeout=30, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._created = False

    def _create_table(self) -> None:
        # Made by the first sign-in, not on opening, so that a GET never writes.
        if not self._created:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS console_sessions (id_hash TEXT PRIMARY KEY,"
                " role TEXT NOT NULL, csrf TEXT NOT NULL, expires_at TEXT NOT NULL)"
            )
            self._created = True

    def create(self, role: str, now: datetime | None = None) -> tuple[str, Session]:
        """A new session for `role`: its secret id (for the cookie only) and the session."""
        session_id = secrets.token_urlsafe(32)
        expires = (now or datetime.now(UTC)) + self.lifetime
        session = Session(role, secrets.token_urlsafe(32), expires)
        with self._lock:
            self._create_table()
            self._db.execute(
                "DELETE FROM console_sessions WHERE expires_at < ?",
                ((now or datetime.now(UTC)).isoformat(),),
            )
            self._db.execute(
                "INSERT INTO console_sessions VALUES (?, ?, ?, ?)",
                (_hash(session_id), role, session.csrf, expires.isoformat()),
            )
        return session_id, session

    def get(self, session_id: str | None, now: datetime | None = None) -> Session | None:
        """The live session with this id, or None (unknown, signed out or expired)."""
        if not session_id:
            return None
        try:
            with self._lock:
                row = self._db.execute(
                    "SELECT role, csrf, expires_at FROM console_sessions WHERE id_hash = ?",
                    (_hash(session_id),),
                ).fetchone()
        except sqlite3.OperationalError:  # no table yet: nobody has signed in
            return None
        if row is None:
            return None
        expires = datetime.fromisoformat(row[2])
        if expires <= (now or datetime.now(UTC)):
            return None  # expired rows are purged by the next `create`: a read never writes
        return Session(row[0], row[1], expires)

    def delete(self, session_id: str | None) -> None:
        if not session_id:
            return
        with self._lock:
            self._db.execute("DELETE FROM console_sessions WHERE id_hash = ?", (_hash(session_id),))

    def close(self) -> None:
        with self._lock:
            self._db.close()
