"""What every paged listing checks of its `limit` (GET /v1/ledger/entries, /v1/cases,
/v1/decisions)."""

from __future__ import annotations

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
