"""Fact Structs of the version-1 policy documents, frozen: recorded decisions replay on them.

Do not change these: a ledger's `policy` entries name `<policy>.facts/1`, which must accept and
read facts exactly as they did when the decisions were recorded.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from schemas.facts import DateFact, DateTimeFact
from schemas.problems import SAFE_INTEGER

# -- wme ---------------------------------------------------------------------------------------
Kind = Literal["complaint", "concern", "compliment", "suggestion", "comment"]
Category = Literal[
    "staff_conduct",
    "service_quality",
    "maladministration",
    "delay",
    "misconduct",
    "whistleblowing",
    "fraud",
    "government_policy",
    "political_party",
    "local_authority",
    "third_party_provider",
    "other",
]


class WmeFactsV1(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A communication to WME: what kind it is, what it is about, and how far it has got."""

    received_at: DateFact
    kind: Kind
    category: Category = "other"
    about_chief_executive: bool = False
    anonymous: bool = False
    abusive: bool = False
    in_writing: bool = False
    complex: bool = False
    upheld: bool = False
    stage_two_outcome_at: DateFact | None = None
    appeal_requested_at: DateFact | None = None


# -- dwp_feedback ------------------------------------------------------------------------------
EscalationCause = Literal[
    "requested_actions_not_carried_out",
    "incorrect_or_incomplete_actions",
    "failed_to_keep_informed",
    "failed_to_keep_promises",
]


class CaseworkerV1(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A caseworker who had a chance to prevent the complaint, and their line of managers."""

    id: str
    last_opportunity_at: DateFact
    team_leader: str | None = None
    workgroup_manager: str | None = None
    area_manager: str | None = None
    head_of_line_of_business: str | None = None


class DwpFeedbackFactsV1(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A complaint seen by Complaints Resolution/Review: is a feedback form owed, and to whom."""

    received_at: DateFact
    previous_complaints_same_issue: Annotated[int, msgspec.Meta(ge=0, le=SAFE_INTEGER)] = 0
    escalation_causes: list[EscalationCause] = msgspec.field(default_factory=list)
    issue_occurred_at: DateFact | None = None
    caseworkers: list[CaseworkerV1] = msgspec.field(default_factory=list)
    team_leader_agrees: bool | None = None
    form_received_at: DateTimeFact | None = None


# -- cmg_employer_review -----------------------------------------------------------------------
class PreviousComplaintV1(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An earlier complaint by the same employer; it counts in a window by its `received_at`."""

    received_at: DateFact
    resolved_at: DateFact | None = None


class CmgEmployerReviewFactsV1(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An employer's or agent's payment-related complaint as the complaints review team sees it."""

    received_at: DateFact
    complainant_type: Literal["employer", "agent"]
    payment_related: bool
    channel: Literal["phone", "letter", "email", "web"] = "letter"
    open_complaint_exists: bool = False
    dissatisfied_with_resolution: bool = False
    security_check_passed: bool = False
    additional_costs_claimed: bool = False
    costs_due_to_cmg_fault: bool = False
    resolution_actions_complete: bool = False
    employer_agrees_resolved: bool = False
    compensation_paid: bool = False
    dissatisfied_after_closure: bool = False
    all_actions_taken_at_resolution: bool | None = None
    previous_complaints: list[PreviousComplaintV1] = msgspec.field(default_factory=list)
    resolution_plan_issued_at: DateFact | None = None


# -- serco_es ----------------------------------------------------------------------------------
Level = Literal["service_provider", "ssm", "senior", "ministry"]
InformationItem = Literal["name", "best_time_to_contact", "details"]


class SercoEsFactsV1(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A client complaint or a service provider / SA partner dispute, and the level it is at."""

    received_at: DateFact
    complainant_type: Literal["client", "service_provider", "sa_partner"]
    level: Level | None = None
    unresolved_at_level: bool = False
    resolved: bool = False
    client_contacted_serco: bool = False
    accessibility_issue: bool = False
    urgent: bool = False
    information_provided: list[InformationItem] = msgspec.field(default_factory=list)
