"""Named, versioned Python parts of rulesets: fact schemas and derivations.

A stored ruleset document refers to these by name (`"wme.derive/1"`), never by code, so a
document recorded in the ledger keeps running as long as its names stay registered. Change what
a derivation computes only under a new name (`/2`), and keep the old one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from rules.validation import Check, Moment

Derivation = Callable[[Any, Moment, str, str], Mapping[str, Any]]
CrossCheck = Callable[[dict, Check], None]

_derivations: dict[str, Derivation] = {}
_fact_schemas: dict[str, tuple[type[msgspec.Struct], CrossCheck | None]] = {}
# Fact schema name → {fact name: (description, citation)}: what clients are told of each fact.
_fact_notes: dict[str, Mapping[str, tuple[str, str]]] = {}
# Struct of a structured fact's items → {field: description}.
_item_notes: dict[type, Mapping[str, str]] = {}


def register_derivation(name: str) -> Callable[[Derivation], Derivation]:
    """Decorator: `fn(facts, moment, calendar_name, timezone) -> flat dict` under `name`."""

    def add(fn: Derivation) -> Derivation:
        if name in _derivations:
            raise ValueError(f"derivation {name} registered twice")
        _derivations[name] = fn
        return fn

    return add


def register_fact_schema(
    name: str,
    cls: type[msgspec.Struct],
    cross_check: CrossCheck | None = None,
    notes: Mapping[str, tuple[str, str]] | None = None,
    items: Mapping[type, Mapping[str, str]] | None = None,
) -> None:
    """A policy's fact Struct, its cross-field checks, per fact (description, citation), and
    per item Struct (a caseworker...) a description of each of its fields."""
    if name in _fact_schemas:
        raise ValueError(f"fact schema {name} registered twice")
    if notes is not None:
        fields = {f.encode_name for f in msgspec.structs.fields(cls)}
        if set(notes) != fields:
            raise ValueError(f"fact notes of {name} do not match its fields: {set(notes) ^ fields}")
        _fact_notes[name] = notes
    for item_cls, described in (items or {}).items():
        _item_notes[item_cls] = described
    _fact_schemas[name] = (cls, cross_check)


def fact_notes(name: str) -> Mapping[str, tuple[str, str]]:
    """(description, citation) of each fact of the schema `name` (empty for a /1 schema)."""
    return _fact_notes.get(name, {})


def derivation(name: str) -> Derivation:
    """The derivation called `name`; KeyError when unknown."""
    return _derivations[name]


def fact_schema(name: str) -> tuple[type[msgspec.Struct], CrossCheck | None]:
    """The fact Struct and cross check called `name`; KeyError when unknown."""
    return _fact_schemas[name]


def item_notes(cls: type) -> Mapping[str, str]:
    """The description of each field of an item Struct (empty when none was registered)."""
    return _item_notes.get(cls, {})
