"""The fast canonical encoder agrees with RFC 8785 byte for byte.

CONTRACT.md: "its bytes are its RFC 8785 (JCS) canonical form". `canonical_bytes` encodes with
msgspec (sorted keys) where that is safe and with `rfc8785` otherwise; these properties compare
it against `rfc8785.dumps` on generated JSON values.
"""

from __future__ import annotations

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import (
    _scan,
    canonical_bytes,
    entry_bytes,
    entry_document,
    entry_parser,
    is_canonical,
    parse_entry,
    parse_entry_fast,
    sha256_hex,
    unhashable_values,
)

SAFE = 2**53 - 1
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12) | st.sampled_from(
    ["\u2028", "\x7f", '"\\', "\x00\x1f\b\f\n\r\t", "é", "😀", "\ufffd", "\ue000"]
)
scalars = st.none() | st.booleans() | st.integers(-SAFE, SAFE) | text
REUSED_PARSER = entry_parser()  # one buffer across every example, as in `verify`'s loop
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(text, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=600)
@given(values)
def test_fast_encoding_is_rfc8785(value):
    """Non-ASCII and non-BMP keys, escapes, control characters and ±(2^53 − 1) included."""
    assert canonical_bytes(value) == rfc8785.dumps(value)


@given(st.dictionaries(text, values, max_size=6))
def test_an_entry_around_canonical_body_bytes_is_the_canonical_entry(body):
    """The envelope is joined around the body's bytes, never re-encoded, and is still JCS."""
    raw = entry_bytes(
        7, "decision", "2026-01-02T03:04:05.000006Z", "ab" * 32, canonical_bytes(body)
    )
    document = entry_document(7, "decision", "2026-01-02T03:04:05.000006Z", "ab" * 32, body)
    assert raw == rfc8785.dumps(document)
    assert is_canonical(document, raw)
    assert len(sha256_hex(raw)) == 64


def test_keys_beyond_the_bmp_sort_by_utf16_code_units():
    """RFC 8785 §3.2.3 sorts by UTF-16 code units: U+1F600 (a surrogate pair) before U+FF5E."""
    value = {"\uff5e": 1, "\U0001f600": 2}
    assert canonical_bytes(value) == rfc8785.dumps(value)
    assert canonical_bytes(value).index("😀".encode()) < canonical_bytes(value).index("～".encode())


@given(st.dictionaries(text, values, max_size=6), st.sampled_from([" ", "\n", "", "x"]))
def test_the_fast_entry_check_accepts_and_refuses_as_the_reference_does(body, junk):
    """`verify` checks canonical form with `parse_entry_fast`; it must agree with `parse_entry`
    on canonical entries and on entries with a byte changed."""
    raw = entry_bytes(
        3, "decision", "2026-01-02T03:04:05.000006Z", "cd" * 32, canonical_bytes(body)
    )
    assert parse_entry_fast(raw) == parse_entry(raw) == REUSED_PARSER(raw)
    damaged = raw[:-1] + junk.encode() + b"}"
    outcomes = []
    for parse in (parse_entry, parse_entry_fast, REUSED_PARSER):
        try:
            outcomes.append(parse(damaged))
        except ValueError:
            outcomes.append("refused")
    assert outcomes[0] == outcomes[1] == outcomes[2]


def test_the_fast_entry_check_refuses_floats_and_spaced_json_like_the_reference():
    for raw in (
        b'{"body":{"x":1.0},"index":0,"kind":"key","prev_hash":"0","recorded_at":"t"}',
        b'{"body":{}, "index":0,"kind":"key","prev_hash":"0","recorded_at":"t"}',
        b'{"body":{"b":1,"a":2},"index":0,"kind":"key","prev_hash":"0","recorded_at":"t"}',
    ):
        for parse in (parse_entry, parse_entry_fast, entry_parser()):
            with pytest.raises(ValueError):
                parse(raw)


def test_a_reused_parser_compares_each_entry_with_its_own_encoding_only():
    """`entry_parser` re-encodes into one buffer: a shorter entry after a longer one is compared
    with its own bytes, not with what the buffer held before."""
    parse = entry_parser()
    long = entry_bytes(1, "decision", "t", "ab" * 32, canonical_bytes({"a": "x" * 200}))
    short = entry_bytes(2, "decision", "t", "ab" * 32, canonical_bytes({"a": "x"}))
    assert parse(long)["index"] == 1
    assert parse(short)["index"] == 2
    with pytest.raises(ValueError):
        parse(short[:-1] + b" }")
    assert parse(long)["body"] == {"a": "x" * 200}


NUMBER_PIECES = [b"1", b"09", b"123456789012345", b"9007199254740993", b":", b",", b"[", b"-"]
NUMBER_PIECES += [b'"', b"a", b"{", b"\xf0", b"\xc3\xa9", b"\xe2\x80\xa8"]


@settings(max_examples=800)
@given(st.binary(max_size=80) | st.lists(st.sampled_from(NUMBER_PIECES), max_size=12).map(b"".join))
def test_the_unsure_shortcut_finds_exactly_what_the_regex_finds(raw):
    """`_unsure` matches `_LONG_NUMBER` by byte classes, not by the regex: same verdict."""
    from ledger.canonical import _BEYOND_BMP, _LONG_NUMBER, _unsure

    regex = _LONG_NUMBER.search(raw) is not None or _BEYOND_BMP.search(raw) is not None
    assert _unsure(raw) == regex


deep_or_unhashable = st.recursive(
    scalars | st.floats(allow_nan=True) | st.integers() | st.sampled_from(["\ud800", 2**53]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(text | st.sampled_from(["\udfff"]), inner, max_size=3)
    ),
    max_leaves=40,
)


@settings(max_examples=800)
@given(deep_or_unhashable, st.integers(0, 6))
def test_the_fast_clearance_finds_nothing_only_where_the_full_walk_finds_nothing(value, depth):
    """`unhashable_values` skips its walk for what the C check clears: the walk, run anyway,
    must agree (floats, NaN, integers past 2^53 - 1, lone surrogates and nesting past the
    limit included; small limits make the depth check bite)."""
    assert unhashable_values(value, "/v", depth) == _scan(value, "/v", depth)[0]
