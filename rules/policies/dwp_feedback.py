"""`dwp-feedback`: the DWP complaints feedback process, version 2.

Seed: `dwp-complaints-feedback-process.txt`; table: POLICIES.md, section `dwp-feedback`. Version
1 is frozen in `rules.policies.v1.dwp_feedback` and `archive/dwp-feedback.1.json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rules import calendar
from rules.policies.conditions import one_of, ref, test, when
from rules.registry import register_derivation, register_fact_schema
from rules.validation import Check, Moment
from schemas.facts.dwp_feedback import Caseworker, DwpFeedbackFacts

FEEDBACK = (test("has_cause", True), test("issue_recent", True))
ATTACHMENTS = [
    {"code": "attach_complaint_letter", "detail": None},
    {"code": "attach_response_letter", "detail": None},
]

RULES: list[dict] = [
    {
        "id": "contact_client",
        "citation": "DWP step 8",
        "description": "A complaint received by letter: contact the client as soon as possible.",
        "when": when(test("channel", "letter")),
        "then": {"actions": [{"code": "contact_client", "detail": None}]},
    },
    {
        "id": "resolution",
        "citation": "DWP step 9",
        "description": "A first complaint on the issue is reviewed by Complaint Resolution.",
        "when": when(test("stage", "complaint_resolution")),
        "then": {"stage": "complaint_resolution"},
    },
    {
        "id": "review",
        "citation": "DWP step 9",
        "description": "A further complaint on the same issue is reviewed by Complaint Review.",
        "when": when(test("stage", "complaint_review")),
        "then": {"stage": "complaint_review"},
    },
    {
        "id": "ice",
        "citation": "DWP intro, step 9",
        "description": "A complaint handled by the ICE team.",
        "when": when(test("stage", "complaint_ice")),
        "then": {"stage": "complaint_ice"},
    },
    {
        "id": "no_cause",
        "citation": "DWP step 10",
        "description": "No caseworker action or omission caused the complaint: no feedback.",
        "when": when(test("has_cause", False)),
        "then": {"disposition": "not_eligible", "eligibility": {"feedback": False}},
    },
    {
        "id": "stale",
        "citation": "DWP step 10",
        "description": "The issue is older than six months before the complaint's receipt: "
        "feedback would not be timely.",
        "when": when(test("has_cause", True), test("issue_recent", False)),
        "then": {"disposition": "not_eligible", "eligibility": {"feedback": False}},
    },
    {
        "id": "feedback",
        "citation": "DWP steps 10, 12, 13",
        "description": "Feedback goes to the last caseworker who could have prevented the "
        "complaint, via their team leader.",
        "when": when(*FEEDBACK),
        "then": {
            "disposition": "accept",
            "eligibility": {"feedback": True},
            "actions": [{"code": "send_feedback_form", "detail": ref("caseworker_id")}],
            "route": {"role": "team_leader", "assignee": ref("team_leader")},
        },
    },
    {
        "id": "team_leader_agreement",
        "citation": "DWP step 11",
        "description": "Confirm with your team leader that feedback should be given.",
        "when": when(*FEEDBACK, test("team_leader_position", "unknown")),
        "then": {"actions": [{"code": "confirm_with_team_leader", "detail": None}]},
    },
    {
        "id": "resolution_recipients",
        "citation": "DWP steps 14, 16",
        "description": "At resolution the form goes to the caseworker's managers with the letters.",
        "when": when(*FEEDBACK, test("stage", "complaint_resolution")),
        "then": {
            "notify": [
                {"role": "workgroup_manager", "assignee": ref("workgroup_manager")},
                {"role": "area_manager", "assignee": ref("area_manager")},
                {"role": "head_of_line_of_business", "assignee": ref("head_of_line_of_business")},
            ],
            "actions": ATTACHMENTS,
        },
    },
    {
        "id": "review_recipients",
        "citation": "DWP steps 9, 14, 16",
        "description": "At review, or for an ICE case, the form goes to the area senior "
        "resolution manager.",
        "when": when(*FEEDBACK, one_of("stage", ["complaint_review", "complaint_ice"])),
        "then": {
            "notify": [{"role": "area_senior_resolution_manager", "assignee": None}],
            "actions": ATTACHMENTS,
        },
    },
    {
        "id": "team_leader_action",
        "citation": "DWP steps 1, 2, 6",
        "description": "A team leader acts on a received form within 48 hours and records it.",
        "when": when(test("form_received", True)),
        "then": {
            "deadlines": [
                {"name": "team_leader_action", "due": {"hours_after": "form_received_at", "n": 48}}
            ],
            "actions": [
                {"code": "record_in_monthly_one_to_one", "detail": None},
                {"code": "save_to_personal_file", "detail": None},
            ],
        },
    },
    {
        "id": "feedback_given",
        "citation": "DWP steps 1–6",
        "description": "The team leader has acted on the feedback form: the procedure is complete.",
        "when": when(*FEEDBACK, test("team_leader_acted", True)),
        "then": {"closes": True},
    },
    {
        "id": "team_leader_disagrees",
        "citation": "DWP step 11",
        "description": "The team leader does not agree that feedback should be given.",
        "when": when(*FEEDBACK, test("team_leader_position", "disagrees")),
        "exclusive": True,
        "keeps": ["contact_client", "resolution", "review", "ice", "team_leader_action"],
        "then": {"disposition": "not_eligible", "eligibility": {"feedback": False}},
    },
]

DOCUMENT: dict = {
    "format": "redress.ruleset/2",
    "id": "dwp-feedback",
    "title": "DWP complaints feedback process",
    "seed": "dwp-complaints-feedback-process.txt",
    "calendar": "england-and-wales",
    "timezone": "Europe/London",
    "facts": "dwp-feedback.facts/2",
    "derive": "dwp-feedback.derive/2",
    "deadlines": {"team_leader_action": "obligation"},
    "rules": RULES,
}

NOTES: dict[str, tuple[str, str]] = {
    "received_at": ("When the complaint was received.", "DWP step 10"),
    "previous_complaints_same_issue": (
        "How many earlier complaints there were about the same issue (fixes the stage when "
        "handled_by is absent).",
        "DWP step 9",
    ),
    "handled_by": (
        "The team handling the complaint; when given it fixes the stage.",
        "DWP intro, step 9",
    ),
    "channel": ("How the complaint was received.", "DWP step 8"),
    "escalation_causes": (
        "What the previous caseworker did or failed to do that escalated the case.",
        "DWP step 10",
    ),
    "issue_occurred_at": (
        "When the issue occurred (required with a cause; not after received_at).",
        "DWP step 10",
    ),
    "caseworkers": (
        "The caseworkers who had a chance to prevent the complaint (one at least with a cause).",
        "DWP steps 12, 13, 14",
    ),
    "team_leader_agrees": ("Whether your team leader agrees feedback is due.", "DWP step 11"),
    "form_received_at": ("When the team leader received the feedback form.", "DWP step 1"),
    "acts": ("When each obligation deadline was discharged.", "DWP steps 1–6"),
}
NOTES_CASEWORKER: dict[str, str] = {
    "id": "The caseworker's id.",
    "last_opportunity_at": "When the caseworker last had the chance to prevent the complaint.",
    "team_leader": "The caseworker's team leader.",
    "workgroup_manager": "The caseworker's workgroup manager.",
    "area_manager": "The caseworker's area manager.",
    "head_of_line_of_business": "The caseworker's head of line of business.",
}


def cross_check(values: dict, check: Check) -> None:
    """A cause needs the date the issue occurred and at least one caseworker."""
    if not values.get("escalation_causes"):
        return
    if not check.given("issue_occurred_at"):
        check.fail("/facts/issue_occurred_at", "required when there is an escalation cause")
    if not check.raw.get("caseworkers"):
        check.fail("/facts/caseworkers", "at least one caseworker is required with a cause")


def issue_not_after_receipt(values: dict, check: Check) -> None:
    """The issue is what escalated into this complaint: it cannot be dated after its receipt."""
    if "issue_occurred_at" in values and "received_at" in values:
        issue = calendar.local_date(values["issue_occurred_at"], check.timezone)
        if issue > calendar.local_date(values["received_at"], check.timezone):
            check.fail("/facts/issue_occurred_at", "dated after received_at")


def cross_check_2(values: dict, check: Check) -> None:
    """Version 2: a cause needs its issue date and a caseworker; the issue precedes receipt."""
    cross_check(values, check)
    issue_not_after_receipt(values, check)


register_fact_schema(
    "dwp-feedback.facts/2", DwpFeedbackFacts, cross_check_2, NOTES, {Caseworker: NOTES_CASEWORKER}
)


def last_opportunity(caseworkers: list[Caseworker], timezone: str) -> Caseworker | None:
    """The caseworker with the latest last opportunity; the first listed on a tie."""
    chosen: Caseworker | None = None
    latest: datetime | None = None
    for caseworker in caseworkers:
        moment = _instant(caseworker.last_opportunity_at, timezone)
        if latest is None or moment > latest:
            chosen, latest = caseworker, moment
    return chosen


def _instant(value: str, timezone: str) -> datetime:
    # A bare date stands for the start of its local day.
    parsed = calendar.parse_date_fact(value)
    if isinstance(parsed, datetime):
        return parsed
    return calendar.start_of_local_day(parsed, timezone)


def stage(facts: DwpFeedbackFacts) -> str:
    """DWP step 9: `handled_by` when given; otherwise resolution for a first complaint."""
    if facts.handled_by is not None:
        return STAGES[facts.handled_by]
    return (
        "complaint_review"
        if facts.previous_complaints_same_issue >= 1
        else ("complaint_resolution")
    )


STAGES = {
    "resolution": "complaint_resolution",
    "review": "complaint_review",
    "ice": "complaint_ice",
}


@register_derivation("dwp-feedback.derive/2")
def derive(
    facts: DwpFeedbackFacts, moment: Moment, calendar_name: str, timezone: str
) -> Mapping[str, Any]:
    """Plain values: the stage, cause, timeliness against receipt, the caseworker, the act."""
    has_cause = bool(facts.escalation_causes)
    received_on = calendar.local_date(facts.received_at, timezone)
    issue_on = (
        calendar.local_date(facts.issue_occurred_at, timezone) if facts.issue_occurred_at else None
    )
    caseworker = last_opportunity(facts.caseworkers, timezone)
    position = {None: "unknown", True: "agrees", False: "disagrees"}[facts.team_leader_agrees]
    form_at = calendar.parse_date_time(facts.form_received_at) if facts.form_received_at else None
    return {
        "channel": facts.channel,
        "stage": stage(facts),
        "has_cause": has_cause,
        "issue_recent": bool(
            has_cause and issue_on and calendar.within_six_months_before(issue_on, received_on)
        ),
        "team_leader_position": position,
        "team_leader_acted": "team_leader_action" in facts.acts,
        "form_received": form_at is not None,
        "form_received_at": calendar.utc_text(form_at) if form_at else None,
        "caseworker_id": caseworker.id if caseworker else None,
        "team_leader": caseworker.team_leader if caseworker else None,
        "workgroup_manager": caseworker.workgroup_manager if caseworker else None,
        "area_manager": caseworker.area_manager if caseworker else None,
        "head_of_line_of_business": caseworker.head_of_line_of_business if caseworker else None,
    }
