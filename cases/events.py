"""Events on a case (CONTRACT.md, `POST /v1/cases/{case_id}/events`), as pure functions.

`merge_event` turns a case's facts and an event's changes into the facts the policy is evaluated
on next; `mark_new_actions` marks each action of a case's decision `new` against the case's
previous decision.

Choices where CONTRACT.md is silent:
- An action is *owed* by a decision when that decision lists an action with the same `code` and
  `detail` (the rule that fired does not matter: the same letter owed for another reason is
  still the same letter). A case's first decision owes nothing before it: all its actions are
  new.
- `acts` left empty by an event (every act removed) is dropped from the facts, so the facts do
  not hold an empty object that says nothing; `acts` given as something other than an object
  replaces the fact as is, for the rules to refuse (`/facts/acts`).
- A Serco `level` change compares the case's level before and after the event, with the
  POLICIES.md default (`service_provider` for a client, `ssm` otherwise) where the fact is
  absent: giving the level the case is already at is not a change, and removing `level` (null)
  is a change when the default differs from the level the case was at.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SERCO = "serco-es"
# POLICIES.md `serco-es`: facts that describe the current level, dropped when the level changes.
LEVEL_FACTS = ("unresolved_at_level", "resolved")


def merge_acts(current: Any, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The case's `acts` after an event: name by name, an act given as null removed (a null
    member already in the case's acts means no act, the same as absent, and goes too)."""
    merged = (
        {name: value for name, value in current.items() if value is not None}
        if isinstance(current, Mapping)
        else {}
    )
    for name, value in changes.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def serco_level(facts: Mapping[str, Any]) -> Any:
    """The level a Serco case is at: the `level` fact, or POLICIES.md's default."""
    if facts.get("level") is not None:
        return facts["level"]
    return "service_provider" if facts.get("complainant_type") == "client" else "ssm"


def merge_event(policy: str, facts: Mapping[str, Any], changes: Mapping[str, Any]) -> dict:
    """The case's facts after an event (neither input is changed).

    Fact by fact: a fact given replaces the case's, a fact given as null removes it; `acts` is
    merged name by name (an act given as null is removed, `acts: null` removes them all). "When
    a Serco event changes `level`, the case's `unresolved_at_level` and `resolved` are dropped
    unless the event gives them."
    """
    merged: dict[str, Any] = dict(facts)
    for name, value in changes.items():
        if value is None:
            merged.pop(name, None)
        elif name == "acts" and isinstance(value, Mapping):
            acts = merge_acts(merged.get("acts"), value)
            if acts:
                merged["acts"] = acts
            else:
                merged.pop("acts", None)
        else:
            merged[name] = value
    if policy == SERCO and "level" in changes and serco_level(merged) != serco_level(facts):
        for name in LEVEL_FACTS:
            if name not in changes:
                merged.pop(name, None)
    return merged


def _owed(decision: Mapping[str, Any] | None) -> set[tuple[Any, Any]]:
    if decision is None:
        return set()
    return {(a["code"], a.get("detail")) for a in decision["outcome"]["actions"]}


def mark_new_actions(
    previous_decision: Mapping[str, Any] | None, decision: Mapping[str, Any]
) -> dict[str, Any]:
    """`decision` (a copy) with every action carrying `new`: true when the case's previous
    decision did not owe it (no action with the same code and detail), false when it did."""
    owed = _owed(previous_decision)
    outcome = decision["outcome"]
    actions = [
        {**action, "new": (action["code"], action.get("detail")) not in owed}
        for action in outcome["actions"]
    ]
    return {**decision, "outcome": {**outcome, "actions": actions}}
