"""Events on a case: merging facts and acts, Serco level changes, and actions marked `new`.

CONTRACT.md, `POST /v1/cases/{case_id}/events`: "new or changed facts ... are merged into the case
(fact by fact, and `acts` name by name; JSON `null` removes a fact or an act; when a Serco event
changes `level`, the case's `unresolved_at_level` and `resolved` are dropped unless the event
gives them) ... on a case's decisions every action carries `new`: `true` when the case's previous
decision did not owe it, `false` when it did."
"""

from __future__ import annotations

import copy

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

import rules
from cases import mark_new_actions, merge_event


def decide(policy: str, facts: dict, as_of: str) -> dict:
    return msgspec.to_builtins(rules.evaluate(policy, facts, as_of))


def codes(decision: dict) -> list[tuple[str, str | None, bool]]:
    return [(a["code"], a["detail"], a["new"]) for a in decision["outcome"]["actions"]]


# -- merging facts and acts ----------------------------------------------------------------------


def test_facts_merge_fact_by_fact_and_null_removes_one():
    """ "merged into the case (fact by fact ...; JSON `null` removes a fact ...)"."""
    facts = {"received_at": "2026-12-01", "kind": "complaint", "complex": True}
    changes = {"complex": None, "upheld": True, "kind": "concern", "absent": None}
    assert merge_event("wme", facts, changes) == {
        "received_at": "2026-12-01",
        "kind": "concern",
        "upheld": True,
    }
    assert facts == {"received_at": "2026-12-01", "kind": "complaint", "complex": True}


def test_acts_merge_name_by_name():
    """ "`acts` name by name; JSON `null` removes ... an act". WME 3, 5.1: the acknowledgement
    recorded first, the outcome later, neither event repeating the other's act."""
    facts = {"received_at": "2026-12-01", "kind": "complaint"}
    facts = merge_event("wme", facts, {"acts": {"acknowledge": "2026-12-07"}})
    facts = merge_event("wme", facts, {"acts": {"outcome": "2026-12-20"}})
    assert facts["acts"] == {"acknowledge": "2026-12-07", "outcome": "2026-12-20"}
    corrected = merge_event("wme", facts, {"acts": {"acknowledge": None, "outcome": "2026-12-21"}})
    assert corrected["acts"] == {"outcome": "2026-12-21"}
    assert facts["acts"] == {"acknowledge": "2026-12-07", "outcome": "2026-12-20"}


def test_acts_null_removes_every_act_and_an_emptied_acts_is_dropped():
    """`acts: null` is the fact removed; removing the last act leaves no empty `acts` behind."""
    facts = {"received_at": "2026-12-01", "acts": {"acknowledge": "2026-12-07"}}
    assert merge_event("wme", facts, {"acts": None}) == {"received_at": "2026-12-01"}
    assert merge_event("wme", facts, {"acts": {"acknowledge": None}}) == {
        "received_at": "2026-12-01"
    }


def test_acts_that_are_not_an_object_are_left_for_the_rules_to_refuse():
    """POLICIES.md "bad acts": "`acts` that is not an object is a bad request at `/facts/acts`"
    — the merge keeps it as given so the rules can say so."""
    facts = {"received_at": "2026-12-01", "acts": {"acknowledge": "2026-12-07"}}
    assert merge_event("wme", facts, {"acts": "yesterday"})["acts"] == "yesterday"


SERCO_CLIENT = {"received_at": "2026-12-01", "complainant_type": "client"}


def test_serco_a_client_moved_to_the_ssm_starts_that_level_afresh():
    """Serco clients 6: "When the Service Provider is unable to resolve the complaint with the
    client, Serco should be contacted immediately ... the issue has been escalated to the SSM."
    Clients 9: "In the case where the complaint has still not been resolved, the issue will be
    raised to the Senior Employment Services Manager". Moving the case to `ssm` drops
    `unresolved_at_level`, so the ESM investigates (clients 8) before anything goes further."""
    facts = merge_event("serco-es", SERCO_CLIENT, {"unresolved_at_level": True})
    at_provider = decide("serco-es", facts, "2026-12-02T15:00:00Z")
    assert (at_provider["outcome"]["disposition"], at_provider["outcome"]["stage"]) == (
        "escalate",
        "ssm",
    )
    facts = merge_event("serco-es", facts, {"level": "ssm"})
    assert facts == SERCO_CLIENT | {"level": "ssm"}
    at_ssm = decide("serco-es", facts, "2026-12-03T15:00:00Z")
    assert (at_ssm["outcome"]["disposition"], at_ssm["outcome"]["stage"]) == ("accept", "ssm")
    facts = merge_event("serco-es", facts, {"unresolved_at_level": True})
    still_unresolved = decide("serco-es", facts, "2026-12-10T15:00:00Z")
    assert (still_unresolved["outcome"]["disposition"], still_unresolved["outcome"]["stage"]) == (
        "escalate",
        "senior",
    )


def test_serco_an_event_that_gives_the_level_facts_keeps_them():
    """ "... are dropped unless the event gives them": the same event may move the case and say
    the new level did not resolve it either (or that it did)."""
    facts = SERCO_CLIENT | {"level": "ssm", "unresolved_at_level": True, "resolved": False}
    moved = merge_event("serco-es", facts, {"level": "senior", "unresolved_at_level": True})
    assert moved == SERCO_CLIENT | {"level": "senior", "unresolved_at_level": True}
    resolved = merge_event("serco-es", facts, {"level": "senior", "resolved": None})
    assert resolved == SERCO_CLIENT | {"level": "senior"}


def test_serco_the_same_level_again_is_not_a_change():
    """POLICIES.md `level`: "default `service_provider` for a client, `ssm` otherwise". A
    provider dispute is at `ssm` without the fact; giving `ssm` changes no level, so its
    `unresolved_at_level` stands."""
    dispute = {
        "received_at": "2026-12-01",
        "complainant_type": "service_provider",
        "unresolved_at_level": True,
    }
    assert merge_event("serco-es", dispute, {"level": "ssm"}) == dispute | {"level": "ssm"}
    at_ssm = SERCO_CLIENT | {"level": "ssm", "resolved": True}
    assert merge_event("serco-es", at_ssm, {"level": "ssm"}) == at_ssm
    # removing the level sends a client back to the provider: a change
    assert merge_event("serco-es", at_ssm, {"level": None}) == SERCO_CLIENT


def test_a_level_fact_means_nothing_special_outside_serco():
    facts = {"received_at": "2026-12-01", "kind": "concern", "resolved": True}
    assert merge_event("wme", facts, {"level": "ssm"}) == facts | {"level": "ssm"}


facts_values = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=5))
fact_names = st.sampled_from(
    ["level", "unresolved_at_level", "resolved", "urgent", "received_at", "complainant_type"]
)
levels = st.sampled_from([None, "service_provider", "ssm", "senior", "ministry"])
act_maps = st.dictionaries(
    st.sampled_from(["acknowledge", "outcome", "respond"]),
    st.one_of(st.none(), st.sampled_from(["2026-12-01", "2026-12-02T10:00:00Z"])),
    max_size=3,
)


@st.composite
def serco_facts(draw: st.DrawFn, allow_null: bool) -> dict:
    values = facts_values if allow_null else facts_values.filter(lambda v: v is not None)
    facts = draw(st.dictionaries(fact_names, values, max_size=5))
    facts["complainant_type"] = draw(st.sampled_from(["client", "service_provider"]))
    if draw(st.booleans()):
        facts["level"] = draw(levels)
    if draw(st.booleans()):
        facts["acts"] = draw(act_maps)
    return {k: v for k, v in facts.items() if allow_null or v is not None}


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["serco-es", "wme"]), serco_facts(False), serco_facts(True))
def test_every_merge_is_fact_by_fact_and_act_by_act(policy, facts, changes):
    """The merge, fact by fact and act by act, for any case and event; Serco's level facts go
    exactly when the level moves and the event does not give them."""
    before = copy.deepcopy(facts)
    merged = merge_event(policy, facts, changes)
    assert facts == before
    assert merge_event(policy, facts, {}) == facts

    def level(f: dict) -> str:
        default = "service_provider" if f.get("complainant_type") == "client" else "ssm"
        return default if f.get("level") is None else f["level"]

    moved = policy == "serco-es" and "level" in changes and level(merged) != level(facts)
    for name in set(facts) | set(changes):
        if name == "acts":
            continue
        if name in changes:
            assert merged.get(name) == changes[name]
        elif moved and name in ("unresolved_at_level", "resolved"):
            assert name not in merged
        else:
            assert merged[name] == facts[name]
    if "acts" not in changes:
        assert merged.get("acts") == facts.get("acts")
    else:
        acts = {} if changes["acts"] is None else facts.get("acts", {}) | changes["acts"]
        acts = {k: v for k, v in acts.items() if v is not None}
        assert merged.get("acts") == (acts or None)


# -- actions marked new ------------------------------------------------------------------------


CMG_REVIEW = {
    "received_at": "2026-12-01",
    "complainant_type": "employer",
    "payment_related": True,
    "dissatisfied_with_resolution": True,
}


def test_a_client_is_not_told_to_send_cmsl8505_twice():
    """CMG step 2: "If the employer or agent is not on the phone, issue CMSL8505 to acknowledge
    receipt of the complaint." Issue 8: "each decision repeats every action from the start (a
    client may send CMSL8505 twice)". The first decision owes it (new); the next event's decision
    still lists it, not new; the costs letter the event brings is (CMG reimburse: CMSL8503)."""
    first = mark_new_actions(
        None, decide("cmg-employer-review", CMG_REVIEW, "2026-12-01T10:00:00Z")
    )
    assert ("issue_letter", "CMSL8505", True) in codes(first)
    assert all(new for _, _, new in codes(first))
    facts = merge_event("cmg-employer-review", CMG_REVIEW, {"additional_costs_claimed": True})
    second = mark_new_actions(first, decide("cmg-employer-review", facts, "2026-12-02T10:00:00Z"))
    assert ("issue_letter", "CMSL8505", False) in codes(second)
    assert ("issue_letter", "CMSL8503", True) in codes(second)
    assert ("create_service_request", codes(first)[0][1], False) in codes(second)


def test_the_same_code_with_another_detail_is_a_new_action():
    """Serco clients 3: `request_information` names what is missing; once the client gave their
    name, the request for the rest is a different request."""
    facts = SERCO_CLIENT
    first = mark_new_actions(None, decide("serco-es", facts, "2026-12-01T15:00:00Z"))
    facts = merge_event("serco-es", facts, {"information_provided": ["name"]})
    second = mark_new_actions(first, decide("serco-es", facts, "2026-12-01T16:00:00Z"))
    assert ("request_information", "name,best_time_to_contact,details", True) in codes(first)
    assert ("request_information", "best_time_to_contact,details", True) in codes(second)
    assert ("track_for_quarterly_report", None, False) in codes(second)


def test_owed_is_read_from_the_previous_decision_only():
    """ "`true` when the case's previous decision did not owe it": an action owed two decisions
    back, dropped, then owed again is new again; the rule that owes it does not matter."""

    def with_actions(*actions: tuple[str, str | None, str]) -> dict:
        return {
            "decision_id": "d",
            "outcome": {"actions": [{"code": c, "detail": d, "rule": r} for c, d, r in actions]},
        }

    one = with_actions(("share_feedback", None, "feedback"))
    two = with_actions()
    three = with_actions(("share_feedback", None, "another rule"))
    assert codes(mark_new_actions(two, three)) == [("share_feedback", None, True)]
    assert codes(mark_new_actions(one, three)) == [("share_feedback", None, False)]
    assert three["outcome"]["actions"][0].get("new") is None  # the input is not changed
    marked = mark_new_actions(one, three)
    assert {k: v for k, v in marked.items() if k != "outcome"} == {"decision_id": "d"}


action_lists = st.lists(
    st.tuples(
        st.sampled_from(["issue_letter", "share_feedback", "notify_client_in_writing"]),
        st.sampled_from([None, "CMSL8505", "CMSL8503"]),
    ),
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), action_lists), action_lists)
def test_new_is_exactly_not_owed_by_the_previous_decision(previous, current):
    def as_decision(actions):
        return {"outcome": {"actions": [{"code": c, "detail": d, "rule": "r"} for c, d in actions]}}

    before = None if previous is None else as_decision(previous)
    marked = mark_new_actions(before, as_decision(current))
    owed = set(previous or [])
    assert [(a["code"], a["detail"]) for a in marked["outcome"]["actions"]] == current
    assert [a["new"] for a in marked["outcome"]["actions"]] == [
        (c, d) not in owed for c, d in current
    ]
