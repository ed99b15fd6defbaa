"""`wme`: the West Midlands Employers comments, compliments and complaints policy, version 2.

Seed: `wme-complaints-policy.txt`; table: POLICIES.md, section `wme`. Version 1 is frozen in
`rules.policies.v1.wme` and `archive/wme.1.json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from rules import calendar
from rules.policies.conditions import one_of, ref, test, when
from rules.registry import register_derivation, register_fact_schema
from rules.validation import Check, Moment
from schemas.facts.wme import WmeFacts

CALENDAR = "england-and-wales"
APPEAL_WORKING_DAYS = 10
FEEDBACK_KINDS = ["compliment", "suggestion", "comment"]
OUT_OF_JURISDICTION = {
    "government_policy": "government_department",
    "political_party": "political_party",
    "local_authority": "local_authority",
    "third_party_provider": "service_provider",
}
SERIOUS = ["misconduct", "whistleblowing", "fraud"]

FORMAL = test("formal", True)
NO_OUTCOME_YET = test("outcome_known", False)
OUTCOME_UNAPPEALED = (FORMAL, test("outcome_known", True), test("appeal_known", False))


def _none(code: str) -> dict:
    return {"code": code, "detail": None}


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
            "actions": [_none("share_feedback")],
        },
    },
    {
        "id": "acknowledge",
        "citation": "WME 3, 5.1",
        "description": "Every communication is acknowledged within 5 working days.",
        "when": when(NO_OUTCOME_YET),
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
        "when": when(test("kind", "concern"), test("formal", False)),
        "then": {
            "disposition": "accept",
            "stage": "informal",
            "route": {"role": "staff_member", "assignee": None},
            "notify": [{"role": "line_manager", "assignee": None}],
            "actions": [_none("resolve_informally")],
        },
    },
    {
        "id": "complaint",
        "citation": "WME 3 Stage 2",
        "description": "A formal complaint is investigated by the Service Manager within 15 "
        "working days, or by the final date its holding letter gave.",
        "when": when(FORMAL),
        "then": {
            "disposition": "accept",
            "stage": "stage_2",
            "route": {"role": "service_manager", "assignee": None},
            "deadlines": [
                {
                    "name": "outcome",
                    "due": {"working_days_after": "received_on", "n": 15, "or_date": "final_date"},
                    "ends_when": "outcome_known",
                }
            ],
        },
    },
    {
        "id": "advise_investigator",
        "citation": "WME 3 Stage 1",
        "description": "The acknowledgement says who will investigate the complaint.",
        "when": when(FORMAL, NO_OUTCOME_YET),
        "then": {"actions": [_none("advise_investigator")]},
    },
    {
        "id": "holding_letter",
        "citation": "WME 3 Stage 2",
        "description": "A complex complaint gets a holding letter after ten working days.",
        "when": when(FORMAL, test("complex", True)),
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
        "citation": "WME 3 Stage 1, 2.4",
        "description": "A formal complaint not made in writing: ask for the details in writing "
        "(not of an anonymous complainant: there is no one to ask).",
        "when": when(FORMAL, test("in_writing", False), test("anonymous", False)),
        "then": {"actions": [_none("request_written_details")]},
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
        "description": "Outside WME's jurisdiction, whatever the kind: advise where to go instead.",
        "when": when(one_of("category", sorted(OUT_OF_JURISDICTION))),
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
        "when": when(FORMAL, one_of("category", SERIOUS)),
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
        "when": when(FORMAL, test("about_chief_executive", True)),
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
        "citation": "WME 3 Stage 2, 5.1",
        "description": "Where the complaint is upheld, an apology is offered and the action "
        "that will prevent a recurrence is explained.",
        "when": when(FORMAL, test("upheld", True)),
        "then": {"actions": [_none("offer_apology"), _none("explain_prevention")]},
    },
    {
        "id": "outcome_notice",
        "citation": "WME 3 Stage 2, 5.1",
        "description": "The complainant is told the outcome and their right of appeal.",
        "when": when(*OUTCOME_UNAPPEALED),
        "then": {"actions": [_none("inform_outcome_and_appeal_right")]},
    },
    {
        "id": "appeal_window",
        "citation": "WME 3 Stage 2",
        "description": "After the Stage Two outcome, an appeal may follow within 10 working days.",
        "when": when(*OUTCOME_UNAPPEALED),
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
        "description": "An appeal in time goes to the Director; the Stage Three decision is "
        "final, and its letter details the options for further escalation.",
        "when": when(FORMAL, test("appeal_known", True), test("appeal_in_time", True)),
        "then": {
            "disposition": "accept",
            "stage": "stage_3",
            "route": {"role": "director", "assignee": None},
            "deadlines": [
                {
                    "name": "appeal_acknowledge",
                    "due": {"working_days_after": "appeal_on", "n": 3},
                    "ends_when": "stage_three_known",
                },
                {
                    "name": "appeal_decision",
                    "due": {"working_days_after": "appeal_on", "n": 10},
                    "ends_when": "stage_three_known",
                },
            ],
            "eligibility": {"appeal": True},
            "flags": ["final_decision"],
            "actions": [_none("list_further_options")],
        },
    },
    {
        "id": "closed_after_outcome",
        "citation": "WME 3 Stage 2",
        "description": "The appeal window has passed with no appeal: the complaint is closed.",
        "when": when(*OUTCOME_UNAPPEALED, test("appeal_window_open", False)),
        "then": {"closes": True},
    },
    {
        "id": "stage_3_decided",
        "citation": "WME 3 Stage 3",
        "description": "The stage three decision is known and final: the complaint is closed.",
        "when": when(FORMAL, test("stage_three_known", True)),
        "then": {"closes": True},
    },
    {
        "id": "concern_resolved",
        "citation": "WME 1.3",
        "description": "The concern has been put right informally: it is closed.",
        "when": when(test("kind", "concern"), test("formal", False), test("resolved", True)),
        "then": {"closes": True},
    },
    {
        "id": "feedback_shared",
        "citation": "WME 3 Stage 1, 1.4, 5.1",
        "description": "The compliment, suggestion or comment has been acknowledged: closed.",
        "when": when(one_of("kind", FEEDBACK_KINDS), test("acknowledged", True)),
        "then": {"closes": True},
    },
    {
        "id": "late_appeal",
        "citation": "WME 3 Stage 2",
        "description": "An appeal more than 10 working days after the outcome is out of time.",
        "when": when(FORMAL, test("appeal_known", True), test("appeal_in_time", False)),
        "then": {"disposition": "not_eligible", "eligibility": {"appeal": False}},
    },
]

DOCUMENT: dict = {
    "format": "redress.ruleset/2",
    "id": "wme",
    "title": "West Midlands Employers: comments, compliments and complaints",
    "seed": "wme-complaints-policy.txt",
    "calendar": CALENDAR,
    "timezone": "Europe/London",
    "facts": "wme.facts/2",
    "derive": "wme.derive/2",
    "deadlines": {
        "acknowledge": "obligation",
        "outcome": "obligation",
        "holding_letter": "obligation",
        "appeal_acknowledge": "obligation",
        "appeal_decision": "obligation",
        "appeal_window_closes": "window",
    },
    "rules": RULES,
}

NOTES: dict[str, tuple[str, str]] = {
    "received_at": ("When the communication was received.", "WME 3, 5.1"),
    "kind": ("A complaint, a concern, or a compliment, suggestion or comment.", "WME 1.3, 3"),
    "category": ("What it is about (default other).", "WME 2.1, 2.3, 4.2"),
    "about_chief_executive": ("The complaint is about the Chief Executive.", "WME 4.3"),
    "anonymous": ("Received anonymously.", "WME 2.4"),
    "abusive": ("The contact is abusive, malicious or a personal attack.", "WME 5.2"),
    "in_writing": ("The complaint's details were set out in writing.", "WME 3 Stage 1"),
    "complex": ("A complex complaint, whose investigation takes longer.", "WME 3 Stage 2"),
    "upheld": ("The complaint was upheld.", "WME 3 Stage 2"),
    "resolved": (
        "A concern put right informally (closes only a concern that is not a formal complaint).",
        "WME 1.3",
    ),
    "stage_two_outcome_at": ("When the Stage Two outcome was given.", "WME 3 Stage 2"),
    "appeal_requested_at": (
        "When the complainant appealed (needs the outcome; not before it).",
        "WME 3 Stage 3",
    ),
    "stage_three_outcome_at": (
        "When the Director's stage three decision was given in writing (needs an appeal in "
        "time; not before it).",
        "WME 3 Stage 3",
    ),
    "final_date": (
        "The final date for a response given in a complex complaint's holding letter (needs "
        "complex; not before received_at; may be later than as_of).",
        "WME 3 Stage 2",
    ),
    "acts": ("When each obligation deadline was discharged.", "WME 3 Stages 1–3, 5.1"),
}


def _appeal_in_time(values: dict, timezone: str, calendar_name: str) -> bool | None:
    if "appeal_requested_at" not in values or "stage_two_outcome_at" not in values:
        return None
    outcome_on = calendar.local_date(values["stage_two_outcome_at"], timezone)
    appeal_on = calendar.local_date(values["appeal_requested_at"], timezone)
    closes = calendar.working_days_after(outcome_on, APPEAL_WORKING_DAYS, calendar_name)
    return appeal_on <= closes


def cross_check(values: dict, check: Check) -> None:
    """Appeal after an outcome; stage three after an appeal in time; final date if complex."""
    tz = check.timezone
    if "appeal_requested_at" in values:
        if not check.given("stage_two_outcome_at"):
            check.fail("/facts/appeal_requested_at", "an appeal needs stage_two_outcome_at")
        elif "stage_two_outcome_at" in values:
            appeal = calendar.local_date(values["appeal_requested_at"], tz)
            outcome = calendar.local_date(values["stage_two_outcome_at"], tz)
            if appeal < outcome:
                check.fail("/facts/appeal_requested_at", "the appeal is dated before the outcome")
    if "stage_three_outcome_at" in values:
        in_time = _appeal_in_time(values, tz, CALENDAR)
        if not check.given("appeal_requested_at"):
            check.fail(
                "/facts/stage_three_outcome_at", "a stage three decision needs appeal_requested_at"
            )
        elif in_time is False:
            check.fail(
                "/facts/stage_three_outcome_at",
                "a stage three decision needs an appeal in time (within 10 working days of the "
                "stage two outcome)",
            )
        elif in_time and calendar.local_date(
            values["stage_three_outcome_at"], tz
        ) < calendar.local_date(values["appeal_requested_at"], tz):
            check.fail("/facts/stage_three_outcome_at", "the decision is dated before the appeal")
    if "final_date" in values:
        if values.get("complex") is not True:
            check.fail("/facts/final_date", "a final date is given only for a complex complaint")
        if "received_at" in values and date.fromisoformat(
            values["final_date"]
        ) < calendar.local_date(values["received_at"], tz):
            check.fail("/facts/final_date", "the final date is before received_at")


register_fact_schema("wme.facts/2", WmeFacts, cross_check, NOTES)


def is_formal(facts: WmeFacts) -> bool:
    """WME 4.2, 4.3: a complaint, or a concern about misconduct, whistleblowing, fraud or the CE."""
    if facts.kind == "complaint":
        return True
    return facts.kind == "concern" and (facts.category in SERIOUS or facts.about_chief_executive)


@register_derivation("wme.derive/2")
def derive(facts: WmeFacts, moment: Moment, calendar_name: str, timezone: str) -> Mapping[str, Any]:
    """Plain values for the rules: formal or not, local dates, whether an appeal is in time."""
    outcome_on = _local(facts.stage_two_outcome_at, timezone)
    appeal_on = _local(facts.appeal_requested_at, timezone)
    window_closes = (
        calendar.working_days_after(outcome_on, APPEAL_WORKING_DAYS, calendar_name)
        if outcome_on
        else None
    )
    return {
        "kind": facts.kind,
        "formal": is_formal(facts),
        "category": facts.category,
        "about_chief_executive": facts.about_chief_executive,
        "anonymous": facts.anonymous,
        "abusive": facts.abusive,
        "in_writing": facts.in_writing,
        "complex": facts.complex,
        "upheld": facts.upheld,
        "resolved": facts.resolved,
        "received_on": calendar.local_date(facts.received_at, timezone).isoformat(),
        "final_date": facts.final_date,
        "outcome_known": outcome_on is not None,
        "outcome_on": outcome_on.isoformat() if outcome_on else None,
        "appeal_known": appeal_on is not None,
        "appeal_on": appeal_on.isoformat() if appeal_on else None,
        "appeal_in_time": bool(appeal_on and window_closes and appeal_on <= window_closes),
        "appeal_window_open": bool(window_closes and moment.local_date <= window_closes),
        "stage_three_known": facts.stage_three_outcome_at is not None,
        "acknowledged": "acknowledge" in facts.acts,
    }


def _local(value: str | None, timezone: str) -> Any:
    return calendar.local_date(value, timezone) if value is not None else None
