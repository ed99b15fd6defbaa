"""Validation of facts and `as_of` that names every offending field at once.

msgspec stops at the first error, so each field is converted on its own (strictly: a bool is not
an int, "50" is not a number) against the policy's fact Struct, recursing into lists and nested
Structs, and date facts are parsed here. JSON null counts as absent everywhere. Pointers are
relative to `{"facts": ..., "as_of": ...}`.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

import msgspec

from rules import calendar
from rules.errors import InputError
from schemas.facts import DateKind
from schemas.problems import FieldError, escape_pointer

S = TypeVar("S", bound=msgspec.Struct)


@dataclass(frozen=True)
class Moment:
    """The decision instant: `as_of` as an aware datetime, and its local date."""

    instant: datetime
    local_date: date


@dataclass
class Check:
    """What field validation needs to know: the policy's zone, and `as_of` when it is valid."""

    timezone: str
    as_of: Moment | None
    errors: list[FieldError]
    raw: dict

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
            instant = calendar.parse_date_time(value)
        except ValueError as exc:
            raise InputError([FieldError(pointer="/as_of", message=str(exc))]) from None
    else:
        raise InputError(
            [FieldError(pointer="/as_of", message="expected an RFC 3339 date-time with offset")]
        )
    return Moment(instant=instant, local_date=calendar.local_date(instant, timezone))


def without_nulls(value: object) -> object:
    """The value with every null-valued object member removed (null means absent)."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


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


def _is_struct(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, msgspec.Struct)


def _check_date(value: object, kind: DateKind, pointer: str, check: Check) -> object:
    if not isinstance(value, str):
        check.fail(pointer, f"expected a string, got {type(value).__name__}")
        return None
    if kind.datetime_only and calendar.is_date_only(value):
        check.fail(pointer, "expected a date-time with offset, not a bare date")
        return None
    try:
        parsed = calendar.parse_date_fact(value)
    except ValueError as exc:
        check.fail(pointer, str(exc))
        return None
    if check.as_of is not None:
        if isinstance(parsed, datetime):
            if parsed > check.as_of.instant:
                check.fail(pointer, "later than as_of: facts describe what has happened")
                return None
        elif parsed > check.as_of.local_date:
            check.fail(pointer, "later than the local date of as_of")
            return None
    return value


def _check_value(value: object, hint: Any, pointer: str, check: Check) -> object:
    """The value when it fits `hint`, else None after recording why not."""
    hint = _unwrap_optional(hint)
    kind = _date_kind(hint)
    if kind is not None:
        return _check_date(value, kind, pointer, check)
    if _is_struct(hint):
        if not isinstance(value, dict):
            check.fail(pointer, f"expected an object, got {_json_type(value)}")
            return None
        return check_struct(value, hint, pointer, check)
    if typing.get_origin(hint) is list:
        if not isinstance(value, list):
            check.fail(pointer, f"expected an array, got {_json_type(value)}")
            return None
        (item_hint,) = typing.get_args(hint)
        before = len(check.errors)
        items = [_check_value(v, item_hint, f"{pointer}/{i}", check) for i, v in enumerate(value)]
        return items if len(check.errors) == before else None
    try:
        return msgspec.convert(value, type=hint, strict=True)
    except msgspec.ValidationError as exc:
        check.fail(pointer, str(exc))
        return None


def _json_type(value: object) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
    return "object" if isinstance(value, dict) else names.get(type(value), type(value).__name__)


@functools.cache
def _struct_fields(cls: type[msgspec.Struct]) -> dict[str, tuple[Any, bool]]:
    """Wire name → (type hint with its Annotated extras, required) of each field of `cls`."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return {f.encode_name: (hints[f.name], f.required) for f in msgspec.structs.fields(cls)}


def check_struct(data: dict, cls: type[msgspec.Struct], pointer: str, check: Check) -> dict:
    """The members of `data` that fit `cls` field by field; every misfit goes to `check`.

    When some member did not fit, the result holds only those that did: enough for cross-field
    checks, never for building the Struct (the caller looks at `check.errors`).
    """
    fields = _struct_fields(cls)
    for name in data:
        if name not in fields:
            check.fail(f"{pointer}/{escape_pointer(name)}", "unknown fact")
    good: dict = {}
    for name, (hint, required) in fields.items():
        here = f"{pointer}/{escape_pointer(name)}"
        if name not in data:
            if required:
                check.fail(here, "required")
            continue
        value = _check_value(data[name], hint, here, check)
        if value is not None:
            good[name] = value
    return good


CrossCheck = Callable[[dict, Check], None]


def validate_facts(
    facts: object,
    as_of: object,
    cls: type[S],
    timezone: str,
    cross_check: CrossCheck | None = None,
) -> tuple[S, Moment]:
    """The facts as `cls` and the decision moment, or InputError naming every bad field."""
    errors: list[FieldError] = []
    try:
        moment: Moment | None = parse_as_of(as_of, timezone)
    except InputError as exc:
        errors.extend(exc.errors)
        moment = None
    if not isinstance(facts, dict):
        message = f"expected an object, got {_json_type(facts)}"
        errors.append(FieldError(pointer="/facts", message=message))
        raise InputError(errors)
    raw = typing.cast(dict, without_nulls(facts))
    check = Check(timezone=timezone, as_of=moment, errors=errors, raw=raw)
    good = check_struct(raw, cls, "/facts", check)
    if cross_check is not None:
        cross_check(good, check)
    if errors:
        raise InputError(errors)
    assert moment is not None
    return msgspec.convert(good, type=cls), moment
