"""The obligation register, a case's state and its overdue list, over plain decision dicts.

CONTRACT.md, "The obligation register (version 2)": "A case's register holds one row per
obligation deadline (POLICIES.md: deadlines of kind `obligation`) that any of its decisions
listed: `{name, rule, due, done_at, status, first_decision_id, last_decision_id}`. ... The register
is derived from the ledger's decisions and can be rebuilt from them alone."

Statuses in the generated histories are worked out by `expected_status`, written here from
POLICIES.md's `status` row independently of `cases.register`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rules
from cases import (
    case_state,
    case_summary,
    merge_event,
    obligation_status,
    overdue_at,
    passes_at,
    register_after,
    register_of,
    registers_from_entries,
)
from cases.register import ENDING_DISPOSITIONS
from ledger.store import Ledger
from rules.errors import InputError

LONDON = "Europe/London"
TORONTO = "America/Toronto"
START = date(2026, 11, 2)
OBLIGATIONS = ["acknowledge", "outcome", "holding_letter", "appeal_decision"]
DISPOSITIONS = ["accept", "out_of_jurisdiction", "refer", "escalate", "close", "not_eligible"]


# -- an oracle written from POLICIES.md, apart from cases.register ----------------------------


def _moment(value: str, timezone: str) -> datetime:
    if len(value) == 10:
        return datetime.combine(date.fromisoformat(value), time(), ZoneInfo(timezone))
    return datetime.fromisoformat(value)


def _local_day(value: str, timezone: str) -> date:
    if len(value) == 10:
        return date.fromisoformat(value)
    return datetime.fromisoformat(value).astimezone(ZoneInfo(timezone)).date()


def expected_status(due: str, done_at: str | None, as_of: str, timezone: str = LONDON) -> str:
    """POLICIES.md `status`: "met (an act on or before due), late (an act after due), open (no
    act, and as_of not after due), overdue (no act, and as_of after due). A date deadline compares
    local dates ...; an hours deadline compares instants ...; an act or as_of at exactly due is
    on time." """
    moment = done_at if done_at is not None else as_of
    if len(due) == 10:
        in_time = _local_day(moment, timezone) <= date.fromisoformat(due)
    else:
        in_time = _moment(moment, timezone) <= _moment(due, timezone)
    if done_at is not None:
        return "met" if in_time else "late"
    return "open" if in_time else "overdue"


# -- building decisions --------------------------------------------------------------------------


def obligation(name: str, due: str, acts: dict, as_of: str, rule: str | None = None) -> dict:
    done_at = acts.get(name)
    return {
        "name": name,
        "kind": "obligation",
        "due": due,
        "status": expected_status(due, done_at, as_of),
        "done_at": done_at,
        "rule": rule or name,
    }


def window(name: str, due: str) -> dict:
    return {
        "name": name,
        "kind": "window",
        "due": due,
        "status": None,
        "done_at": None,
        "rule": name,
    }


def decision(
    decision_id: str,
    as_of: str,
    deadlines: list[dict],
    acts: dict | None = None,
    disposition: str = "accept",
    case_id: str = "case-1",
    policy: str = "wme",
    actions: list[dict] | None = None,
) -> dict:
    """A decision as a ledger `decision` body holds it (with the facts given to the rules)."""
    facts: dict[str, Any] = {"received_at": START.isoformat(), "kind": "complaint"}
    if acts:
        facts["acts"] = dict(acts)
    return {
        "decision_id": decision_id,
        "policy": policy,
        "policy_version": "sha256:" + "0" * 64,
        "as_of": as_of,
        "case_id": case_id,
        "purpose": "live",
        "facts": facts,
        "outcome": {
            "disposition": disposition,
            "stage": "stage_2",
            "route": {"role": "service_manager", "assignee": None},
            "notify": [],
            "deadlines": deadlines,
            "actions": actions or [],
            "flags": [],
            "eligibility": {},
        },
        "reasons": [],
    }


def api_shape(body: dict) -> dict:
    """The decision as the API answers it: no facts."""
    return {k: v for k, v in body.items() if k != "facts"}


def entry(index: int, kind: str, body: dict, recorded_at: str) -> dict:
    """A parsed ledger entry `{index, kind, recorded_at, prev_hash, body}` (hashes not checked)."""
    return {"index": index, "kind": kind, "recorded_at": recorded_at, "prev_hash": "", "body": body}


def fold(decisions: list[dict], **options: Any) -> list[dict]:
    rows: list[dict] = []
    for d in decisions:
        rows = register_after(rows, d, **options)
    return rows


# -- random case histories ---------------------------------------------------------------------


@st.composite
def dues(draw: st.DrawFn) -> str:
    day = START + timedelta(days=draw(st.integers(0, 60)))
    if draw(st.booleans()):
        return day.isoformat()
    # an hours due, like DWP's team_leader_action: an RFC 3339 instant in UTC
    return (
        f"{day.isoformat()}T{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from([0, 30])):02d}:00Z"
    )


@st.composite
def acts_on(draw: st.DrawFn, day: date) -> str:
    """An act no later than the decision's day: a date, or a date-time with an offset."""
    act_day = START + timedelta(days=draw(st.integers(0, (day - START).days)))
    if draw(st.booleans()) or act_day == day:
        return act_day.isoformat()
    return f"{act_day.isoformat()}T{draw(st.integers(0, 23)):02d}:15:00+01:00"


@st.composite
def histories(draw: st.DrawFn, case_id: str = "case-1", size: int = 8) -> list[dict]:
    """A case's decisions: obligations appear, move their due, gain or lose acts, disappear
    and come back; windows come and go; dispositions are random."""
    count = draw(st.integers(1, size))
    day = START
    acts: dict[str, str] = {}
    dues_now: dict[str, str] = {}
    decisions = []
    for i in range(count):
        day += timedelta(days=draw(st.integers(0, 9)))
        as_of = f"{day.isoformat()}T{draw(st.integers(0, 23)):02d}:00:00Z"
        for name in OBLIGATIONS:
            change = draw(st.sampled_from(["keep", "keep", "act", "unact"]))
            if change == "act":
                acts[name] = draw(acts_on(day))
            elif change == "unact":
                acts.pop(name, None)
        listed = draw(st.lists(st.sampled_from(OBLIGATIONS), unique=True, max_size=4))
        deadlines = []
        for name in listed:
            if name not in dues_now or draw(st.integers(0, 3)) == 0:
                dues_now[name] = draw(dues())  # a due that moves now and then (final_date)
            deadlines.append(obligation(name, dues_now[name], acts, as_of))
        if draw(st.booleans()):
            deadlines.append(window("appeal_window_closes", draw(dues())))
        disposition = draw(st.sampled_from(DISPOSITIONS))
        decisions.append(
            decision(f"{case_id}-d{i}", as_of, deadlines, acts, disposition, case_id=case_id)
        )
    return decisions


def listed_names(d: dict) -> set[str]:
    return {x["name"] for x in d["outcome"]["deadlines"] if x["kind"] == "obligation"}


# -- properties ----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(histories())
def test_the_rebuilt_register_equals_the_register_kept_event_by_event(decisions):
    """ "The register is derived from the ledger's decisions and can be rebuilt from them alone":
    `register_of` (row by row, from all decisions) equals folding `register_after` over them,
    whether decisions carry their facts (ledger bodies) or the case's acts are passed beside the
    API's shape."""
    rebuilt = register_of(decisions, timezone=LONDON)
    assert rebuilt == fold(decisions, timezone=LONDON)
    live: list[dict] = []
    for body in decisions:
        live = register_after(
            live, api_shape(body), acts=body["facts"].get("acts", {}), timezone=LONDON
        )
    assert live == rebuilt


@settings(max_examples=300, deadline=None)
@given(histories())
def test_no_obligation_ever_leaves_a_register(decisions):
    """CONTRACT.md: "one row per obligation deadline ... that any of its decisions listed"; a
    missed deadline never vanishes. Rows keep their place; new ones come after."""
    rows: list[dict] = []
    seen: list[str] = []
    for d in decisions:
        before = [r["name"] for r in rows]
        rows = register_after(rows, d, timezone=LONDON)
        after = [r["name"] for r in rows]
        assert after[: len(before)] == before
        seen += [
            n
            for n in [x["name"] for x in d["outcome"]["deadlines"]]
            if n in listed_names(d) and n not in seen
        ]
        assert after == seen
        assert len(set(after)) == len(after)


@settings(max_examples=300, deadline=None)
@given(histories())
def test_each_row_says_what_the_decisions_say(decisions):
    """ "`due` is the latest decision's due for it; `done_at` comes from the `acts` fact. `status`
    is the latest decision's status while a decision still lists it; once the case's latest
    decision no longer lists it, it keeps `met` or `late` if it was done, and becomes `lapsed` if
    it was never done (its stage ended first)": an act dated after that end does not undo the
    lapse (CONTRACT.md "Reports": met or late "even when the act came in the same event that
    ended the deadline", and no later)." """
    rows = register_of(decisions, timezone=LONDON)
    latest = decisions[-1]
    acts = latest["facts"].get("acts", {})
    listed_now = {x["name"]: x for x in latest["outcome"]["deadlines"] if x["kind"] == "obligation"}
    for row in rows:
        listing = [d for d in decisions if row["name"] in listed_names(d)]
        assert row["first_decision_id"] == listing[0]["decision_id"]
        assert row["last_decision_id"] == listing[-1]["decision_id"]
        last = next(x for x in listing[-1]["outcome"]["deadlines"] if x["name"] == row["name"])
        assert (row["due"], row["rule"]) == (last["due"], last["rule"])
        assert row["done_at"] == acts.get(row["name"])
        if row["name"] in listed_now:
            assert row["status"] == listed_now[row["name"]]["status"]
            continue
        # It ended at the earliest `as_of` of the decisions after the last that listed it.
        after = decisions[decisions.index(listing[-1]) + 1 :]
        ended = min(datetime.fromisoformat(d["as_of"]) for d in after)
        if row["done_at"] is None or _moment(row["done_at"], LONDON) > ended:
            assert row["status"] == "lapsed"  # never done, or done after "its stage ended"
        else:
            assert row["status"] == expected_status(row["due"], row["done_at"], latest["as_of"])


@settings(max_examples=300, deadline=None)
@given(histories())
def test_a_case_is_closed_only_when_nothing_is_open_or_overdue(decisions):
    """ "A case is `closed` when its latest decision's disposition is `close`, `refer`,
    `out_of_jurisdiction` or `not_eligible` and no obligation is `open` or `overdue`; otherwise
    `open`." """
    rows: list[dict] = []
    for d in decisions:
        rows = register_after(rows, d, timezone=LONDON)
        state = case_state(d, rows)
        pending = [r for r in rows if r["status"] in ("open", "overdue")]
        ending = d["outcome"]["disposition"] in ENDING_DISPOSITIONS
        assert state == ("closed" if ending and not pending else "open")


def unlisted_times(decisions: list[dict], name: str) -> list[tuple[datetime, datetime]]:
    """When an obligation had lapsed before a later decision listed it again: from the earliest
    `as_of` of the decisions that no longer listed it to the `as_of` of the one that did."""
    spans: list[tuple[datetime, datetime]] = []
    seen, since = False, None
    for d in decisions:
        at = datetime.fromisoformat(d["as_of"])
        if name in listed_names(d):
            if since is not None and at > since:
                spans.append((since, at))
            seen, since = True, None
        elif seen:
            since = at if since is None else min(since, at)
    return spans


@settings(max_examples=300, deadline=None)
@given(histories(), st.integers(-3, 40), st.integers(0, 23))
def test_the_overdue_list_reads_the_register_against_the_asked_instant(decisions, days, hour):
    """CONTRACT.md version 2: "the overdue list reads that register, so a met deadline is never
    listed and a missed one never vanishes". At the latest decision's `as_of` it names exactly
    the rows whose status is `overdue`; from then on it can only grow, and a done or lapsed row
    never appears; before it, a done or lapsed row appears exactly while its due had passed and
    it had not ended yet (its act, or the first decision that no longer listed it), and one met
    in time never does; nor does one in the time it had lapsed before a decision listed it
    again."""
    rows = register_of(decisions, timezone=LONDON)
    as_of = decisions[-1]["as_of"]
    assert overdue_at(rows, as_of, LONDON) == [r["name"] for r in rows if r["status"] == "overdue"]
    at = datetime.fromisoformat(as_of) + timedelta(days=days, hours=hour)
    listed = overdue_at(rows, at, LONDON)
    pending = {r["name"]: r for r in rows if r["status"] in ("open", "overdue")}
    for row in rows:
        name = row["name"]
        unlisted = any(start <= at < end for start, end in unlisted_times(decisions, name))
        if name in pending:
            status = expected_status(row["due"], None, at.isoformat())
            assert (name in listed) == (status == "overdue" and not unlisted)
            continue
        ended = datetime.fromisoformat(row["ends_at"])
        assert ended <= datetime.fromisoformat(as_of)  # ended by the latest decision
        assert (name in listed) == (passes_at(row["due"], LONDON) <= at < ended and not unlisted)
        if row["status"] == "met":
            assert name not in listed


@settings(max_examples=500, deadline=None)
@given(dues(), st.integers(-5, 5), st.integers(0, 47), st.sampled_from([LONDON, TORONTO]))
def test_a_status_is_exactly_what_due_done_at_and_as_of_say(due, days, half_hours, timezone):
    """POLICIES.md `status`, and `passes_at`: not done, a deadline is overdue at `at` exactly when
    `at` is at or after the instant it passes."""
    base = datetime.fromisoformat(due if len(due) > 10 else due + "T00:00:00Z")
    moment = base + timedelta(days=days, minutes=30 * half_hours)
    text = moment.astimezone(UTC).isoformat()
    assert obligation_status(due, None, text, timezone) == expected_status(
        due, None, text, timezone
    )
    assert obligation_status(due, text, text, timezone) == expected_status(
        due, text, text, timezone
    )
    overdue = moment >= passes_at(due, timezone)
    assert overdue == (expected_status(due, None, text, timezone) == "overdue")


@settings(max_examples=100, deadline=None)
@given(st.lists(histories(size=5), min_size=1, max_size=4))
def test_registers_rebuild_from_interleaved_ledger_entries(cases):
    """Each case's register and state, rebuilt from ledger entries in order (decisions of
    several cases interleaved with policy entries and case-less decisions), equals the one kept
    event by event."""
    for n, history in enumerate(cases):
        for d in history:
            d["case_id"] = f"case-{n}"
            d["decision_id"] = f"case-{n}-" + d["decision_id"]
    entries = [entry(0, "policy", {"policy": "wme"}, "t")]
    queues = [list(h) for h in cases]
    while any(queues):
        for queue in queues:
            if queue:
                body = queue.pop(0)
                entries.append(entry(len(entries), "decision", body, body["as_of"]))
        loose = decision("loose", "2026-11-03T00:00:00Z", [])
        loose["case_id"] = None  # a stateless query: no case
        entries.append(entry(len(entries), "decision", loose, "t"))
    rebuilt = registers_from_entries(entries, timezones={"wme": LONDON})
    assert sorted(rebuilt) == [f"case-{n}" for n in range(len(cases))]
    for n, history in enumerate(cases):
        case = rebuilt[f"case-{n}"]
        live = fold(history, timezone=LONDON)
        assert case["rows"] == live
        assert case["state"] == case_state(history[-1], live)
        assert case["decision_ids"] == [d["decision_id"] for d in history]
        assert case["facts"] == history[-1]["facts"]
        assert case["opened_at"] == history[0]["as_of"]


# -- worked examples -----------------------------------------------------------------------------


def test_a_met_deadline_is_never_overdue_and_a_missed_one_never_vanishes():
    """CONTRACT.md version 2: "the overdue list reads that register, so a met deadline is never
    listed and a missed one never vanishes". WME 3, 5.1: acknowledge within 5 working days;
    WME 3 Stage 2: the outcome within 15. Acknowledged on time, the outcome issued late: the
    outcome deadline ends (stage two outcome known) but stays in the register, `late`."""
    first = decision(
        "d1",
        "2026-12-02T09:00:00Z",
        [
            obligation("acknowledge", "2026-12-08", {}, "2026-12-02T09:00:00Z"),
            obligation("outcome", "2026-12-22", {}, "2026-12-02T09:00:00Z", rule="complaint"),
        ],
    )
    acts = {"acknowledge": "2026-12-07"}
    second = decision(
        "d2",
        "2026-12-23T09:00:00Z",
        [
            obligation("acknowledge", "2026-12-08", acts, "2026-12-23T09:00:00Z"),
            obligation("outcome", "2026-12-22", acts, "2026-12-23T09:00:00Z", rule="complaint"),
        ],
        acts,
    )
    rows = fold([first, second])
    assert [(r["name"], r["status"], r["done_at"]) for r in rows] == [
        ("acknowledge", "met", "2026-12-07"),
        ("outcome", "overdue", None),
    ]
    assert overdue_at(rows, "2026-12-23", LONDON) == ["outcome"]
    assert overdue_at(rows, "2026-12-22", LONDON) == []  # due the 22nd: overdue from the 23rd
    # the outcome is issued on 2026-12-24, in the event that ends both deadlines
    acts = {"acknowledge": "2026-12-07", "outcome": "2026-12-24"}
    third = decision(
        "d3", "2026-12-24T15:00:00Z", [window("appeal_window_closes", "2027-01-11")], acts
    )
    rows = register_after(rows, third)
    assert [(r["name"], r["status"], r["done_at"], r["last_decision_id"]) for r in rows] == [
        ("acknowledge", "met", "2026-12-07", "d2"),
        ("outcome", "late", "2026-12-24", "d2"),
    ]
    assert overdue_at(rows, "2027-02-01", LONDON) == []


def test_an_obligation_never_done_lapses_when_its_stage_ends():
    """CONTRACT.md: "becomes `lapsed` if it was never done (its stage ended first)". WME 3 Stage
    2: a complex complaint's holding letter is due in 10 working days; the outcome came first
    and nobody recorded the letter."""
    first = decision(
        "d1",
        "2026-12-02T09:00:00Z",
        [
            obligation("holding_letter", "2026-12-15", {}, "2026-12-02T09:00:00Z"),
        ],
    )
    second = decision("d2", "2026-12-10T09:00:00Z", [], {"outcome": "2026-12-10"})
    rows = register_of([first, second], timezone=LONDON)
    assert [(r["name"], r["status"], r["done_at"]) for r in rows] == [
        ("holding_letter", "lapsed", None)
    ]
    assert case_state(second, rows) == "open"  # accept: the case goes on
    closing = decision("d3", "2027-01-05T09:00:00Z", [], {"outcome": "2026-12-10"}, "close")
    rows = register_after(rows, closing, timezone=LONDON)
    assert case_state(closing, rows) == "closed"


def test_an_hours_deadline_met_at_exactly_its_due_and_a_closed_case():
    """DWP steps 1, 2, 6: the team leader acts within 48 hours of the form; POLICIES.md: "an act
    or `as_of` at exactly `due` is on time". DWP `feedback given` closes the case: "Acts still
    end no deadline: a case closed on an act keeps that deadline wherever it was listed, `met` or
    `late`." """
    due = "2026-12-04T10:00:00Z"
    open_at = "2026-12-03T10:00:00Z"
    first = decision(
        "d1", open_at, [obligation("team_leader_action", due, {}, open_at)], policy="dwp-feedback"
    )
    acts = {"team_leader_action": "2026-12-04T10:00:00+00:00"}
    second = decision(
        "d2",
        "2026-12-05T10:00:00Z",
        [obligation("team_leader_action", due, acts, "2026-12-05T10:00:00Z")],
        acts,
        "close",
        policy="dwp-feedback",
    )
    rows = register_after([], first)  # the policy's own time zone, looked up
    assert case_state(first, rows) == "open"
    assert overdue_at(rows, "2026-12-04T10:00:00Z", LONDON) == []
    assert overdue_at(rows, "2026-12-04T10:00:00.000001Z", LONDON) == ["team_leader_action"]
    rows = register_after(rows, second)
    assert [(r["status"], r["done_at"]) for r in rows] == [("met", "2026-12-04T10:00:00+00:00")]
    assert case_state(second, rows) == "closed"


def test_a_resolved_case_stays_open_while_an_obligation_is_open():
    """Serco clients 2: "Timeline for SP to respond to the client's inquiry regardless of method
    of contact: 1 business day". A `close` with `respond` still open is an open case: "no
    obligation is `open` or `overdue`" is part of closing."""
    as_of = "2026-12-01T14:00:00Z"
    first = decision(
        "d1",
        as_of,
        [obligation("respond", "2026-12-02", {}, as_of)],
        {},
        "close",
        policy="serco-es",
    )
    rows = register_after([], first, timezone=TORONTO)
    assert case_state(first, rows) == "open"
    summary = case_summary("case-1", "serco-es", first, rows, "2026-12-01T14:00:01Z", "2026-12-03")
    assert summary == {
        "case_id": "case-1",
        "policy": "serco-es",
        "state": "open",
        "opened_at": "2026-12-01T14:00:01Z",
        "stage": "stage_2",
        "route": {"role": "service_manager", "assignee": None},
        "overdue": ["respond"],
    }
    acts = {"respond": "2026-12-02"}
    second = decision(
        "d2",
        "2026-12-02T20:00:00Z",
        [obligation("respond", "2026-12-02", acts, "2026-12-02T20:00:00Z")],
        acts,
        "close",
        policy="serco-es",
    )
    rows = register_after(rows, second, timezone=TORONTO)
    assert case_state(second, rows) == "closed"
    assert case_summary("case-1", "serco-es", second, rows, "x", "2026-12-03")["overdue"] == []


def test_the_live_register_follows_the_cases_acts_beside_the_apis_decisions():
    """ "`done_at` comes from the `acts` fact": a decision in the API's shape carries no facts,
    so the case's acts are passed beside it; an act withdrawn (`null`) before the deadline ended
    leaves it never done, so it lapses."""
    as_of = "2026-12-02T09:00:00Z"
    acts = {"holding_letter": "2026-12-02"}
    first = decision("d1", as_of, [obligation("holding_letter", "2026-12-15", acts, as_of)], acts)
    second = decision("d2", "2026-12-10T09:00:00Z", [])
    rows = register_after([], api_shape(first), acts=acts, timezone=LONDON)
    assert [(r["status"], r["done_at"]) for r in rows] == [("met", "2026-12-02")]
    kept = register_after(rows, api_shape(second), timezone=LONDON)  # acts unknown: kept
    assert [(r["status"], r["done_at"]) for r in kept] == [("met", "2026-12-02")]
    withdrawn = register_after(rows, api_shape(second), acts=None, timezone=LONDON)
    assert [(r["status"], r["done_at"]) for r in withdrawn] == [("lapsed", None)]
    assert withdrawn == register_of([first, second], timezone=LONDON)


def test_windows_and_opens_are_not_in_the_register():
    """CONTRACT.md: rows are "obligation deadline (POLICIES.md: deadlines of kind `obligation`)";
    a decision recorded under version 1 carries no `kind`, and its windows (WME
    `appeal_window_closes`, CMG `employer_response`) and Serco `ministry_escalation_available`
    are read with the kind POLICIES.md version 2 gives their names."""
    as_of = "2026-12-23T09:00:00Z"
    v1 = decision(
        "d1",
        as_of,
        [
            {"name": "respond", "due": "2026-12-02", "rule": "provider dispute"},
            {
                "name": "ministry_escalation_available",
                "due": "2026-12-29",
                "rule": "provider dispute",
            },
        ],
        policy="serco-es",
    )
    rows = register_after([], v1, timezone=TORONTO)
    assert [(r["name"], r["status"], r["done_at"]) for r in rows] == [("respond", "overdue", None)]


# -- real rules, one case per policy ------------------------------------------------------------


def _normalise(outcome: dict, acts: dict, as_of: str, timezone: str) -> None:
    """Version-1 rules (until the rules helper's work lands) give deadlines without kind,
    status and done_at: fill them here, the way POLICIES.md version 2 defines them; check them
    when the rules give them."""
    kinds = {
        "appeal_window_closes": "window",
        "employer_response": "window",
        "ministry_escalation_available": "opens",
    }
    for d in outcome["deadlines"]:
        if d.get("kind") == "obligation":
            # rules that know version 2: "a deadline's status is exactly what its due, done_at
            # and as_of say" (issue 8), and done_at is "the act's value exactly as given"
            assert d["done_at"] == acts.get(d["name"])
            assert d["status"] == expected_status(d["due"], d["done_at"], as_of, timezone)
        if "kind" in d:
            continue
        d["kind"] = kinds.get(d["name"], "obligation")
        if d["kind"] == "obligation":
            d["done_at"] = acts.get(d["name"])
            d["status"] = expected_status(d["due"], d["done_at"], as_of, timezone)
        else:
            d["status"] = d["done_at"] = None


def decide(policy: str, facts: dict, as_of: str, case_id: str, n: int) -> tuple[Any, dict]:
    """The real rules on the case's facts; on rules that do not know `acts` yet, without it."""
    try:
        made = rules.evaluate(policy, facts, as_of)
    except InputError as error:
        if not any(e.pointer.startswith("/facts/acts") for e in error.errors):
            raise
        made = rules.evaluate(policy, {k: v for k, v in facts.items() if k != "acts"}, as_of)
    made = msgspec.structs.replace(made, decision_id=f"{case_id}-{n}", case_id=case_id)
    body = msgspec.to_builtins(made) | {"facts": facts}
    timezone = rules.ruleset_document(policy)["timezone"]
    _normalise(body["outcome"], facts.get("acts", {}), body["as_of"], timezone)
    return made, body


def walk(policy: str, steps: list[tuple[str, dict]], case_id: str = "case-1") -> list[dict]:
    facts: dict = {}
    bodies = []
    for n, (as_of, changes) in enumerate(steps):
        facts = merge_event(policy, facts, changes)
        bodies.append(decide(policy, facts, as_of, case_id, n)[1])
    return bodies


def statuses(rows: list[dict]) -> dict[str, str]:
    return {r["name"]: r["status"] for r in rows}


def test_wme_complaint_acknowledged_on_time_outcome_issued_late():
    """WME 3, 5.1: "acknowledge ... within 5 working days"; WME 3 Stage 2: the outcome within
    15 working days (2026-12-22 for a complaint received Tuesday 2026-12-01). Deadlines end
    "`acknowledge`, `outcome` and `holding_letter` once `stage_two_outcome_at` is known"."""
    bodies = walk(
        "wme",
        [
            (
                "2026-12-01T10:00:00Z",
                {"received_at": "2026-12-01", "kind": "complaint", "in_writing": True},
            ),
            ("2026-12-09T10:00:00Z", {}),
            ("2026-12-10T10:00:00Z", {"acts": {"acknowledge": "2026-12-08"}}),
            ("2026-12-23T10:00:00Z", {}),
            (
                "2026-12-24T10:00:00Z",
                {"stage_two_outcome_at": "2026-12-24", "acts": {"outcome": "2026-12-24"}},
            ),
        ],
    )
    registers = []
    rows: list[dict] = []
    for body in bodies:
        rows = register_after(rows, body)
        registers.append(statuses(rows))
    assert registers == [
        {"acknowledge": "open", "outcome": "open"},
        {"acknowledge": "overdue", "outcome": "open"},
        {"acknowledge": "met", "outcome": "open"},
        {"acknowledge": "met", "outcome": "overdue"},
        {"acknowledge": "met", "outcome": "late"},
    ]
    assert rows == register_of(bodies)
    assert case_state(bodies[-1], rows) == "open"  # the appeal window runs


def test_cmg_review_owes_no_obligation_and_closes_on_agreement():
    """CMG has no obligation deadline ("this policy has no obligation deadline"); its
    `employer_response` is a window (CMG step 11: "7 days"). Closable (CMG steps 13, 16): once
    the employer agrees it is resolved the disposition is `close`, and with nothing owed the
    case is closed."""
    base = {
        "received_at": "2026-12-01",
        "complainant_type": "employer",
        "payment_related": True,
        "dissatisfied_with_resolution": True,
        "all_actions_taken_at_resolution": False,
    }
    bodies = walk(
        "cmg-employer-review",
        [
            ("2026-12-01T10:00:00Z", base),
            ("2026-12-03T10:00:00Z", {"resolution_plan_issued_at": "2026-12-03"}),
            (
                "2026-12-08T10:00:00Z",
                {"resolution_actions_complete": True, "employer_agrees_resolved": True},
            ),
        ],
        case_id="cmg-1",
    )
    rows = register_of(bodies)
    assert rows == []
    assert [case_state(b, []) for b in bodies] == ["open", "open", "closed"]


def test_serco_provider_dispute_through_its_levels():
    """Serco SP 2: "The ESM will respond to the SPM within 1 business day"; deadlines end "a
    provider dispute's `respond` and `ministry_escalation_available` once `resolved` or when the
    `level` fact is senior or ministry". The respond obligation, met, stays `met` after it ends."""
    bodies = walk(
        "serco-es",
        [
            (
                "2026-12-01T15:00:00Z",
                {"received_at": "2026-12-01", "complainant_type": "service_provider"},
            ),
            ("2026-12-02T15:00:00Z", {"acts": {"respond": "2026-12-02"}}),
            ("2026-12-10T15:00:00Z", {"unresolved_at_level": True}),
            ("2026-12-11T15:00:00Z", {"level": "senior"}),
        ],
        case_id="serco-1",
    )
    assert "unresolved_at_level" not in bodies[-1]["facts"]
    rows: list[dict] = []
    seen = []
    for body in bodies:
        rows = register_after(rows, body)
        seen.append(statuses(rows))
    assert seen == [{"respond": "open"}, {"respond": "met"}, {"respond": "met"}, {"respond": "met"}]
    assert [r["last_decision_id"] for r in rows] == ["serco-1-2"]
    assert rows == register_of(bodies)


def test_dwp_team_leader_action_missed_then_done_late():
    """DWP steps 1, 2, 6: the team leader acts within 48 hours of receiving the form
    (`team_leader_action` = 48 hours after `form_received_at`)."""
    facts = {
        "received_at": "2026-12-01",
        "escalation_causes": ["failed_to_keep_promises"],
        "issue_occurred_at": "2026-11-20",
        "caseworkers": [{"id": "cw1", "last_opportunity_at": "2026-11-20", "team_leader": "tl1"}],
    }
    bodies = walk(
        "dwp-feedback",
        [
            ("2026-12-01T10:00:00Z", facts),
            (
                "2026-12-02T10:00:00Z",
                {"team_leader_agrees": True, "form_received_at": "2026-12-02T09:00:00Z"},
            ),
            ("2026-12-05T10:00:00Z", {}),
            ("2026-12-07T10:00:00Z", {"acts": {"team_leader_action": "2026-12-07T09:00:00Z"}}),
        ],
        case_id="dwp-1",
    )
    rows: list[dict] = []
    seen = []
    for body in bodies:
        rows = register_after(rows, body)
        seen.append((statuses(rows), overdue_at(rows, body["as_of"], LONDON)))
    assert seen == [
        ({}, []),
        ({"team_leader_action": "open"}, []),
        ({"team_leader_action": "overdue"}, ["team_leader_action"]),
        ({"team_leader_action": "late"}, []),
    ]
    assert rows[0]["due"] == "2026-12-04T09:00:00Z"


def test_the_register_rebuilds_from_a_real_ledger(tmp_path: Path):
    """Issue 8: "a command rebuilds it from the decisions alone and a test shows the rebuilt
    register equals the live one". Two cases' decisions go into a real ledger (SQLite, signed);
    its entries alone give back both registers."""
    wme = walk(
        "wme",
        [
            ("2026-12-01T10:00:00Z", {"received_at": "2026-12-01", "kind": "complaint"}),
            ("2026-12-10T10:00:00Z", {"acts": {"acknowledge": "2026-12-09"}}),
        ],
        case_id="wme-1",
    )
    serco = walk(
        "serco-es",
        [
            ("2026-12-01T15:00:00Z", {"received_at": "2026-12-01", "complainant_type": "client"}),
            ("2026-12-03T15:00:00Z", {"unresolved_at_level": True}),
        ],
        case_id="serco-1",
    )
    ledger = Ledger.open(tmp_path)
    try:
        for body in [wme[0], serco[0], wme[1], serco[1]]:
            made, _ = decide(
                body["policy"],
                body["facts"],
                body["as_of"],
                body["case_id"],
                int(body["decision_id"].rsplit("-", 1)[1]),
            )
            ledger.record_decision(rules.ruleset_document(body["policy"]), made, body["facts"])
        entries = ledger.entries(0, 100)
    finally:
        ledger.close()
    rebuilt = registers_from_entries(entries)
    # the ledger holds what the rules gave; the live register saw the same decisions
    assert rebuilt["wme-1"]["rows"] == fold(wme)
    assert rebuilt["serco-1"]["rows"] == fold(serco)
    assert statuses(rebuilt["wme-1"]["rows"]) == {"acknowledge": "late", "outcome": "open"}
    assert rebuilt["serco-1"]["decision_ids"] == ["serco-1-0", "serco-1-1"]
    assert rebuilt["serco-1"]["state"] == "open"


@pytest.mark.parametrize("at", ["2026-12-09", "2026-12-09T00:00:00Z"])
def test_overdue_at_a_date_means_the_start_of_that_local_day(at):
    """`GET /v1/cases?overdue_as_of=D`; POLICIES.md: "comparing a date with a date-time: a date
    stands for the start of that local day". Due 2026-12-08 is overdue from the start of the
    9th (London is on UTC in December)."""
    rows = [
        {
            "name": "acknowledge",
            "rule": "acknowledge",
            "due": "2026-12-08",
            "done_at": None,
            "status": "open",
            "first_decision_id": "d1",
            "last_decision_id": "d1",
        }
    ]
    assert overdue_at(rows, at, LONDON) == ["acknowledge"]
    assert overdue_at(rows, "2026-12-08T23:59:59Z", LONDON) == []
    assert overdue_at(rows, date(2026, 12, 9), LONDON) == ["acknowledge"]


def rules_know_version_2() -> bool:
    probe = rules.evaluate(
        "wme", {"received_at": "2026-12-01", "kind": "complaint"}, "2026-12-01T10:00:00Z"
    )
    return all("kind" in msgspec.to_builtins(d) for d in probe.outcome.deadlines)


LIVES = {
    "wme": [
        # WME 3 Stage 2: "closed after outcome" once the appeal window has passed with no appeal
        ("2026-12-01T10:00:00Z", {"received_at": "2026-12-01", "kind": "complaint"}),
        ("2026-12-04T10:00:00Z", {"acts": {"acknowledge": "2026-12-04"}}),
        ("2026-12-18T10:00:00Z", {"stage_two_outcome_at": "2026-12-18",
                                  "acts": {"outcome": "2026-12-18"}}),
        ("2027-01-07T10:00:00Z", {}),
    ],
    "dwp-feedback": [
        # DWP steps 1–6: "feedback given" once the team leader has acted on the form
        ("2026-12-01T10:00:00Z", {"received_at": "2026-12-01",
                                  "escalation_causes": ["failed_to_keep_informed"],
                                  "issue_occurred_at": "2026-11-20", "team_leader_agrees": True,
                                  "caseworkers": [{"id": "cw1",
                                                   "last_opportunity_at": "2026-11-20"}]}),
        ("2026-12-02T10:00:00Z", {"form_received_at": "2026-12-02T09:00:00Z"}),
        ("2026-12-03T10:00:00Z", {"acts": {"team_leader_action": "2026-12-03T09:00:00Z"}}),
    ],
    "serco-es": [
        # Serco clients 2, 5: respond in 1 business day; resolution in writing closes it
        ("2026-12-01T15:00:00Z", {"received_at": "2026-12-01", "complainant_type": "client"}),
        ("2026-12-02T15:00:00Z", {"acts": {"respond": "2026-12-02"}, "resolved": True}),
    ],
}  # fmt: skip


@pytest.mark.parametrize("policy", sorted(LIVES))
def test_a_case_lives_until_its_policy_closes_it_and_nothing_is_owed(policy):
    """POLICIES.md version 2, item 11, "A case's end": "WME and DWP cases can now close"
    (issue 8). Each case is open until its last decision, which closes it with every
    obligation met."""
    assert rules_know_version_2(), "the rules emit POLICIES.md version 2 deadlines"
    bodies = walk(policy, LIVES[policy], case_id=f"{policy}-life")
    rows: list[dict] = []
    states = []
    for body in bodies:
        rows = register_after(rows, body)
        states.append(case_state(body, rows))
    assert states == ["open"] * (len(bodies) - 1) + ["closed"]
    assert {r["status"] for r in rows} == {"met"}
    assert rows == register_of(bodies)
