"""Retries are safe (CONTRACT.md v2): "Every POST takes an optional `Idempotency-Key` header
(1–128 visible ASCII characters): the same key from the same API key with the same body within
24 hours gets the original response again, with `Idempotent-Replayed: true`, and records nothing
new; the same key with another body is 422." The response is remembered in the write's own
transaction, so this holds across workers and restarts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import msgspec
import pytest
from conftest import COMPLAINT, LIVE_COMPLAINT, bearer, serving


def tree_size(client, keys) -> int:
    """Entries in the ledger, after one decision has put the policy's own entry there."""
    client.post("/v1/decisions", json=COMPLAINT, headers=keys.admin)
    return client.get("/v1/ledger/checkpoint", headers=keys.audit).json()["tree_size"]


def with_key(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def test_a_retried_decision_gets_the_same_answer_and_one_entry(client, keys):
    before = tree_size(client, keys)
    first = client.post("/v1/decisions", json=COMPLAINT, headers=with_key(keys.decide, "retry-1"))
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = client.post("/v1/decisions", json=COMPLAINT, headers=with_key(keys.decide, "retry-1"))
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert tree_size(client, keys) == before + 2


def test_the_same_key_with_another_body_is_422_and_records_nothing(client, keys):
    client.post("/v1/decisions", json=COMPLAINT, headers=with_key(keys.decide, "k-2"))
    before = tree_size(client, keys)
    other = {**COMPLAINT, "purpose": "preview"}
    refused = client.post("/v1/decisions", json=other, headers=with_key(keys.decide, "k-2"))
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["pointer"] == "/Idempotency-Key"
    assert tree_size(client, keys) == before + 1


def test_the_same_key_and_body_on_another_case_is_422_naming_the_path_too(client, keys):
    """The request a key stands for is its method, path and body: the same event sent to
    another case with a key already used is refused, and the message does not blame the body."""
    first, second = (
        client.post("/v1/cases", json=LIVE_COMPLAINT, headers=keys.decide).json()["case_id"]
        for _ in range(2)
    )
    event = {"facts": {"acts": {"acknowledge": "2026-11-24"}}, "as_of": "2026-11-25T09:00:00Z"}
    done = client.post(
        f"/v1/cases/{first}/events", json=event, headers=with_key(keys.decide, "ev-1")
    )
    assert done.status_code == 201
    before = client.get(f"/v1/cases/{second}", headers=keys.audit).json()
    refused = client.post(
        f"/v1/cases/{second}/events", json=event, headers=with_key(keys.decide, "ev-1")
    )
    assert refused.status_code == 422
    (error,) = refused.json()["errors"]
    assert error == {
        "pointer": "/Idempotency-Key",
        "message": "already used with another body or path",
    }
    assert client.get(f"/v1/cases/{second}", headers=keys.audit).json() == before


def test_keys_belong_to_the_api_key_that_sent_them(client, keys):
    """The same Idempotency-Key from another API key is another request."""
    mine = client.post("/v1/decisions", json=COMPLAINT, headers=with_key(keys.decide, "shared"))
    theirs = client.post("/v1/decisions", json=COMPLAINT, headers=with_key(keys.admin, "shared"))
    assert theirs.status_code == 201 and "idempotent-replayed" not in theirs.headers
    assert theirs.json()["decision_id"] != mine.json()["decision_id"]


def test_a_malformed_key_is_400_naming_the_header(client, keys):
    for bad in ("has space", "x" * 129, ""):
        answer = client.post(
            "/v1/decisions", json=COMPLAINT, headers={**keys.decide, "Idempotency-Key": bad}
        )
        assert answer.status_code == 400, bad
        (error,) = answer.json()["errors"]
        assert error["pointer"] == "/Idempotency-Key"
        assert "1 to 128 visible ASCII characters" in error["message"]
    ok = client.post("/v1/decisions", json=COMPLAINT, headers=with_key(keys.decide, "x" * 128))
    assert ok.status_code == 201


def test_cases_events_and_keys_are_replayed_too(client, keys):
    opened = client.post("/v1/cases", json=LIVE_COMPLAINT, headers=with_key(keys.decide, "open-1"))
    replayed = client.post(
        "/v1/cases", json=LIVE_COMPLAINT, headers=with_key(keys.decide, "open-1")
    )
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.content == opened.content
    event = {"facts": {"acts": {"acknowledge": "2026-11-24"}}, "as_of": "2026-11-25T09:00:00Z"}
    path = f"/v1/cases/{opened.json()['case_id']}/events"
    done = client.post(path, json=event, headers=with_key(keys.decide, "act-1"))
    assert done.status_code == 201
    again = client.post(path, json=event, headers=with_key(keys.decide, "act-1"))
    assert again.content == done.content and again.headers["idempotent-replayed"] == "true"
    case = client.get(f"/v1/cases/{opened.json()['case_id']}", headers=keys.decide).json()
    assert len(case["decisions"]) == 2

    made = client.post("/v1/keys", json={"role": "audit"}, headers=with_key(keys.admin, "key-1"))
    remade = client.post("/v1/keys", json={"role": "audit"}, headers=with_key(keys.admin, "key-1"))
    assert remade.status_code == 201 and remade.json()["key_id"] == made.json()["key_id"]
    assert remade.json()["key"] is None  # the secret is never stored, so never replayed
    listed = client.get("/v1/keys", headers=keys.admin).json()["items"]
    assert [k["key_id"] for k in listed].count(made.json()["key_id"]) == 1


def test_concurrent_retries_record_once(client, keys):
    before = tree_size(client, keys)
    headers = with_key(keys.decide, "burst")

    def send(_: int) -> httpx.Response:
        return client.post("/v1/decisions", json=COMPLAINT, headers=headers)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(16)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["decision_id"] for a in answers}) == 1
    assert tree_size(client, keys) == before + 2  # ours, and tree_size's own


def decisions_in_ledger(base: str, admin: dict[str, str]) -> int:
    page = httpx.get(f"{base}/v1/ledger/entries?limit=1000", headers=admin, timeout=30).json()
    return sum(1 for e in page["items"] if e["kind"] == "decision")


def test_a_retry_on_another_worker_and_after_a_restart_gets_the_same_decision(tmp_path):
    """Two workers behind one port: retries on fresh connections land on both; then the
    server is stopped and started again on the same data directory."""
    key = "retry-across-workers"
    with serving(tmp_path, workers=2) as server:
        admin = bearer(server.admin_key)
        headers = {**admin, "Idempotency-Key": key}
        url = f"{server.base_url}/v1/decisions"
        first = httpx.post(url, json=COMPLAINT, headers=headers, timeout=30)
        assert first.status_code == 201

        def retry(_: int) -> httpx.Response:
            return httpx.post(url, json=COMPLAINT, headers=headers, timeout=30)

        with ThreadPoolExecutor(4) as pool:
            retries = list(pool.map(retry, range(20)))
        assert {r.content for r in retries} == {first.content}
        assert all(r.headers["idempotent-replayed"] == "true" for r in retries)
        assert decisions_in_ledger(server.base_url, admin) == 1
        admin_key = server.admin_key
    with serving(tmp_path, workers=1) as restarted:
        again = httpx.post(
            f"{restarted.base_url}/v1/decisions",
            json=COMPLAINT,
            headers={**bearer(admin_key), "Idempotency-Key": key},
            timeout=30,
        )
        assert again.status_code == 201 and again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"
        assert decisions_in_ledger(restarted.base_url, bearer(admin_key)) == 1


def test_a_decision_reads_the_key_as_the_header_parameter_does():
    """`POST /v1/decisions` reads its Idempotency-Key from the scope (`key_from_scope`), not
    through Litestar's header parameter: the same value, the first of two, any case of name."""
    from litestar.datastructures import Headers

    from api.idempotency import HEADER, key_from_scope

    cases = [
        [],
        [(b"idempotency-key", b"k-1")],
        [(b"Idempotency-Key", b"k-2"), (b"idempotency-key", b"k-3")],
        [(b"content-type", b"application/json"), (b"IDEMPOTENCY-KEY", b"caf\xe9")],
        [(b"idempotency-keys", b"no"), (b"x-idempotency-key", b"no")],
    ]
    for headers in cases:
        scope = {"type": "http", "headers": headers}
        assert key_from_scope(scope) == Headers(headers).get(HEADER), headers


@pytest.mark.parametrize(
    ("which", "change"),
    [
        ("decision", lambda a: a["outcome"].update(route={"role": "ombudsman", "assignee": None})),
        ("decision", lambda a: a["ledger"].update(index=a["ledger"]["index"] - 1)),
        ("case", lambda a: a["decisions"][0]["outcome"].update(stage="stage_9")),
        # The receipt's tree: one the ledger never had, or one too small to hold the entry.
        ("decision", lambda a: a["ledger"].update(tree_size=99, root_hash="1" * 64)),
        ("decision", lambda a: a["ledger"].update(root_hash="0" * 64)),
        ("case", lambda a: a["decisions"][0]["ledger"].update(tree_size=1)),
        ("status", None),
        # A new case's own fields, each from its decision in the ledger.
        ("case", lambda a: a.update(state="closed")),
        ("case", lambda a: a.update(case_id="0" * 32)),
        ("case", lambda a: a.update(obligations=[])),
        ("case", lambda a: a["obligations"][0].update(status="met")),
        ("case", lambda a: a.update(facts={"kind": "concern"})),
        ("case", lambda a: a.update(personal="sealed")),
        ("case", lambda a: a.update(opened_at="2026-01-01T00:00:00.000000Z")),
        ("case", lambda a: a.update(reference="CRM-9999")),
        # A field the API never answers, which a retry would carry to the client.
        ("decision", lambda a: a.update(note="hello")),
        ("case", lambda a: a.update(complainant="cpl-Z")),
        ("decision", lambda a: a["outcome"].update(note="hello")),
        # The same answer kept as text, where the service keeps bytes (a retry's 503).
        ("text", None),
        # A new key's: as its `create` entry records it, and never its secret.
        ("key", lambda a: a.update(role="admin")),
        ("key", lambda a: a.update(key="a-forged-secret")),
        # Only a creation's answer is kept: a refusal records nothing.
        ("refusal", None),
    ],
)
def test_verify_holds_the_answers_kept_for_retries_to_the_ledger(
    tmp_path, data_dir, keys, which, change
):
    """A retry with the same `Idempotency-Key` is answered with the answer kept for it: every
    decision in it must be what its entry holds, with a receipt naming that entry (a kept
    answer edited to another route was served on the retry while verify said ok: found by an
    audit falsifying every table), in a tree of the ledger that holds it, as a creation (201).
    """
    import json
    import shutil
    import sqlite3

    from litestar.testing import TestClient

    from api.app import create_app
    from redress.cli import main

    with TestClient(create_app(data_dir)) as client:
        decided = client.post(
            "/v1/decisions", json=COMPLAINT, headers=with_key(keys.decide, "retry-d")
        )
        opened = client.post(
            "/v1/cases", json=LIVE_COMPLAINT, headers=with_key(keys.decide, "retry-c")
        )
        made = client.post(
            "/v1/keys", json={"role": "audit", "name": "n"}, headers=with_key(keys.admin, "retry-k")
        )
        assert decided.status_code == opened.status_code == made.status_code == 201
    assert main(["verify", "--data-dir", str(data_dir)]) == 0
    copy = tmp_path / "copy"
    shutil.copytree(data_dir, copy)
    conn = sqlite3.connect(copy / "redress.db")
    key = {"case": "retry-c", "key": "retry-k"}.get(which, "retry-d")
    (response,) = conn.execute("SELECT response FROM idempotency WHERE key = ?", (key,)).fetchone()
    if which == "status":  # a kept 201 replayed as a 200
        conn.execute("UPDATE idempotency SET status = 200 WHERE key = ?", (key,))
    elif which == "refusal":  # a refusal kept as if it had been recorded
        problem = b'{"type":"about:blank","title":"Unprocessable Content","status":422}'
        conn.execute(
            "UPDATE idempotency SET status = 422, response = ? WHERE key = ?", (problem, key)
        )
    elif which == "text":
        conn.execute(
            "UPDATE idempotency SET response = CAST(response AS TEXT) WHERE key = ?", (key,)
        )
    else:
        answer = json.loads(response)
        change(answer)
        edited = msgspec.json.encode(answer)  # as the service encodes its answers
        conn.execute("UPDATE idempotency SET response = ? WHERE key = ?", (edited, key))
    conn.commit()
    conn.close()
    assert main(["verify", "--data-dir", str(copy)]) == 1


@pytest.mark.parametrize(
    "damage",
    [
        "response = CAST(response AS TEXT)",
        "status = 600",  # uvicorn dropped the connection on such a replay
        "status = 422",
        "created_at = X'00ff'",
    ],
)
def test_a_kept_answer_the_service_never_wrote_is_a_503_naming_verify(data_dir, keys, damage):
    """An answer kept as the service never keeps one (text where it keeps bytes, a status other
    than a creation's, a date of bytes: a store edited by other hands) is not replayed, nor a
    500: the retry is refused with 503 naming `redress verify`, which names the damage."""
    import sqlite3

    from litestar.testing import TestClient

    from api.app import create_app

    with TestClient(create_app(data_dir)) as client:
        first = client.post("/v1/decisions", json=COMPLAINT, headers=with_key(keys.decide, "k"))
        assert first.status_code == 201
        with sqlite3.connect(data_dir / "redress.db") as conn:
            conn.execute(f"UPDATE idempotency SET {damage}")
        again = client.post("/v1/decisions", json=COMPLAINT, headers=with_key(keys.decide, "k"))
    assert again.status_code == 503, again.text
    assert again.headers["content-type"] == "application/problem+json"
    assert "redress verify" in again.json()["detail"]
