"""The `cmg-employer-review` policy (CMG employer payment complaint at review), as examples.

Calendar england-and-wales, time zone Europe/London. Review eligibility looks back six months
from the London date of the complaint's own `received_at` (not from `as_of`); the plan's wait
is seven calendar days.
"""

from __future__ import annotations

from typing import Any

import pytest
from policy_helpers import (
    action_codes,
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

POLICY = "cmg-employer-review"
SERVICE_REQUEST = "Process=Employer; Area=Complaints; Sub Area=Review; Status=In Progress"


def _complaint(as_of: str = "2026-06-16T10:00:00+01:00", **more: Any):
    """An employer's payment complaint received Mon 15 Jun 2026."""
    facts: dict[str, Any] = {
        "received_at": "2026-06-15",
        "complainant_type": "employer",
        "payment_related": True,
    }
    facts.update(more)
    return decide(POLICY, as_of, **facts)


def _review(as_of: str = "2026-06-16T10:00:00+01:00", **more: Any):
    """The same complaint, at review because the employer is dissatisfied with the resolution."""
    return _complaint(as_of, dissatisfied_with_resolution=True, **more)


def test_cmg_first_complaint_is_referred_back_to_employer_payments_team():
    """CMG step 4, intro: with no previous complaint it goes back to the resolution level."""
    d = _complaint()
    assert d.outcome.disposition == "refer"
    assert d.outcome.stage == "resolution"
    assert route(d) == ("employer_payments_team", None)
    assert (actions(d), d.outcome.flags, d.outcome.eligibility) == ([], [], {})
    assert_cited(d, "resolution_level", "CMG step 4, intro")
    assert reason_rules(d) == ["resolution_level"]


def test_cmg_dissatisfied_employer_is_reviewed_independently():
    """CMG intro, step 5 and CMG step 2: a review SR, and letter CMSL8505 to acknowledge."""
    d = _review()
    assert d.outcome.disposition == "accept"
    assert d.outcome.stage == "review"
    assert route(d) == ("complaints_review_team", None)
    assert d.outcome.flags == ["independent_of_employer_payments_team"]
    assert actions(d) == [("create_service_request", SERVICE_REQUEST), ("issue_letter", "CMSL8505")]
    assert_cited(d, "review", "CMG intro, step 5")
    assert_cited(d, "acknowledge", "CMG step 2")
    assert reason_rules(d) == ["review", "acknowledge"]


def test_cmg_previous_complaint_on_the_six_month_edge_makes_it_a_review():
    """CMG intro: repeat complaints within six months; 31 Aug less six months is 28 Feb."""
    on_edge = _complaint(
        "2026-09-01T10:00:00Z",
        received_at="2026-08-31",
        previous_complaints=[{"received_at": "2026-02-28", "resolved_at": "2026-03-20"}],
    )
    assert on_edge.outcome.stage == "review"
    a_day_older = _complaint(
        "2026-09-01T10:00:00Z",
        received_at="2026-08-31",
        previous_complaints=[{"received_at": "2026-02-27", "resolved_at": "2026-03-20"}],
    )
    assert a_day_older.outcome.stage == "resolution"
    assert reason_rules(a_day_older) == ["resolution_level"]


def test_cmg_window_counts_back_from_received_at_not_from_as_of():
    """CMG intro: decided on 30 Sep, a complaint of 31 Aug still looks back to 28 Feb."""
    d = _complaint(
        "2026-09-30T10:00:00Z",
        received_at="2026-08-31",
        previous_complaints=[{"received_at": "2026-02-28"}],
    )
    assert d.outcome.stage == "review"


def test_cmg_received_after_london_midnight_moves_the_window():
    """CMG intro: 23:30Z on 31 Aug is 1 Sep in London, so the window opens 1 Mar."""
    d = _complaint(
        "2026-09-01T10:00:00Z",
        received_at="2026-08-31T23:30:00Z",
        previous_complaints=[{"received_at": "2026-02-28"}],
    )
    assert d.outcome.stage == "resolution"


def test_cmg_previous_complaint_date_time_is_turned_into_its_london_date():
    """CMG intro: 00:30 at +01:00 on 28 Feb is 23:30 GMT on 27 Feb, outside the window."""
    d = _complaint(
        "2026-09-01T10:00:00Z",
        received_at="2026-08-31",
        previous_complaints=[{"received_at": "2026-02-28T00:30:00+01:00"}],
    )
    assert d.outcome.stage == "resolution"


def test_cmg_phone_caller_needs_a_security_check_instead_of_a_letter():
    """CMG step 2: on the phone, a security check; no acknowledgement letter."""
    d = _review(channel="phone")
    assert actions(d) == [("create_service_request", SERVICE_REQUEST), ("security_check", None)]
    assert_cited(d, "phone_security", "CMG step 2")
    assert reason_rules(d) == ["review", "phone_security"]
    checked = _review(channel="phone", security_check_passed=True)
    assert action_codes(checked) == ["create_service_request"]
    assert reason_rules(checked) == ["review"]


def test_cmg_email_is_acknowledged_by_letter():
    """CMG step 2: not on the phone, issue CMSL8505."""
    assert actions(_review(channel="email"))[-1] == ("issue_letter", "CMSL8505")


def test_cmg_resolution_level_phone_call_gets_no_review_steps():
    """CMG step 4, intro: the review's security check and letters need a review."""
    d = _complaint(channel="phone", additional_costs_claimed=True)
    assert reason_rules(d) == ["resolution_level"]
    assert actions(d) == []


def test_cmg_two_complaints_in_six_months_mark_a_repeat_complainer():
    """CMG assurance note: repeat complainers are identified and may get an account manager."""
    # Received 15 Jun 2026: the window opens 15 Dec 2025.
    d = _complaint(
        previous_complaints=[
            {"received_at": "2025-12-15", "resolved_at": "2026-01-05"},
            {"received_at": "2026-05-02"},
        ]
    )
    assert d.outcome.stage == "review"
    assert d.outcome.flags == ["independent_of_employer_payments_team", "repeat_complainer"]
    assert action_codes(d) == ["create_service_request", "issue_letter", "consider_account_manager"]
    assert_cited(d, "repeat_complainer", "CMG assurance note")


def test_cmg_one_complaint_inside_and_one_outside_is_not_a_repeat():
    """CMG assurance note: 14 Dec 2025 is a day before the window of a 15 Jun 2026 complaint."""
    d = _complaint(
        previous_complaints=[{"received_at": "2025-12-14"}, {"received_at": "2026-05-02"}]
    )
    assert d.outcome.stage == "review"
    assert "repeat_complainer" not in d.outcome.flags
    assert "repeat_complainer" not in reason_rules(d)


def test_cmg_costs_claimed_through_cmg_fault_may_be_reimbursed():
    """CMG reimburse: CMSL8503; reimbursement only where the CMG was at fault."""
    at_fault = _review(additional_costs_claimed=True, costs_due_to_cmg_fault=True)
    assert actions(at_fault)[-1] == ("issue_letter", "CMSL8503")
    assert at_fault.outcome.eligibility == {"reimbursement": True}
    assert_cited(at_fault, "costs", "CMG reimburse")
    day_to_day = _review(additional_costs_claimed=True)
    assert actions(day_to_day)[-1] == ("issue_letter", "CMSL8503")
    assert day_to_day.outcome.eligibility == {"reimbursement": False}


def test_cmg_missing_resolution_actions_need_a_plan():
    """CMG steps 9–12: a resolution plan, letter CMSL8504, back to the employer payments team."""
    d = _review(all_actions_taken_at_resolution=False)
    assert actions(d) == [
        ("create_service_request", SERVICE_REQUEST),
        ("issue_letter", "CMSL8505"),
        ("create_resolution_plan", None),
        ("issue_letter", "CMSL8504"),
        ("assign_to_employer_payments_team", None),
    ]
    # The citation's range uses an en dash, exactly as the table writes it.
    assert_cited(d, "plan", "CMG steps 9\u201312")
    assert d.outcome.disposition == "accept"


def test_cmg_employer_has_seven_calendar_days_to_respond_to_the_plan():
    """CMG step 11: set the SR to Wait and allow seven days for a response."""
    d = _review(
        "2026-06-17T10:00:00Z",
        all_actions_taken_at_resolution=False,
        resolution_plan_issued_at="2026-06-16",
    )
    assert deadlines(d) == [("employer_response", "2026-06-23")]
    assert deadline_rules(d) == {"employer_response": "plan_wait"}
    assert_cited(d, "plan_wait", "CMG step 11")


def test_cmg_plan_wait_is_calendar_days_even_over_christmas():
    """CMG step 11: seven days after Tue 22 Dec 2026 is Tue 29 Dec, bank holidays included."""
    d = _review(
        "2026-12-22T18:00:00Z",
        received_at="2026-12-21",
        all_actions_taken_at_resolution=False,
        resolution_plan_issued_at="2026-12-22",
    )
    assert deadlines(d) == [("employer_response", "2026-12-29")]


def test_cmg_employer_response_ends_once_resolution_actions_are_complete():
    """CMG steps 13, 16: actions complete, the wait is over; seek the employer's agreement."""
    d = _review(
        "2026-06-30T10:00:00Z",
        all_actions_taken_at_resolution=False,
        resolution_plan_issued_at="2026-06-16",
        resolution_actions_complete=True,
    )
    assert deadlines(d) == []
    assert "plan" not in reason_rules(d)
    assert d.outcome.eligibility == {"close": False}
    assert action_codes(d)[-1] == "seek_employer_agreement"
    assert d.outcome.disposition == "accept"
    assert_cited(d, "closable", "CMG intro, steps 13, 16")


def test_cmg_all_actions_taken_and_employer_agrees_closes_with_cmsl8506():
    """CMG intro, steps 13, 16: the employer agrees it is resolved, so close with CMSL8506."""
    d = _review(all_actions_taken_at_resolution=True, employer_agrees_resolved=True)
    assert d.outcome.disposition == "close"
    assert d.outcome.stage == "review"
    assert d.outcome.eligibility == {"close": True}
    assert actions(d)[-1] == ("issue_letter", "CMSL8506")
    assert reason_rules(d) == ["review", "acknowledge", "closable"]


def test_cmg_compensation_paid_closes_and_ends_the_employer_response_deadline():
    """CMG intro, steps 13, 16: payment of compensation closes it; the plan's wait ends."""
    d = _review(
        "2026-06-19T10:00:00Z",
        resolution_plan_issued_at="2026-06-16",
        resolution_actions_complete=True,
        compensation_paid=True,
    )
    assert d.outcome.disposition == "close"
    assert deadlines(d) == []


def test_cmg_neither_plan_nor_closure_while_resolution_actions_are_unassessed():
    """CMG steps 9–12 and 13, 16 need `all_actions_taken_at_resolution` known or actions done."""
    d = _review(employer_agrees_resolved=True)
    assert d.outcome.disposition == "accept"
    assert d.outcome.eligibility == {}
    assert reason_rules(d) == ["review", "acknowledge"]


def test_cmg_still_dissatisfied_after_closure_may_go_to_ice():
    """CMG step 17: refer to the Independent Case Examiner."""
    d = _review(dissatisfied_after_closure=True)
    assert d.outcome.eligibility == {"independent_case_examiner": True}
    assert actions(d)[-1] == ("refer_to_ice", None)
    assert_cited(d, "ice", "CMG step 17")


def test_cmg_ice_stands_even_at_resolution_level():
    """CMG step 17: the ICE rule asks only whether the employer remains dissatisfied."""
    d = _complaint(dissatisfied_after_closure=True)
    assert d.outcome.stage == "resolution"
    assert d.outcome.eligibility == {"independent_case_examiner": True}
    assert actions(d) == [("refer_to_ice", None)]
    assert reason_rules(d) == ["resolution_level", "ice"]


def test_cmg_full_review_lists_everything_in_rule_order():
    """CMG intro, step 5 to CMG step 17: actions, flags and reasons follow the table's order."""
    d = _review(
        "2026-06-20T10:00:00Z",
        channel="email",
        previous_complaints=[{"received_at": "2026-01-10"}, {"received_at": "2026-05-02"}],
        additional_costs_claimed=True,
        costs_due_to_cmg_fault=True,
        all_actions_taken_at_resolution=False,
        resolution_plan_issued_at="2026-06-19",
        dissatisfied_after_closure=True,
    )
    assert actions(d) == [
        ("create_service_request", SERVICE_REQUEST),
        ("issue_letter", "CMSL8505"),
        ("consider_account_manager", None),
        ("issue_letter", "CMSL8503"),
        ("create_resolution_plan", None),
        ("issue_letter", "CMSL8504"),
        ("assign_to_employer_payments_team", None),
        ("refer_to_ice", None),
    ]
    assert d.outcome.flags == ["independent_of_employer_payments_team", "repeat_complainer"]
    assert d.outcome.eligibility == {"reimbursement": True, "independent_case_examiner": True}
    # Fri 19 Jun plus seven days.
    assert deadlines(d) == [("employer_response", "2026-06-26")]
    assert reason_rules(d) == [
        "review",
        "acknowledge",
        "repeat_complainer",
        "costs",
        "plan",
        "plan_wait",
        "ice",
    ]


def test_cmg_open_complaint_is_warm_transferred_and_nothing_else_stands():
    """CMG step 1 (exclusive): an open complaint SR means a warm transfer to its handler."""
    d = _review(
        "2026-06-20T10:00:00Z",
        open_complaint_exists=True,
        channel="phone",
        previous_complaints=[{"received_at": "2026-01-10"}, {"received_at": "2026-05-02"}],
        additional_costs_claimed=True,
        all_actions_taken_at_resolution=False,
        resolution_plan_issued_at="2026-06-19",
        dissatisfied_after_closure=True,
    )
    assert d.outcome.disposition == "refer"
    assert (d.outcome.stage, route(d)) == (None, ("open_complaint_team", None))
    assert actions(d) == [("warm_transfer", None)]
    assert (notify(d), deadlines(d), d.outcome.flags, d.outcome.eligibility) == ([], [], [], {})
    assert_cited(d, "open_complaint", "CMG step 1")
    assert reason_rules(d) == ["open_complaint"]


def test_cmg_open_complaint_at_resolution_level_is_also_just_a_transfer():
    """CMG step 1 (exclusive) replaces CMG step 4's route with the open complaint's team."""
    d = _complaint(open_complaint_exists=True)
    assert route(d) == ("open_complaint_team", None)
    assert reason_rules(d) == ["open_complaint"]


def test_cmg_complaint_not_about_payments_uses_the_third_party_procedure():
    """CMG final note (exclusive): only payment related complaints are handled here."""
    d = _review(payment_related=False, all_actions_taken_at_resolution=True)
    assert d.outcome.disposition == "refer"
    assert (d.outcome.stage, d.outcome.route) == (None, None)
    assert actions(d) == [("use_third_party_procedure", None)]
    assert (d.outcome.flags, d.outcome.eligibility) == ([], {})
    assert_cited(d, "not_payment_related", "CMG final note")
    assert reason_rules(d) == ["not_payment_related"]


def test_cmg_both_exclusive_rules_firing_only_the_last_listed_applies():
    """CMG final note over CMG step 1: when both exclusives fire, only the later one stands."""
    d = _review(payment_related=False, open_complaint_exists=True)
    assert d.outcome.disposition == "refer"
    assert actions(d) == [("use_third_party_procedure", None)]
    assert reason_rules(d) == ["not_payment_related"]


def test_cmg_agent_is_handled_like_an_employer():
    """CMG intro, step 5: employer or agent, the review is the same."""
    d = _review(complainant_type="agent")
    assert reason_rules(d) == ["review", "acknowledge"]


def test_cmg_same_facts_give_byte_identical_decisions():
    """CMG intro, step 5: evaluation is deterministic, byte for byte."""
    facts = {
        "received_at": "2026-06-15T08:00:00-07:00",
        "complainant_type": "agent",
        "payment_related": True,
        "channel": "web",
        "previous_complaints": [{"received_at": "2026-01-10"}, {"received_at": "2026-05-02"}],
        "additional_costs_claimed": True,
        "all_actions_taken_at_resolution": True,
    }
    first, second = encoded_twice(POLICY, facts, "2026-06-20T10:00:00Z")
    assert first == second


def test_cmg_required_facts_and_enums_are_checked_together():
    """CMG step 1, final note: complainant type and payment relation are required."""
    pointers = bad_pointers(
        POLICY,
        {"received_at": "2026-06-15", "payment_related": "yes", "channel": "fax"},
        "2026-06-16T10:00:00Z",
    )
    assert pointers == {"/facts/complainant_type", "/facts/payment_related", "/facts/channel"}


def test_cmg_previous_complaint_needs_its_received_at():
    """CMG intro: a previous complaint counts by its own received_at, so it must have one."""
    pointers = bad_pointers(
        POLICY,
        {
            "received_at": "2026-06-15",
            "complainant_type": "employer",
            "payment_related": True,
            "previous_complaints": [{"received_at": None, "resolved_at": "2026-03-01"}],
        },
        "2026-06-16T10:00:00Z",
    )
    assert pointers == {"/facts/previous_complaints/0/received_at"}


def test_cmg_plan_issued_in_the_future_is_a_bad_request():
    """CMG step 11: a plan issued after as_of's London date has not been issued."""
    pointers = bad_pointers(
        POLICY,
        {
            "received_at": "2026-06-15",
            "complainant_type": "employer",
            "payment_related": True,
            "resolution_plan_issued_at": "2026-06-17",
        },
        "2026-06-16T22:59:00Z",  # 23:59 BST on 16 Jun
    )
    assert pointers == {"/facts/resolution_plan_issued_at"}


# -- Version 2 -------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["letter", "email", "web"])
def test_cmg_v2_open_complaint_by_correspondence_is_assigned_to_the_handling_team(channel):
    """CMG step 1 (version 2, item 8): "All other forms of correspondence will be assigned to
    the team dealing with the complaint." Only a phone call is warm transferred."""
    d = _review(open_complaint_exists=True, channel=channel)
    assert d.outcome.disposition == "refer"
    assert route(d) == ("open_complaint_team", None)
    assert actions(d) == [("assign_to_handling_team", None)]
    assert reason_rules(d) == ["open_complaint"]
    assert_cited(d, "open_complaint", "CMG step 1")


def test_cmg_v2_the_employer_response_is_a_window():
    """CMG step 11 (version 2, item 1): "Set the SR status to Wait and allow seven days for a
    response to be received" — the employer may respond until it: a window, no status."""
    d = _review(all_actions_taken_at_resolution=False, resolution_plan_issued_at="2026-06-16")
    assert deadline_states(d) == [("employer_response", "window", "2026-06-23", None, None)]


def test_cmg_v2_acts_can_hold_only_null_members():
    """POLICIES.md "bad acts": CMG has no obligation deadline, so `acts` holds only nulls."""
    d = _review(acts={"employer_response": None, "anything": None})
    assert d.outcome.disposition == "accept"
    messages = refused(
        POLICY,
        {
            "received_at": "2026-06-01",
            "complainant_type": "employer",
            "payment_related": True,
            "acts": {"employer_response": "2026-06-02"},
        },
        "2026-06-15T12:00:00Z",
    )
    assert set(messages) == {"/facts/acts/employer_response"}
    assert "none" in messages["/facts/acts/employer_response"]
