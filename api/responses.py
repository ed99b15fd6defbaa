"""What every operation documents (its error statuses as problem details), and JSON responses."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response, route
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.response.base import ASGIResponse

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
    return JsonBytes(content, status, headers)


class JsonBytes(Response):
    """A `Response` whose content is bytes already encoded: its ASGI response is the one
    Litestar would build (the same headers, in the same order, and body), with the headers
    encoded here at once; Litestar's own way (a serializer looked up for content that needs
    none, headers kept in a mutable structure) cost a decision ~10 µs."""

    def __init__(self, content: bytes, status: int, headers: dict[str, str] | None) -> None:
        # `Response.__init__`'s attributes, set as it would set them for these arguments: it
        # tests its arguments against `typing.Mapping` (~1.5 µs of a decision), for values that
        # are a dict or None here.
        self.content = content
        self.background = None
        self.cookies = []
        self.encoding = "utf-8"
        self.headers = dict(headers) if headers else {}
        self.media_type = "application/json"
        self.status_code = status
        self.response_type_encoders = {**(self.type_encoders or {})}

    def to_asgi_response(  # type: ignore[override]
        self,
        app: Any,
        request: Any,
        *,
        headers: dict[str, str] | None = None,
        **others: Any,
    ) -> ASGIResponse:
        if not self._plain(others):
            return super().to_asgi_response(app, request, headers=headers, **others)
        merged = {**headers, **self.headers} if headers is not None else self.headers
        if not merged:  # the usual: only the two headers Litestar adds (`_plain`: the type is JSON)
            length = b"%d" % len(self.content)
            encoded = [(b"content-type", b"application/json"), (b"content-length", length)]
            return EncodedResponse(self.content, self.status_code, encoded)
        encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in merged.items()]
        given = {name for name, _ in encoded}
        if b"content-type" not in given:
            encoded.append((b"content-type", str(self.media_type).encode("latin-1")))
        if b"content-length" not in given:
            encoded.append((b"content-length", str(len(self.content)).encode("latin-1")))
        return EncodedResponse(self.content, self.status_code, encoded)

    def _plain(self, others: dict[str, Any]) -> bool:
        """Nothing Litestar's way would add: no cookies, background task, HEAD, text type
        (a charset) or status without a body."""
        return (
            isinstance(self.content, bytes)
            and not self.cookies
            and not others.get("cookies")
            and self.background is None
            and others.get("background") is None
            and not others.get("encoded_headers")
            and not others.get("is_head_response")
            and isinstance(self.status_code, int)
            and self.status_code >= 200
            and self.status_code not in (204, 304)
            and self.media_type == "application/json"
        )


class EncodedResponse(ASGIResponse):
    """An `ASGIResponse` of a body and its headers, both already encoded."""

    __slots__ = ("_encoded",)

    def __init__(self, body: bytes, status: int, encoded: list[tuple[bytes, bytes]]) -> None:
        self.body = body
        self.status_code = status
        self._encoded = encoded
        self._encoded_cookies = ()
        self.background = None
        self.content_length = len(body)
        self.encoding = "utf-8"
        self.is_head_response = False

    def encode_headers(self) -> list[tuple[bytes, bytes]]:
        return self._encoded

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # ASGIResponse's messages, without its steps for HEAD and background tasks (none here)
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self._encoded}
        )
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


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


class ResolvedRouteHandler(HTTPRouteHandler):
    """Litestar's route handler, its exception handlers resolved once: Litestar merges those of
    the handler's layers (app, router, handler) again on every request, for the scope (~1% of a
    decision's time on the event loop), yet they are fixed once the app is built. Resolved on
    first use, by a request, after the app has registered (and copied) the handler."""

    def resolve_exception_handlers(self) -> Any:
        resolved = self.__dict__.get("_exception_handlers_resolved")
        if resolved is None:
            resolved = super().resolve_exception_handlers()
            self.__dict__["_exception_handlers_resolved"] = resolved
        return resolved


def post_resolved(path: str, **options: Any) -> ResolvedRouteHandler:
    """`litestar.post(path, **options)`, as a `ResolvedRouteHandler` (subclassing `post` itself
    is deprecated)."""
    return ResolvedRouteHandler(path, http_method=HttpMethod.POST, **options)
