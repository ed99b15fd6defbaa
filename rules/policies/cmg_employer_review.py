"""`cmg-employer-review`: CMG employer payment-related complaint at review, version 2.

Seed: `cmg-employer-review-payment-complaint.txt`; table: POLICIES.md, `cmg-employer-review`.
Version 1 is frozen in `rules.policies.v1.cmg_employer_review` and its archived JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rules import calendar
from rules.policies.conditions import ref, test, when
from rules.registry import register_derivation, register_fact_schema
from rules.validation import Moment
from schemas.facts.cmg_employer_review import CmgEmployerReviewFacts, PreviousComplaint

REVIEW = test("review_eligible", True)


def _letter(code: str) -> dict:
    return {"code": "issue_letter", "detail": code}


RULES: list[dict] = [
    {
        "id": "resolution_level",
        "citation": "CMG step 4, intro",
        "description": "No recent previous complaint and no dissatisfaction with the resolution: "
        "back to the employer payments team.",
        "when": when(test("review_eligible", False)),
        "then": {
            "disposition": "refer",
            "stage": "resolution",
            "route": {"role": "employer_payments_team", "assignee": None},
        },
    },
    {
        "id": "review",
        "citation": "CMG intro, step 5",
        "description": "The complaints review team, independent of employer payments, reviews it.",
        "when": when(REVIEW),
        "then": {
            "disposition": "accept",
            "stage": "review",
            "route": {"role": "complaints_review_team", "assignee": None},
            "flags": ["independent_of_employer_payments_team"],
            "actions": [
                {
                    "code": "create_service_request",
                    "detail": "Process=Employer; Area=Complaints; Sub Area=Review; "
                    "Status=In Progress",
                }
            ],
        },
    },
    {
        "id": "phone_security",
        "citation": "CMG step 2",
        "description": "An employer or agent on the phone must pass a security check.",
        "when": when(REVIEW, test("channel", "phone"), test("security_check_passed", False)),
        "then": {"actions": [{"code": "security_check", "detail": None}]},
    },
    {
        "id": "acknowledge",
        "citation": "CMG step 2",
        "description": "A complaint not made by phone is acknowledged with CMSL8505.",
        "when": when(REVIEW, test("by_phone", False)),
        "then": {"actions": [_letter("CMSL8505")]},
    },
    {
        "id": "repeat_complainer",
        "citation": "CMG assurance note",
        "description": "Two or more complaints in six months: consider an account manager.",
        "when": when(test("repeat_complainer", True)),
        "then": {
            "flags": ["repeat_complainer"],
            "actions": [{"code": "consider_account_manager", "detail": None}],
        },
    },
    {
        "id": "costs",
        "citation": "CMG reimburse",
        "description": "Extra costs claimed: ask for evidence; reimbursed if CMG was at fault.",
        "when": when(REVIEW, test("additional_costs_claimed", True)),
        "then": {
            "actions": [_letter("CMSL8503")],
            "eligibility": {"reimbursement": ref("costs_due_to_cmg_fault")},
        },
    },
    {
        "id": "plan",
        "citation": "CMG steps 9–12",
        "description": "Action was missed at resolution: plan it, tell the employer, hand it over.",
        "when": when(
            REVIEW,
            test("all_actions_taken_at_resolution", "no"),
            test("resolution_actions_complete", False),
        ),
        "then": {
            "actions": [
                {"code": "create_resolution_plan", "detail": None},
                _letter("CMSL8504"),
                {"code": "assign_to_employer_payments_team", "detail": None},
            ]
        },
    },
    {
        "id": "plan_wait",
        "citation": "CMG step 11",
        "description": "After the resolution plan is issued, allow seven days for a response.",
        "when": when(test("plan_issued", True)),
        "then": {
            "deadlines": [
                {
                    "name": "employer_response",
                    "due": {"days_after": "plan_issued_on", "n": 7},
                    "ends_when": "employer_response_ended",
                }
            ]
        },
    },
    {
        "id": "closable",
        "citation": "CMG intro, steps 13, 16",
        "description": "All actions are done: close once the employer agrees or is compensated.",
        "when": when(REVIEW, test("actions_done", True)),
        "then": {
            "eligibility": {"close": ref("employer_satisfied")},
            "choose": {
                "if": "employer_satisfied",
                "then": {"disposition": "close", "actions": [_letter("CMSL8506")]},
                "else": {"actions": [{"code": "seek_employer_agreement", "detail": None}]},
            },
        },
    },
    {
        "id": "ice",
        "citation": "CMG step 17",
        "description": "Still dissatisfied after closure: refer to the Independent Case Examiner.",
        "when": when(test("dissatisfied_after_closure", True)),
        "then": {
            "eligibility": {"independent_case_examiner": True},
            "actions": [{"code": "refer_to_ice", "detail": None}],
        },
    },
    {
        "id": "open_complaint",
        "citation": "CMG step 1",
        "description": "A complaint is already open: a call is warm transferred to its handler, "
        "any other correspondence assigned to the team dealing with it.",
        "when": when(test("open_complaint_exists", True)),
        "exclusive": True,
        "then": {
            "disposition": "refer",
            "stage": None,
            "route": {"role": "open_complaint_team", "assignee": None},
            "choose": {
                "if": "by_phone",
                "then": {"actions": [{"code": "warm_transfer", "detail": None}]},
                "else": {"actions": [{"code": "assign_to_handling_team", "detail": None}]},
            },
        },
    },
    {
        "id": "not_payment_related",
        "citation": "CMG final note",
        "description": "Not about payments: use the third party complaints procedure.",
        "when": when(test("payment_related", False)),
        "exclusive": True,
        "then": {
            "disposition": "refer",
            "stage": None,
            "route": None,
            "actions": [{"code": "use_third_party_procedure", "detail": None}],
        },
    },
]

DOCUMENT: dict = {
    "format": "redress.ruleset/2",
    "id": "cmg-employer-review",
    "title": "CMG employer payment-related complaint at review",
    "seed": "cmg-employer-review-payment-complaint.txt",
    "calendar": "england-and-wales",
    "timezone": "Europe/London",
    "facts": "cmg-employer-review.facts/2",
    "derive": "cmg-employer-review.derive/2",
    "deadlines": {"employer_response": "window"},
    "rules": RULES,
}

NOTES: dict[str, tuple[str, str]] = {
    "received_at": ("When the complaint reached the complaints review team.", "CMG step 4"),
    "complainant_type": ("An employer or their agent.", "CMG intro"),
    "payment_related": ("The complaint is about DEOs or payments.", "CMG final note"),
    "channel": ("How the complaint was received (default letter).", "CMG steps 1, 2"),
    "open_complaint_exists": ("A complaint service request is already open.", "CMG step 1"),
    "dissatisfied_with_resolution": (
        "The employer or agent is dissatisfied with the resolution action.",
        "CMG intro",
    ),
    "security_check_passed": ("The phone security check was passed.", "CMG steps 2, 3"),
    "additional_costs_claimed": ("The employer claims additional costs.", "CMG reimburse"),
    "costs_due_to_cmg_fault": ("The costs were incurred through CMG's fault.", "CMG reimburse"),
    "resolution_actions_complete": (
        "The employer payments team has completed the resolution plan.",
        "CMG steps 14, 15",
    ),
    "employer_agrees_resolved": ("The employer agrees the matter is resolved.", "CMG intro"),
    "compensation_paid": ("Compensation has been paid.", "CMG step 13"),
    "dissatisfied_after_closure": ("The employer remains dissatisfied.", "CMG step 17"),
    "all_actions_taken_at_resolution": (
        "Whether all available action was taken at resolution (absent: not yet decided).",
        "CMG step 8",
    ),
    "previous_complaints": (
        "Earlier complaints by the employer; each counts in a window by its received_at.",
        "CMG intro, step 4",
    ),
    "resolution_plan_issued_at": ("When the resolution plan CMSL8504 was issued.", "CMG step 11"),
    "acts": ("Obligations discharged: this policy has none, so only null members.", "CMG step 11"),
}
NOTES_PREVIOUS: dict[str, str] = {
    "received_at": "When the earlier complaint was received.",
    "resolved_at": "When the earlier complaint was resolved.",
}

register_fact_schema(
    "cmg-employer-review.facts/2",
    CmgEmployerReviewFacts,
    None,
    NOTES,
    {PreviousComplaint: NOTES_PREVIOUS},
)


@register_derivation("cmg-employer-review.derive/2")
def derive(
    facts: CmgEmployerReviewFacts, moment: Moment, calendar_name: str, timezone: str
) -> Mapping[str, Any]:
    """Plain values: review eligibility from recent complaints, the plan, closure."""
    received_on = calendar.local_date(facts.received_at, timezone)
    recent = sum(
        calendar.within_six_months_before(
            calendar.local_date(previous.received_at, timezone), received_on
        )
        for previous in facts.previous_complaints
    )
    review_eligible = recent >= 1 or facts.dissatisfied_with_resolution
    all_taken = {None: "unknown", True: "yes", False: "no"}[facts.all_actions_taken_at_resolution]
    actions_done = facts.all_actions_taken_at_resolution is True or (
        facts.resolution_actions_complete
    )
    satisfied = facts.employer_agrees_resolved or facts.compensation_paid
    closes = review_eligible and actions_done and satisfied
    plan_on = (
        calendar.local_date(facts.resolution_plan_issued_at, timezone)
        if facts.resolution_plan_issued_at
        else None
    )
    return {
        "review_eligible": review_eligible,
        "repeat_complainer": recent >= 2,
        "channel": facts.channel,
        "by_phone": facts.channel == "phone",
        "security_check_passed": facts.security_check_passed,
        "additional_costs_claimed": facts.additional_costs_claimed,
        "costs_due_to_cmg_fault": facts.costs_due_to_cmg_fault,
        "all_actions_taken_at_resolution": all_taken,
        "resolution_actions_complete": facts.resolution_actions_complete,
        "actions_done": actions_done,
        "employer_satisfied": satisfied,
        "plan_issued": plan_on is not None,
        "plan_issued_on": plan_on.isoformat() if plan_on else None,
        "employer_response_ended": facts.resolution_actions_complete or closes,
        "dissatisfied_after_closure": facts.dissatisfied_after_closure,
        "open_complaint_exists": facts.open_complaint_exists,
        "payment_related": facts.payment_related,
    }
