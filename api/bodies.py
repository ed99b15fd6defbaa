"""Request bodies checked field by field, so a 400 names every offending field at once, with
messages a person can act on (allowed values, the nearest one, accepted forms).

msgspec stops at the first error, so each field of the closed request Struct is converted on its
own; unknown top-level fields get a pointer of their own. Then what only the rules know: the
facts (422, pointers into `facts`; 400 for a fact a decision's or a new case's schema does not
name, as for any body field), and a `live` decision dated in the future (422, `/as_of`).
"""

from __future__ import annotations

import difflib
import functools
import math
import types
import typing
from datetime import datetime, timedelta
from typing import Any, TypeVar

import anyio.to_thread
import msgspec
from litestar import Request
from litestar.exceptions import SerializationException
from litestar.serialization import decode_json

import clock
import rules
from api.guard import SCAN_IN_THREAD_BYTES, where_undecodable
from api.problems import ApiProblem, plain_message
from ledger.canonical import unhashable_values
from schemas.api import NO_NUL
from schemas.decision import Decision
from schemas.problems import SAFE_INTEGER, FieldError, escape_pointer, pointer_tokens

S = TypeVar("S", bound=msgspec.Struct)
FUTURE_SLACK = timedelta(minutes=5)


def whole_numbers(value: Any) -> Any:
    """The body with every integral number written as a fraction (`2.0`) made an integer: JSON
    Schema calls `2.0` an integer, and RFC 8785 writes it `2`, so it means the same and is
    recorded the same."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53 - 1:
        return int(value)
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    return value


def _whole_number(text: str) -> int | float:
    """A JSON number with a fraction or exponent, as `whole_numbers` would leave it: an integer
    when integral (within ±(2^53 − 1)). Out of range is an error, worded by the plain decode."""
    value = float(text)
    if value.is_integer() and abs(value) <= SAFE_INTEGER:
        return int(value)
    if math.isinf(value):
        raise ValueError("out of range")
    return value


_WHOLE_NUMBERS = msgspec.json.Decoder(float_hook=_whole_number)


async def json_body(request: Request) -> Any:
    """`whole_numbers` of the JSON body, as a handler's `data` parameter gives it: Litestar's
    body parameter costs a handler on the event loop a data extractor, its signature model and
    a walk of the body again (`json_value`). A large body is decoded off the event loop: if no
    decoder reads it, finding the value at fault walks every token (a second for 1 MiB)."""
    body = await request.body()
    if len(body) > SCAN_IN_THREAD_BYTES:
        return await anyio.to_thread.run_sync(json_value, body)
    return json_value(body)


def json_value(body: bytes) -> Any:
    """`whole_numbers(data)` of `body`, `data` as Litestar decodes it for a body parameter (an
    empty body is null), in one pass; a body neither decodes is refused (400) naming the value
    at fault (`api.guard.where_undecodable`)."""
    try:
        return _WHOLE_NUMBERS.decode(body or b"null")
    except (msgspec.DecodeError, UnicodeDecodeError):
        pass
    try:
        data = decode_json(body or b"null")
    except (SerializationException, UnicodeDecodeError) as exc:
        said = str(exc).removeprefix("400: ")
        if said == "Input data was truncated":  # msgspec's words
            said = "the body ends before its JSON does"
        error = where_undecodable(body, said)
        raise ApiProblem(400, "the request body is not JSON the API can read", [error]) from None
    return whole_numbers(data)


def one_of(value: object, allowed: list[str]) -> str:
    """ "'x' is not allowed: expected one of 'a', 'b'; did you mean 'a'?" """
    listed = ", ".join(repr(a) for a in allowed)
    if not isinstance(value, str):
        return f"expected one of {listed}"
    message = f"{value!r} is not allowed: expected one of {listed}"
    near = difflib.get_close_matches(value, allowed, n=1) or difflib.get_close_matches(
        value.lower(), allowed, n=1
    )
    return message + (f"; did you mean {near[0]!r}?" if near else "")


def unknown_policy(policy: object, pointer: str = "/policy") -> ApiProblem:
    """404 for a policy id that is not one of ours, naming those that are."""
    message = one_of(policy, rules.policy_ids())
    return ApiProblem(404, f"no policy {policy!r}", [FieldError(pointer=pointer, message=message)])


def refuse_unknown_policy(policy: str) -> None:
    """404 for an unknown policy before any check of the facts (CONTRACT.md: "an unknown policy
    404"), whatever else is wrong with them: they are no policy's facts."""
    if policy not in rules.policy_ids():
        raise unknown_policy(policy)


def evaluate(
    policy: str, facts: dict[str, Any], as_of: str | None, *, event: bool = False
) -> Decision:
    """`rules.evaluate`, with its errors as problems: 404 for an unknown policy, 422 for bad
    facts, and 400 for a fact (or a member of one) the request's schema does not name. A
    decision's or a new case's schema names the policy's own facts; an event's, which cannot
    know its case's policy, names every policy's (`api.typed.event_facts_schema`), so there a
    fact only another policy takes is the case's policy's refusal (422)."""
    try:
        # The clock as an instant, not as text to be parsed again (the same decision).
        return rules.evaluate(policy, facts, as_of or clock.now())
    except rules.UnknownPolicy:
        raise unknown_policy(policy) from None
    except rules.InputError as exc:
        errors, unnamed = exc.errors, exc.unnamed
        if event:
            unnamed, errors = unnamed_by_every_policy(unnamed, facts, errors)
        if unnamed:  # a body field the schema does not name: 400
            title = "the facts name what the policy does not take"
            raise ApiProblem(400, title, errors) from None
        raise ApiProblem(422, "the facts or as_of do not fit the policy", errors) from None


def unnamed_by_every_policy(
    unnamed: list[str], facts: dict[str, Any], errors: list[FieldError]
) -> tuple[list[str], list[FieldError]]:
    """Of the names an event's facts gave that its case's policy does not take, those no
    policy takes (the event schema's own), with the members no policy takes inside a fact only
    another policy takes: each is added to `errors`, since the case's policy never looked."""
    alien = [p for p in unnamed if not rules.named_by_some_policy(p)]
    inside = []
    for pointer in unnamed:
        tokens = pointer_tokens(pointer)
        if len(tokens) == 2 and rules.named_by_some_policy(pointer):  # `/facts/NAME`
            inside += rules.members_no_policy_takes(tokens[1], facts.get(tokens[1]))
    found = [FieldError(pointer=p, message="no policy takes this member") for p in inside]
    return alien + inside, errors + found


def evaluate_event(policy: str, facts: dict[str, Any], as_of: str | None) -> Decision:
    """`evaluate` for a case's event (see there)."""
    return evaluate(policy, facts, as_of, event=True)


@functools.cache
def fields_of(shape: type[msgspec.Struct]) -> dict[str, msgspec.structs.FieldInfo]:
    """The Struct's fields by their JSON names (worked out once: msgspec evaluates the type
    annotations again on every call)."""
    return {f.encode_name: f for f in msgspec.structs.fields(shape)}


def body_errors(body: Any, shape: type[msgspec.Struct]) -> list[FieldError]:
    """Every way `body` differs from `shape`: wrong types, missing and unknown fields."""
    if not isinstance(body, dict):
        return [FieldError(pointer="", message="expected a JSON object")]
    errors: list[FieldError] = []
    fields = fields_of(shape)
    for name in body:
        if name not in fields:
            near = difflib.get_close_matches(name, list(fields), n=1)
            message = "unknown field" + (f"; did you mean {near[0]!r}?" if near else "")
            errors.append(FieldError(pointer=f"/{escape_pointer(name)}", message=message))
    for name, field in fields.items():
        if name not in body:
            if field.required:
                errors.append(FieldError(pointer=f"/{name}", message="required"))
            continue
        try:
            msgspec.convert(body[name], type=field.type, strict=True)
        except msgspec.ValidationError as exc:
            errors.append(FieldError(pointer=f"/{name}", message=_message(exc, field.type)))
    return errors


def _choices(hint: Any) -> list[str] | None:
    """The values of a `Literal` field (also inside Annotated or Optional), else None."""
    if typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            found = _choices(arg)
            if found:
                return found
    if typing.get_origin(hint) is typing.Literal:
        return [str(v) for v in typing.get_args(hint)]
    return None


NO_NUL_MISMATCH = f"Expected `str` matching regex {NO_NUL!r}"


def _message(exc: msgspec.ValidationError, hint: Any = None) -> str:
    """msgspec's message without its trailing `- at ...` location (the pointer says where), or
    for an enum-like field, the allowed values and the nearest one."""
    text = str(exc).split(" - at `", 1)[0]
    if text == NO_NUL_MISMATCH:
        return "no NUL character (U+0000): a store keeps this as text"
    choices = _choices(hint)
    if choices and text.startswith("Invalid enum value"):
        given = text.removeprefix("Invalid enum value ").strip()
        return one_of(given.strip("'"), choices)
    return plain_message(text)


def as_struct(body: dict[str, Any], shape: type[S]) -> S:
    """The body as its Struct, once `body_errors` found nothing wrong."""
    return msgspec.convert(body, type=shape, strict=True)


def checked(data: Any, shape: type[S], policy_field: bool = True) -> S:
    """The body as `shape`, or a 400 naming every offending field.

    When the top level is wrong but the facts can be read, the rules check them too, so the
    answer names bad facts alongside bad top-level fields.
    """
    if shape.__struct_config__.forbid_unknown_fields:
        # A closed Struct that converts whole has no field `body_errors` would name: the common
        # case costs one conversion, and only a body with errors is taken apart field by field.
        try:
            return as_struct(data, shape)
        except msgspec.ValidationError:
            pass
    errors = body_errors(data, shape)
    if not errors:
        return as_struct(data, shape)
    if isinstance(data, dict) and isinstance(data.get("facts"), dict):
        policy = data.get("policy") if policy_field else None
        if isinstance(policy, str):
            errors += fact_errors(policy, data["facts"], data.get("as_of"), errors)
    raise ApiProblem(400, "the request body does not fit its schema", errors)


def fact_errors(
    policy: str, facts: dict[str, Any], as_of: Any, known: list[FieldError]
) -> list[FieldError]:
    """What the rules say of these facts, besides errors already reported."""
    seen = {e.pointer for e in known}
    try:
        rules.evaluate(policy, facts, as_of if isinstance(as_of, str) else clock.now_text())
    except rules.InputError as exc:
        return [e for e in exc.errors if e.pointer not in seen]
    except rules.UnknownPolicy:
        pass
    return []


def refuse_unrecordable(**values: Any) -> None:
    """422 for values the ledger could not hash (`ledger.canonical.unhashable_values`)."""
    errors = [
        e for name, v in values.items() if v is not None for e in unhashable_values(v, f"/{name}")
    ]
    if errors:
        raise ApiProblem(422, "these values cannot be recorded", errors)


def refuse_lists_in_lists(value: Any, pointer: str) -> None:
    """400 for a list directly inside a list in free-form data (the document's shape for
    personal data, which generated clients can represent): wrap the inner one in an object."""
    pending = [(value, pointer)]
    while pending:
        item, where = pending.pop()
        if isinstance(item, dict):
            pending.extend((v, f"{where}/{escape_pointer(k)}") for k, v in item.items())
        elif isinstance(item, list):
            for i, child in enumerate(item):
                if isinstance(child, list):
                    message = "a list directly inside a list: put it in an object"
                    raise ApiProblem(
                        400,
                        "the request body does not fit its schema",
                        [FieldError(pointer=f"{where}/{i}", message=message)],
                    )
                pending.append((child, f"{where}/{i}"))


def refuse_future(as_of: str | None, purpose: str = "live") -> None:
    """422 for a `live` decision dated later than the server clock plus 5 minutes (CONTRACT.md,
    version 2); `test` and `preview` may be dated anywhere. An `as_of` that does not parse is
    left to the rules, which name it."""
    if purpose != "live" or as_of is None:
        return
    try:
        instant = datetime.fromisoformat(as_of)
    except ValueError:
        return
    if instant.tzinfo is None:
        return
    latest = clock.now() + FUTURE_SLACK
    if instant > latest:
        raise ApiProblem(
            422,
            "a live decision cannot be dated more than 5 minutes past the server clock",
            [
                FieldError(
                    pointer="/as_of",
                    message=(
                        f"later than {latest:%Y-%m-%dT%H:%M:%SZ}: date it earlier, or give "
                        "`purpose` test or preview"
                    ),
                )
            ],
        )
