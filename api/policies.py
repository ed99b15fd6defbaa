"""Policies (what each takes and says) and health."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.params import Parameter

import rules
from api.bodies import unknown_policy
from api.responses import READ, problems
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
    sync_to_thread=False,
    summary="The service is alive (no key needed; `GET /ready` says whether it takes writes)",
    tags=["health"],
)
def health() -> Health:
    # Alive only: no store probe here, so a busy store never makes a liveness check hang.
    return Health(status="ok")


HANDLERS = [list_policies, get_policy]
OPEN = [health]
