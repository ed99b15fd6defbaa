"""CPU per decision of `redress serve` (uvicorn, uvloop + httptools) under wrk: the server's user +
system CPU over the run (every process of it: with `--workers N` the supervisor and its N
workers), divided by the decisions it recorded; with the latency distribution wrk saw (p50, p75,
p90, p99, mean and standard deviation) and decisions/s.

    .venv/bin/python bench/decision_cpu.py [--seconds 8] [--connections 32] [--rounds 1]
        [--workers 1[,2]] [--root OTHER_CHECKOUT ...]

With `--root`, each round serves each checkout in turn (e.g. main, then this one), so a before
and an after are measured back to back on the same machine; with `--workers 1,2`, each number of
workers in turn too.

Needs `wrk`. The CPU includes the store's writer thread (it is the server process's). It is also
split: `loop_us_per_decision` is the workers' main threads (the event loop), `threads_us_…` their
other threads (the writer, the WAL copier, the key ring's and anyio's helpers).
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
    descendants,
    free_port,
    recorded_decisions,
    redress_serve_command,
    serving,
    tree_cpu,
    wrk,
)

HERE = Path(__file__).resolve().parent


def run(args: argparse.Namespace, body: Path, root: Path, workers: int) -> dict:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{root}:{HERE}"}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        env |= bootstrapped(data, env)
        command = redress_serve_command(data, port, workers)
        with serving(command, env, root, port) as server:
            time.sleep(1.0 if workers > 1 else 0.5)
            pids = descendants(server.pid)
            main_before, other_before = tree_cpu(pids)
            result = wrk(
                f"http://127.0.0.1:{port}/v1/decisions",
                args.seconds,
                args.connections,
                body,
                ADMIN_KEY,
            )
            main_after, other_after = tree_cpu(pids)
        result["recorded"] = recorded_decisions(data)
    done = max(result["requests"], 1)
    main, other = main_after - main_before, other_after - other_before
    result["cpu_us_per_decision"] = round((main + other) / done * 1e6, 1)
    result["loop_us_per_decision"] = round(main / done * 1e6, 1)
    result["threads_us_per_decision"] = round(other / done * 1e6, 1)
    # With wrk's own `wrk_cores`: how much of the machine's cores the run used in all.
    result["server_cores"] = round((main + other) / args.seconds, 2)
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workers", default="1")
    parser.add_argument("--root", action="append", type=Path, default=[])
    args = parser.parse_args()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(DECISION, f)
    body = Path(f.name)
    for _ in range(args.rounds):
        for workers in [int(w) for w in args.workers.split(",")]:
            for root in [*args.root, ROOT]:
                result = run(args, body, root, workers)
                print(json.dumps({"root": str(root), "workers": workers, **result}), flush=True)
    body.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
