"""What `GET /v1/policies` and `GET /v1/policies/{id}` show of a policy (owned by rules)."""

from __future__ import annotations

from typing import Literal

import msgspec

FactType = Literal[
    "string", "boolean", "integer", "date", "date-time", "date-or-date-time", "list", "object"
]


class RuleSummary(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One rule of a policy: its stable id, the seed clause it encodes, and what it does."""

    id: str
    citation: str
    description: str


class FactField(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One field of a structured fact's items (a caseworker, a previous complaint, an act)."""

    name: str
    type: FactType
    required: bool
    values: list[str] | None = None
    description: str


class FactSummary(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A fact the policy takes: its JSON type, whether it is required, its allowed values (an
    enum, or a list of one), what it means and the seed clause behind it; `items` describes the
    fields of a list's or an object's structured items."""

    name: str
    type: FactType
    required: bool
    values: list[str] | None = None
    description: str
    citation: str
    items: list[FactField] | None = None


class PolicySummary(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A policy in the list: `version` is `sha256:` + hex of its canonical ruleset."""

    id: str
    title: str
    version: str
    calendar: str
    timezone: str
    rules: int


class PolicyDetail(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A policy with every rule and every fact it takes."""

    id: str
    title: str
    version: str
    calendar: str
    timezone: str
    rules: list[RuleSummary]
    facts: list[FactSummary]


class DeadlineName(msgspec.Struct, frozen=True):
    """A deadline a policy can list, and its kind (POLICIES.md: fixed by its name)."""

    name: str
    kind: Literal["obligation", "window", "opens"]


class Vocabulary(msgspec.Struct, frozen=True, kw_only=True):
    """Every value a policy's decisions can carry, read from its ruleset document (sorted)."""

    policy: str
    dispositions: list[str]
    stages: list[str]
    roles: list[str]
    actions: list[str]
    deadlines: list[DeadlineName]
    flags: list[str]
    eligibility: list[str]
