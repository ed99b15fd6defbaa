"""Entry bytes: the RFC 8785 (JCS) form of `{index, kind, recorded_at, prev_hash, body}`.

Everything hashed goes through `canonical_bytes`, which refuses what JCS cannot hash faithfully
(`unhashable_values`): floats (JCS and our JSON encoder disagree on them, so the hash would
depend on the encoder), integers past 2^53 - 1, text that is not Unicode, very deep nesting.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import msgspec
import rfc8785

from schemas.problems import SAFE_INTEGER, FieldError, escape_pointer

ZERO_HASH = "0" * 64
ENTRY_KINDS = frozenset({"key", "policy", "decision", "erasure"})


MAX_DEPTH = 32  # for a value a client sends (facts, personal data)
ENVELOPE_DEPTH = 8  # what wraps such a value in a hashed document: entry, body, facts, ...


FRACTION = "a fractional number cannot be recorded exactly: give a whole number or text"


def unhashable_values(
    value: Any, pointer: str = "", max_depth: int = MAX_DEPTH
) -> list[FieldError]:
    """Values the ledger cannot hash canonically (RFC 8785): fractional numbers, integers
    beyond ±(2^53 − 1), text that is not Unicode (lone surrogates), and nesting deeper than
    `max_depth`. The API checks requests with it before anything is recorded (a 422, not a failed
    write); `canonical_bytes` checks every hashed document with it again.

    A value the C check of `_fast_canonical` clears has none of these (see there), and is
    cleared without the walk in Python; the rest are walked to name each field at fault."""
    if _fast_canonical(value, max_depth) is not None:
        return []
    return _scan(value, pointer, max_depth)[0]


def _scan(value: Any, pointer: str, max_depth: int) -> tuple[list[FieldError], bool]:
    """(what `unhashable_values` reports, whether msgspec's sorted encoding may differ from
    RFC 8785 here): JCS sorts keys by UTF-16 code units, msgspec by code points, and the two
    orders agree only while no key holds a character beyond the Basic Multilingual Plane."""
    errors: list[FieldError] = []
    unsure = False
    pending: list[tuple[Any, str, int]] = [(value, pointer, 0)]
    while pending:
        item, where, depth = pending.pop()
        if depth > max_depth:
            errors.append(FieldError(pointer=where, message=f"nested deeper than {max_depth}"))
        elif isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str) or (not key.isascii() and max(key) > "\uffff"):
                    unsure = True
                token = f"{where}/{escape_pointer(key)}"
                if not _is_unicode(key):
                    errors.append(FieldError(pointer=where, message="a key is not valid Unicode"))
                pending.append((child, token, depth + 1))
        elif isinstance(item, list):
            pending.extend((child, f"{where}/{i}", depth + 1) for i, child in enumerate(item))
        elif isinstance(item, float):
            errors.append(
                FieldError(
                    pointer=where,
                    message=FRACTION,
                )
            )
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > SAFE_INTEGER:
            errors.append(FieldError(pointer=where, message="integer out of range (±2^53 − 1)"))
        elif isinstance(item, str) and not _is_unicode(item):
            errors.append(FieldError(pointer=where, message="text is not valid Unicode"))
        elif not isinstance(item, str | int | None):
            unsure = True  # a type JCS and msgspec might render differently: take the reference
    return sorted(errors, key=lambda e: e.pointer), unsure


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class UnhashableDocument(ValueError):
    """A document about to be hashed holds a value RFC 8785 cannot hash faithfully."""

    def __init__(self, problems: list[FieldError]) -> None:
        super().__init__("; ".join(f"{p.pointer or '/'}: {p.message}" for p in problems))
        self.problems = problems


_SORTED = msgspec.json.Encoder(order="sorted")


def canonical_bytes(document: Any) -> bytes:
    """The RFC 8785 bytes of a JSON document that `unhashable_values` finds nothing wrong with.

    msgspec's sorted encoding is byte-identical to RFC 8785 for what the ledger holds (text,
    safe integers, booleans, null, lists and objects with BMP keys: tests/test_canonical_fast.py
    checks it against `rfc8785`); anything else takes `rfc8785` itself."""
    fast = _fast_canonical(document)
    if fast is not None:
        return fast
    problems, unsure = _scan(document, "", MAX_DEPTH + ENVELOPE_DEPTH)
    if problems:
        raise UnhashableDocument(problems)
    return rfc8785.dumps(document) if unsure else _SORTED.encode(document)


def _fast_canonical(document: Any, max_depth: int = MAX_DEPTH + ENVELOPE_DEPTH) -> bytes | None:
    """msgspec's bytes when they are certainly canonical and nothing is wrong with the document,
    checked in C: they decode (floats refused) back to an equal document, hold no 16-digit
    number and no character beyond the BMP, and have no more brackets than `max_depth` (a
    value nested d deep sits inside d containers, each opened by a bracket). Text that is not
    Unicode does not encode. None sends the document through the full Python check."""
    try:
        raw = _SORTED.encode(document)
        if (
            raw.count(b"[") + raw.count(b"{") > max_depth
            or _unsure(raw)
            or raw[:1] in _NUMBER_START
            or _STRICT.decode(raw) != document
        ):
            return None
    except (TypeError, ValueError, msgspec.MsgspecError):
        return None
    return raw


def canonical_decision_body(body: dict[str, Any]) -> bytes:
    """`canonical_bytes(body)` for a decision entry's body as `ledger.store.decision_body` makes
    it: its `outcome` and `reasons` the Decision's, as `msgspec.to_builtins` gives them (only
    lists, dicts, text, booleans and null: nothing whose JSON differs from the value), the other
    values text or null but for `facts`, which may hold anything.

    Checked in one typed decode of msgspec's sorted bytes instead of `_fast_canonical`'s untyped
    decode, comparison, depth and number scans (half of a decision's canonical encoding): the
    bytes decode as `_DecisionBody` (no float, no integer past ±(2^53 − 1), the Decision's types,
    facts nested at most `_BODY_FACTS_DEPTH` deep), hold no character beyond the BMP, and give
    back the facts. For such a body `canonical_bytes` gives the same bytes
    (tests/test_canonical_decision_body.py); any other body goes to it."""
    try:
        raw = _SORTED.encode(body)
        decoded = _decision_body_decoder().decode(raw)
    except (TypeError, ValueError, msgspec.MsgspecError):  # msgspec's errors; text not UTF-8
        return canonical_bytes(body)
    if (
        (not raw.isascii() and _BEYOND_BMP.search(raw) is not None)
        or not all(isinstance(body[name], _TEXT_OR_NULL) for name in _BODY_TEXT_FIELDS)
        or decoded.facts != body["facts"]
    ):
        return canonical_bytes(body)
    return raw


_BODY_FACTS_DEPTH = 6  # containers, the facts' own included; deeper facts take `canonical_bytes`
_BODY_TEXT_FIELDS = ("as_of", "case_id", "decision_id", "key_id", "personal_commitment")
_BODY_TEXT_FIELDS += ("policy", "policy_version", "purpose")


# A tuple: `str | None` was built anew for each field, and `isinstance` takes a union slower.
_TEXT_OR_NULL = (str, type(None))


@functools.cache
def _decision_body_decoder() -> msgspec.json.Decoder:
    """The decoder of a decision entry's body (`canonical_decision_body`), built on first use
    (~10 ms; `service.Workflows` asks for it at start-up, `decision_bodies_ready`)."""
    from schemas.decision import Outcome, Reason

    text: Any = str | None
    fields: list[tuple[str, Any]] = [(name, text) for name in _BODY_TEXT_FIELDS]
    fields += [
        ("facts", dict[str, _hashable_json(_BODY_FACTS_DEPTH - 1)]),  # type: ignore[misc]
        ("outcome", Outcome),
        ("reasons", list[Reason]),
    ]
    return msgspec.json.Decoder(
        msgspec.defstruct("_DecisionBody", fields, forbid_unknown_fields=True, gc=False)
    )


def decision_bodies_ready() -> None:
    """Build `canonical_decision_body`'s decoder now, not on the first decision."""
    _decision_body_decoder()


def entry_bytes(index: int, kind: str, recorded_at: str, prev_hash: str, body: bytes) -> bytes:
    """The canonical bytes of `entry_document(...)` around a body already in canonical form:
    the envelope's keys in RFC 8785 order, its values plain ASCII, so no re-encoding."""
    if kind not in ENTRY_KINDS:
        raise ValueError(f"unknown entry kind {kind!r}")
    return b"".join(
        (
            b'{"body":',
            body,
            b',"index":%d,"kind":"%s","prev_hash":"%s","recorded_at":"%s"}'
            % (index, kind.encode(), prev_hash.encode(), recorded_at.encode()),
        )
    )


def entry_document(index: int, kind: str, recorded_at: str, prev_hash: str, body: dict) -> dict:
    return {
        "index": index,
        "kind": kind,
        "recorded_at": recorded_at,
        "prev_hash": prev_hash,
        "body": body,
    }


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_entry(raw: bytes) -> dict:
    """The entry document in `raw`, which must be exactly its own canonical form."""
    document = json.loads(raw)
    if not isinstance(document, dict) or set(document) != {
        "index",
        "kind",
        "recorded_at",
        "prev_hash",
        "body",
    }:
        raise ValueError("not an entry: expected exactly index, kind, recorded_at, prev_hash, body")
    if not is_canonical(document, raw):
        raise ValueError("entry bytes are not in RFC 8785 canonical form")
    return document


def is_canonical(document: Any, raw: bytes) -> bool:
    """Whether `raw` is exactly the RFC 8785 form of `document` (parsed from it)."""
    try:
        return canonical_bytes(document) == raw
    except UnhashableDocument:
        return rfc8785.dumps(document) == raw


def _no_floats(_: str) -> Any:
    raise ValueError("a float")


_STRICT = msgspec.json.Decoder(float_hook=_no_floats)
# What the fast check leaves to the reference: a number of 16+ digits (maybe past 2^53 - 1;
# text that looks like one only takes the slow path) and 4-byte UTF-8 (characters beyond the
# BMP, where key orders may differ).
_LONG_NUMBER = re.compile(rb"[:,\[-][0-9]{16}")
_BEYOND_BMP = re.compile(rb"[\xf0-\xf4]")

# `_LONG_NUMBER` in two C passes (a regex scan costs ~3 µs an entry, most of `verify`'s budget):
# each byte becomes its class, "!" for a byte that may precede a number's digits (`:,[-`), "0"
# for a digit, " " for any other, and the pattern becomes a substring of the classes.
_BYTE_CLASS = bytes(
    ord("0") if b in b"0123456789" else ord("!") if b in b":,[-" else ord(" ") for b in range(256)
)
_LONG_NUMBER_CLASSES = b"!" + b"0" * 16


def _unsure(raw: bytes) -> bool:
    """Whether `raw` holds what the fast check leaves to the reference: `_LONG_NUMBER`
    (tests/test_canonical_fast.py checks the two agree) or `_BEYOND_BMP`."""
    return _LONG_NUMBER_CLASSES in raw.translate(_BYTE_CLASS) or (
        not raw.isascii() and _BEYOND_BMP.search(raw) is not None
    )


_NUMBER_START = frozenset(b"-0123456789"[i : i + 1] for i in range(11))


# -- the entry check of `verify`'s loop ----------------------------------------------------------

# How deep the fast check's type nests values inside an entry's body (a decision's facts are
# two or three deep); a deeper entry takes `parse_entry`. msgspec takes no recursive type, so
# the type is written out level by level, and its decoders grow about twofold a level
# (depth 6: ~20 ms to build, once; depth 8: ~65 ms).
FAST_DEPTH = 6
SafeInteger = Annotated[int, msgspec.Meta(ge=-SAFE_INTEGER, le=SAFE_INTEGER)]


def _hashable_json(depth: int) -> Any:
    """The JSON values msgspec encodes as RFC 8785 does (see `canonical_bytes`), nested at most
    `depth` containers deep, as a msgspec type: its decoder refuses a float, an integer past
    ±(2^53 − 1) and deeper nesting while it decodes, in C."""
    scalar: Any = None | bool | SafeInteger | str
    if depth == 0:
        return scalar
    inner = _hashable_json(depth - 1)
    return scalar | list[inner] | dict[str, inner]  # type: ignore[valid-type]


# A decision's body as `ledger.store.decision_body` writes it, its fields in RFC 8785 order: the
# fast check decodes most entries into this (a struct decodes and encodes faster than a dict).
DECISION_TEXT_FIELDS = ("as_of", "case_id", "decision_id", "key_id", "personal_commitment")
DECISION_TEXT_FIELDS += ("policy", "policy_version", "purpose")
DECISION_VALUE_FIELDS = ("facts", "outcome", "reasons")


@functools.cache
def _fast_entry_decoders() -> tuple[msgspec.json.Decoder, msgspec.json.Decoder]:
    """Decoders of `{index, kind, recorded_at, prev_hash, body}` and nothing else, each field of
    its type, the body's values `_hashable_json`: one for a decision's body as the service
    writes it, one for any body. Built on first use (they take a while)."""
    values = _hashable_json(FAST_DEPTH)
    text: Any = str | None
    body_fields = [(name, text) for name in DECISION_TEXT_FIELDS]
    body_fields += [(name, values) for name in DECISION_VALUE_FIELDS]
    body_fields.sort()
    decision_body = _sorted_struct("DecisionBody", body_fields)

    def entry(name: str, body: Any) -> msgspec.json.Decoder:
        fields = [
            ("body", body),
            ("index", SafeInteger),
            ("kind", str),
            ("prev_hash", str),
            ("recorded_at", str),
        ]
        return msgspec.json.Decoder(_sorted_struct(name, fields))

    return entry("DecisionEntry", decision_body), entry("FastEntry", dict[str, values])


def _sorted_struct(name: str, fields: list[tuple[str, Any]]) -> type[msgspec.Struct]:
    """A struct of `fields`, which must be in RFC 8785 order (ASCII names, sorted): the entry
    check's encoder (`_STRUCTS_IN_ORDER`) writes a struct's fields in the order they are
    defined, so a definition out of order would take bytes in that order for canonical. No
    collector tracking: a decoded entry holds no cycle, and is dropped an entry later."""
    names = [field for field, _ in fields]
    if names != sorted(names) or not all(field.isascii() for field in names):
        raise ValueError(f"{name}'s fields are not in RFC 8785 order: {names}")
    return msgspec.defstruct(name, fields, forbid_unknown_fields=True, gc=False)


# The entry check's re-encoding: object keys sorted as `_SORTED` sorts them, a struct's fields
# in the order its type defines them (`_sorted_struct`), not sorted again for every entry as
# `_SORTED` does (a seventh of the encoding's time).
_STRUCTS_IN_ORDER = msgspec.json.Encoder(order="deterministic")


def entry_checker() -> Callable[[bytes], Any]:
    """For one loop over many entries (`verify`'s, one thread): a check returning the entry in
    `raw` (a struct with the entry's fields, its body a dict or, for a decision, a struct) when
    `raw` is certainly its own RFC 8785 form, and None when that takes `parse_entry` to decide.
    Certain when it decodes as an entry type of `_fast_entry_decoders` (only text, booleans,
    null, safe integers, lists and objects inside), holds no character beyond the BMP (the key
    order of msgspec and of RFC 8785 may differ there), and msgspec's sorted encoding gives
    `raw` back (`_STRUCTS_IN_ORDER`, the same bytes for these types): for such values the two
    encodings are byte for byte the same (tests/test_canonical_fast.py,
    tests/test_canonical_entry_check.py). Text is never taken for bytes: None, or a TypeError.
    The re-encoding goes into one buffer the loop reuses."""
    decisions, entries = _fast_entry_decoders()
    decode_decision, decode_entry = decisions.decode, entries.decode
    encode_into, buffer = _STRUCTS_IN_ORDER.encode_into, bytearray()
    beyond_bmp = _BEYOND_BMP.search

    def check(raw: bytes) -> Any:
        if not raw.isascii() and beyond_bmp(raw) is not None:
            return None
        try:
            entry = decode_decision(raw)
        except ValueError:  # msgspec's errors, and text that is not UTF-8
            try:
                entry = decode_entry(raw)
            except ValueError:
                return None
        encode_into(entry, buffer)
        return entry if buffer == raw else None

    return check


def run_checker() -> Callable[[Sequence[bytes]], list[Any]]:
    """`entry_checker`'s check for a run of entries at once (one loop, one thread): for each of
    `raws`, what the check returns for it, or None where it raises a TypeError (text). A run of
    decisions as the service writes them is checked with fewer calls: each decoded alone, by a
    C loop, then the run re-encoded as one list and compared with the entries joined by commas
    (a sixteenth less CPU for a chunk of `verify`). That one comparison holds exactly when each
    entry's own does, each entry having been decoded alone (one JSON object, then at most
    whitespace). At the first entry whose encoding differs from its bytes, both begin at the
    same place of the two equal texts, so one is the start of the other. Were its bytes the
    shorter, the encoding would close its object where they close theirs (the same bytes, read
    the same way) and end there, being compact: not longer. Were the encoding the shorter, the
    bytes would go on with whitespace only, where the list goes on with a comma or its closing
    bracket. Any other run (an entry of another shape, one not canonical) is checked entry by
    entry."""
    check = entry_checker()
    decode_decision = _fast_entry_decoders()[0].decode
    encode_into, buffer = _STRUCTS_IN_ORDER.encode_into, bytearray()
    beyond_bmp = _BEYOND_BMP.search

    def check_alone(raw: bytes) -> Any:
        try:
            return check(raw)
        except TypeError:
            return None

    def check_run(raws: Sequence[bytes]) -> list[Any]:
        try:
            joined = b",".join(raws)  # text among them: a TypeError
            if joined.isascii() or beyond_bmp(joined) is None:
                entries = list(map(decode_decision, raws))
                # The list's encoding is `[`, the entries' joined by commas, `]`: compared
                # in place, not copied between the brackets.
                encode_into(entries, buffer)
                if len(buffer) == len(joined) + 2 and buffer.startswith(joined, 1):
                    return entries
        except (TypeError, ValueError):  # ValueError: msgspec's errors, text not UTF-8
            pass
        return [check_alone(raw) for raw in raws]

    return check_run


def entry_of(checked: Any) -> dict:
    """The entry document (as `parse_entry` gives it) of what `entry_checker`'s check returned."""
    document = msgspec.structs.asdict(checked)
    if isinstance(checked.body, msgspec.Struct):
        document["body"] = msgspec.structs.asdict(checked.body)
    return document


def parse_entry_fast(raw: bytes) -> dict:
    """`parse_entry`, with the canonical check done by `entry_checker`'s where it is certain to
    agree with RFC 8785, and by `parse_entry` otherwise."""
    return entry_parser()(raw)


def entry_parser() -> Callable[[bytes], dict]:
    """`parse_entry_fast` for one loop over many entries (one thread only)."""
    check = entry_checker()

    def parse(raw: bytes) -> dict:
        try:
            checked = check(raw)
        except TypeError:
            checked = None
        return parse_entry(raw) if checked is None else entry_of(checked)

    return parse
