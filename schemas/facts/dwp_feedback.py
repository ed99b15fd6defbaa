"""Facts of the `dwp-feedback` policy (DWP complaints feedback process), version 2."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from schemas.facts import Acts, DateFact, DateTimeFact
from schemas.problems import SAFE_INTEGER

EscalationCause = Literal[
    "requested_actions_not_carried_out",
    "incorrect_or_incomplete_actions",
    "failed_to_keep_informed",
    "failed_to_keep_promises",
]


class Caseworker(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A caseworker who had a chance to prevent the complaint, and their line of managers."""

    id: str
    last_opportunity_at: DateFact
    team_leader: str | None = None
    workgroup_manager: str | None = None
    area_manager: str | None = None
    head_of_line_of_business: str | None = None


class DwpFeedbackFacts(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A complaint seen by Complaints Resolution/Review/ICE: is a feedback form owed, to whom."""

    received_at: DateFact
    previous_complaints_same_issue: Annotated[int, msgspec.Meta(ge=0, le=SAFE_INTEGER)] = 0
    handled_by: Literal["resolution", "review", "ice"] | None = None
    channel: Literal["phone", "letter"] | None = None
    escalation_causes: list[EscalationCause] = msgspec.field(default_factory=list)
    issue_occurred_at: DateFact | None = None
    caseworkers: list[Caseworker] = msgspec.field(default_factory=list)
    team_leader_agrees: bool | None = None
    form_received_at: DateTimeFact | None = None
    acts: Acts = msgspec.field(default_factory=dict)
