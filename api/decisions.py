"""Decisions, cases, policies and health: parse, authorise, call `rules`, `cases`, `ledger`.

Handlers are synchronous (SQLite and the rules engine block) and run in Litestar's thread pool.
Request bodies arrive as plain objects and are checked by `api.bodies`, so that every offending
field is named; the OpenAPI document still shows the closed request Structs (`api.openapi`).
Nothing is written before the request has been fully checked and the rules have decided.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get, post, route
from litestar.datastructures import State
from litestar.enums import HttpMethod
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, Parameter

import rules
from api.bodies import as_struct, body_errors
from api.logs import note
from api.problems import PROBLEM_JSON, ApiProblem
from api.services import Services, evaluate, requires, utc_now
from cases import CaseRecord
from ledger.canonical import unhashable_values
from schemas.api import Case, CaseEvent, CaseRequest, CaseSummary, DecisionRequest, Erasure, Health
from schemas.decision import RecordedDecision
from schemas.policies import PolicyDetail, PolicySummary
from schemas.problems import FieldError, Problem
from service import CaseNotFound, NothingToErase

BEARER = [{"bearer": []}]
ERROR_TEXT = {
    400: "Malformed request: the problem's `errors` name every offending field.",
    401: "No API key, or an unknown one.",
    403: "The key's role does not allow this.",
    404: "No such resource.",
    413: "The request body is over 1 MiB.",
    422: "Well-formed, but the facts do not fit the policy: `errors` name every offending fact.",
    503: "The store is not writable.",
}
IdPath = Annotated[str, Parameter(min_length=1, max_length=64, description="An identifier.")]


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """Document error statuses as RFC 9457 problem details."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=ERROR_TEXT[status],
            generate_examples=False,
        )
        for status in statuses
    }


def keyed(role: str, tag: str) -> dict[str, Any]:
    """What every keyed operation shares: the role its API key needs, the bearer scheme, a tag."""
    return {"guards": [requires(role)], "security": BEARER, "tags": [tag]}


READ = problems(400, 401, 403, 404)
WRITE = problems(400, 401, 403, 404, 413, 422)


def refuse_unrecordable(**values: Any) -> None:
    """422 for values the ledger could not hash (`ledger.canonical.unhashable_values`)."""
    errors = [
        e for name, v in values.items() if v is not None for e in unhashable_values(v, f"/{name}")
    ]
    if errors:
        raise ApiProblem(422, "these values cannot be recorded", errors)


def checked(data: Any, shape: type, policy_field: bool = True) -> Any:
    """The body as `shape`, or a 400 naming every offending field.

    When the top level is wrong but the facts can be read, the rules check them too, so the
    answer names bad facts alongside bad top-level fields.
    """
    errors = body_errors(data, shape)
    if not errors:
        return as_struct(data, shape)
    if isinstance(data, dict) and isinstance(data.get("facts"), dict):
        policy = data.get("policy") if policy_field else None
        if isinstance(policy, str):
            errors += fact_errors(policy, data["facts"], data.get("as_of"), errors)
    raise ApiProblem(400, "the request body does not fit its schema", errors)


FUTURE_SLACK = timedelta(minutes=5)


def refuse_future(as_of: str | None, purpose: str = "live") -> None:
    """422 for a `live` decision dated later than the server clock plus 5 minutes (CONTRACT.md,
    version 2); `test` and `preview` may be dated anywhere. An `as_of` that does not parse is
    left to the rules, which name it."""
    if purpose != "live" or as_of is None:
        return
    try:
        instant = datetime.fromisoformat(as_of)
    except ValueError:
        return
    if instant.tzinfo is None:
        return
    latest = datetime.now(UTC) + FUTURE_SLACK
    if instant > latest:
        raise ApiProblem(
            422,
            "a live decision cannot be dated more than 5 minutes past the server clock",
            [FieldError(pointer="/as_of", message=f"later than {latest:%Y-%m-%dT%H:%M:%SZ}")],
        )


def fact_errors(
    policy: str, facts: dict[str, Any], as_of: Any, known: list[FieldError]
) -> list[FieldError]:
    """What the rules say of these facts, besides errors already reported."""
    seen = {e.pointer for e in known}
    try:
        rules.evaluate(policy, facts, as_of if isinstance(as_of, str) else utc_now())
    except rules.InputError as exc:
        return [e for e in exc.errors if e.pointer not in seen]
    except rules.UnknownPolicy:
        pass
    return []


def services_of(state: State) -> Services:
    return state.services


# Decisions ---------------------------------------------------------------------------------


@post(
    "/v1/decisions",
    **keyed("decide", "decisions"),
    sync_to_thread=True,
    responses=WRITE,
    summary="Evaluate facts under a policy now, and record the decision",
)
def post_decision(
    request: Request, state: State, data: Annotated[Any, Body(title="DecisionRequest")]
) -> RecordedDecision:
    body: DecisionRequest = checked(data, DecisionRequest)
    refuse_unrecordable(facts=body.facts)
    services = services_of(state)
    if body.case_id is not None:
        case = services.cases.get(body.case_id)
        if case is None:
            raise ApiProblem(
                404, "no such case", [FieldError(pointer="/case_id", message="no such case")]
            )
        if case.policy != body.policy:
            raise ApiProblem(
                422,
                f"case {body.case_id} is under policy {case.policy!r}",
                [FieldError(pointer="/policy", message="not the case's policy")],
            )
    refuse_future(body.as_of, body.purpose)
    decision = evaluate(body.policy, body.facts, body.as_of)
    decision = msgspec.structs.replace(decision, purpose=body.purpose)
    recorded = services.record(decision, body.facts, case_id=body.case_id)
    note(request, decision_id=recorded.decision_id)
    return recorded


@get(
    "/v1/decisions/{decision_id:str}",
    **keyed("decide", "decisions"),
    sync_to_thread=True,
    responses=READ,
    summary="A decision as recorded",
)
def get_decision(state: State, decision_id: IdPath) -> RecordedDecision:
    return recorded_decision(services_of(state), decision_id)


def recorded_decision(services: Services, decision_id: str) -> RecordedDecision:
    recorded = services.ledger.decision(decision_id)
    if recorded is None:
        raise ApiProblem(404, f"no decision {decision_id}")
    return recorded


@get(
    "/v1/decisions/{decision_id:str}/receipt",
    **keyed("decide", "decisions"),
    sync_to_thread=True,
    responses=READ,
    media_type="text/plain",
    summary="A self-contained C2SP tlog-proof for the decision's ledger entry",
)
def get_receipt(state: State, decision_id: IdPath) -> str:
    services = services_of(state)
    recorded = recorded_decision(services, decision_id)
    return services.ledger.receipt(recorded.ledger.index)


# Cases -------------------------------------------------------------------------------------


@post(
    "/v1/cases",
    **keyed("decide", "cases"),
    sync_to_thread=True,
    responses=WRITE,
    summary="Open a case with its facts (and personal data, kept outside the ledger)",
)
def post_case(
    request: Request, state: State, data: Annotated[Any, Body(title="CaseRequest")]
) -> Case:
    body: CaseRequest = checked(data, CaseRequest)
    refuse_unrecordable(facts=body.facts, personal=body.personal)
    services = services_of(state)
    refuse_future(body.as_of, body.purpose)
    decision = evaluate(body.policy, body.facts, body.as_of)
    decision = msgspec.structs.replace(decision, purpose=body.purpose)
    case_id, recorded = services.workflows.open_case(
        decision,
        body.facts,
        body.personal,
        getattr(body, "reference", None),
        getattr(body, "complainant", None),
    )
    note(request, decision_id=recorded.decision_id, case_id=case_id)
    return case_view(services, existing_case(services, case_id))


@post(
    "/v1/cases/{case_id:str}/events",
    **keyed("decide", "cases"),
    sync_to_thread=True,
    responses=WRITE,
    summary="New or changed facts: merge them into the case and decide again",
)
def post_case_event(
    request: Request,
    state: State,
    case_id: IdPath,
    data: Annotated[Any, Body(title="CaseEvent")],
) -> RecordedDecision:
    services = services_of(state)
    existing_case(services, case_id)
    body: CaseEvent = checked(data, CaseEvent, policy_field=False)
    refuse_unrecordable(facts=body.facts)
    refuse_future(body.as_of)  # events are live
    try:
        recorded = services.workflows.apply_event(case_id, body.facts, body.as_of, evaluate)
    except CaseNotFound:
        raise ApiProblem(404, f"no case {case_id}") from None
    note(request, decision_id=recorded.decision_id, case_id=case_id)
    return recorded


@get(
    "/v1/cases/{case_id:str}",
    **keyed("decide", "cases"),
    sync_to_thread=True,
    responses=READ,
    summary="A case: its facts, decisions and open deadlines",
)
def get_case(state: State, case_id: IdPath) -> Case:
    services = services_of(state)
    return case_view(services, existing_case(services, case_id))


@get(
    "/v1/cases",
    **keyed("decide", "cases"),
    sync_to_thread=True,
    responses=READ,
    summary="Cases, optionally of one policy, optionally only those overdue at a date",
)
def list_cases(
    state: State,
    policy: Annotated[
        str | None, Parameter(max_length=64, description="Only cases under this policy.")
    ] = None,
    overdue_as_of: Annotated[
        date | None,
        Parameter(
            description=(
                "Only cases with an open deadline due before this date (a date due counts as "
                "the end of its day, in the policy's time zone)."
            )
        ),
    ] = None,
) -> list[CaseSummary]:
    services = services_of(state)
    if policy is not None and policy not in rules.policy_ids():
        raise ApiProblem(404, f"no policy {policy!r}")
    return [
        CaseSummary(
            case_id=c.case_id,
            policy=c.policy,
            created_at=c.created_at,
            updated_at=c.updated_at,
            latest_decision_id=c.decision_ids[-1],
            open_deadlines=c.open_deadlines,
        )
        for c in services.cases.find(policy, overdue_as_of)
    ]


@delete(
    "/v1/cases/{case_id:str}/personal",
    **keyed("admin", "cases"),
    sync_to_thread=True,
    status_code=200,
    responses=READ,
    summary="Erase the case's personal data (its key is destroyed; the ledger records it)",
)
def erase_personal(request: Request, state: State, case_id: IdPath) -> Erasure:
    services = services_of(state)
    existing_case(services, case_id)
    try:
        receipt = services.workflows.erase_personal(case_id)
    except (CaseNotFound, NothingToErase) as exc:
        raise ApiProblem(404, str(exc)) from None
    note(request, case_id=case_id)
    return Erasure(case_id=case_id, ledger=receipt)


@route("/v1/cases", http_method=[HttpMethod.OPTIONS], include_in_schema=False, sync_to_thread=False)
def cases_options() -> Response[None]:
    # Litestar 2.25's automatic OPTIONS names only one handler's method when two share a path.
    return Response(None, status_code=204, headers={"Allow": "GET, OPTIONS, POST"})


def existing_case(services: Services, case_id: str) -> CaseRecord:
    case = services.cases.get(case_id)
    if case is None:
        raise ApiProblem(404, f"no case {case_id}")
    return case


def case_view(services: Services, case: CaseRecord) -> Case:
    return Case(
        case_id=case.case_id,
        policy=case.policy,
        facts=case.facts,
        personal=case.personal,  # type: ignore[arg-type]
        decisions=[recorded_decision(services, d) for d in case.decision_ids],
        open_deadlines=case.open_deadlines,
    )


# Policies and health -----------------------------------------------------------------------


@get(
    "/v1/policies",
    **keyed("decide", "policies"),
    sync_to_thread=False,
    responses=problems(401, 403),
    summary="The policies, each with its version (sha256 of the canonical ruleset)",
)
def list_policies() -> list[PolicySummary]:
    return rules.policy_summaries()


@get(
    "/v1/policies/{policy_id:str}",
    **keyed("decide", "policies"),
    sync_to_thread=False,
    responses=READ,
    summary="A policy with every rule: id, citation, description",
)
def get_policy(policy_id: IdPath) -> PolicyDetail:
    try:
        return rules.policy_detail(policy_id)
    except rules.UnknownPolicy:
        raise ApiProblem(404, f"no policy {policy_id!r}") from None


@get(
    "/health",
    sync_to_thread=True,
    responses={503: ResponseSpec(Health, description=ERROR_TEXT[503], generate_examples=False)},
    summary="Whether the service can record decisions (no key needed)",
    tags=["health"],
)
def health(state: State) -> Response[Health]:
    writable = services_of(state).store_writable()
    status = "ok" if writable else "unavailable"
    return Response(
        Health(status=status, store_writable=writable), status_code=200 if writable else 503
    )


ROUTES = [
    cases_options,  # first, so that Litestar does not add its own OPTIONS for /v1/cases
    post_decision,
    get_decision,
    get_receipt,
    post_case,
    post_case_event,
    get_case,
    list_cases,
    erase_personal,
    list_policies,
    get_policy,
    health,
]
