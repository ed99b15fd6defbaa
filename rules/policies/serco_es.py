"""`serco-es`: Serco employment services dispute and complaint resolution (Ontario).

Seed: `serco-employment-services-dispute-resolution.txt`; table: POLICIES.md, `serco-es`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rules import calendar
from rules.policies.conditions import ref, test, when
from rules.registry import register_derivation, register_fact_schema
from rules.validation import Check, Moment
from schemas.facts.serco_es import SercoEsFacts

MINISTRY_WORKING_DAYS = 20
INFORMATION = ["name", "best_time_to_contact", "details"]
LEVEL_ROLES = {
    "service_provider": "service_provider",
    "ssm": "employment_services_manager",
    "senior": "senior_employment_services_manager",
    "ministry": "ministry",
}
PROVIDER = test("provider_dispute", True)
CLIENT_AT_PROVIDER = (test("complainant_type", "client"), test("level", "service_provider"))
UNRESOLVED = (test("unresolved_at_level", True), test("resolved", False))

RULES: list[dict] = [
    {
        "id": "report",
        "citation": "Serco clients 10, SP 9",
        "description": "Every complaint is tracked for the quarterly report to the Ministry.",
        "when": when(test("always", True)),
        "then": {"actions": [{"code": "track_for_quarterly_report", "detail": None}]},
    },
    {
        "id": "level",
        "citation": "Serco clients 1–11, SP 1–6",
        "description": "The complaint is handled at its current level.",
        "when": when(test("always", True)),
        "then": {
            "disposition": "accept",
            "stage": ref("level"),
            "route": {"role": ref("level_role"), "assignee": None},
        },
    },
    {
        "id": "client_at_provider",
        "citation": "Serco clients 2, 5",
        "description": "The service provider responds within 1 business day, resolving in writing.",
        "when": when(*CLIENT_AT_PROVIDER, test("unresolved_at_level", False)),
        "then": {
            "deadlines": [
                {"name": "respond", "due": {"working_days_after": "received_on", "n": 1}}
            ],
            "actions": [{"code": "provide_written_resolution", "detail": None}],
        },
    },
    {
        "id": "missing_information",
        "citation": "Serco clients 3",
        "description": "Ask the client for their name, best time to contact and details.",
        "when": when(test("complainant_type", "client"), test("information_missing", True)),
        "then": {"actions": [{"code": "request_information", "detail": ref("missing_items")}]},
    },
    {
        "id": "provider_dispute",
        "citation": "Serco SP intro, 1–3, 6",
        "description": "The ESM responds to a provider dispute within 1 business day; "
        "no penalty for raising it.",
        "when": when(PROVIDER),
        "then": {
            "deadlines": [
                {
                    "name": "respond",
                    "due": {"working_days_after": "received_on", "n": 1},
                    "ends_when": "provider_deadlines_ended",
                },
                {
                    "name": "ministry_escalation_available",
                    "due": {"working_days_after": "received_on", "n": MINISTRY_WORKING_DAYS},
                    "ends_when": "provider_deadlines_ended",
                },
            ],
            "actions": [{"code": "agree_resolution_timeframe", "detail": None}],
            "flags": ["no_penalty"],
            "eligibility": {"ministry_escalation": False},
        },
    },
    {
        "id": "ministry_option",
        "citation": "Serco SP 6",
        "description": "Unresolved after 20 working days: either party may go to the Ministry.",
        "when": when(PROVIDER, test("ministry_escalation_open", True)),
        "then": {"eligibility": {"ministry_escalation": True}},
    },
    {
        "id": "urgent",
        "citation": "Serco SP 9",
        "description": "An urgent dispute is reported to the Ministry now, not quarterly.",
        "when": when(PROVIDER, test("urgent", True)),
        "then": {"actions": [{"code": "advise_ministry_now", "detail": None}]},
    },
    {
        "id": "to_ssm",
        "citation": "Serco clients 6, 8",
        "description": "Unresolved at the provider: Serco's Employment Services Manager takes it.",
        "when": when(*CLIENT_AT_PROVIDER, *UNRESOLVED),
        "then": {
            "disposition": "escalate",
            "stage": "ssm",
            "route": {"role": "employment_services_manager", "assignee": None},
            "actions": [
                {"code": "notify_serco_immediately", "detail": None},
                {"code": "notify_client_in_writing", "detail": None},
            ],
        },
    },
    {
        "id": "esm_calls",
        "citation": "Serco clients 7",
        "description": "The ESM contacts a client who has not yet contacted Serco.",
        "when": when(*CLIENT_AT_PROVIDER, *UNRESOLVED, test("client_contacted_serco", False)),
        "then": {"actions": [{"code": "esm_contacts_client", "detail": None}]},
    },
    {
        "id": "to_senior",
        "citation": "Serco clients 9, SP 5",
        "description": "Unresolved at the SSM: the Senior ESM and Managing Director take it.",
        "when": when(test("level", "ssm"), *UNRESOLVED),
        "then": {
            "disposition": "escalate",
            "stage": "senior",
            "route": {"role": "senior_employment_services_manager", "assignee": None},
            "notify": [{"role": "managing_director_employment_services", "assignee": None}],
        },
    },
    {
        "id": "to_ministry",
        "citation": "Serco clients 11, SP 6",
        "description": "Unresolved at senior level: escalated to and shared with the Ministry.",
        "when": when(test("level", "senior"), *UNRESOLVED),
        "then": {
            "disposition": "escalate",
            "stage": "ministry",
            "route": {"role": "ministry", "assignee": None},
            "actions": [{"code": "share_with_ministry", "detail": None}],
        },
    },
    {
        "id": "accessibility",
        "citation": "Serco overview",
        "description": "Accessibility at issue: follow the provider's accessibility process.",
        "when": when(test("accessibility_issue", True)),
        "then": {
            "flags": ["accessibility"],
            "actions": [{"code": "follow_accessibility_process", "detail": None}],
        },
    },
    {
        "id": "resolved",
        "citation": "Serco clients 5, SP 8",
        "description": "The complaint is resolved: close it.",
        "when": when(test("resolved", True)),
        "then": {"disposition": "close"},
    },
]

DOCUMENT: dict = {
    "format": "redress.ruleset/1",
    "id": "serco-es",
    "title": "Serco employment services dispute and complaint resolution",
    "seed": "serco-employment-services-dispute-resolution.txt",
    "calendar": "ontario",
    "timezone": "America/Toronto",
    "facts": "serco-es.facts/1",
    "derive": "serco-es.derive/1",
    "rules": RULES,
}


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
