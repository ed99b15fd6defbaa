"""The PostgreSQL store on its own: migrating a SQLite store into it, upgrading its schema,
refusing a newer one, and what an operator sees when the database is away.

Issue 13: "`redress migrate --data-dir DIR --to-database URL`: same entries byte for byte, same
root hash, checkpoints still verify; refuses a non-empty target", "Versioned schema migrations
for both stores, applied at start, with a test that upgrades a store written by the previous
schema", "the database unreachable at start (exit non-zero, one line naming the URL without its
password), lost mid-request (503 problem details, nothing half-written, the node recovers when
the database returns), a schema newer than the code (refuse to start)".
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from conftest import COMPLAINT, LIVE_COMPLAINT, bearer, free_port, server_database_url, with_options
from litestar.testing import TestClient

from api.app import create_app
from api.keys import create_key
from ledger.store import Ledger
from ledger.verify import verify_database
from store import SchemaTooNew, open_store
from store.pg_migrations import SCHEMA_VERSION
from store.postgres import ledger_snapshot

REDRESS = str(Path(sys.executable).parent / "redress")


def redress(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "REDRESS_DATABASE_URL"}
    return subprocess.run([REDRESS, *args], capture_output=True, text=True, timeout=120, env=env)


def verified_database(key_dir: Path, store_url: str) -> subprocess.CompletedProcess[str]:
    """`redress verify` of the database, with the public key beside the node's key files."""
    return redress("verify", "--database", store_url, "--public-key", str(key_dir / "public.key"))


def sqlite_store_with_cases(data: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite store with decisions, a case with personal data and an event; its case id."""
    with monkeypatch.context() as m:
        m.delenv("REDRESS_DATABASE_URL")
        decide = bearer(create_key(data, "decide"))
        with TestClient(create_app(data)) as client:
            opened = {**COMPLAINT, "personal": {"name": "A. Person"}}
            case = client.post("/v1/cases", json=opened, headers=decide).json()
            for _ in range(5):
                assert client.post("/v1/decisions", json=COMPLAINT, headers=decide).status_code
            event = {"facts": {"upheld": True}, "as_of": "2026-12-28T10:00:00Z"}
            path = f"/v1/cases/{case['case_id']}/events"
            assert client.post(path, json=event, headers=decide).status_code == 201
    return case["case_id"]


def test_migrate_copies_a_sqlite_store_byte_for_byte(tmp_path, store_url, monkeypatch):
    """CONTRACT: `redress migrate` "copies a SQLite store into an empty PostgreSQL database,
    byte for byte: same entries, same root hash, checkpoints still verify"."""
    data = tmp_path / "data"
    case_id = sqlite_store_with_cases(data, monkeypatch)
    done = redress("migrate", "--data-dir", str(data), "--to-database", store_url)
    assert done.returncode == 0, done.stderr

    with sqlite3.connect(data / "redress.db") as conn:
        rows = conn.execute("SELECT idx, entry, entry_hash FROM entries ORDER BY idx")
        source = [(index, bytes(raw), digest) for index, raw, digest in rows]
        source_checkpoints = conn.execute(
            "SELECT tree_size, root_hash, note FROM checkpoints ORDER BY tree_size"
        ).fetchall()
    with ledger_snapshot(store_url) as snapshot:
        assert list(snapshot.entries()) == source
        assert snapshot.checkpoints() == source_checkpoints

    public_key = str(data / "public.key")
    assert redress("verify", "--data-dir", str(data)).returncode == 0
    checked = redress("verify", "--database", store_url, "--public-key", public_key)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # The node on PostgreSQL carries on: same root, personal data still opens, the chain grows.
    ledger = Ledger.open(data)
    assert ledger.root_hash(len(source)) == source_checkpoints[-1][1]
    assert ledger.open_personal(case_id) == {"name": "A. Person"}
    admin = bearer(create_key(data, "admin"))
    with TestClient(create_app(data)) as client:
        assert client.get(f"/v1/cases/{case_id}", headers=admin).status_code == 200
        answer = client.post("/v1/decisions", json=COMPLAINT, headers=admin)
        # after the admin key's own `key` entry
        assert answer.status_code == 201 and answer.json()["ledger"]["index"] == len(source) + 1
    ledger.close()
    assert verify_database(store_url, public_key=(data / "public.key").read_text()).ok

    # replay and export read the database too; the export verifies elsewhere.
    replayed = redress("replay", "--data-dir", str(data), "--database", store_url)
    assert replayed.returncode == 0 and replayed.stdout.startswith("ok: 8 decisions")
    out = tmp_path / "ledger.jsonl"
    exported = redress(
        "export", "--data-dir", str(data), "--database", store_url, "--out", str(out)
    )
    assert exported.returncode == 0, exported.stderr
    assert redress("verify", "--export", str(out), "--public-key", public_key).returncode == 0

    again = redress("migrate", "--data-dir", str(data), "--to-database", store_url)
    assert again.returncode == 1 and "empty database only" in again.stderr


def test_a_store_written_by_the_previous_schema_is_upgraded_at_start(tmp_path, store_url):
    """Issue 13: "a test that upgrades a store written by the previous schema". Version 1 had
    no `ledger_tail` row (version 2 builds it from the entries) and no idempotency table
    (version 3)."""
    ledger = Ledger.open(tmp_path)
    for n in range(6):
        ledger.append("erasure", {"case_id": f"c{n}", "commitments": []})
    ledger.close()
    with psycopg.connect(store_url, autocommit=True) as conn:  # back to what version 1 wrote
        conn.execute("DROP TABLE ledger_tail")
        conn.execute("DROP TABLE idempotency")
        # what versions 4 and 5 added (the decision index and sessions; key ids, case purpose)
        conn.execute(
            "DROP TABLE decision_index, decision_flags, decision_counts, decision_obligations, "
            "console_sessions"
        )
        conn.execute("ALTER TABLE api_keys DROP COLUMN key_id, DROP COLUMN name, "
                     "DROP COLUMN revoked_at")  # fmt: skip
        conn.execute("DROP INDEX cases_opened, cases_state_opened")
        conn.execute("ALTER TABLE cases DROP COLUMN purpose")
        conn.execute("ALTER TABLE case_obligations DROP COLUMN seq")
        conn.execute("ALTER TABLE case_obligations DROP COLUMN dropped_at, DROP COLUMN ends_at")
        conn.execute("ALTER TABLE case_obligations DROP COLUMN gaps")  # what version 12 added
        conn.execute("UPDATE redress_schema SET version = 1")

    again = Ledger.open(tmp_path)
    assert again.tree_size() == 7
    receipt = again.append("erasure", {"case_id": "after", "commitments": []})
    assert receipt.index == 7 and receipt.tree_size == 8
    again.close()
    with psycopg.connect(store_url) as conn:
        assert conn.execute("SELECT version FROM redress_schema").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT COUNT(*) FROM idempotency").fetchone()[0] == 0
    assert verify_database(store_url).ok


def test_a_schema_newer_than_the_code_is_refused(tmp_path, store_url):
    open_store(tmp_path).close()
    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute("UPDATE redress_schema SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(SchemaTooNew):
        open_store(tmp_path)
    refused = redress("serve", "--data-dir", str(tmp_path), "--database", store_url)
    assert refused.returncode != 0
    assert refused.stderr.strip().count("\n") == 0 and "upgrade Redress" in refused.stderr


def test_an_unreachable_database_at_start_is_one_line_without_the_password(tmp_path):
    url = f"postgresql://redress:hunter2@127.0.0.1:{free_port()}/nowhere"
    for command in (["serve"], ["keys", "create", "--role", "admin"], ["replay"], ["export"]):
        extra = ["--out", str(tmp_path / "x.jsonl")] if command == ["export"] else []
        done = redress(*command, "--data-dir", str(tmp_path), "--database", url, *extra)
        assert done.returncode != 0
        assert done.stderr.count("\n") == 1, done.stderr
        assert "postgresql://redress@127.0.0.1:" in done.stderr
        assert "hunter2" not in done.stderr and "Traceback" not in done.stderr


@pytest.fixture
def own_database(store_url):
    """A database of its own (so that it can be made unreachable without touching others)."""
    name = f"redress_db_{uuid.uuid4().hex[:10]}"
    server = server_database_url()
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    base = server.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield name, with_options(base, application_name=name)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            admin.execute(f"DROP DATABASE {name}")


def set_reachable(name: str, reachable: bool) -> None:
    with psycopg.connect(server_database_url(), autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {str(reachable).lower()}")
        if not reachable:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )


def test_ready_and_writes_follow_the_database_away_and_back(tmp_path, own_database, monkeypatch):
    """CONTRACT: "`GET /ready` (the store takes writes now)"; issue 13: lost mid-request is
    "503 problem details, nothing half-written, the node recovers when the database returns"."""
    name, url = own_database
    monkeypatch.setenv("REDRESS_DATABASE_URL", url)
    decide = bearer(create_key(tmp_path, "decide"))
    with TestClient(create_app(tmp_path)) as client:
        assert client.get("/ready").status_code == 200
        assert client.post("/v1/decisions", json=COMPLAINT, headers=decide).status_code == 201

        set_reachable(name, False)
        away = client.get("/ready")
        assert away.status_code == 503
        assert away.headers["content-type"].startswith("application/problem+json")
        for path, body in (("/v1/decisions", COMPLAINT), ("/v1/cases", COMPLAINT)):
            lost = client.post(path, json=body, headers=decide)
            assert lost.status_code == 503, lost.text
            assert lost.headers["retry-after"] and lost.json()["status"] == 503

        set_reachable(name, True)
        assert client.get("/ready").status_code == 200
        back = client.post("/v1/decisions", json=COMPLAINT, headers=decide)
        assert back.status_code == 201, back.text
    report = verify_database(url)
    assert report.ok, report.summary
    with psycopg.connect(url) as conn:  # genesis, the key, policy, two decisions: nothing else
        assert conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 5
        assert conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 0


def test_ready_answers_at_once_when_the_database_is_back(tmp_path, own_database, monkeypatch):
    """README: "`GET /ready` says whether a node's store takes writes now, within about a
    second". Reads while the database was away leave the read pool reconnecting with growing
    pauses; neither the probe nor the next reads wait for it (it took 5 s, once saying 503
    while the node's next write was a 201: found by an audit)."""
    name, url = own_database
    monkeypatch.setenv("REDRESS_DATABASE_URL", url)
    decide, audit = bearer(create_key(tmp_path, "decide")), bearer(create_key(tmp_path, "audit"))
    with TestClient(create_app(tmp_path)) as client:
        assert client.get("/ready").status_code == 200
        set_reachable(name, False)
        for _ in range(2):  # reads that fail, the pool's reconnection pausing longer each time
            assert client.get("/v1/ledger/checkpoint", headers=audit).status_code == 503
        set_reachable(name, True)
        began = time.monotonic()
        assert client.get("/ready").status_code == 200
        assert time.monotonic() - began < 1.5
        # Nor do reads and writes wait for that pool (its next try is seconds away): a write
        # right after `/ready` said 200 answered 503 once, its key check waiting 5 s for it.
        began = time.monotonic()
        assert client.get("/v1/ledger/checkpoint", headers=audit).status_code == 200
        assert time.monotonic() - began < 1.5
        written = client.post("/v1/decisions", json=COMPLAINT, headers=decide)
        assert written.status_code == 201, written.text


def test_ready_says_503_at_once_for_a_read_only_or_locked_database(
    tmp_path, own_database, monkeypatch
):
    """`GET /ready` is "the store takes writes now": not on a database made read-only (every
    write failed while it said 200), and not, after a second, while someone holds the ledger's
    tables locked (it waited for the lock, then said 200)."""
    name, url = own_database
    monkeypatch.setenv("REDRESS_DATABASE_URL", url)
    decide = bearer(create_key(tmp_path, "decide"))
    with TestClient(create_app(tmp_path)) as client:
        assert client.get("/ready").status_code == 200
        with psycopg.connect(url) as other:
            other.execute("LOCK TABLE entries IN ACCESS EXCLUSIVE MODE")
            began = time.monotonic()
            assert client.get("/ready").status_code == 503
            assert time.monotonic() - began < 4
        assert client.get("/ready").status_code == 200

        with psycopg.connect(server_database_url(), autocommit=True) as admin:
            admin.execute(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
        try:
            assert client.get("/ready").status_code == 503
            refused = client.post("/v1/decisions", json=COMPLAINT, headers=decide)
            assert refused.status_code == 503, refused.text
            assert "is read-only" in refused.json()["detail"]  # reached: not "cannot be reached"
        finally:
            with psycopg.connect(server_database_url(), autocommit=True) as admin:
                admin.execute(f"ALTER DATABASE {name} RESET default_transaction_read_only")
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (name,),
                )
        assert client.get("/ready").status_code == 200
        assert client.post("/v1/decisions", json=COMPLAINT, headers=decide).status_code == 201


def test_connections_the_server_closed_while_idle_cost_no_request(
    tmp_path, own_database, monkeypatch
):
    """After the database closed the node's idle connections (a restart, an administrator),
    the next write is answered 201 on a new connection: nothing had run on the closed one.
    (The first write after it answered 503, one for each node.)"""
    name, url = own_database
    monkeypatch.setenv("REDRESS_DATABASE_URL", url)
    decide = bearer(create_key(tmp_path, "decide"))
    with TestClient(create_app(tmp_path)) as client:
        assert client.post("/v1/decisions", json=COMPLAINT, headers=decide).status_code == 201
        for _ in range(2):
            with psycopg.connect(server_database_url(), autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (name,),
                )
            written = client.post("/v1/decisions", json=COMPLAINT, headers=decide)
            assert written.status_code == 201, written.text
            read = client.get(f"/v1/decisions/{written.json()['decision_id']}", headers=decide)
            assert read.status_code == 200, read.text
    assert verify_database(url).ok


def test_reads_after_the_database_closed_every_idle_reader_answer(
    tmp_path, own_database, monkeypatch
):
    """After the database closed all the pool's idle reader connections (a restart, an
    administrator), a burst of reads is answered on new connections, none with 503. (With
    the pool's own check, a read that drew a dead connection waited 1, then 2, then 4 s before
    trying another, and from the second such burst on every read answered 503 after 5 s:
    found by a durability audit.)"""
    from concurrent.futures import ThreadPoolExecutor

    name, url = own_database
    monkeypatch.setenv("REDRESS_DATABASE_URL", url)
    audit = bearer(create_key(tmp_path, "audit"))
    paths = ["/v1/policies", "/v1/cases?limit=1", "/v1/ledger/checkpoint"] * 6
    with TestClient(create_app(tmp_path)) as client, ThreadPoolExecutor(18) as pool:

        def burst() -> list[int]:
            return list(pool.map(lambda p: client.get(p, headers=audit).status_code, paths))

        assert burst() == [200] * 18  # the pool grows to its most
        for _ in range(3):
            time.sleep(2)  # idle
            with psycopg.connect(server_database_url(), autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (name,),
                )
            time.sleep(0.5)
            assert burst() == [200] * 18


class CuttingProxy:
    """A TCP proxy to the test's PostgreSQL server that, once `armed`, forwards the next
    `COMMIT` of the store's writer and then cuts that connection before the server's answer
    can come back: the commit happens, and the client only learns that its connection died
    (as when an administrator or a failover ends a backend at that moment)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        import socket
        import threading

        self.upstream = upstream
        self.armed = threading.Event()
        self.cut = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source, sink, from_client: bool) -> None:  # noqa: ANN001
        import socket

        writer = False  # the store's writer's connection: its transactions set a lock timeout
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
                writer = writer or (from_client and b"lock_timeout" in chunk)
                if writer and self.armed.is_set() and b"COMMIT\x00" in chunk:
                    self.armed.clear()
                    source.shutdown(socket.SHUT_RDWR)  # the client will never get the answer
                    self.cut.set()
                    time.sleep(0.3)  # while the server commits
                    break
        except OSError:
            pass
        for end in (source, sink):
            end.close()

    def close(self) -> None:
        self.listener.close()


def test_a_commit_whose_answer_was_lost_is_answered_as_done(tmp_path, own_database, monkeypatch):
    """The database committed a batch and the connection died before its answer came back:
    the batch's writes are recorded, so they are answered 201, not 503 (a client retrying a
    503 without an `Idempotency-Key` recorded its decision twice: found by a durability audit,
    ending backends under load). The writer checks its last entry on a new connection."""
    from urllib.parse import urlsplit

    name, url = own_database
    where = urlsplit(url)
    proxy = CuttingProxy((where.hostname or "127.0.0.1", where.port or 5432))
    through = where._replace(netloc=f"{where.username}@127.0.0.1:{proxy.port}").geturl()
    monkeypatch.setenv("REDRESS_DATABASE_URL", with_options(through, sslmode="disable"))
    decide = bearer(create_key(tmp_path, "decide"))
    try:
        with TestClient(create_app(tmp_path)) as client:
            assert client.post("/v1/decisions", json=COMPLAINT, headers=decide).status_code == 201
            proxy.armed.set()
            written = client.post("/v1/decisions", json=COMPLAINT, headers=decide)
            assert proxy.cut.is_set()
            assert written.status_code == 201, written.text
            read = client.get(f"/v1/decisions/{written.json()['decision_id']}", headers=decide)
            assert read.status_code == 200, read.text
            after = client.post("/v1/decisions", json=COMPLAINT, headers=decide)
            assert after.status_code == 201, after.text
    finally:
        proxy.close()
    with psycopg.connect(url) as conn:  # three decisions, each once
        kinds = conn.execute("SELECT kind, COUNT(*) FROM entries GROUP BY kind").fetchall()
    assert dict(kinds)["decision"] == 3
    assert verify_database(url).ok


def test_a_tail_locked_for_five_seconds_is_503_while_reads_answer(tmp_path, store_url):
    """CONTRACT: "A store that stays busy for 5 s answers 503 with `Retry-After`"; reads run on
    their own connections and never wait for the writer."""
    decide = bearer(create_key(tmp_path, "decide"))
    with TestClient(create_app(tmp_path)) as client:
        first = client.post("/v1/decisions", json=COMPLAINT, headers=decide).json()
        with psycopg.connect(store_url) as other:  # another node, stuck inside its batch
            other.execute("SELECT size FROM ledger_tail WHERE id = 1 FOR UPDATE")
            busy = client.post("/v1/decisions", json=COMPLAINT, headers=decide)
            assert busy.status_code == 503 and busy.headers["retry-after"], busy.text
            read = client.get(f"/v1/decisions/{first['decision_id']}", headers=decide)
            assert read.status_code == 200
        after = client.post("/v1/decisions", json=COMPLAINT, headers=decide)
        assert after.status_code == 201
    assert verify_database(store_url).ok


def test_a_schema_renamed_away_is_503_and_back_is_201(tmp_path, store_url):
    """The store's tables gone from under a running node (a schema renamed by an operator) are
    the database being away: 503 with `Retry-After`, never a 500, and writes resume after."""
    from urllib.parse import parse_qs, urlsplit

    schema = parse_qs(urlsplit(store_url).query)["application_name"][0]
    decide = bearer(create_key(tmp_path, "decide"))
    with TestClient(create_app(tmp_path)) as client:
        assert client.post("/v1/decisions", json=COMPLAINT, headers=decide).status_code == 201
        with psycopg.connect(server_database_url(), autocommit=True) as admin:
            admin.execute(f"ALTER SCHEMA {schema} RENAME TO {schema}_away")
            try:
                assert client.get("/ready").status_code == 503
                lost = client.post("/v1/decisions", json=COMPLAINT, headers=decide)
                assert lost.status_code == 503 and lost.headers["retry-after"], lost.text
            finally:
                admin.execute(f"ALTER SCHEMA {schema}_away RENAME TO {schema}")
        assert client.get("/ready").status_code == 200
        assert client.post("/v1/decisions", json=COMPLAINT, headers=decide).status_code == 201
    assert verify_database(store_url).ok


def ledger_of(tmp_path, entries: int) -> Ledger:
    ledger = Ledger.open(tmp_path)
    for n in range(entries):
        ledger.append("erasure", {"case_id": f"c{n}", "commitments": []})
    return ledger


def test_verify_database_names_a_modified_entry(tmp_path, store_url):
    """`verify --database` recomputes everything from the entry bytes, as for SQLite: one
    changed byte in entry 7 is named, with its index."""
    ledger_of(tmp_path, 20).close()
    intact = verify_database(store_url)
    assert intact.ok and intact.tree_size == 21 and intact.checkpoints_checked >= 1
    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE entries SET entry = convert_to(replace(convert_from(entry, 'UTF8'), "
            "'\"c6\"', '\"c9\"'), 'UTF8') WHERE idx = 7"
        )
    report = verify_database(store_url)
    assert not report.ok and report.damage == "modified" and report.first_bad_index == 7


def test_verify_checks_the_database_the_environment_names_and_says_so(
    tmp_path, store_url, monkeypatch, capsys
):
    """CONTRACT.md: "Every command that reads or writes a store takes `--data-dir DIR` or
    `--database URL` (and `REDRESS_DATABASE_URL`)". `verify --data-dir D` with the variable
    set checked D's own SQLite file (an audit got `ok` there, for a database with a changed
    entry) while every other command used the database. It checks the database now, and says
    which; a file named (`--export`, `--receipt`) is still what is checked."""
    from redress.cli import main

    with monkeypatch.context() as m:
        m.delenv("REDRESS_DATABASE_URL")
        ledger_of(tmp_path, 3).close()  # a SQLite store in D, intact
    ledger_of(tmp_path / "node", 20).close()  # the database's ledger
    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE entries SET entry = convert_to(replace(convert_from(entry, 'UTF8'), "
            "'\"c6\"', '\"c9\"'), 'UTF8') WHERE idx = 7"
        )
    assert main(["verify", "--data-dir", str(tmp_path)]) == 1
    said = capsys.readouterr()
    assert "entry 7" in said.out, said.out
    assert "checking the database" in said.err and "REDRESS_DATABASE_URL" in said.err
    monkeypatch.delenv("REDRESS_DATABASE_URL")
    assert main(["verify", "--data-dir", str(tmp_path)]) == 0


def test_verify_database_names_entries_cut_from_the_end(tmp_path, store_url):
    ledger_of(tmp_path, 20).close()
    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute("DELETE FROM entries WHERE idx >= 15")
    report = verify_database(store_url)
    assert not report.ok and report.damage == "truncated", report.summary


def test_a_node_with_other_key_files_refuses_to_start(tmp_path, store_url):
    """Every node signs checkpoints of the one ledger, so every node must hold its key: a node
    started with other key files would make the ledger unverifiable, and is refused."""
    Ledger.open(tmp_path / "first").close()
    refused = redress("serve", "--data-dir", str(tmp_path / "other"), "--database", store_url)
    assert refused.returncode == 2
    assert "give every node the same key files" in refused.stderr
    assert verify_database(store_url).ok


def test_a_node_still_holding_a_retired_signing_key_is_refused(tmp_path, store_url):
    """Nodes on other machines hold copies of the key files. After `keys rotate-signing` on one
    node, another still holding the old key would sign checkpoints `verify` refuses (a retired
    key signs nothing new): `serve` refuses it, and so does a second rotation from it."""
    first, second = tmp_path / "first", tmp_path / "second"
    Ledger.open(first).close()  # the genesis entry names the first key
    second.mkdir()
    for name in ("signing.key", "public.key"):
        (second / name).write_bytes((first / name).read_bytes())
    genesis = tmp_path / "genesis.key"
    genesis.write_bytes((first / "public.key").read_bytes())
    new_key = tmp_path / "new" / "signing.key"
    rotated = redress(
        "keys", "rotate-signing", "--data-dir", str(first), "--database", store_url,
        "--new-key", str(new_key),
    )  # fmt: skip
    assert rotated.returncode == 0, rotated.stderr
    in_force = rotated.stdout.strip()

    refused = redress("serve", "--data-dir", str(second), "--database", store_url)
    assert refused.returncode == 2
    assert "was retired by a rotation" in refused.stderr and in_force in refused.stderr
    stray = tmp_path / "stray" / "signing.key"
    again = redress(
        "keys", "rotate-signing", "--data-dir", str(second), "--database", store_url,
        "--new-key", str(stray),
    )  # fmt: skip
    assert again.returncode == 2 and "was retired by a rotation" in again.stderr
    assert not stray.exists()

    # The node given the key in force starts.
    command = [REDRESS, "serve", "--data-dir", str(first), "--database", store_url]
    command += ["--signing-key", str(new_key), "--port", str(free_port())]
    env = {k: v for k, v in os.environ.items() if k != "REDRESS_DATABASE_URL"}
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert server.stderr is not None
        lines = iter(server.stderr.readline, "")
        assert any(line.startswith("Redress on http://") for line in lines)
    finally:
        server.terminate()
        server.wait(timeout=30)
    checked = redress("verify", "--database", store_url, "--public-key", str(genesis), "--strict")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_keys_are_listed_and_revoked_on_the_database(tmp_path, store_url):
    """CONTRACT: "Every command that reads or writes a store takes `--data-dir DIR` or
    `--database URL` (and `REDRESS_DATABASE_URL`)", and `redress keys revoke KEY_ID`: "the key
    is refused (401) by every worker and node". Both looked for a SQLite file instead."""
    data = tmp_path / "node"  # holds only the key files: no redress.db
    made = redress(
        "keys", "create", "--role", "decide", "--data-dir", str(data), "--database", store_url
    )
    assert made.returncode == 0, made.stderr
    key_id = made.stderr.split("key id: ")[1].split()[0]

    listed = redress("keys", "list", "--data-dir", str(data), "--database", store_url)
    assert listed.returncode == 0, listed.stderr
    assert key_id in listed.stdout and "decide" in listed.stdout
    assert not (data / "redress.db").exists()

    env = {**os.environ, "REDRESS_DATABASE_URL": store_url}
    revoked = subprocess.run(
        [REDRESS, "keys", "revoke", key_id, "--data-dir", str(data)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == f"revoked {key_id}"
    after = redress("keys", "list", "--database", store_url, "--data-dir", str(data))
    row = next(line for line in after.stdout.splitlines() if line.startswith(key_id))
    assert row.split("\t")[-1] != "-"  # revoked at a time
    assert not (data / "redress.db").exists()

    # From a directory holding no node's keys: refused, and no key files made there.
    elsewhere = tmp_path / "not-a-node"
    refused = redress(
        "keys", "revoke", key_id, "--data-dir", str(elsewhere), "--database", store_url
    )
    assert refused.returncode == 2 and "no signing key at" in refused.stderr, refused.stderr
    assert not elsewhere.exists()


def test_a_node_without_the_ledgers_key_files_is_told_so_not_of_a_rotation(tmp_path, store_url):
    """A command on a data directory without the ledger's key files (the default
    `./redress-data` on another machine, say) makes a key of its own, which the ledger never
    recorded: the refusal says that, not that a rotation retired it (none happened)."""
    first = tmp_path / "node"
    made = redress(
        "keys", "create", "--role", "audit", "--data-dir", str(first), "--database", store_url
    )
    assert made.returncode == 0, made.stderr
    stray = tmp_path / "elsewhere"
    refused = redress(
        "keys", "create", "--role", "audit", "--data-dir", str(stray), "--database", store_url
    )
    assert refused.returncode == 2
    assert "not one the ledger recorded" in refused.stderr, refused.stderr
    assert "rotation" not in refused.stderr


def test_a_table_that_no_longer_keeps_its_key_is_named(tmp_path, store_url):
    """As on SQLite: a table without the unique key the service's reads rely on could hold a
    row twice, every row right alone; `verify` names it."""
    ledger = Ledger.open(tmp_path)
    ledger.append("erasure", {"case_id": "c1", "commitments": []})
    ledger.close()
    assert verify_database(store_url).ok
    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE checkpoints DROP CONSTRAINT checkpoints_pkey")
        # Kept for every row but some (a partial index) is not kept.
        conn.execute("CREATE UNIQUE INDEX partly ON checkpoints (tree_size) WHERE tree_size > 1")
    report = verify_database(store_url)
    assert not report.ok and report.damage == "unkeyed", report.summary
    assert report.summary.startswith("table checkpoints no longer keeps (tree_size) unique")


def _edit(url: str, statement: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute(statement).rowcount >= 1


@pytest.mark.parametrize(
    "edit",
    [
        # A node appended to the frontier of no tree (every write 500) or a second genesis
        # entry (refused by the database, a traceback from `serve`).
        "UPDATE ledger_tail SET size = -1",
        "UPDATE ledger_tail SET size = 0",
        # Migrations the tables have taken already were run again: a traceback from `serve`.
        "UPDATE redress_schema SET version = 7",
        # The hash the next entry chains to, no hash (`verify` had said ok).
        "UPDATE ledger_tail SET tail_hash = 'x'",
    ],
)
def test_serve_refuses_a_database_edited_into_a_state_it_never_writes(tmp_path, store_url, edit):
    """Found by a probe damaging one cell of the database at a time: each of these stores is
    refused in one line naming `redress verify` as it checks a database (it had named the key
    directory, where no ledger is), never a traceback; and `verify` names the damage."""
    Ledger.open(tmp_path).close()
    create_key(tmp_path, "decide")
    _edit(store_url, edit)
    refused = redress("serve", "--data-dir", str(tmp_path), "--database", store_url)
    assert refused.returncode == 2, refused.stderr
    assert "Traceback" not in refused.stderr, refused.stderr
    assert "redress verify --database postgresql://" in refused.stderr, refused.stderr
    verified = verified_database(tmp_path, store_url)
    assert verified.returncode == 1, verified.stdout + verified.stderr


def test_a_case_decisions_place_edited_is_named_by_verify(tmp_path, store_url):
    """A case's decisions are numbered 0, 1, 2…; a last one given another place still lists
    last, and the next event's would be listed before it."""
    admin = bearer(create_key(tmp_path, "admin"))
    with TestClient(create_app(tmp_path)) as client:
        opened = client.post("/v1/cases", json=LIVE_COMPLAINT, headers=admin)
        assert opened.status_code == 201, opened.text
    _edit(store_url, "UPDATE case_decisions SET seq = 7")
    verified = verified_database(tmp_path, store_url)
    assert verified.returncode == 1, verified.stdout + verified.stderr
    assert "places (seq) are not 0, 1, 2" in verified.stdout, verified.stdout


def test_a_tail_row_that_reads_but_is_wrong_is_named_by_verify(tmp_path, store_url):
    """A tail row `serve` can read, naming another last hash: the next entry would chain to
    it, not to the ledger's last entry."""
    Ledger.open(tmp_path).close()
    create_key(tmp_path, "decide")
    _edit(store_url, "UPDATE ledger_tail SET tail_hash = repeat('a', 64)")
    verified = verified_database(tmp_path, store_url)
    assert verified.returncode == 1, verified.stdout + verified.stderr
    assert verified.stdout.startswith("the ledger's tail row says 2 entries"), verified.stdout


def test_a_key_entry_that_is_no_json_is_named_not_a_traceback(tmp_path, store_url):
    """Found by the probe: `verify` reads the key entries first (the signing-key chain), and
    one that is no JSON, not the last, printed a traceback there."""
    Ledger.open(tmp_path).close()
    create_key(tmp_path, "decide")
    create_key(tmp_path, "decide")
    _edit(store_url, "UPDATE entries SET entry = '' WHERE idx = 1")
    verified = verified_database(tmp_path, store_url)
    assert verified.returncode == 1, verified.stdout + verified.stderr
    assert "Traceback" not in verified.stderr, verified.stderr
    assert verified.stdout.startswith("entry 1 is not a canonical entry"), verified.stdout


@pytest.mark.parametrize(
    ("edit", "method", "path"),
    [
        # The overdue listing's SQL reads `gaps` as JSON: no JSON, or no list, was a 500.
        ("UPDATE case_obligations SET gaps = 'x'", "GET", "/v1/cases?overdue_as_of=2026-12-01"),
        ("UPDATE case_obligations SET gaps = '7'", "GET", "/v1/cases?overdue_as_of=2026-12-01"),
        ("UPDATE case_obligations SET gaps = ''", "GET", "/v1/cases?overdue_as_of=2026-12-01"),
        # The next write adds one to a case's version: past the column's range, a 500.
        ("UPDATE cases SET version = 2147483647", "POST", "/v1/cases/{case}/events"),
        # Erasure names each sealed record by its commitment: text that is no hash.
        ("UPDATE personal_records SET commitment = 'x'", "DELETE", "/v1/cases/{case}/personal"),
    ],
)
def test_a_database_value_the_service_never_wrote_is_a_503_naming_verify(
    tmp_path, store_url, edit, method, path
):
    """Each answered 500; each is a 503 naming `redress verify`, which names the table (its
    check of the values outside the ledger had been SQLite's alone)."""
    admin = bearer(create_key(tmp_path, "admin"))
    with TestClient(create_app(tmp_path)) as client:
        opening = {**LIVE_COMPLAINT, "personal": {"name": "A. Person"}}
        opened = client.post("/v1/cases", json=opening, headers=admin)
        assert opened.status_code == 201, opened.text
        case = opened.json()["case_id"]
    _edit(store_url, edit)
    event = {"facts": {"stage_two_outcome_at": "2026-12-04"}}
    with TestClient(create_app(tmp_path)) as client:
        body = event if method == "POST" else None
        answer = client.request(method, path.format(case=case), json=body, headers=admin)
        assert answer.status_code == 503 and "redress verify" in answer.text, answer.text
    verified = verified_database(tmp_path, store_url)
    table = edit.split()[1]
    assert verified.returncode == 1, verified.stdout + verified.stderr
    assert verified.stdout.startswith(f"table {table} holds, in "), verified.stdout
