"""RFC 9457 problem details, and the field errors that bad input produces."""

from __future__ import annotations

import msgspec

# RFC 8785 (I-JSON) numbers are IEEE doubles: past this an integer is no longer exact, so the
# ledger could not hash it faithfully. Every integer we accept stays within it.
SAFE_INTEGER = 2**53 - 1


def escape_pointer(token: object) -> str:
    """One RFC 6901 reference token: `~` becomes `~0`, `/` becomes `~1`."""
    return str(token).replace("~", "~0").replace("/", "~1")


class FieldError(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One offending field: a JSON Pointer (RFC 6901) into the request body, and what is wrong."""

    pointer: str
    message: str


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem details object (`application/problem+json`)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    errors: list[FieldError] = msgspec.field(default_factory=list)
