"""Decisions/s through `POST /v1/decisions`: one node on SQLite, one node on PostgreSQL, and two
nodes on one PostgreSQL database, in the same run, alternated, driven by wrk.

Each configuration gets a fresh store (a fresh data directory, or a fresh PostgreSQL schema that
is dropped afterwards) and runs `redress serve` itself (one worker per node); with two nodes, one
wrk per node runs at the same time and their rates are added. Afterwards the ledger is checked
(`redress verify`), so the rate is of durable, verifiable decisions.

    .venv/bin/python bench/pg_throughput.py [--rounds 2] [--seconds 8] [--connections 16]
        [--database postgresql://postgres@127.0.0.1:5432/test]

Needs `wrk` (Debian: `apt-get install -y wrk`) and a PostgreSQL server.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import psycopg
from http_stack import ADMIN_KEY, DECISION, free_port, wait_up, wrk

HERE = Path(__file__).resolve().parent
REDRESS = str(Path(sys.executable).parent / "redress")
CONFIGS = ("sqlite-1", "postgres-1", "postgres-2")


@contextmanager
def schema(server: str):
    name = f"redress_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in server else "?"
    try:
        yield server + sep + urlencode({"options": f"-csearch_path={name}"})
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {name} CASCADE")


def serve(data: Path, database: str | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "REDRESS_ADMIN_KEY": ADMIN_KEY}
    env.pop("REDRESS_DATABASE_URL", None)
    command = [REDRESS, "serve", "--data-dir", str(data), "--port", str(port)]
    if database:
        command += ["--database", database]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    wait_up(f"{base}/health")
    return process, base


def run_one(config: str, args: argparse.Namespace, body: Path) -> dict:
    nodes = int(config.rsplit("-", 1)[1])
    with (
        tempfile.TemporaryDirectory() as tmp,
        schema(args.database) if config.startswith("postgres") else _none() as url,
    ):
        data = Path(tmp) / "data"
        servers = []
        try:
            for _ in range(nodes):
                servers.append(serve(data, url))
            urls = [f"{base}/v1/decisions" for _, base in servers]
            per_node = max(1, args.connections // nodes)
            for u in urls:  # warm up (policy entry, pools, prepared statements)
                wrk(u, 2, per_node, body, ADMIN_KEY)
            with ThreadPoolExecutor(nodes) as pool:
                results = list(
                    pool.map(lambda u: wrk(u, args.seconds, per_node, body, ADMIN_KEY), urls)
                )
        finally:
            for process, _ in servers:
                process.terminate()
                process.wait(timeout=30)
        verify = [REDRESS, "verify"]
        verify += ["--database", url] if url else ["--data-dir", str(data)]
        checked = subprocess.run(verify, capture_output=True, text=True, timeout=600)
    return {
        "config": config,
        "rps": round(sum(r["rps"] for r in results), 1),
        "p99_ms": max(r["p99_ms"] for r in results),
        "non_2xx": sum(r["non_2xx"] for r in results),
        "verify": checked.stdout.strip() or checked.stderr.strip(),
    }


@contextmanager
def _none():
    yield None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--database",
        default=os.environ.get("REDRESS_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1/test"),
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk): nothing measured")
        return 0
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(DECISION, f)
        body = Path(f.name)
    results: dict[str, list[dict]] = {c: [] for c in CONFIGS}
    for _ in range(args.rounds):
        for config in CONFIGS:
            found = run_one(config, args, body)
            print(json.dumps(found), flush=True)
            results[config].append(found)
            time.sleep(1)
    print("\n| configuration | decisions/s (best of rounds) | p99 ms | non-2xx |")
    print("|---|---|---|---|")
    for config, runs in results.items():
        best = max(runs, key=lambda r: r["rps"])
        print(f"| {config} | {best['rps']:,.0f} | {best['p99_ms']:.1f} | {best['non_2xx']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
