"""The engine used safely and deterministically: sessions cleaned up, threads, byte-identical
results in any process, versions that follow every rule, and stored documents that replay."""

from __future__ import annotations

import copy
import hashlib
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec
import pytest
import rfc8785
from durable import engine as durable_engine

import rules
from rules import engine
from rules.ruleset import document_version

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-06-15T12:00:00+01:00"

EXAMPLES: list[tuple[str, dict]] = [
    ("wme", {"received_at": "2026-06-01", "kind": "complaint", "complex": True}),
    ("wme", {"received_at": "2026-06-01", "kind": "suggestion", "anonymous": True}),
    (
        "dwp-feedback",
        {
            "received_at": "2026-06-01",
            "escalation_causes": ["failed_to_keep_promises"],
            "issue_occurred_at": "2026-03-01",
            "caseworkers": [
                {"id": "cw7", "last_opportunity_at": "2026-04-01", "team_leader": "tl"}
            ],
            "form_received_at": "2026-06-14T09:00:00+01:00",
        },
    ),
    (
        "cmg-employer-review",
        {
            "received_at": "2026-06-01",
            "complainant_type": "agent",
            "payment_related": True,
            "dissatisfied_with_resolution": True,
        },
    ),
    ("serco-es", {"received_at": "2026-06-01", "complainant_type": "sa_partner"}),
]


def encoded(policy: str, facts: dict, as_of: str = AS_OF) -> bytes:
    return msgspec.json.encode(rules.evaluate(policy, facts, as_of))


def test_two_thousand_evaluations_in_a_row_outlive_the_1024_session_limit():
    policy, facts = EXAMPLES[0]
    first = encoded(policy, facts)
    for _ in range(2000):
        engine.forget()  # so that each evaluation opens (and deletes) an engine session
        assert encoded(policy, facts) == first


def test_an_evaluation_that_matches_no_rule_cleans_up_too():
    # Every built-in policy always fires some rule, so take a stored WME document cut down to
    # its "anonymous" rule: a named complaint matches nothing, and the engine says so.
    document = rules.ruleset_document("wme")
    document["rules"] = [r for r in document["rules"] if r["id"] == "anonymous"]
    facts = {"received_at": "2026-06-01", "kind": "complaint"}
    for _ in range(1100):
        engine.forget()
        decision = rules.evaluate_ruleset(document, facts, AS_OF)
    assert decision.reasons == []
    assert decision.outcome.disposition == "accept"
    assert decision.outcome.route is None


def test_several_threads_at_once_get_the_same_answers_as_one_thread():
    expected = {i: encoded(policy, facts) for i, (policy, facts) in enumerate(EXAMPLES)}

    def run(i: int) -> bool:
        if i % 3 == 0:
            engine.forget()  # a third of the calls go to the engine itself
        policy, facts = EXAMPLES[i % len(EXAMPLES)]
        return encoded(policy, facts) == expected[i % len(EXAMPLES)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, range(800)))
    assert all(results)


def test_the_same_inputs_give_identical_bytes_in_another_process():
    script = (
        "import sys, msgspec, rules, json;"
        "args = json.loads(sys.argv[1]);"
        "sys.stdout.buffer.write(msgspec.json.encode(rules.evaluate(*args)))"
    )
    for policy, facts in EXAMPLES:
        here = encoded(policy, facts)
        args = msgspec.json.encode([policy, facts, AS_OF]).decode()
        there = subprocess.run(
            [sys.executable, "-c", script, args], cwd=ROOT, capture_output=True, check=True
        ).stdout
        assert there == here


def test_as_of_is_recorded_in_utc_so_the_same_instant_gives_the_same_bytes():
    policy, facts = EXAMPLES[0]
    assert encoded(policy, facts, "2026-06-15T12:00:00+01:00") == encoded(
        policy, facts, "2026-06-15T11:00:00Z"
    )
    assert rules.evaluate(policy, facts, "2026-06-15T11:00:00.250+00:00").as_of == (
        "2026-06-15T11:00:00.250000Z"
    )


@pytest.mark.parametrize("policy", rules.policy_ids())
def test_the_version_is_the_sha256_of_the_canonical_document(policy):
    document = rules.ruleset_document(policy)
    digest = hashlib.sha256(rfc8785.dumps(document)).hexdigest()
    assert rules.evaluate(*_any_example(policy), AS_OF).policy_version == f"sha256:{digest}"
    assert rules.policy_detail(policy).version == f"sha256:{digest}"


@pytest.mark.parametrize("policy", rules.policy_ids())
def test_changing_any_part_of_any_rule_changes_the_version(policy):
    document = rules.ruleset_document(policy)
    versions = {document_version(document)}
    for index in range(len(document["rules"])):
        for part in ("citation", "description", "when", "then"):
            changed = copy.deepcopy(document)
            changed["rules"][index][part] = {"changed": part} if part in ("when", "then") else "x"
            versions.add(document_version(changed))
    assert len(versions) == 1 + 4 * len(document["rules"])


def test_the_returned_document_is_a_copy():
    document = rules.ruleset_document("wme")
    document["rules"].clear()
    assert len(rules.ruleset_document("wme")["rules"]) == 21


@pytest.mark.parametrize(("policy", "facts"), EXAMPLES)
def test_a_stored_document_replays_to_the_same_decision(policy, facts):
    stored = msgspec.json.decode(msgspec.json.encode(rules.ruleset_document(policy)))
    replayed = rules.evaluate_ruleset(stored, facts, AS_OF)
    assert msgspec.json.encode(replayed) == encoded(policy, facts)


def test_a_changed_document_runs_as_its_own_version_and_leaves_the_old_one_alone():
    facts = {"received_at": "2026-06-01", "kind": "concern"}
    before = rules.evaluate("wme", facts, AS_OF)
    changed = rules.ruleset_document("wme")
    acknowledge = next(r for r in changed["rules"] if r["id"] == "acknowledge")
    acknowledge["then"]["deadlines"][0]["due"]["n"] = 6
    later = rules.evaluate_ruleset(changed, facts, AS_OF)
    # 1 June 2026 is a Monday: 5 working days after is Mon 8 June, 6 is Tue 9 June.
    assert [d.due for d in before.outcome.deadlines] == ["2026-06-08"]
    assert [d.due for d in later.outcome.deadlines] == ["2026-06-09"]
    assert later.policy_version != before.policy_version
    assert msgspec.json.encode(rules.evaluate("wme", facts, AS_OF)) == msgspec.json.encode(before)


def test_a_document_naming_an_unknown_derivation_is_refused():
    document = rules.ruleset_document("wme")
    document["derive"] = "wme.derive/999"
    with pytest.raises(rules.UnknownPolicy):
        rules.evaluate_ruleset(document, EXAMPLES[0][1], AS_OF)


def test_an_unknown_policy_is_a_lookup_error():
    with pytest.raises(LookupError):
        rules.evaluate("nhs", {}, AS_OF)
    with pytest.raises(rules.UnknownPolicy):
        rules.policy_detail("nhs")


def test_policy_summaries_list_the_four_policies_with_their_calendars():
    summaries = {s.id: s for s in rules.policy_summaries()}
    assert list(summaries) == ["wme", "dwp-feedback", "cmg-employer-review", "serco-es"]
    assert summaries["serco-es"].calendar == "ontario"
    assert summaries["serco-es"].timezone == "America/Toronto"
    assert summaries["wme"].timezone == "Europe/London"
    assert {p: s.rules for p, s in summaries.items()} == {
        "wme": 21,
        "dwp-feedback": 13,
        "cmg-employer-review": 12,
        "serco-es": 18,
    }


def test_policy_detail_lists_every_rule_in_table_order_with_its_citation():
    detail = rules.policy_detail("dwp-feedback")
    assert [r.id for r in detail.rules] == [
        "contact_client",
        "resolution",
        "review",
        "ice",
        "no_cause",
        "stale",
        "feedback",
        "team_leader_agreement",
        "resolution_recipients",
        "review_recipients",
        "team_leader_action",
        "feedback_given",
        "team_leader_disagrees",
    ]
    assert detail.rules[6].citation == "DWP steps 10, 12, 13"
    assert all(r.description for r in detail.rules)


def test_personal_details_of_the_facts_never_reach_the_engine_message():
    from rules.ruleset import condition_names

    names = condition_names(rules.ruleset_document("dwp-feedback")["rules"])
    assert "team_leader" not in names
    assert "caseworker_id" not in names


def _any_example(policy: str) -> tuple[str, dict]:
    return next((p, f) for p, f in EXAMPLES if p == policy)


def _deadline_document() -> dict:
    """A stored document with one date deadline and one hours deadline (no built-in has both)."""
    document = rules.ruleset_document("dwp-feedback")
    action = next(r for r in document["rules"] if r["id"] == "team_leader_action")
    action["then"]["deadlines"].append(
        {"name": "a_date_deadline", "due": {"days_after": "received_on", "n": 0}}
    )
    return document


@pytest.mark.parametrize(
    ("form_received_at", "expected"),
    [
        # 1 July 2026 ends at 22:59:59.999999 UTC (BST). 29 June 23:30 UTC + 48 h is
        # 1 July 23:30 UTC, after that end; 22:00 UTC + 48 h is 1 July 22:00 UTC, before it.
        ("2026-06-29T23:30:00Z", ["a_date_deadline", "team_leader_action"]),
        ("2026-06-29T22:00:00Z", ["team_leader_action", "a_date_deadline"]),
    ],
)
def test_a_date_deadline_counts_as_the_end_of_its_local_day(form_received_at, expected):
    from rules.ruleset import conclude

    document = _deadline_document()
    derived = {"form_received_at": form_received_at, "received_on": "2026-07-01"}
    outcome, _ = conclude(document, frozenset({"team_leader_action"}), derived)
    assert [d.name for d in outcome.deadlines] == expected


def test_when_two_exclusive_rules_fire_only_the_one_listed_last_stands():
    decision = rules.evaluate(
        "cmg-employer-review",
        {
            "received_at": "2026-06-01",
            "complainant_type": "employer",
            "payment_related": False,
            "open_complaint_exists": True,
            "dissatisfied_with_resolution": True,
        },
        AS_OF,
    )
    assert [r.rule for r in decision.reasons] == ["not_payment_related"]
    assert [a.code for a in decision.outcome.actions] == ["use_third_party_procedure"]
    assert decision.outcome.disposition == "refer"
    assert decision.outcome.stage is None
    assert decision.outcome.route is None


# -- Version 2 documents and the version-1 documents they replaced ------------------------------

# The versions of the version-1 documents, as recorded in ledgers in the field: the archived
# copies must keep hashing to them, or stored decisions would lose their ruleset.
V1_VERSIONS = {
    "wme": "sha256:f2d423fbcf45db3073a64b13ce8adcb444c72103c143f5916fee090afd8988b1",
    "dwp-feedback": "sha256:05da6da013687c43bc1332680cb9af3ee59ebe3c7ecd2fe0d2f834df37faa2b6",
    "cmg-employer-review": (
        "sha256:98b3ce5487e91538f87e38615ca757331f786e95a83c673ad0a98244ae3e1af1"
    ),
    "serco-es": "sha256:197e17a3fb4dca90c020711ab6841f1c2e226921610924c38055f01bc98426ee",
}


@pytest.mark.parametrize("policy", rules.policy_ids())
def test_the_archived_version_1_documents_keep_their_versions(policy):
    from rules.policies import archive

    document = archive.load(policy, 1)
    assert document["format"] == "redress.ruleset/1"
    assert document_version(document) == V1_VERSIONS[policy]
    assert rules.ruleset_document(policy)["format"] == "redress.ruleset/2"
    assert rules.policy_detail(policy).version != V1_VERSIONS[policy]


def test_a_version_1_document_still_decides_in_the_version_1_shape():
    """Version 1 deadlines were {name, due, rule}: no kind, status or done_at."""
    from rules.policies import archive

    facts = {"received_at": "2026-06-01", "kind": "concern", "category": "fraud"}
    old = rules.evaluate_ruleset(archive.load("wme", 1), facts, AS_OF)
    assert msgspec.to_builtins(old.outcome)["deadlines"] == [
        {"name": "acknowledge", "due": "2026-06-08", "rule": "acknowledge"}
    ]
    # Version 1 handled a concern about fraud informally; version 2 as a formal complaint.
    assert old.outcome.stage == "informal"
    assert rules.evaluate("wme", facts, AS_OF).outcome.stage == "stage_2"
    new = msgspec.to_builtins(rules.evaluate("wme", facts, AS_OF).outcome)["deadlines"][0]
    assert list(new) == ["name", "kind", "due", "status", "done_at", "rule"]


def test_a_version_2_document_gives_every_deadline_name_a_kind():
    document = rules.ruleset_document("wme")
    del document["deadlines"]["holding_letter"]
    with pytest.raises(rules.UnknownPolicy):
        rules.evaluate_ruleset(document, EXAMPLES[0][1], AS_OF)


def test_a_closing_row_turns_only_accept_into_close():
    from rules.ruleset import conclude

    document = {
        "calendar": "england-and-wales",
        "timezone": "Europe/London",
        "rules": [
            {"id": "refers", "citation": "x", "description": "x", "then": {"disposition": "refer"}},
            {"id": "closes", "citation": "x", "description": "x", "then": {"closes": True}},
        ],
    }
    outcome, _ = conclude(document, frozenset({"closes"}), {})
    assert outcome.disposition == "close"
    outcome, _ = conclude(document, frozenset({"refers", "closes"}), {})
    assert outcome.disposition == "refer"


def test_actions_have_no_new_member_unless_a_case_sets_it():
    decision = rules.evaluate(*EXAMPLES[0], AS_OF)
    action = msgspec.to_builtins(decision.outcome.actions[0])
    assert list(action) == ["code", "detail", "rule"]
    marked = msgspec.structs.replace(decision.outcome.actions[0], new=True)
    assert msgspec.to_builtins(marked)["new"] is True
    assert decision.purpose == "live"


def test_a_remembered_match_is_the_one_the_engine_gives():
    """Issue 10: the engine's answer for a message is reused; it is the engine's own answer."""
    document = rules.ruleset_document("wme")
    name = engine.ruleset_name("wme", document_version(document))
    message = {"kind": "complaint", "formal": True, "outcome_known": False, "complex": True}
    engine.forget()
    first = engine.fired_rules(name, document["rules"], message)
    assert engine.remembered() == 1
    again = engine.fired_rules(name, document["rules"], message)
    fresh = engine.fired_rules(name, document["rules"], message, remember=False)
    assert first == again == fresh
    assert {"complaint", "holding_letter", "advise_investigator"} <= fresh


def test_the_memory_of_matches_is_bounded():
    document = rules.ruleset_document("serco-es")
    name = engine.ruleset_name("serco-es", document_version(document))
    engine.forget()
    for i in range(4200):
        engine.fired_rules(name, document["rules"], {"always": True, "urgent": i})
    assert engine.remembered() == 4096


# -- Our use of the C engine against durable_rules' own Host ------------------------------------


class _ReferenceHost(durable_engine.Host):
    """durable_rules' Host the documented way: each rule's action records that it fired."""

    def _run(self) -> None:  # no timer threads (FIELD-NOTES)
        return None

    def get_action(self, action_name: str):
        def record(c) -> None:
            c.s["fired:" + action_name] = True

        return record


def _host_fired(host: _ReferenceHost, name: str, message: dict, sid: str) -> frozenset[str]:
    """The rules the Host's `assert_fact` fires on `message`, in a throwaway session."""
    try:
        state = host.assert_fact(name, {**message, "redress_evaluation": True, "sid": sid})
        assert not state.get("exception")
        fired = {key.removeprefix("fired:") for key in state if key.startswith("fired:")}
        return frozenset(fired - {"redress:evaluated"})
    finally:
        host.delete_state(name, sid)


def _tested_values(rules_: list[dict]) -> dict[str, list]:
    """Each message field the conditions test, with every value they compare it to."""
    values: dict[str, set] = {}

    def walk(node: object) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key.startswith("$") or key == "m":
                    walk(value)
                else:
                    values.setdefault(key, set()).add(value)

    for rule in rules_:
        walk(rule["when"])
    return {k: sorted(v, key=repr) + ["a value no rule names"] for k, v in sorted(values.items())}


def _documents() -> list[dict]:
    from rules.policies import archive

    return [rules.ruleset_document(p) for p in rules.policy_ids()] + [
        archive.load(p, 1) for p in rules.policy_ids()
    ]


@pytest.mark.parametrize("document", _documents(), ids=lambda d: f"{d['id']}-{d['format']}")
def test_the_engine_matches_what_durable_rules_own_host_fires(document):
    """Issue 10: `rules.engine` talks to the C engine without the Host's action round trips;
    on 1,500 random messages per document it must fire exactly the rules the Host fires."""
    version = document_version(document)
    name = engine.ruleset_name(document["id"], version)
    host = _ReferenceHost()
    reference = f"reference:{name}"
    definition = engine.engine_definition(document["rules"])
    host.register_rulesets({reference: {r: {**d, "run": r} for r, d in definition.items()}})
    tested = _tested_values(document["rules"])
    rng = random.Random(version)
    seen = set()
    for i in range(1500):
        message = {k: rng.choice(v) for k, v in tested.items() if rng.random() < 0.9}
        expected = _host_fired(host, reference, message, f"r{i}")
        assert engine.fired_rules(name, document["rules"], message, remember=False) == expected
        seen.add(expected)
    assert len(seen) > 10  # the messages were varied enough to fire many combinations


def test_an_engine_failure_costs_only_its_own_evaluation():
    """A message the engine refuses (over 255 properties: error 302) drops the session it was
    in; 1,100 of them in a row (past the 1,024 live sessions) leave later evaluations intact."""
    document = rules.ruleset_document("wme")
    name = engine.ruleset_name("wme", document_version(document))
    message = {"kind": "complaint", "formal": True, "outcome_known": False, "complex": True}
    expected = engine.fired_rules(name, document["rules"], message, remember=False)
    too_big = {**message, **{f"extra_{i}": True for i in range(300)}}
    for _ in range(1100):
        with pytest.raises(Exception, match="302"):
            engine.fired_rules(name, document["rules"], too_big, remember=False)
        assert engine.fired_rules(name, document["rules"], message, remember=False) == expected
