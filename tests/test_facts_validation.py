"""Bad input is refused with one InputError that names every offending field (POLICIES.md:
"Time, shared by all policies" and each policy's facts)."""

from __future__ import annotations

import copy
from datetime import datetime

import pytest

import rules
from schemas.problems import FieldError

AS_OF = "2026-06-15T12:00:00+01:00"

GOOD = {
    "wme": {"received_at": "2026-06-01", "kind": "complaint"},
    "dwp-feedback": {"received_at": "2026-06-01"},
    "cmg-employer-review": {
        "received_at": "2026-06-01",
        "complainant_type": "employer",
        "payment_related": True,
    },
    "serco-es": {"received_at": "2026-06-01", "complainant_type": "client"},
}


def refusal(policy: str, facts: object, as_of: object = AS_OF) -> dict[str, str]:
    """Pointer → message of every field the rules refuse."""
    with pytest.raises(rules.InputError) as refused:
        rules.evaluate(policy, facts, as_of)  # type: ignore[arg-type]
    errors = refused.value.errors
    assert all(isinstance(e, FieldError) for e in errors)
    return {e.pointer: e.message for e in errors}


def with_facts(policy: str, **changes: object) -> dict:
    return {**GOOD[policy], **changes}


@pytest.mark.parametrize("policy", sorted(GOOD))
def test_the_good_facts_are_accepted(policy):
    assert rules.evaluate(policy, GOOD[policy], AS_OF).policy == policy


def test_an_unknown_fact_is_named():
    assert set(refusal("wme", with_facts("wme", colour="red"))) == {"/facts/colour"}


def test_a_pointer_escapes_slash_and_tilde():
    assert set(refusal("wme", with_facts("wme", **{"a/b~c": 1}))) == {"/facts/a~1b~0c"}


@pytest.mark.parametrize(
    ("policy", "field", "value"),
    [
        ("dwp-feedback", "previous_complaints_same_issue", True),  # a bool is not an int
        ("dwp-feedback", "previous_complaints_same_issue", "2"),  # "2" is not a number
        ("dwp-feedback", "previous_complaints_same_issue", 1.5),
        ("dwp-feedback", "previous_complaints_same_issue", -1),
        ("wme", "anonymous", "yes"),
        ("wme", "anonymous", 1),
        ("wme", "received_at", 20260601),
        ("dwp-feedback", "escalation_causes", "failed_to_keep_promises"),
        ("cmg-employer-review", "previous_complaints", {"received_at": "2026-01-01"}),
    ],
)
def test_a_value_of_the_wrong_type_is_named(policy, field, value):
    assert set(refusal(policy, with_facts(policy, **{field: value}))) == {f"/facts/{field}"}


@pytest.mark.parametrize(
    ("policy", "field", "value"),
    [
        ("wme", "kind", "grumble"),
        ("wme", "category", "weather"),
        ("cmg-employer-review", "channel", "fax"),
        ("serco-es", "level", "province"),
        ("serco-es", "complainant_type", "employer"),
    ],
)
def test_a_value_outside_its_enum_is_named(policy, field, value):
    assert set(refusal(policy, with_facts(policy, **{field: value}))) == {f"/facts/{field}"}


def test_an_enum_inside_a_list_is_named_by_its_index():
    facts = with_facts(
        "dwp-feedback",
        escalation_causes=["failed_to_keep_promises", "rudeness"],
        issue_occurred_at="2026-05-01",
        caseworkers=[{"id": "cw1", "last_opportunity_at": "2026-05-02"}],
    )
    assert set(refusal("dwp-feedback", facts)) == {"/facts/escalation_causes/1"}


@pytest.mark.parametrize(
    ("policy", "missing"),
    [
        ("wme", "received_at"),
        ("wme", "kind"),
        ("cmg-employer-review", "payment_related"),
        ("cmg-employer-review", "complainant_type"),
        ("serco-es", "complainant_type"),
    ],
)
def test_a_missing_required_fact_is_named(policy, missing):
    facts = {k: v for k, v in GOOD[policy].items() if k != missing}
    assert set(refusal(policy, facts)) == {f"/facts/{missing}"}


def test_null_is_the_same_as_absent():
    # A required fact given as null is missing; an optional one takes its default.
    assert set(refusal("wme", with_facts("wme", kind=None))) == {"/facts/kind"}
    decision = rules.evaluate("wme", with_facts("wme", category=None, upheld=None), AS_OF)
    assert decision.outcome.disposition == "accept"


def test_null_inside_a_list_item_is_absent_too():
    facts = with_facts(
        "dwp-feedback",
        escalation_causes=["failed_to_keep_promises"],
        issue_occurred_at="2026-05-01",
        caseworkers=[{"id": "cw1", "last_opportunity_at": "2026-05-02", "team_leader": None}],
    )
    assert rules.evaluate("dwp-feedback", facts, AS_OF).outcome.route.assignee is None
    facts["caseworkers"] = [{"id": None, "last_opportunity_at": "2026-05-02"}]
    assert set(refusal("dwp-feedback", facts)) == {"/facts/caseworkers/0/id"}


@pytest.mark.parametrize(
    "value",
    ["2026-06-01T10:00:00", "2026-06-01 10:00", "01/06/2026", "2026-06-01T10:00:00+0100"],
)
def test_a_date_time_without_an_offset_or_in_another_shape_is_refused(value):
    assert set(refusal("wme", with_facts("wme", received_at=value))) == {"/facts/received_at"}


@pytest.mark.parametrize(
    "value", ["2026-02-30", "2026-04-31", "2026-02-29T10:00:00Z", "0001-01-01", "1066-10-14"]
)
def test_an_impossible_date_is_refused(value):
    assert set(refusal("wme", with_facts("wme", received_at=value))) == {"/facts/received_at"}


def test_a_date_after_the_local_date_of_as_of_is_refused():
    # as_of 15 June 12:00 BST; 16 June is tomorrow.
    assert set(refusal("wme", with_facts("wme", received_at="2026-06-16"))) == {
        "/facts/received_at"
    }


def test_a_date_on_the_local_date_of_as_of_is_accepted_even_across_offsets():
    # 23:30 in New York on 14 June is 04:30 on 15 June in London: as_of's local date is 15 June.
    decision = rules.evaluate(
        "wme", with_facts("wme", received_at="2026-06-15"), "2026-06-14T23:30:00-05:00"
    )
    assert decision.as_of == "2026-06-15T04:30:00Z"


def test_a_date_time_later_than_as_of_is_refused_even_on_the_same_day():
    late = with_facts("wme", received_at="2026-06-15T12:00:01+01:00")
    assert set(refusal("wme", late)) == {"/facts/received_at"}
    exactly = with_facts("wme", received_at="2026-06-15T11:00:00Z")
    assert rules.evaluate("wme", exactly, AS_OF).policy == "wme"


@pytest.mark.parametrize(
    "as_of",
    [
        "2026-06-15T12:00:00",
        "2026-06-15",
        "yesterday",
        1750000000,
        None,
        "2026-06-31T00:00:00Z",
        "9999-12-31T23:00:00Z",
    ],
)
def test_as_of_must_be_a_date_time_with_offset(as_of):
    assert set(refusal("wme", GOOD["wme"], as_of)) == {"/as_of"}


def test_a_naive_datetime_as_of_is_refused_and_an_aware_one_accepted():
    assert set(refusal("wme", GOOD["wme"], datetime(2026, 6, 15, 12, 0))) == {"/as_of"}
    aware = datetime.fromisoformat("2026-06-15T12:00:00+01:00")
    assert rules.evaluate("wme", GOOD["wme"], aware).as_of == "2026-06-15T11:00:00Z"


def test_facts_that_are_not_an_object_are_refused():
    assert set(refusal("wme", ["received_at"])) == {"/facts"}


# --- cross-field rules of each policy -------------------------------------------------------


def test_wme_an_appeal_without_an_outcome_is_refused():
    facts = with_facts("wme", appeal_requested_at="2026-06-10")
    assert set(refusal("wme", facts)) == {"/facts/appeal_requested_at"}


def test_wme_an_appeal_on_a_local_date_before_the_outcome_is_refused():
    facts = with_facts(
        "wme", stage_two_outcome_at="2026-06-10", appeal_requested_at="2026-06-09T22:30:00+00:00"
    )
    # 22:30 UTC on 9 June is 23:30 BST on 9 June: the day before the outcome.
    assert set(refusal("wme", facts)) == {"/facts/appeal_requested_at"}
    # 23:30 UTC on 9 June is 00:30 BST on 10 June: the same local date as the outcome.
    facts["appeal_requested_at"] = "2026-06-09T23:30:00Z"
    assert rules.evaluate("wme", facts, AS_OF).outcome.stage == "stage_3"


def test_dwp_a_cause_needs_the_issue_date_and_a_caseworker():
    facts = with_facts("dwp-feedback", escalation_causes=["failed_to_keep_informed"])
    assert set(refusal("dwp-feedback", facts)) == {
        "/facts/issue_occurred_at",
        "/facts/caseworkers",
    }
    facts["caseworkers"] = []
    facts["issue_occurred_at"] = "2026-05-01"
    assert set(refusal("dwp-feedback", facts)) == {"/facts/caseworkers"}


def test_dwp_the_form_received_at_must_be_a_date_time():
    facts = with_facts("dwp-feedback", form_received_at="2026-06-01")
    assert set(refusal("dwp-feedback", facts)) == {"/facts/form_received_at"}


@pytest.mark.parametrize("complainant", ["service_provider", "sa_partner"])
def test_serco_a_provider_dispute_cannot_be_at_the_service_provider_level(complainant):
    facts = with_facts("serco-es", complainant_type=complainant, level="service_provider")
    assert set(refusal("serco-es", facts)) == {"/facts/level"}


def test_caseworker_fields_are_named_inside_the_list():
    facts = with_facts(
        "dwp-feedback",
        escalation_causes=["failed_to_keep_informed"],
        issue_occurred_at="2026-05-01",
        caseworkers=[
            {"last_opportunity_at": "2026-05-02"},
            {"id": "cw2", "last_opportunity_at": "2026-07-01", "desk": 4},
            "cw3",
        ],
    )
    assert set(refusal("dwp-feedback", facts)) == {
        "/facts/caseworkers/0/id",
        "/facts/caseworkers/1/last_opportunity_at",
        "/facts/caseworkers/1/desk",
        "/facts/caseworkers/2",
    }


def test_every_offending_field_is_named_at_once():
    facts = {
        "received_at": "2026-02-30",
        "kind": "grumble",
        "anonymous": "yes",
        "category": None,
        "appeal_requested_at": "2026-06-10",
        "mood": "cross",
    }
    assert set(refusal("wme", facts, "2026-06-15T12:00:00")) == {
        "/as_of",
        "/facts/received_at",
        "/facts/kind",
        "/facts/anonymous",
        "/facts/appeal_requested_at",
        "/facts/mood",
    }


def test_future_facts_and_missing_facts_are_named_together():
    facts = {"stage_two_outcome_at": "2026-06-16", "upheld": 0}
    assert set(refusal("wme", facts)) == {
        "/facts/received_at",
        "/facts/kind",
        "/facts/stage_two_outcome_at",
        "/facts/upheld",
    }


def test_evaluate_never_changes_the_facts_it_is_given():
    facts = with_facts(
        "dwp-feedback",
        escalation_causes=["failed_to_keep_informed"],
        issue_occurred_at="2026-05-01",
        caseworkers=[{"id": "cw1", "last_opportunity_at": "2026-05-02", "team_leader": None}],
        team_leader_agrees=None,
    )
    before = copy.deepcopy(facts)
    rules.evaluate("dwp-feedback", facts, AS_OF)
    assert facts == before


def test_the_error_message_says_what_is_wrong():
    messages = refusal(
        "dwp-feedback", with_facts("dwp-feedback", previous_complaints_same_issue=True)
    )
    assert "bool" in messages["/facts/previous_complaints_same_issue"]


def test_a_count_beyond_what_json_keeps_exact_is_refused():
    """The ledger hashes facts as RFC 8785 JSON, whose integers are exact only to 2**53 - 1."""
    facts = with_facts("dwp-feedback", previous_complaints_same_issue=2**53)
    assert set(refusal("dwp-feedback", facts)) == {"/facts/previous_complaints_same_issue"}
    largest = with_facts("dwp-feedback", previous_complaints_same_issue=2**53 - 1)
    assert rules.evaluate("dwp-feedback", largest, AS_OF).outcome.stage == "complaint_review"


# -- Errors a person can act on (issue 11) and fact limits (issue 9) ----------------------------


def test_a_bad_enum_value_lists_the_allowed_values_and_suggests_a_near_one():
    messages = refusal("wme", with_facts("wme", kind="complant", category="Fraud"))
    assert messages["/facts/kind"] == (
        "'complant' is not allowed: expected one of 'complaint', 'concern', 'compliment', "
        "'suggestion', 'comment'; did you mean 'complaint'?"
    )
    assert messages["/facts/category"].endswith("did you mean 'fraud'?")
    far = refusal("wme", with_facts("wme", kind="weather"))["/facts/kind"]
    assert "'compliment'" in far and "did you mean" not in far


def test_an_enum_given_a_number_says_what_it_got():
    message = refusal("serco-es", with_facts("serco-es", level=2))["/facts/level"]
    assert message == (
        "expected one of 'service_provider', 'ssm', 'senior', 'ministry', got an integer"
    )


def test_a_bad_date_names_the_accepted_forms():
    messages = refusal("wme", with_facts("wme", received_at="yesterday"))
    assert messages["/facts/received_at"] == (
        "expected a date YYYY-MM-DD or an RFC 3339 date-time with offset, e.g. 2026-11-27T09:00:00Z"
    )
    impossible = refusal("wme", with_facts("wme", received_at="2026-02-30"))["/facts/received_at"]
    assert "YYYY-MM-DD" in impossible and impossible.startswith("not a real date")
    as_of = refusal("wme", GOOD["wme"], "2026-06-15")["/as_of"]
    assert as_of == "expected an RFC 3339 date-time with offset, e.g. 2026-11-27T09:00:00Z"


def test_messages_use_the_right_article():
    """ "an integer", "an object", "a string": the way a person writes it."""
    messages = refusal(
        "dwp-feedback",
        with_facts(
            "dwp-feedback",
            previous_complaints_same_issue="1",
            caseworkers=[7],
            escalation_causes={"a": 1},
            acts=[],
        ),
    )
    assert messages["/facts/previous_complaints_same_issue"] == "expected an integer, got a string"
    assert messages["/facts/caseworkers/0"] == "expected an object, got an integer"
    assert messages["/facts/escalation_causes"] == "expected an array, got an object"
    assert messages["/facts/acts"] == "expected an object, got an array"


def test_an_unknown_fact_close_to_a_known_one_is_suggested():
    message = refusal("wme", with_facts("wme", anonymus=True))["/facts/anonymus"]
    assert message == "unknown fact; did you mean 'anonymous'?"


@pytest.mark.parametrize(
    ("facts", "unnamed"),
    [
        ({"mood": "cross"}, ["/facts/mood"]),
        (
            {"caseworkers": [{"id": "cw1", "last_opportunity_at": "2026-05-02", "zzz": "q"}]},
            ["/facts/caseworkers/0/zzz"],
        ),
        ({"previous_complaints_same_issue": "1"}, []),
        ({"acts": {"not_a_deadline": "2026-05-02"}}, []),  # a value of `acts`, not a field
    ],
)
def test_a_name_the_schema_does_not_know_is_told_apart(facts, unnamed):
    """CONTRACT.md: "A body field the schema does not name is refused (400)"; other bad facts
    are the policy's refusal (422). The API reads which from `InputError.unnamed`."""
    given = {**with_facts("dwp-feedback"), **facts}
    with pytest.raises(rules.InputError) as refused:
        rules.evaluate("dwp-feedback", given, "2026-06-01T09:00:00Z")
    assert refused.value.unnamed == unnamed


def test_a_string_over_a_thousand_characters_is_refused_at_its_pointer():
    """Issue 9: a fact string over 1,000 characters is a bad request."""
    cw = {"id": "x" * 1001, "last_opportunity_at": "2026-05-01"}
    facts = with_facts("dwp-feedback", caseworkers=[cw])
    assert refusal("dwp-feedback", facts) == {
        "/facts/caseworkers/0/id": "a string of 1001 characters: at most 1000 allowed"
    }
    cw["id"] = "x" * 1000
    assert rules.evaluate("dwp-feedback", facts, AS_OF).policy == "dwp-feedback"


def test_a_list_over_a_thousand_items_is_refused_before_its_items_are_looked_at():
    """Issue 9: a list over 1,000 items is a bad request, whatever the items are."""
    facts = with_facts("serco-es", information_provided=[{"bad": 1}] * 1001, colour="blue")
    # Only the size is reported: nothing else is checked once a limit is passed.
    assert refusal("serco-es", facts) == {
        "/facts/information_provided": "a list of 1001 items: at most 1000 allowed"
    }


def test_null_acts_are_fine_even_under_names_the_policy_does_not_know():
    """POLICIES.md "null": a member given as null is never a bad request."""
    for policy in GOOD:
        facts = with_facts(policy, acts={"nothing_we_know": None})
        assert rules.evaluate(policy, facts, AS_OF).policy == policy
        assert rules.evaluate(policy, with_facts(policy, acts=None), AS_OF).policy == policy


def test_an_act_from_the_future_or_before_receipt_is_refused():
    facts = with_facts("serco-es", acts={"respond": "2026-06-16"})
    assert set(refusal("serco-es", facts)) == {"/facts/acts/respond"}
    facts = with_facts("serco-es", acts={"respond": "2026-05-31T23:00:00-04:00"})
    assert "before received_at" in refusal("serco-es", facts)["/facts/acts/respond"]
