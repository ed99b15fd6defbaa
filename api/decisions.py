"""Decisions: take one (the stateless query), read it back, and its receipt.

Handlers are synchronous (the store and the rules engine block) and run in Litestar's thread
pool; their role guards are the routers' (`api.app`), their services come by injection.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import Body, Parameter

from api.bodies import checked, evaluate, refuse_future, refuse_unrecordable, whole_numbers
from api.idempotency import IdempotencyKey, answered, idempotent, request_hash
from api.logs import note
from api.problems import ApiProblem
from api.responses import READ, WRITE, json_response
from api.services import Services
from keys import Caller
from schemas.api import DecisionRequest
from schemas.decision import RecordedDecision
from store import ReadTx

IdPath = Annotated[str, Parameter(min_length=1, max_length=64, description="An identifier.")]
TAGS = ["decisions"]


def decision_bytes(_: ReadTx, recorded: RecordedDecision) -> bytes:
    return msgspec.json.encode(recorded)


@post(
    "/decisions",
    operation_id="createDecision",
    tags=TAGS,
    sync_to_thread=True,
    responses=WRITE,
    summary="Evaluate facts under a policy now, and record the decision",
)
def post_decision(
    request: Request,
    services: NamedDependency[Services],
    caller: NamedDependency[Caller],
    data: Annotated[Any, Body(title="DecisionRequest")],
    idempotency_key: IdempotencyKey = None,
) -> Response[RecordedDecision]:
    data = whole_numbers(data)
    digest = request_hash("POST", request.url.path, data)
    once = idempotent(services.store, caller, idempotency_key, digest, decision_bytes)
    if isinstance(once, Response):
        return once
    body = checked(data, DecisionRequest)
    refuse_unrecordable(facts=body.facts)
    refuse_future(body.as_of, body.purpose)
    decision = evaluate(body.policy, body.facts, body.as_of)
    decision = msgspec.structs.replace(decision, purpose=body.purpose)

    def write() -> Response:
        recorded = services.workflows.decide(decision, body.facts, key_id=caller.key_id, once=once)
        note(request, decision_id=recorded.decision_id)
        return json_response(decision_bytes(None, recorded), 201)  # type: ignore[arg-type]

    return answered(services.store, once, write)


@get(
    "/decisions/{decision_id:str}",
    operation_id="getDecision",
    tags=TAGS,
    sync_to_thread=True,
    responses=READ,
    summary="A decision as recorded",
)
def get_decision(services: NamedDependency[Services], decision_id: IdPath) -> RecordedDecision:
    return recorded_decision(services, decision_id)


def recorded_decision(services: NamedDependency[Services], decision_id: str) -> RecordedDecision:
    recorded = services.ledger.decision(decision_id)
    if recorded is None:
        raise ApiProblem(404, f"no decision {decision_id}")
    return recorded


@get(
    "/decisions/{decision_id:str}/receipt",
    operation_id="getReceipt",
    tags=TAGS,
    sync_to_thread=True,
    responses=READ,
    media_type="text/plain",
    summary="A self-contained C2SP tlog-proof for the decision's ledger entry",
)
def get_receipt(services: NamedDependency[Services], decision_id: IdPath) -> str:
    recorded = recorded_decision(services, decision_id)
    return services.ledger.receipt(recorded.ledger.index)


HANDLERS = [post_decision, get_decision, get_receipt]
