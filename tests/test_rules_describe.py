"""Facts listed for clients (issue 11) and each policy's vocabulary, read from the rules."""

from __future__ import annotations

import itertools

import msgspec
import pytest

import rules

FACT_TYPES = {
    "string",
    "boolean",
    "integer",
    "date",
    "date-time",
    "date-or-date-time",
    "list",
    "object",
}


@pytest.mark.parametrize("policy", rules.policy_ids())
def test_every_fact_is_listed_with_its_type_meaning_and_clause(policy):
    detail = rules.policy_detail(policy)
    assert detail.facts, policy
    for fact in detail.facts:
        assert fact.type in FACT_TYPES
        assert fact.description and fact.citation, fact.name
    assert [f.name for f in detail.facts if f.required][0] == "received_at"
    acts = next(f for f in detail.facts if f.name == "acts")
    assert acts.type == "object" and not acts.required


def test_wme_facts_say_what_policies_md_says():
    """POLICIES.md `wme` facts: kinds, categories, booleans, dates; final_date a bare date."""
    facts = {f.name: f for f in rules.policy_detail("wme").facts}
    assert facts["kind"].values == ["complaint", "concern", "compliment", "suggestion", "comment"]
    assert facts["kind"].required and facts["kind"].type == "string"
    assert len(facts["category"].values or []) == 12
    assert facts["final_date"].type == "date"
    assert facts["stage_two_outcome_at"].type == "date-or-date-time"
    assert facts["resolved"].type == "boolean"
    assert [i.name for i in facts["acts"].items or []] == [
        "acknowledge",
        "outcome",
        "holding_letter",
        "appeal_acknowledge",
        "appeal_decision",
    ]
    # Absent members stay out of the JSON: `values` only for enums, `items` only when structured.
    encoded = msgspec.to_builtins(facts["in_writing"])
    assert list(encoded) == ["name", "type", "required", "description", "citation"]


def test_structured_items_are_described_field_by_field():
    dwp = {f.name: f for f in rules.policy_detail("dwp-feedback").facts}
    assert dwp["form_received_at"].type == "date-time"
    assert dwp["escalation_causes"].type == "list" and len(dwp["escalation_causes"].values) == 4
    caseworker = {i.name: i for i in dwp["caseworkers"].items or []}
    assert caseworker["id"].required and caseworker["id"].type == "string"
    assert caseworker["last_opportunity_at"].type == "date-or-date-time"
    assert not caseworker["area_manager"].required
    cmg = {f.name: f for f in rules.policy_detail("cmg-employer-review").facts}
    assert [i.name for i in cmg["previous_complaints"].items or []] == [
        "received_at",
        "resolved_at",
    ]
    assert cmg["acts"].items == []


def test_vocabulary_gives_each_deadline_its_kind():
    """POLICIES.md: kinds are fixed by name (`appeal_window_closes` and `employer_response` are
    windows, `ministry_escalation_available` opens, every other one an obligation)."""
    kinds = {(p, d.name): d.kind for p in rules.policy_ids() for d in rules.vocabulary(p).deadlines}
    assert kinds == {
        ("wme", "acknowledge"): "obligation",
        ("wme", "appeal_acknowledge"): "obligation",
        ("wme", "appeal_decision"): "obligation",
        ("wme", "appeal_window_closes"): "window",
        ("wme", "holding_letter"): "obligation",
        ("wme", "outcome"): "obligation",
        ("dwp-feedback", "team_leader_action"): "obligation",
        ("cmg-employer-review", "employer_response"): "window",
        ("serco-es", "ministry_escalation_available"): "opens",
        ("serco-es", "respond"): "obligation",
    }


def test_vocabulary_lists_the_values_of_the_policy_tables():
    serco = rules.vocabulary("serco-es")
    assert serco.stages == ["ministry", "senior", "service_provider", "ssm"]
    assert "managing_director_employment_services" in serco.roles
    assert serco.dispositions == ["accept", "close", "escalate"]
    cmg = rules.vocabulary("cmg-employer-review")
    assert {"warm_transfer", "assign_to_handling_team"} <= set(cmg.actions)
    assert "open_complaint_team" in cmg.roles
    wme = rules.vocabulary("wme")
    assert wme.dispositions == ["accept", "close", "not_eligible", "out_of_jurisdiction"]


WME_FACTS = [
    {"received_at": "2026-03-02", "kind": kind, "category": category, **extra}
    for kind, category, extra in itertools.product(
        ["complaint", "concern", "comment"],
        ["fraud", "local_authority", "other"],
        [{}, {"about_chief_executive": True, "upheld": True, "resolved": True}],
    )
]


@pytest.mark.parametrize("facts", WME_FACTS)
def test_every_value_a_decision_carries_is_in_the_vocabulary(facts):
    vocabulary = rules.vocabulary("wme")
    for as_of in ("2026-03-03T09:00:00Z", "2026-04-30T09:00:00Z"):
        outcome = rules.evaluate("wme", facts, as_of).outcome
        assert outcome.disposition in vocabulary.dispositions
        assert outcome.stage is None or outcome.stage in vocabulary.stages
        roles = [r.role for r in [outcome.route, *outcome.notify] if r]
        assert set(roles) <= set(vocabulary.roles)
        assert {a.code for a in outcome.actions} <= set(vocabulary.actions)
        assert set(outcome.flags) <= set(vocabulary.flags)
        assert set(outcome.eligibility) <= set(vocabulary.eligibility)
        names = {d.name: d.kind for d in vocabulary.deadlines}
        assert all(names[d.name] == d.kind for d in outcome.deadlines)
