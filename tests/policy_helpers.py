"""Small readers for the policy tests: take a decision, then look at it the way the spec talks.

Expected values in the tests are worked out by hand from POLICIES.md and the real calendars;
these helpers only call `rules.evaluate` and pull fields out of the result.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

import rules
from schemas.decision import Decision


def decide(policy: str, as_of: str, **facts: Any) -> Decision:
    """Evaluate `facts` (given as keyword arguments, None meaning JSON null) under `policy`."""
    return rules.evaluate(policy, dict(facts), as_of)


def reason_rules(decision: Decision) -> list[str]:
    return [r.rule for r in decision.reasons]


def assert_cited(decision: Decision, rule: str, citation: str) -> None:
    """The rule stands in the decision, under exactly the table's citation."""
    cited = {r.rule: r.citation for r in decision.reasons}
    assert rule in cited, f"{rule} not in reasons {list(cited)}"
    assert cited[rule] == citation


def route(decision: Decision) -> tuple[str, str | None] | None:
    r = decision.outcome.route
    return None if r is None else (r.role, r.assignee)


def notify(decision: Decision) -> list[tuple[str, str | None]]:
    return [(n.role, n.assignee) for n in decision.outcome.notify]


def deadlines(decision: Decision) -> list[tuple[str, str]]:
    return [(d.name, d.due) for d in decision.outcome.deadlines]


def deadline_rules(decision: Decision) -> dict[str, str]:
    return {d.name: d.rule for d in decision.outcome.deadlines}


def actions(decision: Decision) -> list[tuple[str, str | None]]:
    return [(a.code, a.detail) for a in decision.outcome.actions]


def action_rules(decision: Decision) -> list[tuple[str, str]]:
    return [(a.code, a.rule) for a in decision.outcome.actions]


def action_codes(decision: Decision) -> list[str]:
    return [a.code for a in decision.outcome.actions]


def bad_pointers(policy: str, facts: dict[str, Any], as_of: str) -> set[str]:
    """The JSON pointers `rules.evaluate` names when it refuses the input."""
    with pytest.raises(rules.InputError) as refused:
        rules.evaluate(policy, facts, as_of)
    return {e.pointer for e in refused.value.errors}


def encoded_twice(policy: str, facts: dict[str, Any], as_of: str) -> tuple[bytes, bytes]:
    first = msgspec.json.encode(rules.evaluate(policy, facts, as_of))
    second = msgspec.json.encode(rules.evaluate(policy, facts, as_of))
    return first, second


def deadline_states(decision: Decision) -> list[tuple[str, str, str, str | None, str | None]]:
    """(name, kind, due, status, done_at) of each deadline, as POLICIES.md version 2 lists them."""
    return [(d.name, d.kind, d.due, d.status, d.done_at) for d in decision.outcome.deadlines]  # type: ignore[misc]


def refused(policy: str, facts: dict[str, Any], as_of: str) -> dict[str, str]:
    """Pointer → message of every field `rules.evaluate` refuses."""
    with pytest.raises(rules.InputError) as refusal:
        rules.evaluate(policy, facts, as_of)
    return {e.pointer: e.message for e in refusal.value.errors}
