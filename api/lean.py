"""A handler marked lean (`opt={LEAN: True}`) is called directly when its request needs none of
Litestar's parameter parsing: the hot `POST /v1/decisions` without an `Idempotency-Key`.

What Litestar's route would do with such a request, this does, in the same order and with the
same parts (the route's request class, guards, `before_request` hook, JSON decoding, response
building and `after_response` hook); what it skips is the generic machinery around them (the
kwargs model, the signature model converting `data: Any` to itself, an exit stack, a second
exception middleware), which cost a decision more than its role check. Exceptions go to the
app's exception middleware, which answers them with the route's handlers, as the route's own
middleware would. A request that does not fit (another parameter sent, a body that is not
JSON) takes Litestar's way, so every refusal stays Litestar's.
"""

from __future__ import annotations

from typing import Any

from litestar.exceptions import SerializationException
from litestar.handlers import HTTPRouteHandler
from litestar.serialization import decode_json
from litestar.types import Receive, Scope, Send

LEAN = "lean"  # the handler's `opt` key: the (lowercase) header parameters it takes


def lean(*header_parameters: str) -> dict[str, Any]:
    """The `opt` of a lean handler: one that takes `request`, `data` (JSON) and these header
    parameters. A request that sends none of them is answered directly; one that sends any
    takes Litestar's way (they need its parsing)."""
    return {LEAN: frozenset(name.lower().encode("latin-1") for name in header_parameters)}


async def answered_directly(scope: Scope, body: bytes, receive: Receive, send: Send) -> bool:
    """Answer the request with its lean handler and return True, or return False (nothing
    done: Litestar's route takes it)."""
    handler: HTTPRouteHandler | None = scope.get("route_handler")  # type: ignore[assignment]
    parameters = handler.opt.get(LEAN) if handler is not None else None
    if parameters is None or not body:
        return False
    if any(name.lower() in parameters for name, _ in scope["headers"]):
        return False
    try:
        data = decode_json(body, type_decoders=handler.resolve_type_decoders())
    except SerializationException:
        return False  # Litestar says what is wrong with it
    if data is None:
        return False
    request = handler.resolve_request_class()(scope=scope, receive=receive, send=send)
    if handler.resolve_guards():
        await handler.authorize_connection(connection=request)
    answer: Any = None
    if before_request := handler.resolve_before_request():
        answer = await before_request(request)
    if not answer:
        answer = await handler.fn(request=request, data=data)
    response = await handler.to_response(app=scope["litestar_app"], data=answer, request=request)
    await response(scope, receive, send)
    if after_response := handler.resolve_after_response():
        await after_response(request)
    return True
