"""Console sessions: a random id in an HttpOnly cookie, the session itself on the server.

Only the SHA-256 of a session id is stored, with the signed-in role, the key signed in with, a
per-session CSRF token and an expiry; signing out deletes the row, so the old cookie opens
nothing, and so does revoking the key (`revoke_api_key` deletes its sessions). The table is the
store's (made by its migrations, so a GET never writes): `create`, `get`, `delete`.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import clock
from store import Store

LIFETIME = timedelta(hours=8)
CONSOLE_ROLES = ("audit", "admin")  # the roles `pages.sign_in` opens a session for


@dataclass(frozen=True)
class Session:
    role: str
    csrf: str
    expires_at: datetime


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    """Sessions as rows of the store's `console_sessions` table (store methods, on SQLite or
    PostgreSQL): sign-in and sign-out are writes through the store's writer; `get` is a read."""

    def __init__(self, store: Store, lifetime: timedelta = LIFETIME) -> None:
        self.store = store
        self.lifetime = lifetime

    def create(self, role: str, key_id: str, now: datetime | None = None) -> tuple[str, Session]:
        """A new session for `role`, opened with the key `key_id`: its secret id (for the cookie
        only) and the session."""
        session_id = secrets.token_urlsafe(32)
        at = now or clock.now()
        session = Session(role, secrets.token_urlsafe(32), at + self.lifetime)
        id_hash, expires = _hash(session_id), session.expires_at.isoformat()
        self.store.write(
            lambda tx: tx.put_console_session(
                id_hash, role, key_id, session.csrf, expires, at.isoformat()
            )
        )
        return session_id, session

    def get(self, session_id: str | None, now: datetime | None = None) -> Session | None:
        """The live session with this id, or None (unknown, signed out or expired)."""
        if not session_id:
            return None
        with self.store.read() as tx:
            row = tx.console_session(_hash(session_id))
        if row is None or not _as_written(row):
            return None
        expires = datetime.fromisoformat(row[2])
        if expires <= (now or clock.now()):
            return None  # expired rows are purged by the next sign-in: a read never writes
        return Session(row[0], row[1], expires)

    def delete(self, session_id: str | None) -> None:
        if not session_id:
            return
        id_hash = _hash(session_id)
        self.store.write(lambda tx: tx.delete_console_session(id_hash))


def _as_written(row: Any) -> bool:
    """Whether a session row is one `create` could have written: a console role, a CSRF token
    and an instant with its offset. Another was edited by other hands (sessions are outside the
    ledger, and outside `redress verify`): it opens nothing, rather than every page's 500 or a
    role the console does not know."""
    role, csrf, expires = row
    if role not in CONSOLE_ROLES or not isinstance(csrf, str) or not isinstance(expires, str):
        return False
    try:
        return datetime.fromisoformat(expires).tzinfo is not None
    except ValueError:
        return False
