"""`console.sessions.SessionStore` over the store's `console_sessions` table: create, get,
delete and expiry, on a real store (SQLite file, or PostgreSQL where the store fixture is)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.sessions import SessionStore
from store import open_store


@pytest.fixture
def store(tmp_path):
    opened = open_store(tmp_path / "data")
    yield opened
    opened.close()


def test_a_session_lives_until_deleted_or_expired(store):
    sessions = SessionStore(store, lifetime=timedelta(hours=1))
    assert sessions.get("nobody") is None
    start = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    session_id, session = sessions.create("audit", "key_a", now=start)
    found = sessions.get(session_id, now=start + timedelta(minutes=59))
    assert found is not None and (found.role, found.csrf) == ("audit", session.csrf)
    assert sessions.get(session_id, now=start + timedelta(hours=1)) is None
    other, _ = sessions.create("admin", "key_b", now=start)
    assert sessions.get(other, now=start) is not None
    sessions.delete(other)
    assert sessions.get(other, now=start) is None
    assert sessions.get(session_id + "x", now=start) is None


def test_only_a_hash_of_the_session_id_is_stored(store, tmp_path):
    session_id, _ = SessionStore(store).create("audit", "key_a")
    files = [p for p in (tmp_path / "data").iterdir() if p.name.startswith("redress.db")]
    assert files
    for path in files:
        assert session_id.encode() not in path.read_bytes()


def test_reading_a_session_writes_nothing(tmp_path):
    """A GET never writes: looking a session up (even an expired one) leaves the file as is."""
    store = open_store(tmp_path / "data")
    sessions = SessionStore(store, lifetime=timedelta(seconds=1))
    session_id, _ = sessions.create("audit", "key_a", now=datetime(2026, 1, 1, tzinfo=UTC))
    store.close()
    db = tmp_path / "data" / "redress.db"
    reopened = open_store(tmp_path / "data")
    try:
        before = db.read_bytes()
        assert SessionStore(reopened).get(session_id) is None  # expired
        assert SessionStore(reopened).get("unknown") is None
        assert db.read_bytes() == before
    finally:
        reopened.close()


def test_revoking_a_key_ends_the_sessions_it_opened(store):
    """CONTRACT: a revoked key is refused; a session is the key it was opened with, so
    revoking the key ends it (and no other key's)."""
    from keys import create_job, revoke_job

    made, create = create_job("audit", "officer")
    other, create_other = create_job("audit", "officer")
    store.write(create)
    store.write(create_other)
    sessions = SessionStore(store)
    first, _ = sessions.create("audit", made.key_id)
    second, _ = sessions.create("audit", made.key_id)
    kept, _ = sessions.create("audit", other.key_id)

    assert store.write(revoke_job(made.key_id)) is True
    assert sessions.get(first) is None and sessions.get(second) is None
    assert sessions.get(kept) is not None


@pytest.mark.parametrize(
    "edit",
    [
        "expires_at = ''",
        "expires_at = '2025-13-45'",
        "expires_at = 7",
        "expires_at = X'00'",
        "expires_at = '2999-01-01T00:00:00'",  # no offset: not comparable with the clock
        "role = 'Audit'",
        "role = 'decide'",
        "role = 7",
        "csrf = X'00'",
    ],
)
def test_a_session_row_edited_by_other_hands_opens_nothing(tmp_path, edit):
    """Sessions are outside the ledger (and `redress verify`): a row edited by hand had every
    console page answer 500 (an expiry that is no instant), or opened the console for a role
    it does not know. Such a row is no session; the console then asks to sign in."""
    import sqlite3

    store = open_store(tmp_path / "data")
    try:
        sessions = SessionStore(store)
        session_id, _ = sessions.create("audit", "key_a")
        assert sessions.get(session_id) is not None
        db = sqlite3.connect(tmp_path / "data" / "redress.db", isolation_level=None)
        db.execute(f"UPDATE console_sessions SET {edit}")
        db.close()
        assert sessions.get(session_id) is None
    finally:
        store.close()
