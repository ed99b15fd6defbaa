"""Faults at the store: a store that stays busy, reads beside a waiting writer, erasure that
leaves nothing behind.

Issue 9: "a busy store answers 503 with `Retry-After` after at most 5 s of waiting; reads are
never blocked by a waiting writer" and "after `DELETE …/personal`, no byte of the case key, the
ciphertext or the plaintext remains in any file of the store (database, WAL, journal, shared
memory)".
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import COMPLAINT, bearer
from servers import start

from api.keys import create_key

PLAINTEXT = "Zebulon Quixote-Marchbanks, 14 Wistful Lane"
COMPLAINANT = "complainant-ref-7f3a9c1e5b"


def store_bytes(data) -> bytes:
    """Every byte of every file of the store (db, -wal, -shm, -journal)."""
    return b"".join(p.read_bytes() for p in sorted(data.glob("redress.db*")) if p.is_file())


def test_a_busy_store_answers_503_with_retry_after_and_reads_still_answer(tmp_path):
    data = tmp_path / "data"
    admin = bearer(create_key(data, "admin"))
    server = start(data, tmp_path / "server.log")
    try:
        blocker = sqlite3.connect(data / "redress.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            with ThreadPoolExecutor(1) as pool:
                began = time.monotonic()
                post = pool.submit(
                    httpx.post,
                    f"{server.base_url}/v1/decisions",
                    json=COMPLAINT,
                    headers=admin,
                    timeout=30,
                )
                time.sleep(0.5)
                read = httpx.get(
                    f"{server.base_url}/v1/ledger/checkpoint", headers=admin, timeout=30
                )
                read_done = time.monotonic() - began
                answer = post.result()
                waited = time.monotonic() - began
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert read.status_code == 200 and read_done < 3, "a read waited behind the writer"
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert int(answer.headers["retry-after"]) >= 1
        assert waited < 8
        # Nothing was recorded for it, and the store writes again once the lock is free.
        after = httpx.post(
            f"{server.base_url}/v1/decisions", json=COMPLAINT, headers=admin, timeout=30
        )
        # 0 genesis, 1 the admin key's `key` entry, 2 the policy entry its first decision
        # brings: nothing came before it
        assert after.status_code == 201 and after.json()["ledger"]["index"] == 3
    finally:
        server.stop()


def test_after_erasure_no_byte_of_key_ciphertext_or_plaintext_remains(tmp_path):
    data = tmp_path / "data"
    admin = bearer(create_key(data, "admin"))
    server = start(data, tmp_path / "server.log")
    try:
        body = {**COMPLAINT, "personal": {"name": PLAINTEXT, "note": PLAINTEXT * 40}}
        case = httpx.post(f"{server.base_url}/v1/cases", json=body, headers=admin).json()
        for n in range(30):  # traffic around it, so pages move between WAL and database
            httpx.post(f"{server.base_url}/v1/decisions", json=COMPLAINT, headers=admin)
            if n == 10:
                other = httpx.post(f"{server.base_url}/v1/cases", json=body, headers=admin)
                assert other.status_code == 201
        with sqlite3.connect(data / "redress.db") as conn:
            (key,) = conn.execute(
                "SELECT key FROM personal_keys WHERE case_id = ?", (case["case_id"],)
            ).fetchone()
            sealed = [
                r[0]
                for r in conn.execute(
                    "SELECT sealed FROM personal_records WHERE case_id = ?", (case["case_id"],)
                )
            ]
        assert key and sealed and bytes(key) in store_bytes(data)
        erased = httpx.delete(
            f"{server.base_url}/v1/cases/{case['case_id']}/personal", headers=admin
        )
        assert erased.status_code == 200, erased.text
        everything = store_bytes(data)
        assert bytes(key) not in everything
        assert not any(bytes(s) in everything for s in sealed)
        assert PLAINTEXT.encode() not in everything
        # The other case's personal data is still there to open.
        again = httpx.get(f"{server.base_url}/v1/cases/{other.json()['case_id']}", headers=admin)
        assert again.json()["personal"] == "sealed"
    finally:
        server.stop()


def test_erasure_also_removes_the_complainant_reference(tmp_path):
    """CONTRACT.md: `complainant` is "kept with the case, outside the ledger, erased with the
    personal data"."""
    from test_cases_store import decision, workflows

    flows = workflows(tmp_path)
    case_id = flows.open_case(
        decision("wme", "d1"), {}, {"name": PLAINTEXT}, reference="REF-1", complainant=COMPLAINANT
    )[0].case_id
    assert flows.cases.get(case_id).complainant == COMPLAINANT
    assert COMPLAINANT.encode() in store_bytes(tmp_path)
    flows.erase_personal(case_id)
    case = flows.cases.get(case_id)
    assert case.complainant is None and case.reference == "REF-1"
    assert COMPLAINANT.encode() not in store_bytes(tmp_path)
    flows.store.close()


ENABLE_CHATTR = (
    "as root on ext4, with chattr (apt-get install e2fsprogs), to test a store whose disk "
    "refuses writes"
)


@contextlib.contextmanager
def immutable(paths: list[Path]) -> Iterator[None]:
    """The files (and directory) made immutable with `chattr +i`: not even root writes them."""
    made = []
    try:
        for path in paths:
            if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
                if os.environ.get("CI") == "true":
                    pytest.fail(f"CI=true but chattr +i failed on {path}")
                pytest.skip(f"run {ENABLE_CHATTR}")
            made.append(path)
        yield
    finally:
        for path in made:
            subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_store_whose_disk_refuses_writes_answers_503_and_recovers(tmp_path):
    """Bad input never gets a 500, nor does a disk that refuses writes: every write answers
    503 with `Retry-After` (the store does not take writes now), `/ready` says so, nothing is
    recorded, and once the disk takes writes again every worker does (a worker's writer kept
    its failed connection, and kept failing, until it was restarted)."""
    data = tmp_path / "data"
    admin = bearer(create_key(data, "admin"))
    server = start(data, tmp_path / "server.log", workers=2)
    try:
        url = server.base_url
        assert httpx.post(f"{url}/v1/decisions", json=COMPLAINT, headers=admin).status_code == 201
        size = httpx.get(f"{url}/v1/ledger/checkpoint", headers=admin).json()["tree_size"]
        # The database and its WAL, which the writer writes with write(2). Not the `-shm`
        # file, which SQLite maps into memory: a store on a disk that refuses writes to that
        # mapping is stopped by the kernel (SIGBUS), and restarted by the supervisor.
        files = [data / "redress.db", data / "redress.db-wal"]
        with immutable(files):
            for _ in range(6):  # fresh connections: both workers answer
                with httpx.Client(timeout=30) as client:
                    answer = client.post(f"{url}/v1/decisions", json=COMPLAINT, headers=admin)
                    assert answer.status_code == 503, answer.text
                    assert answer.headers["content-type"].startswith("application/problem+json")
                    assert int(answer.headers["retry-after"]) >= 1
                    assert client.get(f"{url}/ready").status_code == 503
        for _ in range(8):
            with httpx.Client(timeout=30) as client:
                answer = client.post(f"{url}/v1/decisions", json=COMPLAINT, headers=admin)
                assert answer.status_code == 201, answer.text
                assert client.get(f"{url}/ready").status_code == 200
        grown = httpx.get(f"{url}/v1/ledger/checkpoint", headers=admin).json()["tree_size"]
        assert grown == size + 8  # nothing was recorded while the disk refused
    finally:
        server.stop()


def test_ready_says_503_when_the_disk_has_no_room_for_a_write(tmp_path, monkeypatch):
    """CONTRACT.md: `GET /ready` is "the store takes writes now". On a full disk every write
    answered 503 ("database or disk is full") while `/ready` said 200 (found by an audit on a
    small tmpfs), so a load balancer kept sending writes there. The file system's free space is
    read (the kernel's answer is replaced here: filling a disk needs a mount); the probe still
    writes nothing."""
    import collections

    from litestar.testing import TestClient

    from api.app import create_app
    from store.sqlite import MIN_FREE_BYTES

    data = tmp_path / "data"
    create_key(data, "admin")
    real = os.statvfs
    Stats = collections.namedtuple("Stats", "f_bavail f_frsize")
    room = {"bytes": 0}

    def statvfs(path):
        if os.path.realpath(path) == os.path.realpath(data):
            return Stats(room["bytes"] // 4096, 4096)
        return real(path)

    with TestClient(create_app(data)) as client:
        assert client.get("/ready").status_code == 200
        before = store_bytes(data)
        monkeypatch.setattr(os, "statvfs", statvfs)
        for free in (0, MIN_FREE_BYTES - 4096):
            room["bytes"] = free
            answer = client.get("/ready")
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
        room["bytes"] = MIN_FREE_BYTES
        assert client.get("/ready").status_code == 200
        assert store_bytes(data) == before
