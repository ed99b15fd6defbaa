"""Real processes for the witnessing tests: `redress witness serve` and `redress serve --witness`
on loopback ports, each stopped when its block ends."""

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
from conftest import COMPLAINT, bearer, free_port, wait_until_healthy

from ledger.cosignature import witnessed
from ledger.note import split_note

ADMIN_KEY = "rk_admin_" + "w" * 40


@dataclass
class Witness:
    url: str
    vkey: str
    port: int
    data_dir: Path
    process: subprocess.Popen

    def post(self, body: str | bytes) -> httpx.Response:
        """A raw `POST /add-checkpoint` (C2SP tlog-witness)."""
        content = body.encode() if isinstance(body, str) else body
        return httpx.post(f"{self.url}/add-checkpoint", content=content, timeout=10)


@contextmanager
def witness_process(
    data_dir: Path,
    *log_vkeys: str,
    port: int | None = None,
    name: str | None = "audit.example/witness",
) -> Iterator[Witness]:
    """`redress witness serve` trusting `log_vkeys` (under its own default name when `name` is
    None), until the block ends."""
    port = port or free_port()
    command = [sys.executable, "-m", "redress", "witness", "serve", "--data-dir", str(data_dir)]
    command += ["--port", str(port)]
    for vkey in log_vkeys:
        command += ["--log", vkey]
    if name:
        command += ["--name", name]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        vkey = process.stdout.readline().strip()
        _wait_for_port(port, process)
        yield Witness(f"http://127.0.0.1:{port}", vkey, port, data_dir, process)
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()


def _wait_for_port(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"witness exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("witness did not start listening")


@dataclass
class Log:
    base_url: str
    data_dir: Path
    process: subprocess.Popen

    @property
    def headers(self) -> dict[str, str]:
        return bearer(ADMIN_KEY)

    def decide(self, count: int = 1) -> list[httpx.Response]:
        with httpx.Client(base_url=self.base_url, headers=self.headers, timeout=30) as http:
            return [http.post("/v1/decisions", json=COMPLAINT) for _ in range(count)]

    def published(self) -> dict:
        return httpx.get(
            f"{self.base_url}/v1/ledger/checkpoint", headers=self.headers, timeout=10
        ).json()


@contextmanager
def log_process(
    data_dir: Path,
    witnesses: list[Witness],
    quorum: int | None = None,
    workers: int = 1,
    extra: list[str] | None = None,
) -> Iterator[Log]:
    """`redress serve --witness VKEY=URL … [--quorum N]`, until the block ends."""
    port = free_port()
    command = [sys.executable, "-m", "redress", "serve", "--data-dir", str(data_dir)]
    command += ["--port", str(port), "--workers", str(workers), *(extra or [])]
    for w in witnesses:
        command += ["--witness", f"{w.vkey}={w.url}"]
    if quorum is not None:
        command += ["--quorum", str(quorum)]
    env = {**os.environ, "REDRESS_ADMIN_KEY": ADMIN_KEY}
    with (data_dir.parent / f"serve-{port}.log").open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=out, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process)
        yield Log(base, data_dir, process)
    finally:
        process.terminate()
        process.wait(timeout=30)


def cosigned_by(note: str, log_vkey: str, witnesses: list[Witness]) -> list[str]:
    """The names of the given witnesses whose cosignature on `note` verifies."""
    return witnessed(note, log_vkey, [w.vkey for w in witnesses], 0)[1]


def signature_count(note: str) -> int:
    return len(split_note(note)[1])


def wait_for(predicate, timeout: float = 30.0, step: float = 0.1):  # noqa: ANN001, ANN201
    """Poll `predicate` until it returns something true; that value (AssertionError on time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")
