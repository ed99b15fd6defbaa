"""Every error as RFC 9457 problem details (`application/problem+json`).

`ApiProblem` is what our handlers raise; Litestar's own exceptions (routing, guards, parameter
validation, oversized bodies) are turned into the same shape, and anything unexpected becomes a
logged 500 that says nothing about the internals.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, InternalServerException, ValidationException

from api.logs import client_disconnected
from schemas.problems import FieldError, escape_pointer, problem, status_phrase
from store.base import DamagedValue

PROBLEM_JSON = "application/problem+json"
DAMAGED = (
    "the store holds a value the service never writes there, so this cannot be answered: run "
    "`redress verify`, which names where (the error is logged)"
)
# Nothing about the internals; but a store edited by hand is what fails most often here.
FAILED = (
    "the server could not answer this request; the error is logged (if the store was edited "
    "by other hands, `redress verify` names where)"
)
_MISSING_PARAMETER = re.compile(r"^Missing required \w+ parameter '([^']*)'")
log = logging.getLogger("redress.api")


class ApiProblem(Exception):
    """A request we answer with an error: status, a short detail, and offending fields."""

    def __init__(
        self, status: int, detail: str = "", errors: list[FieldError] | None = None
    ) -> None:
        super().__init__(detail or status_phrase(status))
        self.status = status
        self.detail = detail
        self.errors = list(errors or [])


def problem_response(
    status: int, detail: str = "", errors: list[FieldError] | None = None, headers: Any = None
) -> Response[bytes]:
    """A problem details response (`schemas.problems.problem`)."""
    return Response(
        content=msgspec.json.encode(problem(status, detail, errors)),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=dict(headers or {}),
    )


def on_api_problem(_: Request, exc: ApiProblem) -> Response[bytes]:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem_response(exc.status, exc.detail, exc.errors, headers)


def on_http_exception(request: Request, exc: HTTPException) -> Response[bytes]:
    """Litestar's exceptions: parameter validation names each parameter; others keep status."""
    status = exc.status_code
    headers = dict(exc.headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    if is_disconnection(exc):
        client_disconnected(request.scope)
        return problem_response(400, "the client disconnected before its request was whole")
    if status >= 500:
        log.error("server error", exc_info=exc)
        return problem_response(status, "the server could not answer this request", [], headers)
    errors = parameter_errors(exc, request) if isinstance(exc, ValidationException) else []
    missing = _MISSING_PARAMETER.search(str(exc.detail or ""))
    if missing and not errors:
        errors = [FieldError(pointer=f"/{escape_pointer(missing[1])}", message="required")]
    phrases = (HTTPStatus(status).phrase, status_phrase(status))
    detail = exc.detail if exc.detail and exc.detail not in phrases else ""
    if isinstance(exc, ValidationException) and errors:
        detail = "the request's parameters do not fit their schema"
    if not detail:
        detail = _PLAIN_DETAILS.get(status, "").format(method=request.method)
    return problem_response(status, detail, errors, headers)


# What Litestar's own refusals mean, where its detail only repeats the status phrase.
_PLAIN_DETAILS = {
    404: "no resource at this path",
    405: "this path does not take {method}",
    413: "the request body is over 1 MiB",
}


def is_disconnection(exc: HTTPException) -> bool:
    """Litestar's 500 for a body cut short by its client: a departure, not a server fault."""
    return isinstance(exc, InternalServerException) and "disconnected" in str(exc.detail)


def on_undecodable(_: Request, exc: UnicodeDecodeError) -> Response[bytes]:
    """A body that is not UTF-8 (Litestar lets this through from its JSON decoding)."""
    return problem_response(
        400, "the request body is not UTF-8 JSON", [FieldError(pointer="", message=str(exc))]
    )


def on_unexpected(_: Request, exc: Exception) -> Response[bytes]:
    log.error("unexpected error", exc_info=exc)
    if isinstance(exc, DamagedValue):
        return problem_response(503, DAMAGED)
    if _integrity_error(exc):
        # A write met a row its tables should not hold (rows left behind when the ledger was
        # cut back by hand, say): the store contradicts itself; the write was rolled back.
        return problem_response(
            503,
            "the store's tables contradict its ledger, so nothing was recorded: run "
            "`redress verify` (then `redress index rebuild` or `redress cases rebuild`)",
        )
    return problem_response(500, FAILED)


def _integrity_error(exc: BaseException) -> bool:
    """sqlite3's or psycopg's IntegrityError (a constraint the write broke), without importing
    the PostgreSQL driver for the question."""
    return any(cls.__name__ == "IntegrityError" for cls in type(exc).__mro__)


def parameter_errors(exc: ValidationException, request: Request | None = None) -> list[FieldError]:
    """Field errors from Litestar's validation `extra`: a parameter is named `/<name>` (query,
    path, header or cookie alike) by the name the client sends, not the handler's argument name;
    a body error without a key points at the body (``)."""
    errors = []
    names = public_names(request)
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        key = names.get(item.get("key"), item.get("key"))
        pointer = f"/{escape_pointer(str(key))}" if key else ""
        message = str(item.get("message", "invalid"))
        # A parameter is text: one msgspec would not read as an integer (`01`) is not one.
        message = DIGITS_ONLY if message == "Expected `int`, got `str`" else plain_message(message)
        errors.append(FieldError(pointer=pointer, message=message))
    return errors


def public_names(request: Request | None) -> dict[str, str]:
    """The handler's argument names that a client sends under another name (`?from=` for the
    argument `start`), so errors point at what the client wrote."""
    handler = request.scope.get("route_handler") if request is not None else None
    signature = getattr(handler, "parsed_fn_signature", None)
    names = {}
    for argument, parameter in getattr(signature, "parameters", {}).items():
        kwarg = getattr(parameter, "kwarg_definition", None)
        alias = getattr(kwarg, "query", None) or getattr(kwarg, "name", None)
        if isinstance(alias, str) and alias != argument:
            names[argument] = alias
    return names


DIGITS_ONLY = "expected an integer in decimal digits, e.g. 42 (no leading zeros)"
_TYPE_WORDS = {
    "`int`": "an integer",
    "`str`": "a string",
    "`bool`": "a boolean",
    "`float`": "a number",
    "`null`": "null",
    "`object`": "an object",
    "`array`": "an array",
}
_ENCODED = {
    "Invalid RFC3339 encoded date": "expected a date YYYY-MM-DD, e.g. 2026-11-27",
    "Invalid RFC3339 encoded datetime": (
        "expected an RFC 3339 date-time with offset, e.g. 2026-11-27T09:00:00Z"
    ),
}


def plain_message(message: str) -> str:
    """msgspec's words for a parameter or body error in the words of the rest of the API
    ("Expected `str | null`, got `int`" → "expected a string or null, got an integer"), the
    accepted date forms, and no regular expression (the OpenAPI document states each)."""
    for raw, plain in _ENCODED.items():
        if message.startswith(raw):
            return plain
    message = _TYPE_NAMES.sub(_type_words, message)
    message = _REGEX.sub(" of the form the OpenAPI document gives", message)
    return message[:1].lower() + message[1:]


_TYPE_NAMES = re.compile(r"`([a-z]+(?: \| [a-z]+)*)`")
_REGEX = re.compile(r" matching regex '.*'$")


def _type_words(found: re.Match[str]) -> str:
    """`str | null` → "a string or null"; a name not known stays as msgspec wrote it."""
    names = found.group(1).split(" | ")
    words = [_TYPE_WORDS.get(f"`{n}`") for n in names]
    if None in words:
        return found.group(0)
    return " or ".join(w for w in words if w)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ApiProblem: on_api_problem,
    HTTPException: on_http_exception,
    UnicodeDecodeError: on_undecodable,
    Exception: on_unexpected,
}
