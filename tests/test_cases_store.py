"""The case store on a real SQLite file: merged facts, open deadlines, the overdue query."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime

from cases import CaseStore, merge_facts
from cases.store import LOCK_FILE, deadline_passes_at, lock_slot
from schemas.decision import Deadline, Decision, Outcome

TIMEZONES = {"wme": "Europe/London", "serco-es": "America/Toronto"}


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


def test_an_event_replaces_facts_and_null_removes_one():
    current = {"kind": "complaint", "complex": True, "received_at": "2026-12-23"}
    changes = {"complex": None, "upheld": True, "kind": "concern"}
    assert merge_facts(current, changes) == {
        "kind": "concern",
        "received_at": "2026-12-23",
        "upheld": True,
    }
    assert current["complex"] is True  # the stored facts are not changed in place


def test_a_date_deadline_passes_at_the_end_of_its_local_day():
    # London is on GMT in January and on BST (UTC+1) in July; Toronto on EST (UTC-5) in December.
    assert deadline_passes_at("2027-01-04", "Europe/London") == datetime(2027, 1, 5, tzinfo=UTC)
    assert deadline_passes_at("2026-07-01", "Europe/London") == datetime(2026, 7, 1, 23, tzinfo=UTC)
    assert deadline_passes_at("2026-12-28", "America/Toronto") == datetime(
        2026, 12, 29, 5, tzinfo=UTC
    )
    assert deadline_passes_at("2026-12-24T09:00:00Z", "Europe/London") == datetime(
        2026, 12, 24, 9, tzinfo=UTC
    )


def test_a_case_keeps_its_facts_decisions_and_latest_deadlines(tmp_path):
    store = CaseStore(tmp_path, TIMEZONES)
    first = decision("wme", "d1", Deadline(name="outcome", due="2027-01-18", rule="complaint"))
    store.create("c1", {"kind": "complaint"}, first, personal_commitment="ab" * 32)
    second = decision("wme", "d2", Deadline(name="appeal", due="2027-02-01", rule="appeal"))
    store.record_event("c1", {"kind": "complaint", "upheld": True}, second)

    case = store.get("c1")
    assert case is not None
    assert case.facts == {"kind": "complaint", "upheld": True}
    assert case.decision_ids == ["d1", "d2"]
    assert [d.name for d in case.open_deadlines] == ["appeal"]
    assert case.personal == "sealed"
    store.mark_erased("c1")
    assert store.get("c1").personal == "erased"
    assert store.get("nothing") is None


def test_overdue_means_an_open_deadline_due_before_the_given_date(tmp_path):
    store = CaseStore(tmp_path, TIMEZONES)
    due_4th = Deadline(name="acknowledge", due="2027-01-04", rule="acknowledge")
    store.create("early", {}, decision("wme", "d1", due_4th), None)
    due_18th = Deadline(name="outcome", due="2027-01-18", rule="complaint")
    store.create("late", {}, decision("wme", "d2", due_18th), None)
    hours = Deadline(name="triage", due="2026-12-29T04:00:00Z", rule="urgent")
    store.create("toronto", {}, decision("serco-es", "d3", hours), None)

    def overdue(day: str, policy: str | None = None) -> list[str]:
        return [c.case_id for c in store.find(policy, date.fromisoformat(day))]

    assert overdue("2027-01-04") == ["toronto"]  # due on the 4th is still in time that day
    assert overdue("2027-01-05") == ["early", "toronto"]
    assert overdue("2027-01-19", policy="wme") == ["early", "late"]
    # 04:00 UTC on the 29th is 23:00 on the 28th in Toronto: before the 29th began there.
    assert overdue("2026-12-29", policy="serco-es") == ["toronto"]
    assert overdue("2026-12-28", policy="serco-es") == []
    assert [c.case_id for c in store.find()] == ["early", "late", "toronto"]


def test_a_decision_clears_the_deadlines_that_ended(tmp_path):
    store = CaseStore(tmp_path, TIMEZONES)
    due = Deadline(name="acknowledge", due="2027-01-04", rule="acknowledge")
    store.create("c1", {}, decision("wme", "d1", due), None)
    store.record_event("c1", {}, decision("wme", "d2"))
    assert store.find("wme", date(2027, 2, 1)) == []


def test_a_case_lock_holds_against_other_processes(tmp_path):
    store = CaseStore(tmp_path, TIMEZONES)
    # Another process tries the case's byte of the lock file without waiting.
    probe = (
        "import fcntl, sys\n"
        "f = open(sys.argv[1], 'a+b')\n"
        "try:\n"
        "    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, int(sys.argv[2]))\n"
        "except OSError:\n"
        "    sys.exit(3)\n"
    )
    command = [sys.executable, "-c", probe, str(tmp_path / LOCK_FILE), str(lock_slot("c1"))]
    with store.locked("c1"):
        assert subprocess.run(command).returncode == 3
    assert subprocess.run(command).returncode == 0
