"""Request bodies checked field by field, so a 400 names every offending field at once.

msgspec stops at the first error, so each field of the closed request Struct is converted on its
own; unknown top-level fields get a pointer of their own.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from schemas.problems import FieldError, escape_pointer

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
