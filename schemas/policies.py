"""What `GET /v1/policies` and `GET /v1/policies/{id}` show of a policy (owned by rules)."""

from __future__ import annotations

import msgspec


class RuleSummary(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One rule of a policy: its stable id, the seed clause it encodes, and what it does."""

    id: str
    citation: str
    description: str


class PolicySummary(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A policy in the list: `version` is `sha256:` + hex of its canonical ruleset."""

    id: str
    title: str
    version: str
    calendar: str
    timezone: str
    rules: int


class PolicyDetail(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A policy with every rule."""

    id: str
    title: str
    version: str
    calendar: str
    timezone: str
    rules: list[RuleSummary]
