"""What a policy takes and what it can say, read from its document and its fact Struct.

`facts(document)` lists every fact with its JSON type, required-ness, allowed values and the
(description, citation) registered with the fact schema; `vocabulary(document)` collects every
role, stage, disposition, action code, deadline (with its kind), flag and eligibility key the
rules can produce. Both are derived, never retyped, so they cannot drift from the rules.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator, Mapping
from typing import Any

import msgspec

from rules.registry import fact_notes, fact_schema, item_notes
from rules.validation import _bare, _date_kind, _is_struct, _struct_fields, _unwrap_optional
from schemas.policies import DeadlineName, FactField, FactSummary, Vocabulary

_PLAIN = {bool: "boolean", int: "integer", str: "string"}


def _type_of(hint: Any) -> tuple[str, list[str] | None, Any]:
    """(fact type, enum values, the item type of a list or object) of a field's hint."""
    hint = _unwrap_optional(hint)
    kind = _date_kind(hint)
    if kind is not None:
        return kind.type_name, None, None
    bare = _bare(hint)
    origin = typing.get_origin(bare)
    if origin is typing.Literal:
        return "string", [str(v) for v in typing.get_args(bare)], None
    if origin is list:
        (item,) = typing.get_args(bare)
        _, values, _ = _type_of(item)
        return "list", values, _bare(_unwrap_optional(item))
    if origin is dict:
        return "object", None, typing.get_args(bare)[1]
    if _is_struct(bare):
        return "object", None, bare
    return _PLAIN[bare], None, None


def _item_fields(cls: type[msgspec.Struct]) -> list[FactField]:
    notes = item_notes(cls)
    fields = []
    for name, (hint, required) in _struct_fields(cls).items():
        kind, values, _ = _type_of(hint)
        fields.append(
            FactField(
                name=name,
                type=kind,  # type: ignore[arg-type]
                required=required,
                values=values,
                description=notes.get(name, ""),
            )
        )
    return fields


def _act_fields(document: Mapping) -> list[FactField]:
    kinds = document.get("deadlines") or {}
    return [
        FactField(
            name=name,
            type="date-or-date-time",
            required=False,
            description=f"When the obligation `{name}` was discharged (null: not yet).",
        )
        for name, kind in kinds.items()
        if kind == "obligation"
    ]


def facts(document: Mapping) -> list[FactSummary]:
    """Every fact the document's fact schema takes, in the Struct's order."""
    cls, _ = fact_schema(document["facts"])
    notes = fact_notes(document["facts"])
    found = []
    for name, (hint, required) in _struct_fields(cls).items():
        kind, values, item = _type_of(hint)
        description, citation = notes.get(name, ("", ""))
        items = None
        if name == "acts":
            items = _act_fields(document)
        elif _is_struct(item):
            items = _item_fields(item)
        found.append(
            FactSummary(
                name=name,
                type=kind,  # type: ignore[arg-type]
                required=required,
                values=values,
                description=description,
                citation=citation,
                items=items,
            )
        )
    return found


def _branches(then: Mapping) -> Iterator[Mapping]:
    yield then
    if "choose" in then:
        yield from _branches(then["choose"]["then"])
        yield from _branches(then["choose"]["else"])


def _values(expression: Any) -> list[str]:
    """The strings a conclusion value can take: a literal, or every entry of a `$map` table."""
    if isinstance(expression, str):
        return [expression]
    if isinstance(expression, Mapping) and "$map" in expression:
        return [v for v in expression["table"].values() if isinstance(v, str)]
    return []


def vocabulary(document: Mapping) -> Vocabulary:
    """Every value the document's rules can put in a decision."""
    dispositions = {"accept"}  # what a decision says when no rule sets a disposition
    stages: set[str] = set()
    roles: set[str] = set()
    actions: set[str] = set()
    flags: set[str] = set()
    eligibility: set[str] = set()
    for rule in document["rules"]:
        for then in _branches(rule["then"]):
            dispositions.update(_values(then.get("disposition")))
            if then.get("closes"):
                dispositions.add("close")
            stages.update(_values(then.get("stage")))
            for spec in [then.get("route"), *then.get("notify", ())]:
                if spec:
                    roles.update(_values(spec["role"]))
            actions.update(a["code"] for a in then.get("actions", ()))
            flags.update(then.get("flags", ()))
            eligibility.update(then.get("eligibility", {}))
    deadlines = [
        DeadlineName(name=name, kind=kind)
        for name, kind in sorted((document.get("deadlines") or {}).items())
    ]
    return Vocabulary(
        policy=document["id"],
        dispositions=sorted(dispositions),
        stages=sorted(stages),
        roles=sorted(roles),
        actions=sorted(actions),
        deadlines=deadlines,
        flags=sorted(flags),
        eligibility=sorted(eligibility),
    )
