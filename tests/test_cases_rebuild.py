"""`redress cases check` and `redress cases rebuild`: the case tables against the ledger, and a
case recorded before POLICIES.md version 2 (version-1 decisions in the ledger) after the upgrade.

CONTRACT.md, "The obligation register (version 2)": "The register is derived from the ledger's
decisions and can be rebuilt from them alone."
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec
import pytest

import rules
from cases import CaseStore
from ledger.replay import replay
from ledger.store import Ledger
from redress.cli import main
from service import Workflows
from store import open_store

TIMEZONES = {p.id: p.timezone for p in rules.policy_summaries()}
RULESETS = {p: rules.ruleset_document(p) for p in rules.policy_ids()}
CASE = "c" * 32


def workflows(data: Path) -> Workflows:
    store = open_store(data)
    ledger = Ledger.open(data, store)
    return Workflows(store, ledger, CaseStore(store, TIMEZONES), RULESETS, TIMEZONES)


def redress(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().out


def some_cases(data: Path) -> list[str]:
    flows = workflows(data)
    try:
        facts = {"received_at": "2026-10-05", "kind": "complaint", "in_writing": True}
        wme = flows.open_case(rules.evaluate("wme", facts, "2026-10-05T10:00:00Z"), facts)[
            0
        ].case_id
        acts = {"acts": {"acknowledge": "2026-10-06"}}
        flows.apply_event(wme, acts, "2026-10-07T09:00:00Z", rules.evaluate)
        facts = {"received_at": "2026-08-04", "complainant_type": "service_provider"}
        decided = rules.evaluate("serco-es", facts, "2026-08-04T14:00:00Z")
        serco = flows.open_case(decided, facts)[0].case_id
        flows.apply_event(serco, {"resolved": True}, "2026-08-06T14:00:00Z", rules.evaluate)
        return [wme, serco]
    finally:
        flows.store.close()


def test_check_finds_a_tampered_register_and_rebuild_puts_it_right(tmp_path, capsys):
    data = tmp_path / "data"
    wme, serco = some_cases(data)
    assert redress(capsys, "cases", "check", "--data-dir", str(data)) == (
        0,
        "ok: every case's register and state are what its ledger decisions give\n",
    )
    # Someone marks the late acknowledgement as never done, directly in the table.
    with sqlite3.connect(data / "redress.db") as conn:
        conn.execute(
            "UPDATE case_obligations SET done_at = NULL, status = 'open' "
            "WHERE case_id = ? AND name = 'acknowledge'",
            (wme,),
        )
    code, out = redress(capsys, "cases", "check", "--data-dir", str(data))
    assert code == 1
    assert out.startswith(f"differs: case {wme}: obligations stored")
    assert redress(capsys, "cases", "rebuild", "--data-dir", str(data)) == (
        0,
        "rebuilt 2 cases from the ledger\n",
    )
    assert redress(capsys, "cases", "check", "--data-dir", str(data))[0] == 0
    store = open_store(data)
    try:
        case = CaseStore(store, TIMEZONES).get(wme)
        assert [(r["name"], r["status"]) for r in case.obligations] == [
            ("acknowledge", "met"),
            ("outcome", "open"),
        ]
    finally:
        store.close()


def test_rebuild_restores_cases_lost_from_the_tables(tmp_path, capsys):
    data = tmp_path / "data"
    wme, serco = some_cases(data)
    store = open_store(data)
    before = {c: CaseStore(store, TIMEZONES).get(c) for c in (wme, serco)}
    store.close()
    with sqlite3.connect(data / "redress.db") as conn:
        for table in ("cases", "case_decisions", "case_obligations"):
            conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
    code, out = redress(capsys, "cases", "check", "--data-dir", str(data))
    assert code == 1 and "not in case tables" in out
    assert redress(capsys, "cases", "rebuild", "--data-dir", str(data))[0] == 0
    store = open_store(data)
    try:
        for case_id, was in before.items():
            now = CaseStore(store, TIMEZONES).get(case_id)
            assert now.obligations == was.obligations
            assert (now.state, now.facts, now.decision_ids) == (
                was.state,
                was.facts,
                was.decision_ids,
            )
            assert (now.stage, now.route) == (was.stage, was.route)
        assert before[serco].state == "closed"
    finally:
        store.close()


def test_cases_commands_need_an_existing_store(tmp_path, capsys):
    capsys.readouterr()
    assert main(["cases", "check", "--data-dir", str(tmp_path / "none")]) == 2
    assert "no ledger" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()


def test_a_case_recorded_under_version_1_reads_replays_and_goes_on_after_the_upgrade(
    tmp_path, capsys
):
    """POLICIES.md version 2: "decisions recorded under version 1 still replay under the
    version-1 documents stored in the ledger". A version-1 deadline has no `kind`, `status` or
    `done_at`; the register reads it with the kind its name has in version 2."""
    from rules.policies import archive

    data = tmp_path / "data"
    document = archive.load("wme", 1)
    ledger = Ledger.open(data)
    steps = [
        ("2026-03-17T10:00:00Z", {"received_at": "2026-03-16", "kind": "complaint"}),
        (
            "2026-04-03T10:00:00Z",
            {
                "received_at": "2026-03-16",
                "kind": "complaint",
                "stage_two_outcome_at": "2026-04-02",
            },
        ),
    ]
    ids = []
    for n, (as_of, facts) in enumerate(steps):
        decision = rules.evaluate_ruleset(document, facts, as_of)
        decision = msgspec.structs.replace(decision, decision_id=f"{n}" * 32, case_id=CASE)
        ledger.record_decision(document, decision, facts)
        ids.append(decision.decision_id)
    latest = decision
    assert "kind" not in msgspec.to_builtins(latest.outcome.deadlines[0])

    # The case tables as the version-1 code left them: the latest decision's deadlines, open.
    def old_rows(tx):
        tx.put_case(
            {
                "case_id": CASE,
                "policy": "wme",
                "state": "open",
                "facts": msgspec.json.encode(steps[-1][1]).decode(),
                "opened_at": "2026-03-17T10:00:01.000000Z",
                "updated_at": "2026-04-03T10:00:01.000000Z",
                "stage": latest.outcome.stage,
                "route": msgspec.json.encode(latest.outcome.route).decode(),
                "latest_decision_id": ids[-1],
            },
            None,
        )
        tx.replace_case_decisions(CASE, ids)
        tx.replace_obligations(
            CASE,
            [
                {"name": d.name, "rule": d.rule, "due": d.due, "status": "open"}
                for d in latest.outcome.deadlines
            ],
        )

    ledger.store.write(old_rows)
    ledger.store.close()

    assert redress(capsys, "replay", "--data-dir", str(data))[0] == 0
    code, out = redress(capsys, "cases", "check", "--data-dir", str(data))
    assert code == 1 and "obligations" in out  # the window was kept as an obligation
    assert redress(capsys, "cases", "rebuild", "--data-dir", str(data))[0] == 0
    flows = workflows(data)
    try:
        case = flows.cases.get(CASE)
        # Both obligations ended at the outcome, with no act recorded (version 1 had none).
        assert [(r["name"], r["status"]) for r in case.obligations] == [
            ("acknowledge", "lapsed"),
            ("outcome", "lapsed"),
        ]
        assert case.state == "open" and case.decision_ids == ids
        # An event after the upgrade decides under version 2 and marks `new` against the
        # version-1 decision before it.
        appeal = flows.apply_event(
            CASE, {"appeal_requested_at": "2026-04-08"}, "2026-04-09T10:00:00Z", rules.evaluate
        )
        assert appeal.outcome.stage == "stage_3"
        assert all(a.new is not None for a in appeal.outcome.actions)
        case = flows.cases.get(CASE)
        assert [(r["name"], r["status"]) for r in case.obligations] == [
            ("acknowledge", "lapsed"),
            ("outcome", "lapsed"),
            ("appeal_acknowledge", "open"),
            ("appeal_decision", "open"),
        ]
    finally:
        flows.store.close()
    assert redress(capsys, "cases", "check", "--data-dir", str(data))[0] == 0
    report = replay(data / "redress.db")
    assert report.ok, report.summary
    assert report.replayed == 3


def test_the_personal_data_state_and_purpose_are_what_the_ledger_says(tmp_path, capsys):
    """A case's row shows whether it holds personal data (`sealed`, with the commitment its
    first decision made) or had it erased (an `erasure` entry names the case), and its
    purpose: `check` holds each to the ledger, and `rebuild` restores them."""
    data = tmp_path / "data"
    flows = workflows(data)
    try:
        facts = {"received_at": "2026-10-05", "kind": "complaint", "in_writing": True}
        decided = rules.evaluate("wme", facts, "2026-10-05T10:00:00Z")
        sealed = flows.open_case(decided, facts, {"name": "A. Person"})[0].case_id
        erased = flows.open_case(decided, facts, {"name": "B. Person"})[0].case_id
        trial = flows.open_case(msgspec.structs.replace(decided, purpose="test"), facts)[0]
        flows.erase_personal(erased)
    finally:
        flows.store.close()
    assert redress(capsys, "cases", "check", "--data-dir", str(data))[0] == 0
    assert redress(capsys, "verify", "--data-dir", str(data))[0] == 0

    with sqlite3.connect(data / "redress.db") as conn:
        before = conn.execute(
            "SELECT case_id, personal, personal_commitment, purpose FROM cases ORDER BY case_id"
        ).fetchall()
        assert {(c, p) for c, p, _, _ in before} >= {(sealed, "sealed"), (erased, "erased")}
        conn.execute("UPDATE cases SET personal = 'none', personal_commitment = NULL")
        conn.execute("UPDATE cases SET purpose = 'live'")
    code, out = redress(capsys, "cases", "check", "--data-dir", str(data))
    assert code == 1 and "personal data" in out
    code, out = redress(capsys, "verify", "--data-dir", str(data))
    assert code == 1 and "disagree on its personal data" in out
    assert redress(capsys, "cases", "rebuild", "--data-dir", str(data))[0] == 0
    assert redress(capsys, "verify", "--data-dir", str(data))[0] == 0
    assert redress(capsys, "cases", "check", "--data-dir", str(data))[0] == 0
    with sqlite3.connect(data / "redress.db") as conn:
        after = conn.execute(
            "SELECT case_id, personal, personal_commitment, purpose FROM cases ORDER BY case_id"
        ).fetchall()
    assert after == before
    assert dict((c, p) for c, _, _, p in after)[trial.case_id] == "test"


def test_a_rebuild_on_a_live_store_loses_no_event(tmp_path, capsys):
    """`cases rebuild` while events are recorded (another process's writer, here a thread of
    this one with a store of its own): every event answered is in its case afterwards, and the
    case tables agree with the ledger. The ledger is read inside the rebuild's own write
    transaction; read before it, events recorded meanwhile were dropped from their cases."""
    import threading

    data = tmp_path / "data"
    cases = some_cases(data)
    flows = workflows(data)
    answered: list[tuple[str, str]] = []
    stop = threading.Event()

    def record_events() -> None:
        day = 7
        while not stop.is_set() and day < 28:
            for case_id in cases:
                facts = {"in_writing": day % 2 == 0} if case_id == cases[0] else {"level": None}
                as_of = f"2026-10-{day:02d}T12:00:00Z"
                recorded = flows.apply_event(case_id, facts, as_of, rules.evaluate)
                answered.append((case_id, recorded.decision_id))
            day += 1

    writer = threading.Thread(target=record_events)
    writer.start()
    try:
        while writer.is_alive():
            assert redress(capsys, "cases", "rebuild", "--data-dir", str(data))[0] == 0
    finally:
        stop.set()
        writer.join()
        flows.store.close()
    assert len(answered) == 42
    code, out = redress(capsys, "cases", "check", "--data-dir", str(data))
    assert code == 0, out
    store = open_store(data)
    try:
        with store.read() as tx:
            for case_id, decision_id in answered:
                assert decision_id in tx.case_decision_ids(case_id)
    finally:
        store.close()


def test_verify_on_a_live_store_reads_cases_and_entries_alike(tmp_path, capsys):
    """`redress verify` while cases are opened and events recorded (another writer on the
    store): the case tables are read in the snapshot the entries were, so a case opened after
    it is not "a case with no decision in the ledger" (verify on a live store failed 6 times
    in 6: found by an audit falsifying every table)."""
    import threading

    data = tmp_path / "data"
    some_cases(data)
    flows = workflows(data)
    stop = threading.Event()

    def open_cases() -> None:
        day = 1
        while not stop.is_set():
            facts = {"received_at": f"2026-09-{day % 28 + 1:02d}", "kind": "complaint"}
            as_of = f"2026-09-{day % 28 + 1:02d}T10:00:00Z"
            case = flows.open_case(rules.evaluate("wme", facts, as_of), facts)[0]
            acts = {"acts": {"acknowledge": f"2026-09-{day % 28 + 1:02d}"}}
            flows.apply_event(case.case_id, acts, as_of, rules.evaluate)
            day += 1

    writer = threading.Thread(target=open_cases)
    writer.start()
    try:
        for _ in range(8):
            code, out = redress(capsys, "verify", "--data-dir", str(data), "--jobs", "1")
            assert code == 0, out
    finally:
        stop.set()
        writer.join()
        flows.store.close()


@pytest.mark.parametrize(
    "falsify",
    ["drop the key", "drop the record", "seal other data", "swap the records"],
)
def test_the_personal_data_served_is_the_one_the_ledger_committed_to(tmp_path, capsys, falsify):
    """`GET /v1/cases/{id}/personal` serves the case's latest sealed record, opened with its
    key: `verify` and `cases check` open it too and compare its commitment with the one the
    case's first decision recorded (a record sealed anew with the stored key, another case's
    record, or a key or record removed without an erasure entry were served, or said erased,
    while verify said ok: found by an audit falsifying every table)."""
    import shutil

    from ledger import personal

    data = tmp_path / "data"
    flows = workflows(data)
    facts = {"received_at": "2026-10-05", "kind": "complaint"}
    try:
        cases = [
            flows.open_case(
                rules.evaluate("wme", facts, "2026-10-05T10:00:00Z"), facts, {"name": name}
            )[0].case_id
            for name in ("A. Person", "B. Person")
        ]
    finally:
        flows.store.close()
    assert redress(capsys, "verify", "--data-dir", str(data))[0] == 0
    copy = tmp_path / "copy"
    shutil.copytree(data, copy)
    conn = sqlite3.connect(copy / "redress.db")
    first, second = cases
    if falsify == "drop the key":
        conn.execute("DELETE FROM personal_keys WHERE case_id = ?", (first,))
    elif falsify == "drop the record":
        conn.execute("DELETE FROM personal_records WHERE case_id = ?", (first,))
    elif falsify == "seal other data":
        (key,) = conn.execute(
            "SELECT key FROM personal_keys WHERE case_id = ?", (first,)
        ).fetchone()
        forged = personal.seal_with(key, first, b"\0" * 32, {"name": "Mallory"})
        conn.execute("UPDATE personal_records SET sealed = ? WHERE case_id = ?", (forged, first))
    else:
        sealed = dict(conn.execute("SELECT case_id, sealed FROM personal_records"))
        for case_id, other in ((first, second), (second, first)):
            conn.execute(
                "UPDATE personal_records SET sealed = ? WHERE case_id = ?", (sealed[other], case_id)
            )
    conn.commit()
    conn.close()
    code, out = redress(capsys, "verify", "--data-dir", str(copy))
    assert code == 1, out
    assert "disagree on its sealed personal data" in out
    code, out = redress(capsys, "cases", "check", "--data-dir", str(copy))
    assert code != 0, out
