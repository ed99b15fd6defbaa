"""What `rules` remembers between evaluations gives what working it out afresh gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec

import rules
from rules import ruleset
from rules.calendar import utc_text
from rules.policies import DOCUMENTS
from rules.validation import parse_as_of, validate_facts

WME = {"received_at": "2025-12-23", "kind": "complaint", "category": "misconduct"}


def _derived(facts: dict, as_of: str) -> dict:
    document = DOCUMENTS["wme"]
    ready = ruleset.prepared(document, rules._VERSIONS["wme"])
    zone = document["timezone"]
    struct, moment = validate_facts(facts, as_of, ready.cls, zone, ready.cross_check)
    return dict(ready.derive(struct, moment, document["calendar"], zone))


def test_remembered_conclusions_are_those_worked_out_afresh():
    version = rules._VERSIONS["wme"]
    document = DOCUMENTS["wme"]
    every = frozenset({"acknowledge", "complaint", "in_writing", "serious"})
    for received in ("2025-12-23", "2026-03-27"):
        values = _derived({**WME, "received_at": received}, "2026-04-01T09:00:00Z")
        for fired in (frozenset(), frozenset({"acknowledge"}), every):
            fresh = ruleset.conclude(document, fired, values)
            assert ruleset.concluded(version, fired, values) == fresh
            assert ruleset.concluded(version, fired, values) == fresh  # now remembered


def test_equal_values_of_other_types_are_remembered_apart():
    version = rules._VERSIONS["wme"]
    values = _derived(WME, "2025-12-24T09:00:00Z")
    fired = frozenset({"acknowledge"})
    ruleset._remembered_conclusions.cache_clear()  # room for the entries counted below
    ruleset.concluded(version, fired, {**values, "x": True})
    size = ruleset._remembered_conclusions.cache_info().currsize
    ruleset.concluded(version, fired, {**values, "x": 1})
    ruleset.concluded(version, fired, {**values, "x": 1.0})
    assert ruleset._remembered_conclusions.cache_info().currsize == size + 2


def test_a_decision_is_the_same_however_often_it_is_taken():
    first = msgspec.json.encode(rules.evaluate("wme", WME, "2025-12-24T09:00:00+01:00"))
    again = msgspec.json.encode(rules.evaluate("wme", WME, "2025-12-24T09:00:00+01:00"))
    assert first == again
    assert b'"as_of":"2025-12-24T08:00:00Z"' in first


def test_an_instant_and_its_text_decide_alike():
    now = datetime(2026, 3, 29, 0, 30, 1, 250, tzinfo=UTC)
    text = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert rules.evaluate("wme", WME, now) == rules.evaluate("wme", WME, text)


def test_remembered_moments_are_those_parsed_afresh():
    text = "2026-03-29T00:30:00+01:00"
    moment = parse_as_of(text, "Europe/London")
    assert parse_as_of(text, "Europe/London") is moment
    assert parse_as_of(text, "America/New_York").local_date.isoformat() == "2026-03-28"
    assert moment.local_date.isoformat() == "2026-03-28"


def test_utc_text_writes_what_strftime_writes():
    zones = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-4))]
    for zone in zones:
        for micro in (0, 1, 999999):
            instant = datetime(1900, 1, 1, 3, 4, 5, micro, tzinfo=zone)
            moment = instant.astimezone(UTC)
            expected = moment.strftime("%Y-%m-%dT%H:%M:%S")
            expected += f".{moment.microsecond:06d}" if micro else ""
            assert utc_text(instant) == expected + "Z"


def test_remembered_decisions_skip_the_engine_until_it_is_forgotten(monkeypatch):
    from rules import engine

    calls = []
    match = engine._match
    monkeypatch.setattr(engine, "_match", lambda *args: calls.append(1) or match(*args))
    engine.forget()
    first = rules.evaluate("wme", WME, "2025-12-24T09:00:00Z")
    assert rules.evaluate("wme", WME, "2025-12-24T09:00:00Z") == first
    assert len(calls) == 1
    engine.forget()  # the decided conclusions go too: the engine matches the message again
    assert rules.evaluate("wme", WME, "2025-12-24T09:00:00Z") == first
    assert len(calls) == 2
