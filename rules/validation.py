"""Validation of facts and `as_of` that names every offending field at once.

msgspec stops at the first error, so each field is converted on its own (strictly: a bool is not
an int, "50" is not a number) against the policy's fact Struct, recursing into lists and nested
Structs, and date facts are parsed here. JSON null counts as absent everywhere. Pointers are
relative to `{"facts": ..., "as_of": ...}`.
"""

from __future__ import annotations

import difflib
import functools
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

import msgspec

from rules import calendar
from rules.errors import InputError
from schemas.facts import DateKind
from schemas.problems import FieldError, escape_pointer

S = TypeVar("S", bound=msgspec.Struct)

# Issue 9: a fact string or list past these sizes is refused before any other work is done.
MAX_STRING_CHARS = 1000
MAX_ITEMS = 1000

DATE_FORMS = "a date YYYY-MM-DD or an RFC 3339 date-time with offset, e.g. 2026-11-27T09:00:00Z"
DATE_TIME_FORM = "an RFC 3339 date-time with offset, e.g. 2026-11-27T09:00:00Z"
DATE_ONLY_FORM = "a date YYYY-MM-DD, e.g. 2026-11-27"


@dataclass(frozen=True)
class Moment:
    """The decision instant: `as_of` as an aware datetime, its local date, and the instant as
    a decision writes it (`calendar.utc_text`: worked out with the rest, so a remembered
    Moment has it too)."""

    instant: datetime
    local_date: date
    text: str


@dataclass
class Check:
    """What field validation needs to know: the policy's zone, and `as_of` when it is valid."""

    timezone: str
    as_of: Moment | None
    errors: list[FieldError]
    raw: dict
    # The policy's obligation deadline names, which alone may be keys of `acts` (None: the
    # document predates `acts`).
    obligations: frozenset[str] | None = None
    # Pointers of the names the schema does not know that were given (`InputError.unnamed`).
    unnamed: list[str] = field(default_factory=list)

    def given(self, name: str) -> bool:
        """True when the client sent the fact (valid or not)."""
        return name in self.raw

    def fail(self, pointer: str, message: str) -> None:
        self.errors.append(FieldError(pointer=pointer, message=message))


def parse_as_of(value: object, timezone: str) -> Moment:
    """`as_of` (an RFC 3339 string with offset, or an aware datetime); InputError otherwise."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        instant = value
        if not calendar.FIRST_YEAR <= instant.year <= calendar.LAST_YEAR:
            raise InputError([FieldError(pointer="/as_of", message="year out of range")])
    elif isinstance(value, str):
        try:
            return _moment_of_text(value, timezone)
        except ValueError as exc:
            message = _date_message(exc, DATE_TIME_FORM)
            raise InputError([FieldError(pointer="/as_of", message=message)]) from None
    else:
        message = f"expected {DATE_TIME_FORM}, got {_a(_json_type(value))}"
        raise InputError([FieldError(pointer="/as_of", message=message)])
    return _moment(instant, timezone)


def _moment(instant: datetime, timezone: str) -> Moment:
    return Moment(
        instant=instant,
        local_date=calendar.local_date(instant, timezone),
        text=calendar.utc_text(instant),
    )


@functools.lru_cache(maxsize=1024)
def _moment_of_text(text: str, timezone: str) -> Moment:
    """The Moment of an `as_of` text, parsed once per text and zone (clients that date their
    requests send the same `as_of` many times; a Moment is frozen)."""
    return _moment(calendar.parse_date_time(text), timezone)


def _date_message(error: ValueError, forms: str) -> str:
    """What was wrong with a date, and the forms that are accepted."""
    problem = str(error)
    if problem.startswith("expected"):
        return f"expected {forms}"
    return f"{problem}; expected {forms}"


def without_nulls(value: object) -> object:
    """The value with every null-valued object member removed (null means absent)."""
    if isinstance(value, dict):
        return {k: _nested_without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_nested_without_nulls(v) for v in value]
    return value


def _nested_without_nulls(value: object) -> object:
    # Most facts are scalars: no call for them (issue 10).
    return without_nulls(value) if isinstance(value, (dict, list)) else value


def _unwrap_optional(hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def _date_kind(hint: Any) -> DateKind | None:
    if typing.get_origin(hint) is typing.Annotated:
        for extra in hint.__metadata__:
            if isinstance(extra, DateKind):
                return extra
    return None


def _bare(hint: Any) -> Any:
    """The type under any `Annotated` extras."""
    return hint.__origin__ if typing.get_origin(hint) is typing.Annotated else hint


def _is_struct(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, msgspec.Struct)


def _a(noun: str) -> str:
    """`noun` with its indefinite article ("an integer", "a string"); `null` stays bare."""
    if noun == "null":
        return noun
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _json_type(value: object) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
    if value is None:
        return "null"
    return "object" if isinstance(value, dict) else names.get(type(value), type(value).__name__)


def _quoted(values: list[Any]) -> str:
    return ", ".join(repr(v) for v in values)


def check_limits(value: object, pointer: str, errors: list[FieldError]) -> None:
    """Record every string over MAX_STRING_CHARS and list or object over MAX_ITEMS (issue 9).

    Walks the raw input once, without looking inside anything too big, so an oversized request
    is refused before validation, derivation or the engine see it.
    """
    if isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            message = f"a string of {len(value)} characters: at most {MAX_STRING_CHARS} allowed"
            errors.append(FieldError(pointer=pointer, message=message))
    elif isinstance(value, list):
        if len(value) > MAX_ITEMS:
            message = f"a list of {len(value)} items: at most {MAX_ITEMS} allowed"
            errors.append(FieldError(pointer=pointer, message=message))
            return
        for i, item in enumerate(value):
            if _may_be_too_big(item):
                check_limits(item, f"{pointer}/{i}", errors)
    elif isinstance(value, dict):
        if len(value) > MAX_ITEMS:
            message = f"an object of {len(value)} members: at most {MAX_ITEMS} allowed"
            errors.append(FieldError(pointer=pointer, message=message))
            return
        for key, item in value.items():
            if _may_be_too_big(item):
                check_limits(item, f"{pointer}/{escape_pointer(key)}", errors)


def _may_be_too_big(value: object) -> bool:
    """False for what cannot break a limit (booleans, numbers, short strings): the walk then
    skips them without building their pointer (issue 10)."""
    if isinstance(value, str):
        return len(value) > MAX_STRING_CHARS
    return isinstance(value, (list, dict))


def _check_date(value: object, kind: DateKind, pointer: str, check: Check) -> object:
    forms = DATE_TIME_FORM if kind.datetime_only else DATE_ONLY_FORM if kind.date_only else None
    forms = forms or DATE_FORMS
    if not isinstance(value, str):
        check.fail(pointer, f"expected {forms}, got {_a(_json_type(value))}")
        return None
    if kind.datetime_only and calendar.is_date_only(value):
        check.fail(pointer, f"expected {DATE_TIME_FORM}, not a bare date")
        return None
    if kind.date_only and not calendar.is_date_only(value):
        check.fail(pointer, f"expected {DATE_ONLY_FORM}, not a date-time")
        return None
    try:
        parsed = calendar.parse_date_fact(value)
    except ValueError as exc:
        check.fail(pointer, _date_message(exc, forms))
        return None
    if check.as_of is not None and not kind.may_be_later:
        if isinstance(parsed, datetime):
            if parsed > check.as_of.instant:
                check.fail(pointer, "later than as_of: facts describe what has happened")
                return None
        elif parsed > check.as_of.local_date:
            check.fail(
                pointer, "later than the local date of as_of: facts describe what has happened"
            )
            return None
    return value


def _check_choice(value: object, allowed: tuple, pointer: str, check: Check) -> object:
    """A value of a `Literal`: the message lists the allowed values and suggests a near one."""
    if value in allowed and type(value) is type(allowed[0]):
        return value
    message = f"expected one of {_quoted(list(allowed))}"
    if isinstance(value, str):
        texts = [a for a in allowed if isinstance(a, str)]
        near = difflib.get_close_matches(value, texts, n=1) or difflib.get_close_matches(
            value.lower(), texts, n=1
        )
        message = f"{value!r} is not allowed: {message}"
        if near:
            message += f"; did you mean {near[0]!r}?"
    else:
        message += f", got {_a(_json_type(value))}"
    check.fail(pointer, message)
    return None


def _check_mapping(value: object, item_shape: Shape, pointer: str, check: Check) -> object:
    """An object whose values all fit; under `acts`, its keys must be obligation names."""
    if not isinstance(value, dict):
        check.fail(pointer, f"expected an object, got {_a(_json_type(value))}")
        return None
    good = {}
    for key, item in value.items():
        here = f"{pointer}/{escape_pointer(key)}"
        if check.obligations is not None and key not in check.obligations:
            names = sorted(check.obligations)
            known = f"one of {_quoted(names)}" if names else "none: this policy has none"
            message = (
                f"{key!r} is not an obligation deadline of this policy (acts may name {known})"
            )
            near = difflib.get_close_matches(key, names, n=1)
            check.fail(here, message + (f"; did you mean {near[0]!r}?" if near else ""))
            continue
        checked = _check_value(item, item_shape, here, check)
        if checked is not None:
            good[key] = checked
    # The members that fit, even when some did not: cross-field checks still look at them.
    return good


_PLAIN = {bool: "a boolean", int: "an integer", str: "a string"}


# How a value is checked: ("plain", (type, hint)), ("choice", allowed values), ("date", DateKind),
# ("struct", Struct class), ("list", item shape), ("dict", item shape) or ("convert", hint).
Shape = tuple[str, Any]


@functools.cache
def _shape(hint: Any) -> Shape:
    """How a value of type `hint` is checked, worked out once per hint (issue 10). A list's and
    an object's shape hold their items' shape, so checking a value never looks at a type hint
    (hashing one to find its shape costs more than most checks)."""
    hint = _unwrap_optional(hint)
    kind = _date_kind(hint)
    if kind is not None:
        return "date", kind
    bare = _bare(hint)
    origin = typing.get_origin(bare)
    if origin is typing.Literal:
        return "choice", typing.get_args(bare)
    if _is_struct(bare):
        return "struct", bare
    if origin is list:
        return "list", _shape(typing.get_args(bare)[0])
    if origin is dict:
        return "dict", _shape(typing.get_args(bare)[1])
    if bare in _PLAIN:
        return "plain", (bare, hint)
    return "convert", hint


def _check_value(value: object, shape: Shape, pointer: str, check: Check) -> object:
    """The value when it fits `shape` (see `_shape`), else None after recording why not."""
    how, what = shape
    if how == "plain":
        bare, full = what
        if type(value) is not bare:
            check.fail(pointer, f"expected {_PLAIN[bare]}, got {_a(_json_type(value))}")
            return None
        if full is bare:
            return value
        what = full
        how = "convert"
    if how == "choice":
        return _check_choice(value, what, pointer, check)
    if how == "date":
        return _check_date(value, what, pointer, check)
    if how == "struct":
        if not isinstance(value, dict):
            check.fail(pointer, f"expected an object, got {_a(_json_type(value))}")
            return None
        return check_struct(value, what, pointer, check)
    if how == "list":
        if not isinstance(value, list):
            check.fail(pointer, f"expected an array, got {_a(_json_type(value))}")
            return None
        before = len(check.errors)
        items = [_check_value(v, what, f"{pointer}/{i}", check) for i, v in enumerate(value)]
        return items if len(check.errors) == before else None
    if how == "dict":
        return _check_mapping(value, what, pointer, check)
    try:
        return msgspec.convert(value, type=what, strict=True)
    except msgspec.ValidationError as exc:
        check.fail(pointer, _plain_message(str(exc)))
        return None


_MSGSPEC_TYPES = {"`int`": "an integer", "`str`": "a string", "`bool`": "a boolean"}


def _plain_message(message: str) -> str:
    """msgspec's message in the words of the others ("Expected `int` >= 0" → "expected an
    integer >= 0")."""
    for name, words in _MSGSPEC_TYPES.items():
        message = message.replace(name, words)
    return message[:1].lower() + message[1:]


@functools.cache
def _struct_fields(cls: type[msgspec.Struct]) -> dict[str, tuple[Any, bool]]:
    """Wire name → (type hint with its Annotated extras, required) of each field of `cls`."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return {f.encode_name: (hints[f.name], f.required) for f in msgspec.structs.fields(cls)}


@functools.cache
def _field_checks(cls: type[msgspec.Struct]) -> tuple[tuple[str, str, Shape, bool], ...]:
    """(wire name, its JSON pointer token, shape, required) of each field of `cls`, once."""
    return tuple(
        (name, escape_pointer(name), _shape(hint), required)
        for name, (hint, required) in _struct_fields(cls).items()
    )


def check_struct(data: dict, cls: type[msgspec.Struct], pointer: str, check: Check) -> dict:
    """The members of `data` that fit `cls` field by field; every misfit goes to `check`.

    When some member did not fit, the result holds only those that did: enough for cross-field
    checks, never for building the Struct (the caller looks at `check.errors`).
    """
    fields = _struct_fields(cls)
    for name in data:
        if name not in fields:
            unknown = f"{pointer}/{escape_pointer(name)}"
            check.unnamed.append(unknown)
            message = "unknown fact"
            near = difflib.get_close_matches(name, list(fields), n=1)
            check.fail(unknown, message + (f"; did you mean {near[0]!r}?" if near else ""))
    good: dict = {}
    for name, token, shape, required in _field_checks(cls):
        if name not in data:
            if required:
                check.fail(f"{pointer}/{token}", "required")
            continue
        value = _check_value(data[name], shape, f"{pointer}/{token}", check)
        if value is not None:
            good[name] = value
    return good


def check_acts_after_receipt(good: dict, check: Check) -> None:
    """An act on a local date before `received_at`'s is a bad request, at `/facts/acts/<name>`."""
    acts, received = good.get("acts"), good.get("received_at")
    if not acts or received is None:
        return
    received_on = calendar.local_date(received, check.timezone)
    for name, done in acts.items():
        if calendar.local_date(done, check.timezone) < received_on:
            check.fail(
                f"/facts/acts/{escape_pointer(name)}",
                "dated before received_at: an obligation is discharged after the complaint",
            )


CrossCheck = Callable[[dict, Check], None]


def validate_facts(
    facts: object,
    as_of: object,
    cls: type[S],
    timezone: str,
    cross_check: CrossCheck | None = None,
    obligations: frozenset[str] | None = None,
) -> tuple[S, Moment]:
    """The facts as `cls` and the decision moment, or InputError naming every bad field.

    `obligations` (documents that take `acts`): the names `acts` may use.
    """
    if isinstance(facts, dict):
        try:
            moment = parse_as_of(as_of, timezone)
        except InputError:
            pass  # named below, with everything else that is wrong
        else:
            fit = _fits_at_once(facts, moment, cls, timezone, cross_check, obligations)
            if fit is not None:
                return fit, moment
    return _validate_field_by_field(facts, as_of, cls, timezone, cross_check, obligations)


@dataclass(frozen=True)
class _Plan:
    """What `_fits_at_once` needs to know of a fact Struct, worked out once per Struct."""

    names: frozenset[str]  # every wire name
    dates: tuple[tuple[str, DateKind], ...]  # date facts
    date_maps: tuple[tuple[str, DateKind], ...]  # objects of date facts (`acts`)
    date_map_names: frozenset[str]  # their names: the only objects checked at once


@functools.cache
def _plan(cls: type[msgspec.Struct]) -> _Plan:
    dates, date_maps = [], []
    for name, _, (how, what), _ in _field_checks(cls):
        if how == "date":
            dates.append((name, what))
        elif how == "dict" and what[0] == "date":
            date_maps.append((name, what[1]))
    names = frozenset(_struct_fields(cls))
    return _Plan(names, tuple(dates), tuple(date_maps), frozenset(n for n, _ in date_maps))


def _fits_at_once(
    facts: dict,
    moment: Moment,
    cls: type[S],
    timezone: str,
    cross_check: CrossCheck | None,
    obligations: frozenset[str] | None,
) -> S | None:
    """The facts as `cls` when they are flat (no list with items, no nested object but the
    objects of date facts, no null anywhere) and pass every check, else None: then
    `_validate_field_by_field` decides, and names what is wrong.

    The usual request is such a one (issue 10: a third of an evaluation went on checking it
    field by field). One strict msgspec conversion does the field-by-field checks at once
    (unknown and missing facts, types, allowed values); the checks msgspec cannot make follow:
    the size limits, each date fact's form and its place before `as_of`, the names in `acts`,
    and the policy's cross-field checks. Where this says yes, the field-by-field walk says yes
    with the same Struct (`tests/test_validation_at_once.py` compares them).
    """
    plan = _plan(cls)
    if not facts.keys() <= plan.names:
        return None
    for name, value in facts.items():
        kind = type(value)
        if kind is str:
            if len(value) > MAX_STRING_CHARS:
                return None
        elif kind is dict:
            if name not in plan.date_map_names or len(value) > MAX_ITEMS:
                return None
            for item in value.values():
                if type(item) is not str or len(item) > MAX_STRING_CHARS:
                    return None
        elif value is None or (kind is list and value):
            return None
    try:
        struct = msgspec.convert(facts, type=cls, strict=True)
    except msgspec.ValidationError:
        return None
    check = Check(timezone=timezone, as_of=moment, errors=[], raw=facts, obligations=obligations)
    for name, date_kind in plan.dates:
        if name in facts:
            _check_date(facts[name], date_kind, name, check)
    for name, date_kind in plan.date_maps:
        mapping = facts.get(name)
        if mapping:
            if obligations is not None and not mapping.keys() <= obligations:
                return None
            for item in mapping.values():
                _check_date(item, date_kind, name, check)
    if check.errors:
        return None
    if obligations is not None:
        check_acts_after_receipt(facts, check)
    if cross_check is not None:
        cross_check(facts, check)
    return None if check.errors else struct


def _validate_field_by_field(
    facts: object,
    as_of: object,
    cls: type[S],
    timezone: str,
    cross_check: CrossCheck | None,
    obligations: frozenset[str] | None,
) -> tuple[S, Moment]:
    """`validate_facts` one field at a time, naming every field that is wrong."""
    errors: list[FieldError] = []
    if isinstance(facts, dict):
        check_limits(facts, "/facts", errors)
        if errors:
            raise InputError(errors)
    try:
        moment: Moment | None = parse_as_of(as_of, timezone)
    except InputError as exc:
        errors.extend(exc.errors)
        moment = None
    if not isinstance(facts, dict):
        message = f"expected an object, got {_a(_json_type(facts))}"
        errors.append(FieldError(pointer="/facts", message=message))
        raise InputError(errors)
    raw = typing.cast(dict, without_nulls(facts))
    check = Check(timezone=timezone, as_of=moment, errors=errors, raw=raw, obligations=obligations)
    good = check_struct(raw, cls, "/facts", check)
    if obligations is not None:
        check_acts_after_receipt(good, check)
    if cross_check is not None:
        cross_check(good, check)
    if errors:
        raise InputError(errors, unnamed=check.unnamed)
    assert moment is not None
    return msgspec.convert(good, type=cls), moment
