"""Request bodies checked field by field, so a 400 names every offending field at once.

msgspec stops at the first error, so each field of the closed request Struct is converted on its
own; unknown top-level fields get a pointer of their own.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from schemas.problems import SAFE_INTEGER, FieldError, escape_pointer

S = TypeVar("S", bound=msgspec.Struct)


def body_errors(body: Any, shape: type[msgspec.Struct]) -> list[FieldError]:
    """Every way `body` differs from `shape`: wrong types, missing and unknown fields."""
    if not isinstance(body, dict):
        return [FieldError(pointer="", message="expected a JSON object")]
    errors: list[FieldError] = []
    fields = {f.encode_name: f for f in msgspec.structs.fields(shape)}
    for name in body:
        if name not in fields:
            errors.append(FieldError(pointer=f"/{escape_pointer(name)}", message="unknown field"))
    for name, field in fields.items():
        if name not in body:
            if field.required:
                errors.append(FieldError(pointer=f"/{name}", message="required"))
            continue
        try:
            msgspec.convert(body[name], type=field.type, strict=True)
        except msgspec.ValidationError as exc:
            errors.append(FieldError(pointer=f"/{name}", message=_message(exc)))
    return errors


def _message(exc: msgspec.ValidationError) -> str:
    """msgspec's message without its trailing `- at ...` location (the pointer says where)."""
    return str(exc).split(" - at `", 1)[0]


def as_struct(body: dict[str, Any], shape: type[S]) -> S:
    """The body as its Struct, once `body_errors` found nothing wrong."""
    return msgspec.convert(body, type=shape, strict=True)


MAX_DEPTH = 32


def unrecordable(value: Any, pointer: str) -> list[FieldError]:
    """Values the ledger cannot hash canonically (RFC 8785): fractional numbers, integers
    beyond ±(2^53 − 1), text that is not Unicode (lone surrogates), and nesting deeper than
    MAX_DEPTH. Checked before anything is recorded, so they are a 422, not a failed write."""
    errors: list[FieldError] = []
    pending: list[tuple[Any, str, int]] = [(value, pointer, 0)]
    while pending:
        item, where, depth = pending.pop()
        if depth > MAX_DEPTH:
            errors.append(FieldError(pointer=where, message=f"nested deeper than {MAX_DEPTH}"))
        elif isinstance(item, dict):
            for key, child in item.items():
                token = f"{where}/{escape_pointer(key)}"
                if not _is_unicode(key):
                    errors.append(FieldError(pointer=where, message="a key is not valid Unicode"))
                pending.append((child, token, depth + 1))
        elif isinstance(item, list):
            pending.extend((child, f"{where}/{i}", depth + 1) for i, child in enumerate(item))
        elif isinstance(item, float):
            errors.append(FieldError(pointer=where, message="fractional numbers are not accepted"))
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > SAFE_INTEGER:
            errors.append(FieldError(pointer=where, message="integer out of range (±2^53 − 1)"))
        elif isinstance(item, str) and not _is_unicode(item):
            errors.append(FieldError(pointer=where, message="text is not valid Unicode"))
    return sorted(errors, key=lambda e: e.pointer)


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
