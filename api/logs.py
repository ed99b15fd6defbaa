"""Logs as one JSON object per line on stderr, and one line per request.

Each request gets an id (the client's `X-Request-ID` when it is short and plain, else a random
one), echoed in the `X-Request-ID` response header and logged with the method, path, status,
duration and, when the request took a decision, its decision id.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Request
from litestar.types import Message, Receive, Scope, Send

import clock
from service.ids import random_id

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_NAME = REQUEST_ID_HEADER.encode()
LOG_FIELDS = "redress_log"  # the scope key where handlers leave fields for the request line
_PLAIN_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

log = logging.getLogger("redress.api")


def json_line(created: float, level: str, logger: str, message: str, fields: Any) -> str:
    """One log entry as a JSON object: time, level, logger, message, then its fields, written
    as `json.dumps(entry, default=str)` writes it."""
    entry: dict[str, Any] = {
        "time": time_text(created),
        "level": level,
        "logger": logger,
        "message": message,
    }
    entry.update(fields)
    if _all_plain(fields):  # the four above are text
        # msgspec, reformatted with `json`'s separators, is several times faster; `json` alone
        # escapes non-ASCII characters, so a line with any is left to it.
        encoded = msgspec.json.format(_FAST_ENCODER.encode(entry), indent=0)
        if encoded.isascii():
            return encoded.decode()
    return _ENCODER.encode(entry)


_ENCODER = json.JSONEncoder(default=str)  # `json.dumps(..., default=str)` makes one per call
_FAST_ENCODER = msgspec.json.Encoder()
_INT64 = 2**63


def time_text(created: float) -> str:
    """`datetime.fromtimestamp(created, UTC).isoformat()`, with the part up to the second
    worked out once a second: `isoformat` with an offset cost a request line a third of its
    time. The microseconds are rounded as `fromtimestamp` rounds them (half to even)."""
    fraction, whole = math.modf(created)
    micro = round(fraction * 1e6)
    if micro >= 1_000_000:
        whole, micro = whole + 1, micro - 1_000_000
    elif micro < 0:  # before 1970: modf's parts are both negative
        whole, micro = whole - 1, micro + 1_000_000
    second = int(whole)
    cached_second, prefix = _second_text
    if second != cached_second:
        prefix = datetime.fromtimestamp(second, UTC).isoformat()[:-6]
        _second_text[:] = [second, prefix]
    return f"{prefix}.{micro:06d}+00:00" if micro else f"{prefix}+00:00"


_second_text: list[Any] = [None, ""]  # the last second `time_text` wrote, and its text


def _all_plain(entry: dict[str, Any]) -> bool:
    """Whether msgspec writes every value exactly as `json` does: no NaN, no integer past 64
    bits, no float that `repr` writes with an exponent (msgspec spells those differently)."""
    for value in entry.values():
        kind = type(value)
        if kind is str or value is None:
            continue
        if kind is float:
            if not (value == 0 or 1e-4 <= abs(value) < 1e16):
                return False
        elif kind is int:
            if not -_INT64 <= value < _INT64:
                return False
        elif kind is not bool:
            return False
    return True


class JsonLines(logging.Formatter):
    """A log record as one JSON object: time, level, logger, message, and its `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        fields = dict(getattr(record, "fields", {}))
        if record.exc_info:
            fields["error"] = self.formatException(record.exc_info)
        level = record.levelname.lower()
        return json_line(record.created, level, record.name, record.getMessage(), fields)


class StderrLines(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time (it may be replaced after start-up)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(JsonLines())

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)

    def write_line(self, text: str) -> None:
        """`text` as one line, as `emit` would write a record formatted to it."""
        self.acquire()
        try:
            stream = self.stream = sys.stderr
            stream.write(text + self.terminator)
            stream.flush()
        except Exception:  # as `emit`: a log line that cannot be written must not fail a request
            self.handleError(logging.makeLogRecord({"msg": text}))
        finally:
            self.release()


def configure_logging() -> None:
    """Send our logs and uvicorn's to stderr as JSON lines (uvicorn's access log is replaced by
    our request line, which carries the request and decision ids)."""
    handler = StderrLines()
    # Our lines carry no thread or process names: a record need not look them up.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    for name in ("redress", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
        if name == "redress":
            logger.setLevel(logging.INFO)
    logging.getLogger("uvicorn.access").disabled = True


def note(request: Request, **fields: Any) -> None:
    """Add fields (e.g. `decision_id`) to this request's log line."""
    request.scope.setdefault(LOG_FIELDS, {}).update(fields)  # type: ignore[typeddict-item]


def client_disconnected(scope: Scope) -> None:
    """Mark this request as abandoned by its client: its log line says so, and no response is
    sent (there is no one to read it)."""
    scope.setdefault(LOG_FIELDS, {})["event"] = "client_disconnected"  # type: ignore[typeddict-item]


def request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == _REQUEST_ID_NAME:
            given = value.decode("latin-1")
            if _PLAIN_ID.match(given):
                return given
    return random_id()


Observe = Callable[[Scope, int | None, float], None]  # (scope, status, seconds) once answered


async def logged(
    app: Any, scope: Scope, receive: Receive, send: Send, observe: Observe | None = None
) -> None:
    """Run one HTTP request through `app`, tagging the response and logging one line; then
    `observe` it (the latency metric), so one wrapper around `send` serves both."""
    request_id = request_id_from(scope)
    fields: dict[str, Any] = {"request_id": request_id}
    scope[LOG_FIELDS] = fields  # type: ignore[typeddict-unknown-key]
    status: int | None = None
    started = time.perf_counter()

    async def tagged_send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = list(message.get("headers", []))
            headers.append((_REQUEST_ID_NAME, request_id.encode()))
            message = {**message, "headers": headers}  # type: ignore[assignment]
        await send(message)

    try:
        await app(scope, receive, tagged_send)
    finally:
        elapsed = time.perf_counter() - started
        fields.update(
            method=scope.get("method"),
            path=scope.get("path"),
            status=status,
            duration_ms=round(elapsed * 1000, 3),
        )
        if fields.get("event") == "client_disconnected":
            line("client disconnected", fields)
        else:
            line("request", fields)
        if observe is not None:
            observe(scope, status, elapsed)


def line(message: str, fields: dict[str, Any]) -> None:
    """`log.info(message, extra={"fields": fields})`, the same JSON line, written straight to
    the stderr handler `configure_logging` installed: a `LogRecord` and `logging`'s handler
    machinery cost a request more than the line itself."""
    if not log.isEnabledFor(logging.INFO):
        return
    handler = _request_lines_handler()
    if handler is None:  # logging configured otherwise: let it route the record
        record = log.makeRecord(
            log.name, logging.INFO, "", 0, message, (), None, extra={"fields": fields}
        )
        log.handle(record)
        return
    handler.write_line(json_line(clock.unix_seconds(), "info", log.name, message, fields))


def _request_lines_handler() -> StderrLines | None:
    """The `StderrLines` handler a `redress.api` record reaches, when it is the only one and
    no filter stands in between."""
    parent = log.parent
    if log.handlers or log.filters or not log.propagate or parent is None or parent.filters:
        return None
    handlers = parent.handlers
    if len(handlers) != 1 or not isinstance(handlers[0], StderrLines) or handlers[0].filters:
        return None
    if handlers[0].level > logging.INFO:
        return None
    return handlers[0]
