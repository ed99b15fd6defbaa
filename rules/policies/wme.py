"""`wme`: the West Midlands Employers comments, compliments and complaints policy.

Seed: `wme-complaints-policy.txt`; table: POLICIES.md, section `wme`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rules import calendar
from rules.policies.conditions import one_of, ref, test, when
from rules.registry import register_derivation, register_fact_schema
from rules.validation import Check, Moment
from schemas.facts.wme import WmeFacts

APPEAL_WORKING_DAYS = 10
FEEDBACK_KINDS = ["compliment", "suggestion", "comment"]
OUT_OF_JURISDICTION = {
    "government_policy": "government_department",
    "political_party": "political_party",
    "local_authority": "local_authority",
    "third_party_provider": "service_provider",
}
SERIOUS = ["misconduct", "whistleblowing", "fraud"]

COMPLAINT = test("kind", "complaint")

RULES: list[dict] = [
    {
        "id": "feedback",
        "citation": "WME 3 Stage 1",
        "description": "Compliments, suggestions and comments are shared with the relevant staff.",
        "when": when(one_of("kind", FEEDBACK_KINDS)),
        "then": {
            "disposition": "accept",
            "stage": "feedback",
            "route": {"role": "relevant_staff", "assignee": None},
            "actions": [{"code": "share_feedback", "detail": None}],
        },
    },
    {
        "id": "acknowledge",
        "citation": "WME 3, 5.1",
        "description": "Every communication is acknowledged within 5 working days.",
        "when": when(test("outcome_known", False)),
        "then": {
            "deadlines": [
                {"name": "acknowledge", "due": {"working_days_after": "received_on", "n": 5}}
            ]
        },
    },
    {
        "id": "concern",
        "citation": "WME 1.3",
        "description": "A concern is put right informally by the staff member and their manager.",
        "when": when(test("kind", "concern")),
        "then": {
            "disposition": "accept",
            "stage": "informal",
            "route": {"role": "staff_member", "assignee": None},
            "notify": [{"role": "line_manager", "assignee": None}],
            "actions": [{"code": "resolve_informally", "detail": None}],
        },
    },
    {
        "id": "complaint",
        "citation": "WME 3 Stage 2",
        "description": "A complaint is investigated by the Service Manager within 15 working days.",
        "when": when(COMPLAINT),
        "then": {
            "disposition": "accept",
            "stage": "stage_2",
            "route": {"role": "service_manager", "assignee": None},
            "deadlines": [
                {
                    "name": "outcome",
                    "due": {"working_days_after": "received_on", "n": 15},
                    "ends_when": "outcome_known",
                }
            ],
        },
    },
    {
        "id": "holding_letter",
        "citation": "WME 3 Stage 2",
        "description": "A complex complaint gets a holding letter after ten working days.",
        "when": when(COMPLAINT, test("complex", True)),
        "then": {
            "deadlines": [
                {
                    "name": "holding_letter",
                    "due": {"working_days_after": "received_on", "n": 10},
                    "ends_when": "outcome_known",
                }
            ]
        },
    },
    {
        "id": "in_writing",
        "citation": "WME 3 Stage 1",
        "description": "A formal complaint not made in writing: ask for the details in writing.",
        "when": when(COMPLAINT, test("in_writing", False)),
        "then": {"actions": [{"code": "request_written_details", "detail": None}]},
    },
    {
        "id": "anonymous",
        "citation": "WME 2.4",
        "description": "Anonymous complaints are considered, but action may be limited.",
        "when": when(test("anonymous", True)),
        "then": {"flags": ["anonymous_limited_action"]},
    },
    {
        "id": "abusive",
        "citation": "WME 5.2",
        "description": "Abusive contact may be limited to an acknowledgement.",
        "when": when(test("abusive", True)),
        "then": {"flags": ["may_limit_to_acknowledgement"]},
    },
    {
        "id": "out_of_jurisdiction",
        "citation": "WME 2.3",
        "description": "Outside WME's jurisdiction: advise where the complaint should go instead.",
        "when": when(
            one_of("kind", ["complaint", "concern"]),
            one_of("category", sorted(OUT_OF_JURISDICTION)),
        ),
        "exclusive": True,
        "keeps": ["acknowledge", "anonymous", "abusive"],
        "then": {
            "disposition": "out_of_jurisdiction",
            "stage": None,
            "route": None,
            "actions": [
                {
                    "code": "advise_where_to_complain",
                    "detail": {"$map": "category", "table": OUT_OF_JURISDICTION},
                }
            ],
        },
    },
    {
        "id": "serious",
        "citation": "WME 4.2",
        "description": "Misconduct, whistleblowing or fraud is reported to the Chief Executive.",
        "when": when(COMPLAINT, one_of("category", SERIOUS)),
        "then": {
            "flags": ["serious"],
            "route": {"role": "chief_executive", "assignee": None},
            "eligibility": {"board_escalation": True},
        },
    },
    {
        "id": "about_chief_executive",
        "citation": "WME 3 Stage 1, 4.3",
        "description": "A complaint about the Chief Executive goes to a Director, with the Chair.",
        "when": when(COMPLAINT, test("about_chief_executive", True)),
        "then": {
            "route": {"role": "director", "assignee": None},
            "notify": [
                {"role": "chair", "assignee": None},
                {"role": "vice_chair", "assignee": None},
            ],
        },
    },
    {
        "id": "upheld",
        "citation": "WME 3 Stage 2",
        "description": "Where the complaint is upheld, an apology is offered.",
        "when": when(COMPLAINT, test("upheld", True)),
        "then": {"actions": [{"code": "offer_apology", "detail": None}]},
    },
    {
        "id": "appeal_window",
        "citation": "WME 3 Stage 2",
        "description": "After the Stage Two outcome, an appeal may follow within 10 working days.",
        "when": when(COMPLAINT, test("outcome_known", True), test("appeal_known", False)),
        "then": {
            "deadlines": [
                {
                    "name": "appeal_window_closes",
                    "due": {"working_days_after": "outcome_on", "n": APPEAL_WORKING_DAYS},
                }
            ],
            "eligibility": {"appeal": ref("appeal_window_open")},
        },
    },
    {
        "id": "appeal",
        "citation": "WME 3 Stage 3",
        "description": "An appeal in time goes to the Director; the Stage Three decision is final.",
        "when": when(COMPLAINT, test("appeal_known", True), test("appeal_in_time", True)),
        "then": {
            "disposition": "accept",
            "stage": "stage_3",
            "route": {"role": "director", "assignee": None},
            "deadlines": [
                {"name": "appeal_acknowledge", "due": {"working_days_after": "appeal_on", "n": 3}},
                {"name": "appeal_decision", "due": {"working_days_after": "appeal_on", "n": 10}},
            ],
            "eligibility": {"appeal": True},
            "flags": ["final_decision"],
        },
    },
    {
        "id": "late_appeal",
        "citation": "WME 3 Stage 2",
        "description": "An appeal more than 10 working days after the outcome is out of time.",
        "when": when(COMPLAINT, test("appeal_known", True), test("appeal_in_time", False)),
        "then": {"disposition": "not_eligible", "eligibility": {"appeal": False}},
    },
]

DOCUMENT: dict = {
    "format": "redress.ruleset/1",
    "id": "wme",
    "title": "West Midlands Employers: comments, compliments and complaints",
    "seed": "wme-complaints-policy.txt",
    "calendar": "england-and-wales",
    "timezone": "Europe/London",
    "facts": "wme.facts/1",
    "derive": "wme.derive/1",
    "rules": RULES,
}


def cross_check(values: dict, check: Check) -> None:
    """An appeal needs a Stage Two outcome, and cannot come before it."""
    if "appeal_requested_at" not in values:
        return
    if not check.given("stage_two_outcome_at"):
        check.fail("/facts/appeal_requested_at", "an appeal needs stage_two_outcome_at")
        return
    if "stage_two_outcome_at" not in values:
        return
    appeal = calendar.local_date(values["appeal_requested_at"], check.timezone)
    outcome = calendar.local_date(values["stage_two_outcome_at"], check.timezone)
    if appeal < outcome:
        check.fail("/facts/appeal_requested_at", "the appeal is dated before the outcome")


register_fact_schema("wme.facts/1", WmeFacts, cross_check)


@register_derivation("wme.derive/1")
def derive(facts: WmeFacts, moment: Moment, calendar_name: str, timezone: str) -> Mapping[str, Any]:
    """Plain values for the rules: kinds, flags, local dates and whether an appeal is in time."""
    outcome_on = _local(facts.stage_two_outcome_at, timezone)
    appeal_on = _local(facts.appeal_requested_at, timezone)
    window_closes = (
        calendar.working_days_after(outcome_on, APPEAL_WORKING_DAYS, calendar_name)
        if outcome_on
        else None
    )
    return {
        "kind": facts.kind,
        "category": facts.category,
        "about_chief_executive": facts.about_chief_executive,
        "anonymous": facts.anonymous,
        "abusive": facts.abusive,
        "in_writing": facts.in_writing,
        "complex": facts.complex,
        "upheld": facts.upheld,
        "received_on": calendar.local_date(facts.received_at, timezone).isoformat(),
        "outcome_known": outcome_on is not None,
        "outcome_on": outcome_on.isoformat() if outcome_on else None,
        "appeal_known": appeal_on is not None,
        "appeal_on": appeal_on.isoformat() if appeal_on else None,
        "appeal_in_time": bool(appeal_on and window_closes and appeal_on <= window_closes),
        "appeal_window_open": bool(window_closes and moment.local_date <= window_closes),
    }


def _local(value: str | None, timezone: str) -> Any:
    return calendar.local_date(value, timezone) if value is not None else None
