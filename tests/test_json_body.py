"""Every POST decodes its body itself (`api.bodies.json_value`), whole numbers made integers as
it goes: it must give what Litestar's body parameter and `whole_numbers` gave, value and type,
and refuse what they refused (400), naming the value at fault (`api.guard.where_undecodable`)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar.exceptions import SerializationException
from litestar.serialization import decode_json

from api.bodies import json_value, whole_numbers
from api.problems import ApiProblem

NUMBERS = [
    "2.0", "-0.0", "0.5", "1E2", "1e-2", "2.5e3", "9007199254740991.0", "9007199254740992.0",
    "-9007199254740993.0", "1e16", "1.7976931348623157e308", "1e400", "-1e999", "4.9e-324",
    "123456789012345678901234567890", "18446744073709551616", "-1", "0", "1.0000000000000002",
    "0.1e1", "1.5e-400", "NaN", "Infinity", "01", "1.", ".5", "-",
]  # fmt: skip
SCALARS = st.sampled_from([*NUMBERS, '"x"', "null", "true", '"\\ud800"', '"2.0"'])


@st.composite
def documents(draw, depth: int = 0) -> str:
    if depth > 3 or draw(st.integers(0, 2)) == 0:
        return draw(SCALARS)
    if draw(st.booleans()):
        members = draw(
            st.lists(st.tuples(st.sampled_from("abc"), documents(depth + 1)), max_size=3)
        )
        return "{" + ",".join(f'"{k}":{v}' for k, v in members) + "}"
    return "[" + ",".join(draw(st.lists(documents(depth + 1), max_size=3))) + "]"


def typed(value: Any) -> Any:
    """The value with the type of every part, so that 2 and 2.0 differ."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, repr(value))


def as_the_parameter_gave(body: bytes) -> Any:
    """Litestar's body parameter (`Request.json`, its errors a 400) and then `whole_numbers`."""
    try:
        return typed(whole_numbers(decode_json(body or b"null")))
    except (SerializationException, UnicodeDecodeError):
        return "400"


def as_decoded_now(body: bytes) -> Any:
    try:
        return typed(json_value(body))
    except ApiProblem as exc:
        assert exc.status == 400 and len(exc.errors) == 1, exc
        return "400"


@pytest.mark.parametrize("number", NUMBERS)
def test_each_number_decodes_as_before(number):
    for text in (number, f'{{"facts":{{"n":{number}}}}}', f"[1,{number}]"):
        assert as_decoded_now(text.encode()) == as_the_parameter_gave(text.encode()), text


def test_an_empty_body_is_null_and_garbage_the_same_400():
    for body in (b"", b"{", b"[1,]", b'{"a":1}x', b"\xff"):
        assert as_decoded_now(body) == as_the_parameter_gave(body), body


@settings(max_examples=300, deadline=None)
@given(documents())
def test_any_body_decodes_as_before(text):
    assert as_decoded_now(text.encode()) == as_the_parameter_gave(text.encode())
