"""The `wme` policy (West Midlands Employers complaints policy), read as worked examples.

Calendar england-and-wales, time zone Europe/London. Working days in the comments are counted
by hand: 2026 bank holidays used here are Good Friday 3 Apr, Easter Monday 6 Apr, Early May
4 May, Christmas Fri 25 Dec, Boxing Day observed Mon 28 Dec, and New Year Fri 1 Jan 2027.
"""

from __future__ import annotations

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

import rules

POLICY = "wme"


def test_wme_compliment_is_shared_with_relevant_staff():
    """WME 3 Stage 1: a compliment is feedback, shared with the relevant staff."""
    d = decide(POLICY, "2026-03-02T12:00:00Z", received_at="2026-03-02", kind="compliment")
    assert d.outcome.disposition == "accept"
    assert d.outcome.stage == "feedback"
    assert route(d) == ("relevant_staff", None)
    assert actions(d) == [("share_feedback", None)]
    assert_cited(d, "feedback", "WME 3 Stage 1")
    assert reason_rules(d) == ["feedback", "acknowledge"]


def test_wme_acknowledge_within_five_working_days():
    """WME 3, 5.1: every communication is acknowledged within 5 working days."""
    d = decide(POLICY, "2026-03-02T12:00:00Z", received_at="2026-03-02", kind="suggestion")
    # 5 working days after Mon 2026-03-02: 3, 4, 5, 6, 9 Mar
    assert deadlines(d) == [("acknowledge", "2026-03-09")]
    assert deadline_rules(d) == {"acknowledge": "acknowledge"}
    assert_cited(d, "acknowledge", "WME 3, 5.1")


def test_wme_acknowledge_straddles_christmas_and_new_year():
    """WME 3, 5.1 and WME 1.3: a concern on Christmas Eve is acknowledged after the holidays."""
    d = decide(POLICY, "2026-12-24T15:00:00Z", received_at="2026-12-24", kind="concern")
    # 5 working days after Thu 2026-12-24: (25 Christmas, 28 Boxing Day observed) 29, 30, 31 Dec,
    # (1 Jan New Year) 4, 5 Jan
    assert deadlines(d) == [("acknowledge", "2027-01-05")]


def test_wme_concern_is_resolved_informally_by_the_staff_member():
    """WME 1.3: a concern goes to the staff member, their line manager is told."""
    d = decide(POLICY, "2026-03-02T12:00:00Z", received_at="2026-03-02", kind="concern")
    assert d.outcome.disposition == "accept"
    assert d.outcome.stage == "informal"
    assert route(d) == ("staff_member", None)
    assert notify(d) == [("line_manager", None)]
    assert actions(d) == [("resolve_informally", None)]
    assert_cited(d, "concern", "WME 1.3")
    assert reason_rules(d) == ["acknowledge", "concern"]


def test_wme_complaint_over_easter_gets_stage_two_deadlines_in_due_order():
    """WME 3 Stage 2: outcome in 15 working days; a complex one gets a holding letter at 10."""
    d = decide(
        POLICY,
        "2026-03-30T09:00:00+01:00",
        received_at="2026-03-27",
        kind="complaint",
        complex=True,
        in_writing=True,
    )
    assert d.outcome.disposition == "accept"
    assert d.outcome.stage == "stage_2"
    assert route(d) == ("service_manager", None)
    # Working days after Fri 2026-03-27: 30, 31 Mar, 1, 2 Apr, (3 Good Friday, 6 Easter Monday)
    # 7 Apr = 5th; 8, 9, 10, 13, 14 Apr = 10th; 15, 16, 17, 20, 21 Apr = 15th
    assert deadlines(d) == [
        ("acknowledge", "2026-04-07"),
        ("holding_letter", "2026-04-14"),
        ("outcome", "2026-04-21"),
    ]
    assert deadline_rules(d) == {
        "acknowledge": "acknowledge",
        "holding_letter": "holding_letter",
        "outcome": "complaint",
    }
    assert_cited(d, "complaint", "WME 3 Stage 2")
    assert_cited(d, "holding_letter", "WME 3 Stage 2")
    assert reason_rules(d) == ["acknowledge", "complaint", "advise_investigator", "holding_letter"]


def test_wme_simple_complaint_has_no_holding_letter():
    """WME 3 Stage 2: the holding letter is only for a complex complaint."""
    d = decide(POLICY, "2026-03-30T09:00:00Z", received_at="2026-03-27", kind="complaint")
    assert [name for name, _ in deadlines(d)] == ["acknowledge", "outcome"]
    assert "holding_letter" not in reason_rules(d)


def test_wme_complaint_not_in_writing_asks_for_written_details():
    """WME 3 Stage 1: a formal complaint should be set out in writing."""
    spoken = decide(POLICY, "2026-03-30T09:00:00Z", received_at="2026-03-27", kind="complaint")
    assert actions(spoken) == [("advise_investigator", None), ("request_written_details", None)]
    assert_cited(spoken, "in_writing", "WME 3 Stage 1, 2.4")
    written = decide(
        POLICY, "2026-03-30T09:00:00Z", received_at="2026-03-27", kind="complaint", in_writing=True
    )
    assert actions(written) == [("advise_investigator", None)]
    assert "in_writing" not in reason_rules(written)


def test_wme_received_just_after_midnight_in_london_counts_from_the_london_date():
    """WME 3, 5.1: a date-time is turned into its Europe/London date before counting."""
    # 2026-06-30T23:30Z is 00:30 BST on Wed 1 July.
    d = decide(
        POLICY, "2026-07-01T10:00:00Z", received_at="2026-06-30T23:30:00+00:00", kind="comment"
    )
    # 5 working days after Wed 2026-07-01: 2, 3, 6, 7, 8 Jul
    assert deadlines(d) == [("acknowledge", "2026-07-08")]


def test_wme_received_late_sunday_evening_in_london_from_plus_five_hours():
    """WME 3, 5.1: 01:30 on Monday at +05:00 is still Sunday evening in London."""
    # 2026-03-02T01:30+05:00 = Sun 2026-03-01 20:30 GMT; 5 working days after: 2, 3, 4, 5, 6 Mar
    d = decide(
        POLICY, "2026-03-02T12:00:00Z", received_at="2026-03-02T01:30:00+05:00", kind="comment"
    )
    assert deadlines(d) == [("acknowledge", "2026-03-06")]


def test_wme_anonymous_and_abusive_are_flagged_in_rule_order():
    """WME 2.4 and WME 5.2: anonymous limits action; abuse may limit us to an acknowledgement."""
    d = decide(
        POLICY,
        "2026-03-02T12:00:00Z",
        received_at="2026-03-02",
        kind="complaint",
        in_writing=True,
        anonymous=True,
        abusive=True,
    )
    assert d.outcome.flags == ["anonymous_limited_action", "may_limit_to_acknowledgement"]
    assert_cited(d, "anonymous", "WME 2.4")
    assert_cited(d, "abusive", "WME 5.2")


@pytest.mark.parametrize(
    ("category", "where"),
    [
        ("government_policy", "government_department"),
        ("political_party", "political_party"),
        ("local_authority", "local_authority"),
        ("third_party_provider", "service_provider"),
    ],
)
def test_wme_out_of_jurisdiction_advises_where_to_complain(category: str, where: str):
    """WME 2.3: outside our jurisdiction, we say to whom the complaint should go."""
    d = decide(
        POLICY,
        "2026-03-02T12:00:00Z",
        received_at="2026-03-02",
        kind="complaint",
        category=category,
    )
    assert d.outcome.disposition == "out_of_jurisdiction"
    assert actions(d) == [("advise_where_to_complain", where)]
    assert_cited(d, "out_of_jurisdiction", "WME 2.3")


def test_wme_out_of_jurisdiction_keeps_only_acknowledge_anonymous_and_abusive():
    """WME 2.3 (exclusive): every other conclusion is discarded and left out of the reasons."""
    d = decide(
        POLICY,
        "2026-03-30T09:00:00Z",
        received_at="2026-03-27",
        kind="complaint",
        category="local_authority",
        complex=True,
        upheld=True,
        about_chief_executive=True,
        anonymous=True,
        abusive=True,
    )
    assert d.outcome.disposition == "out_of_jurisdiction"
    assert d.outcome.stage is None
    assert d.outcome.route is None
    assert notify(d) == []
    # acknowledge stays (5 working days after Fri 27 Mar: 30, 31 Mar, 1, 2, 7 Apr over Easter);
    # the complaint's outcome and holding letter go with it.
    assert deadlines(d) == [("acknowledge", "2026-04-07")]
    # request_written_details and offer_apology are discarded.
    assert actions(d) == [("advise_where_to_complain", "local_authority")]
    assert action_rules(d) == [("advise_where_to_complain", "out_of_jurisdiction")]
    assert d.outcome.flags == ["anonymous_limited_action", "may_limit_to_acknowledgement"]
    assert d.outcome.eligibility == {}
    assert reason_rules(d) == ["acknowledge", "anonymous", "abusive", "out_of_jurisdiction"]


def test_wme_out_of_jurisdiction_after_the_outcome_keeps_nothing_but_its_own_advice():
    """WME 2.3 (exclusive) with WME 3, 5.1 ended: once the outcome is known, no acknowledge."""
    d = decide(
        POLICY,
        "2026-03-25T12:00:00Z",
        received_at="2026-03-02",
        kind="complaint",
        category="third_party_provider",
        stage_two_outcome_at="2026-03-20",
    )
    assert d.outcome.disposition == "out_of_jurisdiction"
    # appeal_window would stand for the complaint, but the exclusive rule discards it.
    assert (deadlines(d), d.outcome.eligibility) == ([], {})
    assert reason_rules(d) == ["out_of_jurisdiction"]


def test_wme_concern_about_government_policy_is_out_of_jurisdiction():
    """WME 2.3 over WME 1.3: the concern's stage, route and line manager are discarded."""
    d = decide(
        POLICY,
        "2026-03-02T12:00:00Z",
        received_at="2026-03-02",
        kind="concern",
        category="government_policy",
    )
    assert d.outcome.disposition == "out_of_jurisdiction"
    assert (d.outcome.stage, d.outcome.route, notify(d)) == (None, None, [])
    assert actions(d) == [("advise_where_to_complain", "government_department")]
    assert reason_rules(d) == ["acknowledge", "out_of_jurisdiction"]


@pytest.mark.parametrize("kind", ["compliment", "suggestion", "comment"])
def test_wme_v2_out_of_jurisdiction_whatever_the_kind(kind: str):
    """WME 2.3 (version 2, item 3): "If we are unable to respond to a complaint because it is
    outside our jurisdiction, we will let you know [...] Examples include; • A query or comment
    about government policy": the row applies to feedback too."""
    d = decide(
        POLICY,
        "2026-03-02T12:00:00Z",
        received_at="2026-03-02",
        kind=kind,
        category="government_policy",
        acts={"acknowledge": "2026-03-02"},
    )
    assert d.outcome.disposition == "out_of_jurisdiction"
    assert (d.outcome.stage, d.outcome.route) == (None, None)
    assert actions(d) == [("advise_where_to_complain", "government_department")]
    # Exclusive: the feedback row and the closing row "feedback shared" are discarded.
    assert reason_rules(d) == ["acknowledge", "out_of_jurisdiction"]


@pytest.mark.parametrize("category", ["misconduct", "whistleblowing", "fraud"])
def test_wme_serious_complaint_goes_to_chief_executive(category: str):
    """WME 4.2: misconduct, whistleblowing, fraud go to the Chief Executive, maybe the Board."""
    d = decide(
        POLICY,
        "2026-03-02T12:00:00Z",
        received_at="2026-03-02",
        kind="complaint",
        in_writing=True,
        category=category,
    )
    assert d.outcome.stage == "stage_2"
    assert route(d) == ("chief_executive", None)
    assert d.outcome.flags == ["serious"]
    assert d.outcome.eligibility == {"board_escalation": True}
    assert_cited(d, "serious", "WME 4.2")


def test_wme_complaint_about_chief_executive_goes_to_a_director_with_chair_and_vice_chair():
    """WME 3 Stage 1, 4.3: a complaint about the Chief Executive goes to a Director."""
    d = decide(
        POLICY,
        "2026-03-02T12:00:00Z",
        received_at="2026-03-02",
        kind="complaint",
        in_writing=True,
        about_chief_executive=True,
    )
    assert route(d) == ("director", None)
    assert notify(d) == [("chair", None), ("vice_chair", None)]
    assert_cited(d, "about_chief_executive", "WME 3 Stage 1, 4.3")


def test_wme_serious_complaint_about_chief_executive_later_rule_wins_the_route():
    """WME 4.2 then WME 3 Stage 1, 4.3: the later rule's route (director) wins; both stand."""
    d = decide(
        POLICY,
        "2026-03-02T12:00:00Z",
        received_at="2026-03-02",
        kind="complaint",
        in_writing=True,
        category="fraud",
        about_chief_executive=True,
    )
    assert route(d) == ("director", None)
    assert d.outcome.flags == ["serious"]
    assert d.outcome.eligibility == {"board_escalation": True}
    assert reason_rules(d) == [
        "acknowledge",
        "complaint",
        "advise_investigator",
        "serious",
        "about_chief_executive",
    ]


def test_wme_v2_concern_about_chief_executive_is_a_formal_complaint_for_a_director():
    """WME 4.3 (version 2, item 2): "If the complaint is about the Chief Executive, the complaint
    should be sent to a Director, who will investigate the matter with the Chair and Vice Chair
    of the WME Management Board." A concern about the CE is handled as a formal complaint."""
    d = decide(
        POLICY,
        "2026-03-02T12:00:00Z",
        received_at="2026-03-02",
        kind="concern",
        in_writing=True,
        about_chief_executive=True,
    )
    assert (d.outcome.disposition, d.outcome.stage) == ("accept", "stage_2")
    assert route(d) == ("director", None)
    assert notify(d) == [("chair", None), ("vice_chair", None)]
    assert "concern" not in reason_rules(d)
    assert "resolve_informally" not in action_codes(d)


def test_wme_upheld_complaint_offers_an_apology_after_written_details_in_rule_order():
    """WME 3 Stage 2: where the complaint is upheld an apology is offered."""
    d = decide(
        POLICY, "2026-03-02T12:00:00Z", received_at="2026-03-02", kind="complaint", upheld=True
    )
    assert action_codes(d) == [
        "advise_investigator",
        "request_written_details",
        "offer_apology",
        "explain_prevention",
    ]
    assert_cited(d, "upheld", "WME 3 Stage 2, 5.1")


def _after_outcome(as_of: str, **more: object):
    """A complaint received Mon 16 Mar 2026 whose stage-two outcome came Thu 2 Apr 2026."""
    return decide(
        POLICY,
        as_of,
        received_at="2026-03-16",
        kind="complaint",
        in_writing=True,
        stage_two_outcome_at="2026-04-02",
        **more,
    )


# 10 working days after Thu 2026-04-02: (3 Good Friday, 6 Easter Monday) 7, 8, 9, 10, 13, 14,
# 15, 16, 17, 20 Apr -> the appeal window closes Mon 2026-04-20.


def test_wme_appeal_window_open_until_its_last_minute_in_london():
    """WME 3 Stage 2: appeal within ten working days of the outcome; stage-two deadlines end."""
    # 22:59:59Z on 20 Apr is 23:59:59 BST, still the last day of the window.
    d = _after_outcome("2026-04-20T22:59:59Z")
    assert deadlines(d) == [("appeal_window_closes", "2026-04-20")]
    assert d.outcome.eligibility == {"appeal": True}
    assert d.outcome.stage == "stage_2"
    assert_cited(d, "appeal_window", "WME 3 Stage 2")
    assert "acknowledge" not in reason_rules(d)


def test_wme_appeal_window_closed_from_london_midnight():
    """WME 3 Stage 2: at 00:00 BST on 21 Apr (23:00Z on the 20th) the window has closed."""
    d = _after_outcome("2026-04-20T23:00:00Z")
    assert d.outcome.eligibility == {"appeal": False}
    assert deadlines(d) == [("appeal_window_closes", "2026-04-20")]


def test_wme_appeal_on_last_day_goes_to_director_at_stage_three():
    """WME 3 Stage 3: the Director acknowledges in 3 and decides in 10 working days."""
    d = _after_outcome("2026-04-21T09:00:00Z", appeal_requested_at="2026-04-20")
    assert d.outcome.disposition == "accept"
    assert d.outcome.stage == "stage_3"
    assert route(d) == ("director", None)
    # After Mon 2026-04-20: 21, 22, 23 Apr = 3rd; 24, 27, 28, 29, 30 Apr, 1 May,
    # (4 May Early May bank holiday) 5 May = 10th. The appeal window has ended.
    assert deadlines(d) == [
        ("appeal_acknowledge", "2026-04-23"),
        ("appeal_decision", "2026-05-05"),
    ]
    assert deadline_rules(d) == {"appeal_acknowledge": "appeal", "appeal_decision": "appeal"}
    assert d.outcome.eligibility == {"appeal": True}
    assert d.outcome.flags == ["final_decision"]
    assert_cited(d, "appeal", "WME 3 Stage 3")
    assert reason_rules(d) == ["complaint", "appeal"]


def test_wme_appeal_after_serious_complaint_later_rule_wins_stage_and_route():
    """WME 4.2 then WME 3 Stage 3: the appeal's stage_3/director beat stage_2/chief_executive."""
    d = _after_outcome("2026-04-21T09:00:00Z", appeal_requested_at="2026-04-10", category="fraud")
    assert (d.outcome.stage, route(d)) == ("stage_3", ("director", None))
    assert d.outcome.flags == ["serious", "final_decision"]
    assert d.outcome.eligibility == {"board_escalation": True, "appeal": True}


def test_wme_late_appeal_is_not_eligible_and_keeps_stage_and_route():
    """WME 3 Stage 2: an appeal after the ten working days is not eligible."""
    d = _after_outcome("2026-04-22T09:00:00Z", appeal_requested_at="2026-04-21", category="fraud")
    assert d.outcome.disposition == "not_eligible"
    assert d.outcome.stage == "stage_2"
    assert route(d) == ("chief_executive", None)
    assert d.outcome.eligibility == {"board_escalation": True, "appeal": False}
    # Every deadline has ended: the outcome is known and the appeal has been requested.
    assert deadlines(d) == []
    assert_cited(d, "late_appeal", "WME 3 Stage 2")
    assert "appeal" not in reason_rules(d)
    assert "appeal_window" not in reason_rules(d)


def test_wme_appeal_date_time_is_judged_by_its_london_date():
    """WME 3 Stage 2: an appeal instant is turned into its Europe/London date first."""
    # 00:30 at +02:00 on 21 Apr = 23:30 BST on Mon 20 Apr: in time.
    in_time = _after_outcome(
        "2026-04-22T09:00:00Z", appeal_requested_at="2026-04-21T00:30:00+02:00"
    )
    assert in_time.outcome.stage == "stage_3"
    assert deadlines(in_time)[0] == ("appeal_acknowledge", "2026-04-23")
    # 23:30 at -05:00 on 20 Apr = 05:30 BST on Tue 21 Apr: one day late.
    late = _after_outcome("2026-04-22T09:00:00Z", appeal_requested_at="2026-04-20T23:30:00-05:00")
    assert late.outcome.disposition == "not_eligible"


def test_wme_default_disposition_is_accept_and_as_of_is_recorded_in_utc():
    """WME 3 Stage 2: a plain complaint is accepted; the decision records as_of in UTC."""
    d = decide(POLICY, "2026-04-20T10:00:00+01:00", received_at="2026-04-20", kind="complaint")
    assert d.outcome.disposition == "accept"
    assert d.as_of == "2026-04-20T09:00:00Z"
    assert d.policy == POLICY
    assert (d.decision_id, d.case_id) == ("", None)
    # Fractions of a second are written only when there are some.
    d = decide(POLICY, "2026-04-20T10:00:00.5+01:00", received_at="2026-04-20", kind="complaint")
    assert d.as_of == "2026-04-20T09:00:00.500000Z"


def test_wme_same_facts_give_byte_identical_decisions():
    """WME 2.3, 4.2: evaluation is deterministic, byte for byte."""
    facts = {
        "received_at": "2026-03-27T16:45:00+00:00",
        "kind": "complaint",
        "category": "whistleblowing",
        "complex": True,
        "anonymous": True,
        "about_chief_executive": True,
    }
    first, second = encoded_twice(POLICY, facts, "2026-03-30T09:00:00Z")
    assert first == second


def test_wme_appeal_without_an_outcome_is_a_bad_request():
    """WME 3 Stage 2: an appeal needs a stage-two outcome to appeal from."""
    pointers = bad_pointers(
        POLICY,
        {"received_at": "2026-03-16", "kind": "complaint", "appeal_requested_at": "2026-04-10"},
        "2026-04-21T09:00:00Z",
    )
    assert pointers & {"/facts/appeal_requested_at", "/facts/stage_two_outcome_at"}


def test_wme_appeal_before_the_outcome_date_is_a_bad_request():
    """WME 3 Stage 2: an appeal on a London date before the outcome's is refused."""
    pointers = bad_pointers(
        POLICY,
        {
            "received_at": "2026-03-16",
            "kind": "complaint",
            "stage_two_outcome_at": "2026-04-02",
            # 23:30 BST on 1 Apr: the day before the outcome.
            "appeal_requested_at": "2026-04-01T22:30:00Z",
        },
        "2026-04-21T09:00:00Z",
    )
    assert pointers & {"/facts/appeal_requested_at", "/facts/stage_two_outcome_at"}


def test_wme_appeal_on_the_outcome_date_is_accepted():
    """WME 3 Stage 3: an appeal the same day as the outcome is in time."""
    d = _after_outcome("2026-04-02T18:00:00Z", appeal_requested_at="2026-04-02")
    assert d.outcome.stage == "stage_3"
    # Dates are compared, not instants: an hour before the outcome, on the same London day.
    d = decide(
        POLICY,
        "2026-04-02T18:00:00Z",
        received_at="2026-03-16",
        kind="complaint",
        stage_two_outcome_at="2026-04-02T12:00:00+01:00",
        appeal_requested_at="2026-04-02T11:00:00+01:00",
    )
    assert d.outcome.stage == "stage_3"


def test_wme_every_offending_field_is_named():
    """WME facts: missing kind, unknown fact, bad enum, bool as string, no offset, bad as_of."""
    pointers = bad_pointers(
        POLICY,
        {
            "received_at": "2026-03-02T10:00:00",
            "category": "weather",
            "anonymous": "yes",
            "colour": "blue",
        },
        "2026-03-02",
    )
    assert pointers == {
        "/facts/received_at",
        "/facts/kind",
        "/facts/category",
        "/facts/anonymous",
        "/facts/colour",
        "/as_of",
    }


def test_wme_impossible_date_is_a_bad_request():
    """WME 3 Stage 2: 30 February does not exist."""
    pointers = bad_pointers(
        POLICY,
        {"received_at": "2026-01-10", "kind": "complaint", "stage_two_outcome_at": "2026-02-30"},
        "2026-03-02T12:00:00Z",
    )
    assert pointers == {"/facts/stage_two_outcome_at"}


def test_wme_fact_from_the_future_is_judged_against_the_london_date_of_as_of():
    """WME 3, 5.1: a date later than as_of's London date is a bad request; the same date is not."""
    # 22:30Z on 1 May is 23:30 BST on 1 May: a received_at of 2 May is in the future.
    pointers = bad_pointers(
        POLICY, {"received_at": "2026-05-02", "kind": "comment"}, "2026-05-01T22:30:00Z"
    )
    assert pointers == {"/facts/received_at"}
    # 23:30Z on 1 May is 00:30 BST on 2 May: the same date, accepted.
    d = decide(POLICY, "2026-05-01T23:30:00Z", received_at="2026-05-02", kind="comment")
    # 5 working days after Sat 2026-05-02: (4 May bank holiday) 5, 6, 7, 8, 11 May
    assert deadlines(d) == [("acknowledge", "2026-05-11")]


def test_wme_null_facts_are_absent():
    """WME 3 Stage 2: a null boolean is its default (false), a null category is `other`."""
    d = decide(
        POLICY,
        "2026-03-02T12:00:00Z",
        received_at="2026-03-02",
        kind="complaint",
        category=None,
        in_writing=None,
        stage_two_outcome_at=None,
    )
    assert route(d) == ("service_manager", None)
    assert action_codes(d) == ["advise_investigator", "request_written_details"]


def test_wme_unknown_policy_is_a_lookup_error():
    with pytest.raises(rules.UnknownPolicy):
        rules.evaluate(
            "wmx", {"received_at": "2026-03-02", "kind": "comment"}, "2026-03-02T12:00:00Z"
        )
    assert issubclass(rules.UnknownPolicy, LookupError)


# -- Version 2 -------------------------------------------------------------------------------


@pytest.mark.parametrize("category", ["misconduct", "whistleblowing", "fraud"])
def test_wme_v2_concern_about_misconduct_is_a_formal_complaint(category: str):
    """WME 4.2 (version 2, item 2): "For complaints of a more serious nature relating to
    misconduct, whistleblowing, potential fraud etc, these should be reported to the Chief
    Executive." A concern about it is a formal complaint: every complaint row applies to it and
    the informal `concern` row does not."""
    d = decide(
        POLICY, "2026-03-02T12:00:00Z", received_at="2026-03-02", kind="concern", category=category
    )
    assert (d.outcome.disposition, d.outcome.stage) == ("accept", "stage_2")
    assert route(d) == ("chief_executive", None)
    assert notify(d) == []
    assert d.outcome.flags == ["serious"]
    assert d.outcome.eligibility == {"board_escalation": True}
    # 5 and 15 working days after Mon 2 Mar 2026: 9 Mar and 23 Mar.
    assert deadlines(d) == [("acknowledge", "2026-03-09"), ("outcome", "2026-03-23")]
    assert action_codes(d) == ["advise_investigator", "request_written_details"]
    assert reason_rules(d) == [
        "acknowledge",
        "complaint",
        "advise_investigator",
        "in_writing",
        "serious",
    ]


def test_wme_v2_an_ordinary_concern_is_still_informal():
    """WME 1.3: "If you have any concerns about our work, please tell our staff or their manager
    as soon as possible, so they can quickly understand your concerns and try to put things
    right." A concern about delay is not a formal complaint."""
    d = decide(
        POLICY, "2026-03-02T12:00:00Z", received_at="2026-03-02", kind="concern", category="delay"
    )
    assert (d.outcome.stage, route(d)) == ("informal", ("staff_member", None))
    assert action_codes(d) == ["resolve_informally"]


def test_wme_v2_an_anonymous_complaint_is_not_asked_for_written_details():
    """WME 2.4 (version 2, item 4): "Complaints received anonymously will be recorded and
    considered, but action may be limited if further information is required": there is no one
    to ask for the details in writing."""
    d = decide(
        POLICY, "2026-03-02T12:00:00Z", received_at="2026-03-02", kind="complaint", anonymous=True
    )
    assert "request_written_details" not in action_codes(d)
    assert "in_writing" not in reason_rules(d)
    assert d.outcome.flags == ["anonymous_limited_action"]


def test_wme_v2_the_acknowledgement_advises_who_will_investigate():
    """WME 3 Stage 1 (version 2, item 6): "We will acknowledge your communication within 5
    working days and advise who will be investigating the complaint"; once the outcome is known
    there is nothing left to advise."""
    d = decide(
        POLICY, "2026-03-02T12:00:00Z", received_at="2026-03-02", kind="complaint", in_writing=True
    )
    assert action_rules(d) == [("advise_investigator", "advise_investigator")]
    assert_cited(d, "advise_investigator", "WME 3 Stage 1")
    after = _after_outcome("2026-04-03T09:00:00Z")
    assert "advise_investigator" not in action_codes(after)


def test_wme_v2_final_date_of_a_holding_letter_is_the_outcome_due():
    """WME 3 Stage 2 (version 2, item 5): "Should this be the case a holding letter/email will
    be sent after ten working days and a final date given for a response." The final date is a
    promise, so it may be later than as_of."""
    d = decide(
        POLICY,
        "2026-03-30T09:00:00Z",
        received_at="2026-03-27",
        kind="complaint",
        in_writing=True,
        complex=True,
        final_date="2026-05-29",
    )
    assert deadlines(d) == [
        ("acknowledge", "2026-04-07"),
        ("holding_letter", "2026-04-14"),
        ("outcome", "2026-05-29"),
    ]
    assert deadline_rules(d)["outcome"] == "complaint"


def test_wme_v2_final_date_needs_a_complex_complaint_and_cannot_precede_receipt():
    """WME 3 Stage 2: "Occasionally investigations may take longer, particularly if the
    complaint is complex" — a final date without `complex`, before receipt, or not a bare date
    is a bad request."""
    base = {"received_at": "2026-03-27", "kind": "complaint"}
    assert set(refused(POLICY, {**base, "final_date": "2026-05-29"}, "2026-03-30T09:00:00Z")) == {
        "/facts/final_date"
    }
    early = {**base, "complex": True, "final_date": "2026-03-26"}
    assert set(refused(POLICY, early, "2026-03-30T09:00:00Z")) == {"/facts/final_date"}
    timed = {**base, "complex": True, "final_date": "2026-05-29T09:00:00Z"}
    messages = refused(POLICY, timed, "2026-03-30T09:00:00Z")
    assert "YYYY-MM-DD" in messages["/facts/final_date"]


def test_wme_v2_outcome_notice_tells_the_result_and_the_right_of_appeal():
    """WME 5.1 (version 2, item 6): "Notify the complainant of the results of the investigation
    and any right of appeal"."""
    d = _after_outcome("2026-04-03T09:00:00Z")
    assert action_rules(d) == [("inform_outcome_and_appeal_right", "outcome_notice")]
    assert_cited(d, "outcome_notice", "WME 3 Stage 2, 5.1")
    appealed = _after_outcome("2026-04-10T09:00:00Z", appeal_requested_at="2026-04-09")
    assert "inform_outcome_and_appeal_right" not in action_codes(appealed)


def test_wme_v2_upheld_explains_how_recurrence_is_prevented():
    """WME 5.1 (version 2, item 6): "Inform the complainant of any action that will be
    implemented to ensure there is no reoccurrence"."""
    d = _after_outcome("2026-04-03T09:00:00Z", upheld=True)
    assert action_rules(d) == [
        ("offer_apology", "upheld"),
        ("explain_prevention", "upheld"),
        ("inform_outcome_and_appeal_right", "outcome_notice"),
    ]


def test_wme_v2_the_appeal_letter_lists_further_options():
    """WME 3 Stage 3 (version 2, item 6): "other options for appropriate further escalation
    should be detailed in the letter to the complainant"."""
    d = _after_outcome("2026-04-21T09:00:00Z", appeal_requested_at="2026-04-20")
    assert action_rules(d) == [("list_further_options", "appeal")]


def test_wme_v2_closed_after_outcome_once_the_appeal_window_has_passed():
    """WME 3 Stage 2 (version 2, item 11): "you can appeal within ten working days of the date
    of the outcome"; once that has passed with no appeal the complaint closes, keeping its stage
    and route. The window (closing Mon 20 Apr) stays listed: only an appeal ends it."""
    open_ = _after_outcome("2026-04-20T22:59:59Z")
    assert open_.outcome.disposition == "accept"
    closed = _after_outcome("2026-04-20T23:00:00Z")
    assert closed.outcome.disposition == "close"
    assert (closed.outcome.stage, route(closed)) == ("stage_2", ("service_manager", None))
    assert deadline_states(closed) == [("appeal_window_closes", "window", "2026-04-20", None, None)]
    assert_cited(closed, "closed_after_outcome", "WME 3 Stage 2")
    assert reason_rules(closed)[-1] == "closed_after_outcome"


def test_wme_v2_stage_three_decision_is_final_and_closes_the_case():
    """WME 3 Stage 3 (version 2, item 11): "The complainant should be informed in writing of the
    outcome of stage three, the decision reached about this complaint will then be final". The
    appeal's deadlines end; stage, route and the final_decision flag stay."""
    d = _after_outcome(
        "2026-05-01T09:00:00Z",
        appeal_requested_at="2026-04-20",
        stage_three_outcome_at="2026-04-30",
        acts={"appeal_acknowledge": "2026-04-22"},
    )
    assert d.outcome.disposition == "close"
    assert (d.outcome.stage, route(d)) == ("stage_3", ("director", None))
    assert d.outcome.flags == ["final_decision"]
    assert deadlines(d) == []
    assert_cited(d, "stage_3_decided", "WME 3 Stage 3")
    assert reason_rules(d) == ["complaint", "appeal", "stage_3_decided"]


def test_wme_v2_a_stage_three_decision_needs_an_appeal_in_time_and_follows_it():
    """WME 3 Stage 3: "you may request in writing that the issue be considered by the Director"
    — a decision without an appeal, after a late appeal, or dated before the appeal is refused."""
    base = {
        "received_at": "2026-03-16",
        "kind": "complaint",
        "stage_two_outcome_at": "2026-04-02",
    }
    as_of = "2026-05-01T09:00:00Z"
    no_appeal = {**base, "stage_three_outcome_at": "2026-04-30"}
    assert "/facts/stage_three_outcome_at" in refused(POLICY, no_appeal, as_of)
    late = {**no_appeal, "appeal_requested_at": "2026-04-21"}
    assert set(refused(POLICY, late, as_of)) == {"/facts/stage_three_outcome_at"}
    before = {**base, "appeal_requested_at": "2026-04-20", "stage_three_outcome_at": "2026-04-17"}
    assert set(refused(POLICY, before, as_of)) == {"/facts/stage_three_outcome_at"}


def test_wme_v2_a_concern_put_right_informally_closes():
    """WME 1.3 (version 2, item 11): staff "try to put things right"; a concern put right is
    closed, keeping its informal stage and route. `resolved` does not close a formal complaint."""
    d = decide(
        POLICY, "2026-03-04T12:00:00Z", received_at="2026-03-02", kind="concern", resolved=True
    )
    assert d.outcome.disposition == "close"
    assert (d.outcome.stage, route(d)) == ("informal", ("staff_member", None))
    assert_cited(d, "concern_resolved", "WME 1.3")
    formal = decide(
        POLICY,
        "2026-03-04T12:00:00Z",
        received_at="2026-03-02",
        kind="concern",
        category="fraud",
        resolved=True,
    )
    assert formal.outcome.disposition == "accept"
    assert "concern_resolved" not in reason_rules(formal)


def test_wme_v2_feedback_shared_once_acknowledged():
    """WME 3 Stage 1 (version 2, item 11): "A member of our business team will acknowledge
    receipt of your email and take appropriate action to share the compliment or suggestion";
    once acknowledged the compliment's case closes, and its acknowledge deadline stays, met."""
    d = decide(
        POLICY,
        "2026-03-05T12:00:00Z",
        received_at="2026-03-02",
        kind="compliment",
        acts={"acknowledge": "2026-03-04T16:00:00Z"},
    )
    assert d.outcome.disposition == "close"
    assert (d.outcome.stage, route(d)) == ("feedback", ("relevant_staff", None))
    assert deadline_states(d) == [
        ("acknowledge", "obligation", "2026-03-09", "met", "2026-03-04T16:00:00Z")
    ]
    assert_cited(d, "feedback_shared", "WME 3 Stage 1, 1.4, 5.1")


def test_wme_v2_late_appeal_stays_not_eligible_after_the_closing_rows():
    """WME 3 Stage 2: "you can appeal within ten working days of the date of the outcome" —
    the late appeal row stays the last: a late appeal is never closed by a closing row."""
    d = _after_outcome("2026-04-22T09:00:00Z", appeal_requested_at="2026-04-21")
    assert d.outcome.disposition == "not_eligible"
    assert reason_rules(d)[-1] == "late_appeal"
    assert rules.ruleset_document("wme")["rules"][-1]["id"] == "late_appeal"


@pytest.mark.parametrize(
    ("as_of", "act", "status"),
    [
        # acknowledge is due Mon 9 Mar 2026 (5 working days after Mon 2 Mar); London is on GMT.
        ("2026-03-09T23:59:00Z", None, "open"),
        ("2026-03-09T12:00:00Z", None, "open"),
        ("2026-03-10T00:00:00Z", None, "overdue"),
        ("2026-03-10T09:00:00Z", "2026-03-09", "met"),
        ("2026-03-10T09:00:00Z", "2026-03-09T23:30:00Z", "met"),
        ("2026-03-10T09:00:00Z", "2026-03-10", "late"),
    ],
)
def test_wme_v2_acknowledge_obligation_status(as_of: str, act: str | None, status: str):
    """WME 3, 5.1 (version 2, item 1): "All communications will be acknowledged within 5
    working days" — a date deadline compares local dates: met, late, open or overdue."""
    facts: dict = {"received_at": "2026-03-02", "kind": "complaint", "in_writing": True}
    if act is not None:
        facts["acts"] = {"acknowledge": act}
    d = rules.evaluate(POLICY, facts, as_of)
    assert deadline_states(d)[0] == ("acknowledge", "obligation", "2026-03-09", status, act)
    outcome = deadline_states(d)[1]
    assert outcome == ("outcome", "obligation", "2026-03-23", "open", None)


def test_wme_v2_bad_acts_are_named_at_their_pointers():
    """POLICIES.md "bad acts": a key that is not an obligation (a window is not one), a value
    that is not a date, one later than as_of, one before received_at, `acts` not an object."""
    base = {"received_at": "2026-03-02", "kind": "complaint"}
    as_of = "2026-03-10T09:00:00Z"
    messages = refused(
        POLICY,
        {
            **base,
            "acts": {
                "appeal_window_closes": "2026-03-03",
                "a/b~c": "2026-03-03",
                "outcome": 5,
                "holding_letter": "2026-03-11",
                "acknowledge": "2026-03-01",
                "anything_else": None,
            },
        },
        as_of,
    )
    assert set(messages) == {
        "/facts/acts/appeal_window_closes",
        "/facts/acts/a~1b~0c",
        "/facts/acts/outcome",
        "/facts/acts/holding_letter",
        "/facts/acts/acknowledge",
    }
    assert "'acknowledge'" in messages["/facts/acts/a~1b~0c"]
    assert set(refused(POLICY, {**base, "acts": ["acknowledge"]}, as_of)) == {"/facts/acts"}


def test_wme_v2_an_act_for_an_obligation_not_listed_changes_no_deadline():
    """POLICIES.md "acts": a key for an obligation the decision does not list is accepted."""
    d = decide(
        POLICY,
        "2026-03-10T09:00:00Z",
        received_at="2026-03-02",
        kind="complaint",
        in_writing=True,
        acts={"appeal_decision": "2026-03-05", "acknowledge": None},
    )
    assert [s[0] for s in deadline_states(d)] == ["acknowledge", "outcome"]
    assert deadline_states(d)[0][3:] == ("overdue", None)
