"""The five reports of CONTRACT.md "Reports (version 2)", as pure functions of a `Snapshot`.

Membership: a case, or a case-less decision, belongs to a period by its `received_at` (its local
date in the policy's time zone); `routing` counts decisions by their `as_of`. Only `live`
decisions count (a decision recorded before `purpose` existed is `live`).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

import rules
from reports.obligations import DONE, derive_register, status_at
from reports.query import ReportQuery, previous_quarter, quarter_bounds
from rules.calendar import (
    is_working_day,
    local_date,
    start_of_local_day,
    within_six_months_before,
)

STATUSES = ("met", "late", "open", "overdue", "lapsed")
SERCO = "serco-es"
SERCO_LEVELS = ("service_provider", "ssm", "senior", "ministry")
SERCO_COMPLAINANTS = ("client", "service_provider", "sa_partner")
SERCO_OBLIGATIONS = ("respond",)
# POLICIES.md (serco-es): "A *provider dispute* is one whose `complainant_type` is
# service_provider or sa_partner"; SP 9's urgent procedure is a provider dispute's.
PROVIDER_DISPUTES = ("service_provider", "sa_partner")


def is_urgent_dispute(facts: Mapping[str, Any]) -> bool:
    """An urgent provider dispute (Serco SP 9): the `urgent` fact of a client's complaint
    triggers no rule, so the quarterly report does not count it urgent."""
    return facts.get("urgent") is True and facts.get("complainant_type") in PROVIDER_DISPUTES


class UnknownReport(LookupError):
    """No report by that name (the API answers 404)."""


@dataclass(frozen=True)
class Snapshot:
    """What reports read, at one ledger state: every recorded decision (oldest first, each
    `{decision_id, policy, as_of, case_id, purpose, facts, outcome}`) and every case
    (`{case_id, policy, facts, decisions: [decision…], obligations?: [row…], complainant?}`)."""

    tree_size: int
    root_hash: str
    decisions: Sequence[Mapping[str, Any]]
    cases: Sequence[Mapping[str, Any]]
    now: datetime
    policies: Mapping[str, tuple[str, str]] = field(default_factory=lambda: policy_places())
    # `subjects` of this snapshot, worked out once however many reports read them.
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@cache
def _policy_places() -> tuple[tuple[str, tuple[str, str]], ...]:
    return tuple((p.id, (p.timezone, p.calendar)) for p in rules.policy_summaries())


def policy_places() -> dict[str, tuple[str, str]]:
    """Each built-in policy's (time zone, holiday calendar)."""
    return dict(_policy_places())


def is_live(decision: Mapping[str, Any]) -> bool:
    return decision.get("purpose", "live") in (None, "live")


@dataclass(frozen=True)
class Subject:
    """What a period counts: a case (with its live decisions) or a case-less live decision."""

    policy: str
    case_id: str | None
    received_at: str | None
    received_day: date | None
    decisions: list[Mapping[str, Any]]
    facts: Mapping[str, Any]
    register: list[Mapping[str, Any]]
    complainant: str | None

    @property
    def latest(self) -> Mapping[str, Any]:
        return self.decisions[-1]


def received(facts: Mapping[str, Any], timezone: str) -> tuple[str | None, date | None]:
    value = facts.get("received_at")
    if not isinstance(value, str):
        return None, None
    try:
        return value, local_date(value, timezone)
    except ValueError:
        return value, None


def subjects(snapshot: Snapshot) -> list[Subject]:
    """Every case with a live decision, and every case-less live decision."""
    if "subjects" not in snapshot.memo:
        snapshot.memo["subjects"] = find_subjects(snapshot)
    return snapshot.memo["subjects"]


def find_subjects(snapshot: Snapshot) -> list[Subject]:
    found = []
    for case in snapshot.cases:
        live = [d for d in case["decisions"] if is_live(d)]
        if not live or case["policy"] not in snapshot.policies:
            continue
        timezone = snapshot.policies[case["policy"]][0]
        facts = case.get("facts") or live[-1].get("facts") or {}
        register = case.get("obligations")
        if register is None:
            register = derive_register(live, facts, timezone)
        text, day = received(facts, timezone)
        found.append(
            Subject(
                case["policy"],
                case["case_id"],
                text,
                day,
                live,
                facts,
                register,
                case.get("complainant"),
            )
        )
    for decision in snapshot.decisions:
        if decision.get("case_id") or not is_live(decision):
            continue
        if decision["policy"] not in snapshot.policies:
            continue
        timezone = snapshot.policies[decision["policy"]][0]
        facts = decision.get("facts") or {}
        text, day = received(facts, timezone)
        register = derive_register([decision], facts, timezone)
        found.append(
            Subject(decision["policy"], None, text, day, [decision], facts, register, None)
        )
    found.sort(key=lambda s: (s.received_day or date.min, s.case_id or s.latest["decision_id"]))
    return found


def in_period(day: date | None, query: ReportQuery) -> bool:
    if day is None:
        return query.start is None and query.end is None
    return (query.start is None or day >= query.start) and (query.end is None or day <= query.end)


def members(snapshot: Snapshot, query: ReportQuery) -> list[Subject]:
    return [
        s
        for s in subjects(snapshot)
        if (query.policy is None or s.policy == query.policy) and in_period(s.received_day, query)
    ]


def report_as_of(snapshot: Snapshot, query: ReportQuery, policy: str) -> datetime:
    """The end of the period or now, whichever is earlier (in the policy's time zone). A period
    ends when its last day does, at the start of the next local day: an obligation due on that
    day and not done is overdue at the end of the period, as `GET /v1/cases?overdue_as_of=`
    the next day lists it."""
    if query.end is None:
        return snapshot.now
    ended = start_of_local_day(query.end + timedelta(days=1), snapshot.policies[policy][0])
    return min(ended, snapshot.now)


def header(name: str, snapshot: Snapshot, query: ReportQuery) -> dict[str, Any]:
    return {
        "report": name,
        "from": query.start.isoformat() if query.start else None,
        "to": query.end.isoformat() if query.end else None,
        "policy": query.policy,
        "tree_size": snapshot.tree_size,
        "root_hash": snapshot.root_hash,
    }


def obligation_fates(
    subject: Subject, snapshot: Snapshot, query: ReportQuery
) -> list[dict[str, Any]]:
    """Each register row of `subject` with its status at the report's `as_of`."""
    at = report_as_of(snapshot, query, subject.policy)
    timezone = snapshot.policies[subject.policy][0]
    return [
        {
            "name": row["name"],
            "due": row["due"],
            "done_at": row.get("done_at"),
            "status": status_at(row, at, timezone),
        }
        for row in subject.register
    ]


def role_of(outcome: Mapping[str, Any]) -> str | None:
    route = outcome.get("route")
    return route.get("role") if isinstance(route, Mapping) else route


# -- the reports ------------------------------------------------------------------------------


def register_report(snapshot: Snapshot, query: ReportQuery) -> dict[str, Any]:
    """WME 5.1: "a register of complaints, outcomes and actions taken"."""
    rows = []
    for subject in members(snapshot, query):
        latest, facts = subject.latest, subject.facts
        outcome = latest["outcome"]
        rows.append(
            {
                "case_id": subject.case_id,
                "decision_id": latest["decision_id"],
                "policy": subject.policy,
                "received_at": subject.received_at,
                "kind": facts.get("kind"),
                "category": facts.get("category"),
                "complainant_type": facts.get("complainant_type"),
                "stage": outcome.get("stage"),
                "route": role_of(outcome),
                "disposition": outcome.get("disposition"),
                "upheld": facts.get("upheld"),
                "actions": [a["code"] for a in outcome.get("actions", [])],
                "obligations": obligation_fates(subject, snapshot, query),
            }
        )
    return header("register", snapshot, query) | {"rows": rows}


def routing_report(snapshot: Snapshot, query: ReportQuery) -> dict[str, Any]:
    """Live decisions per (policy, route, stage, disposition), and per flag, by `as_of`."""
    combos: Counter[tuple] = Counter()
    flags: Counter[tuple] = Counter()
    for decision in snapshot.decisions:
        policy = decision["policy"]
        if not is_live(decision) or policy not in snapshot.policies:
            continue
        if query.policy is not None and policy != query.policy:
            continue
        if not in_period(local_date(decision["as_of"], snapshot.policies[policy][0]), query):
            continue
        outcome = decision["outcome"]
        combos[(policy, role_of(outcome), outcome.get("stage"), outcome["disposition"])] += 1
        for flag in set(outcome.get("flags", [])):
            flags[(policy, flag)] += 1
    rows = [
        {"policy": p, "route": r, "stage": s, "disposition": d, "count": n}
        for (p, r, s, d), n in sorted(combos.items(), key=lambda kv: tuple(map(str, kv[0])))
    ]
    flag_rows = [{"policy": p, "flag": f, "count": n} for (p, f), n in sorted(flags.items())]
    return header("routing", snapshot, query) | {"rows": rows, "flags": flag_rows}


def working_days_between(start: date, end: date, calendar: str) -> int:
    """Working days after `start` up to and including `end` (0 when done the same day)."""
    days, day = 0, start
    while day < end:
        day += timedelta(days=1)
        days += is_working_day(day, calendar)
    return days


def timeliness_report(snapshot: Snapshot, query: ReportQuery) -> dict[str, Any]:
    """Obligations by fate, per policy and obligation, with the median working days from
    `received_at` to the act, on the policy's calendar."""
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    days: dict[tuple[str, str], list[int]] = defaultdict(list)
    for subject in members(snapshot, query):
        timezone, calendar = snapshot.policies[subject.policy]
        for fate in obligation_fates(subject, snapshot, query):
            key = (subject.policy, fate["name"])
            counts[key][fate["status"]] += 1
            if fate["status"] in DONE and subject.received_day is not None:
                done = local_date(fate["done_at"], timezone)
                days[key].append(working_days_between(subject.received_day, done, calendar))
    rows = []
    for (policy, name), counted in sorted(counts.items()):
        taken = days.get((policy, name))
        row = {"policy": policy, "obligation": name} | {s: counted[s] for s in STATUSES}
        # A float whatever the count (`statistics.median` gives an int for an odd one).
        row["median_working_days_to_done"] = float(statistics.median(taken)) if taken else None
        rows.append(row)
    return header("timeliness", snapshot, query) | {"rows": rows}


def level_reached(subject: Subject) -> str | None:
    """The highest Serco level any of the case's decisions routed it to."""
    reached = [d["outcome"].get("stage") for d in subject.decisions]
    ranked = [SERCO_LEVELS.index(s) for s in reached if s in SERCO_LEVELS]
    return SERCO_LEVELS[max(ranked)] if ranked else None


def serco_quarter(snapshot: Snapshot, quarter: str) -> dict[str, Any]:
    start, end = quarter_bounds(quarter)
    query = ReportQuery(start, end, SERCO, quarter)
    subjects_in = members(snapshot, query)
    by_type = Counter(s.facts.get("complainant_type") for s in subjects_in)
    by_level = Counter(level_reached(s) for s in subjects_in)
    timeliness = {name: dict.fromkeys(STATUSES, 0) for name in SERCO_OBLIGATIONS}
    outcomes = {"resolved": 0, "escalated": 0, "open": 0}
    for subject in subjects_in:
        for fate in obligation_fates(subject, snapshot, query):
            timeliness.setdefault(fate["name"], dict.fromkeys(STATUSES, 0))
            timeliness[fate["name"]][fate["status"]] += 1
        disposition = subject.latest["outcome"]["disposition"]
        key = {"close": "resolved", "escalate": "escalated"}.get(disposition, "open")
        outcomes[key] += 1
    return {
        "quarter": quarter,
        "complaints": {
            "by_complainant_type": {t: by_type[t] for t in SERCO_COMPLAINANTS},
            "by_level_reached": {lv: by_level[lv] for lv in SERCO_LEVELS},
            "ministry_escalations": sum(
                any(
                    d["outcome"]["disposition"] == "escalate"
                    and d["outcome"].get("stage") == "ministry"
                    for d in s.decisions
                )
                for s in subjects_in
            ),
            "urgent": sum(is_urgent_dispute(s.facts) for s in subjects_in),
        },
        "timeliness": timeliness,
        "outcomes": outcomes,
    }


def serco_quarterly_report(snapshot: Snapshot, query: ReportQuery) -> dict[str, Any]:
    """Serco overview, clients 10–11, SP 9: the quarter's complaints, timeliness and outcomes,
    beside the quarter before."""
    assert query.quarter is not None
    current = serco_quarter(snapshot, query.quarter)
    previous = serco_quarter(snapshot, previous_quarter(query.quarter))
    return header("serco-quarterly", snapshot, query) | current | {"previous": previous}


def repeat_complainers_report(snapshot: Snapshot, query: ReportQuery) -> dict[str, Any]:
    """CMG assurance note: complainants with two or more cases received within six months of
    each other (per policy)."""
    groups: dict[tuple[str, str], list[Subject]] = defaultdict(list)
    for subject in members(snapshot, query):
        if subject.complainant and subject.received_day is not None:
            groups[(subject.complainant, subject.policy)].append(subject)
    rows = []
    for (complainant, policy), cases in sorted(groups.items()):
        cases.sort(key=lambda s: s.received_day)
        repeats = [
            s
            for s in cases
            if any(o is not s and near(o.received_day, s.received_day) for o in cases)
        ]
        if len(repeats) >= 2:
            rows.append(
                {
                    "complainant": complainant,
                    "policy": policy,
                    "cases": len(repeats),
                    "first_received_at": repeats[0].received_at,
                    "last_received_at": repeats[-1].received_at,
                }
            )
    return header("repeat-complainers", snapshot, query) | {"rows": rows}


def near(one: date, other: date) -> bool:
    """Within six months of each other (rules.calendar's six months)."""
    earlier, later = sorted((one, other))
    return within_six_months_before(earlier, later)


REPORTS: dict[str, Callable[[Snapshot, ReportQuery], dict[str, Any]]] = {
    "register": register_report,
    "routing": routing_report,
    "timeliness": timeliness_report,
    "serco-quarterly": serco_quarterly_report,
    "repeat-complainers": repeat_complainers_report,
}
REPORT_NAMES = tuple(REPORTS)


def compute(name: str, snapshot: Snapshot, query: ReportQuery) -> dict[str, Any]:
    """Report `name` over `snapshot`; UnknownReport when there is none by that name."""
    try:
        report = REPORTS[name]
    except KeyError:
        raise UnknownReport(name) from None
    return report(snapshot, query)
