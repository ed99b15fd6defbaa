"""What every paged listing checks of its `limit` (GET /v1/ledger/entries, /v1/cases,
/v1/decisions)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar.params import Parameter

from api.problems import ApiProblem
from schemas.problems import FieldError


def check_limit(limit: int, most: int) -> None:
    """A page holds 1 to `most` items; another `limit` is a 422 naming `/limit`."""
    if not 1 <= limit <= most:
        raise ApiProblem(
            422,
            f"limit must be between 1 and {most}",
            [FieldError(pointer="/limit", message=f"not between 1 and {most}")],
        )


def bad_cursor() -> ApiProblem:
    """422 for a `cursor` no listing gave: it names `/cursor` and says what one is."""
    message = "not a next_cursor this listing gave: pass one back as it came"
    return ApiProblem(422, "not a cursor this listing gave", [FieldError("/cursor", message)])


def page_limit(what: str, most: int) -> Any:
    """The `limit` query parameter of a listing of `what`, 1 to `most` (documented so; the
    handler still calls `check_limit`, whose 422 names `/limit`)."""
    return Annotated[
        int,
        Parameter(
            description=f"At most this many {what}: 1–{most:,}.",
            schema_extra={"minimum": 1, "maximum": most},
        ),
    ]
