"""Cases as stored: the case row (policy, state, facts, stage and route, latest decision, a
version for optimistic concurrency, personal-data state), its decision ids and its obligations.

This module reads them (`CaseStore`) and computes what a case write stores (`case_rows`); the
writes themselves are jobs of `service.workflows`, one transaction with the decision entry. Each
obligation row holds the UTC instant it passes (a date due passes at the end of its local day,
in the policy's time zone), so the overdue query is one indexed comparison per policy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec

from rules.calendar import start_of_local_day
from schemas.decision import Deadline, Decision
from store import Store

INSTANT = "%Y-%m-%dT%H:%M:%S.%fZ"
CLOSING_DISPOSITIONS = frozenset({"close", "refer", "out_of_jurisdiction", "not_eligible"})
OPEN_STATUSES = frozenset({"open", "overdue"})


@dataclass(frozen=True)
class CaseRecord:
    """A case as stored."""

    case_id: str
    policy: str
    facts: dict[str, Any]
    personal: str
    personal_commitment: str | None
    decision_ids: list[str]
    open_deadlines: list[Deadline]
    created_at: str
    updated_at: str
    state: str = "open"
    reference: str | None = None
    complainant: str | None = None
    stage: str | None = None
    route: str | None = None
    version: int = 1
    obligations: list[dict[str, Any]] = field(default_factory=list)


def merge_facts(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The facts after an event: changed keys replace, a key given as null removes the fact."""
    merged = dict(current)
    for name, value in changes.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def deadline_passes_at(due: str, timezone: str) -> datetime:
    """The UTC instant a deadline passes: a date when its local day is over (the next one
    begins), a date-time as is."""
    if len(due) == 10:
        return start_of_local_day(date.fromisoformat(due) + timedelta(days=1), timezone)
    return datetime.fromisoformat(due).astimezone(UTC)


def utc_text(instant: datetime) -> str:
    """Fixed-width UTC text, so instants compare correctly as strings in SQL."""
    return instant.astimezone(UTC).strftime(INSTANT)


def now_text() -> str:
    return utc_text(datetime.now(UTC))


def _set_or_none(value: Any) -> Any:
    """A version-1 deadline leaves `status` and `done_at` UNSET: stored as null."""
    return None if value is msgspec.UNSET else value


def case_rows(
    decision: Decision, timezone: str, previous: list[dict[str, Any]]
) -> tuple[str, list[dict[str, Any]]]:
    """(state, obligation rows) of a case after `decision`, given its rows before.

    For now the rows are the latest decision's deadlines, each `open` unless the deadline says
    otherwise (the obligation register of `cases.register` will take this place)."""
    first_seen = {r["name"]: r.get("first_decision_id") for r in previous}
    rows = [
        {
            "name": d.name,
            "rule": d.rule,
            "due": d.due,
            "done_at": _set_or_none(getattr(d, "done_at", None)),
            "status": _set_or_none(getattr(d, "status", None)) or "open",
            "first_decision_id": first_seen.get(d.name) or decision.decision_id,
            "last_decision_id": decision.decision_id,
            "passes_at": utc_text(deadline_passes_at(d.due, timezone)),
        }
        for d in decision.outcome.deadlines
    ]
    closing = decision.outcome.disposition in CLOSING_DISPOSITIONS
    still_owed = any(r["status"] in OPEN_STATUSES for r in rows)
    return ("closed" if closing and not still_owed else "open"), rows


class CaseStore:
    """Reads the cases of one store; safe to share between threads."""

    def __init__(self, store: Store, timezones: Mapping[str, str]) -> None:
        """`timezones` maps each policy id to its IANA time zone (for deadlines' local days)."""
        self.store = store
        self.timezones = dict(timezones)

    def get(self, case_id: str) -> CaseRecord | None:
        """The case, or None when there is none by that id."""
        with self.store.read() as tx:
            row = tx.case(case_id)
            return None if row is None else self._record(tx, row)

    def _record(self, tx: Any, row: dict[str, Any]) -> CaseRecord:
        obligations = tx.case_obligations(row["case_id"])
        return CaseRecord(
            case_id=row["case_id"],
            policy=row["policy"],
            facts=json.loads(row["facts"]),
            personal=row["personal"],
            personal_commitment=row["personal_commitment"],
            decision_ids=tx.case_decision_ids(row["case_id"]),
            open_deadlines=[
                Deadline(name=r["name"], due=r["due"], rule=r["rule"])
                for r in obligations
                if r["status"] in OPEN_STATUSES
            ],
            created_at=row["opened_at"],
            updated_at=row["updated_at"],
            state=row["state"],
            reference=row["reference"],
            complainant=row["complainant"],
            stage=row["stage"],
            route=row["route"],
            version=row["version"],
            obligations=obligations,
        )

    def find(
        self, policy: str | None = None, overdue_as_of: date | None = None
    ) -> list[CaseRecord]:
        """Cases, oldest first; only `policy`'s when given; only those with an open obligation
        that passed before the start of `overdue_as_of` (local to each policy) when given."""
        policies = [policy] if policy is not None else sorted(self.timezones)
        with self.store.read() as tx:
            found: list[dict[str, Any]] = []
            for pid in policies:
                cutoff = None
                if overdue_as_of is not None:
                    cutoff = utc_text(start_of_local_day(overdue_as_of, self.timezones[pid]))
                found.extend(tx.find_cases(pid, cutoff))
            found.sort(key=lambda r: (r["opened_at"], r["case_id"]))
            return [self._record(tx, r) for r in found]
