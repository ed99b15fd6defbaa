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
    with log.open("a") as out:
        process = subprocess.Popen(command, stdout=out, stderr=out, env=env, start_new_session=True)
    server = Server(process, f"http://127.0.0.1:{port}")
    try:
        wait_until_healthy(server.base_url, process)
    except BaseException:
        server.kill()
        raise
    return server
