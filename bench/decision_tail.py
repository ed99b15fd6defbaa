"""The latency distribution of `POST /v1/decisions` on one uvicorn worker (uvloop + httptools)
under wrk: p50, p75, p90, p99, mean and standard deviation, not only the p99.

    .venv/bin/python bench/decision_tail.py [--seconds 8] [--connections 32] [--rounds 1]
        [--root OTHER_CHECKOUT ...]

With `--root`, each round serves each checkout in turn (e.g. a copy of main, then this one), so
a before and an after are measured back to back on the same machine. Needs `wrk`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
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
)

HERE = Path(__file__).resolve().parent
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def milliseconds(value: str, unit: str) -> float:
    return round(float(value) * UNITS[unit], 2)


def distribution(out: str) -> dict:
    """The latency figures of wrk's `--latency` report."""
    found = {
        f"p{p}_ms": milliseconds(v, u)
        for p, v, u in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)$", out, re.M)
    }
    mean, mean_unit, stdev, stdev_unit = re.search(
        r"Latency\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)", out
    ).groups()
    found["mean_ms"] = milliseconds(mean, mean_unit)
    found["stdev_ms"] = milliseconds(stdev, stdev_unit)
    found["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    found["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    found["non_2xx"] = int(bad.group(1)) if bad else 0
    return found


def run(args: argparse.Namespace, body: Path, root: Path) -> dict:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{root}:{HERE}"}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        env |= bootstrapped(data, env)
        command = server_command("uvicorn-fast", "api.app:app_from_environment", port, 1, True)
        with serving(command, env, root, port):
            time.sleep(0.5)
            out = subprocess.run(
                ["wrk", "-t", "2", "-c", str(args.connections), "-d", f"{args.seconds}s"]
                + ["--latency", "-s", str(HERE / "wrk" / "post.lua")]
                + [f"http://127.0.0.1:{port}/v1/decisions"],
                env={**env, "WRK_BODY": str(body), "WRK_KEY": ADMIN_KEY},
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        result = distribution(out)
        result["recorded"] = recorded_decisions(data)
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
