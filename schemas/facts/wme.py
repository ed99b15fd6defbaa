"""Facts of the `wme` policy (West Midlands Employers complaints policy), version 2."""

from __future__ import annotations

from typing import Literal

import msgspec

from schemas.facts import Acts, DateFact, PromisedDate

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


class WmeFacts(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
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
    resolved: bool = False
    stage_two_outcome_at: DateFact | None = None
    appeal_requested_at: DateFact | None = None
    stage_three_outcome_at: DateFact | None = None
    final_date: PromisedDate | None = None
    acts: Acts = msgspec.field(default_factory=dict)
