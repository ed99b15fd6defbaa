"""What the console's pages read, through the store's read methods only (the decision index,
the case tables, the stored checkpoints): never a ledger scan, and never a write, so that a GET
stays a read.
"""

from __future__ import annotations

import hmac
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import clock
from console import views
from keys import key_hash
from ledger.store import EntryNotFound, Ledger
from reports.compute import STATUSES, Snapshot, Subject, obligation_fates, policy_places
from reports.obligations import status_at
from reports.query import ReportQuery
from reports.stored import decision_view, load_subjects, obligation_counts, subject_facts

OVERDUE_SHOWN = 50
OVERDUE_CANDIDATES = 2000  # oldest dues first; a few may turn out not yet overdue


@dataclass(frozen=True)
class CaseRows:
    """Every subject (as of now) with a snapshot to judge its obligations, and each case's
    stored state."""

    snapshot: Snapshot
    subjects: list[Subject]
    states: dict[str, str]


def all_subjects(
    store: Any, root_hash: Callable[[int], str] | None = None, now: datetime | None = None
) -> CaseRows:
    states: dict[str, str] = {}
    with store.read() as tx:
        size = tx.tree_size()
        subjects = load_subjects(tx, None, None, None, False, states)
    root = root_hash(size) if root_hash else ""
    snapshot = Snapshot(size, root, [], [], now or clock.now())
    snapshot.memo["subjects"] = subjects
    return CaseRows(snapshot, subjects, states)


def case_views(rows: CaseRows) -> list[views.CaseView]:
    """Every case with a live decision, its stored state and its register as of now."""
    found = []
    for subject in rows.subjects:
        if subject.case_id is None:
            continue
        fates = obligation_fates(subject, rows.snapshot, ReportQuery())
        found.append(views.CaseView(subject, rows.states.get(subject.case_id, "open"), fates))
    return found


def recent_cases(
    store: Any,
    policy: str | None,
    state: str | None,
    overdue: bool,
    limit: int = 500,
    now: datetime | None = None,
    *,
    reference: str | None = None,
    offset: int = 0,
) -> list[views.CaseView]:
    """The newest `limit` cases (by received day) of a policy and stored state, newest first,
    from the `offset`-th on (a page of the list); with `overdue`, only those with an obligation
    overdue now (then every case is judged); with `reference`, only the cases of that client
    reference (exactly, as `GET /v1/cases` has it). Each with its reference and opening time
    from the case tables."""
    if reference is not None:
        found = cases_of_reference(store, reference, policy, state, None, now)
        found = [c for c in found if c.overdue] if overdue else found
        return found[offset : offset + limit]
    if overdue:
        found = case_views(all_subjects(store, now=now))
        found = [c for c in found if (policy is None or c.subject.policy == policy)
                 and (state is None or c.state == state) and c.overdue]  # fmt: skip
        return with_case_rows(store, found[::-1][offset : offset + limit])
    snapshot = Snapshot(0, "", [], [], now or clock.now())
    places = snapshot.policies
    found = []
    with store.read() as tx:
        for row in tx.newest_case_subjects(policy, state, limit, offset):
            if row["policy"] not in places:
                continue
            day = row["received_day"]
            subject = Subject(
                row["policy"],
                row["case_id"],
                row["received_at"],
                date.fromisoformat(day) if day else None,
                [decision_view(row)],
                subject_facts(row),
                tx.case_obligations(row["case_id"]),
                row["complainant"],
            )
            fates = obligation_fates(subject, snapshot, ReportQuery())
            found.append(views.CaseView(subject, row["state"], fates))
    return with_case_rows(store, found)


def with_case_rows(store: Any, found: list[views.CaseView]) -> list[views.CaseView]:
    """`found` with each case's reference and opening time, read from the case tables (the
    decision index holds neither)."""
    with store.read() as tx:
        stored = {c.subject.case_id: tx.case(c.subject.case_id) for c in found}
    return [
        replace(c, reference=row.get("reference"), opened_at=row.get("opened_at"))
        if (row := stored[c.subject.case_id])
        else c
        for c in found
    ]


def cases_of_reference(
    store: Any,
    reference: str,
    policy: str | None,
    state: str | None,
    limit: int | None,
    now: datetime | None = None,
) -> list[views.CaseView]:
    """The cases of one client reference (a few: a reference names a complaint), newest
    opened first, as `one_case` shows them; the first `limit` (all with None)."""
    with store.read() as tx:
        rows = tx.find_cases(
            policies=None if policy is None else [policy], state=state, reference=reference
        )
    found = [one_case(store, row["case_id"], now) for row in rows[::-1][:limit]]
    return [c for c in found if c is not None]


def one_case(store: Any, case_id: str, now: datetime | None = None) -> views.CaseView | None:
    """One case from the index (its decisions, whatever their purpose: a `test` case can be
    looked at too) and the case tables (state, register)."""
    with store.read() as tx:
        case = tx.case(case_id)
        decisions = tx.indexed_case(case_id)
        register = tx.case_obligations(case_id) if case else []
    if case is None or not decisions or case["policy"] not in policy_places():
        return None
    latest = decisions[-1]
    subject = Subject(
        case["policy"],
        case_id,
        latest["received_at"],
        date.fromisoformat(latest["received_day"]) if latest["received_day"] else None,
        [decision_view(r) for r in decisions],
        subject_facts(latest),
        register,
        case.get("complainant"),
    )
    snapshot = Snapshot(0, "", [], [], now or clock.now())
    fates = obligation_fates(subject, snapshot, ReportQuery())
    return views.CaseView(
        subject, case["state"], fates, case.get("reference"), case.get("opened_at"), register
    )


def find_decisions(
    store: Any, chosen: views.DecisionFilter, page: int
) -> tuple[list[dict[str, Any]], bool]:
    """One page (50) of matching decisions, newest first, and whether another page follows."""
    size = views.PAGE_SIZE
    with store.read() as tx:
        rows = tx.search_decisions(views.filter_values(chosen), (page - 1) * size, size + 1)
    return [decision_view(r, r["flags"]) for r in rows[:size]], len(rows) > size


def overview(
    store: Any, root_hash: Callable[[int], str], now: datetime | None = None
) -> dict[str, Any]:
    """The overview's numbers, counted by the store: live decisions per week and policy,
    obligations by status as of now, and the 50 oldest overdue obligations with how many are
    overdue (`overdue_count`; only the oldest `OVERDUE_CANDIDATES` pending are judged, so when
    that many were read the count is a floor: `overdue_at_least`)."""
    at = now or clock.now()
    with store.read() as tx:
        size = tx.tree_size()
        per_day = tx.live_per_day()
        snapshot = Snapshot(size, root_hash(size), [], [], at)
        counts, _ = obligation_counts(tx, snapshot, ReportQuery())
        tomorrow = (at.date() + timedelta(days=2)).isoformat()
        candidates = tx.pending_obligations(tomorrow, OVERDUE_CANDIDATES)
    statuses: Counter[str] = Counter()
    for counted in counts.values():
        statuses.update(counted)
    places = snapshot.policies
    overdue = [
        {"case_id": c, "decision_id": d, "policy": p, "name": name, "due": due}
        for c, d, p, name, due, done_at, status in candidates
        if p in places
        and status_at({"due": due, "done_at": done_at, "status": status}, at, places[p][0])
        == "overdue"
    ]
    # Ties of `due` in the order of the text itself, whatever the database's collation.
    overdue.sort(key=lambda o: (o["due"], o["decision_id"], o["name"]))
    return {
        "snapshot": snapshot,
        "weekly": views.weekly_counts(per_day, list(places), at.date()),
        "statuses": [(s, statuses[s]) for s in STATUSES],
        "overdue": overdue[:OVERDUE_SHOWN],
        "overdue_count": len(overdue),
        "overdue_at_least": len(candidates) >= OVERDUE_CANDIDATES,
    }


def weekly(store: Any, now: datetime | None = None) -> tuple[list[str], list[str], dict]:
    with store.read() as tx:
        per_day = tx.live_per_day()
    today = (now or clock.now()).date()
    return views.weekly_counts(per_day, list(policy_places()), today)


def revoked_key(store: Any, key: str) -> bool:
    """Is `key` a key that was revoked? Only the presented key's hash is compared (in constant
    time), so the answer says nothing about any other key."""
    presented = key_hash(key).encode()
    with store.read() as tx:
        records = tx.key_records()
    return any(
        r["revoked_at"] is not None and hmac.compare_digest(presented, r["key_hash"].encode())
        for r in records
    )


def receipt_text(ledger: Ledger, index: int) -> str | None:
    """The receipt `GET /v1/decisions/{id}/receipt` answers for entry `index` (a tlog-proof
    against the latest checkpoint that covers it: the writer signs one after each batch); None
    when none covers it yet. Never signs: a read."""
    try:
        return ledger.receipt(index)
    except EntryNotFound:
        return None
