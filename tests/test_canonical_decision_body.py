"""`canonical_decision_body` (the decision workflows' entry bytes) gives what `canonical_bytes`
gives for the same body, byte for byte, and refuses what it refuses, with the same problems:
real decisions of every policy, their facts replaced by generated values (fractions, integers
past 2^53, keys beyond the BMP, deep nesting, tuples) and their other parts spoiled."""

from __future__ import annotations

import datetime
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

import rules
from api.typed import request_examples
from ledger.canonical import canonical_bytes, canonical_decision_body
from ledger.store import decision_body

EXAMPLES = [e["value"] for e in request_examples("DecisionRequest").values()]
BODIES = []
for example in EXAMPLES:
    decided = rules.evaluate(example["policy"], example["facts"], example["as_of"])
    decided = msgspec.structs.replace(decided, decision_id="0" * 32)
    BODIES.append(decision_body(decided, example["facts"], None, "key_0123456789abcdef"))

text = st.text(max_size=8) | st.sampled_from(["😀", "\ud800", "é", "\uffff", "1234567890123456"])
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False)
    | text
    | st.sampled_from([2**53 - 1, -(2**53 - 1), 2**53, 10**15, (1, 2), datetime.date(2026, 1, 2)])
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=12,
)
# Spoilers of a body's own parts: each returns the body changed in one place.
SPOILERS = {
    "none": lambda body: body,
    "float in outcome": lambda body: {**body, "outcome": {**body["outcome"], "stage": 1.5}},
    "int eligibility": lambda body: {
        **body,
        "outcome": {**body["outcome"], "eligibility": {"x": 1}},
    },
    "non-BMP key": lambda body: {
        **body,
        "outcome": {**body["outcome"], "eligibility": {"😀": True, "\uff5e": False}},
    },
    "unknown field": lambda body: {**body, "extra": "x"},
    "tuple of reasons": lambda body: {**body, "reasons": tuple(body["reasons"])},
    "date as_of": lambda body: {**body, "as_of": datetime.date(2026, 1, 2)},
    "int key_id": lambda body: {**body, "key_id": 7},
    "lone surrogate": lambda body: {**body, "policy": "\ud800"},
    "deep facts": lambda body: {**body, "facts": nested(8)},
    "deeper facts": lambda body: {**body, "facts": nested(45)},
}


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": [value]}
    return value


def outcome_of(encode, body) -> Any:
    try:
        return encode(body)
    except Exception as exc:  # noqa: BLE001 - the same refusal is what is compared
        return (type(exc), str(exc))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(BODIES), st.dictionaries(text, values, max_size=4), st.booleans())
def test_generated_facts_encode_and_are_refused_as_canonical_bytes_does(body, facts, keep):
    body = body if keep else {**body, "facts": facts}
    assert outcome_of(canonical_decision_body, body) == outcome_of(canonical_bytes, body)


def test_each_spoilt_body_encodes_or_is_refused_as_canonical_bytes_does():
    for body in BODIES:
        for name, spoil in SPOILERS.items():
            spoilt = spoil(body)
            found = outcome_of(canonical_decision_body, spoilt)
            assert found == outcome_of(canonical_bytes, spoilt), name


def test_a_decision_body_of_every_policy_passes_the_typed_check_itself():
    """The real bodies are not sent on to `canonical_bytes`: their bytes decode as the typed
    body, facts and all."""
    from ledger.canonical import _decision_body_decoder

    assert len(BODIES) == 4
    for body in BODIES:
        raw = canonical_decision_body(body)
        assert _decision_body_decoder().decode(raw).facts == body["facts"]
