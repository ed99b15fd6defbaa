"""Small builders for durable_rules JSON conditions on the derived message `m`.

Every condition tests plain values for equality (never a lone negation, which spins the engine).
"""

from __future__ import annotations

from typing import Any


def test(name: str, value: Any) -> dict:
    """`m.name == value`."""
    return {name: value}


def one_of(name: str, values: list[Any]) -> dict:
    """`m.name` equals one of `values`."""
    return {"$or": [{name: v} for v in values]}


def when(*tests: dict) -> dict:
    """All `tests` hold for the message."""
    return {"m": tests[0] if len(tests) == 1 else {"$and": list(tests)}}


def ref(name: str) -> dict:
    """A derived value, in a conclusion."""
    return {"$": name}
