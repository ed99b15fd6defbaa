"""The OpenAPI shapes read from the rules: each policy's facts as a schema, the request bodies as
unions discriminated by `policy`, and the Decision's enums.

Everything here is derived from `rules.policy_detail(p).facts` (name, type, required, values,
description, citation, items) and `rules.vocabulary(p)`, never retyped, so the published
document cannot drift from what the rules take and say. Optional facts may be null (the rules
read null as absent); every string is at most 1,000 characters and every list at most 1,000
items, as the rules enforce.
"""

from __future__ import annotations

import copy
from typing import Any

import rules
from rules.validation import MAX_ITEMS, MAX_STRING_CHARS
from schemas.policies import FactField, FactSummary
from schemas.problems import SAFE_INTEGER

REF = "#/components/schemas/{name}"
NULL = {"type": "null"}
# One accepted request per policy: the examples clients start from (and schemathesis's
# example phase sends).
FACT_EXAMPLES: dict[str, dict[str, Any]] = {
    "wme": {"received_at": "2026-11-23", "kind": "complaint", "category": "misconduct"},
    "dwp-feedback": {
        "received_at": "2026-11-23",
        "handled_by": "resolution",
        "caseworkers": [
            {"id": "cw-17", "last_opportunity_at": "2026-11-02", "team_leader": "tl-4"}
        ],
    },
    "cmg-employer-review": {
        "received_at": "2026-11-23",
        "complainant_type": "employer",
        "payment_related": True,
    },
    "serco-es": {"received_at": "2026-11-23", "complainant_type": "client", "level": None},
}
EXAMPLE_AS_OF = "2026-11-24T09:00:00Z"
DATE_FORMS = {
    "date": {"type": "string", "format": "date"},
    "date-time": {"type": "string", "format": "date-time"},
}


def component_name(policy: str) -> str:
    """`dwp-feedback` → `DwpFeedback`: the prefix of a policy's schema names."""
    return "".join(part.capitalize() for part in policy.replace("_", "-").split("-"))


def value_schema(kind: str, values: list[str] | None) -> dict[str, Any]:
    """The JSON Schema of one fact value of `kind` (a `FactType`)."""
    if kind in DATE_FORMS:
        return dict(DATE_FORMS[kind])
    if kind == "date-or-date-time":
        return {
            "anyOf": [dict(DATE_FORMS["date"]), dict(DATE_FORMS["date-time"])],
            "description": "A date YYYY-MM-DD or an RFC 3339 date-time with offset.",
        }
    if kind == "string":
        if values:
            return {"type": "string", "enum": list(values)}
        return {"type": "string", "maxLength": MAX_STRING_CHARS}
    if kind == "integer":
        return {"type": "integer", "minimum": 0, "maximum": SAFE_INTEGER}
    if kind == "boolean":
        return {"type": "boolean"}
    raise ValueError(f"no plain schema for fact type {kind!r}")


def optional(schema: dict[str, Any], required: bool) -> dict[str, Any]:
    """An optional fact may also be null (absent)."""
    if required:
        return schema
    description = schema.pop("description", None)
    branches = schema["anyOf"] if set(schema) == {"anyOf"} else [schema]  # no anyOf in anyOf
    made: dict[str, Any] = {"anyOf": [*branches, NULL]}
    if description:
        made["description"] = description
    return made


def object_schema(
    fields: list[FactField] | list[FactSummary], title: str | None = None
) -> dict[str, Any]:
    """A closed object of the given fields."""
    schema: dict[str, Any] = {"type": "object"}
    if title:
        schema["title"] = title
    schema["properties"] = {f.name: field_schema(f) for f in fields}
    required = [f.name for f in fields if f.required]
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return schema


def field_schema(fact: FactField | FactSummary) -> dict[str, Any]:
    items = getattr(fact, "items", None)
    if fact.type == "list":
        element = object_schema(items) if items else value_schema("string", fact.values)
        schema: dict[str, Any] = {"type": "array", "items": element, "maxItems": MAX_ITEMS}
    elif fact.type == "object":
        schema = object_schema(items or [])
    else:
        schema = value_schema(fact.type, fact.values)
    described = fact.description
    citation = getattr(fact, "citation", "")
    if citation:
        described = f"{described} ({citation})" if described else citation
    if described:
        schema["description"] = described
    return optional(schema, fact.required)


def facts_schema(policy: str) -> dict[str, Any]:
    """The facts `policy` takes, as one closed object schema."""
    detail = rules.policy_detail(policy)
    schema = object_schema(detail.facts, title=f"{component_name(policy)}Facts")
    schema["description"] = (
        f"The facts of a complaint under `{policy}` ({detail.title}); cross-field rules that a "
        "schema cannot state (dates in order, dates not after `as_of`) are answered 422 with a "
        "pointer into `facts`."
    )
    schema["examples"] = [copy.deepcopy(FACT_EXAMPLES[policy])] if policy in FACT_EXAMPLES else []
    return schema


def event_facts_schema(acts: dict[str, Any]) -> dict[str, Any]:
    """An event's facts: every fact some policy takes (its case's policy is not in the request,
    so the schema cannot know which), each optional and nullable (null removes it), a name
    taken by several policies any of their shapes; `acts` as given. A name no policy takes is
    refused (400, `api.bodies.evaluate`); one the case's policy does not take is its policy's
    refusal (422)."""
    branches: dict[str, list[dict[str, Any]]] = {}
    described: dict[str, list[str]] = {}
    for policy in rules.policy_ids():
        for fact in rules.policy_detail(policy).facts:
            schema = optional(field_schema(fact), False)
            text = schema.pop("description", None)
            if text:
                described.setdefault(fact.name, []).append(f"{policy}: {text}")
            found = branches.setdefault(fact.name, [])
            for branch in schema["anyOf"]:
                if branch not in found:
                    found.append(branch)
    properties: dict[str, Any] = {}
    for name in sorted(branches):
        ordered = [b for b in branches[name] if b != NULL] + [NULL]  # null last, once
        properties[name] = {"anyOf": ordered}
        if name in described:
            properties[name]["description"] = " | ".join(described[name])
    properties["acts"] = acts
    return {"type": "object", "properties": properties, "additionalProperties": False}


def request_branch(policy: str, base: dict[str, Any], name: str, facts_ref: str) -> dict[str, Any]:
    """One branch of a request union: `base` (the generic request) with `policy` fixed and
    `facts` typed."""
    branch = copy.deepcopy(base)
    branch["title"] = name
    properties = branch["properties"]
    properties["policy"] = {"type": "string", "enum": [policy], "description": "The policy id."}
    properties["facts"] = {"$ref": facts_ref}
    return branch


def union(name: str, branches: dict[str, str], description: str) -> dict[str, Any]:
    return {
        "title": name,
        "description": description,
        "oneOf": [{"$ref": REF.format(name=b)} for b in branches.values()],
        "discriminator": {
            "propertyName": "policy",
            "mapping": {p: REF.format(name=b) for p, b in branches.items()},
        },
    }


def typed_requests(schemas: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per policy `<P>Facts`, `<P>DecisionRequest` and `<P>CaseRequest`, and the unions
    `DecisionRequest` and `CaseRequest` over them (replacing the generic ones in `schemas`)."""
    made: dict[str, dict[str, Any]] = {}
    for request in ("DecisionRequest", "CaseRequest"):
        base = schemas[request]
        branches = {}
        for policy in rules.policy_ids():
            prefix = component_name(policy)
            facts_name = f"{prefix}Facts"
            made[facts_name] = facts_schema(policy)
            branch = f"{prefix}{request}"
            made[branch] = request_branch(policy, base, branch, REF.format(name=facts_name))
            branches[policy] = branch
        made[request] = union(request, branches, base.get("description", ""))
    return made


def request_examples(request: str) -> dict[str, dict[str, Any]]:
    """One accepted example body per policy, for the `examples` of a request body."""
    found = {}
    for policy in rules.policy_ids():
        if policy not in FACT_EXAMPLES:
            continue
        value: dict[str, Any] = {
            "policy": policy,
            "facts": copy.deepcopy(FACT_EXAMPLES[policy]),
            "as_of": EXAMPLE_AS_OF,
        }
        if request == "CaseRequest":
            value["reference"] = f"CRM-{component_name(policy)}-1"
        found[policy] = {"summary": f"A complaint under {policy}", "value": value}
    return found


# -- the Decision's vocabulary ------------------------------------------------------------------


def vocabulary() -> dict[str, list[str]]:
    """Every value any policy's decisions can carry, by kind (sorted, no repeats)."""
    words: dict[str, set[str]] = {
        k: set()
        for k in ("policies", "roles", "stages", "dispositions", "actions", "deadlines", "flags")
    }
    words["eligibility"] = set()
    for policy in rules.policy_ids():
        v = rules.vocabulary(policy)
        words["policies"].add(policy)
        words["roles"].update(v.roles)
        words["stages"].update(v.stages)
        words["dispositions"].update(v.dispositions)
        words["actions"].update(v.actions)
        words["deadlines"].update(d.name for d in v.deadlines)
        words["flags"].update(v.flags)
        words["eligibility"].update(v.eligibility)
    return {k: sorted(v) for k, v in words.items()}


def with_enum(schema: dict[str, Any], values: list[str]) -> None:
    """Give the string schema (or the string branch of an optional one) its allowed values."""
    for candidate in [schema, *schema.get("anyOf", [])]:
        if candidate.get("type") == "string":
            candidate["enum"] = values
            return


def decision_enums(schemas: dict[str, Any]) -> None:
    """Enums in the Decision's parts: policy ids, roles, stages, action codes, deadline names,
    flags and eligibility keys, from `rules.vocabulary` (dispositions are the Outcome's own
    `Literal`, which every policy's vocabulary stays within)."""
    words = vocabulary()
    for name in ("Decision", "RecordedDecision"):
        if name in schemas:
            with_enum(schemas[name]["properties"]["policy"], words["policies"])
    if "Route" in schemas:
        with_enum(schemas["Route"]["properties"]["role"], words["roles"])
    if "Outcome" in schemas:
        outcome = schemas["Outcome"]["properties"]
        with_enum(outcome["stage"], words["stages"])
        outcome["flags"]["items"] = {"type": "string", "enum": words["flags"]}
        outcome["eligibility"]["propertyNames"] = {"enum": words["eligibility"]}
    if "Action" in schemas:
        with_enum(schemas["Action"]["properties"]["code"], words["actions"])
    if "Deadline" in schemas:
        with_enum(schemas["Deadline"]["properties"]["name"], words["deadlines"])
    for name in ("CaseSummary", "Case"):
        if name in schemas and "policy" in schemas[name]["properties"]:
            with_enum(schemas[name]["properties"]["policy"], words["policies"])


# -- formats of the dates in responses ----------------------------------------------------------

INSTANTS = {
    "Decision": ["as_of"],
    "RecordedDecision": ["as_of"],
    "Case": ["opened_at"],
    "CaseSummary": ["opened_at"],
    "KeyView": ["created_at", "revoked_at"],
    "CreatedKey": ["created_at"],
    "Entry": ["recorded_at"],
}
DAYS_OR_INSTANTS = {"Deadline": ["due", "done_at"], "Obligation": ["due", "done_at"]}


def with_format(schema: dict[str, Any], made: list[dict[str, Any]]) -> dict[str, Any]:
    """The string schema (or the string branch of an optional one) as one of `made`."""
    if schema.get("type") == "string":
        if len(made) == 1:
            return {**schema, **made[0]}
        return {**{k: v for k, v in schema.items() if k != "type"}, "anyOf": made}
    rest = [b for b in schema.get("anyOf", []) if b.get("type") != "string"]
    return {**schema, "anyOf": [*made, *rest]}


def response_formats(schemas: dict[str, Any]) -> None:
    """Every date and instant a response carries, with its format: instants are RFC 3339
    date-times; a deadline's `due` and `done_at` a date or a date-time."""
    for name, fields in INSTANTS.items():
        for field in fields:
            if name in schemas and field in schemas[name].get("properties", {}):
                properties = schemas[name]["properties"]
                properties[field] = with_format(properties[field], [DATE_FORMS["date-time"]])
    for name, fields in DAYS_OR_INSTANTS.items():
        for field in fields:
            if name in schemas and field in schemas[name].get("properties", {}):
                properties = schemas[name]["properties"]
                made = [dict(DATE_FORMS["date"]), dict(DATE_FORMS["date-time"])]
                properties[field] = with_format(properties[field], made)
