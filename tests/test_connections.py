"""`redress serve --workers N` spreads keep-alive connections over its workers
(`api.connections`): a worker holding more than its share closes a surplus connection after
its answer (`Connection: close`), and the client's next connection may land elsewhere."""

from __future__ import annotations

import http.client
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

from conftest import free_port, wait_until_healthy

from api.connections import Slots, create_slots

CLIENTS = 20


def worker_pids(supervisor: int) -> list[int]:
    """The uvicorn workers under `redress serve` (its children, but the resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if (
            int(stat.rsplit(")", 1)[1].split()[1]) == supervisor
            and b"resource_tracker" not in command
        ):
            found.append(int(entry.name))
    return found


def counts(tmp: Path) -> list[int]:
    """Each worker's open connections, as the workers' shared file says."""
    (shared,) = tmp.glob("redress-metrics-*/connections")
    data = shared.read_bytes()
    return list(struct.unpack(f"<{len(data) // 8}q", data))


def settled(tmp: Path) -> list[int]:
    """`counts`, sorted, once the workers have counted every client's connection (a closed
    one's end and its replacement are seen by the workers a moment after the client)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if sum(found := counts(tmp)) == CLIENTS and found == counts(tmp):
            return sorted(found)
    return sorted(counts(tmp))


def ask(conn: http.client.HTTPConnection) -> bool:
    """One GET /health on `conn`; True when the answer said `Connection: close`."""
    conn.request("GET", "/health")
    answer = conn.getresponse()
    answer.read()
    assert answer.status == 200
    return (answer.getheader("connection") or "").lower() == "close"


def test_a_crowded_worker_sends_its_surplus_connections_to_the_other(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    command = [sys.executable, "-m", "redress", "serve", "--data-dir", str(tmp_path / "data")]
    command += ["--port", str(port), "--workers", "2"]
    with (tmp_path / "server.log").open("w") as log:
        server = subprocess.Popen(command, stdout=log, stderr=log, env=env)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", server)
        deadline = time.monotonic() + 30
        while len(workers := worker_pids(server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)  # both listening
        # A stopped worker accepts nothing: every client's connection lands on the other one.
        os.kill(workers[0], signal.SIGSTOP)
        try:
            clients = [http.client.HTTPConnection("127.0.0.1", port) for _ in range(CLIENTS)]
            for client in clients:
                client.connect()
            deadline = time.monotonic() + 10
            while sum(counts(tmp_path)) < CLIENTS and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            os.kill(workers[0], signal.SIGCONT)
        assert sorted(counts(tmp_path)) == [0, CLIENTS]

        closed = 0
        for _ in range(20):
            for client in clients:
                if ask(client):
                    closed += 1
                    client.close()
                    client.connect()  # as a pool replaces a connection the server closed
            if settled(tmp_path) == [CLIENTS // 2, CLIENTS // 2]:
                break
        assert settled(tmp_path) == [CLIENTS // 2, CLIENTS // 2]
        assert closed >= CLIENTS // 2
        for _ in range(3):  # balanced: nobody is sent away any more
            assert not any(ask(client) for client in clients)
        for client in clients:
            client.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


HOLDER = """
import sys, time
from pathlib import Path
from api.connections import Slots
slots = Slots(Path(sys.argv[1]))
for _ in range(int(sys.argv[2])):
    slots.opened()
print(slots.mine, flush=True)
time.sleep(60)
"""


def test_a_dead_worker_s_slot_counts_for_nothing(tmp_path: Path) -> None:
    shared = tmp_path / "connections"
    create_slots(shared, 2)
    other = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(shared), "1"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert other.stdout is not None
        taken = int(other.stdout.readline())
        mine = Slots(shared)
        assert mine.mine == 1 - taken
        for _ in range(4):
            mine.opened()
        assert mine.surplus()  # 4 against 1: the share is 3
        mine.send_away()
        assert not mine.surplus()  # one is being sent away already
        mine.closed(was_closing=True)
        assert mine.surplus()  # 3 against 1: the share is 2
        other.send_signal(signal.SIGKILL)
        other.wait(timeout=30)
        assert not mine.surplus()  # its stale count of 1 no longer counts
    finally:
        if other.poll() is None:
            other.kill()


def test_a_lone_worker_never_sends_a_connection_away(tmp_path: Path) -> None:
    shared = tmp_path / "connections"
    create_slots(shared, 3)
    mine = Slots(shared)
    for _ in range(50):
        mine.opened()
    assert not mine.surplus()
