"""What the console's pages show, computed from a `reports.Snapshot` or from rows the store's
decision index answers (pure: no I/O here).

The handlers in `console.pages` read the store (the decision index, the case tables, one
decision's entry, the stored checkpoints, consistency proofs) and hand the rows to these
functions; the snapshot functions stay as the specification of what those rows must give.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from reports.compute import Snapshot, Subject, is_live, obligation_fates, role_of, subjects
from reports.query import ReportQuery
from rules.calendar import local_date

PAGE_SIZE = 50
FILTERS = ("policy", "from", "to", "route", "stage", "flag", "purpose")
CLOSING = {"close", "refer", "out_of_jurisdiction", "not_eligible"}


@dataclass(frozen=True)
class DecisionFilter:
    policy: str | None = None
    start: date | None = None
    end: date | None = None
    route: str | None = None
    stage: str | None = None
    flag: str | None = None
    purpose: str | None = None


def parse_filter(values: Mapping[str, str | None]) -> tuple[DecisionFilter, list[str]]:
    """The decision filter from query values, and a message for each bad one."""
    errors, days = [], {}
    for name in ("from", "to"):
        text = values.get(name) or None
        try:
            days[name] = date.fromisoformat(text) if text else None
        except ValueError:
            errors.append(f"{name}: {text!r} is not a date YYYY-MM-DD")
            days[name] = None
    plain = {k: (values.get(k) or None) for k in ("policy", "route", "stage", "flag", "purpose")}
    return DecisionFilter(start=days["from"], end=days["to"], **plain), errors


def local_day(snapshot: Snapshot, decision: Mapping[str, Any]) -> date:
    timezone = snapshot.policies.get(decision["policy"], ("UTC", ""))[0]
    return local_date(decision["as_of"], timezone)


def matches(snapshot: Snapshot, decision: Mapping[str, Any], f: DecisionFilter) -> bool:
    outcome = decision["outcome"]
    if f.policy and decision["policy"] != f.policy:
        return False
    if f.route and role_of(outcome) != f.route:
        return False
    if f.stage and outcome.get("stage") != f.stage:
        return False
    if f.flag and f.flag not in outcome.get("flags", []):
        return False
    if f.purpose and decision.get("purpose", "live") != f.purpose:
        return False
    if f.start or f.end:
        day = local_day(snapshot, decision)
        if (f.start and day < f.start) or (f.end and day > f.end):
            return False
    return True


def find_decisions(
    snapshot: Snapshot, f: DecisionFilter, page: int
) -> tuple[list[Mapping[str, Any]], bool]:
    """One page (50) of matching decisions, newest first, and whether another page follows."""
    found = [d for d in reversed(snapshot.decisions) if matches(snapshot, d, f)]
    start = (page - 1) * PAGE_SIZE
    return found[start : start + PAGE_SIZE], len(found) > start + PAGE_SIZE


def week_of(day: date) -> str:
    return (day - timedelta(days=day.weekday())).isoformat()


def decisions_per_week(
    snapshot: Snapshot, weeks: int = 12
) -> tuple[list[str], list[str], dict[tuple[str, str], int]]:
    """Live decisions per week (Monday, local) and policy, over the last `weeks` weeks (ending
    at the later of today and the newest decision, which may be dated ahead)."""
    live = [
        (week_of(local_day(snapshot, d)), d["policy"])
        for d in snapshot.decisions
        if is_live(d) and d["policy"] in snapshot.policies
    ]
    last = max([week_of(snapshot.now.date()), *(week for week, _ in live)])
    end = date.fromisoformat(last)
    columns = [week_of(end - timedelta(weeks=w)) for w in range(weeks - 1, -1, -1)]
    counts: Counter[tuple[str, str]] = Counter(
        (week, policy) for week, policy in live if columns[0] <= week <= columns[-1]
    )
    return columns, sorted(snapshot.policies), dict(counts)


def weekly_counts(
    per_day: Sequence[tuple[str, str, int]], policies: Sequence[str], today: date, weeks: int = 12
) -> tuple[list[str], list[str], dict[tuple[str, str], int]]:
    """`decisions_per_week` from the store's live decisions per (local day, policy)."""
    known = [(week_of(date.fromisoformat(day)), p, n) for day, p, n in per_day if p in policies]
    last = max([week_of(today), *(week for week, _, _ in known)])
    end = date.fromisoformat(last)
    columns = [week_of(end - timedelta(weeks=w)) for w in range(weeks - 1, -1, -1)]
    counts: Counter[tuple[str, str]] = Counter()
    for week, policy, n in known:
        if columns[0] <= week <= columns[-1]:
            counts[(week, policy)] += n
    return columns, sorted(policies), dict(counts)


def filter_values(f: DecisionFilter) -> dict[str, str | None]:
    """The decision filter as the store's `search_decisions` takes it."""
    return {
        "policy": f.policy,
        "from": f.start.isoformat() if f.start else None,
        "to": f.end.isoformat() if f.end else None,
        "route": f.route,
        "stage": f.stage,
        "flag": f.flag,
        "purpose": f.purpose,
    }


@dataclass(frozen=True)
class CaseView:
    subject: Subject
    state: str
    obligations: list[dict[str, Any]]

    @property
    def overdue(self) -> list[dict[str, Any]]:
        return [o for o in self.obligations if o["status"] == "overdue"]


def case_state(subject: Subject, obligations: Sequence[Mapping[str, Any]]) -> str:
    """CONTRACT.md: closed when the latest disposition closes, refers or rules the case out and
    no obligation is open or overdue; otherwise open."""
    if subject.latest["outcome"]["disposition"] not in CLOSING:
        return "open"
    return "open" if any(o["status"] in ("open", "overdue") for o in obligations) else "closed"


def case_views(snapshot: Snapshot) -> list[CaseView]:
    """Every case (with live decisions) and its register as of now."""
    views = []
    for subject in subjects(snapshot):
        if subject.case_id is None:
            continue
        fates = obligation_fates(subject, snapshot, ReportQuery())
        views.append(CaseView(subject, case_state(subject, fates), fates))
    return views


def obligations_by_status(snapshot: Snapshot) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for subject in subjects(snapshot):
        for fate in obligation_fates(subject, snapshot, ReportQuery()):
            counts[fate["status"]] += 1
    return [(s, counts[s]) for s in ("met", "late", "open", "overdue", "lapsed")]


def overdue_now(snapshot: Snapshot) -> list[dict[str, Any]]:
    """Each obligation overdue now, oldest due first: case (or decision), policy, name, due."""
    rows = []
    for subject in subjects(snapshot):
        for fate in obligation_fates(subject, snapshot, ReportQuery()):
            if fate["status"] == "overdue":
                rows.append(
                    {
                        "case_id": subject.case_id,
                        "decision_id": subject.latest["decision_id"],
                        "policy": subject.policy,
                        "name": fate["name"],
                        "due": fate["due"],
                    }
                )
    rows.sort(key=lambda r: r["due"])
    return rows
