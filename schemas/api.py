"""Request and response bodies of the HTTP API (CONTRACT.md, "HTTP API").

Request Structs are closed (`forbid_unknown_fields`): the OpenAPI document says
`additionalProperties: false` for them. `facts` and `personal` are free-form objects here; the
facts are checked per policy by `rules`, and personal data is never read at all.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from schemas.decision import Receipt, RecordedDecision, Route
from schemas.ledger import Entry

Identifier = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[0-9a-f]{32}$",
        description="A random identifier: 32 lowercase hex digits.",
    ),
]
AsOf = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        extra_json_schema={"format": "date-time"},
        description=(
            "The instant the decision is taken for: an RFC 3339 date-time with offset, in a "
            "year from 1900 to 2999 (a leap second, :60, cannot be held). The server clock "
            "(UTC) when absent."
        ),
        examples=["2026-11-24T09:00:00Z"],
    ),
]
Facts = Annotated[
    dict[str, Any],
    msgspec.Meta(
        description=(
            "The complaint's facts, as POLICIES.md names them for the policy; checked by the "
            "policy (422 naming every offending fact)."
        ),
        examples=[{"received_at": "2025-12-23", "kind": "complaint", "category": "misconduct"}],
    ),
]
Purpose = Annotated[
    Literal["live", "test", "preview"],
    msgspec.Meta(
        description=(
            "Why the decision is taken: `live` (the default) for a real complaint, `test` or "
            "`preview` otherwise. It is recorded; reports count only `live`. A `live` decision's "
            "`as_of` may be at most 5 minutes past the server clock (422 otherwise); `test` and "
            "`preview` may be dated anywhere."
        )
    ),
]
PolicyId = Annotated[str, msgspec.Meta(description="A policy id, as GET /v1/policies lists.")]
NO_NUL = r"^[^\x00]*$"  # text a store keeps as text: PostgreSQL's cannot hold U+0000
ClientText = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=200,
        pattern=NO_NUL,
        description=(
            "A reference of the client system's own: `reference` names the case there "
            "(searchable); `complainant` is an opaque complainant reference (kept outside the "
            "ledger, erased with the personal data, used only to find repeat complainants)."
        ),
    ),
]


class DecisionRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """POST /v1/decisions: evaluate these facts under a policy, now or at `as_of`."""

    policy: PolicyId
    facts: Facts
    as_of: AsOf | None = None
    purpose: Purpose = "live"


class CaseRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """POST /v1/cases: open a case with its first facts and, optionally, personal data."""

    policy: PolicyId
    facts: Facts
    personal: (
        Annotated[
            dict[str, Any],
            msgspec.Meta(
                description=(
                    "Free-form personal data (names, contact details, narrative): kept "
                    "encrypted outside the ledger, never given to the rules."
                )
            ),
        ]
        | None
    ) = None
    as_of: AsOf | None = None
    purpose: Purpose = "live"
    reference: ClientText | None = None
    complainant: ClientText | None = None


class CaseEvent(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """POST /v1/cases/{case_id}/events: new or changed facts, merged fact by fact and `acts`
    name by name (null removes a fact or an act; a Serco `level` change drops
    `unresolved_at_level` and `resolved` unless the event gives them). The event is decided
    under the case's `purpose`: a `live` case's events refuse an `as_of` in the future."""

    facts: Facts
    as_of: AsOf | None = None


PersonalState = Literal["none", "sealed", "erased"]


ObligationStatus = Literal["met", "late", "open", "overdue", "lapsed"]


class Obligation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A row of a case's obligation register (CONTRACT.md, "The obligation register"): one per
    obligation deadline any of the case's decisions listed, in the order first listed."""

    name: str
    rule: str
    due: str
    done_at: str | None
    status: ObligationStatus
    first_decision_id: str
    last_decision_id: str


CaseState = Literal["open", "closed"]


class Case(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A case: its current (merged) facts, every decision taken on it, oldest first, and its
    obligation register. Besides CONTRACT.md's fields: `purpose` (its events inherit it),
    `reference`, `opened_at` and `personal` (`none`, `sealed` or `erased`)."""

    case_id: str
    policy: str
    state: CaseState
    purpose: Literal["live", "test", "preview"]
    reference: str | None
    opened_at: str
    facts: dict[str, Any]
    personal: PersonalState
    decisions: list[RecordedDecision]
    obligations: list[Obligation]


class CaseSummary(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A case in a listing: `overdue` names its obligations overdue at `overdue_as_of` (or, when
    the listing is not filtered by it, now)."""

    case_id: str
    policy: str
    state: CaseState
    opened_at: str
    stage: str | None
    route: Route | None
    overdue: list[str]


class CasePage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """GET /v1/cases: cases oldest first, at most `limit` and at most 4 MiB encoded a page;
    `next_cursor` continues the listing (null at its end)."""

    items: list[CaseSummary]
    next_cursor: str | None


class Erasure(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """DELETE /v1/cases/{case_id}/personal: the ledger entry that records the erasure."""

    case_id: str
    ledger: Receipt


class DecisionPage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """GET /v1/decisions: recorded decisions newest first, at most `limit` and at most 4 MiB
    encoded a page; `next_cursor` continues the listing (null at its end)."""

    items: list[RecordedDecision]
    next_cursor: str | None


class EntryPage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """GET /v1/ledger/entries: entries in order, at most `limit` of them and at most 4 MiB
    encoded; `next_cursor` is where the next page starts (null at the end of the ledger)."""

    items: list[Entry]
    next_cursor: str | None


class Report(msgspec.Struct, kw_only=True):
    """GET /v1/reports/{name}: what every report starts with (CONTRACT.md, "Reports"), then its
    own sections (`rows`, `flags`, `quarter`, `complaints`…), which differ by report. With
    `Accept: text/csv`, the same rows as CSV."""

    report: Literal["register", "routing", "timeliness", "serco-quarterly", "repeat-complainers"]
    from_: Annotated[
        str | None, msgspec.Meta(description="The first local date, inclusive (none: no bound).")
    ] = msgspec.field(name="from")
    to: Annotated[
        str | None, msgspec.Meta(description="The last local date, inclusive (none: no bound).")
    ]
    policy: str | None
    tree_size: Annotated[
        int, msgspec.Meta(ge=0, description="The ledger state it was computed at.")
    ]
    root_hash: Annotated[str, msgspec.Meta(description="That tree's root hash, hex.")]


class Health(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """GET /health: the service is alive (GET /ready says whether the store takes writes)."""

    status: Literal["ok"]


class PersonalData(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """GET /v1/cases/{case_id}/personal: the case's latest personal data, decrypted (null when
    the case was opened without any)."""

    case_id: str
    personal: dict[str, Any] | None


Role = Literal["decide", "audit", "admin"]
KeyName = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=200,
        pattern=NO_NUL,
        description="What the key is for (shown in lists).",
    ),
]


class KeyRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """POST /v1/keys: a new API key with a role and, optionally, a name."""

    role: Role
    name: KeyName | None = None


class KeyView(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An API key as listed: its public id, role, name, and when it was created and revoked
    (the times its `create` and `revoke` ledger entries were recorded, which `redress verify`
    checks; never the secret or its hash)."""

    key_id: str
    role: Role
    name: str | None
    created_at: str
    revoked_at: str | None


class KeyPage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """GET /v1/keys: API keys oldest first, at most `limit` a page; `next_cursor` continues the
    listing (null at its end)."""

    items: list[KeyView]
    next_cursor: str | None


class CreatedKey(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """POST /v1/keys: the new key. `key` is the secret, in this response only (never stored,
    so a replay of this request through `Idempotency-Key` answers `key: null`)."""

    key: str | None
    key_id: str
    role: Role
    name: str | None
    created_at: str
