"""Versioned migrations: a store written by the pre-versioning code opens, and keeps its data;
a store newer than the code is refused.

Issue 10: "one storage layer that every package uses: … versioned schema migrations".
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from conftest import stored_reports

from cases import CaseStore
from ledger.store import Ledger
from store import SchemaTooNew, open_store
from store.migrations import SCHEMA_VERSION

# The tables exactly as the code before `store/` created them (sqlite-utils' DDL).
OLD_SCHEMA = """
CREATE TABLE [entries] ([idx] INTEGER PRIMARY KEY, [kind] TEXT NOT NULL, [ref] TEXT,
  [entry_hash] TEXT NOT NULL, [entry] BLOB NOT NULL);
CREATE INDEX [idx_entries_kind_ref] ON [entries] ([kind], [ref]);
CREATE TABLE [tree_nodes] ([level] INTEGER, [position] INTEGER, [hash] BLOB NOT NULL,
  PRIMARY KEY ([level], [position]));
CREATE TABLE [checkpoints] ([tree_size] INTEGER PRIMARY KEY, [root_hash] TEXT NOT NULL,
  [note] TEXT NOT NULL, [signed_at] TEXT NOT NULL);
CREATE TABLE [personal_keys] ([case_id] TEXT PRIMARY KEY, [key] BLOB);
CREATE TABLE [personal_records] ([commitment] TEXT PRIMARY KEY, [case_id] TEXT NOT NULL,
  [sealed] BLOB NOT NULL, [sealed_at] TEXT NOT NULL);
CREATE INDEX [idx_personal_records_case_id] ON [personal_records] ([case_id]);
CREATE TABLE api_keys ( key_hash TEXT PRIMARY KEY, role TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE [case_cases] ([case_id] TEXT PRIMARY KEY, [policy] TEXT, [facts] TEXT,
  [personal] TEXT, [personal_commitment] TEXT, [created_at] TEXT, [updated_at] TEXT);
CREATE TABLE [case_decisions] ([case_id] TEXT, [seq] INTEGER, [decision_id] TEXT,
  PRIMARY KEY ([case_id], [seq]));
CREATE TABLE [case_deadlines] ([case_id] TEXT, [name] TEXT, [due] TEXT, [rule] TEXT,
  [passes_at] TEXT);
CREATE INDEX [idx_case_deadlines_passes_at] ON [case_deadlines] ([passes_at]);
CREATE INDEX [idx_case_deadlines_case_id] ON [case_deadlines] ([case_id]);
"""


def old_store(tmp_path) -> None:
    """An old store with a ledger of one genesis entry and one case with two decisions."""
    Ledger.open(tmp_path).close()  # the signing key and a real genesis entry
    with sqlite3.connect(tmp_path / "redress.db") as fresh:
        genesis = fresh.execute("SELECT * FROM entries").fetchall()
        nodes = fresh.execute("SELECT * FROM tree_nodes").fetchall()
    (tmp_path / "redress.db").unlink()
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"redress.db{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(tmp_path / "redress.db", isolation_level=None)
    conn.executescript(OLD_SCHEMA)
    conn.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?)", genesis)
    conn.executemany("INSERT INTO tree_nodes VALUES (?, ?, ?)", nodes)
    conn.execute("INSERT INTO api_keys VALUES ('ab', 'admin', '2026-12-01T00:00:00+00:00')")
    conn.execute(
        "INSERT INTO case_cases VALUES ('c1', 'wme', '{\"kind\": \"complaint\"}', 'sealed', "
        "'cd', '2026-12-01T10:00:00.000000Z', '2026-12-02T10:00:00.000000Z')"
    )
    conn.execute("INSERT INTO case_decisions VALUES ('c1', 0, 'd1'), ('c1', 1, 'd2')")
    conn.execute(
        "INSERT INTO case_deadlines VALUES ('c1', 'outcome', '2027-01-18', 'complaint', "
        "'2027-01-19T00:00:00.000000Z')"
    )
    conn.close()


@pytest.mark.sqlite_only
def test_a_store_written_before_versioning_is_migrated_and_keeps_its_data(tmp_path):
    old_store(tmp_path)
    store = open_store(tmp_path)
    ledger = Ledger.open(tmp_path, store)
    case = CaseStore(store, {"wme": "Europe/London"}).get("c1")
    assert case is not None
    assert case.facts == {"kind": "complaint"} and case.decision_ids == ["d1", "d2"]
    assert case.created_at == "2026-12-01T10:00:00.000000Z" and case.state == "open"
    assert case.personal == "sealed" and case.version == 1
    assert [(d.name, d.due) for d in case.open_deadlines] == [("outcome", "2027-01-18")]
    assert case.obligations[0]["last_decision_id"] == "d2"
    assert ledger.tree_size() == 1 and ledger.checkpoint_view().tree_size == 1
    with store.read() as tx:
        assert tx.api_keys() == [("ab", "admin")]
    store.close()
    with sqlite3.connect(tmp_path / "redress.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"cases", "case_obligations"} <= tables and "case_cases" not in tables


@pytest.mark.sqlite_only
def test_a_key_made_before_key_entries_takes_the_time_it_is_recorded(tmp_path):
    """A key stored before key entries existed gets its `create` entry at start-up, and that
    entry's time as its `created_at` (what `verify` holds a key's date to)."""
    import json

    from keys import bootstrap_admin

    old_store(tmp_path)
    bootstrap_admin(tmp_path)
    with sqlite3.connect(tmp_path / "redress.db") as conn:
        key_id, created_at = conn.execute(
            "SELECT key_id, created_at FROM api_keys WHERE key_hash = 'ab'"
        ).fetchone()
        (entry,) = conn.execute(
            "SELECT entry FROM entries WHERE kind = 'key' AND ref = ?", (key_id,)
        ).fetchone()
    assert created_at == json.loads(entry)["recorded_at"] != "2026-12-01T00:00:00+00:00"


@pytest.mark.sqlite_only
def test_a_store_with_a_newer_schema_is_refused(tmp_path):
    open_store(tmp_path).close()
    with sqlite3.connect(tmp_path / "redress.db") as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaTooNew):
        open_store(tmp_path)


# Version 5 as it was: the subjects' index on five columns, register rows without their
# decision's policy, purpose and received day (what version 6 adds, for the register's reads).
# Schemas 9 to 11 change data only: a store taken back to one of them loses schema 12's column.
BACK_TO_11 = "ALTER TABLE case_obligations DROP COLUMN gaps"
BACK_TO_7 = BACK_TO_11 + "; ALTER TABLE console_sessions DROP COLUMN key_id"
BACK_TO_6 = (
    BACK_TO_7
    + """;
ALTER TABLE case_obligations DROP COLUMN dropped_at;
ALTER TABLE case_obligations DROP COLUMN ends_at
"""
)
BACK_TO_5 = (
    BACK_TO_6
    + """;
DROP INDEX decision_obligations_subjects;
ALTER TABLE decision_obligations DROP COLUMN policy;
ALTER TABLE decision_obligations DROP COLUMN purpose;
ALTER TABLE decision_obligations DROP COLUMN received_day;
DROP INDEX decision_index_subjects;
CREATE INDEX decision_index_subjects
    ON decision_index (latest, purpose, received_day, policy, case_id)
"""
)


def rolled_back(data_dir, store_url: str, script: str, version: int):
    """The store taken back to schema `version` by `script` (below 12, after `BACK_TO_11`): an
    open connection to it."""
    from store.schema import run_script

    if 7 < version < 12:
        script = f"{BACK_TO_11}; {script}"

    if store_url == "sqlite":
        conn = sqlite3.connect(data_dir / "redress.db", isolation_level=None)
        run_script(conn, f"{script}; PRAGMA user_version = {version}")
        return conn
    import psycopg

    conn = psycopg.connect(store_url, autocommit=True)
    run_script(conn, f"{script}; UPDATE redress_schema SET version = {version}")
    return conn


REPORTS = [
    ("register", {}),
    ("register", {"from": "2026-02-01", "to": "2026-03-31", "policy": "wme"}),
    ("timeliness", {}),
    ("serco-quarterly", {"quarter": "2026-Q1"}),
]


def reports_now(data_dir) -> list[dict]:
    return stored_reports(data_dir, REPORTS, datetime(2026, 6, 30, 12, tzinfo=UTC))


def test_a_store_at_schema_5_gets_the_register_reads_and_keeps_its_reports(
    data_dir, keys, store_url
):
    """Schema 6: existing register rows of case-less decisions get their decision's policy,
    purpose and received day, and the subjects' index its covering columns; every report reads
    the same after the upgrade as before it."""
    import random

    from case_walks import MENUS, OPENINGS, walk
    from litestar.testing import TestClient

    from api.app import create_app

    rng = random.Random(6)
    with TestClient(create_app(data_dir)) as client:
        for policy in MENUS:
            first, events = walk(rng, policy, 4)
            case = client.post("/v1/cases", json={"policy": policy, **first}, headers=keys.decide)
            assert case.status_code == 201, case.text
            for as_of, facts in events:
                event = {"facts": facts, "as_of": as_of}
                path = f"/v1/cases/{case.json()['case_id']}/events"
                assert client.post(path, json=event, headers=keys.decide).status_code in (201, 422)
            for n, facts in enumerate(OPENINGS[policy]):
                received = f"2026-0{2 + n % 2}-1{n}"
                body = {"policy": policy, "as_of": f"{received}T11:00:00Z",
                        "facts": {"received_at": received, **facts}}  # fmt: skip
                assert client.post("/v1/decisions", json=body, headers=keys.decide).status_code
    expected = reports_now(data_dir)
    assert expected[0]["rows"] and any(r["obligations"] for r in expected[0]["rows"])

    conn = rolled_back(data_dir, store_url, BACK_TO_5, 5)
    try:
        assert reports_now(data_dir) == expected  # opening upgrades the store first
        owed = conn.execute("SELECT COUNT(*) FROM decision_obligations").fetchone()[0]
        carried = conn.execute(
            "SELECT COUNT(*) FROM decision_obligations o JOIN decision_index d ON d.idx = o.idx"
            " WHERE o.policy = d.policy AND o.purpose = d.purpose"
            " AND o.received_day = d.received_day"
        ).fetchone()[0]
        assert carried == owed > 0
    finally:
        conn.close()


def test_a_store_at_schema_6_reads_its_older_rows_as_before_until_rebuilt(
    data_dir, keys, store_url
):
    """Schema 7: register rows keep when they stopped being pending, so `overdue_as_of` on a
    past day lists an obligation that lapsed since. Rows stored before have no such instant:
    they are read as before (a lapsed one is not listed) until `redress cases rebuild` derives
    it from the ledger."""
    from conftest import COMPLAINT
    from litestar.testing import TestClient

    from api.app import create_app
    from redress.cli import main

    def overdue(client, day: str) -> list[list[str]]:
        answer = client.get(f"/v1/cases?overdue_as_of={day}", headers=keys.audit)
        return [c["overdue"] for c in answer.json()["items"]]

    ended = {"facts": {"stage_two_outcome_at": "2027-01-25"}, "as_of": "2027-01-25T10:00:00Z"}
    with TestClient(create_app(data_dir)) as client:
        case_id = client.post("/v1/cases", json=COMPLAINT, headers=keys.decide).json()["case_id"]
        path = f"/v1/cases/{case_id}/events"
        assert client.post(path, json=ended, headers=keys.decide).status_code == 201
        assert overdue(client, "2027-01-19") == [["acknowledge", "outcome"]]

    rolled_back(data_dir, store_url, BACK_TO_6, 6).close()
    with TestClient(create_app(data_dir)) as client:  # opening upgrades the store
        assert overdue(client, "2027-01-19") == []  # lapsed: read as schema 6 read it
    assert main(["cases", "rebuild", "--data-dir", str(data_dir)]) == 0
    with TestClient(create_app(data_dir)) as client:
        assert overdue(client, "2027-01-19") == [["acknowledge", "outcome"]]
        assert overdue(client, "2027-01-26") == []


def test_a_store_at_schema_7_ends_its_console_sessions_which_then_name_their_key(
    data_dir, keys, store_url
):
    """Schema 8: a console session names the key that opened it, so revoking the key ends it.
    Sessions opened before name no key, so the upgrade ends them: their officers sign in
    again."""
    from litestar.testing import TestClient

    from api.app import create_app
    from console.pages import COOKIE

    audit_key = keys.audit["Authorization"].removeprefix("Bearer ")

    def signed_in(client: TestClient) -> str:
        answer = client.post("/console/sign-in", data={"key": audit_key}, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        return answer.cookies[COOKIE]

    with TestClient(create_app(data_dir)) as client:
        signed_in(client)
    conn = rolled_back(data_dir, store_url, BACK_TO_7, 7)
    conn.close()
    with TestClient(create_app(data_dir)) as client:  # opening upgrades the store
        assert client.get("/console", follow_redirects=False).status_code == 303  # signed out
        signed_in(client)
        assert client.get("/console", follow_redirects=False).status_code == 200
        me = next(
            k
            for k in client.get("/v1/keys", headers=keys.admin).json()["items"]
            if k["role"] == "audit"
        )
        assert client.delete(f"/v1/keys/{me['key_id']}", headers=keys.admin).status_code == 200
        assert client.get("/console", follow_redirects=False).status_code == 303


def test_a_case_is_opened_when_its_first_decision_is_recorded_and_schema_9_says_so(
    data_dir, keys, store_url
):
    """A case's `opened_at` is its first decision entry's `recorded_at` (what `verify` derives:
    the two commit together). Schema 9 gives the cases of an older store, stamped just before
    their write, that time; a case never updated since has it as `updated_at` too."""
    from litestar.testing import TestClient

    from api.app import create_app

    def opened_and_recorded(client: TestClient) -> list[tuple[str, str]]:
        pairs = []
        for item in client.get("/v1/cases", headers=keys.audit).json()["items"]:
            case = client.get(f"/v1/cases/{item['case_id']}", headers=keys.audit).json()
            first = case["decisions"][0]["ledger"]["index"]
            entry = client.get(f"/v1/ledger/entries/{first}", headers=keys.audit).json()
            pairs.append((item["opened_at"], entry["recorded_at"]))
        return pairs

    body = {"policy": "wme", "facts": {"received_at": "2026-03-02", "kind": "complaint"}}
    with TestClient(create_app(data_dir)) as client:
        answered = [
            client.post("/v1/cases", json=body, headers=keys.decide).json() for _ in range(3)
        ]
        event = {"facts": {"acts": {"acknowledge": "2026-03-03"}}}
        path = f"/v1/cases/{answered[0]['case_id']}/events"
        assert client.post(path, json=event, headers=keys.decide).status_code == 201
        pairs = opened_and_recorded(client)
    assert len(pairs) == 3 and all(opened == recorded for opened, recorded in pairs)
    assert sorted(c["opened_at"] for c in answered) == sorted(p[0] for p in pairs)

    conn = rolled_back(
        data_dir,
        store_url,
        "UPDATE cases SET opened_at = '2026-03-02T00:00:00.000000Z', "
        "updated_at = CASE WHEN updated_at = opened_at "
        "THEN '2026-03-02T00:00:00.000000Z' ELSE updated_at END",
        8,
    )
    try:
        with TestClient(create_app(data_dir)) as client:  # opening upgrades the store first
            assert opened_and_recorded(client) == pairs
        rows = conn.execute("SELECT case_id, opened_at, updated_at FROM cases").fetchall()
        touched = answered[0]["case_id"]
        assert all((opened == updated) == (case_id != touched) for case_id, opened, updated in rows)
    finally:
        conn.close()


def test_an_act_after_its_obligation_lapsed_leaves_it_lapsed_and_schema_10_says_so(
    data_dir, keys, store_url
):
    """CONTRACT.md: a row no longer listed "becomes `lapsed` if it was never done (its stage
    ended first)". Serco (client): `respond` ends when the dispute escalates (it is unresolved
    at its level); a response dated two days after that does not make it `late`. A store
    written before schema 10 kept such a row as `late`: the upgrade makes it `lapsed`, and
    `verify` then holds the case tables to the ledger again."""
    from litestar.testing import TestClient

    from api.app import create_app
    from redress.cli import main

    opened = {
        "policy": "serco-es",
        "as_of": "2026-10-09T15:00:00Z",
        "facts": {"received_at": "2026-10-09", "complainant_type": "client"},
    }
    escalated = {"as_of": "2026-10-14T15:00:00Z", "facts": {"unresolved_at_level": True}}
    answered = {"as_of": "2026-10-16T15:00:00Z", "facts": {"acts": {"respond": "2026-10-16"}}}

    def respond(client: TestClient, case_id: str) -> tuple[str, str | None]:
        case = client.get(f"/v1/cases/{case_id}", headers=keys.audit).json()
        row = next(r for r in case["obligations"] if r["name"] == "respond")
        return row["status"], row["done_at"]

    with TestClient(create_app(data_dir)) as client:
        case_id = client.post("/v1/cases", json=opened, headers=keys.decide).json()["case_id"]
        path = f"/v1/cases/{case_id}/events"
        assert client.post(path, json=escalated, headers=keys.decide).status_code == 201
        assert respond(client, case_id) == ("lapsed", None)
        assert client.post(path, json=answered, headers=keys.decide).status_code == 201
        assert respond(client, case_id) == ("lapsed", "2026-10-16")
        overdue = client.get("/v1/cases?overdue_as_of=2026-10-15", headers=keys.audit).json()
        assert overdue["items"] == []  # it had ended on the 14th, as the register says

    late = "UPDATE case_obligations SET status = 'late', ends_at = '2026-10-16T04:00:00.000000Z'"
    conn = rolled_back(data_dir, store_url, f"{late} WHERE name = 'respond'", 9)
    try:
        stored = conn.execute("SELECT status FROM case_obligations WHERE name = 'respond'")
        assert stored.fetchall() == [("late",)]  # as the code before schema 10 kept it
    finally:
        conn.close()
    database = [] if store_url == "sqlite" else ["--database", store_url]
    with TestClient(create_app(data_dir)) as client:  # opening upgrades the store
        assert respond(client, case_id) == ("lapsed", "2026-10-16")
    assert main(["cases", "check", "--data-dir", str(data_dir), *database]) == 0


def test_a_keys_dates_are_its_entries_and_schema_11_says_so(data_dir, keys, store_url):
    """A key's `created_at` is the `recorded_at` of its `create` entry and its `revoked_at`
    that of its `revoke` entry (they commit together), which `verify` holds them to: so the
    answer to `POST /v1/keys` and `GET /v1/keys` say. Schema 11 gives the keys of an older
    store, dated when the request came, their entries' times."""
    from litestar.testing import TestClient

    from api.app import create_app
    from redress.cli import main

    def dated(client: TestClient) -> dict[str, tuple[str, str | None]]:
        return {
            k["key_id"]: (k["created_at"], k["revoked_at"])
            for k in client.get("/v1/keys", headers=keys.admin).json()["items"]
        }

    def recorded(client: TestClient) -> dict[str, tuple[str, str | None]]:
        times: dict[str, list[str | None]] = {}
        entries = client.get("/v1/ledger/entries?limit=1000", headers=keys.audit).json()
        for entry in entries["items"]:
            if entry["kind"] == "key" and entry["body"].get("action") in ("create", "revoke"):
                at = times.setdefault(entry["body"]["key_id"], [None, None])
                at[entry["body"]["action"] == "revoke"] = entry["recorded_at"]
        return {key_id: (made, revoked) for key_id, (made, revoked) in times.items()}

    retried = {**keys.admin, "Idempotency-Key": "key-1"}
    with TestClient(create_app(data_dir)) as client:
        made = client.post("/v1/keys", json={"role": "audit"}, headers=retried).json()
        assert client.delete(f"/v1/keys/{made['key_id']}", headers=keys.admin).status_code == 200
        before = dated(client)
        assert before == recorded(client) and before[made["key_id"]][1] is not None
        assert made["created_at"] == before[made["key_id"]][0]

    # As the code before schema 11 kept them: dated when the request came, the kept answer too.
    then = "2026-03-02T00:00:00.000000Z"
    if store_url == "sqlite":
        answer = f"CAST(json_set(CAST(response AS TEXT), '$.created_at', '{then}') AS BLOB)"
    else:
        answer = (
            'convert_to(regexp_replace(convert_from(response, \'UTF8\'), \'"created_at":"[^"]*"\','
            f" '\"created_at\":\"{then}\"'), 'UTF8')"
        )
    conn = rolled_back(
        data_dir,
        store_url,
        f"UPDATE api_keys SET created_at = '{then}', revoked_at = CASE WHEN revoked_at IS NULL"
        f" THEN NULL ELSE '2026-03-03T00:00:00.000000Z' END; UPDATE idempotency SET response ="
        f" {answer}",
        10,
    )
    conn.close()
    with TestClient(create_app(data_dir)) as client:  # opening upgrades the store first
        assert dated(client) == before
        again = client.post("/v1/keys", json={"role": "audit"}, headers=retried)
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["created_at"] == made["created_at"]
    store = ["--data-dir", str(data_dir)]
    if store_url != "sqlite":
        store = ["--database", store_url, "--public-key", str(data_dir / "public.key")]
    assert main(["verify", *store]) == 0


def test_schema_12_keeps_when_an_obligation_was_not_listed(data_dir, keys, store_url):
    """A register row keeps the times its obligation had lapsed before a later decision listed
    it again (it was not overdue then). A store written before schema 12 has none: `redress
    cases check` names a case that had such a time, and `redress cases rebuild` derives it."""
    from litestar.testing import TestClient

    from api.app import create_app
    from redress.cli import main

    facts = {"received_at": "2026-03-02", "kind": "complaint", "category": "misconduct"}
    body = {"policy": "wme", "as_of": "2026-03-02T10:00:00Z", "facts": {**facts, "complex": True}}
    with TestClient(create_app(data_dir)) as client:
        case_id = client.post("/v1/cases", json=body, headers=keys.decide).json()["case_id"]
        for as_of, change in (("2026-03-20T10:00:00Z", None), ("2026-03-25T10:00:00Z", True)):
            event = {"as_of": as_of, "facts": {"complex": change}}
            path = f"/v1/cases/{case_id}/events"
            assert client.post(path, json=event, headers=keys.decide).status_code == 201
    rolled_back(data_dir, store_url, "", 11).close()
    database = [] if store_url == "sqlite" else ["--database", store_url]
    command = ["--data-dir", str(data_dir), *database]
    with TestClient(create_app(data_dir)):  # opening upgrades the store
        pass
    assert main(["cases", "check", *command]) == 1
    assert main(["cases", "rebuild", *command]) == 0
    assert main(["cases", "check", *command]) == 0


def _verified(data_dir, store_url: str, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    from redress.cli import main

    store = ["--data-dir", str(data_dir)]
    if store_url != "sqlite":
        store = ["--database", store_url, "--public-key", str(data_dir / "public.key")]
    capsys.readouterr()
    code = main(["verify", *store])
    return code, capsys.readouterr().out


def test_a_version_record_set_back_is_refused_and_verify_names_it(
    data_dir, keys, store_url, capsys
):
    """Found by a probe damaging one cell of the store at a time: a version record set back by
    hand made `serve` run migrations again over tables that have them (a traceback on
    PostgreSQL, "duplicate column name" on SQLite) while `verify` said ok. Both now name it."""
    from store import open_store as opened
    from store.base import DamagedValue

    rolled_back(data_dir, store_url, "SELECT 1", 5).close()
    with pytest.raises(DamagedValue, match="version record was set back by other hands"):
        opened(data_dir)
    code, out = _verified(data_dir, store_url, capsys)
    assert code == 1
    assert out.startswith(
        f"the schema's version record was set back by other hands: it names version 5, its "
        f"tables are version {SCHEMA_VERSION}'s"
    ), out


def test_an_older_schema_is_not_called_set_back_and_a_newer_one_is_not_read(
    data_dir, keys, store_url, capsys
):
    """A store an older Redress wrote (here version 11: schema 12 adds a column) is no damage:
    `verify` asks for `serve` to migrate it first; one a newer Redress wrote it cannot read."""
    from litestar.testing import TestClient

    from api.app import create_app

    rolled_back(data_dir, store_url, "SELECT 1", 11).close()
    code, out = _verified(data_dir, store_url, capsys)
    assert code == 1
    assert out.startswith(
        f"the schema is version 11, older than this Redress's {SCHEMA_VERSION}: `redress serve` "
        "migrates it"
    ), out
    with TestClient(create_app(data_dir)):  # opening upgrades the store
        pass
    assert _verified(data_dir, store_url, capsys)[0] == 0
    newer = SCHEMA_VERSION + 1
    if store_url == "sqlite":
        with sqlite3.connect(data_dir / "redress.db") as conn:
            conn.execute(f"PRAGMA user_version = {newer}")
    else:
        import psycopg

        with psycopg.connect(store_url, autocommit=True) as conn:
            conn.execute(f"UPDATE redress_schema SET version = {newer}")
    code, out = _verified(data_dir, store_url, capsys)
    assert code == 1, out
    assert out.startswith(f"the schema is version {newer}; this Redress knows up"), out
