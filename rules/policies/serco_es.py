"""`serco-es`: Serco employment services dispute and complaint resolution (Ontario), version 2.

Seed: `serco-employment-services-dispute-resolution.txt`; table: POLICIES.md, `serco-es`.
Version 1 is frozen in `rules.policies.v1.serco_es` and `archive/serco-es.1.json`.
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
UNRESOLVED = (test("unresolved_at_level", True), test("resolved", False))
CLIENT = test("complainant_type", "client")
CLIENT_AT_PROVIDER = (CLIENT, test("level", "service_provider"), test("unresolved_at_level", False))
CLIENT_AT_PROVIDER_UNRESOLVED = (CLIENT, test("level", "service_provider"), *UNRESOLVED)
TO_MINISTRY = {
    "disposition": "escalate",
    "stage": "ministry",
    "route": {"role": "ministry", "assignee": None},
    "actions": [{"code": "share_with_ministry", "detail": None}],
}


def _none(code: str) -> dict:
    return {"code": code, "detail": None}


RULES: list[dict] = [
    {
        "id": "report",
        "citation": "Serco clients 10, SP 9",
        "description": "Every complaint is tracked for the quarterly report to the Ministry.",
        "when": when(test("always", True)),
        "then": {"actions": [_none("track_for_quarterly_report")]},
    },
    {
        "id": "level",
        "citation": "Serco clients 1–11, SP 1–6",
        "description": "The complaint is handled at its current level.",
        "when": when(test("always", True)),
        "then": {
            "disposition": "accept",
            "stage": {"$map": "level", "table": {level: level for level in LEVEL_ROLES}},
            "route": {"role": {"$map": "level", "table": LEVEL_ROLES}, "assignee": None},
        },
    },
    {
        "id": "client_at_provider",
        "citation": "Serco clients 2, 5",
        "description": "The service provider responds within 1 business day, resolving in writing.",
        "when": when(*CLIENT_AT_PROVIDER),
        "then": {
            "deadlines": [
                {"name": "respond", "due": {"working_days_after": "received_on", "n": 1}}
            ],
            "actions": [_none("provide_written_resolution")],
        },
    },
    {
        "id": "client_timeline",
        "citation": "Serco clients 4",
        "description": "The service provider agrees a reasonable timeline for its response.",
        "when": when(*CLIENT_AT_PROVIDER, test("resolved", False)),
        "then": {"actions": [_none("agree_response_timeline")]},
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
        "citation": "Serco SP intro, 1, 2, 6",
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
            "flags": ["no_penalty"],
            "eligibility": {"ministry_escalation": False},
        },
    },
    {
        "id": "provider_timeframe",
        "citation": "Serco SP 3",
        "description": "The ESM and SPM agree a timeframe for resolution.",
        "when": when(PROVIDER, test("resolved", False)),
        "then": {"actions": [_none("agree_resolution_timeframe")]},
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
        "then": {"actions": [_none("advise_ministry_now")]},
    },
    {
        "id": "to_ssm",
        "citation": "Serco clients 6, 8",
        "description": "Unresolved at the provider: Serco's Employment Services Manager takes it.",
        "when": when(*CLIENT_AT_PROVIDER_UNRESOLVED),
        "then": {
            "disposition": "escalate",
            "stage": "ssm",
            "route": {"role": "employment_services_manager", "assignee": None},
            "actions": [_none("notify_serco_immediately"), _none("notify_client_in_writing")],
        },
    },
    {
        "id": "esm_calls",
        "citation": "Serco clients 7",
        "description": "The ESM contacts a client who has not yet contacted Serco.",
        "when": when(*CLIENT_AT_PROVIDER_UNRESOLVED, test("client_contacted_serco", False)),
        "then": {"actions": [_none("esm_contacts_client")]},
    },
    {
        "id": "to_senior",
        "citation": "Serco clients 9, SP 5",
        "description": "Unresolved at the SSM: the Senior ESM and Managing Director take it.",
        "when": when(test("to_senior", True)),
        "then": {
            "disposition": "escalate",
            "stage": "senior",
            "route": {"role": "senior_employment_services_manager", "assignee": None},
            "notify": [{"role": "managing_director_employment_services", "assignee": None}],
        },
    },
    {
        "id": "to_ministry",
        "citation": "Serco clients 11",
        "description": "A client's complaint unresolved at senior level: escalated to and shared "
        "with the Ministry.",
        "when": when(test("complainant_type", "client"), test("level", "senior"), *UNRESOLVED),
        "then": TO_MINISTRY,
    },
    {
        "id": "provider_to_ministry",
        "citation": "Serco SP 6",
        "description": "A party recommends it once the 20 working days have passed: the "
        "dispute is escalated to the Ministry.",
        "when": when(test("provider_to_ministry", True)),
        "then": TO_MINISTRY,
    },
    {
        "id": "provider_informed",
        "citation": "Serco SP 7",
        "description": "Any escalation is shared with the service provider in writing.",
        "when": when(PROVIDER, test("provider_escalated", True)),
        "then": {"actions": [_none("inform_provider_in_writing")]},
    },
    {
        "id": "accessibility",
        "citation": "Serco overview",
        "description": "Accessibility at issue: follow the provider's accessibility process.",
        "when": when(test("accessibility_issue", True)),
        "then": {
            "flags": ["accessibility"],
            "actions": [_none("follow_accessibility_process")],
        },
    },
    {
        "id": "resolved",
        "citation": "Serco clients 5, SP 8",
        "description": "The complaint is resolved: close it.",
        "when": when(test("resolved", True)),
        "then": {"disposition": "close"},
    },
    {
        "id": "provider_resolution",
        "citation": "Serco SP 8",
        "description": "The ESM provides the resolution of the dispute in writing.",
        "when": when(PROVIDER, test("resolved", True)),
        "then": {"actions": [_none("provide_written_resolution")]},
    },
]

DOCUMENT: dict = {
    "format": "redress.ruleset/2",
    "id": "serco-es",
    "title": "Serco employment services dispute and complaint resolution",
    "seed": "serco-employment-services-dispute-resolution.txt",
    "calendar": "ontario",
    "timezone": "America/Toronto",
    "facts": "serco-es.facts/2",
    "derive": "serco-es.derive/2",
    "deadlines": {"respond": "obligation", "ministry_escalation_available": "opens"},
    "rules": RULES,
}

NOTES: dict[str, tuple[str, str]] = {
    "received_at": ("When the complaint or dispute was received.", "Serco clients 2, SP 2"),
    "complainant_type": ("A client, a service provider or an SA partner.", "Serco overview"),
    "level": (
        "The level handling it (default service_provider for a client, ssm otherwise).",
        "Serco clients 1–11, SP 1–6",
    ),
    "unresolved_at_level": ("It could not be resolved at its level.", "Serco clients 6, 9"),
    "resolved": ("It has been resolved.", "Serco clients 5, SP 8"),
    "client_contacted_serco": ("The client has already contacted Serco.", "Serco clients 7"),
    "accessibility_issue": ("Accessibility is at issue.", "Serco overview"),
    "urgent": ("The dispute is urgent.", "Serco SP 9"),
    "ministry_escalation_recommended": (
        "A party to a provider dispute has recommended escalation to the Ministry.",
        "Serco SP 6",
    ),
    "information_provided": ("Which of the three items the client gave.", "Serco clients 3"),
    "acts": ("When each obligation deadline was discharged.", "Serco clients 2, SP 2"),
}


def cross_check(values: dict, check: Check) -> None:
    """Service providers and SA partners do not start at the service provider level."""
    provider = values.get("complainant_type") in ("service_provider", "sa_partner")
    if provider and values.get("level") == "service_provider":
        check.fail("/facts/level", "a provider dispute starts at level ssm or above")


register_fact_schema("serco-es.facts/2", SercoEsFacts, cross_check, NOTES)


@register_derivation("serco-es.derive/2")
def derive(
    facts: SercoEsFacts, moment: Moment, calendar_name: str, timezone: str
) -> Mapping[str, Any]:
    """Plain values: who complains, at which level, what is missing, is the Ministry open."""
    client = facts.complainant_type == "client"
    level = facts.level or ("service_provider" if client else "ssm")
    received_on = calendar.local_date(facts.received_at, timezone)
    missing = [item for item in INFORMATION if item not in facts.information_provided]
    escalation_from = calendar.working_days_after(received_on, MINISTRY_WORKING_DAYS, calendar_name)
    unresolved = facts.unresolved_at_level and not facts.resolved
    ministry_open = not client and not facts.resolved and moment.local_date > escalation_from
    to_senior = level == "ssm" and unresolved
    # SP 6: only once the option is open, only on a party's recommendation, never while resolved.
    provider_to_ministry = (
        ministry_open and level in ("ssm", "senior") and facts.ministry_escalation_recommended
    )
    return {
        "always": True,
        "complainant_type": facts.complainant_type,
        "provider_dispute": not client,
        "level": level,
        "unresolved_at_level": facts.unresolved_at_level,
        "resolved": facts.resolved,
        "client_contacted_serco": facts.client_contacted_serco,
        "accessibility_issue": facts.accessibility_issue,
        "urgent": facts.urgent,
        "received_on": received_on.isoformat(),
        "information_missing": bool(missing),
        "missing_items": ",".join(missing),
        "ministry_escalation_open": ministry_open,
        "to_senior": to_senior,
        "provider_to_ministry": provider_to_ministry,
        "provider_escalated": not client and (to_senior or provider_to_ministry),
        "provider_deadlines_ended": facts.resolved or facts.level in ("senior", "ministry"),
    }
