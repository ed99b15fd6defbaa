"""What every operation documents (its error statuses as problem details), and JSON responses."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response, route
from litestar.enums import HttpMethod
from litestar.openapi.datastructures import ResponseSpec

from api.problems import PROBLEM_JSON
from schemas.problems import Problem

BEARER = [{"bearer": []}]
ERROR_TEXT = {
    400: "Malformed request: the problem's `errors` name every offending field.",
    401: "No API key, or an unknown or revoked one.",
    403: "The key's role does not allow this.",
    404: "No such resource.",
    409: "In conflict with the resource's state (a key cannot revoke itself).",
    413: "The request body is over 1 MiB.",
    422: (
        "Well-formed, but the facts do not fit the policy (cross-field rules a schema cannot "
        "state), or the Idempotency-Key was used with another body: `errors` name every "
        "offending field."
    ),
    503: "The store is not writable.",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """Document error statuses as RFC 9457 problem details."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=ERROR_TEXT[status],
            generate_examples=False,
        )
        for status in statuses
    }


READ = problems(400, 401, 403, 404)
WRITE = problems(400, 401, 403, 404, 413, 422)


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response from bytes or a Struct (bytes as they are: a replay sends what was
    stored)."""
    content = value if isinstance(value, bytes) else msgspec.json.encode(value)
    return Response(content, status_code=status, media_type="application/json", headers=headers)


def with_options(handlers: list[Any]) -> list[Any]:
    """`handlers`, preceded by an OPTIONS handler for each path more than one of them serves.

    Litestar (2.25) answers OPTIONS with the methods of the first handler registered on a path
    only; this one names them all (schemathesis checks `Allow`).
    """
    methods: dict[str, set[str]] = {}
    for handler in handlers:
        for path in handler.paths:
            methods.setdefault(path, set()).update(str(m) for m in handler.http_methods)
    shared = [
        options_route(path, sorted(found | {"OPTIONS"}))
        for path, found in methods.items()
        if len(found) > 1
    ]
    return [*shared, *handlers]


def options_route(path: str, allowed: list[str]) -> Any:
    allow = ", ".join(allowed)

    def options_handler() -> Response[None]:
        return Response(None, status_code=204, headers={"Allow": allow})

    return route(
        path,
        http_method=[HttpMethod.OPTIONS],
        include_in_schema=False,
        sync_to_thread=False,
        name=f"options:{path}",
    )(options_handler)
