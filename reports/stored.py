"""Reports over a store's decision index and case tables: the I/O side of `reports`.

Each report reads only what it counts, in one read snapshot: `routing` sums the per-day counts;
`timeliness` and `serco-quarterly` take register rows and subjects grouped in SQL (each distinct
register row is judged once, at the report's `as_of`); `repeat-complainers` the case subjects
that name a complainant; `register` its period's subjects and their register rows. The pure
functions of `reports.compute` over the whole ledger (`reports.source`) stay the specification
these are tested against. `load_subjects` gives the console whole subjects.
"""

from __future__ import annotations

import gc
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import msgspec

import clock
from reports.compute import (
    PROVIDER_DISPUTES,
    SERCO,
    SERCO_COMPLAINANTS,
    SERCO_LEVELS,
    SERCO_OBLIGATIONS,
    STATUSES,
    Snapshot,
    Subject,
    UnknownReport,
    header,
    near,
    policy_places,
    report_as_of,
    working_days_between,
)
from reports.obligations import DONE, status_at
from reports.query import ReportQuery, previous_quarter, quarter_bounds
from rules.calendar import local_date
from store.base import DamagedValue, stored_as


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a large report is built. A quarter's register at
    1,000,000 decisions is ~600,000 fresh containers (rows, their lists) and no cycle, yet as
    they pile up the collector walks every one of them again and again (a dozen full passes:
    more time than building them). What other threads make meanwhile is collected after;
    the collector is left as found when another caller paused it first."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def subject_facts(row: Mapping[str, Any]) -> dict[str, Any]:
    """The facts reports read of a subject, as the index keeps them."""
    facts: dict[str, Any] = {
        name: row[name]
        for name in ("received_at", "kind", "category", "complainant_type")
        if row[name] is not None
    }
    if row["upheld"] is not None:
        facts["upheld"] = bool(row["upheld"])
    if row["urgent"]:
        facts["urgent"] = True
    return facts


def decision_view(row: Mapping[str, Any], flags: list[str] | None = None) -> dict[str, Any]:
    """An index row as the decision mapping reports and the console read."""
    outcome: dict[str, Any] = {
        "disposition": row["disposition"],
        "stage": row["stage"],
        "route": row["route"],
        "actions": [{"code": c} for c in row["actions"].split("|") if c],
    }
    if flags is not None:
        outcome["flags"] = flags
    view = {
        "decision_id": row["decision_id"],
        "policy": row["policy"],
        "as_of": row["as_of"],
        "case_id": row.get("case_id"),
        "outcome": outcome,
    }
    if "purpose" in row:
        view["purpose"] = row["purpose"]
    return view


def load_subjects(
    tx: Any,
    policy: str | None,
    start: date | None,
    end: date | None,
    all_decisions: bool,
    states: dict[str, str] | None = None,
) -> list[Subject]:
    """The subjects received in [start, end] (either open) from the store, sorted as
    `reports.compute.find_subjects` sorts them. With `all_decisions`, each case subject holds
    every live decision of its case (stage and disposition); otherwise its newest only.
    `states`, when given, receives each case's stored state."""
    bounds = (policy, _day(start), _day(end))
    rows = tx.subject_rows(*bounds)
    registers: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for idx, name, rule, due, done_at, status in tx.subject_registers(*bounds):
        registers[idx].append(
            {"name": name, "rule": rule, "due": due, "done_at": done_at, "status": status}
        )
    history: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if all_decisions:
        for idx, decision_id, as_of, stage, disposition, route in tx.subject_case_decisions(
            *bounds
        ):
            history[idx].append(
                {
                    "decision_id": decision_id,
                    "as_of": as_of,
                    "outcome": {"disposition": disposition, "stage": stage, "route": route},
                }
            )
    places = policy_places()
    found = []
    for row in rows:
        if row["policy"] not in places:
            continue
        latest = decision_view(row)
        if states is not None and row["case_id"]:
            states[row["case_id"]] = row["state"]
        decisions = history.get(row["idx"]) if row["case_id"] else None
        decisions = [*decisions[:-1], latest] if decisions else [latest]
        day = row["received_day"]
        found.append(
            Subject(
                row["policy"],
                row["case_id"],
                row["received_at"],
                date.fromisoformat(day) if day else None,
                decisions,
                subject_facts(row),
                registers.get(row["idx"], []),
                row["complainant"],
            )
        )
    found.sort(key=lambda s: (s.received_day or date.min, s.case_id or s.latest["decision_id"]))
    return found


class RoutingCount(msgspec.Struct, array_like=True):
    """A row of the day counts `routing` sums, with the types the writer gives it."""

    policy: str
    route: str | None
    stage: str | None
    disposition: str | None
    count: int


class FlagCount(msgspec.Struct, array_like=True):
    policy: str
    flag: str
    count: int


def routing_from_store(tx: Any, snapshot: Snapshot, query: ReportQuery) -> dict[str, Any]:
    combos, flags = tx.routing_counts(query.policy, _day(query.start), _day(query.end))
    # Bytes there were served as base64 text in JSON, and failed the console's chart (500).
    stored_as(combos, list[RoutingCount])
    stored_as(flags, list[FlagCount])
    known = snapshot.policies
    rows = [
        {"policy": p, "route": r, "stage": s, "disposition": d, "count": n}
        for (p, r, s, d), n in sorted(
            ((tuple(c[:4]), c[4]) for c in combos if c[0] in known),
            key=lambda kv: tuple(map(str, kv[0])),
        )
    ]
    flag_rows = [{"policy": p, "flag": f, "count": n} for p, f, n in sorted(flags) if p in known]
    return header("routing", snapshot, query) | {"rows": rows, "flags": flag_rows}


def weighted_median(values: Counter[int]) -> float | None:
    """`statistics.median` of a multiset given as value → count, always a float (as the
    report's JSON writes it: `2.0` and `2.5` alike, never `2` on one row and `2.5` on another)."""
    total = sum(values.values())
    if not total:
        return None
    ordered = sorted(values.items())

    def nth(n: int) -> int:
        for value, count in ordered:
            if n < count:
                return value
            n -= count
        raise IndexError(n)

    if total % 2:
        return float(nth(total // 2))
    return (nth(total // 2 - 1) + nth(total // 2)) / 2


def timeliness_from_store(tx: Any, snapshot: Snapshot, query: ReportQuery) -> dict[str, Any]:
    """`reports.compute.timeliness_report` over register rows counted by the store: each
    distinct (policy, name, status, due, done_at, received day) is judged once."""
    counts, days = obligation_counts(tx, snapshot, query)
    rows = []
    for (policy, name), counted in sorted(counts.items()):
        row = {"policy": policy, "obligation": name} | {s: counted[s] for s in STATUSES}
        row["median_working_days_to_done"] = weighted_median(days.get((policy, name), Counter()))
        rows.append(row)
    return header("timeliness", snapshot, query) | {"rows": rows}


def repeat_complainers_from_store(
    tx: Any, snapshot: Snapshot, query: ReportQuery
) -> dict[str, Any]:
    """`reports.compute.repeat_complainers_report` over the case subjects that name a
    complainant, read in (complainant, policy, received day) order."""
    groups: dict[tuple[str, str], list[tuple[date, str]]] = defaultdict(list)
    for complainant, policy, day, received_at, _ in tx.complainant_subjects(
        query.policy, _day(query.start), _day(query.end)
    ):
        if policy in snapshot.policies:
            groups[(complainant, policy)].append((date.fromisoformat(day), received_at))
    rows = []
    for (complainant, policy), cases in sorted(groups.items()):
        if len(cases) < 2:
            continue
        repeats = [
            c
            for i, c in enumerate(cases)
            if any(j != i and near(o[0], c[0]) for j, o in enumerate(cases))
        ]
        if len(repeats) >= 2:
            rows.append(
                {
                    "complainant": complainant,
                    "policy": policy,
                    "cases": len(repeats),
                    "first_received_at": repeats[0][1],
                    "last_received_at": repeats[-1][1],
                }
            )
    return header("repeat-complainers", snapshot, query) | {"rows": rows}


def obligation_counts(
    tx: Any, snapshot: Snapshot, query: ReportQuery
) -> tuple[dict[tuple[str, str], Counter[str]], dict[tuple[str, str], Counter[int]]]:
    """Register rows by (policy, name): their statuses at the report's `as_of`, and the
    working days to done, from rows the store counted."""
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    days: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
    places = snapshot.policies
    at = {p: report_as_of(snapshot, query, p) for p in places}
    groups = tx.obligation_groups(query.policy, _day(query.start), _day(query.end))
    for policy, name, status, due, done_at, received_day, n in groups:
        if policy not in places:
            continue
        timezone, calendar = places[policy]
        row = {"status": status, "due": due, "done_at": done_at}
        status = status_at(row, at[policy], timezone)
        counts[(policy, name)][status] += n
        if status in DONE and received_day is not None:
            done = local_date(done_at, timezone)
            taken = working_days_between(date.fromisoformat(received_day), done, calendar)
            days[(policy, name)][taken] += n
    return counts, days


def serco_quarter_from_store(tx: Any, snapshot: Snapshot, quarter: str) -> dict[str, Any]:
    """`reports.compute.serco_quarter` from counts the store makes."""
    start, end = quarter_bounds(quarter)
    query = ReportQuery(start, end, SERCO, quarter)
    bounds = (SERCO, _day(start), _day(end))
    by_type: Counter[str | None] = Counter()
    outcomes = {"resolved": 0, "escalated": 0, "open": 0}
    urgent = 0
    for complainant_type, disposition, is_urgent, n in tx.subject_counts(*bounds):
        by_type[complainant_type] += n
        outcomes[{"close": "resolved", "escalate": "escalated"}.get(disposition, "open")] += n
        urgent += n if is_urgent and complainant_type in PROVIDER_DISPUTES else 0
    by_level: Counter[str | None] = Counter()
    ministry = 0
    for level, escalated, n in tx.subject_levels(*bounds, SERCO_LEVELS):
        by_level[None if level is None else SERCO_LEVELS[level]] += n
        ministry += n if escalated else 0
    counts, _ = obligation_counts(tx, snapshot, query)
    timeliness = {name: dict.fromkeys(STATUSES, 0) for name in SERCO_OBLIGATIONS}
    for (_, name), counted in sorted(counts.items()):
        timeliness.setdefault(name, dict.fromkeys(STATUSES, 0))
        for status, n in counted.items():
            timeliness[name][status] += n
    return {
        "quarter": quarter,
        "complaints": {
            "by_complainant_type": {t: by_type[t] for t in SERCO_COMPLAINANTS},
            "by_level_reached": {lv: by_level[lv] for lv in SERCO_LEVELS},
            "ministry_escalations": ministry,
            "urgent": urgent,
        },
        "timeliness": timeliness,
        "outcomes": outcomes,
    }


def serco_quarterly_from_store(tx: Any, snapshot: Snapshot, query: ReportQuery) -> dict[str, Any]:
    assert query.quarter is not None
    current = serco_quarter_from_store(tx, snapshot, query.quarter)
    previous = serco_quarter_from_store(tx, snapshot, previous_quarter(query.quarter))
    return header("serco-quarterly", snapshot, query) | current | {"previous": previous}


def register_from_store(tx: Any, snapshot: Snapshot, query: ReportQuery) -> dict[str, Any]:
    """`reports.compute.register_report` straight from the period's subjects and register rows
    (each distinct register row judged once), read unsorted and ordered here: a subject's few
    register rows by (seq, name), the subjects by (received day, case or decision id)."""
    places = snapshot.policies
    bounds = (query.policy, _day(query.start), _day(query.end))
    at = {p: report_as_of(snapshot, query, p) for p in places}
    judged: dict[tuple, str] = {}
    keys: list[str] = []
    rows: list[dict[str, Any]] = []
    with collector_paused():
        registers: dict[int, list[tuple]] = defaultdict(list)
        for register_row in tx.register_rows(*bounds):  # (idx, seq, name, …)
            registers[register_row[0]].append(register_row)
        none: list[tuple] = []
        for (idx, day, case_id, decision_id, policy, received_at, kind, category,
             complainant_type, stage, route, disposition, upheld, actions,
             ) in tx.register_subjects(*bounds):  # fmt: skip
            if policy not in places:
                continue
            owed = registers.get(idx, none)
            if len(owed) > 1:
                owed.sort()  # by (seq, name): one subject's rows share their idx
            fates = []
            for _, _, name, due, done_at, status in owed:
                key = (policy, due, done_at, status)
                fate = judged.get(key)
                if fate is None:
                    row_now = {"due": due, "done_at": done_at, "status": status}
                    fate = judged[key] = status_at(row_now, at[policy], places[policy][0])
                fates.append({"name": name, "due": due, "done_at": done_at, "status": fate})
            # (received day, id) as one string, which sorts alike and faster: a day is "" or
            # ten characters and none holds the NUL between them.
            keys.append(f"{day or ''}\0{case_id or decision_id}")
            rows.append(
                {
                    "case_id": case_id,
                    "decision_id": decision_id,
                    "policy": policy,
                    "received_at": received_at,
                    "kind": kind,
                    "category": category,
                    "complainant_type": complainant_type,
                    "stage": stage,
                    "route": route,
                    "disposition": disposition,
                    "upheld": None if upheld is None else bool(upheld),
                    "actions": actions.split("|") if actions else [],
                    "obligations": fates,
                }
            )
        order = sorted(range(len(rows)), key=keys.__getitem__)
        return header("register", snapshot, query) | {"rows": [rows[i] for i in order]}


IN_SQL = {
    "register": register_from_store,
    "serco-quarterly": serco_quarterly_from_store,
    "routing": routing_from_store,
    "timeliness": timeliness_from_store,
    "repeat-complainers": repeat_complainers_from_store,
}


def stored_snapshot(
    tx: Any, root_hash: Any, subjects: list[Subject] | None, now: datetime | None = None
) -> Snapshot:
    size = tx.tree_size()
    snapshot = Snapshot(size, root_hash(size), [], [], now or clock.now())
    if subjects is not None:
        snapshot.memo["subjects"] = subjects
    return snapshot


def compute_stored(
    name: str, store: Any, root_hash: Any, query: ReportQuery, now: datetime | None = None
) -> dict[str, Any]:
    """Report `name` over the store (one read snapshot); `root_hash(size)` names the ledger
    state (hex)."""
    if name not in IN_SQL:
        raise UnknownReport(name)
    with store.read() as tx:
        try:
            return IN_SQL[name](tx, stored_snapshot(tx, root_hash, None, now), query)
        except (ValueError, TypeError, KeyError) as error:
            # The query was checked (`parse_query`): what fails here is a stored value (a date
            # that is no date, a policy that is none), which `verify` names.
            raise DamagedValue(
                f"the {name} report cannot be computed from the stored rows: "
                f"{type(error).__name__}: {str(error)[:200]}"
            ) from None
