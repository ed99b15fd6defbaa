"""`cmg-employer-review`: CMG employer payment-related complaint at review.

Seed: `cmg-employer-review-payment-complaint.txt`; table: POLICIES.md, `cmg-employer-review`.

Version 1, frozen: the document is the archived JSON, and these Python parts stay registered
under their /1 names so that decisions recorded under it replay identically.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rules import calendar
from rules.policies import archive
from rules.registry import register_derivation, register_fact_schema
from rules.validation import Moment
from schemas.facts.v1 import CmgEmployerReviewFactsV1 as CmgEmployerReviewFacts

DOCUMENT: dict = archive.load("cmg-employer-review", 1)

register_fact_schema("cmg-employer-review.facts/1", CmgEmployerReviewFacts)


@register_derivation("cmg-employer-review.derive/1")
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
