"""`serco-es`: Serco employment services dispute and complaint resolution (Ontario).

Seed: `serco-employment-services-dispute-resolution.txt`; table: POLICIES.md, `serco-es`.

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
from schemas.facts.v1 import SercoEsFactsV1 as SercoEsFacts

MINISTRY_WORKING_DAYS = 20
INFORMATION = ["name", "best_time_to_contact", "details"]
LEVEL_ROLES = {
    "service_provider": "service_provider",
    "ssm": "employment_services_manager",
    "senior": "senior_employment_services_manager",
    "ministry": "ministry",
}

DOCUMENT: dict = archive.load("serco-es", 1)


def cross_check(values: dict, check: Check) -> None:
    """Service providers and SA partners do not start at the service provider level."""
    provider = values.get("complainant_type") in ("service_provider", "sa_partner")
    if provider and values.get("level") == "service_provider":
        check.fail("/facts/level", "a provider dispute starts at level ssm or above")


register_fact_schema("serco-es.facts/1", SercoEsFacts, cross_check)


@register_derivation("serco-es.derive/1")
def derive(
    facts: SercoEsFacts, moment: Moment, calendar_name: str, timezone: str
) -> Mapping[str, Any]:
    """Plain values: who complains, at which level, what is missing, is the Ministry open."""
    client = facts.complainant_type == "client"
    level = facts.level or ("service_provider" if client else "ssm")
    received_on = calendar.local_date(facts.received_at, timezone)
    missing = [item for item in INFORMATION if item not in facts.information_provided]
    escalation_from = calendar.working_days_after(received_on, MINISTRY_WORKING_DAYS, calendar_name)
    return {
        "always": True,
        "complainant_type": facts.complainant_type,
        "provider_dispute": not client,
        "level": level,
        "level_role": LEVEL_ROLES[level],
        "unresolved_at_level": facts.unresolved_at_level,
        "resolved": facts.resolved,
        "client_contacted_serco": facts.client_contacted_serco,
        "accessibility_issue": facts.accessibility_issue,
        "urgent": facts.urgent,
        "received_on": received_on.isoformat(),
        "information_missing": bool(missing),
        "missing_items": ",".join(missing),
        "ministry_escalation_open": not facts.resolved and moment.local_date > escalation_from,
        "provider_deadlines_ended": facts.resolved or facts.level in ("senior", "ministry"),
    }
