"""Facts of the `cmg-employer-review` policy (CMG employer payment complaint at review), v2."""

from __future__ import annotations

from typing import Literal

import msgspec

from schemas.facts import Acts, DateFact


class PreviousComplaint(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An earlier complaint by the same employer; it counts in a window by its `received_at`."""

    received_at: DateFact
    resolved_at: DateFact | None = None


class CmgEmployerReviewFacts(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
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
    previous_complaints: list[PreviousComplaint] = msgspec.field(default_factory=list)
    resolution_plan_issued_at: DateFact | None = None
    acts: Acts = msgspec.field(default_factory=dict)
