"""Reports (CONTRACT.md "Reports (version 2)") over small hand-built ledgers whose expected
numbers are counted by hand in each test's docstring.

Fixtures are plain dicts shaped as the ledger's decision bodies hold them (version 2 deadlines
carry `kind`, `status` and `done_at`); cases carry their decisions, and their obligation register
is derived from them (`reports.obligations.derive_register`) unless a case gives one.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from reports import QueryError, Snapshot, compute, parse_query, to_csv
from reports.obligations import derive_register

POLICIES = ["wme", "dwp-feedback", "cmg-employer-review", "serco-es"]
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def ob(name: str, due: str, status: str | None = None, done_at: str | None = None) -> dict:
    return {
        "name": name, "kind": "obligation", "due": due, "status": status,
        "done_at": done_at, "rule": f"rule_{name}",
    }  # fmt: skip


def dec(
    decision_id: str,
    policy: str,
    as_of: str,
    facts: dict[str, Any],
    *,
    case: str | None = None,
    disposition: str = "accept",
    stage: str | None = None,
    role: str | None = None,
    deadlines: list[dict] | None = None,
    actions: tuple[str, ...] = (),
    flags: tuple[str, ...] = (),
    purpose: str = "live",
) -> dict[str, Any]:
    return {
        "decision_id": decision_id,
        "policy": policy,
        "as_of": as_of,
        "case_id": case,
        "purpose": purpose,
        "facts": facts,
        "outcome": {
            "disposition": disposition,
            "stage": stage,
            "route": {"role": role, "assignee": None} if role else None,
            "notify": [],
            "deadlines": deadlines or [],
            "actions": [{"code": c, "detail": None, "rule": "r"} for c in actions],
            "flags": list(flags),
            "eligibility": {},
        },
    }


def case(case_id: str, decisions: list[dict], **extra: Any) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "policy": decisions[0]["policy"],
        "facts": decisions[-1]["facts"],
        "decisions": decisions,
        **extra,
    }


def snapshot(cases: list[dict], caseless: list[dict] = ()) -> Snapshot:
    decisions = [d for c in cases for d in c["decisions"]] + list(caseless)
    decisions.sort(key=lambda d: d["as_of"])
    return Snapshot(42, "ab" * 32, decisions, cases, NOW)


def report(name: str, snap: Snapshot, **query: str) -> dict[str, Any]:
    return compute(name, snap, parse_query(name, query, POLICIES))


# -- Serco: a quarter with known cases -----------------------------------------------------------

SP, SSM, SENIOR, MIN = "service_provider", "ssm", "senior", "ministry"


def serco_fixture() -> Snapshot:
    client = {"complainant_type": "client"}
    s1 = case(
        "S1",
        [
            dec(
                "s1a",
                "serco-es",
                "2026-01-05T15:00:00Z",
                client | {"received_at": "2026-01-05"},
                case="S1",
                stage=SP,
                role=SP,
                deadlines=[ob("respond", "2026-01-06", "open")],
            ),
            dec(
                "s1b",
                "serco-es",
                "2026-01-07T15:00:00Z",
                client
                | {
                    "received_at": "2026-01-05",
                    "resolved": True,
                    "urgent": True,  # a client's: SP 9's urgency is a provider dispute's
                    "acts": {"respond": "2026-01-06"},
                },
                case="S1",
                disposition="close",
                stage=SP,
                role=SP,
            ),
        ],
    )
    f2 = client | {"received_at": "2026-02-02", "acts": {"respond": "2026-02-05"}}
    s2 = case(
        "S2",
        [
            dec(
                "s2a",
                "serco-es",
                "2026-02-02T15:00:00Z",
                client | {"received_at": "2026-02-02"},
                case="S2",
                stage=SP,
                role=SP,
                deadlines=[ob("respond", "2026-02-03", "open")],
            ),
            dec(
                "s2b",
                "serco-es",
                "2026-02-09T15:00:00Z",
                f2,
                case="S2",
                disposition="escalate",
                stage=SSM,
                role="employment_services_manager",
            ),
            dec(
                "s2c",
                "serco-es",
                "2026-02-20T15:00:00Z",
                f2,
                case="S2",
                disposition="escalate",
                stage=SENIOR,
                role="senior_employment_services_manager",
            ),
            dec(
                "s2d",
                "serco-es",
                "2026-03-02T15:00:00Z",
                f2,
                case="S2",
                disposition="escalate",
                stage=MIN,
                role="ministry",
            ),
        ],
    )
    s3 = case(
        "S3",
        [
            dec(
                "s3a",
                "serco-es",
                "2026-03-10T15:00:00Z",
                {
                    "complainant_type": "service_provider",
                    "received_at": "2026-03-10",
                    "urgent": True,
                },
                case="S3",
                stage=SSM,
                role="employment_services_manager",
                deadlines=[
                    ob("respond", "2026-03-11", "open"),
                    {
                        "name": "ministry_escalation_available",
                        "kind": "opens",
                        "due": "2026-04-08",
                        "status": None,
                        "done_at": None,
                        "rule": "p",
                    },
                ],
                flags=("no_penalty",),
            ),
        ],
    )
    s4 = case(
        "S4",
        [
            dec(
                "s4a",
                "serco-es",
                "2026-03-31T20:00:00Z",
                {"complainant_type": "sa_partner", "received_at": "2026-03-31"},
                case="S4",
                stage=SSM,
                role="employment_services_manager",
                deadlines=[ob("respond", "2026-04-01", "open")],
            ),
        ],
    )
    s5 = case(
        "S5",
        [
            dec(
                "s5a",
                "serco-es",
                "2026-01-20T15:00:00Z",
                client | {"received_at": "2026-01-20"},
                case="S5",
                stage=SP,
                role=SP,
                deadlines=[ob("respond", "2026-01-21", "open")],
            ),
            dec(
                "s5b",
                "serco-es",
                "2026-01-26T15:00:00Z",
                client | {"received_at": "2026-01-20", "unresolved_at_level": True},
                case="S5",
                disposition="escalate",
                stage=SSM,
                role="employment_services_manager",
            ),
        ],
    )
    trial = case(
        "T1",
        [
            dec(
                "t1a",
                "serco-es",
                "2026-02-10T15:00:00Z",
                client | {"received_at": "2026-02-10"},
                case="T1",
                stage=SP,
                role=SP,
                deadlines=[ob("respond", "2026-02-11", "open")],
                purpose="test",
            ),
        ],
    )
    p1 = case(
        "P1",
        [
            dec(
                "p1a",
                "serco-es",
                "2025-11-03T15:00:00Z",
                client | {"received_at": "2025-11-03", "acts": {"respond": "2025-11-04"}},
                case="P1",
                stage=SP,
                role=SP,
                deadlines=[ob("respond", "2025-11-04", "met", "2025-11-04")],
            ),
        ],
    )
    provider = {"complainant_type": "service_provider", "received_at": "2026-01-01T03:00:00Z"}
    p2 = case(
        "P2",
        [
            dec(
                "p2a",
                "serco-es",
                "2026-01-01T03:00:00Z",
                provider,
                case="P2",
                stage=SSM,
                role="employment_services_manager",
                deadlines=[ob("respond", "2026-01-02", "open")],
            ),
            dec(
                "p2b",
                "serco-es",
                "2026-01-05T15:00:00Z",
                provider | {"resolved": True},
                case="P2",
                disposition="close",
                stage=SSM,
                role="employment_services_manager",
            ),
        ],
    )
    c6 = dec(
        "c6",
        "serco-es",
        "2026-02-10T16:00:00Z",
        client | {"received_at": "2026-02-10"},
        stage=SP,
        role=SP,
        deadlines=[ob("respond", "2026-02-11", "open")],
    )
    return snapshot([s1, s2, s3, s4, s5, trial, p1, p2], [c6])  # fmt: skip


def test_serco_quarterly_counts_a_quarter_by_hand():
    """Serco overview: complaints "reported to the Province every quarter"; clients 10–11, SP 9.

    2026-Q1 (Toronto dates), live only (T1 is `test`):
    - S1 client, respond done 01-06 (due 01-06) → met; latest `close` → resolved; level SP;
      `urgent`, which SP 9 reads of a provider dispute only: not counted urgent.
    - S2 client, respond done 02-05 (due 02-03) → late; SP → SSM → senior → ministry: one ministry
      escalation; latest `escalate` → escalated.
    - S3 provider, urgent, respond due 03-11 not done and still listed → overdue at 03-31; open.
    - S4 SA partner received 03-31, respond due 04-01 → open at the end of 03-31; open.
    - S5 client, respond due 01-21 not done, no longer listed after escalating to SSM → lapsed.
    - c6 case-less client decision, respond due 02-11 not done → overdue; level SP; open.
    So clients 4 (S1 S2 S5 c6), providers 1, SA partners 1; levels SP 2, SSM 3, senior 0,
    ministry 1; respond met 1, late 1, open 1, overdue 2, lapsed 1; resolved 1, escalated 2,
    open 3.
    2025-Q4: P1 client (respond met; accept → open) and P2 provider received
    2026-01-01T03:00Z = 2025-12-31 in Toronto (respond due 01-02 never done, no longer listed
    after `close` → lapsed; resolved). Clients 1, providers 1; levels SP 1, SSM 1.
    """
    got = report("serco-quarterly", serco_fixture(), quarter="2026-Q1")
    assert (got["report"], got["from"], got["to"], got["policy"]) == (
        "serco-quarterly", "2026-01-01", "2026-03-31", "serco-es",
    )  # fmt: skip
    assert (got["tree_size"], got["root_hash"], got["quarter"]) == (42, "ab" * 32, "2026-Q1")
    assert got["complaints"] == {
        "by_complainant_type": {"client": 4, "service_provider": 1, "sa_partner": 1},
        "by_level_reached": {"service_provider": 2, "ssm": 3, "senior": 0, "ministry": 1},
        "ministry_escalations": 1,
        "urgent": 1,
    }
    assert got["timeliness"] == {
        "respond": {"met": 1, "late": 1, "open": 1, "overdue": 2, "lapsed": 1}
    }
    assert got["outcomes"] == {"resolved": 1, "escalated": 2, "open": 3}
    previous = got["previous"]
    assert previous["quarter"] == "2025-Q4"
    assert previous["complaints"] == {
        "by_complainant_type": {"client": 1, "service_provider": 1, "sa_partner": 0},
        "by_level_reached": {"service_provider": 1, "ssm": 1, "senior": 0, "ministry": 0},
        "ministry_escalations": 0,
        "urgent": 0,
    }
    assert previous["timeliness"] == {
        "respond": {"met": 1, "late": 0, "open": 0, "overdue": 0, "lapsed": 1}
    }
    assert previous["outcomes"] == {"resolved": 1, "escalated": 0, "open": 1}


def test_timeliness_counts_and_median_working_days():
    """Timeliness for Serco 2026-Q1 (same cases as above): respond met 1, late 1, open 1,
    overdue 2, lapsed 1. Done ones: S1 received Mon 01-05, done Tue 01-06 → 1 working day;
    S2 received Mon 02-02, done Thu 02-05 → 3 working days. Median of (1, 3) = 2."""
    got = report("timeliness", serco_fixture(), quarter="2026-Q1", policy="serco-es")
    assert got["rows"] == [
        {
            "policy": "serco-es", "obligation": "respond", "met": 1, "late": 1, "open": 1,
            "overdue": 2, "lapsed": 1, "median_working_days_to_done": 2,
        }
    ]  # fmt: skip


def test_the_median_is_written_as_a_float_whatever_the_count():
    """`median_working_days_to_done` is one JSON type on every row and both ways of computing
    it: `1.0` for the one done obligation of 2025-Q4 (P1), as `2.5` would be, never `1`."""
    from reports.stored import weighted_median

    got = report("timeliness", serco_fixture(), quarter="2025-Q4", policy="serco-es")
    (row,) = got["rows"]
    assert row["met"] == 1 and repr(row["median_working_days_to_done"]) == "1.0"
    medians = [weighted_median(Counter(c)) for c in ({3: 1}, {3: 2}, {1: 1, 4: 1}, {})]
    assert [repr(m) for m in medians] == ["3.0", "3.0", "2.5", "None"]


def test_overdue_is_counted_at_the_end_of_the_period_not_now():
    """ "whose due has passed at the report's `as_of` (the end of the period or now, whichever is
    earlier)": S3's respond (due 2026-03-11) is still open in a period ending 03-10; a period
    ending 03-11 ends when 03-11 does, by when it has passed undone: overdue, as the case
    listing's `overdue_as_of=2026-03-12` (the start of that day, the same instant) says."""
    snap = serco_fixture()
    upto_10 = report(
        "timeliness", snap, policy="serco-es", **{"from": "2026-03-01", "to": "2026-03-10"}
    )
    upto_11 = report("timeliness", snap, policy="serco-es", **{"from": "2026-03-01", "to": "2026-03-11"})  # fmt: skip  # noqa: E501
    assert (upto_10["rows"][0]["open"], upto_10["rows"][0]["overdue"]) == (1, 0)
    assert (upto_11["rows"][0]["open"], upto_11["rows"][0]["overdue"]) == (0, 1)


# -- WME register and routing -------------------------------------------------------------------


def wme_fixture() -> Snapshot:
    complaint = {"received_at": "2026-01-05", "kind": "complaint", "category": "misconduct"}
    w1 = case(
        "W1",
        [
            dec(
                "w1a",
                "wme",
                "2026-01-05T10:00:00Z",
                complaint,
                case="W1",
                stage="stage_2",
                role="chief_executive",
                flags=("serious",),
                deadlines=[
                    ob("acknowledge", "2026-01-12", "open"),
                    ob("outcome", "2026-01-26", "open"),
                ],
            ),
            dec(
                "w1b",
                "wme",
                "2026-01-20T10:00:00Z",
                complaint | {"upheld": True, "acts": {"acknowledge": "2026-01-08"}},
                case="W1",
                stage="stage_2",
                role="chief_executive",
                flags=("serious",),
                actions=("offer_apology", "explain_prevention"),
                deadlines=[
                    ob("acknowledge", "2026-01-12", "met", "2026-01-08"),
                    ob("outcome", "2026-01-26", "open"),
                ],
            ),
        ],
        complainant="k-1",
    )
    w2 = dec(
        "w2",
        "wme",
        "2026-01-10T10:00:00Z",
        {"received_at": "2026-01-10", "kind": "concern", "category": "service_quality"},
        stage="informal",
        role="staff_member",
        actions=("resolve_informally",),
        deadlines=[ob("acknowledge", "2026-01-16", "open")],
    )
    w3 = dec(
        "w3",
        "wme",
        "2026-01-11T10:00:00Z",
        {"received_at": "2026-01-11", "kind": "complaint"},
        stage="stage_2",
        role="service_manager",
        purpose="preview",
    )
    w4 = dec(
        "w4",
        "wme",
        "2026-02-15T10:00:00Z",
        {"received_at": "2026-02-15", "kind": "complaint"},
        stage="stage_2",
        role="service_manager",
    )
    d1 = dec(
        "d1",
        "dwp-feedback",
        "2026-01-31T23:30:00Z",
        {"received_at": "2026-01-30"},
        disposition="not_eligible",
    )
    d2 = dec(
        "d2",
        "dwp-feedback",
        "2026-02-01T00:30:00+01:00",
        {"received_at": "2026-01-30"},
        disposition="not_eligible",
    )
    d3 = dec(
        "d3",
        "dwp-feedback",
        "2026-02-01T00:30:00Z",
        {"received_at": "2026-01-30"},
        disposition="not_eligible",
    )
    return snapshot([w1], [w2, w3, w4, d1, d2, d3])  # fmt: skip


def test_wme_register_one_row_per_case_or_caseless_decision():
    """WME 5.1: "keep a register of complaints, outcomes and actions taken". January 2026:
    W1 (a case, its latest decision w1b: acknowledge met on 01-08, outcome due 01-26 not done
    and still listed → overdue at the end of 01-31) and w2 (case-less concern: acknowledge due
    01-16 not done → overdue). w3 is a preview and w4 was received in February: not in it."""
    got = report("register", wme_fixture(), policy="wme", **{"from": "2026-01-01", "to": "2026-01-31"})  # fmt: skip  # noqa: E501
    assert [r["decision_id"] for r in got["rows"]] == ["w1b", "w2"]
    w1, w2 = got["rows"]
    assert w1 == {
        "case_id": "W1", "decision_id": "w1b", "policy": "wme", "received_at": "2026-01-05",
        "kind": "complaint", "category": "misconduct", "complainant_type": None,
        "stage": "stage_2", "route": "chief_executive", "disposition": "accept", "upheld": True,
        "actions": ["offer_apology", "explain_prevention"],
        "obligations": [
            {"name": "acknowledge", "due": "2026-01-12", "done_at": "2026-01-08", "status": "met"},
            {"name": "outcome", "due": "2026-01-26", "done_at": None, "status": "overdue"},
        ],
    }  # fmt: skip
    assert (w2["case_id"], w2["route"], w2["upheld"]) == (None, "staff_member", None)
    assert w2["obligations"] == [
        {"name": "acknowledge", "due": "2026-01-16", "done_at": None, "status": "overdue"}
    ]


def test_routing_counts_live_decisions_by_as_of():
    """Routing, January 2026 by each decision's `as_of` in Europe/London: w1a and w1b
    (accept, stage_2, chief_executive) → 2; w2 (accept, informal, staff_member) → 1; d1
    (23:30Z on 01-31 is 23:30 in London) and d2 (00:30+01:00 on 02-01 is 23:30Z on 01-31)
    → not_eligible, no route → 2; d3 (00:30Z on 02-01) and w4 are in February; w3 is a
    preview. Flags: `serious` on w1a and w1b → 2."""
    got = report("routing", wme_fixture(), **{"from": "2026-01-01", "to": "2026-01-31"})
    assert got["rows"] == [
        {"policy": "dwp-feedback", "route": None, "stage": None, "disposition": "not_eligible",
         "count": 2},
        {"policy": "wme", "route": "chief_executive", "stage": "stage_2", "disposition": "accept",
         "count": 2},
        {"policy": "wme", "route": "staff_member", "stage": "informal", "disposition": "accept",
         "count": 1},
    ]  # fmt: skip
    assert got["flags"] == [{"policy": "wme", "flag": "serious", "count": 2}]


def test_repeat_complainers_within_six_months_of_each_other():
    """CMG assurance note: "repeat complainers" — two or more cases within six months.
    k-9 (CMG): 2026-01-10, 2026-05-01 (within six months), 2026-12-01 (six months before it is
    06-01: not near 05-01) → 2 cases, 01-10 to 05-01. k-8: 2026-01-01 and 2026-07-02 (six
    months before 07-02 is 01-02) → no row. k-7: one case → no row."""

    def cmg(case_id: str, received: str, who: str) -> dict:
        decision = dec(f"{case_id}a", "cmg-employer-review", f"{received}T10:00:00Z",
                       {"received_at": received, "complainant_type": "employer"},
                       case=case_id, disposition="refer")  # fmt: skip
        return case(case_id, [decision], complainant=who)

    snap = snapshot([
        cmg("A", "2026-01-10", "k-9"), cmg("B", "2026-05-01", "k-9"),
        cmg("C", "2026-12-01", "k-9"), cmg("D", "2026-01-01", "k-8"),
        cmg("E", "2026-07-02", "k-8"), cmg("F", "2026-03-03", "k-7"),
    ])  # fmt: skip
    got = report("repeat-complainers", snap)
    assert got["rows"] == [
        {"complainant": "k-9", "policy": "cmg-employer-review", "cases": 2,
         "first_received_at": "2026-01-10", "last_received_at": "2026-05-01"},
    ]  # fmt: skip


# -- the register rows ----------------------------------------------------------------------------


def test_a_stored_register_is_used_as_given():
    """A case that carries its register (the store's) is read from it, not re-derived."""
    snap = wme_fixture()
    w1 = dict(snap.cases[0])
    w1["obligations"] = [
        {"name": "outcome", "rule": "r", "due": "2026-01-26", "done_at": "2026-01-27",
         "status": "late", "first_decision_id": "w1a", "last_decision_id": "w1b"},
    ]  # fmt: skip
    got = report("register", Snapshot(1, "00" * 32, snap.decisions, [w1], NOW), policy="wme")
    assert got["rows"][0]["obligations"] == [
        {"name": "outcome", "due": "2026-01-26", "done_at": "2026-01-27", "status": "late"}
    ]


def test_stand_in_register_from_version_1_deadlines():
    """CONTRACT.md: once the latest decision no longer lists an obligation it "keeps `met` or
    `late` if it was done, and becomes `lapsed` if it was never done"; a done one counts "even
    when the act came in the same event that ended the deadline". Version 1 deadlines carry no
    kind or status: windows are known by name and statuses computed."""
    first = dec("x1", "wme", "2026-01-05T10:00:00Z", {}, deadlines=[
        {"name": "acknowledge", "due": "2026-01-12", "rule": "a"},
        {"name": "outcome", "due": "2026-01-26", "rule": "o"},
        {"name": "appeal_window_closes", "due": "2026-02-09", "rule": "w"},
    ])  # fmt: skip
    second = dec("x2", "wme", "2026-01-30T10:00:00Z", {})
    register = derive_register([first, second], {"acts": {"acknowledge": "2026-01-13"}}, "Europe/London")  # fmt: skip  # noqa: E501
    assert [(r["name"], r["status"], r["done_at"]) for r in register] == [
        ("acknowledge", "late", "2026-01-13"),
        ("outcome", "lapsed", None),
    ]
    assert {r["first_decision_id"] for r in register} == {"x1"}
    assert {r["last_decision_id"] for r in register} == {"x1"}


# -- CSV and the query --------------------------------------------------------------------------


def parse_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_csv_carries_the_same_rows_with_a_header():
    """ "CSV carries the same rows with a header line": register flattens obligations to
    `name:status:due:done_at` items; serco-quarterly lists one measure per line for both
    quarters; routing puts rows then flags under a `section` column."""
    snap = wme_fixture()
    register = parse_csv(to_csv(report("register", snap, policy="wme", to="2026-01-31")))
    assert register[0][:3] == ["case_id", "decision_id", "policy"]
    assert register[1][-2:] == [
        "offer_apology explain_prevention",
        "acknowledge:met:2026-01-12:2026-01-08; outcome:overdue:2026-01-26:",
    ]
    assert len(register) == 3
    routing = parse_csv(to_csv(report("routing", snap, to="2026-01-31")))
    assert routing[0] == ["section", "policy", "route", "stage", "disposition", "flag", "count"]
    assert routing[-1] == ["flag", "wme", "", "", "", "serious", "2"]
    serco = parse_csv(to_csv(report("serco-quarterly", serco_fixture(), quarter="2026-Q1")))
    assert serco[0] == ["quarter", "measure", "value"]
    assert ["2026-Q1", "timeliness.respond.overdue", "2"] in serco
    assert ["2025-Q4", "complaints.by_complainant_type.service_provider", "1"] in serco
    assert len(serco) == 1 + 2 * (3 + 4 + 2 + 5 + 3)


@pytest.mark.parametrize(
    ("name", "query", "pointer"),
    [
        ("register", {"from": "2026-13-01"}, "/from"),
        ("register", {"to": "yesterday"}, "/to"),
        ("register", {"from": "2026-02-01", "to": "2026-01-01"}, "/to"),
        ("register", {"policy": "nope"}, "/policy"),
        ("routing", {"quarter": "2026-Q5"}, "/quarter"),
        ("routing", {"quarter": "2026-Q1", "from": "2026-01-01"}, "/quarter"),
        ("serco-quarterly", {}, "/quarter"),
        ("serco-quarterly", {"quarter": "2026-Q1", "policy": "wme"}, "/policy"),
    ],
)
def test_bad_query_values_are_named(name, query, pointer):
    with pytest.raises(QueryError) as caught:
        parse_query(name, query, POLICIES)
    assert pointer in [p for p, _ in caught.value.errors]
