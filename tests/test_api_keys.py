"""Who asked (CONTRACT.md v2): every key has a public id; creating and revoking keys are ledger
entries; every decision entry records the caller's key id and the request's purpose; a revoked
key is refused by every worker within one second."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import COMPLAINT, bearer, serving

REDRESS = str(Path(sys.executable).parent / "redress")


def ledger_entries(client, keys) -> list[dict]:
    page = client.get("/v1/ledger/entries?limit=1000", headers=keys.audit).json()
    return page["items"]


def test_keys_are_created_listed_and_revoked_by_an_admin(client, keys):
    made = client.post("/v1/keys", json={"role": "decide", "name": "crm"}, headers=keys.admin)
    assert made.status_code == 201
    created = made.json()
    assert created["key_id"].startswith("key_") and created["role"] == "decide"
    assert created["name"] == "crm" and len(created["key"]) >= 43
    assert (
        client.post("/v1/decisions", json=COMPLAINT, headers=bearer(created["key"])).status_code
        == 201
    )

    listed = client.get("/v1/keys", headers=keys.admin).json()["items"]
    mine = [k for k in listed if k["key_id"] == created["key_id"]]
    assert mine == [
        {**{k: created[k] for k in ("key_id", "role", "name", "created_at")}, "revoked_at": None}
    ]
    assert created["key"] not in json.dumps(listed)

    revoked = client.delete(f"/v1/keys/{created['key_id']}", headers=keys.admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    refused = client.post("/v1/decisions", json=COMPLAINT, headers=bearer(created["key"]))
    assert refused.status_code == 401
    again = client.delete(f"/v1/keys/{created['key_id']}", headers=keys.admin)
    assert again.status_code == 200 and again.json() == revoked.json()  # DELETE is idempotent
    assert client.delete("/v1/keys/key_nope", headers=keys.admin).status_code == 404


def test_keys_list_oldest_first_and_page_with_a_cursor(client, keys):
    """CONTRACT.md: "List endpoints page with `limit` 1–1,000"; GET /v1/keys lists keys. Pages
    of two go through every key once, oldest first, each page's `next_cursor` the last key on
    it (its `created_at`, `_`, its id); a key made between two pages is on a later one; null
    at the end. A cursor no page gave is still a place: the keys after it."""
    made = [
        client.post("/v1/keys", json={"role": "decide", "name": f"crm-{n}"}, headers=keys.admin)
        for n in range(4)
    ]
    assert all(m.status_code == 201 for m in made)
    everything = client.get("/v1/keys", headers=keys.admin).json()
    assert everything["next_cursor"] is None
    ids = [k["key_id"] for k in everything["items"]]
    assert len(ids) == 7 and ids[-4:] == [m.json()["key_id"] for m in made]
    created = [k["created_at"] for k in everything["items"]]
    assert created == sorted(created)
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/keys", params=query, headers=keys.admin).json()
        seen += [k["key_id"] for k in page["items"]]
        pages += 1
        if pages == 1:  # made after the first page: listed last, on the last page
            later = client.post("/v1/keys", json={"role": "audit"}, headers=keys.admin).json()
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert cursor == f"{page['items'][-1]['created_at']}_{seen[-1]}"
    assert seen == [*ids, later["key_id"]] and pages == 4
    after = {"cursor": f"{everything['items'][4]['created_at']}_key_"}
    page = client.get("/v1/keys", params=after, headers=keys.admin).json()
    assert [k["key_id"] for k in page["items"]] == [*ids[4:], later["key_id"]]
    assert page["next_cursor"] is None
    for bad, status in (({"limit": 0}, 422), ({"limit": 1001}, 422), ({"cursor": "nope"}, 400)):
        refused = client.get("/v1/keys", params=bad, headers=keys.admin)
        assert refused.status_code == status, bad
        assert refused.json()["errors"][0]["pointer"] == f"/{next(iter(bad))}"


def test_only_an_admin_manages_keys(client, keys):
    for role in (keys.decide, keys.audit):
        assert client.get("/v1/keys", headers=role).status_code == 403
        assert client.post("/v1/keys", json={"role": "admin"}, headers=role).status_code == 403
    bad = client.post("/v1/keys", json={"role": "auditor"}, headers=keys.admin)
    assert bad.status_code == 400
    assert bad.json()["errors"] == [
        {
            "pointer": "/role",
            "message": "'auditor' is not allowed: expected one of 'decide', 'audit', 'admin'; "
            "did you mean 'audit'?",
        }
    ]


def test_key_entries_record_creation_and_revocation_and_never_a_secret(client, keys):
    """CONTRACT.md: "A `key` entry records a key's creation `{action: "create", key_id, role,
    name}` or revocation `{action: "revoke", key_id}` … Secrets and their hashes are never in
    the ledger.\""""
    created = client.post("/v1/keys", json={"role": "audit", "name": "officer"}, headers=keys.admin)
    key_id, secret = created.json()["key_id"], created.json()["key"]
    client.delete(f"/v1/keys/{key_id}", headers=keys.admin)
    entries = ledger_entries(client, keys)
    bodies = [
        e["body"] for e in entries if e["kind"] == "key" and e["body"].get("key_id") == key_id
    ]
    assert bodies == [
        {"action": "create", "key_id": key_id, "role": "audit", "name": "officer"},
        {"action": "revoke", "key_id": key_id},
    ]
    text = json.dumps(entries)
    assert secret not in text and hashlib.sha256(secret.encode()).hexdigest() not in text


def test_every_decision_entry_carries_the_callers_key_id_and_purpose(client, keys):
    created = client.post("/v1/keys", json={"role": "decide", "name": "crm"}, headers=keys.admin)
    caller = bearer(created.json()["key"])
    decided = client.post("/v1/decisions", json=COMPLAINT, headers=caller).json()
    case = client.post("/v1/cases", json={**COMPLAINT, "purpose": "preview"}, headers=caller).json()
    entries = {e["index"]: e for e in ledger_entries(client, keys)}
    body = entries[decided["ledger"]["index"]]["body"]
    assert body["key_id"] == created.json()["key_id"] and body["purpose"] == "test"
    opened = entries[case["decisions"][0]["ledger"]["index"]]["body"]
    assert opened["key_id"] == created.json()["key_id"] and opened["purpose"] == "preview"
    assert decided["purpose"] == "test"


def test_the_cli_creates_lists_and_revokes_keys(tmp_path):
    data = tmp_path / "data"
    made = run("keys", "create", "--role", "audit", "--name", "officer", "--data-dir", str(data))
    assert made.returncode == 0
    secret = made.stdout.strip()
    key_id = made.stderr.split("key id: ")[1].split()[0]
    listed = run("keys", "list", "--data-dir", str(data))
    assert listed.returncode == 0 and secret not in listed.stdout
    (row,) = [line.split("\t") for line in listed.stdout.splitlines() if line.startswith(key_id)]
    assert row[1:3] == ["audit", "officer"] and row[4] == "-"
    assert run("keys", "revoke", key_id, "--data-dir", str(data)).returncode == 0
    (row,) = [
        line.split("\t")
        for line in run("keys", "list", "--data-dir", str(data)).stdout.splitlines()
        if line.startswith(key_id)
    ]
    assert row[4] != "-"
    unknown = run("keys", "revoke", "key_nope", "--data-dir", str(data))
    assert unknown.returncode == 2 and "no key key_nope" in unknown.stderr  # bad input


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([REDRESS, *args], capture_output=True, text=True, timeout=120)


def test_a_revoked_key_is_refused_by_every_worker_within_one_second(tmp_path):
    """CONTRACT.md: "`redress keys revoke KEY_ID`: the key is refused (401) by every worker and
    node within one second"; the key ring keeps keys in memory, so each worker must notice."""
    with serving(tmp_path, workers=2) as server:
        data = server.data_dir
        made = run("keys", "create", "--role", "decide", "--data-dir", str(data))
        key = bearer(made.stdout.strip())
        key_id = made.stderr.split("key id: ")[1].split()[0]
        url = f"{server.base_url}/v1/policies"
        # Fresh connections spread over both workers, so each has the key in its cache.
        assert {httpx.get(url, headers=key).status_code for _ in range(30)} == {200}
        assert run("keys", "revoke", key_id, "--data-dir", str(data)).returncode == 0
        time.sleep(1.0)
        answers = [httpx.get(url, headers=key).status_code for _ in range(40)]
        assert answers == [401] * 40
        pids = {line for line in server.log.read_text().splitlines() if "Started server" in line}
        assert len(pids) == 2  # both workers were up to be asked


def test_a_mistyped_role_on_the_command_line_names_the_roles_and_the_nearest():
    answer = run("keys", "create", "--role", "auditor", "--data-dir", "/nonexistent/never")
    assert answer.returncode == 2
    assert "'auditor' is not one of decide, audit, admin; did you mean 'audit'?" in answer.stderr


@pytest.mark.sqlite_only
def test_keys_stored_before_key_entries_are_recorded_at_the_next_start(tmp_path):
    """CONTRACT.md v2: "key creation and revocation are ledger entries". A store upgraded from
    version 1 holds keys that no entry names; the next start records them, so `verify` can hold
    every key row to the ledger."""
    from keys import bootstrap_admin, key_hash
    from ledger.store import Ledger

    data = tmp_path / "data"
    ledger = Ledger.open(data)
    ledger.store.write(lambda tx: tx.add_api_key(key_hash("old-decide-key"), "decide", "key_old"))
    ledger.close()
    before = subprocess.run(
        [sys.executable, "-m", "redress", "verify", "--data-dir", str(data)],
        capture_output=True,
        text=True,
    )
    assert before.returncode != 0 and "key_old" in before.stdout + before.stderr

    bootstrap_admin(data)  # what every `redress serve` start runs, on the write side

    after = subprocess.run(
        [sys.executable, "-m", "redress", "verify", "--data-dir", str(data)],
        capture_output=True,
        text=True,
    )
    assert after.returncode == 0, after.stdout + after.stderr
    ledger = Ledger.open(data)
    bodies = [e.body for e in ledger.entries(0, 100) if e.kind == "key"]
    ledger.close()
    assert {"action": "create", "key_id": "key_old", "role": "decide", "name": None} in bodies
