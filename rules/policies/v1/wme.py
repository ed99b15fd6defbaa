"""`wme`: the West Midlands Employers comments, compliments and complaints policy.

Seed: `wme-complaints-policy.txt`; table: POLICIES.md, section `wme`.

Version 1, frozen: the document is the archived JSON, and these Python parts stay registered
under their /1 names so that decisions recorded under it replay identically.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rules import calendar
from rules.policies import archive
from rules.registry import register_derivation, register_fact_schema
from rules.validation import Check, Moment
from schemas.facts.v1 import WmeFactsV1 as WmeFacts

APPEAL_WORKING_DAYS = 10


DOCUMENT: dict = archive.load("wme", 1)


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
