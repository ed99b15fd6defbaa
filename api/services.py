"""What the handlers work with: the ledger, the case store and the key ring of one data dir,
opened once per worker process at start-up; and the guard that checks API keys and roles.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

import rules
from api.keys import KeyRing, allows
from api.problems import ApiProblem
from cases import CaseStore
from ledger import DB_FILE
from ledger.store import Ledger
from schemas.decision import Decision, RecordedDecision
from schemas.problems import FieldError


@dataclass
class Services:
    """The stores of one data directory, shared by the threads of one worker process."""

    data_dir: Path
    ledger: Ledger
    cases: CaseStore
    keys: KeyRing
    rulesets: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def open(cls, data_dir: Path) -> Services:
        timezones = {p.id: p.timezone for p in rules.policy_summaries()}
        return cls(
            data_dir=data_dir,
            ledger=Ledger.open(data_dir),
            cases=CaseStore(data_dir, timezones),
            keys=KeyRing(data_dir),
            rulesets={p: rules.ruleset_document(p) for p in rules.policy_ids()},
        )

    def store_writable(self) -> bool:
        """True when the store takes a write lock now (the disk is writable and not stuck)."""
        try:
            with closing(sqlite3.connect(self.data_dir / DB_FILE, timeout=5)) as db:
                db.execute("BEGIN IMMEDIATE")
                db.execute("ROLLBACK")
            return True
        except sqlite3.Error:
            return False

    def record(
        self,
        decision: Decision,
        facts: dict[str, Any],
        case_id: str | None = None,
        personal_commitment: str | None = None,
    ) -> RecordedDecision:
        """Give the decision its id and append it to the ledger; returns once it is durable."""
        decision = msgspec.structs.replace(decision, decision_id=new_id(), case_id=case_id)
        receipt = self.ledger.record_decision(
            self.rulesets[decision.policy], decision, facts, personal_commitment
        )
        return RecordedDecision(**msgspec.structs.asdict(decision), ledger=receipt)


def new_id() -> str:
    """A random identifier for decisions and cases: 128 bits, lowercase hex."""
    return uuid.uuid4().hex


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
