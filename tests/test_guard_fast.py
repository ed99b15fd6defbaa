"""The guard's fast check (`api.guard.surely_acceptable`) never clears a body the full scan
(`scan_json`) refuses: it only skips the scan, it never changes an answer. And a body no decoder
reads is refused naming the value at fault (`where_undecodable`)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.guard import MAX_DEPTH, Refused, scan_json, surely_acceptable, written_back

KEYS = st.sampled_from(["a", "b", "A", "é", "\\u0061", "\\\\", '\\"', "a\\u0000"])
SCALARS = st.sampled_from(["1", '"x"', "null", "true", "2.0", '"\\ud800"', "NaN", '"{["'])


@st.composite
def documents(draw, depth: int = 0) -> str:
    """JSON-ish text: objects (keys may repeat, spelled with or without escapes), arrays and
    scalars, sometimes deeper than the limit."""
    if depth > MAX_DEPTH + 2 or draw(st.integers(0, 3)) == 0:
        return draw(SCALARS)
    if draw(st.booleans()):
        members = draw(st.lists(st.tuples(KEYS, documents(depth + 1)), max_size=4))
        return "{" + ",".join(f'"{k}":{v}' for k, v in members) + "}"
    items = draw(st.lists(documents(depth + 1), max_size=3))
    return "[" + ",".join(items) + "]"


def refused(body: bytes) -> bool:
    try:
        scan_json(body)
    except Refused:
        return True
    return False


@settings(max_examples=200, deadline=None)
@given(documents(), st.sampled_from(["", " ", "}", "]", ",", '"']))
def test_what_the_fast_check_clears_the_scan_accepts(text, tail):
    body = (text + tail).encode("utf-8", "surrogatepass")
    if surely_acceptable(body):
        assert not refused(body)


@pytest.mark.parametrize(
    ("body", "cleared"),
    [
        (b'{"policy":"wme","facts":{"kind":"complaint"}}', True),
        (b'{"a":1,"a":2}', False),
        (b'{"a": 1, "a": 2}', False),
        (b'{"a": 1, "b": [1, {"c": null}]}', True),
        (b'{\n  "a": 1\n}', True),
        (b'{"a":1,"\\u0061":2}', False),
        (b'{"a":{"b":1,"b":1}}', False),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), False),
        (b'{"a":1', False),
    ],
)
def test_the_fast_check_clears_plain_bodies_and_leaves_the_rest_to_the_scan(body, cleared):
    assert surely_acceptable(body) is cleared
    if not cleared and body != b'{"a":1':
        assert refused(body)


@pytest.mark.parametrize(
    ("body", "same"),
    [
        (b'{"a":1,"b":[true,null,"x"]}', True),
        (b'{"a": 1, "b": [true, null, "x"]}', True),
        (b'{"a":1,"a":1}', False),
        (b'{"a": 1, "a": 1}', False),
        (b'{"a":1.5e3}', False),
        (b'{"a":"\\u00e9"}', False),
        (b'{"a":1', False),
    ],
)
def test_a_body_msgspec_writes_back_as_it_came_is_one_without_repeated_keys(body, same):
    assert written_back(body) is same


def test_a_body_at_the_depth_limit_is_cleared_by_one_or_the_other():
    body = json.dumps(json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)).encode()
    assert surely_acceptable(body) and not refused(body)


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (b'{"policy":"wme","facts":{"category":"\\ud800"}}', "/facts/category"),
        (b'{"facts":{"acts":["a","x\\uDC00y"]}}', "/facts/acts/1"),
        (b'{"facts":{"cat\\udfff":1}}', "/facts"),  # a key: its object is named
    ],
)
def test_a_lone_surrogate_escape_is_refused_naming_where_it_is(body, pointer):
    """No UTF-8 text holds a lone surrogate, so no fact can be one: refused, by field."""
    with pytest.raises(Refused) as refusal:
        scan_json(body)
    assert refusal.value.status == 400
    assert [e.pointer for e in refusal.value.errors] == [pointer]


def test_a_surrogate_pair_and_an_escaped_backslash_are_not_lone_surrogates():
    scan_json(b'{"facts":{"name":"\\ud83d\\ude00","path":"\\\\ud800"}}')


@pytest.mark.parametrize(
    ("body", "pointer", "words"),
    [
        (b'{"facts": {"n": [1, 2, 1e999]}}', "/facts/n/2", "out of range"),
        (b'{"facts": {"n": -1E+400}}', "/facts/n", "out of range"),
        (b'{"a": [{"b": NaN}]}', "/a/0/b", "'NaN' is not a JSON value"),
        (b'{"a": [0, 007]}', "/a/1", "'007' is not a JSON value"),
        (b'{"a": {"k\xff": 1}}', "/a", "a key string is not UTF-8"),
        (b'{"a~/b": "x\xc3"}', "/a~0~1b", "this string is not UTF-8"),
        (b'{"a": "x", "b": 1', "", "the decoder's words"),
        (b'{"a": "unterminated', "", "the decoder's words"),
    ],
)
def test_an_unreadable_body_names_the_value_at_fault(body, pointer, words):
    """A body the decoder refuses is refused naming the value that made it refuse (RFC 6901
    pointers, escapes included), or the body itself when no value is at fault."""
    from api.guard import where_undecodable

    error = where_undecodable(body, "the decoder's words")
    assert error.pointer == pointer
    assert words in error.message
