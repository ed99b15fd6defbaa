"""Policies (what each takes and says) and health."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

import rules
from api.bodies import unknown_policy
from api.responses import ERROR_TEXT, READ, problems
from api.services import Services
from schemas.api import Health
from schemas.policies import PolicyDetail, PolicySummary

TAGS = ["policies"]


@get(
    "/policies",
    operation_id="listPolicies",
    tags=TAGS,
    sync_to_thread=False,
    responses=problems(401, 403),
    summary="The policies, each with its version (sha256 of the canonical ruleset)",
)
def list_policies() -> list[PolicySummary]:
    return rules.policy_summaries()


@get(
    "/policies/{policy_id:str}",
    operation_id="getPolicy",
    tags=TAGS,
    sync_to_thread=False,
    responses=READ,
    summary="A policy: every rule (id, citation, description) and every fact it takes",
)
def get_policy(
    policy_id: Annotated[str, Parameter(min_length=1, max_length=64, description="A policy id.")],
) -> PolicyDetail:
    try:
        return rules.policy_detail(policy_id)
    except rules.UnknownPolicy:
        raise unknown_policy(policy_id, "/policy_id") from None


@get(
    "/health",
    operation_id="getHealth",
    sync_to_thread=True,
    responses={503: ResponseSpec(Health, description=ERROR_TEXT[503], generate_examples=False)},
    summary="Whether the service can record decisions (no key needed)",
    tags=["health"],
)
def health(services: NamedDependency[Services]) -> Response[Health]:
    writable = services.store_writable()
    status = "ok" if writable else "unavailable"
    return Response(
        Health(status=status, store_writable=writable), status_code=200 if writable else 503
    )


HANDLERS = [list_policies, get_policy]
OPEN = [health]
