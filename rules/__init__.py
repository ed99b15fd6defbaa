"""The four complaint procedures as versioned durable_rules rulesets, and `evaluate`.

`evaluate` is the one way to take a decision.

`evaluate(policy, facts, as_of)` runs a built-in policy; `evaluate_ruleset(document, ...)` runs a
stored ruleset document (a ledger `policy` entry), so replay takes the same path as the API; a
version-1 document (format `redress.ruleset/1`, frozen in `rules/policies/archive/`) still runs
and decides in its own shape. `policy_detail` lists each rule and each fact a policy takes;
`vocabulary` every value its decisions can carry; `named_by_some_policy` whether any policy's
facts name a pointer (a case's event may carry any policy's facts as far as its schema says).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from datetime import datetime

from rules import describe, engine
from rules.errors import InputError, UnknownPolicy
from rules.policies import DOCUMENTS
from rules.ruleset import check_document, document_version, run_document
from schemas.decision import Decision
from schemas.policies import FactSummary, PolicyDetail, PolicySummary, RuleSummary, Vocabulary
from schemas.problems import escape_pointer, pointer_tokens

__all__ = [
    "FactSummary",
    "InputError",
    "PolicyDetail",
    "PolicySummary",
    "RuleSummary",
    "UnknownPolicy",
    "evaluate",
    "evaluate_ruleset",
    "members_no_policy_takes",
    "named_by_some_policy",
    "policy_detail",
    "policy_ids",
    "policy_summaries",
    "ruleset_document",
    "vocabulary",
    "Vocabulary",
]

# Versions of the built-in documents, computed once: the documents are never mutated (callers
# get deep copies from `ruleset_document`).
_VERSIONS = {policy_id: document_version(doc) for policy_id, doc in DOCUMENTS.items()}

for _policy_id, _document in DOCUMENTS.items():
    check_document(_document)
    engine.register(engine.ruleset_name(_policy_id, _VERSIONS[_policy_id]), _document["rules"])


def policy_ids() -> list[str]:
    """The ids of the built-in policies, in a fixed order."""
    return list(DOCUMENTS)


def _builtin(policy: str) -> Mapping:
    try:
        return DOCUMENTS[policy]
    except (KeyError, TypeError):
        raise UnknownPolicy(policy) from None


def evaluate(policy: str, facts: dict, as_of: str | datetime) -> Decision:
    """The decision `policy` takes on `facts` at the instant `as_of`.

    Raises UnknownPolicy for a policy id that does not exist and InputError naming every bad
    field. Same policy version, facts and as_of give the same Decision, byte for byte.
    """
    document = _builtin(policy)
    return run_document(document, _VERSIONS[policy], facts, as_of)


def evaluate_ruleset(document: dict, facts: dict, as_of: str | datetime) -> Decision:
    """The decision a stored ruleset document takes on `facts` at `as_of` (replay)."""
    check_document(document)
    return run_document(document, document_version(document), facts, as_of)


def ruleset_document(policy: str) -> dict:
    """The full canonical ruleset of a built-in policy (a copy); its version hashes it."""
    return copy.deepcopy(dict(_builtin(policy)))


def _summary_fields(policy: str) -> dict:
    document = _builtin(policy)
    return {
        "id": document["id"],
        "title": document["title"],
        "version": _VERSIONS[policy],
        "calendar": document["calendar"],
        "timezone": document["timezone"],
    }


def policy_summaries() -> list[PolicySummary]:
    """Every built-in policy: id, title, version, calendar, time zone and number of rules."""
    return [
        PolicySummary(**_summary_fields(p), rules=len(DOCUMENTS[p]["rules"])) for p in DOCUMENTS
    ]


def policy_detail(policy: str) -> PolicyDetail:
    """A built-in policy with each rule's id, citation and description, and every fact it takes
    (`{name, type, required, values?, description, citation, items?}`)."""
    document = _builtin(policy)
    rules = [
        RuleSummary(id=r["id"], citation=r["citation"], description=r["description"])
        for r in document["rules"]
    ]
    return PolicyDetail(**_summary_fields(policy), rules=rules, facts=describe.facts(document))


def vocabulary(policy: str) -> Vocabulary:
    """The roles, stages, dispositions, action codes, deadline names (with kinds), flags and
    eligibility keys a built-in policy's decisions can carry (for enums in the OpenAPI
    document), read from its ruleset document."""
    return describe.vocabulary(_builtin(policy))


@functools.cache
def _names_of_facts() -> dict[str, frozenset[str]]:
    """Every fact name some policy takes, with the member names of its items (if structured)."""
    names: dict[str, set[str]] = {}
    for policy in DOCUMENTS:
        for fact in policy_detail(policy).facts:
            names.setdefault(fact.name, set()).update(f.name for f in fact.items or [])
    return {name: frozenset(members) for name, members in names.items()}


def named_by_some_policy(pointer: str) -> bool:
    """Whether some policy's facts name the fact (or the member of a fact's item) at `pointer`
    (`/facts/NAME`, `/facts/NAME/MEMBER` or `/facts/NAME/INDEX/MEMBER`, RFC 6901)."""
    tokens = pointer_tokens(pointer)
    if len(tokens) < 2 or tokens[0] != "facts" or tokens[1] not in _names_of_facts():
        return False
    members = [t for t in tokens[2:] if not t.isdigit()]  # list indices are not names
    return not members or (len(members) == 1 and members[0] in _names_of_facts()[tokens[1]])


def members_no_policy_takes(name: str, value: object) -> list[str]:
    """Pointers of the members of fact `name`'s items (a list of objects, or one object) that no
    policy's facts name; a null member is absent, so never one of them."""
    known = _names_of_facts().get(name)
    if not known:
        return []
    base = "/facts/" + escape_pointer(name)
    items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
    found = []
    for i, item in items:
        if isinstance(item, dict):
            at = base if i is None else f"{base}/{i}"
            found += [
                f"{at}/{escape_pointer(k)}"
                for k, v in item.items()
                if v is not None and k not in known
            ]
    return found
