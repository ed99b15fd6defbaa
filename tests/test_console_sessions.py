"""`console.sessions.SessionStore`: create, get, delete and expiry, on a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from console.sessions import SessionStore


def test_a_session_lives_until_deleted_or_expired(tmp_path):
    store = SessionStore(tmp_path / "redress.db", lifetime=timedelta(hours=1))
    assert store.get("nobody") is None  # before any sign-in: no table, nothing written
    start = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    session_id, session = store.create("audit", now=start)
    found = store.get(session_id, now=start + timedelta(minutes=59))
    assert found is not None and (found.role, found.csrf) == ("audit", session.csrf)
    assert store.get(session_id, now=start + timedelta(hours=1)) is None
    other, _ = store.create("admin", now=start)
    assert store.get(other, now=start) is not None
    store.delete(other)
    assert store.get(other, now=start) is None
    assert store.get(session_id + "x", now=start) is None


def test_only_a_hash_of_the_session_id_is_stored(tmp_path):
    store = SessionStore(tmp_path / "redress.db")
    session_id, _ = store.create("audit")
    assert session_id.encode() not in (tmp_path / "redress.db").read_bytes()
    wal = tmp_path / "redress.db-wal"
    assert not wal.exists() or session_id.encode() not in wal.read_bytes()
    store.close()
