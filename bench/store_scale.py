"""The store at scale: durable appends/s under concurrency (from one process, then from
`--processes` processes sharing the file, the same number of client threads in all; then as
many clients as coroutines on one event loop, awaiting `Store.write_async` as the server's
requests do), then a ledger grown to 1,000,000 entries through the writer's fast path,
measuring at 10k, 100k and 1M entries: inclusion and consistency proof time, `verify`
entries/s (1 and 2 processes), RSS of the appending process.

    .venv/bin/python bench/store_scale.py [--entries 1000000] [--seconds 5] [--threads 32]
        [--processes 2] [--appends-only]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from verify_speed import body, decision_id, index_decisions

from ledger.canonical import canonical_bytes
from ledger.store import Ledger


def with_id(template: bytes, n: int) -> bytes:
    return template.replace(decision_id(0).encode(), decision_id(n).encode(), 1)


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def appending_clients(data: Path, seconds: float, threads: int) -> dict:
    """`threads` clients each appending one entry at a time, each waiting for its commit."""
    ledger = Ledger.open(data)
    raw = canonical_bytes(body(0))
    stop = threading.Event()
    counts = [0] * threads
    waits: list[list[float]] = [[] for _ in range(threads)]

    def client(n: int) -> None:
        while not stop.is_set():
            began = time.perf_counter()
            ledger.store.write(lambda tx: tx.append("decision", raw, None))
            counts[n] += 1
            waits[n].append(time.perf_counter() - began)

    pool = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    sizes = ledger.store.batch_sizes
    ledger.close()
    return {
        "appended": sum(counts),
        "seconds": elapsed,
        "batch_sizes": sizes,
        "waits": [w for per_client in waits for w in per_client],
    }


def awaiting_clients(data: Path, seconds: float, clients: int) -> dict:
    """`clients` coroutines on one uvloop event loop (the server's), each appending one entry
    at a time through `Store.write_async` and awaiting its commit."""
    import uvloop

    ledger = Ledger.open(data)
    raw = canonical_bytes(body(0))
    counts = [0] * clients
    waits: list[float] = []

    async def client(n: int, until: float) -> None:
        while time.perf_counter() < until:
            began = time.perf_counter()
            await ledger.store.write_async(lambda tx: tx.append("decision", raw, None))
            counts[n] += 1
            waits.append(time.perf_counter() - began)

    async def run() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(client(n, started + seconds) for n in range(clients)))
        return time.perf_counter() - started

    elapsed = uvloop.run(run())
    sizes = ledger.store.batch_sizes
    ledger.close()
    return summary(
        [{"appended": sum(counts), "seconds": elapsed, "batch_sizes": sizes, "waits": waits}]
    )


def _client_process(data: str, seconds: float, threads: int, results: multiprocessing.Queue):
    results.put(appending_clients(Path(data), seconds, threads))


def concurrent_appends(data: Path, seconds: float, threads: int, processes: int = 1) -> dict:
    """Durable appends/s of `threads` clients in all, spread over `processes` processes that
    share the store (each process with its own writer), and every commit wait's p99."""
    if processes == 1:
        runs = [appending_clients(data, seconds, threads)]
    else:
        Ledger.open(data).close()  # the genesis entry and key, before the processes race
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        share = [threads // processes + (n < threads % processes) for n in range(processes)]
        pool = [
            context.Process(target=_client_process, args=(str(data), seconds, n, results))
            for n in share
        ]
        for p in pool:
            p.start()
        runs = [results.get() for _ in pool]
        for p in pool:
            p.join()
    return summary(runs)


def summary(runs: list[dict]) -> dict:
    """Appends/s summed over the runs, the median batch, and the commit waits' quantiles."""
    waits = sorted(w for run in runs for w in run["waits"])
    sizes = [size for run in runs for size in run["batch_sizes"]]
    return {
        "appends_per_s": round(sum(run["appended"] / run["seconds"] for run in runs)),
        "median_batch": statistics.median(sizes) if sizes else 0,
        "p50_commit_wait_ms": round(waits[len(waits) // 2] * 1000, 2),
        "p99_commit_wait_ms": round(waits[int(len(waits) * 0.99)] * 1000, 2),
        "max_commit_wait_ms": round(waits[-1] * 1000, 2),
    }


def proof_us(ledger: Ledger, size: int, repeat: int = 200) -> tuple[float, float]:
    step = max(1, size // repeat)
    began = time.perf_counter()
    for i in range(0, size, step):
        ledger.inclusion_proof(i, size)
    inclusion = (time.perf_counter() - began) / len(range(0, size, step)) * 1e6
    began = time.perf_counter()
    for i in range(1, size, step):
        ledger.consistency_proof(i, size)
    consistency = (time.perf_counter() - began) / len(range(1, size, step)) * 1e6
    return round(inclusion, 1), round(consistency, 1)


def verify_rate(data: Path, size: int, jobs: int) -> int:
    """`redress verify --jobs N` as an officer runs it, in its own process."""
    command = [str(Path(sys.executable).with_name("redress")), "verify", "--data-dir", str(data)]
    began = time.perf_counter()
    done = subprocess.run([*command, "--jobs", str(jobs)], capture_output=True, text=True)
    elapsed = time.perf_counter() - began
    assert done.returncode == 0 and f"ok: {size} entries" in done.stdout, done.stdout + done.stderr
    return round(size / elapsed)


def grow(data: Path, entries: int, marks: list[int]) -> list[dict]:
    ledger = Ledger.open(data)
    template = canonical_bytes(body(0))
    rows = []
    size = ledger.tree_size()
    chunk = 10_000
    building = 0.0
    for mark in marks:
        while size < mark:
            n = min(chunk, mark - size)
            # Each decision with its own id and the id index row the service writes, as
            # `verify` checks both. The ids are put into one encoded body as they are appended
            # (same length, so still canonical), so that the process's RSS is the store's and
            # not a chunk's worth of bodies built beforehand.
            began = time.perf_counter()
            ledger.store.write(
                lambda tx, lo=size, n=n: [
                    tx.append("decision", with_id(template, i), decision_id(i))
                    for i in range(lo, lo + n)
                ]
            )
            building += time.perf_counter() - began
            index_decisions(ledger, size)  # untimed: the appends alone are measured
            size += n
        elapsed = building
        inclusion, consistency = proof_us(ledger, size)
        row = {
            "entries": size,
            "bulk_appends_per_s": round(size / elapsed),
            "inclusion_proof_us": inclusion,
            "consistency_proof_us": consistency,
            "rss_mib": round(rss_mib(), 1),
            "db_mib": round((data / "redress.db").stat().st_size / 2**20, 1),
        }
        row["verify_per_s"] = verify_rate(data, size, 1)
        row["verify_per_s_jobs2"] = verify_rate(data, size, 2)
        print(json.dumps(row), flush=True)
        rows.append(row)
    ledger.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--appends-only", action="store_true", help="skip the 1M-entry part")
    args = parser.parse_args()
    for processes in sorted({1, args.processes}):
        with tempfile.TemporaryDirectory() as tmp:
            result = concurrent_appends(Path(tmp) / "c", args.seconds, args.threads, processes)
            shape = {"threads": args.threads, "processes": processes}
            print(json.dumps({"concurrent_durable_appends": result, **shape}), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        result = awaiting_clients(Path(tmp) / "a", args.seconds, args.threads)
        shape = {"coroutines": args.threads, "processes": 1}
        print(json.dumps({"concurrent_durable_appends": result, **shape}), flush=True)
    if args.appends_only:
        return
    marks = [m for m in (10_000, 100_000, 1_000_000) if m < args.entries] + [args.entries]
    with tempfile.TemporaryDirectory() as tmp:
        grow(Path(tmp) / "g", args.entries, marks)


if __name__ == "__main__":
    main()
