"""What operators call: `GET /ready` (the store takes writes now; no key) and `GET /metrics`
(audit role; Prometheus text, `api.metrics`)."""

from __future__ import annotations

from contextlib import suppress
from typing import Literal

import msgspec
from litestar import Response, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec

from api import metrics
from api.problems import PROBLEM_JSON, problem_response
from api.responses import problems
from schemas.problems import Problem
from store import StoreBusy

RETRY_AFTER_S = 1


class Readiness(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """GET /ready: the store takes writes now."""

    status: Literal["ready"]


@get(
    "/ready",
    operation_id="getReady",
    sync_to_thread=True,
    responses={
        503: ResponseSpec(
            Problem,
            media_type=PROBLEM_JSON,
            description="The store does not take writes now (database unreachable, disk "
            "stuck), or this node's signing key was retired by a rotation made elsewhere.",
            generate_examples=False,
        )
    },
    summary="Whether this node's store takes writes now (no key needed)",
    tags=["operations"],
)
def ready(state: State) -> Response:
    services = state.services
    if not services.store_writable():
        return problem_response(
            503, "the store does not take writes now", [], {"Retry-After": str(RETRY_AFTER_S)}
        )
    retired = services.ledger.key_retired(fresh=True)
    if retired is not None:  # no write would commit until the node restarts with the new key
        return problem_response(503, retired, [])
    return Response(Readiness(status="ready"))


@get(
    "/metrics",
    operation_id="getMetrics",
    tags=["operations"],
    sync_to_thread=True,
    media_type=metrics.CONTENT_TYPE,
    responses=problems(401, 403),
    summary="Prometheus text: decisions, request latency, ledger size, batches, database pool",
)
def get_metrics(state: State) -> Response[bytes]:
    services = state.services
    with suppress(StoreBusy):  # a scrape still answers while the database is away
        metrics.LEDGER_ENTRIES.set(services.ledger.tree_size())
    metrics.observe_pool(services.store)
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)


def instrument(services: object) -> None:
    """Once per worker, at start-up: count decisions and time the writer's batches."""
    metrics.count_decisions(services.workflows)  # type: ignore[attr-defined]
    services.store.on_batch = metrics.observe_batch  # type: ignore[attr-defined]


OPEN = [ready]
AUDITED = [get_metrics]
