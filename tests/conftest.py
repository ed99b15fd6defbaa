"""Shared fixtures: a data directory with one key per role, the app in process, and a real
server (uvicorn in a subprocess on a free loopback port) for contract fuzzing.

`store_url` chooses the store every fixture and test opens (through `REDRESS_DATABASE_URL`):
SQLite in the data directory, or a PostgreSQL schema of its own that is dropped afterwards. The
modules in `BOTH_STORES` run every test on both (except those marked `sqlite_only`, which read
the SQLite file itself); the others run on SQLite only.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient

# Dated after the server clock, so recorded as a `test` decision (CONTRACT.md, version 2: a
# `live` decision's `as_of` is at most 5 minutes past the server clock).
COMPLAINT = {
    "policy": "wme",
    "as_of": "2026-12-24T09:00:00Z",
    "purpose": "test",
    "facts": {"received_at": "2026-12-23", "kind": "complaint", "category": "misconduct"},
}
# A live complaint, dated in the past, for cases whose events (always live) follow it.
LIVE_COMPLAINT = {
    "policy": "wme",
    "as_of": "2026-11-24T09:00:00Z",
    "facts": {"received_at": "2026-11-23", "kind": "complaint", "category": "misconduct"},
}


BOTH_STORES = {
    "test_ledger_store",
    "test_cases_store",
    "test_api_auth",
    "test_api_cases",
    "test_api_decisions",
    "test_api_workers",
    "test_metrics",
    "test_store_migrations",
    "test_decision_index_stores",
    "test_key_retirement",
    "test_store_schema",
}
TEST_DATABASE_ENV = "REDRESS_TEST_DATABASE_URL"
TEST_DATABASE_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
ENABLE_POSTGRES = (
    "PostgreSQL tests not run: no server at {url}; start one with `pg_ctlcluster "
    "--skip-systemctl-redirect $(ls /etc/postgresql) main start` or set "
    "REDRESS_TEST_DATABASE_URL"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: reads or damages the SQLite file itself (not run on PostgreSQL)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if module.startswith("test_postgres"):
        metafunc.parametrize("store_url", ["postgres"], indirect=True)
    elif module in BOTH_STORES and metafunc.definition.get_closest_marker("sqlite_only") is None:
        metafunc.parametrize("store_url", ["sqlite", "postgres"], indirect=True)


def server_database_url() -> str:
    return os.environ.get(TEST_DATABASE_ENV) or TEST_DATABASE_DEFAULT


_postgres_answers: bool | None = None
_not_run: list[str] = []


def postgres_answers() -> bool:
    global _postgres_answers
    if _postgres_answers is None:
        import psycopg

        try:
            psycopg.connect(server_database_url(), connect_timeout=3).close()
            _postgres_answers = True
        except psycopg.Error:
            _postgres_answers = False
    return _postgres_answers


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a server (and without CI=true), the PostgreSQL tests are left out, and one line
    at the end says how to run them."""
    on_postgres = [
        item
        for item in items
        if getattr(getattr(item, "callspec", None), "params", {}).get("store_url") == "postgres"
    ]
    if not on_postgres or os.environ.get("CI") == "true" or postgres_answers():
        return
    config.hook.pytest_deselected(items=on_postgres)
    items[:] = [item for item in items if item not in on_postgres]
    _not_run.append(f"{len(on_postgres)} " + ENABLE_POSTGRES.format(url=server_database_url()))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in _not_run:
        terminalreporter.write_line(line)


def postgres_or_skip() -> str:
    """The test server's URL; with CI=true, fail when no server answers."""
    url = server_database_url()
    if not postgres_answers():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but no PostgreSQL server answers at {url}")
        pytest.skip(ENABLE_POSTGRES.format(url=url))
    return url


def with_options(url: str, **params: str) -> str:
    from urllib.parse import urlencode

    return url + ("&" if "?" in url else "?") + urlencode(params)


@contextmanager
def postgres_schema(prefix: str = "t") -> Iterator[str]:
    """A fresh schema on the test server, as a URL whose connections use it; dropped after,
    with every connection of this test closed first."""
    import psycopg

    server = postgres_or_skip()
    schema = f"redress_{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    url = with_options(server, options=f"-csearch_path={schema}", application_name=schema)
    try:
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (schema,),
            )
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(autouse=True)
def store_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """ "sqlite", or the URL of this test's own PostgreSQL schema (REDRESS_DATABASE_URL)."""
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        monkeypatch.delenv("REDRESS_DATABASE_URL", raising=False)
        yield "sqlite"
        return
    from store import postgres

    opened: list = []
    original = postgres.PostgresStore.__init__

    def tracked(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        original(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(postgres.PostgresStore, "__init__", tracked)
    with postgres_schema() as url:
        monkeypatch.setenv("REDRESS_DATABASE_URL", url)
        try:
            yield url
        finally:
            for store in opened:  # stores a test left open would hold connections
                store.close()


@dataclass(frozen=True)
class Keys:
    """One API key per role, as `Authorization` headers."""

    admin: dict[str, str]
    decide: dict[str, str]
    audit: dict[str, str]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def stored_reports(
    data: Path, queries: list[tuple[str, dict]], now: datetime, database: str | None = None
) -> list[dict]:
    """Each `(report, query)` as the API, CLI and console compute it from the store in `data`
    (or at `database`), at the instant `now`."""
    import reports
    import rules
    from ledger import Ledger
    from reports.stored import compute_stored
    from store import open_store

    store = open_store(data, database=database)
    ledger = Ledger.open(data, store)
    try:
        return [
            compute_stored(
                name, store, ledger.root_hash, reports.parse_query(name, q, rules.policy_ids()), now
            )
            for name, q in queries
        ]
    finally:
        ledger.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def keys(data_dir: Path) -> Keys:
    from api.keys import create_key  # imported here so other packages' tests never need api

    return Keys(
        admin=bearer(create_key(data_dir, "admin")),
        decide=bearer(create_key(data_dir, "decide")),
        audit=bearer(create_key(data_dir, "audit")),
    )


@pytest.fixture
def client(data_dir: Path, keys: Keys) -> Iterator[TestClient]:
    from api.app import create_app

    with TestClient(create_app(data_dir)) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    admin_key: str
    data_dir: Path
    log: Path


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """uvicorn serving `api.app:app_from_environment` on loopback with a fresh data dir."""
    with serving(tmp_path_factory.mktemp("live")) as server:
        yield server


@contextmanager
def serving(root: Path, workers: int = 1, redress_serve: bool = False) -> Iterator[LiveServer]:
    """Run uvicorn (with `workers` processes) until the block ends; with `redress_serve`, as
    `redress serve` runs it (its own HTTP protocol, `api.http11`)."""
    from api.keys import create_key

    data = root / "data"
    admin_key = create_key(data, "admin")
    port = free_port()
    log = root / "server.log"
    env = {**os.environ, "REDRESS_DATA_DIR": str(data)}
    env.pop("REDRESS_ADMIN_KEY", None)  # the admin key is the one made above
    where = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    if redress_serve:
        command = [sys.executable, "-m", "redress", "serve", "--data-dir", str(data), *where]
    else:
        command = [sys.executable, "-m", "uvicorn", "--factory", "api.app:app_from_environment"]
        command += where
    with log.open("w") as out:
        server = subprocess.Popen(command, stdout=out, stderr=out, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(base, server)
            yield LiveServer(base, admin_key, data, log)
        finally:
            server.terminate()
            server.wait(timeout=30)


def wait_until_healthy(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the server exited with {server.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not become healthy in 60 s")
