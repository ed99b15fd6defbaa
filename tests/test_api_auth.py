"""API keys and roles: 401 without a valid key, 403 without the role, keys kept only hashed."""

from __future__ import annotations

import os
import stat

import pytest
from conftest import COMPLAINT, bearer

from api.keys import bootstrap_admin, create_key


def test_no_key_or_an_unknown_key_is_401(client):
    for headers in ({}, bearer("not-a-key"), {"Authorization": "Basic abc"}):
        response = client.get("/v1/policies", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"] == "Bearer"


def test_each_role_reaches_only_its_own_endpoints(client, keys):
    """CONTRACT.md v2: `audit` reads everything recorded (decisions, receipts, policies, cases
    without personal data, ledger, proofs) and writes nothing; `decide` reads back decisions,
    cases and its cases' personal data, not the ledger."""
    decided = client.post("/v1/decisions", json=COMPLAINT, headers=keys.decide).json()
    case = client.post(
        "/v1/cases", json={**COMPLAINT, "personal": {"name": "A. Person"}}, headers=keys.decide
    ).json()
    reads = [
        "/v1/policies",
        "/v1/policies/wme",
        f"/v1/decisions/{decided['decision_id']}",
        f"/v1/decisions/{decided['decision_id']}/receipt",
        f"/v1/cases/{case['case_id']}",
        "/v1/cases",
    ]
    for path in reads:
        assert client.get(path, headers=keys.decide).status_code == 200, path
        assert client.get(path, headers=keys.audit).status_code == 200, path
    personal = f"/v1/cases/{case['case_id']}/personal"
    assert client.get(personal, headers=keys.decide).json()["personal"] == {"name": "A. Person"}
    assert client.get(personal, headers=keys.audit).status_code == 403
    assert client.get("/v1/ledger/checkpoint", headers=keys.audit).status_code == 200
    assert client.get("/v1/ledger/checkpoint", headers=keys.decide).status_code == 403
    refused = client.post("/v1/decisions", json=COMPLAINT, headers=keys.audit)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "an audit key cannot do this: it needs the decide role"
    assert client.get("/v1/keys", headers=keys.audit).status_code == 403


def test_admin_can_do_everything(client, keys):
    assert client.get("/v1/policies", headers=keys.admin).status_code == 200
    assert client.get("/v1/ledger/public-key", headers=keys.admin).status_code == 200
    assert client.post("/v1/decisions", json=COMPLAINT, headers=keys.admin).status_code == 201


def test_erasing_personal_data_needs_admin(client, keys):
    case = client.post(
        "/v1/cases",
        json={**COMPLAINT, "personal": {"name": "A. Person"}},
        headers=keys.decide,
    ).json()
    path = f"/v1/cases/{case['case_id']}/personal"
    assert client.delete(path, headers=keys.decide).status_code == 403
    assert client.delete(path, headers=keys.admin).status_code == 200


def test_health_and_ready_need_no_key(client):
    """CONTRACT.md: `GET /health` (alive) and `GET /ready` (the store takes writes now) need
    no key."""
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


@pytest.mark.sqlite_only
def test_keys_are_stored_only_as_hashes(data_dir, keys):
    key = create_key(data_dir, "decide")
    stored = (data_dir / "redress.db").read_bytes()
    assert key.encode() not in stored


def test_first_start_writes_the_admin_key_once(tmp_path, monkeypatch):
    monkeypatch.delenv("REDRESS_ADMIN_KEY", raising=False)
    key = bootstrap_admin(tmp_path)
    assert key is not None and len(key) >= 43  # 256 bits in URL-safe base64
    written = tmp_path / "admin.key"
    assert written.read_text().strip() == key
    assert stat.S_IMODE(os.stat(written).st_mode) == 0o600
    assert bootstrap_admin(tmp_path) is None


def test_the_operator_can_choose_the_admin_key(tmp_path, monkeypatch):
    monkeypatch.setenv("REDRESS_ADMIN_KEY", "chosen-admin-key-0123456789abcdef")
    assert bootstrap_admin(tmp_path) == "chosen-admin-key-0123456789abcdef"


def test_a_key_made_while_the_server_runs_works_at_once(client, keys, data_dir):
    """`redress keys create` writes to the store from another process; the server, which keeps
    the known keys in memory, must still find the new one on its first use."""
    assert client.get("/v1/policies", headers=keys.decide).status_code == 200  # keys now cached
    late = bearer(create_key(data_dir, "audit"))
    assert client.get("/v1/ledger/checkpoint", headers=late).status_code == 200
    assert client.post("/v1/decisions", json=COMPLAINT, headers=late).status_code == 403


def _edit(data_dir, store_url: str, statement: str, *params: object) -> None:
    """One statement on the store, by other hands."""
    if store_url == "sqlite":
        import sqlite3

        with sqlite3.connect(data_dir / "redress.db") as conn:
            assert conn.execute(statement, params).rowcount == 1
        return
    import psycopg

    with psycopg.connect(store_url, autocommit=True) as conn:
        assert conn.execute(statement.replace("?", "%s"), params).rowcount == 1


def _entries(client, keys) -> int:
    return client.get("/v1/ledger/checkpoint", headers=keys.audit).json()["tree_size"]


def test_a_revocation_answered_503_records_nothing_and_another_keys_damage_stops_none(
    client, keys, data_dir, store_url
):
    """Found by a probe damaging one cell of the store at a time: with another key's role edited
    by hand, revoking a key answered 503 (its answer listed every key, read after the commit),
    yet the revocation was recorded. Another key's row is not this one's answer: revoking works.
    This key's own row damaged: 503 naming `redress verify`, and nothing recorded."""
    made = [
        client.post("/v1/keys", json={"role": "decide"}, headers=keys.admin).json()
        for _ in range(2)
    ]
    _edit(data_dir, store_url, "UPDATE api_keys SET role = 'x' WHERE key_id = ?", made[0]["key_id"])
    before = _entries(client, keys)
    revoked = client.delete(f"/v1/keys/{made[1]['key_id']}", headers=keys.admin)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None and _entries(client, keys) == before + 1
    refused = client.delete(f"/v1/keys/{made[0]['key_id']}", headers=keys.admin)
    assert refused.status_code == 503 and "redress verify" in refused.text, refused.text
    assert _entries(client, keys) == before + 1
