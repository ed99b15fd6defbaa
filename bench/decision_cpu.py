"""CPU per decision of one uvicorn worker (uvloop + httptools) under wrk: the server process's
user + system CPU over the run, divided by the decisions it recorded; with the latency
distribution wrk saw (p50, p75, p90, p99, mean and standard deviation) and decisions/s.

    .venv/bin/python bench/decision_cpu.py [--seconds 8] [--connections 32] [--rounds 1]
        [--root OTHER_CHECKOUT ...]

With `--root`, each round serves each checkout in turn (e.g. main, then this one), so a before
and an after are measured back to back on the same machine.

Needs `wrk`. The CPU includes the store's writer thread (it is the server process's).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from http_stack import (
    ADMIN_KEY,
    DECISION,
    ROOT,
    bootstrapped,
    free_port,
    recorded_decisions,
    server_command,
    serving,
    wrk,
)

HERE = Path(__file__).resolve().parent


def cpu_seconds(pid: int) -> float:
    """user + system CPU of the process `pid` (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(args: argparse.Namespace, body: Path, root: Path) -> dict:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{root}:{HERE}"}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        env |= bootstrapped(data, env)
        command = server_command("uvicorn-fast", "api.app:app_from_environment", port, 1, True)
        with serving(command, env, root, port) as server:
            time.sleep(0.5)
            before = cpu_seconds(server.pid)
            result = wrk(
                f"http://127.0.0.1:{port}/v1/decisions",
                args.seconds,
                args.connections,
                body,
                ADMIN_KEY,
            )
            spent = cpu_seconds(server.pid) - before
        result["recorded"] = recorded_decisions(data)
    result["cpu_us_per_decision"] = round(spent / max(result["requests"], 1) * 1e6, 1)
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--root", action="append", type=Path, default=[])
    args = parser.parse_args()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(DECISION, f)
    body = Path(f.name)
    for _ in range(args.rounds):
        for root in [*args.root, ROOT]:
            print(json.dumps({"root": str(root), **run(args, body, root)}), flush=True)
    body.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
