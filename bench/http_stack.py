"""`POST /v1/decisions` under wrk against a bare Litestar POST endpoint, same server settings,
same run, alternated; for each HTTP stack asked for, and for `--workers N`.

    .venv/bin/python bench/http_stack.py [--stacks uvicorn-std,uvicorn-fast,granian]
        [--workers 1] [--rounds 2] [--seconds 8] [--connections 32]

Needs `wrk` (Debian: `apt-get install -y wrk`); without it, says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
TICK = os.sysconf("SC_CLK_TCK")
ADMIN_KEY = "bench-admin-key-0123456789abcdef0123456789abcdef"
# Dated in the past: a live decision dated after the server clock (plus 5 minutes) is a 422.
DECISION = {
    "policy": "wme",
    "as_of": "2025-12-24T09:00:00Z",
    "facts": {"received_at": "2025-12-23", "kind": "complaint", "category": "misconduct"},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(stack: str, target: str, port: int, workers: int, factory: bool) -> list[str]:
    if stack == "granian":
        command = [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--workers", str(workers), "--no-access-log"]
        command += ["--loop", "uvloop", "--backpressure", "64"]
        return [*command, *(["--factory"] if factory else []), target]
    loop, http = ("uvloop", "httptools") if stack == "uvicorn-fast" else ("asyncio", "h11")
    command = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    command += ["--loop", loop, "--http", http]
    return [*command, *(["--factory"] if factory else []), target.replace(":", ":", 1)]


def redress_serve_command(data: Path, port: int, workers: int) -> list[str]:
    """`redress serve` itself: uvicorn with uvloop and httptools, as `uvicorn-fast`, and with
    `--workers N` the connections spread over the workers (`api.connections`)."""
    command = [sys.executable, "-m", "redress", "serve", "--data-dir", str(data)]
    return command + ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]


def wait_up(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not start")


def children_cpu() -> float:
    """user + system CPU of this process's finished children (wrk, once it has exited)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk(url: str, seconds: int, connections: int, body: Path, key: str) -> dict:
    """wrk's report, and `wrk_cores`: the CPU wrk itself used over the run, in cores (on 2
    cores, what the load generator leaves the server)."""
    env = {**os.environ, "WRK_BODY": str(body), "WRK_KEY": key}
    threads = str(min(2, connections))
    before = children_cpu()
    out = subprocess.run(
        ["wrk", "-t", threads, "-c", str(connections), "-d", f"{seconds}s", "--latency"]
        + ["-s", str(HERE / "wrk" / "post.lua"), url],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    wrk_cores = round((children_cpu() - before) / seconds, 2)
    errors = re.search(r"Socket errors:.*", out)
    found = distribution(out)
    return {**found, "socket_errors": errors.group(0) if errors else "", "wrk_cores": wrk_cores}


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def milliseconds(value: str, unit: str) -> float:
    return round(float(value) * UNITS[unit], 2)


def distribution(out: str) -> dict:
    """What wrk's `--latency` report says: requests/s, p50 to p99, mean and standard deviation,
    the request count and the answers that were not 2xx."""
    found: dict = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    found |= {
        f"p{p}_ms": milliseconds(v, u)
        for p, v, u in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)$", out, re.M)
    }
    mean, mean_unit, stdev, stdev_unit = re.search(
        r"Latency\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)", out
    ).groups()
    found["mean_ms"] = milliseconds(mean, mean_unit)
    found["stdev_ms"] = milliseconds(stdev, stdev_unit)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    found["non_2xx"] = int(bad.group(1)) if bad else 0
    found["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    return found


def mean_batch(metrics_url: str) -> float | None:
    """Jobs per writer transaction over the run (`redress_append_batch_jobs`), from /metrics."""
    text = httpx.get(metrics_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}).text
    found = {
        name: float(value)
        for name, value in re.findall(r"^redress_append_batch_jobs_(sum|count) (\S+)$", text, re.M)
    }
    if not found.get("count"):
        return None
    return round(found["sum"] / found["count"], 2)


def bootstrapped(data: Path, env: dict[str, str]) -> dict[str, str]:
    """A data directory with the bench's admin key, as the CLI's `serve` prepares one; returns
    the variables a server on it needs."""
    variables = {"REDRESS_DATA_DIR": str(data), "REDRESS_ADMIN_KEY": ADMIN_KEY}
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from api.keys import bootstrap_admin; import sys; "
            "from pathlib import Path; bootstrap_admin(Path(sys.argv[1]))",
            str(data),
        ],
        env={**env, **variables},
        cwd=data.parent,  # not this checkout: `python -c` puts the cwd before PYTHONPATH
        check=True,
    )
    return variables


@contextmanager
def serving(
    command: list[str], env: dict[str, str], cwd: Path, port: int
) -> Iterator[subprocess.Popen]:
    """The server `command` started in its own session, up on `port`, stopped on leaving."""
    server = subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_up(f"http://127.0.0.1:{port}/health")
        yield server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=15)


def stat_cpu(path: Path) -> float:
    """user + system CPU in a /proc `stat` file (a process's, or one thread's)."""
    fields = path.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def cpu_seconds(pid: int) -> float:
    """user + system CPU of the process `pid` (all its threads), from /proc."""
    return stat_cpu(Path(f"/proc/{pid}/stat"))


def descendants(pid: int) -> list[int]:
    """`pid` and every process under it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def tree_cpu(pids: list[int]) -> tuple[float, float]:
    """(CPU of the main threads, CPU of the other threads) over the processes `pids`."""
    main = other = 0.0
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                spent = stat_cpu(task / "stat")
            except OSError:
                continue
            if int(task.name) == pid:
                main += spent
            else:
                other += spent
    return main, other


def recorded_decisions(data: Path) -> int:
    """Decisions in the ledger of `data`: every 201 wrk counted must be among them."""
    with sqlite3.connect(data / "redress.db") as conn:
        return conn.execute("SELECT COUNT(*) FROM entries WHERE kind = 'decision'").fetchone()[0]


def run_one(kind: str, stack: str, workers: int, args: argparse.Namespace, body: Path) -> dict:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{HERE}"}
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "redress":
            data = Path(tmp) / "data"
            env |= bootstrapped(data, env)
            if stack == "uvicorn-fast":
                command = redress_serve_command(data, port, workers)
            else:
                command = server_command(stack, "api.app:app_from_environment", port, workers, True)
        else:
            command = server_command(stack, "bare_app:app", port, workers, False)
        with serving(command, env, ROOT, port) as server:
            if workers > 1:
                time.sleep(1.0)  # /health answered from one worker: let the others start too
            pids = descendants(server.pid)
            cpu_before = sum(tree_cpu(pids))
            result = wrk(
                f"http://127.0.0.1:{port}/v1/decisions",
                args.seconds,
                args.connections,
                body,
                ADMIN_KEY,
            )
            # The server's CPU per answered request: what the ratio of the two rates comes from.
            cpu = sum(tree_cpu(pids)) - cpu_before
            result["cpu_us_per_request"] = round(cpu / max(result["requests"], 1) * 1e6, 1)
            result["server_cores"] = round(cpu / args.seconds, 2)
            if kind == "redress":
                result["mean_batch_jobs"] = mean_batch(f"http://127.0.0.1:{port}/metrics")
        if kind == "redress":
            # Every 201 wrk counted is in the ledger (wrk may cut the last few in flight).
            result["recorded"] = recorded_decisions(data)
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stacks", default="uvicorn-fast")
    parser.add_argument("--workers", default="1")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("skipped: wrk is not installed (Debian/Ubuntu: apt-get install -y wrk)")
        return 0
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(DECISION, f)
    body = Path(f.name)
    for workers in [int(w) for w in args.workers.split(",")]:
        for stack in args.stacks.split(","):
            for round_ in range(args.rounds):
                for kind in ("bare", "redress"):
                    r = run_one(kind, stack, workers, args, body)
                    print(
                        json.dumps(
                            {
                                "stack": stack,
                                "workers": workers,
                                "round": round_,
                                "server": kind,
                                **r,
                            }
                        ),
                        flush=True,
                    )
    body.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
