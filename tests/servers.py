"""Real servers for the storage tests: uvicorn in its own process group on a loopback port, so
a test can SIGKILL it (workers included) or run two on one data directory."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
from conftest import free_port, wait_until_healthy


@dataclass
class Server:
    process: subprocess.Popen
    base_url: str

    def kill(self) -> None:
        """SIGKILL the server and its workers: no shutdown code runs."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def start(data: Path, log: Path, workers: int = 1) -> Server:
    port = free_port()
    env = {**os.environ, "REDRESS_DATA_DIR": str(data)}
    command = [sys.executable, "-m", "uvicorn", "--factory", "api.app:app_from_environment"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    return launch(command, env, port, log)


def launch(command: list[str], env: dict[str, str], port: int, log: Path) -> Server:
    """`command` in its own process group (so it can be SIGKILLed), its output appended to
    `log`, once it answers healthy on `port`."""
    with log.open("a") as out:
        process = subprocess.Popen(command, stdout=out, stderr=out, env=env, start_new_session=True)
    server = Server(process, f"http://127.0.0.1:{port}")
    try:
        wait_until_healthy(server.base_url, process)
    except BaseException:
        server.kill()
        raise
    return server


def tally(answer: httpx.Response, cases: list[str], acked: list[str], fives: list[str]) -> None:
    """A load driver's answer: a 5xx kept in `fives`; a 201 acknowledges its decision (and a
    new case's id goes to `cases`, for its events)."""
    if answer.status_code >= 500:
        fives.append(answer.text)
    if answer.status_code == 201:
        found = answer.json()
        if "case_id" in found and "decisions" in found:
            cases.append(found["case_id"])
            acked.append(found["decisions"][0]["decision_id"])
        else:
            acked.append(found["decision_id"])
