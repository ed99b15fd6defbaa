"""The `serco-es` policy (Serco employment services disputes), read as worked examples.

Calendar ontario, time zone America/Toronto. 2026 public holidays used here: New Year Thu 1 Jan,
Family Day Mon 16 Feb, Good Friday 3 Apr, Christmas Fri 25 Dec, Boxing Day observed Mon 28 Dec.
Easter Monday and the Civic Holiday (Mon 3 Aug) are working days.
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

POLICY = "serco-es"
ALL_INFORMATION = ["name", "best_time_to_contact", "details"]


def _client(received_at: str, as_of: str, **more: Any):
    """A client's complaint that gave all the information the seed asks for."""
    facts: dict[str, Any] = {
        "received_at": received_at,
        "complainant_type": "client",
        "information_provided": ALL_INFORMATION,
    }
    facts.update(more)
    return decide(POLICY, as_of, **facts)


def _provider(as_of: str = "2026-02-02T15:00:00-05:00", **more: Any):
    """A service provider's dispute raised Mon 2 Feb 2026."""
    facts: dict[str, Any] = {"received_at": "2026-02-02", "complainant_type": "service_provider"}
    facts.update(more)
    return decide(POLICY, as_of, **facts)


def test_serco_client_complaint_starts_at_the_provider_who_responds_in_one_business_day():
    """Serco clients 2, 5: the provider responds within 1 business day, resolution in writing."""
    d = _client("2026-02-13", "2026-02-13T15:00:00-05:00")
    assert d.outcome.disposition == "accept"
    assert d.outcome.stage == "service_provider"
    assert route(d) == ("service_provider", None)
    # 1 working day after Fri 2026-02-13: (14, 15 weekend, 16 Family Day) 17 Feb
    assert deadlines(d) == [("respond", "2026-02-17")]
    assert deadline_rules(d) == {"respond": "client_at_provider"}
    assert actions(d) == [
        ("track_for_quarterly_report", None),
        ("provide_written_resolution", None),
        ("agree_response_timeline", None),
    ]
    assert_cited(d, "report", "Serco clients 10, SP 9")
    assert_cited(d, "level", "Serco clients 1\u201311, SP 1\u20136")
    assert_cited(d, "client_at_provider", "Serco clients 2, 5")
    assert reason_rules(d) == ["report", "level", "client_at_provider", "client_timeline"]


@pytest.mark.parametrize(
    ("received_at", "respond"),
    [
        # Fri 31 Jul: the Civic Holiday (Mon 3 Aug) is not a public holiday in Ontario.
        ("2026-07-31", "2026-08-03"),
        # Thu 2 Apr: Good Friday 3 Apr is a holiday, Easter Monday 6 Apr is not.
        ("2026-04-02", "2026-04-06"),
        # Thu 24 Dec: Christmas 25 Dec, Boxing Day observed Mon 28 Dec.
        ("2026-12-24", "2026-12-29"),
        # Tue 30 Jun: Canada Day Wed 1 Jul.
        ("2026-06-30", "2026-07-02"),
    ],
)
def test_serco_client_respond_deadline_skips_ontario_public_holidays(received_at, respond):
    """Serco clients 2, 5: business days are Ontario working days."""
    d = _client(received_at, f"{received_at}T23:00:00-05:00")
    assert deadlines(d) == [("respond", respond)]


def test_serco_received_late_on_new_years_day_in_toronto():
    """Serco clients 2, 5: an instant is turned into its Toronto date first."""
    # 04:30Z on 2 Jan = 23:30 EST on Thu 1 Jan (a holiday): next working day Fri 2 Jan.
    late_evening = _client("2026-01-02T04:30:00Z", "2026-01-02T12:00:00Z")
    assert deadlines(late_evening) == [("respond", "2026-01-02")]
    # 05:30Z on 2 Jan = 00:30 EST on Fri 2 Jan: next working day Mon 5 Jan.
    after_midnight = _client("2026-01-02T05:30:00Z", "2026-01-02T12:00:00Z")
    assert deadlines(after_midnight) == [("respond", "2026-01-05")]


def test_serco_client_who_gave_nothing_is_asked_for_all_three_in_order():
    """Serco clients 3: name, best time to contact and details of the situation."""
    d = _client("2026-02-13", "2026-02-13T15:00:00-05:00", information_provided=None)
    assert actions(d)[-1] == ("request_information", "name,best_time_to_contact,details")
    assert_cited(d, "missing_information", "Serco clients 3")
    assert reason_rules(d) == [
        "report",
        "level",
        "client_at_provider",
        "client_timeline",
        "missing_information",
    ]


def test_serco_client_missing_one_piece_is_asked_for_just_that():
    """Serco clients 3: only the missing names, in the seed's order."""
    d = _client("2026-02-13", "2026-02-13T15:00:00-05:00", information_provided=["details", "name"])
    assert actions(d)[-1] == ("request_information", "best_time_to_contact")
    d = _client("2026-02-13", "2026-02-13T15:00:00-05:00", information_provided=["details"])
    assert actions(d)[-1] == ("request_information", "name,best_time_to_contact")


def test_serco_provider_dispute_goes_to_the_esm_deadlines_by_due_date():
    """Serco SP intro, 1, 2, 6 and SP 3: ESM responds in 1 business day; Ministry after 20."""
    d = _provider()
    assert d.outcome.disposition == "accept"
    assert d.outcome.stage == "ssm"
    assert route(d) == ("employment_services_manager", None)
    # After Mon 2026-02-02: 3 Feb = 1st; 4, 5, 6, 9, 10, 11, 12, 13, (16 Family Day) 17, 18, 19,
    # 20, 23, 24, 25, 26, 27 Feb, 2, 3 Mar = 20th. By due date, not by name.
    assert deadlines(d) == [
        ("respond", "2026-02-03"),
        ("ministry_escalation_available", "2026-03-03"),
    ]
    assert deadline_rules(d) == {
        "respond": "provider_dispute",
        "ministry_escalation_available": "provider_dispute",
    }
    assert actions(d) == [
        ("track_for_quarterly_report", None),
        ("agree_resolution_timeframe", None),
    ]
    assert d.outcome.flags == ["no_penalty"]
    assert d.outcome.eligibility == {"ministry_escalation": False}
    assert_cited(d, "provider_dispute", "Serco SP intro, 1, 2, 6")


def test_serco_ministry_option_opens_after_day_twenty_in_toronto():
    """Serco SP 6: escalation to the Ministry once 20 working days have passed."""
    # 04:59:59Z on 4 Mar = 23:59:59 EST on 3 Mar, the 20th working day itself: not yet.
    on_day_twenty = _provider("2026-03-04T04:59:59Z")
    assert on_day_twenty.outcome.eligibility == {"ministry_escalation": False}
    # 05:00Z on 4 Mar = midnight EST on 4 Mar: after it.
    after = _provider("2026-03-04T05:00:00Z")
    assert after.outcome.eligibility == {"ministry_escalation": True}
    assert_cited(after, "ministry_option", "Serco SP 6")
    # The deadlines still stand: the dispute is unresolved and still at SSM level.
    assert [name for name, _ in deadlines(after)] == ["respond", "ministry_escalation_available"]


@pytest.mark.parametrize(
    ("level", "role"),
    [("senior", "senior_employment_services_manager"), ("ministry", "ministry")],
)
def test_serco_sa_partner_dispute_beyond_ssm_has_no_open_deadlines(level: str, role: str):
    """Serco SP intro, 1–3, 6: at level senior or ministry the provider's deadlines have ended."""
    d = _provider(complainant_type="sa_partner", level=level)
    assert d.outcome.stage == level
    assert route(d) == (role, None)
    assert deadlines(d) == []
    assert d.outcome.flags == ["no_penalty"]
    assert_cited(d, "provider_dispute", "Serco SP intro, 1, 2, 6")


def test_serco_sa_partner_defaults_to_the_ssm_level():
    """Serco clients 1–11, SP 1–6: a partner's dispute starts with the ESM."""
    d = _provider(complainant_type="sa_partner")
    assert (d.outcome.stage, route(d)) == ("ssm", ("employment_services_manager", None))


def test_serco_urgent_provider_dispute_is_told_to_the_ministry_now():
    """Serco SP 9: urgent disputes are not left for the quarterly report."""
    d = _provider(urgent=True)
    assert action_codes(d) == [
        "track_for_quarterly_report",
        "agree_resolution_timeframe",
        "advise_ministry_now",
    ]
    assert_cited(d, "urgent", "Serco SP 9")


def test_serco_urgent_client_complaint_is_not_a_provider_dispute():
    """Serco SP 9 applies to provider disputes only."""
    d = _client("2026-02-13", "2026-02-13T15:00:00-05:00", urgent=True)
    assert "advise_ministry_now" not in action_codes(d)
    assert "ministry_escalation" not in d.outcome.eligibility


def test_serco_client_unresolved_at_provider_escalates_to_ssm():
    """Serco clients 6, 8 and Serco clients 7: Serco told at once; the ESM calls the client."""
    d = _client("2026-02-13", "2026-02-17T15:00:00-05:00", unresolved_at_level=True)
    assert d.outcome.disposition == "escalate"
    assert d.outcome.stage == "ssm"
    assert route(d) == ("employment_services_manager", None)
    assert actions(d) == [
        ("track_for_quarterly_report", None),
        ("notify_serco_immediately", None),
        ("notify_client_in_writing", None),
        ("esm_contacts_client", None),
    ]
    # Escalated beyond the provider: the provider's respond deadline is gone.
    assert deadlines(d) == []
    assert_cited(d, "to_ssm", "Serco clients 6, 8")
    assert_cited(d, "esm_calls", "Serco clients 7")
    assert reason_rules(d) == ["report", "level", "to_ssm", "esm_calls"]


def test_serco_esm_need_not_call_a_client_who_already_contacted_serco():
    """Serco clients 7: only if the client has not yet contacted Serco."""
    d = _client(
        "2026-02-13",
        "2026-02-17T15:00:00-05:00",
        unresolved_at_level=True,
        client_contacted_serco=True,
    )
    assert "esm_contacts_client" not in action_codes(d)
    assert reason_rules(d) == ["report", "level", "to_ssm"]


def test_serco_unresolved_at_ssm_goes_to_senior_and_managing_director():
    """Serco clients 9, SP 5: the later rule's stage and route beat the level's."""
    d = _client("2026-02-13", "2026-02-20T15:00:00-05:00", level="ssm", unresolved_at_level=True)
    assert d.outcome.disposition == "escalate"
    assert d.outcome.stage == "senior"
    assert route(d) == ("senior_employment_services_manager", None)
    assert notify(d) == [("managing_director_employment_services", None)]
    assert_cited(d, "to_senior", "Serco clients 9, SP 5")
    assert reason_rules(d) == ["report", "level", "to_senior"]


def test_serco_provider_dispute_unresolved_at_ssm_keeps_its_deadlines():
    """Serco SP 5: escalated to senior, but the level fact is still ssm, so deadlines stand."""
    d = _provider("2026-02-10T09:00:00-05:00", unresolved_at_level=True)
    assert d.outcome.stage == "senior"
    assert notify(d) == [("managing_director_employment_services", None)]
    assert deadlines(d) == [
        ("respond", "2026-02-03"),
        ("ministry_escalation_available", "2026-03-03"),
    ]


def test_serco_unresolved_at_senior_goes_to_the_ministry():
    """Serco clients 11: Serco shares the client's investigation with the Ministry."""
    d = _client("2026-02-13", "2026-03-02T15:00:00-05:00", level="senior", unresolved_at_level=True)
    assert d.outcome.disposition == "escalate"
    assert d.outcome.stage == "ministry"
    assert route(d) == ("ministry", None)
    assert actions(d)[-1] == ("share_with_ministry", None)
    assert_cited(d, "to_ministry", "Serco clients 11")


def test_serco_nothing_beyond_the_ministry():
    """Serco clients 1–11, SP 1–6: at the Ministry there is no further level."""
    d = _client(
        "2026-02-13", "2026-03-02T15:00:00-05:00", level="ministry", unresolved_at_level=True
    )
    assert d.outcome.disposition == "accept"
    assert (d.outcome.stage, route(d)) == ("ministry", ("ministry", None))
    assert reason_rules(d) == ["report", "level"]


def test_serco_resolved_closes_and_stops_escalation():
    """Serco clients 5, SP 8: resolved means close; to SSM and ESM calls do not apply."""
    d = _client(
        "2026-02-13",
        "2026-02-17T15:00:00-05:00",
        unresolved_at_level=True,
        resolved=True,
    )
    assert d.outcome.disposition == "close"
    assert (d.outcome.stage, route(d)) == ("service_provider", ("service_provider", None))
    assert action_codes(d) == ["track_for_quarterly_report"]
    assert_cited(d, "resolved", "Serco clients 5, SP 8")
    assert reason_rules(d) == ["report", "level", "resolved"]


def test_serco_resolved_client_complaint_keeps_the_respond_deadline():
    """Serco clients 2, 5: the client's respond deadline ends only on escalation beyond it."""
    d = _client("2026-02-13", "2026-02-16T15:00:00-05:00", resolved=True)
    assert d.outcome.disposition == "close"
    assert deadlines(d) == [("respond", "2026-02-17")]


def test_serco_resolved_provider_dispute_ends_its_deadlines_and_ministry_option():
    """Serco SP 8: once resolved, no respond, no ministry window, no Ministry escalation."""
    d = _provider("2026-03-10T12:00:00-04:00", resolved=True, unresolved_at_level=True)
    assert d.outcome.disposition == "close"
    assert d.outcome.stage == "ssm"
    assert deadlines(d) == []
    assert d.outcome.eligibility == {"ministry_escalation": False}
    assert "to_senior" not in reason_rules(d)


def test_serco_accessibility_issue_follows_the_accessibility_process():
    """Serco overview: accessibility issues are flagged and handled by their own process."""
    d = _provider(accessibility_issue=True)
    assert d.outcome.flags == ["no_penalty", "accessibility"]
    assert action_codes(d)[-1] == "follow_accessibility_process"
    assert_cited(d, "accessibility", "Serco overview")


def test_serco_as_of_is_recorded_in_utc():
    """Serco clients 10, SP 9: the decision records the instant it was taken for, in UTC."""
    d = _provider("2026-03-03T23:30:00-05:00")
    assert d.as_of == "2026-03-04T04:30:00Z"
    assert d.outcome.eligibility == {"ministry_escalation": False}


def test_serco_same_facts_give_byte_identical_decisions():
    """Serco SP intro, 1–3, 6: evaluation is deterministic, byte for byte."""
    facts = {
        "received_at": "2026-02-02T09:30:00-05:00",
        "complainant_type": "sa_partner",
        "urgent": True,
        "accessibility_issue": True,
        "unresolved_at_level": True,
    }
    first, second = encoded_twice(POLICY, facts, "2026-03-05T10:00:00Z")
    assert first == second


def test_serco_provider_cannot_be_at_the_service_provider_level():
    """Serco SP 1: a provider's dispute starts with Serco's ESM, never at provider level."""
    pointers = bad_pointers(
        POLICY,
        {
            "received_at": "2026-02-02",
            "complainant_type": "sa_partner",
            "level": "service_provider",
        },
        "2026-02-03T10:00:00Z",
    )
    assert pointers == {"/facts/level"}


def test_serco_bad_facts_are_all_named():
    """Serco clients 3: missing complainant type, unknown information name, bad level."""
    pointers = bad_pointers(
        POLICY,
        {"received_at": "2026-02-02", "information_provided": ["name", "email"], "level": "board"},
        "2026-02-03T10:00:00Z",
    )
    assert pointers == {
        "/facts/complainant_type",
        "/facts/information_provided/1",
        "/facts/level",
    }


# -- Version 2 -------------------------------------------------------------------------------

# Provider dispute raised Mon 2 Feb 2026: ministry_escalation_available is due Tue 3 Mar, so the
# option is open from Wed 4 Mar (Toronto date).
AFTER_20 = "2026-03-04T10:00:00-05:00"


def test_serco_v2_provider_dispute_goes_to_the_ministry_only_when_a_party_recommends_it():
    """Serco SP 6 (version 2, item 9): "If the attempts to resolve the issue are not successful
    within a reasonable period, not being longer than 20 working days, either party may
    recommend that the dispute be escalated to the Ministry." The ESM's provider is told in
    writing (SP 7)."""
    waiting = _provider(AFTER_20, unresolved_at_level=True)
    assert (waiting.outcome.disposition, waiting.outcome.stage) == ("escalate", "senior")
    assert waiting.outcome.eligibility == {"ministry_escalation": True}
    d = _provider(AFTER_20, unresolved_at_level=True, ministry_escalation_recommended=True)
    assert (d.outcome.disposition, d.outcome.stage) == ("escalate", "ministry")
    assert route(d) == ("ministry", None)
    assert action_codes(d)[-2:] == ["share_with_ministry", "inform_provider_in_writing"]
    assert_cited(d, "provider_to_ministry", "Serco SP 6")
    assert reason_rules(d)[-2:] == ["provider_to_ministry", "provider_informed"]


def test_serco_v2_no_ministry_escalation_while_the_option_is_closed():
    """Serco SP 6: "not being longer than 20 working days" — before they have passed, neither a
    recommendation nor level senior sends a provider dispute to the Ministry."""
    early = _provider(
        "2026-03-03T10:00:00-05:00",
        level="senior",
        unresolved_at_level=True,
        ministry_escalation_recommended=True,
    )
    assert early.outcome.eligibility == {"ministry_escalation": False}
    assert (early.outcome.disposition, early.outcome.stage) == ("accept", "senior")
    assert "share_with_ministry" not in action_codes(early)
    assert "to_ministry" not in reason_rules(early)


def test_serco_v2_a_recommendation_changes_nothing_for_a_client():
    """Serco clients 11: "Serco will share with MLITSD [...] any client complaint investigations
    that escalate to the Ministry" — the client's own row, unchanged by SP 6's recommendation."""
    d = _client("2026-02-13", "2026-02-16T15:00:00-05:00", ministry_escalation_recommended=True)
    assert (d.outcome.disposition, d.outcome.stage) == ("accept", "service_provider")
    assert "ministry_escalation" not in d.outcome.eligibility


def test_serco_v2_escalation_to_senior_is_shared_with_the_provider_in_writing():
    """Serco SP 7 (version 2, item 9): "Each step of the process will be documented by Serco and
    any decisions or escalation will be shared with the Service Provider in writing."""
    d = _provider("2026-02-10T09:00:00-05:00", unresolved_at_level=True)
    assert action_codes(d)[-1] == "inform_provider_in_writing"
    assert_cited(d, "provider_informed", "Serco SP 7")
    client = _client(
        "2026-02-13", "2026-02-20T15:00:00-05:00", level="ssm", unresolved_at_level=True
    )
    assert "inform_provider_in_writing" not in action_codes(client)


def test_serco_v2_resolved_provider_dispute_gets_its_resolution_in_writing():
    """Serco SP 8 (version 2, item 9): "Any resolution to the complaint/ disputes will be
    provided in writing by the ESM"; with nothing left to resolve, no timeframe is agreed
    (SP 3)."""
    d = _provider("2026-02-10T09:00:00-05:00", resolved=True)
    assert d.outcome.disposition == "close"
    assert action_codes(d) == ["track_for_quarterly_report", "provide_written_resolution"]
    assert_cited(d, "provider_resolution", "Serco SP 8")
    assert "provider_timeframe" not in reason_rules(d)


def test_serco_v2_provider_timeframe_is_agreed_while_unresolved():
    """Serco SP 3: "ESM and SPM will agree to a timeframe for resolution, depending on the
    nature and urgency of the complaint."""
    d = _provider()
    assert_cited(d, "provider_timeframe", "Serco SP 3")


def test_serco_v2_client_at_the_provider_agrees_a_response_timeline():
    """Serco clients 4 (version 2, item 9): "The Service Provider will agree to a reasonable
    timeline for response depending on the nature and urgency of the complaint."""
    d = _client("2026-02-13", "2026-02-13T15:00:00-05:00")
    assert_cited(d, "client_timeline", "Serco clients 4")
    resolved = _client("2026-02-13", "2026-02-16T15:00:00-05:00", resolved=True)
    assert "agree_response_timeline" not in action_codes(resolved)


def test_serco_v2_deadline_kinds_and_the_respond_obligation():
    """Serco SP 2: "The ESM will respond to the SPM within 1 business day" (an obligation);
    SP 6's 20 working days open an option for a party (kind `opens`)."""
    d = _provider("2026-02-04T10:00:00-05:00", acts={"respond": "2026-02-03T16:00:00-05:00"})
    assert deadline_states(d) == [
        ("respond", "obligation", "2026-02-03", "met", "2026-02-03T16:00:00-05:00"),
        ("ministry_escalation_available", "opens", "2026-03-03", None, None),
    ]
    overdue = _provider("2026-02-04T10:00:00-05:00")
    assert deadline_states(overdue)[0][3:] == ("overdue", None)
    refusal = refused(
        POLICY,
        {
            "received_at": "2026-02-02",
            "complainant_type": "service_provider",
            "acts": {"ministry_escalation_available": "2026-02-03"},
        },
        "2026-02-04T10:00:00-05:00",
    )
    assert set(refusal) == {"/facts/acts/ministry_escalation_available"}
