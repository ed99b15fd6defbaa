"""`verify`'s fast entry check (`entry_checker`) never accepts what the exact check refuses.

`verify` takes an entry as canonical when the typed msgspec decode and re-encode of
`entry_checker` gives its bytes back, and asks `parse_entry` (RFC 8785 through `rfc8785`) only
otherwise. These properties hold the fast check to the exact one on canonical entries, on
entries with a piece of non-canonical JSON spliced in, and on values the fast path must leave
alone (floats, integers past 2^53 - 1, characters beyond the BMP, deep nesting).
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import (
    FAST_DEPTH,
    _sorted_struct,
    canonical_bytes,
    entry_bytes,
    entry_checker,
    entry_of,
    parse_entry,
    run_checker,
)
from ledger.store import decision_body
from schemas.decision import Decision

SAFE = 2**53 - 1
CHECK = entry_checker()  # one buffer across every example, as in `verify`'s loop
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8) | st.sampled_from(
    ["\u2028", "\x7f", '"\\', "\x00\x1f\b\f\n\r\t", "é", "😀", "\ue000", "/"]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-SAFE, SAFE)
    | st.sampled_from([SAFE, -SAFE, 10**15, 0])
    | text
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=25,
)
# Pieces of JSON that are not RFC 8785's form of what they say, or are not JSON at all.
NOT_CANONICAL = [
    b" ",
    b"\n",
    b"1.0",
    b"-0",
    b"1e2",
    b"1E2",
    b"01",
    b"9007199254740992",
    b"-9007199254740992",
    b"18446744073709551616",
    b'"\\u0041"',
    b'"\\/"',
    b'"\\u001F"',
    b'"\\ud800"',
    b'"\xf0\x9f\x98\x80"',
    b'"\xed\xa0\x80"',
    b'"a":1,',
    b',"a":1',
    b'"index":0,',
    b"true",
    b"null",
    b"[",
    b"]",
    b"{",
    b"}",
    b'"',
    b":",
    b",",
    b"\\",
]


def entry(body: dict, index: int = 5) -> bytes:
    return entry_bytes(index, "decision", "2026-01-02T03:04:05.000006Z", "ab" * 32, body)


def exact(raw: bytes) -> dict | None:
    try:
        return parse_entry(raw)
    except ValueError:
        return None


@settings(max_examples=600)
@given(st.dictionaries(text, values, max_size=6))
def test_a_canonical_entry_is_accepted_as_the_exact_check_reads_it(body):
    raw = entry(canonical_bytes(body))
    checked = CHECK(raw)
    assert exact(raw) is not None
    if checked is not None:
        assert entry_of(checked) == exact(raw)


@settings(max_examples=1500)
@given(
    st.dictionaries(text, values, max_size=5),
    st.integers(0, 10**4),
    st.integers(0, 12),
    st.sampled_from(NOT_CANONICAL) | st.binary(max_size=6),
)
def test_the_fast_check_never_accepts_what_the_exact_check_refuses(body, at, cut, piece):
    """A piece spliced in anywhere (replacing up to `cut` bytes): whatever the fast check
    accepts, the exact check accepts as the same document."""
    raw = entry(canonical_bytes(body))
    at %= len(raw) + 1
    damaged = raw[:at] + piece + raw[at + cut :]
    checked = CHECK(damaged)
    if checked is not None:
        assert exact(damaged) == entry_of(checked)


@pytest.mark.parametrize(
    "value",
    [
        {"x": 1.0},
        {"x": 2**53},
        {"x": -(2**53)},
        {"x": 2**64},
        {"\U0001f600": 1, "\uff5e": 2},
        {"x": "\U0001f600"},
    ],
)
def test_what_msgspec_and_rfc8785_may_render_differently_is_left_to_the_exact_check(value):
    """Floats, unsafe integers and characters beyond the BMP never pass the fast check, even
    written as msgspec writes them (the exact check then decides)."""
    body = msgspec.json.encode(value, order="sorted")
    assert CHECK(entry(body)) is None


def nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def test_nesting_past_the_fast_depth_is_left_to_the_exact_check():
    within = entry(canonical_bytes({"x": nested(FAST_DEPTH)}))
    beyond = entry(canonical_bytes({"x": nested(FAST_DEPTH + 1)}))
    assert entry_of(CHECK(within)) == parse_entry(within)
    assert CHECK(beyond) is None
    assert parse_entry(beyond)["body"]["x"] == nested(FAST_DEPTH + 1)


def service_decision(case_id: str | None) -> bytes:
    outcome = {
        "disposition": "accept",
        "stage": "stage_1",
        "route": {"role": "investigator", "assignee": None},
        "notify": [],
        "deadlines": [{"name": "acknowledge", "due": "2026-12-31", "rule": "wme-2"}],
        "actions": [],
        "flags": [],
        "eligibility": {"in_time": True},
    }
    decision = msgspec.convert(
        {
            "decision_id": "d" * 32,
            "policy": "wme",
            "policy_version": "sha256:" + "ab" * 32,
            "as_of": "2026-12-24T09:00:00Z",
            "case_id": case_id,
            "outcome": outcome,
            "reasons": [{"rule": "wme-1", "citation": "WME 3.1", "text": "in time"}],
        },
        Decision,
    )
    body = decision_body(decision, {"received_at": "2026-12-23", "n": [1, {"a": None}]}, None)
    return entry(canonical_bytes(body))


def test_a_decision_as_the_service_writes_it_takes_the_struct_path():
    """The fast path is not vacuous: a decision as the service writes it is accepted, its body
    a struct that `verify`'s loop reads the decision and case ids from."""
    outside, inside = service_decision(None), service_decision("c" * 32)
    assert CHECK(outside).body.decision_id == "d" * 32
    assert CHECK(outside).body.case_id is None
    assert CHECK(inside).body.case_id == "c" * 32
    assert entry_of(CHECK(inside)) == parse_entry(inside)
    assert rfc8785.dumps(parse_entry(outside)) == outside


def test_text_is_never_taken_for_entry_bytes():
    """A store whose entry column holds text: `verify`'s loop names it (a TypeError or None
    sends it to `_entry_failure`), never accepts it."""
    text = service_decision(None).decode()
    assert CHECK(text) is None  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        CHECK(text.replace("received_at", "reçu"))  # type: ignore[arg-type]


def reordered(raw: bytes, order: Callable[[list[str]], list[str]], where: str) -> bytes:
    """`raw` (an entry) with its own keys ("envelope") or its body's ("body") written in
    `order`, nothing else changed: JSON that says the same, not in RFC 8785's form."""
    document = msgspec.json.decode(raw)

    def written(value: dict, keys_order: Callable[[list[str]], list[str]]) -> bytes:
        parts = [msgspec.json.encode(k) + b":" + value[k] for k in keys_order(list(value))]
        return b"{" + b",".join(parts) + b"}"

    def kept(keys: list[str]) -> list[str]:
        return sorted(keys)

    body = {k: msgspec.json.encode(v, order="sorted") for k, v in document["body"].items()}
    envelope = {k: msgspec.json.encode(v, order="sorted") for k, v in document.items()}
    envelope["body"] = written(body, order if where == "body" else kept)
    return written(envelope, order if where == "envelope" else kept)


@pytest.mark.parametrize("where", ["envelope", "body"])
@pytest.mark.parametrize(
    "order",
    [
        lambda keys: sorted(keys, reverse=True),
        lambda keys: sorted(keys, key=lambda k: (len(k), k)),
        lambda keys: [*sorted(keys)[1:], sorted(keys)[0]],
    ],
)
def test_a_decision_whose_fields_are_out_of_order_is_not_canonical(order, where):
    """The check's encoder writes a struct's fields in the order its type defines them (sorted,
    `_sorted_struct`), not sorted again: fields written in another order are refused, by the
    fast check and by the exact one, for the service's decisions (a struct) and others."""
    for raw in (service_decision(None), service_decision("c" * 32), entry(b'{"aa":2,"b":1}')):
        assert reordered(raw, sorted, where) == raw
        damaged = reordered(raw, order, where)
        assert damaged != raw and msgspec.json.decode(damaged) == msgspec.json.decode(raw)
        assert CHECK(damaged) is None
        assert exact(damaged) is None


def test_a_struct_type_out_of_rfc8785_order_is_refused():
    with pytest.raises(ValueError, match="not in RFC 8785 order"):
        _sorted_struct("Out", [("b", int), ("a", int)])


# -- a run of entries checked at once (`run_checker`, `verify`'s loop) -------------------------

RUN_CHECK = run_checker()


def alone(raw: bytes) -> dict | None:
    """What `verify`'s loop takes an entry for when checked alone: the document, or None."""
    try:
        checked = CHECK(raw)
    except TypeError:
        return None
    return None if checked is None else entry_of(checked)


def as_checked_alone(raws: list[bytes]) -> list[dict | None]:
    return [None if c is None else entry_of(c) for c in RUN_CHECK(raws)]


def test_a_run_of_the_services_decisions_takes_the_runs_path():
    """Not vacuous: a run of decisions as the service writes them is accepted whole (the
    entries given back are its own decoding, not the entry-by-entry fallback's)."""
    raws = [service_decision(None), service_decision("c" * 32)] * 3
    checked = RUN_CHECK(raws)
    assert [entry_of(c) for c in checked] == [parse_entry(raw) for raw in raws]
    assert RUN_CHECK([]) == []


@settings(max_examples=400)
@given(
    st.lists(st.sampled_from([None, "c" * 32]), min_size=1, max_size=5),
    st.integers(0, 10**4),
    st.integers(0, 12),
    st.sampled_from(NOT_CANONICAL) | st.binary(max_size=6),
)
def test_a_run_is_taken_entry_for_entry_as_each_alone(case_ids, at, cut, piece):
    """One entry of a run of the service's decisions damaged anywhere: each entry of the run is
    taken for what the check of it alone takes it for (the damaged one refused)."""
    raws = [service_decision(case_id) for case_id in case_ids]
    which = at % len(raws)
    raw = raws[which]
    at %= len(raw) + 1
    raws[which] = raw[:at] + piece + raw[at + cut :]
    assert as_checked_alone(raws) == [alone(raw) for raw in raws]


@pytest.mark.parametrize("cut", range(1, 40))
def test_entries_whose_bytes_are_split_otherwise_between_rows_are_refused(cut):
    """Two entries written across two rows at another boundary (the first row holding the
    first entry, its comma and the start of the second): the run joined says the same as the
    two entries, but neither row is an entry, and neither is taken for one."""
    first, second = service_decision(None), service_decision("c" * 32)
    commas = [i for i, byte in enumerate(second) if byte == ord(",")]
    split = commas[cut % len(commas)]
    rows = [first + b"," + second[:split], second[split + 1 :]]
    assert b",".join(rows) == first + b"," + second
    assert as_checked_alone(rows) == [None, None]
    around = [first, *rows, second]
    assert as_checked_alone(around) == [parse_entry(first), None, None, parse_entry(second)]


def test_a_run_with_text_or_another_shape_is_taken_entry_by_entry():
    """Text among the rows (a store whose column holds text), and an entry that is not a
    decision as the service writes it: each of the others is still taken for itself."""
    decision, other = service_decision(None), entry(b'{"aa":2,"b":1}')
    rows = [decision, decision.decode(), other, decision]
    expected = [parse_entry(decision), None, parse_entry(other), parse_entry(decision)]
    assert as_checked_alone(rows) == expected
