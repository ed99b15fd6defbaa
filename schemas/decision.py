"""The routing decision: what `rules.evaluate` returns and what the API and ledger carry.

Shapes follow ../shared/spec/POLICIES.md ("Decision outcome") and CONTRACT.md ("Decision").
"""

from __future__ import annotations

from typing import Literal

import msgspec

Disposition = Literal["accept", "out_of_jurisdiction", "refer", "escalate", "close", "not_eligible"]


class Route(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Who is to act: a role, and the person in that role when the facts name one."""

    role: str
    assignee: str | None = None


DeadlineKind = Literal["obligation", "window", "opens"]
DeadlineStatus = Literal["met", "late", "open", "overdue"]


class Deadline(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A named due date (`YYYY-MM-DD`) or, for hour counts, an RFC 3339 UTC date-time.

    `kind`, `status` and `done_at` are always present in a decision of a version-2 document
    (`status` and `done_at` null unless the kind is `obligation`). They are UNSET, and so absent
    from JSON, only in decisions of version-1 documents, which predate them: those replay, and
    read back from the ledger, in their recorded shape.
    """

    name: str
    kind: DeadlineKind | msgspec.UnsetType = msgspec.UNSET
    due: str
    status: DeadlineStatus | None | msgspec.UnsetType = msgspec.UNSET
    done_at: str | None | msgspec.UnsetType = msgspec.UNSET
    rule: str


class Action(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=True):
    """An action owed. `new` is set only on a case's decisions (true when the case's previous
    decision did not owe it); the rules leave it None, and None is absent from JSON."""

    code: str
    detail: str | None
    rule: str
    new: bool | None = None


class Reason(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A rule whose conclusions stand in the decision, with the seed clause it encodes."""

    rule: str
    citation: str
    text: str


class Outcome(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    disposition: Disposition
    stage: str | None
    route: Route | None
    notify: list[Route]
    deadlines: list[Deadline]
    actions: list[Action]
    flags: list[str]
    eligibility: dict[str, bool]


class Decision(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A decision as the rules take it: the contract's Decision minus the ledger receipt.

    `as_of` is normalised to UTC (`YYYY-MM-DDTHH:MM:SS[.ffffff]Z`) so that the same instant
    always gives the same bytes.
    """

    decision_id: str = ""
    policy: str
    policy_version: str
    as_of: str
    case_id: str | None = None
    purpose: Literal["live", "test", "preview"] = "live"
    outcome: Outcome
    reasons: list[Reason]


class Receipt(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where an entry stands in the ledger: its index and hash, and the tree it was proved in.

    Hashes are lowercase hex.
    """

    index: int
    entry_hash: str
    tree_size: int
    root_hash: str


class RecordedDecision(Decision, frozen=True, kw_only=True):
    """A decision as answered by the API: durably in the ledger, with its receipt."""

    ledger: Receipt


ENTRY_FIELDS = ("decision_id", "policy", "policy_version", "as_of", "case_id", "outcome", "reasons")


def fields_of_entry(body: dict) -> dict:
    """The Decision fields a `decision` entry's body holds (KeyError when one is missing);
    `purpose` is `live` where the entry predates it (version 1)."""
    return {name: body[name] for name in ENTRY_FIELDS} | {"purpose": body.get("purpose", "live")}
