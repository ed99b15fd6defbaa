"""Obligations: the fate of a register row at a report's `as_of`, and a stand-in register.

CONTRACT.md: "An obligation not done whose deadline is still listed by its case's latest decision
and whose due has passed at the report's `as_of` … counts as `overdue`; one whose deadline ended
without an act as `lapsed` (lapsed wins); a done one as `met` or `late`."
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from rules.calendar import is_date_only, local_date, parse_date_fact, start_of_local_day

# Deadlines that are not obligations, for decisions recorded before deadlines carried `kind`
# (POLICIES.md "Deadlines (kind)" of each policy).
NOT_OBLIGATIONS = {
    "appeal_window_closes": "window",
    "employer_response": "window",
    "ministry_escalation_available": "opens",
}
DONE = ("met", "late")


def deadline_kind(deadline: Mapping[str, Any]) -> str:
    return deadline.get("kind") or NOT_OBLIGATIONS.get(deadline["name"], "obligation")


def as_instant(value: str, timezone: str) -> datetime:
    """A date fact or due as an instant: a bare date stands for the start of its local day."""
    parsed = parse_date_fact(value)
    if isinstance(parsed, datetime):
        return parsed
    return start_of_local_day(parsed, timezone)


def due_passed(due: str, at: datetime, timezone: str) -> bool:
    """True when `due` has passed at the instant `at`: a date once its local day is over, a
    date-time once `at` is later (exactly at `due` is on time)."""
    if is_date_only(due):
        return local_date(at, timezone) > date.fromisoformat(due)
    return at > parse_date_fact(due)


def done_status(due: str, done_at: str, timezone: str) -> str:
    """`met` for an act on or before `due`, `late` after it (POLICIES.md "status")."""
    if is_date_only(due):
        return "late" if local_date(done_at, timezone) > date.fromisoformat(due) else "met"
    return "late" if as_instant(done_at, timezone) > parse_date_fact(due) else "met"


def status_at(row: Mapping[str, Any], at: datetime, timezone: str) -> str:
    """A register row's status at the report's `as_of` instant."""
    if row.get("status") == "lapsed":
        return "lapsed"
    if row.get("done_at"):
        if row.get("status") in DONE:
            return row["status"]
        return done_status(row["due"], row["done_at"], timezone)
    return "overdue" if due_passed(row["due"], at, timezone) else "open"


def derive_register(
    decisions: Sequence[Mapping[str, Any]], facts: Mapping[str, Any], timezone: str
) -> list[dict[str, Any]]:
    """A case's register derived from its decisions (oldest first) and its current facts, as
    CONTRACT.md "The obligation register" defines it: a stand-in until the store keeps one."""
    rows: dict[str, dict[str, Any]] = {}
    for decision in decisions:
        for deadline in decision["outcome"]["deadlines"]:
            if deadline_kind(deadline) != "obligation":
                continue
            row = rows.setdefault(
                deadline["name"],
                {"name": deadline["name"], "first_decision_id": decision["decision_id"]},
            )
            row.update(
                rule=deadline["rule"],
                due=deadline["due"],
                listed=deadline,
                last_decision_id=decision["decision_id"],
            )
    if not decisions:
        return []
    latest = decisions[-1]
    listed = {d["name"] for d in latest["outcome"]["deadlines"]}
    acts = facts.get("acts") or {}
    register = []
    for name, row in rows.items():
        deadline = row.pop("listed")
        done_at = deadline.get("done_at") if name in listed else None
        done_at = done_at or acts.get(name)
        if name in listed and deadline.get("status"):
            status = deadline["status"]
        elif done_at:
            status = done_status(row["due"], done_at, timezone)
        elif name in listed:
            as_of = parse_date_fact(latest["as_of"])
            status = "overdue" if due_passed(row["due"], as_of, timezone) else "open"
        else:
            status = "lapsed"
        register.append(
            {
                "name": name,
                "rule": row["rule"],
                "due": row["due"],
                "done_at": done_at,
                "status": status,
                "first_decision_id": row["first_decision_id"],
                "last_decision_id": row["last_decision_id"],
            }
        )
    return register
