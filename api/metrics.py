"""What operators watch, in Prometheus text (prometheus-client): every metric is defined here.

Under `redress serve --workers N` the workers share `PROMETHEUS_MULTIPROC_DIR` (a fresh
directory per server, set by the CLI): each worker writes its samples there and a scrape, in
whichever worker answers, adds them up; a worker that has died is marked dead, so its live
gauges stop counting. Without that directory (one process, the tests' in-process app), the
default registry is used.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The text format generate_latest writes (Litestar adds the charset).
CONTENT_TYPE = "text/plain; version=0.0.4"

DECISIONS = Counter(
    "redress_decisions",
    "Decisions recorded, by policy and disposition.",
    ["policy", "disposition"],
)
REQUEST_SECONDS = Histogram(
    "redress_request_duration_seconds",
    "HTTP request latency, by method, route template and status.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LEDGER_ENTRIES = Gauge(
    "redress_ledger_entries",
    "Entries in the ledger (its tree size) when last read.",
    multiprocess_mode="max",  # the ledger only grows
)
BATCH_JOBS = Histogram(
    "redress_append_batch_jobs",
    "Write jobs committed together in one transaction by the group-committing writer.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
)
COMMIT_SECONDS = Histogram(
    "redress_append_commit_seconds",
    "Time from a batch's start to its commit (lock, appends, checkpoint signature, commit).",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
)
POOL_CONNECTIONS = Gauge(
    "redress_db_pool_connections",
    "Database read-pool connections, by state (open, idle, waiting requests).",
    ["state"],
    multiprocess_mode="livesum",
)


def observe_batch(jobs: int, seconds: float) -> None:
    """The store's writer calls this after each commit (`store.on_batch`)."""
    BATCH_JOBS.observe(jobs)
    COMMIT_SECONDS.observe(seconds)


def count_decisions(workflows: Any) -> None:
    """Count every decision the workflows record (wraps `decide`, `open_case`, `apply_event`)."""

    def counted(method: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(method)
        def run(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            decision = result[1] if isinstance(result, tuple) else result
            DECISIONS.labels(decision.policy, decision.outcome.disposition).inc()
            return result

        return run

    for name in ("decide", "open_case", "apply_event"):
        setattr(workflows, name, counted(getattr(workflows, name)))


def observe_pool(store: Any) -> None:
    stats = getattr(store, "pool_stats", None)
    if stats is None:
        return
    for state, value in stats().items():
        POOL_CONNECTIONS.labels(state).set(value)


def timed(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: each request's latency, by route template; the pool's use after it."""

    async def run(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, sent)
        finally:
            route = scope.get("path_template") or "unmatched"
            elapsed = time.perf_counter() - started
            REQUEST_SECONDS.labels(scope.get("method", ""), route, str(status)).observe(elapsed)
            services = getattr(scope["litestar_app"].state, "services", None)  # type: ignore[typeddict-item]
            observe_pool(getattr(services, "store", None))

    return run


def exposition() -> bytes:
    """Every metric, from every live or dead worker of this server, in Prometheus text."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return generate_latest(REGISTRY)
    _mark_dead_workers(Path(directory))
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)


LIVE_FILE = re.compile(r"gauge_live\w+_(\d+)\.db")


def _mark_dead_workers(directory: Path) -> None:
    """Workers killed without a shutdown leave live gauges behind: drop them."""
    for path in directory.glob("gauge_live*_*.db"):
        found = LIVE_FILE.fullmatch(path.name)
        if found and not _alive(int(found.group(1))):
            multiprocess.mark_process_dead(int(found.group(1)), str(directory))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_stopped() -> None:
    """A worker's shutdown: its live gauges stop counting."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        multiprocess.mark_process_dead(os.getpid(), directory)
