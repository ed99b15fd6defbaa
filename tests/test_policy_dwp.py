"""The `dwp-feedback` policy (DWP complaints feedback process), read as worked examples.

Calendar england-and-wales, time zone Europe/London. Six-month windows are counted back from
the London date of `received_at` (version 2; version 1 used `as_of`); hour deadlines are elapsed
hours, reported in UTC.
"""

from __future__ import annotations

from typing import Any

import pytest
from policy_helpers import (
    action_codes,
    action_rules,
    actions,
    assert_cited,
    bad_pointers,
    deadline_rules,
    deadline_states,
    deadlines,
    decide,
    encoded_twice,
    notify,
    reason_rules,
    refused,
    route,
)

POLICY = "dwp-feedback"

ANN = {
    "id": "cw-ann",
    "last_opportunity_at": "2026-03-12",
    "team_leader": "tl-ann",
    "workgroup_manager": "wm-ann",
    "area_manager": "am-ann",
    "head_of_line_of_business": "hlb-ann",
}
# Bob had the last chance to prevent the complaint; only his team leader and workgroup
# manager are known.
BOB = {
    "id": "cw-bob",
    "last_opportunity_at": "2026-04-01",
    "team_leader": "tl-bob",
    "workgroup_manager": "wm-bob",
}


def _feedback_case(as_of: str = "2026-05-05T10:00:00+01:00", **more: Any):
    """A complaint received 1 May 2026 caused by Bob's missed action on 10 Mar 2026."""
    facts: dict[str, Any] = {
        "received_at": "2026-05-01",
        "escalation_causes": ["requested_actions_not_carried_out"],
        "issue_occurred_at": "2026-03-10",
        "caseworkers": [ANN, BOB],
        "team_leader_agrees": True,
    }
    facts.update(more)
    return decide(POLICY, as_of, **facts)


def test_dwp_first_complaint_without_cause_needs_no_feedback():
    """DWP step 9 and DWP step 10: a first complaint is at resolution; no cause, no feedback."""
    d = decide(POLICY, "2026-05-05T10:00:00Z", received_at="2026-05-01")
    assert d.outcome.disposition == "not_eligible"
    assert d.outcome.stage == "complaint_resolution"
    assert d.outcome.route is None
    assert d.outcome.eligibility == {"feedback": False}
    assert (actions(d), deadlines(d), notify(d)) == ([], [], [])
    assert_cited(d, "resolution", "DWP step 9")
    assert_cited(d, "no_cause", "DWP step 10")
    assert reason_rules(d) == ["resolution", "no_cause"]


def test_dwp_empty_cause_list_is_no_cause():
    """DWP step 10: an empty list of causes is no cause, and needs no issue date."""
    d = decide(POLICY, "2026-05-05T10:00:00Z", received_at="2026-05-01", escalation_causes=[])
    assert reason_rules(d) == ["resolution", "no_cause"]


def test_dwp_subsequent_complaint_on_same_issue_is_a_review():
    """DWP step 9: subsequent complaints about the same issue follow Complaint Review."""
    d = decide(
        POLICY, "2026-05-05T10:00:00Z", received_at="2026-05-01", previous_complaints_same_issue=1
    )
    assert d.outcome.stage == "complaint_review"
    assert_cited(d, "review", "DWP step 9")
    assert reason_rules(d) == ["review", "no_cause"]


def test_dwp_feedback_goes_to_team_leader_of_last_caseworker_with_the_chance():
    """DWP steps 10, 12, 13 and DWP steps 14, 16: feedback to the last caseworker's team leader."""
    d = _feedback_case()
    assert d.outcome.disposition == "accept"
    assert d.outcome.stage == "complaint_resolution"
    assert d.outcome.eligibility == {"feedback": True}
    assert route(d) == ("team_leader", "tl-bob")
    # Managers named in rule order; the ones not given are notified with no assignee.
    assert notify(d) == [
        ("workgroup_manager", "wm-bob"),
        ("area_manager", None),
        ("head_of_line_of_business", None),
    ]
    assert actions(d) == [
        ("send_feedback_form", "cw-bob"),
        ("attach_complaint_letter", None),
        ("attach_response_letter", None),
    ]
    assert action_rules(d) == [
        ("send_feedback_form", "feedback"),
        ("attach_complaint_letter", "resolution_recipients"),
        ("attach_response_letter", "resolution_recipients"),
    ]
    assert deadlines(d) == []
    assert_cited(d, "feedback", "DWP steps 10, 12, 13")
    assert_cited(d, "resolution_recipients", "DWP steps 14, 16")
    assert reason_rules(d) == ["resolution", "feedback", "resolution_recipients"]


def test_dwp_tie_on_last_opportunity_goes_to_the_first_listed():
    """DWP step 13: on a tie, the first listed caseworker gets the feedback."""
    d = _feedback_case(caseworkers=[ANN, {**BOB, "last_opportunity_at": "2026-03-12"}])
    assert route(d) == ("team_leader", "tl-ann")
    assert actions(d)[0] == ("send_feedback_form", "cw-ann")
    assert notify(d) == [
        ("workgroup_manager", "wm-ann"),
        ("area_manager", "am-ann"),
        ("head_of_line_of_business", "hlb-ann"),
    ]


def test_dwp_null_managers_inside_a_caseworker_are_absent():
    """DWP steps 14, 16: a manager given as null is notified as that role with no assignee."""
    cw = {
        "id": "cw-cy",
        "last_opportunity_at": "2026-04-02",
        "team_leader": None,
        "workgroup_manager": None,
        "area_manager": "am-cy",
    }
    d = _feedback_case(caseworkers=[cw])
    assert route(d) == ("team_leader", None)
    assert notify(d) == [
        ("workgroup_manager", None),
        ("area_manager", "am-cy"),
        ("head_of_line_of_business", None),
    ]


def test_dwp_date_time_just_after_london_midnight_beats_the_bare_date():
    """DWP step 13: a bare date stands for the start of its London day."""
    # 23:30Z on 31 Mar = 00:30 BST on 1 Apr, later than the start of 1 Apr.
    ann = {**ANN, "last_opportunity_at": "2026-03-31T23:30:00Z"}
    d = _feedback_case(caseworkers=[ann, BOB])
    assert actions(d)[0] == ("send_feedback_form", "cw-ann")
    # 22:30Z on 31 Mar = 23:30 BST on 31 Mar, earlier than the start of 1 Apr.
    ann = {**ANN, "last_opportunity_at": "2026-03-31T22:30:00Z"}
    d = _feedback_case(caseworkers=[ann, BOB])
    assert actions(d)[0] == ("send_feedback_form", "cw-bob")


def test_dwp_team_leader_not_yet_asked_must_confirm():
    """DWP step 11: with no answer from the team leader, confirm feedback should be given."""
    d = _feedback_case(team_leader_agrees=None)
    assert action_codes(d) == [
        "send_feedback_form",
        "confirm_with_team_leader",
        "attach_complaint_letter",
        "attach_response_letter",
    ]
    assert_cited(d, "team_leader_agreement", "DWP step 11")
    assert d.outcome.eligibility == {"feedback": True}


def test_dwp_review_case_sends_form_to_area_senior_resolution_manager():
    """DWP steps 14, 16: at review, the area senior resolution manager receives the form."""
    d = _feedback_case(previous_complaints_same_issue=2)
    assert d.outcome.stage == "complaint_review"
    assert route(d) == ("team_leader", "tl-bob")
    assert notify(d) == [("area_senior_resolution_manager", None)]
    assert actions(d) == [
        ("send_feedback_form", "cw-bob"),
        ("attach_complaint_letter", None),
        ("attach_response_letter", None),
    ]
    assert_cited(d, "review_recipients", "DWP steps 9, 14, 16")
    assert reason_rules(d) == ["review", "feedback", "review_recipients"]


def test_dwp_six_months_before_31_august_starts_on_28_february():
    """DWP step 10: 31 Aug less six months names 31 Feb, so the window opens 28 Feb."""
    as_of = "2026-09-15T10:00:00+01:00"
    on_edge = _feedback_case(as_of, received_at="2026-08-31", issue_occurred_at="2026-02-28")
    assert on_edge.outcome.eligibility == {"feedback": True}
    assert on_edge.outcome.disposition == "accept"
    a_day_older = _feedback_case(as_of, received_at="2026-08-31", issue_occurred_at="2026-02-27")
    assert a_day_older.outcome.disposition == "not_eligible"
    assert a_day_older.outcome.eligibility == {"feedback": False}
    assert a_day_older.outcome.route is None
    assert action_codes(a_day_older) == []
    assert_cited(a_day_older, "stale", "DWP step 10")
    assert reason_rules(a_day_older) == ["resolution", "stale"]


def test_dwp_six_months_counts_from_the_london_date_of_received_at():
    """DWP step 10: received 23:30Z on 31 Aug is 1 Sep in London, so the window opens 1 Mar."""
    as_of, received = "2026-09-15T10:00:00Z", "2026-08-31T23:30:00Z"
    older = _feedback_case(as_of, received_at=received, issue_occurred_at="2026-02-28")
    assert older.outcome.eligibility == {"feedback": False}
    inside = _feedback_case(as_of, received_at=received, issue_occurred_at="2026-03-01")
    assert inside.outcome.eligibility == {"feedback": True}


def test_dwp_issue_date_time_in_another_offset_is_turned_into_a_london_date():
    """DWP step 10: received 15 May, the window opens 15 Nov; the issue's London date decides."""
    as_of, received = "2026-05-20T12:00:00+01:00", "2026-05-15"
    # 23:30 at -05:00 on 14 Nov = 04:30 GMT on 15 Nov: inside.
    inside = _feedback_case(
        as_of, received_at=received, issue_occurred_at="2025-11-14T23:30:00-05:00"
    )
    assert inside.outcome.eligibility == {"feedback": True}
    # 00:30 at +01:00 on 15 Nov = 23:30 GMT on 14 Nov: outside.
    outside = _feedback_case(
        as_of, received_at=received, issue_occurred_at="2025-11-15T00:30:00+01:00"
    )
    assert outside.outcome.eligibility == {"feedback": False}


def test_dwp_team_leader_acts_within_48_hours_of_the_form():
    """DWP steps 1, 2, 6: act within 48 hours, record at the 1-2-1, save to the personal file."""
    d = _feedback_case("2026-05-05T15:00:00+01:00", form_received_at="2026-05-05T14:30:00+01:00")
    # 14:30 BST = 13:30Z on 5 May, plus 48 hours.
    assert deadlines(d) == [("team_leader_action", "2026-05-07T13:30:00Z")]
    assert deadline_rules(d) == {"team_leader_action": "team_leader_action"}
    assert action_codes(d)[-2:] == ["record_in_monthly_one_to_one", "save_to_personal_file"]
    assert_cited(d, "team_leader_action", "DWP steps 1, 2, 6")
    assert reason_rules(d) == [
        "resolution",
        "feedback",
        "resolution_recipients",
        "team_leader_action",
    ]


def test_dwp_team_leader_deadline_counts_elapsed_hours_across_the_clock_change():
    """DWP steps 1, 2, 6: clocks go back on 25 Oct 2026; 48 elapsed hours are still 48."""
    d = decide(
        POLICY,
        "2026-10-24T12:00:00Z",
        received_at="2026-10-20",
        form_received_at="2026-10-24T09:15:00+01:00",
    )
    # 09:15 BST = 08:15Z on Sat 24 Oct; 48 hours later is 08:15Z on Mon 26 Oct (08:15 GMT).
    assert deadlines(d) == [("team_leader_action", "2026-10-26T08:15:00Z")]
    # The form's actions stand even where this complaint itself owes no feedback.
    assert action_codes(d) == ["record_in_monthly_one_to_one", "save_to_personal_file"]
    assert reason_rules(d) == ["resolution", "no_cause", "team_leader_action"]


def test_dwp_hours_deadline_keeps_microseconds_only_when_non_zero():
    """DWP steps 1, 2, 6: the due instant is RFC 3339 UTC, fractional seconds kept."""
    d = decide(
        POLICY,
        "2026-05-05T15:00:00Z",
        received_at="2026-05-01",
        form_received_at="2026-05-05T14:30:00.25+01:00",
    )
    assert deadlines(d) == [("team_leader_action", "2026-05-07T13:30:00.250000Z")]


def test_dwp_team_leader_disagrees_keeps_stage_and_team_leader_action():
    """DWP step 11 (exclusive): no feedback; resolution and team leader action still stand."""
    d = _feedback_case(
        "2026-05-05T15:00:00+01:00",
        team_leader_agrees=False,
        form_received_at="2026-05-05T14:30:00+01:00",
    )
    assert d.outcome.disposition == "not_eligible"
    assert d.outcome.stage == "complaint_resolution"
    assert d.outcome.route is None
    assert notify(d) == []
    assert d.outcome.eligibility == {"feedback": False}
    assert actions(d) == [
        ("record_in_monthly_one_to_one", None),
        ("save_to_personal_file", None),
    ]
    assert deadlines(d) == [("team_leader_action", "2026-05-07T13:30:00Z")]
    assert_cited(d, "team_leader_disagrees", "DWP step 11")
    assert reason_rules(d) == ["resolution", "team_leader_action", "team_leader_disagrees"]


def test_dwp_team_leader_disagrees_at_review_keeps_the_review_stage():
    """DWP step 11 (exclusive) keeps DWP step 9's review stage; recipients are discarded."""
    d = _feedback_case(previous_complaints_same_issue=1, team_leader_agrees=False)
    assert d.outcome.stage == "complaint_review"
    assert (notify(d), actions(d), deadlines(d)) == ([], [], [])
    assert reason_rules(d) == ["review", "team_leader_disagrees"]


def test_dwp_team_leader_disagreeing_without_a_cause_changes_nothing():
    """DWP step 10: no cause means no feedback, so DWP step 11's disagreement does not arise."""
    d = decide(POLICY, "2026-05-05T10:00:00Z", received_at="2026-05-01", team_leader_agrees=False)
    assert reason_rules(d) == ["resolution", "no_cause"]


def test_dwp_team_leader_disagreeing_on_a_stale_issue_leaves_it_stale():
    """DWP step 10: a stale issue owes no feedback; DWP step 11 does not fire."""
    d = _feedback_case(issue_occurred_at="2025-10-01", team_leader_agrees=False)
    assert reason_rules(d) == ["resolution", "stale"]


def test_dwp_same_facts_give_byte_identical_decisions():
    """DWP steps 10, 12, 13: evaluation is deterministic, byte for byte."""
    facts = {
        "received_at": "2026-05-01",
        "escalation_causes": ["failed_to_keep_promises", "failed_to_keep_informed"],
        "issue_occurred_at": "2026-03-10T08:00:00-04:00",
        "caseworkers": [ANN, BOB],
        "form_received_at": "2026-05-04T23:59:59+00:00",
    }
    first, second = encoded_twice(POLICY, facts, "2026-05-05T10:00:00Z")
    assert first == second


def test_dwp_cause_needs_an_issue_date_and_a_caseworker():
    """DWP step 10: with a cause, issue_occurred_at and at least one caseworker are required."""
    pointers = bad_pointers(
        POLICY,
        {"received_at": "2026-05-01", "escalation_causes": ["incorrect_or_incomplete_actions"]},
        "2026-05-05T10:00:00Z",
    )
    assert pointers == {"/facts/issue_occurred_at", "/facts/caseworkers"}
    pointers = bad_pointers(
        POLICY,
        {
            "received_at": "2026-05-01",
            "escalation_causes": ["incorrect_or_incomplete_actions"],
            "issue_occurred_at": "2026-04-01",
            "caseworkers": [],
        },
        "2026-05-05T10:00:00Z",
    )
    assert pointers == {"/facts/caseworkers"}


def test_dwp_caseworker_fields_are_checked_item_by_item():
    """DWP step 12: each caseworker needs an id and a last opportunity with an offset."""
    pointers = bad_pointers(
        POLICY,
        {
            "received_at": "2026-05-01",
            "escalation_causes": ["failed_to_keep_informed"],
            "issue_occurred_at": "2026-04-01",
            "caseworkers": [
                {"id": None, "last_opportunity_at": "2026-04-01"},
                {"id": "cw-2", "last_opportunity_at": "2026-04-01T10:00:00"},
            ],
        },
        "2026-05-05T10:00:00Z",
    )
    assert pointers == {"/facts/caseworkers/0/id", "/facts/caseworkers/1/last_opportunity_at"}


def test_dwp_form_received_at_must_be_a_date_time():
    """DWP steps 1, 2, 6: 48 hours need an instant; a bare date is a bad request."""
    pointers = bad_pointers(
        POLICY,
        {"received_at": "2026-05-01", "form_received_at": "2026-05-04"},
        "2026-05-05T10:00:00Z",
    )
    assert pointers == {"/facts/form_received_at"}


def test_dwp_previous_complaints_must_be_a_non_negative_integer():
    """DWP step 9: a count of previous complaints; a bool or a negative is refused."""
    for bad in (True, -1, "1", 1.5):
        pointers = bad_pointers(
            POLICY,
            {"received_at": "2026-05-01", "previous_complaints_same_issue": bad},
            "2026-05-05T10:00:00Z",
        )
        assert pointers == {"/facts/previous_complaints_same_issue"}, bad


def test_dwp_form_from_the_future_is_a_bad_request():
    """DWP steps 1, 2, 6: a form received after as_of has not been received."""
    pointers = bad_pointers(
        POLICY,
        {"received_at": "2026-05-01", "form_received_at": "2026-05-05T10:00:01Z"},
        "2026-05-05T10:00:00Z",
    )
    assert pointers == {"/facts/form_received_at"}


def test_dwp_caseworker_opportunity_from_the_future_is_a_bad_request():
    """DWP step 13: a last opportunity after as_of's London date has not happened yet."""
    late = {**BOB, "last_opportunity_at": "2026-05-06"}
    pointers = bad_pointers(
        POLICY,
        {
            "received_at": "2026-05-01",
            "escalation_causes": ["failed_to_keep_promises"],
            "issue_occurred_at": "2026-03-10",
            "caseworkers": [ANN, late],
        },
        "2026-05-05T10:00:00+01:00",
    )
    assert pointers == {"/facts/caseworkers/1/last_opportunity_at"}


# -- Version 2 -------------------------------------------------------------------------------


def test_dwp_v2_six_months_are_judged_at_receipt_so_a_later_decision_does_not_flip():
    """DWP step 10 (version 2, item 7): "Only provide feedback on cases where the issue occurred
    within the previous six months" — counted back from the complaint's receipt, so a decision
    taken later on the same facts gives the same answer."""
    early = _feedback_case("2026-05-05T10:00:00+01:00", issue_occurred_at="2025-11-01")
    late = _feedback_case("2026-12-01T10:00:00Z", issue_occurred_at="2025-11-01")
    # received 1 May 2026: the window opens 1 Nov 2025.
    assert early.outcome.eligibility == late.outcome.eligibility == {"feedback": True}


def test_dwp_v2_an_issue_after_the_receipt_is_a_bad_request():
    """DWP step 10: "Where the action taken (or not taken) by the previous caseworker caused the
    case to escalate into a complaint" — the issue cannot come after the complaint's receipt
    (the same London day is neither before nor after)."""
    facts = {
        "received_at": "2026-05-01",
        "escalation_causes": ["failed_to_keep_promises"],
        "issue_occurred_at": "2026-05-02",
        "caseworkers": [BOB],
    }
    assert set(refused(POLICY, facts, "2026-05-05T10:00:00Z")) == {"/facts/issue_occurred_at"}
    same_day = {**facts, "issue_occurred_at": "2026-05-01T22:00:00+01:00"}
    assert decide(POLICY, "2026-05-05T10:00:00Z", **same_day).outcome.disposition == "accept"


@pytest.mark.parametrize(
    ("handled_by", "previous", "stage", "rule"),
    [
        ("resolution", 3, "complaint_resolution", "resolution"),
        ("review", 0, "complaint_review", "review"),
        ("ice", 0, "complaint_ice", "ice"),
    ],
)
def test_dwp_v2_handled_by_fixes_the_stage(handled_by, previous, stage, rule):
    """DWP intro (version 2, item 7): the procedure is for "complaints resolution/review and ICE
    team members who need to send a complaints feedback form"; `handled_by` fixes the stage,
    whatever the count of previous complaints says."""
    d = decide(
        POLICY,
        "2026-05-05T10:00:00Z",
        received_at="2026-05-01",
        handled_by=handled_by,
        previous_complaints_same_issue=previous,
    )
    assert d.outcome.stage == stage
    assert reason_rules(d) == [rule, "no_cause"]


def test_dwp_v2_an_ice_case_gets_the_review_recipients():
    """DWP steps 9, 16 (version 2, item 7): "For subsequent complaints about the same issue,
    review the case by following Complaint Review" — an ICE case is such a complaint: the form
    goes to "the area senior resolution manager"."""
    d = _feedback_case(handled_by="ice")
    assert d.outcome.stage == "complaint_ice"
    assert notify(d) == [("area_senior_resolution_manager", None)]
    assert reason_rules(d) == ["ice", "feedback", "review_recipients"]
    assert_cited(d, "ice", "DWP intro, step 9")


def test_dwp_v2_a_complaint_by_letter_means_contacting_the_client():
    """DWP step 8 (version 2, item 7): "If a complaint is received by letter, read the
    correspondence and contact the client as soon as possible to discuss and fully understand
    the reason for the complaint." A phone call needs no such action."""
    letter = decide(POLICY, "2026-05-05T10:00:00Z", received_at="2026-05-01", channel="letter")
    assert action_rules(letter) == [("contact_client", "contact_client")]
    assert_cited(letter, "contact_client", "DWP step 8")
    phone = decide(POLICY, "2026-05-05T10:00:00Z", received_at="2026-05-01", channel="phone")
    assert action_codes(phone) == []
    disagrees = _feedback_case(channel="letter", team_leader_agrees=False)
    assert reason_rules(disagrees) == ["contact_client", "resolution", "team_leader_disagrees"]


def test_dwp_v2_feedback_given_closes_the_case_and_keeps_the_deadline_met():
    """DWP step 1 (version 2, item 11): "Take appropriate action within 48 hours to address the
    feedback with the person identified" — once the team leader has acted, the case closes; the
    deadline stays listed with its act."""
    d = _feedback_case(
        "2026-05-08T09:00:00Z",
        form_received_at="2026-05-05T14:30:00+01:00",
        acts={"team_leader_action": "2026-05-07T13:30:00Z"},
    )
    assert d.outcome.disposition == "close"
    assert (d.outcome.stage, route(d)) == ("complaint_resolution", ("team_leader", "tl-bob"))
    assert deadline_states(d) == [
        (
            "team_leader_action",
            "obligation",
            "2026-05-07T13:30:00Z",
            "met",
            "2026-05-07T13:30:00Z",
        )
    ]
    assert_cited(d, "feedback_given", "DWP steps 1–6")
    assert reason_rules(d)[-1] == "feedback_given"


def test_dwp_v2_feedback_given_never_closes_what_is_not_eligible():
    """DWP step 11: "make sure that they are in agreement that feedback should be given" — a
    disagreeing team leader's exclusive row discards the closing row."""
    d = _feedback_case(team_leader_agrees=False, acts={"team_leader_action": "2026-05-04"})
    assert d.outcome.disposition == "not_eligible"
    assert "feedback_given" not in reason_rules(d)


@pytest.mark.parametrize(
    ("as_of", "act", "status"),
    [
        ("2026-05-07T13:30:00Z", None, "open"),
        ("2026-05-07T13:30:01Z", None, "overdue"),
        ("2026-05-08T09:00:00Z", "2026-05-07T14:30:00+01:00", "met"),
        ("2026-05-08T09:00:00Z", "2026-05-07T13:30:01Z", "late"),
        # A date act stands for the start of its London day: 00:00 BST = 23:00Z on 6 May.
        ("2026-05-08T09:00:00Z", "2026-05-07", "met"),
        ("2026-05-09T09:00:00Z", "2026-05-08", "late"),
    ],
)
def test_dwp_v2_hours_deadline_status_compares_instants(as_of, act, status):
    """DWP step 1: "within 48 hours" — an hours deadline compares instants; exactly at due is
    on time."""
    more = {"acts": {"team_leader_action": act}} if act else {}
    d = _feedback_case(as_of, form_received_at="2026-05-05T14:30:00+01:00", **more)
    assert deadline_states(d) == [
        ("team_leader_action", "obligation", "2026-05-07T13:30:00Z", status, act)
    ]
