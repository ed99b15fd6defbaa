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
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from litestar.types import Scope
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


RECORDING = ("decide", "open_case", "apply_event")
# Labelled series by their labels, looked up once per process (`labels` locks on every call).
_DECISION_SERIES: dict[tuple[str, str], Any] = {}


def count_decision(result: Any) -> None:
    """Count the decision a workflow returned (alone, or after its case)."""
    decision = result[1] if isinstance(result, tuple) else result
    key = (decision.policy, decision.outcome.disposition)
    series = _DECISION_SERIES.get(key)
    if series is None:
        series = _DECISION_SERIES[key] = DECISIONS.labels(*key)
    series.inc()


def count_decisions(workflows: Any) -> None:
    """Count every decision the workflows record (wraps `decide`, `open_case`, `apply_event`
    and their `_async` twins)."""

    def counted(method: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(method)
        def run(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            count_decision(result)
            return result

        return run

    def counted_async(method: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(method)
        async def run(*args: Any, **kwargs: Any) -> Any:
            result = await method(*args, **kwargs)
            count_decision(result)
            return result

        return run

    for name in RECORDING:
        setattr(workflows, name, counted(getattr(workflows, name)))
        twin = f"{name}_async"
        setattr(workflows, twin, counted_async(getattr(workflows, twin)))


def observe_pool(store: Any) -> None:
    stats = getattr(store, "pool_stats", None)
    if stats is None:
        return
    for state, value in stats().items():
        POOL_CONNECTIONS.labels(state).set(value)


_REQUEST_SERIES: dict[tuple[str, str, int], Any] = {}


def request_seconds(method: str, route: str, status: int) -> Any:
    """The latency histogram of one (method, route, status), looked up once per process."""
    key = (method, route, status)
    series = _REQUEST_SERIES.get(key)
    if series is None:
        series = _REQUEST_SERIES[key] = REQUEST_SECONDS.labels(method, route, str(status))
    return series


def observe_request(scope: Scope, status: int | None, seconds: float) -> None:
    """One answered request's latency, by route template (`unmatched` when no route took it;
    500 when no response was started), then the database pool's use (`api.logs.logged`
    calls this once the request is done)."""
    route = scope.get("path_template") or "unmatched"
    request_seconds(scope.get("method", ""), route, 500 if status is None else status).observe(
        seconds
    )
    app = scope.get("litestar_app")
    services = getattr(app, "services", None)  # None until the app has started
    observe_pool(getattr(services, "store", None))


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
