"""What the handlers work with: the store of one data dir with the ledger, cases, key ring and
write workflows over it, opened once per worker process at start-up; and the guard that checks
API keys and roles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

import rules
from api.keys import KeyRing, allows
from api.problems import ApiProblem
from cases import CaseStore
from ledger.store import Ledger
from schemas.decision import Decision, RecordedDecision
from schemas.problems import FieldError
from service import Workflows
from service.workflows import new_id
from store import Store, open_store


@dataclass
class Services:
    """The stores of one data directory, shared by the threads of one worker process."""

    data_dir: Path
    store: Store
    ledger: Ledger
    cases: CaseStore
    keys: KeyRing
    workflows: Workflows
    rulesets: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def open(cls, data_dir: Path) -> Services:
        timezones = {p.id: p.timezone for p in rules.policy_summaries()}
        rulesets = {p: rules.ruleset_document(p) for p in rules.policy_ids()}
        store = open_store(data_dir)
        ledger = Ledger.open(data_dir, store)
        cases = CaseStore(store, timezones)
        return cls(
            data_dir=data_dir,
            store=store,
            ledger=ledger,
            cases=cases,
            keys=KeyRing(store),
            workflows=Workflows(store, ledger, cases, rulesets, timezones),
            rulesets=rulesets,
        )

    def close(self) -> None:
        self.store.close()

    def store_writable(self) -> bool:
        """True when the store takes a write lock now (the disk is writable and not stuck)."""
        return self.store.writable()

    def record(
        self,
        decision: Decision,
        facts: dict[str, Any],
        case_id: str | None = None,
    ) -> RecordedDecision:
        """Give the decision its id and append it to the ledger; returns once it is durable."""
        return self.workflows.decide(decision, facts, case_id)


__all__ = ["Services", "evaluate", "new_id", "requires", "utc_now"]


def utc_now() -> str:
    """The server clock as `as_of`, for requests that give none."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def evaluate(policy: str, facts: dict[str, Any], as_of: str | None) -> Decision:
    """`rules.evaluate`, with its errors as problems: 404 for an unknown policy, 422 for facts."""
    try:
        return rules.evaluate(policy, facts, as_of or utc_now())
    except rules.UnknownPolicy:
        raise ApiProblem(
            404, f"no policy {policy!r}", [FieldError(pointer="/policy", message="unknown policy")]
        ) from None
    except rules.InputError as exc:
        raise ApiProblem(422, "the facts do not fit the policy", exc.errors) from None


def bearer_key(authorization: str | None) -> str | None:
    """The key in an `Authorization: Bearer <key>` header, or None."""
    if not authorization:
        return None
    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key else None


def requires(role: str) -> Callable[[ASGIConnection, BaseRouteHandler], None]:
    """A guard: 401 without a valid key, 403 when the key's role does not allow `role`."""

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        key = bearer_key(connection.headers.get("authorization"))
        if key is None:
            raise ApiProblem(401, "an API key is needed: Authorization: Bearer <key>")
        services: Services = connection.app.state.services
        held = services.keys.role_of(key)
        if held is None:
            raise ApiProblem(401, "unknown API key")
        if not allows(held, role):
            raise ApiProblem(403, f"a {held} key cannot do this: it needs the {role} role")

    return guard
