"""Facts of the `serco-es` policy (Serco employment services disputes, Ontario), version 2."""

from __future__ import annotations

from typing import Literal

import msgspec

from schemas.facts import Acts, DateFact

Level = Literal["service_provider", "ssm", "senior", "ministry"]
InformationItem = Literal["name", "best_time_to_contact", "details"]


class SercoEsFacts(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A client complaint or a service provider / SA partner dispute, and the level it is at."""

    received_at: DateFact
    complainant_type: Literal["client", "service_provider", "sa_partner"]
    level: Level | None = None
    unresolved_at_level: bool = False
    resolved: bool = False
    client_contacted_serco: bool = False
    accessibility_issue: bool = False
    urgent: bool = False
    ministry_escalation_recommended: bool = False
    information_provided: list[InformationItem] = msgspec.field(default_factory=list)
    acts: Acts = msgspec.field(default_factory=dict)
