"""`GET /v1/reports/{name}` (audit): a report as JSON, or CSV with `Accept: text/csv`, with the
ledger state it was computed at in `Redress-Tree-Size` and `Redress-Root-Hash`.

The query values arrive as plain strings and are checked by `reports.parse_query`, so a bad one
is a 422 naming its parameter (`/from`, `/to`, `/quarter`, `/policy`); an unknown report or
policy is 404.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import Parameter, QueryParameter

import reports
import rules
from api.bodies import unknown_policy
from api.problems import ApiProblem
from api.responses import problems
from api.services import Services
from reports.query import QUARTER, SPAN
from reports.stored import compute_stored
from schemas.api import Report
from schemas.problems import FieldError

CSV = "text/csv"
JSON = "application/json"
TREE_SIZE, ROOT_HASH = "Redress-Tree-Size", "Redress-Root-Hash"  # the ledger state it is of
STATE_HEADERS = {
    TREE_SIZE: "The size of the ledger the report was computed at.",
    ROOT_HASH: "That tree's root hash, hex.",
}
# The query's forms, for the contract (a value not of them is a 422 naming it, `parse_query`).
A_DATE = {"format": "date"}


def report_for(services: Services, name: str, values: dict[str, str | None]) -> dict[str, Any]:
    """The report `name` over the store's decision index and case tables, or a 404/422
    problem."""
    if name not in reports.REPORT_NAMES:
        raise ApiProblem(
            404,
            f"no report {name!r}: one of {', '.join(reports.REPORT_NAMES)}",
            [FieldError(pointer="/name", message="unknown report")],
        )
    policy = values.get("policy")
    if policy and policy not in rules.policy_ids():
        raise unknown_policy(policy)  # CONTRACT.md: "an unknown policy 404", as everywhere
    try:
        query = reports.parse_query(name, values, rules.policy_ids())
    except reports.QueryError as exc:
        errors = [FieldError(pointer=p, message=m) for p, m in exc.errors]
        raise ApiProblem(422, "bad report query", errors) from None
    return compute_stored(name, services.store, services.ledger.root_hash, query)


def report_response(report: dict[str, Any], as_csv: bool) -> Response[bytes]:
    headers = {TREE_SIZE: str(report["tree_size"]), ROOT_HASH: report["root_hash"]}
    if as_csv:
        filename = f"{report['report']}.csv"
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return Response(reports.to_csv(report).encode(), media_type=CSV,
                        headers=headers)  # fmt: skip
    return Response(msgspec.json.encode(report), media_type="application/json", headers=headers)


def wants_csv(request: Request) -> bool:
    """Whether `Accept` prefers CSV to JSON (q-values weighed; JSON when it names neither)."""
    return request.accept.best_match([JSON, CSV], default=JSON) == CSV


@get(
    "/reports/{name:str}",
    operation_id="getReport",
    tags=["reports"],
    sync_to_thread=True,
    responses=problems(400, 401, 403, 404, 422),
    summary="A report (register, routing, timeliness, serco-quarterly, repeat-complainers); "
    "JSON, or CSV with Accept: text/csv",
)
def get_report(
    request: Request,
    services: NamedDependency[Services],
    name: Annotated[
        str,
        Parameter(
            max_length=64,
            description="The report's name.",
            schema_extra={"enum": list(reports.REPORT_NAMES)},
        ),
    ],
    date_from: Annotated[
        str | None,
        QueryParameter(
            name="from",
            max_length=64,
            description=f"First local date, in {SPAN}.",
            schema_extra=A_DATE,
        ),
    ] = None,
    date_to: Annotated[
        str | None,
        QueryParameter(
            name="to",
            max_length=64,
            description=f"Last local date, in {SPAN}.",
            schema_extra=A_DATE,
        ),
    ] = None,
    quarter: Annotated[
        str | None,
        Parameter(max_length=64, description="YYYY-QN.", schema_extra={"pattern": QUARTER.pattern}),
    ] = None,
    policy: Annotated[
        str | None,
        Parameter(
            max_length=64, description="A policy id.", schema_extra={"enum": rules.policy_ids()}
        ),
    ] = None,
) -> Response[Report]:
    values = {"from": date_from, "to": date_to, "quarter": quarter, "policy": policy}
    return report_response(report_for(services, name, values), wants_csv(request))


HANDLERS = [get_report]
