"""The case store on a real SQLite file: merged facts, the register, the overdue query."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from cases import CaseFilter, CaseStore
from ledger.store import Ledger
from schemas.decision import Deadline, Decision, Outcome
from service import Workflows
from store import open_store

TIMEZONES = {"wme": "Europe/London", "serco-es": "America/Toronto"}
RULESETS = {"wme": {"rules": ["wme"]}, "serco-es": {"rules": ["serco"]}}


def workflows(tmp_path) -> Workflows:
    store = open_store(tmp_path)
    ledger = Ledger.open(tmp_path, store)
    return Workflows(store, ledger, CaseStore(store, TIMEZONES), RULESETS, TIMEZONES)


def event(flows: Workflows, case_id: str, changes: dict, then: Decision):
    return flows.apply_event(case_id, changes, None, lambda policy, facts, as_of: then)


def decision(policy: str, decision_id: str, *deadlines: Deadline) -> Decision:
    outcome = Outcome(
        disposition="accept",
        stage="stage_2",
        route=None,
        notify=[],
        deadlines=list(deadlines),
        actions=[],
        flags=[],
        eligibility={},
    )
    return Decision(
        decision_id=decision_id,
        policy=policy,
        policy_version="sha256:00",
        as_of="2026-12-24T09:00:00Z",
        outcome=outcome,
        reasons=[],
    )


def test_a_case_keeps_its_facts_decisions_and_latest_deadlines(tmp_path):
    flows = workflows(tmp_path)
    first = decision("wme", "d1", Deadline(name="outcome", due="2027-01-18", rule="complaint"))
    written, opened = flows.open_case(first, {"kind": "complaint"}, {"name": "A. Person"})
    case_id = written.case_id
    # The case as written is the case read back (its register rows without the table's keys).
    read = flows.cases.get(case_id)
    assert read is not None
    assert dataclasses.replace(read, obligations=[]) == dataclasses.replace(written, obligations=[])
    assert [{k: r[k] for k in written.obligations[0]} for r in read.obligations] == (
        written.obligations
    )
    second = decision("wme", "d2", Deadline(name="appeal", due="2027-02-01", rule="appeal"))
    later = event(flows, case_id, {"upheld": True}, second)

    case = flows.cases.get(case_id)
    assert case is not None
    assert case.facts == {"kind": "complaint", "upheld": True}
    assert case.decision_ids == [opened.decision_id, later.decision_id]
    assert [d.name for d in case.open_deadlines] == ["appeal"]
    # The outcome deadline ended undone (CONTRACT.md: "becomes `lapsed` if it was never done").
    assert [(r["name"], r["status"]) for r in case.obligations] == [
        ("outcome", "lapsed"),
        ("appeal", "open"),
    ]
    assert case.personal == "sealed" and case.version == 2
    flows.erase_personal(case_id)
    assert flows.cases.get(case_id).personal == "erased"
    assert flows.ledger.open_personal(case_id) is None
    assert flows.cases.get("nothing") is None


def test_overdue_means_an_open_deadline_due_before_the_given_date(tmp_path):
    flows = workflows(tmp_path)
    due_4th = Deadline(name="acknowledge", due="2027-01-04", rule="acknowledge")
    early = flows.open_case(decision("wme", "d1", due_4th), {})[0].case_id
    due_18th = Deadline(name="outcome", due="2027-01-18", rule="complaint")
    late = flows.open_case(decision("wme", "d2", due_18th), {})[0].case_id
    hours = Deadline(name="triage", due="2026-12-29T04:00:00Z", rule="urgent")
    toronto = flows.open_case(decision("serco-es", "d3", hours), {})[0].case_id
    names = {early: "early", late: "late", toronto: "toronto"}

    def overdue(day: str, policy: str | None = None) -> list[str]:
        where = CaseFilter(policy=policy, overdue_as_of=date.fromisoformat(day))
        return sorted(names[c["case_id"]] for c in flows.cases.page(where, 1000)[0])

    assert overdue("2027-01-04") == ["toronto"]  # due on the 4th is still in time that day
    assert overdue("2027-01-05") == ["early", "toronto"]
    assert overdue("2027-01-19", policy="wme") == ["early", "late"]
    # 04:00 UTC on the 29th is 23:00 on the 28th in Toronto: before the 29th began there.
    assert overdue("2026-12-29", policy="serco-es") == ["toronto"]
    assert overdue("2026-12-28", policy="serco-es") == []
    assert len(flows.cases.page(CaseFilter(), 1000)[0]) == 3


def test_a_decision_clears_the_deadlines_that_ended(tmp_path):
    flows = workflows(tmp_path)
    due = Deadline(name="acknowledge", due="2027-01-04", rule="acknowledge")
    case_id = flows.open_case(decision("wme", "d1", due), {})[0].case_id
    event(flows, case_id, {}, decision("wme", "d2"))
    where = CaseFilter(policy="wme", overdue_as_of=date(2027, 2, 1))
    assert flows.cases.page(where, 1000) == ([], None)
    assert [r["status"] for r in flows.cases.get(case_id).obligations] == ["lapsed"]


def test_concurrent_events_on_one_case_all_count_without_a_lock(tmp_path):
    """Issue 9: "a case lock that cannot false-deadlock across processes". There is no lock: an
    event that finds the case changed under it (its version moved) reads it again and retries."""
    flows = workflows(tmp_path)
    case_id = flows.open_case(decision("wme", "d0"), {"count": 0})[0].case_id

    def one(n: int) -> str:
        return event(flows, case_id, {f"fact_{n}": n}, decision("wme", "dn")).decision_id

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(one, range(40)))
    case = flows.cases.get(case_id)
    assert sorted(case.decision_ids[1:]) == sorted(ids)
    assert all(case.facts[f"fact_{n}"] == n for n in range(40))
    assert case.version == 41


@pytest.mark.sqlite_only
def test_a_store_at_schema_3_gets_its_cases_purpose_and_register_order(tmp_path):
    """Schema 4: a case gets `purpose` (`live` for every case recorded before it) and each
    obligation its place in the register, by due for rows that had none."""
    import sqlite3

    from store.migrations import MIGRATIONS

    conn = sqlite3.connect(tmp_path / "redress.db", isolation_level=None)
    for step in MIGRATIONS[:3]:
        step(conn)
    conn.execute("PRAGMA user_version = 3")
    conn.execute(
        "INSERT INTO cases (case_id, policy, facts, opened_at, updated_at) "
        "VALUES ('c1', 'wme', '{}', '2026-10-05T10:00:00.000000Z', '2026-10-05T10:00:00.000000Z')"
    )
    rows = [
        ("outcome", "2026-10-27T00:00:00.000000Z"),
        ("acknowledge", "2026-10-13T00:00:00.000000Z"),
    ]
    for name, passes in rows:
        conn.execute(
            "INSERT INTO case_obligations (case_id, name, status, passes_at) "
            "VALUES ('c1', ?, 'open', ?)",
            (name, passes),
        )
    conn.close()
    store = open_store(tmp_path)
    try:
        case = CaseStore(store, TIMEZONES).get("c1")
        assert case.purpose == "live"
        assert [r["name"] for r in case.obligations] == ["acknowledge", "outcome"]
        assert [r["seq"] for r in case.obligations] == [0, 1]
    finally:
        store.close()
