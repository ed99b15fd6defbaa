"""Cases as stored: the case row (policy, purpose, state, facts, stage and route, latest
decision, a version for optimistic concurrency, personal-data state), its decision ids and its
obligation register.

This module reads them (`CaseStore`) and shapes the register rows a case write stores
(`stored_rows`); the writes themselves are jobs of `service.workflows`, one transaction with the
decision entry. Each register row also holds the UTC instant its obligation passes
(`cases.register.passes_at`, in the policy's time zone), so the overdue filter is one indexed
comparison per policy in SQL.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import msgspec

import clock
from cases.register import PENDING, as_instant, overdue_at, passes_at
from store import Store
from store.base import as_written, stored_as

# The register row as CONTRACT.md names it (the stored row adds case_id, seq and passes_at).
REGISTER_FIELDS = (
    "name",
    "rule",
    "due",
    "done_at",
    "status",
    "first_decision_id",
    "last_decision_id",
)
MAX_PAGE_ITEMS = 1000
MAX_PAGE_BYTES = 4 * 1024 * 1024


class BadCursor(ValueError):
    """A `cursor` that no listing gave."""


@dataclass(frozen=True)
class CaseRecord:
    """A case as stored; `obligations` is its register, in order."""

    case_id: str
    policy: str
    facts: dict[str, Any]
    personal: str
    personal_commitment: str | None
    decision_ids: list[str]
    opened_at: str
    updated_at: str
    purpose: str = "live"
    state: str = "open"
    reference: str | None = None
    complainant: str | None = None
    stage: str | None = None
    route: Any = None
    version: int = 1
    obligations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def created_at(self) -> str:
        return self.opened_at

    @property
    def open_deadlines(self) -> list[Any]:
        """The obligations still pending (open or overdue), as deadlines."""
        from schemas.decision import Deadline

        return [
            Deadline(name=r["name"], due=r["due"], rule=r["rule"])
            for r in self.obligations
            if r["status"] in PENDING
        ]


def register_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A register row as CONTRACT.md shows it, from a stored row."""
    return {name: row.get(name) for name in REGISTER_FIELDS}


def stored_rows(rows: Iterable[Mapping[str, Any]], timezone: str) -> list[dict[str, Any]]:
    """Register rows as the case table stores them: each with the instant it passes, when it
    stopped being pending (`cases.register.ends_at_of`) and when it was not listed (`gaps`)."""
    return [
        {
            **register_row(r),
            "passes_at": clock.instant_text(passes_at(r["due"], timezone)),
            "dropped_at": r.get("dropped_at"),
            "ends_at": r.get("ends_at"),
            "gaps": r.get("gaps") or [],
        }
        for r in rows
    ]


class StoredObligation(msgspec.Struct):
    """The values of a register row (`cases.register`) an event computes the next from, with
    the types the service writes (a row stored before schema 7 has no `dropped_at`, `ends_at`
    or `gaps`)."""

    name: str
    status: str
    due: str | None = None  # none in a row migrated from schema 3
    rule: str | None = None
    done_at: str | None = None
    first_decision_id: str | None = None
    last_decision_id: str | None = None
    dropped_at: str | None = None
    ends_at: str | None = None
    gaps: list[list[str]] = []


def case_record(
    row: Mapping[str, Any], decision_ids: list[str], obligations: list[dict[str, Any]]
) -> CaseRecord:
    """The case of a case row as the service has just written it, its decision ids and its
    register rows (as `stored_rows` makes them for storing)."""
    return CaseRecord(**_case_fields(row, decision_ids, obligations))


def stored_case(
    row: Mapping[str, Any], decision_ids: list[str], obligations: list[dict[str, Any]]
) -> CaseRecord:
    """`case_record` of rows read from the store: each value of the type the service writes
    (the facts an object, the commitment text, the register's instants text), else
    `DamagedValue`. An event merges into the facts, copies the commitment into its entry and
    computes the next register from these rows."""
    stored_as(obligations, list[StoredObligation])
    return stored_as(_case_fields(row, decision_ids, obligations), CaseRecord)


def _case_fields(
    row: Mapping[str, Any], decision_ids: list[str], obligations: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "case_id": row["case_id"],
        "policy": row["policy"],
        "purpose": row.get("purpose") or "live",
        "facts": json.loads(row["facts"]),
        "personal": row["personal"],
        "personal_commitment": row["personal_commitment"],
        "decision_ids": decision_ids,
        "opened_at": row["opened_at"],
        "updated_at": row["updated_at"],
        "state": row["state"],
        "reference": row["reference"],
        "complainant": row["complainant"],
        "stage": row["stage"],
        "route": route_value(row["route"]),
        "version": row.get("version", 1),
        "obligations": obligations,
    }


def route_text(route: Any) -> str | None:
    """The case row's copy of a route (or stage): a structured one as JSON text."""
    if route is not None and not isinstance(route, str):
        route = msgspec.json.encode(route).decode()
    return route


def route_value(text: Any) -> Any:
    """The case row keeps a structured route as JSON text (a role alone, as text, is the role
    with no assignee); a route given as a value is that value."""
    if text is None or isinstance(text, dict):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return {"role": text, "assignee": None}


# -- the listing ----------------------------------------------------------------------------


# A cursor is the last listed case's sort key, `<opened_at>_<case_id>`: any text of this form is
# a position in the listing, so a client can also start from a moment of its choosing.
CURSOR_PATTERN = r"^[0-9A-Za-z:.+-]{1,40}_[0-9a-f]{1,64}$"


def encode_cursor(opened_at: str, case_id: str) -> str:
    """The cursor that continues a listing after the case (`opened_at`, `case_id`)."""
    return f"{opened_at}_{case_id}"


def decode_cursor(cursor: str) -> tuple[str, str]:
    """The sort key a cursor stands for; `BadCursor` when it has not the cursor's form."""
    if re.fullmatch(CURSOR_PATTERN, cursor) is None:
        raise BadCursor(cursor)
    opened_at, _, case_id = cursor.rpartition("_")
    return opened_at, case_id


@dataclass(frozen=True)
class CaseFilter:
    """`GET /v1/cases`'s filters: each None means any."""

    policy: str | None = None
    state: str | None = None
    reference: str | None = None
    overdue_as_of: date | datetime | None = None


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
        case_id = row["case_id"]
        return as_written(
            f"case {case_id}",
            lambda: stored_case(row, tx.case_decision_ids(case_id), tx.case_obligations(case_id)),
        )

    def overdue_cutoffs(self, policies: Iterable[str], at: date | datetime) -> dict[str, str]:
        """Per policy, the instant `at` stands for (a date: the start of its local day)."""
        return {p: clock.instant_text(as_instant(at, self.timezones[p])) for p in policies}

    def page(
        self, where: CaseFilter, limit: int, cursor: str | None = None, now: datetime | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of case summaries, oldest first, and the cursor of the next (or None).

        A summary is `{case_id, policy, state, opened_at, stage, route, overdue}`; `overdue`
        names the obligations overdue at `overdue_as_of` when given, else at `now`. The page
        ends after `limit` cases or once its summaries reach 4 MiB encoded.
        """
        after = decode_cursor(cursor) if cursor is not None else None
        policies = [where.policy] if where.policy is not None else sorted(self.timezones)
        at = where.overdue_as_of if where.overdue_as_of is not None else now or clock.now()
        cutoffs = (
            self.overdue_cutoffs(policies, where.overdue_as_of)
            if where.overdue_as_of is not None
            else None
        )
        with self.store.read() as tx:
            rows = tx.find_cases(
                policies=None if where.policy is None else policies,
                state=where.state,
                reference=where.reference,
                overdue_cutoffs=cutoffs,
                after=after,
                limit=limit + 1,
            )
            items: list[dict[str, Any]] = []
            size = 0
            for row in rows[:limit]:
                item = self._summary(tx, row, at)
                encoded = as_written(f"case {row['case_id']}", functools.partial(json.dumps, item))
                size += len(encoded) + 1
                if items and size > MAX_PAGE_BYTES:
                    break
                items.append(item)
        more = len(items) < len(rows)
        last = items[-1] if items else None
        next_cursor = encode_cursor(last["opened_at"], last["case_id"]) if more and last else None
        return items, next_cursor

    def _summary(self, tx: Any, row: dict[str, Any], at: date | datetime) -> dict[str, Any]:
        rows = tx.case_obligations(row["case_id"])
        return {
            "case_id": row["case_id"],
            "policy": row["policy"],
            "state": row["state"],
            "opened_at": row["opened_at"],
            "stage": row["stage"],
            "route": route_value(row["route"]),
            "overdue": as_written(
                f"case {row['case_id']}",
                lambda: overdue_at(rows, at, self.timezones[row["policy"]]),
            ),
        }
