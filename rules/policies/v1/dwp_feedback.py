"""`dwp-feedback`: the DWP complaints feedback process.

Seed: `dwp-complaints-feedback-process.txt`; table: POLICIES.md, section `dwp-feedback`.

Version 1, frozen: the document is the archived JSON, and these Python parts stay registered
under their /1 names so that decisions recorded under it replay identically.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rules import calendar
from rules.policies import archive
from rules.registry import register_derivation, register_fact_schema
from rules.validation import Check, Moment
from schemas.facts.v1 import CaseworkerV1 as Caseworker
from schemas.facts.v1 import DwpFeedbackFactsV1 as DwpFeedbackFacts

DOCUMENT: dict = archive.load("dwp-feedback", 1)


def cross_check(values: dict, check: Check) -> None:
    """A cause needs the date the issue occurred and at least one caseworker."""
    if not values.get("escalation_causes"):
        return
    if not check.given("issue_occurred_at"):
        check.fail("/facts/issue_occurred_at", "required when there is an escalation cause")
    if not check.raw.get("caseworkers"):
        check.fail("/facts/caseworkers", "at least one caseworker is required with a cause")


register_fact_schema("dwp-feedback.facts/1", DwpFeedbackFacts, cross_check)


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


@register_derivation("dwp-feedback.derive/1")
def derive(
    facts: DwpFeedbackFacts, moment: Moment, calendar_name: str, timezone: str
) -> Mapping[str, Any]:
    """Plain values: review or resolution, cause, timeliness, the caseworker and their managers."""
    has_cause = bool(facts.escalation_causes)
    issue_on = (
        calendar.local_date(facts.issue_occurred_at, timezone) if facts.issue_occurred_at else None
    )
    caseworker = last_opportunity(facts.caseworkers, timezone)
    position = {None: "unknown", True: "agrees", False: "disagrees"}[facts.team_leader_agrees]
    form_at = calendar.parse_date_time(facts.form_received_at) if facts.form_received_at else None
    return {
        "at_review": facts.previous_complaints_same_issue >= 1,
        "has_cause": has_cause,
        "issue_recent": bool(
            has_cause
            and issue_on
            and calendar.within_six_months_before(issue_on, moment.local_date)
        ),
        "team_leader_position": position,
        "form_received": form_at is not None,
        "form_received_at": calendar.utc_text(form_at) if form_at else None,
        "caseworker_id": caseworker.id if caseworker else None,
        "team_leader": caseworker.team_leader if caseworker else None,
        "workgroup_manager": caseworker.workgroup_manager if caseworker else None,
        "area_manager": caseworker.area_manager if caseworker else None,
        "head_of_line_of_business": caseworker.head_of_line_of_business if caseworker else None,
    }
