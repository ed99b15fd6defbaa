"""Cases: open one, record events on it, read it back (with or without its personal data),
list them, and erase its personal data.

The two writes that decide (opening a case, recording an event) run on the event loop and await
the store's writer, like taking a decision (`api.decisions`); what they read of the store first
or after goes through `Store.call_reading` (on the loop for SQLite, in a worker thread for
PostgreSQL), as does reading one case. The other handlers are synchronous, in Litestar's pool.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, get_args, get_type_hints

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import Parameter, QueryParameter

import rules
from api.bodies import (
    checked,
    evaluate,
    evaluate_event,
    json_body,
    refuse_future,
    refuse_lists_in_lists,
    refuse_unknown_policy,
    refuse_unrecordable,
    unknown_policy,
)
from api.decisions import IdPath, recorded_decision
from api.idempotency import IdempotencyKey, answered_async, idempotent_async, request_hash
from api.logs import note
from api.paging import bad_cursor, check_limit, page_limit
from api.problems import ApiProblem
from api.responses import READ, WRITE, json_response, problems
from api.services import Services
from cases import BadCursor, CaseFilter, CaseRecord
from cases.store import CURSOR_PATTERN, register_row
from cases.store import MAX_PAGE_ITEMS as MAX_CASE_PAGE
from keys import Caller
from schemas.api import (
    Case,
    CaseEvent,
    CasePage,
    CaseRequest,
    CaseState,
    Erasure,
    Obligation,
    PersonalData,
    PersonalState,
)
from schemas.decision import RecordedDecision
from schemas.problems import FieldError
from service import CaseNotFound, NothingToErase
from service.ownership import owns_case
from store import ReadTx
from store.base import DamagedValue, stored_as

TAGS = ["cases"]
CaseLimit = page_limit("cases", MAX_CASE_PAGE)
CASE_STATES = ("open", "closed")


def opened_case(services: NamedDependency[Services]) -> Callable[[ReadTx, RecordedDecision], bytes]:
    """The response to opening a case, rendered from the store as of `tx`: the write's own
    transaction, which remembers it for an Idempotency-Key's replays."""

    def render(tx: ReadTx, recorded: RecordedDecision) -> bytes:
        record = services.cases._record(tx, tx.case(recorded.case_id))  # noqa: SLF001
        return msgspec.json.encode(case_with(record, [recorded]))

    return render


@post(
    "/cases",
    operation_id="openCase",
    tags=TAGS,
    responses=WRITE,
    summary="Open a case with its facts (and personal data, kept outside the ledger)",
)
async def post_case(
    request: Request,
    services: NamedDependency[Services],
    caller: NamedDependency[Caller],
    idempotency_key: IdempotencyKey = None,
) -> Response[Case]:
    render = opened_case(services)
    given = await json_body(request)
    once = await idempotent_async(
        services.store,
        caller,
        idempotency_key,
        lambda: request_hash("POST", request.url.path, given),
        render,
    )
    if isinstance(once, Response):
        return once
    body = checked(given, CaseRequest)
    refuse_unknown_policy(body.policy)
    refuse_lists_in_lists(body.personal, "/personal")
    refuse_unrecordable(facts=body.facts, personal=body.personal)
    refuse_future(body.as_of, body.purpose)
    decision = evaluate(body.policy, body.facts, body.as_of)
    decision = msgspec.structs.replace(decision, purpose=body.purpose)

    async def write() -> Response:
        case, recorded = await services.workflows.open_case_async(
            decision,
            body.facts,
            body.personal,
            body.reference,
            body.complainant,
            key_id=caller.key_id,
            once=once,
        )
        note(request, decision_id=recorded.decision_id, case_id=case.case_id)
        # The case as written, not read back (a replay sends what `render` stored, the same).
        return json_response(case_with(case, [recorded]), 201)

    return await answered_async(services.store, once, write)


@post(
    "/cases/{case_id:str}/events",
    operation_id="recordCaseEvent",
    tags=TAGS,
    responses=WRITE,
    summary="New or changed facts (an act done, an outcome issued…): merge and decide again",
)
async def post_case_event(
    request: Request,
    services: NamedDependency[Services],
    caller: NamedDependency[Caller],
    case_id: IdPath,
    idempotency_key: IdempotencyKey = None,
) -> Response[RecordedDecision]:
    given = await json_body(request)
    once = await idempotent_async(
        services.store,
        caller,
        idempotency_key,
        lambda: request_hash("POST", request.url.path, given),
        lambda _, recorded: msgspec.json.encode(recorded),
    )
    if isinstance(once, Response):
        return once
    case = await services.store.call_reading(existing_case, services, case_id)
    body = checked(given, CaseEvent, policy_field=False)
    refuse_unrecordable(facts=body.facts)
    refuse_future(body.as_of, case.purpose)  # a case's events inherit its purpose

    async def write() -> Response:
        try:
            recorded = await services.workflows.apply_event_async(
                case_id,
                body.facts,
                body.as_of,
                evaluate_event,
                key_id=caller.key_id,
                once=once,
                read=case,  # read above: not read again for the first try
            )
        except CaseNotFound:
            raise ApiProblem(404, f"no case {case_id}") from None
        note(request, decision_id=recorded.decision_id, case_id=case_id)
        return json_response(recorded, 201)

    return await answered_async(services.store, once, write)


@get(
    "/cases/{case_id:str}",
    operation_id="getCase",
    tags=TAGS,
    responses=READ,
    summary="A case: its state, facts, decisions and obligation register (no personal data)",
)
async def get_case(services: NamedDependency[Services], case_id: IdPath) -> Case:
    return await services.store.call_reading(case_read, services, case_id)


def case_read(services: Services, case_id: str) -> Case:
    case = existing_case(services, case_id)
    return case_with(case, [recorded_decision(services, d) for d in case.decision_ids])


@get(
    "/cases",
    operation_id="listCases",
    tags=TAGS,
    sync_to_thread=True,
    responses=problems(400, 401, 403, 404, 422),
    summary="Cases, oldest first, filtered and paged",
    description=(
        f"At most `limit` cases (1–{MAX_CASE_PAGE:,}, else 422) and at most 4 MiB a page; "
        "`next_cursor` continues the listing, null at its end. Each case's `overdue` names "
        "its obligations overdue at `overdue_as_of` (now when not given)."
    ),
)
def list_cases(
    services: NamedDependency[Services],
    policy: Annotated[
        str | None,
        Parameter(
            max_length=64,
            description="Only cases under this policy.",
            schema_extra={"enum": rules.policy_ids()},
        ),
    ] = None,
    case_state: Annotated[
        str | None,
        QueryParameter(
            name="state",
            description="Only open, or only closed, cases.",
            schema_extra={"enum": list(CASE_STATES)},
        ),
    ] = None,
    reference: Annotated[
        str | None,
        Parameter(max_length=200, description="Only cases with this client reference."),
    ] = None,
    overdue_as_of: Annotated[
        date | None,
        Parameter(
            description=(
                "Only cases with an obligation overdue at the start of this date (YYYY-MM-DD, "
                "in each policy's time zone): its due had passed (a date due passes at the end "
                "of its day) and it had not yet ended, by its act or by the first decision that "
                "no longer listed it. A missed obligation stays listed on the days it was "
                "overdue, whatever happened since."
            )
        ),
    ] = None,
    cursor: Annotated[
        str | None,
        Parameter(
            max_length=106,
            pattern=CURSOR_PATTERN,
            description="A page's `next_cursor`: the listing goes on after that case.",
        ),
    ] = None,
    limit: CaseLimit = 100,
) -> CasePage:
    check_limit(limit, MAX_CASE_PAGE)
    if policy is not None and policy not in rules.policy_ids():
        raise unknown_policy(policy)
    if case_state is not None and case_state not in CASE_STATES:
        # Checked here, not by the parameter's type: Litestar would name it `/case_state`.
        raise ApiProblem(
            400,
            "no such case state",
            [FieldError(pointer="/state", message="expected one of 'open', 'closed'")],
        )
    where = CaseFilter(
        policy=policy, state=case_state, reference=reference, overdue_as_of=overdue_as_of
    )
    try:
        items, next_cursor = services.cases.page(where, limit, cursor)
    except BadCursor:
        raise bad_cursor() from None
    return stored_as({"items": items, "next_cursor": next_cursor}, CasePage)


@get(
    "/cases/{case_id:str}/personal",
    operation_id="getCasePersonal",
    tags=TAGS,
    sync_to_thread=True,
    responses=READ,
    summary="The case's latest personal data (null when none was given; 404 once erased)",
    description=(
        "A decide key reads the personal data of the cases it opened, or a key of the same "
        "name opened (the same client system), and 403 for another's; an admin key reads every "
        "case's."
    ),
)
def get_personal(
    services: NamedDependency[Services], caller: NamedDependency[Caller], case_id: IdPath
) -> PersonalData:
    case = existing_case(services, case_id)
    if not owns_case(services.store, caller, case_id):
        raise ApiProblem(
            403,
            f"case {case_id} was opened by another client system: a decide key reads the "
            "personal data only of the cases opened by itself or by a key of the same name",
        )
    if case.personal == "none":
        return PersonalData(case_id=case_id, personal=None)
    found = services.ledger.open_personal(case_id)
    if found is None:
        raise ApiProblem(404, f"the personal data of case {case_id} was erased")
    return PersonalData(case_id=case_id, personal=found)


@delete(
    "/cases/{case_id:str}/personal",
    operation_id="erasePersonal",
    tags=TAGS,
    sync_to_thread=True,
    status_code=200,
    responses=READ,
    summary="Erase the case's personal data (its key is destroyed; the ledger records it)",
    description=(
        "A case opened without personal data is erased too (its complainant reference goes); "
        "once erased, its personal data is gone: GET and DELETE answer 404."
    ),
)
def erase_personal(
    request: Request, services: NamedDependency[Services], case_id: IdPath
) -> Erasure:
    existing_case(services, case_id)
    try:
        receipt = services.workflows.erase_personal(case_id)
    except (CaseNotFound, NothingToErase) as exc:
        raise ApiProblem(404, str(exc)) from None
    note(request, case_id=case_id)
    return Erasure(case_id=case_id, ledger=receipt)


def existing_case(services: NamedDependency[Services], case_id: str) -> CaseRecord:
    case = services.cases.get(case_id)
    if case is None:
        raise ApiProblem(404, f"no case {case_id}")
    return case


# What a case row's state, purpose and personal-data mark can be (the `Case` schema's values).
SERVED_MARKS = {
    "state": frozenset(get_args(CaseState)),
    "purpose": frozenset(get_args(get_type_hints(Case)["purpose"])),
    "personal": frozenset(get_args(PersonalState)),
}


def case_with(case: CaseRecord, decisions: list[RecordedDecision]) -> Case:
    for name, allowed in SERVED_MARKS.items():
        if getattr(case, name) not in allowed:  # edited by other hands: `Case` cannot hold it
            raise DamagedValue(f"case {case.case_id}'s {name} is {getattr(case, name)!r}")
    return Case(
        case_id=case.case_id,
        policy=case.policy,
        state=case.state,  # type: ignore[arg-type]
        purpose=case.purpose,  # type: ignore[arg-type]
        reference=case.reference,
        opened_at=case.opened_at,
        facts=case.facts,
        personal=case.personal,  # type: ignore[arg-type]
        decisions=decisions,
        obligations=[stored_as(register_row(r), Obligation) for r in case.obligations],
    )


HANDLERS = [post_case, post_case_event, get_case, list_cases]
PERSONAL = [get_personal, erase_personal]
