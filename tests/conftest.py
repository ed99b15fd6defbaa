"""Shared fixtures: a data directory with one key per role, the app in process, and a real
server (uvicorn in a subprocess on a free loopback port) for contract fuzzing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Keys:
    """One API key per role, as `Authorization` headers."""

    admin: dict[str, str]
    decide: dict[str, str]
    audit: dict[str, str]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


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
def serving(root: Path, workers: int = 1) -> Iterator[LiveServer]:
    """Run uvicorn (with `workers` processes) until the block ends."""
    from api.keys import create_key

    data = root / "data"
    admin_key = create_key(data, "admin")
    port = free_port()
    log = root / "server.log"
    env = {**os.environ, "REDRESS_DATA_DIR": str(data)}
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "api.app:app_from_environment",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
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
