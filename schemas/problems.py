"""RFC 9457 problem details, and the field errors that bad input produces."""

from __future__ import annotations

from http import HTTPStatus

import msgspec

# RFC 8785 (I-JSON) numbers are IEEE doubles: past this an integer is no longer exact, so the
# ledger could not hash it faithfully. Every integer we accept stays within it.
SAFE_INTEGER = 2**53 - 1


def escape_pointer(token: object) -> str:
    """One RFC 6901 reference token: `~` becomes `~0`, `/` becomes `~1`."""
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer_tokens(pointer: str) -> list[str]:
    """The reference tokens of an RFC 6901 pointer, unescaped (`~1` is `/`, then `~0` is `~`)."""
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


class FieldError(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One offending field: a JSON Pointer (RFC 6901) into the request body, and what is wrong."""

    pointer: str
    message: str


class Problem(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem details object (`application/problem+json`)."""

    # Always the four members CONTRACT.md names; `errors` only when fields are at fault.

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | msgspec.UnsetType = msgspec.UNSET


ABOUT_BLANK = "about:blank"  # RFC 9457 4.2.1: the title is then the HTTP status phrase
# RFC 9110 (section 15) renamed these; Python's `HTTPStatus` keeps RFC 7231's names until 3.13.
RFC_9110_PHRASES = {
    413: "Content Too Large",
    414: "URI Too Long",
    416: "Range Not Satisfiable",
    422: "Unprocessable Content",
}


def status_phrase(status: int) -> str:
    """The reason phrase RFC 9110 gives `status` (an `about:blank` problem's title)."""
    return RFC_9110_PHRASES.get(status) or HTTPStatus(status).phrase


def problem(status: int, detail: str = "", errors: list[FieldError] | None = None) -> Problem:
    """The problem of an HTTP status: `about:blank`, titled by the status phrase, its detail
    the phrase when there is nothing more specific to say, `errors` only when there are some."""
    title = status_phrase(status)
    return Problem(
        type=ABOUT_BLANK,
        title=title,
        status=status,
        detail=detail or title,
        errors=list(errors) if errors else msgspec.UNSET,
    )
