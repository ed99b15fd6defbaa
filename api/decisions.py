"""Decisions: take one (the stateless query), read it back, and its receipt.

Taking a decision runs on the event loop: the body is checked and the rules evaluated there
(pure CPU), and the handler awaits the store's writer, so no thread is held while the write
waits for its group commit. Reading one decision or its receipt goes through
`Store.call_reading` (on the loop for SQLite: cheaper than a thread's hand-off; in a worker
thread for PostgreSQL); the listing is synchronous, in Litestar's thread pool. Role checks
are the routers' (`api.app`); services come by injection, except to the taking of a decision
(see there).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import Parameter, QueryParameter

import rules
from api.audit import MAX_PAGE_BYTES, MAX_PAGE_ITEMS, cursor_start
from api.auth import CALLER
from api.bodies import (
    checked,
    evaluate,
    json_body,
    refuse_future,
    refuse_unknown_policy,
    refuse_unrecordable,
    unknown_policy,
)
from api.idempotency import answered_async, idempotent_async, key_from_scope, request_hash
from api.logs import note
from api.paging import check_limit, page_limit
from api.problems import ApiProblem
from api.responses import READ, WRITE, json_response, post_resolved, problems
from api.services import Services, app_services
from keys import Caller
from schemas.api import DecisionPage, DecisionRequest
from schemas.decision import RecordedDecision
from schemas.problems import FieldError
from store import ReadTx

IdPath = Annotated[str, Parameter(min_length=1, max_length=64, description="An identifier.")]
TAGS = ["decisions"]
DecisionLimit = page_limit("decisions", MAX_PAGE_ITEMS)


def decision_bytes(_: ReadTx, recorded: RecordedDecision) -> bytes:
    return msgspec.json.encode(recorded)


@post_resolved(
    "/decisions",
    operation_id="createDecision",
    tags=TAGS,
    responses=WRITE,
    summary="Evaluate facts under a policy now, and record the decision",
)
async def post_decision(request: Request) -> Response[RecordedDecision]:
    # The busiest operation takes no parameter but the request: it reads the services, the
    # caller its router's role check found, the Idempotency-Key and the body from the request
    # itself. Litestar resolves dependencies, builds a multidict of the headers for a header
    # parameter and extracts and checks a body parameter on every request (a tenth of a decision's
    # time on the event loop); `api.document` documents the header and body as before.
    scope = request.scope
    services = app_services(scope["litestar_app"])
    caller: Caller = scope[CALLER]  # type: ignore[typeddict-item]
    data = await json_body(request)
    once = await idempotent_async(
        services.store,
        caller,
        key_from_scope(scope),
        lambda: request_hash("POST", request.url.path, data),
        decision_bytes,
    )
    if isinstance(once, Response):
        return once
    body = checked(data, DecisionRequest)
    refuse_unknown_policy(body.policy)
    refuse_unrecordable(facts=body.facts)
    refuse_future(body.as_of, body.purpose)
    decision = evaluate(body.policy, body.facts, body.as_of)
    decision = msgspec.structs.replace(decision, purpose=body.purpose)

    async def write() -> Response:
        recorded = await services.workflows.decide_async(
            decision, body.facts, key_id=caller.key_id, once=once
        )
        note(request, decision_id=recorded.decision_id)
        return json_response(decision_bytes(None, recorded), 201)  # type: ignore[arg-type]

    return await answered_async(services.store, once, write)


@get(
    "/decisions/{decision_id:str}",
    operation_id="getDecision",
    tags=TAGS,
    responses=READ,
    summary="A decision as recorded",
)
async def get_decision(
    services: NamedDependency[Services], decision_id: IdPath
) -> RecordedDecision:
    return await services.store.call_reading(recorded_decision, services, decision_id)


def recorded_decision(services: NamedDependency[Services], decision_id: str) -> RecordedDecision:
    recorded = services.ledger.decision(decision_id)
    if recorded is None:
        raise ApiProblem(404, f"no decision {decision_id}")
    return recorded


@get(
    "/decisions/{decision_id:str}/receipt",
    operation_id="getReceipt",
    tags=TAGS,
    responses=READ,
    media_type="text/plain",
    summary="A self-contained C2SP tlog-proof for the decision's ledger entry",
)
async def get_receipt(services: NamedDependency[Services], decision_id: IdPath) -> str:
    return await services.store.call_reading(receipt_of, services, decision_id)


def receipt_of(services: Services, decision_id: str) -> str:
    recorded = recorded_decision(services, decision_id)
    return services.ledger.receipt(recorded.ledger.index)


Text = Annotated[str | None, Parameter(max_length=64)]


@get(
    "/decisions",
    operation_id="listDecisions",
    tags=TAGS,
    sync_to_thread=True,
    responses=problems(400, 401, 403, 404, 422),
    summary="Recorded decisions, newest first, filtered and paged",
    description=(
        f"At most `limit` decisions (1–{MAX_PAGE_ITEMS:,}, else 422) and at most 4 MiB a page "
        "(a single larger decision is sent alone); `next_cursor` continues the listing, null at "
        "its end. `from` and `to` are inclusive local dates of `as_of` in each policy's time "
        "zone. Read from the decision index, which is derived from the ledger."
    ),
)
def list_decisions(
    services: NamedDependency[Services],
    policy: Annotated[
        str | None,
        Parameter(
            max_length=64,
            description="Only this policy's decisions.",
            schema_extra={"enum": rules.policy_ids()},
        ),
    ] = None,
    start: Annotated[
        date | None, QueryParameter(name="from", description="First local date of `as_of`.")
    ] = None,
    end: Annotated[
        date | None, QueryParameter(name="to", description="Last local date of `as_of`.")
    ] = None,
    route: Annotated[str | None, Parameter(max_length=64, description="Route role.")] = None,
    stage: Annotated[str | None, Parameter(max_length=64, description="Stage.")] = None,
    flag: Annotated[str | None, Parameter(max_length=64, description="A flag it has.")] = None,
    purpose: Annotated[
        Literal["live", "test", "preview"] | None, Parameter(description="live, test or preview.")
    ] = None,
    cursor: Annotated[
        str | None,
        Parameter(
            max_length=20,
            description="A page's `next_cursor`: the listing goes on after it.",
            schema_extra={"pattern": "^[0-9]{1,15}$"},
        ),
    ] = None,
    limit: DecisionLimit = 100,
) -> Response[DecisionPage]:
    check_limit(limit, MAX_PAGE_ITEMS)
    if policy is not None and policy not in rules.policy_ids():
        raise unknown_policy(policy)
    if start is not None and end is not None and end < start:
        # An empty page would read as "no decisions then"; the reports refuse the same period.
        raise ApiProblem(
            422,
            "the period ends before it starts",
            [FieldError(pointer="/to", message=f"{end} is before from {start}")],
        )
    filters = {
        "policy": policy,
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "route": route,
        "stage": stage,
        "flag": flag,
        "purpose": purpose,
    }
    before = cursor_start(cursor) if cursor is not None else None
    with services.store.read() as tx:
        rows = tx.search_decisions(filters, 0, limit + 1, before)
    return Response(decision_page(services, rows, limit), media_type="application/json")


def decision_page(services: Services, rows: list[dict[str, Any]], limit: int) -> bytes:
    """`{items, next_cursor}` as JSON bytes: at most `limit` decisions and 4 MiB; the cursor is
    the index of the last decision sent (the next page holds older ones)."""
    encoded: list[bytes] = []
    size, last = 0, None
    for row in rows[:limit]:
        item = msgspec.json.encode(recorded_decision(services, row["decision_id"]))
        if encoded and size + len(item) > MAX_PAGE_BYTES:
            return page(encoded, str(last))
        encoded.append(item)
        size, last = size + len(item), row["idx"]
    return page(encoded, str(last) if len(rows) > limit else None)


def page(items: list[bytes], next_cursor: str | None) -> bytes:
    cursor = msgspec.json.encode(next_cursor)
    return b'{"items":[' + b",".join(items) + b'],"next_cursor":' + cursor + b"}"


HANDLERS = [post_decision, list_decisions, get_decision, get_receipt]
