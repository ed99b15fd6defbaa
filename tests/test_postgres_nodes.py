"""Two `redress serve` nodes on one PostgreSQL database write one ledger, and a node killed
mid-load loses nothing it acknowledged.

Issue 13: "A test starts two `serve` nodes on one database, drives both concurrently, SIGKILLs
one mid-load, restarts it, and shows: every decision answered 201 is in the ledger, `redress
verify --database` passes, indices have no gap and no duplicate."
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from conftest import COMPLAINT, bearer, free_port
from servers import Server, launch, tally

from store.postgres import ledger_snapshot

REDRESS = str(Path(sys.executable).parent / "redress")
ADMIN_KEY = "two-nodes-admin-key-0123456789abcdef0123456789"
FLAGS = ["about_chief_executive", "anonymous", "abusive", "in_writing", "complex", "upheld"]


def node(data: Path, url: str, log: Path) -> Server:
    """`redress serve --database URL` in its own process group (so it can be SIGKILLed)."""
    port = free_port()
    env = {**os.environ, "REDRESS_ADMIN_KEY": ADMIN_KEY}
    env.pop("REDRESS_DATABASE_URL", None)
    command = [REDRESS, "serve", "--data-dir", str(data), "--database", url, "--port", str(port)]
    return launch(command, env, port, log)


def load(base: str, stop: threading.Event, acked: list[str], fives: list[str]) -> None:
    """Decisions, cases and events on this node's own cases, until `stop` or the node dies."""
    cases: list[str] = []
    with httpx.Client(base_url=base, headers=bearer(ADMIN_KEY), timeout=15) as http:
        while not stop.is_set():
            roll = random.random()
            try:
                if roll < 0.5 or not cases:
                    path = "/v1/cases" if roll < 0.2 else "/v1/decisions"
                    answer = http.post(path, json=COMPLAINT)
                else:
                    event = {"facts": {random.choice(FLAGS): True}, "as_of": COMPLAINT["as_of"]}
                    answer = http.post(f"/v1/cases/{random.choice(cases)}/events", json=event)
            except httpx.HTTPError:
                return  # the node was killed
            tally(answer, cases, acked, fives)


def drive(bases: list[str], seconds: float, acked: list[str], fives: list[str]) -> None:
    stop = threading.Event()
    threads = [
        threading.Thread(target=load, args=(base, stop, acked, fives))
        for base in bases
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)


def test_two_nodes_one_ledger_survive_a_sigkill(tmp_path, store_url):
    data = tmp_path / "keys"  # every node is given the same key files
    first = node(data, store_url, tmp_path / "a.log")
    second = node(data, store_url, tmp_path / "b.log")
    acked: list[str] = []
    fives_on_second: list[str] = []
    ignored: list[str] = []
    try:
        killer = threading.Timer(2.0, first.kill)
        killer.start()
        drive_second = threading.Thread(
            target=drive, args=([second.base_url], 4.0, acked, fives_on_second)
        )
        drive_second.start()
        drive([first.base_url], 3.0, acked, ignored)  # answers cut short by the kill
        drive_second.join()
        killer.join()
        assert first.process.returncode is not None

        first = node(data, store_url, tmp_path / "a.log")
        drive([first.base_url, second.base_url], 2.0, acked, fives_on_second)
    finally:
        first.stop()
        second.stop()

    assert not fives_on_second, fives_on_second[:3]
    assert len(acked) > 50
    with ledger_snapshot(store_url) as snapshot:
        rows = list(snapshot.entries())
    indices = [index for index, _, _ in rows]
    assert indices == list(range(len(rows)))  # no gap, no duplicate
    recorded = {
        entry["body"]["decision_id"]
        for entry in (json.loads(raw) for _, raw, _ in rows)
        if entry["kind"] == "decision"
    }
    assert set(acked) <= recorded
    checked = subprocess.run(
        [REDRESS, "verify", "--database", store_url, "--public-key", str(data / "public.key")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
