"""Facts checked at once (`_fits_at_once`, one strict msgspec conversion and the checks it
cannot make) are accepted only where the field-by-field walk accepts them, as the same Struct.

The walk is the definition: it names every bad field. The quick path may decline anything
(the walk then decides), but it must never accept what the walk refuses.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

import rules
from rules import InputError
from rules.policies import DOCUMENTS, EARLIER
from rules.ruleset import document_version, prepared
from rules.validation import (
    MAX_STRING_CHARS,
    _fits_at_once,
    _shape,
    _struct_fields,
    _validate_field_by_field,
    parse_as_of,
    validate_facts,
)
from schemas.facts import DateFact

AS_OF = "2026-06-15T09:00:00Z"
MOMENT = datetime(2026, 6, 15, 9, tzinfo=UTC)
DOCUMENTS_UNDER_TEST = [(p, d) for p, d in DOCUMENTS.items()] + [
    (p, d) for p, ds in EARLIER.items() for d in ds
]


def _ready(document: dict):
    return prepared(document, document_version(document))


OFFSETS = ["Z", "+00:00", "+01:00", "-05:00", "+05:30"]
# Wrong in one way or another, for any field.
WRONG = [
    None,
    True,
    0,
    -1,
    2**64,
    1.5,
    "",
    "complaint",
    "x" * (MAX_STRING_CHARS + 1),
    [],
    [True],
    {},
    {"acknowledge": None},
    "2026-06-16",
    "2026-06-15T09:00:01Z",
    "2026-06-10T10:15:00",
    "2026-02-30",
    "2026-06-15T08:00:00." + "1" * MAX_STRING_CHARS + "Z",
]


def _date(rng: random.Random, kind: Any) -> str:
    """A date fact before AS_OF (within about a year), in the forms `kind` allows."""
    moment = MOMENT - timedelta(minutes=rng.randrange(60, 400 * 24 * 60))
    if kind.date_only or (not kind.datetime_only and rng.random() < 0.5):
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + rng.choice(OFFSETS)


def _value(rng: random.Random, shape: tuple, names: list[str]) -> Any:
    """A value a field of `shape` may rightly be sent."""
    how, what = shape
    if how == "plain":
        return {bool: rng.random() < 0.5, int: rng.randrange(0, 5)}.get(what[0], "cw-1")
    if how == "choice":
        return rng.choice(what)
    if how == "date":
        return _date(rng, what)
    if how == "struct":
        return _facts(rng, what, names)
    if how == "list":
        return [_value(rng, what, names) for _ in range(rng.randrange(0, 3))]
    if how == "dict":
        chosen = rng.sample(names, rng.randrange(0, len(names) + 1)) if names else []
        return {name: _value(rng, what, names) for name in chosen}
    return rng.randrange(0, 5)


def _facts(rng: random.Random, cls: type, names: list[str]) -> dict:
    """Facts for `cls`: required fields mostly given, the others now and then."""
    return {
        name: _value(rng, _shape(hint), names)
        for name, (hint, required) in _struct_fields(cls).items()
        if rng.random() < (0.97 if required else 0.3)
    }


def _mutated(rng: random.Random, cls: type, names: list[str]) -> dict:
    """Facts for `cls`, half of them then spoilt: a member (or an act, or an unknown fact)
    set to something wrong."""
    facts = _facts(rng, cls, names)
    if rng.random() < 0.5:
        acts = facts.get("acts")
        if isinstance(acts, dict) and acts and rng.random() < 0.4:
            acts[rng.choice([*acts, "not_a_deadline"])] = rng.choice(WRONG)
        else:
            facts[rng.choice([*_struct_fields(cls), "unknown_fact"])] = rng.choice(WRONG)
    return facts


@pytest.mark.parametrize(
    ("policy", "document"), DOCUMENTS_UNDER_TEST, ids=[d["facts"] for _, d in DOCUMENTS_UNDER_TEST]
)
def test_what_is_accepted_at_once_the_walk_accepts_alike(policy, document):
    ready = _ready(document)
    zone = document["timezone"]
    names = sorted(document.get("deadlines", {}))
    moment = parse_as_of(AS_OF, zone)
    rng = random.Random(f"at once {document['facts']}")
    accepted = declined_and_refused = 0
    for _ in range(3000):
        facts = _mutated(rng, ready.cls, names)
        at_once = _fits_at_once(
            facts, moment, ready.cls, zone, ready.cross_check, ready.obligations
        )
        try:
            walked, _ = _validate_field_by_field(
                facts, AS_OF, ready.cls, zone, ready.cross_check, ready.obligations
            )
        except InputError:
            assert at_once is None, f"accepted at once, refused by the walk: {facts}"
            declined_and_refused += 1
            continue
        assert at_once is None or at_once == walked
        accepted += at_once is not None
    # Both sides were reached: many accepted at once, many refused.
    assert accepted > 300 and declined_and_refused > 300, (accepted, declined_and_refused)


def test_a_typical_complaint_is_accepted_at_once():
    document = DOCUMENTS["wme"]
    ready = _ready(document)
    zone = document["timezone"]
    facts = {
        "received_at": "2026-06-12T10:15:00+01:00",
        "kind": "complaint",
        "category": "staff_conduct",
        "complex": True,
        "acts": {"acknowledge": "2026-06-13"},
    }
    moment = parse_as_of(AS_OF, zone)
    at_once = _fits_at_once(facts, moment, ready.cls, zone, ready.cross_check, ready.obligations)
    assert at_once is not None
    walked = validate_facts(facts, AS_OF, ready.cls, zone, ready.cross_check, ready.obligations)
    assert at_once == walked[0]


@pytest.mark.parametrize(
    ("facts", "pointer"),
    [
        # Each declined at once and named by the walk, as before.
        ({"received_at": "2026-06-16", "kind": "complaint"}, "/facts/received_at"),
        ({"received_at": "2026-06-12", "kind": "complaint", "complex": 1}, "/facts/complex"),
        ({"received_at": "2026-06-12", "kind": "grumble"}, "/facts/kind"),
        (
            {"received_at": "2026-06-12", "kind": "complaint", "acts": {"ack": "2026-06-13"}},
            "/facts/acts/ack",
        ),
        (
            {
                "received_at": "2026-06-12",
                "kind": "complaint",
                "acts": {"acknowledge": "2026-06-11"},
            },
            "/facts/acts/acknowledge",
        ),
        ({"received_at": "2026-06-12", "kind": "complaint", "colour": "red"}, "/facts/colour"),
    ],
)
def test_bad_facts_are_still_named_field_by_field(facts, pointer):
    with pytest.raises(InputError) as refused:
        rules.evaluate("wme", facts, AS_OF)
    assert [e.pointer for e in refused.value.errors] == [pointer]


def test_null_still_means_absent():
    base = {"received_at": "2026-06-12", "kind": "complaint"}
    with_null = rules.evaluate("wme", {**base, "category": None, "acts": None}, MOMENT)
    assert with_null == rules.evaluate("wme", base, MOMENT)


class _Inner(msgspec.Struct, forbid_unknown_fields=True):
    when: DateFact


class _Outer(msgspec.Struct, forbid_unknown_fields=True):
    inner: _Inner | None = None


def test_an_object_other_than_acts_is_left_to_the_walk():
    # No policy has such a fact today; its dates would go unchecked at once.
    facts = {"inner": {"when": "2026-06-16"}}  # after AS_OF
    assert _fits_at_once(facts, parse_as_of(AS_OF, "UTC"), _Outer, "UTC", None, None) is None
    with pytest.raises(InputError) as refused:
        validate_facts(facts, AS_OF, _Outer, "UTC")
    assert [e.pointer for e in refused.value.errors] == ["/facts/inner/when"]
