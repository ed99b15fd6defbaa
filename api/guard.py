"""The edge of the HTTP API: requests that are ambiguous or abusive are refused here, before any
recursive decoding or evaluation (CONTRACT.md, "HTTP API", version 2).

`RequestGuard` is a pure ASGI middleware. It reads the body once (refusing it past 1 MiB), checks
framing and headers, scans the JSON bytes iteratively for nesting depth and duplicate object keys,
and replays the body to the app. Every refusal is an RFC 9457 problem naming its cause.

Most bodies skip the scan: one with no more brackets than the depth limit cannot be nested too
deeply, so json's C parser may read it (its recursion bounded), and if that finds no repeated
key the scan would find none either (`surely_acceptable`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
import msgspec
from litestar.utils.scope.state import ScopeState

from api.logs import client_disconnected
from schemas.problems import FieldError, escape_pointer, problem

MAX_BODY_BYTES = 1024 * 1024
MAX_DEPTH = 32
SCAN_IN_THREAD_BYTES = 64 * 1024
PROBLEM_JSON = b"application/problem+json"
# Methods whose requests carry a body in this API; any other request that sends one is held to
# the same rules.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

# A JSON string (escapes included) or one structural character. Everything else (numbers,
# literals, whitespace, garbage) is skipped: msgspec judges it later, after the depth is known.
# A string's closing quote is optional: a string the body never closes is one token to the end,
# not a failed match retried from each of its quotes (quadratic in them: minutes for 1 MiB of
# `\"`, with the event loop or a worker thread held all the while).
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?|[{}\[\]:,]', re.DOTALL)


class Refused(Exception):
    """A request refused at the edge: its status, what is wrong, and the field at fault."""

    def __init__(self, status: int, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []


def problem_bytes(status: int, detail: str, errors: list[FieldError]) -> bytes:
    return msgspec.json.encode(problem(status, detail, errors))


# -- headers -----------------------------------------------------------------------------------


Headers = dict[bytes, list[bytes]]
# The headers the guard judges (ASGI gives names in lowercase; `lower()` is kept for safety).
WATCHED = frozenset(
    {b"content-length", b"transfer-encoding", b"authorization", b"content-type", b"idempotency-key"}
)


def watched_headers(scope: dict[str, Any]) -> Headers:
    """The values of the headers the guard judges, by name, in one pass over the request's."""
    found: Headers = {}
    for key, value in scope.get("headers", ()):
        name = key.lower()
        if name in WATCHED:
            found.setdefault(name, []).append(value)
    return found


# The query parameters that are integers wherever they appear. Litestar reads `1.0` or `1e3` as
# one; the contract's schema admits digits only, so such a number is named here (Litestar names
# any other non-integer itself).
INTEGER_PARAMETERS = frozenset({"first", "index", "limit", "second", "start", "tree_size"})
_INTEGER = re.compile(r"-?[0-9]+")
_FRACTION_OR_EXPONENT = re.compile(r"-?(?=\.?[0-9])[0-9]*(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?")


# Path segments that are integers, by the path before them. Litestar reads one with `int()`,
# which also takes `+1`, `1_0`, ` 1 ` and other scripts' digits.
INTEGER_SEGMENTS = {"/v1/ledger/entries/": "index"}

# The API's paths that hold a parameter (tests/test_hostile.py holds this to openapi.yaml's): a
# NUL in one is named by the parameter's name, as a NUL in a query parameter is.
PATH_TEMPLATES = (
    "/v1/decisions/{decision_id}",
    "/v1/decisions/{decision_id}/receipt",
    "/v1/cases/{case_id}",
    "/v1/cases/{case_id}/events",
    "/v1/cases/{case_id}/personal",
    "/v1/policies/{policy_id}",
    "/v1/ledger/entries/{index}",
    "/v1/reports/{name}",
    "/v1/keys/{key_id}",
)


def check_target(scope: dict[str, Any]) -> None:
    """No NUL character (U+0000) in the path or a query parameter: no store keeps one in text
    (PostgreSQL refuses it), so it could only ever match nothing, or fail. No id holds a slash.
    A query parameter is given once; an integer one is written in decimal digits
    (`INTEGER_PARAMETERS`, `INTEGER_SEGMENTS`)."""
    check_path(scope.get("path", ""))
    if b"%2f" in (scope.get("raw_path") or b"").lower():
        # Decoded, it would split a segment in two (`/v1/decisions/%2F` read as the list).
        raise Refused(404, "no resource has an encoded slash (%2F) in its path")
    query = scope.get("query_string", b"")
    if query:
        check_query(query)


def check_path(path: str) -> None:
    if "\x00" in path:
        raise Refused(
            400, "the path holds a NUL character (%00)", named(_nul_parameter(path), NO_NUL)
        )
    for before, name in INTEGER_SEGMENTS.items():
        segment = path[len(before) :] if path.startswith(before) else None
        if segment and "/" not in segment and _INTEGER.fullmatch(segment) is None:
            raise Refused(
                400, "an integer is written in decimal digits", named([name], INTEGER_DIGITS)
            )


def _nul_parameter(path: str) -> list[str]:
    """The name of the path parameter (`PATH_TEMPLATES`) whose segment holds a NUL, if any."""
    segments = path.split("/")
    for template in PATH_TEMPLATES:
        parts = template.split("/")
        if len(parts) == len(segments) and all(
            part == segment or part.startswith("{")
            for part, segment in zip(parts, segments, strict=True)
        ):
            return [
                part.strip("{}")
                for part, segment in zip(parts, segments, strict=True)
                if part.startswith("{") and "\x00" in segment
            ]
    return []


def check_query(query: bytes) -> None:
    # Percent-escapes that are not UTF-8 come out as lone surrogates (they were replaced by
    # U+FFFD: `?policy=%ED%A0%80` asked for a policy named "\ufffd\ufffd\ufffd").
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True, errors="surrogateescape")
    names = [as_text(name) for name, value in pairs if not is_text(name + value)]
    if names:
        raise Refused(400, "a query parameter is not UTF-8 text", named(names, UTF8))
    if b"%00" in query or b"\x00" in query:
        names = [name for name, value in pairs if "\x00" in name + value]
        if names:
            raise Refused(
                400, "a query parameter holds a NUL character (%00)", named(names, NO_NUL)
            )
    names = sorted(name for name, count in Counter(name for name, _ in pairs).items() if count > 1)
    if names:  # which one would count? Refused as two Authorization headers are
        raise Refused(400, "a query parameter is given more than once", named(names, ONCE))
    names = [
        name
        for name, value in pairs
        if name in INTEGER_PARAMETERS and not value.isdigit() and is_fraction_or_exponent(value)
    ]
    if names:
        raise Refused(400, "an integer is written in decimal digits", named(names, DIGITS))


def is_text(value: str) -> bool:
    """No lone surrogate (an escaped byte that was not UTF-8)."""
    return not any("\udc80" <= c <= "\udcff" for c in value)


def as_text(value: str) -> str:
    """`value` with each byte that was not UTF-8 as U+FFFD, so that a problem can name it."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def is_fraction_or_exponent(value: str) -> bool:
    """`1.0`, `1e3`, `-2.`: a number written with a fraction or an exponent."""
    return any(c in value for c in ".eE") and _FRACTION_OR_EXPONENT.fullmatch(value) is not None


NO_NUL = "no NUL character"
ONCE = "given more than once: give it once"
UTF8 = "percent-escapes that are not UTF-8"
DIGITS = "expected an integer, got a number with a fraction or an exponent"
INTEGER_DIGITS = "expected an integer in decimal digits, e.g. 42"


def named(names: list[str], message: str) -> list[FieldError]:
    """One error for each query parameter named, pointing at it."""
    return [FieldError(pointer="/" + escape_pointer(name), message=message) for name in names]


def check_headers(scope: dict[str, Any], headers: Headers | None = None) -> None:
    """Framing and authority must be unambiguous: one way to delimit the body, one key; and
    the target must hold no NUL (`check_target`)."""
    check_target(scope)
    if headers is None:
        headers = watched_headers(scope)
    lengths = headers.get(b"content-length", ())
    if lengths and b"transfer-encoding" in headers:
        raise Refused(400, "Content-Length and Transfer-Encoding together are ambiguous")
    if len(lengths) > 1:
        raise Refused(400, "more than one Content-Length header")
    if len(headers.get(b"authorization", ())) > 1:
        raise Refused(
            400,
            "more than one Authorization header",
            [FieldError(pointer="/Authorization", message="send exactly one")],
        )
    if len(headers.get(b"idempotency-key", ())) > 1:  # which one would the retry match?
        raise Refused(
            400,
            "more than one Idempotency-Key header",
            [FieldError(pointer="/Idempotency-Key", message="send at most one")],
        )


def is_json_media_type(value: bytes | None) -> bool:
    """`application/json` or any `type/subtype+json`; a charset parameter must be UTF-8."""
    if value == b"application/json":  # what nearly every client sends
        return True
    if value is None:
        return False
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        return False
    media, *parameters = [part.strip() for part in text.split(";")]
    kind, slash, subtype = media.lower().partition("/")
    if not slash or not kind or not subtype:
        return False
    if not (f"{kind}/{subtype}" == "application/json" or subtype.endswith("+json")):
        return False
    for parameter in parameters:
        name, _, given = parameter.partition("=")
        if name.strip().lower() == "charset" and given.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            return False
    return True


def carries_body(scope: dict[str, Any], headers: Headers) -> bool:
    if scope.get("method") in BODY_METHODS:
        return True
    if b"transfer-encoding" in headers:
        return True
    lengths = headers.get(b"content-length", ())
    return bool(lengths) and lengths[0].strip() not in (b"", b"0")


def check_declared_length(headers: Headers) -> None:
    """A body announced as over 1 MiB is refused before a byte of it is read."""
    lengths = headers.get(b"content-length", ())
    if lengths and lengths[0].strip().isdigit() and int(lengths[0]) > MAX_BODY_BYTES:
        raise Refused(413, "the request body is over 1 MiB")


def check_content_type(headers: Headers) -> None:
    types = headers.get(b"content-type", ())
    if len(types) > 1:
        raise Refused(415, "more than one Content-Type header")
    if not is_json_media_type(types[0] if types else None):
        given = types[0].decode("latin-1") if types else "none"
        raise Refused(
            415,
            f"the body must be application/json (or +json, UTF-8); Content-Type was {given}",
        )


# -- the JSON scan -----------------------------------------------------------------------------


class _Frame:
    """One open object or array during the scan: where it is, and what it has held so far."""

    __slots__ = ("pointer", "is_object", "keys", "key", "index", "expect_key")

    def __init__(self, pointer: str, is_object: bool) -> None:
        self.pointer = pointer
        self.is_object = is_object
        self.keys: set[str] = set()
        self.key = ""
        self.index = 0
        self.expect_key = is_object

    def child_pointer(self) -> str:
        token = escape_pointer(self.key) if self.is_object else str(self.index)
        return f"{self.pointer}/{token}"


def scan_json(body: bytes) -> None:
    """Refuse JSON nested deeper than `MAX_DEPTH` or with a duplicate key in any object.

    Iterative (an explicit stack), so no input can exhaust the interpreter's recursion limit.
    Syntax errors are left to the decoder, which runs only after this scan.
    """
    stack: list[_Frame] = []
    for match in _TOKENS.finditer(body):
        token = match.group()
        if token in (b"{", b"[") and len(stack) >= MAX_DEPTH:
            pointer = stack[-1].child_pointer()
            raise Refused(
                400,
                f"JSON nested deeper than {MAX_DEPTH} levels",
                [FieldError(pointer=pointer, message=f"nested deeper than {MAX_DEPTH}")],
            )
        if _structure(stack, token):
            continue
        top = stack[-1] if stack else None
        if top is not None and top.is_object and top.expect_key:
            check_characters(token, top.pointer, is_key=True)
            key = _decoded_key(token)
            if key is None:
                continue  # not a valid JSON string: the decoder will say so
            if key in top.keys:
                pointer = f"{top.pointer}/{escape_pointer(key)}"
                raise Refused(
                    400,
                    "duplicate object key",
                    [FieldError(pointer=pointer, message="duplicate key")],
                )
            top.keys.add(key)
            top.key = key
            top.expect_key = False
        elif token[:1] == b'"':
            check_characters(token, top.child_pointer() if top is not None else "")


def _structure(stack: list[_Frame], token: bytes) -> bool:
    """Follow a structural token (`{`, `[`, `}`, `]`, `,`, `:`) in the stack of open objects
    and arrays; False for any other token (a string or a word), left to the caller."""
    top = stack[-1] if stack else None
    if token in (b"{", b"["):
        stack.append(_Frame(top.child_pointer() if top is not None else "", token == b"{"))
    elif token in (b"}", b"]"):
        if stack:
            stack.pop()
    elif token == b",":
        if top is not None:
            if top.is_object:
                top.expect_key = True
            else:
                top.index += 1
    elif token == b":":
        if top is not None:
            top.expect_key = False
    else:
        return False
    return True


# Every token of a JSON text: a string (its closing quote missing when the text ends first), a
# structural character, or a word (a number, a literal, or whatever else stands between them).
_ALL_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.DOTALL)
_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_LITERALS = frozenset({b"true", b"false", b"null"})


def where_undecodable(body: bytes, said: str) -> FieldError:
    """The first value of a body the decoder refused (`said` is why) that is not JSON we can
    read: a string that is not UTF-8 (for a key, its object), a number out of a double's range,
    a word that is no JSON value (`NaN`, `01`); else `said`, at the body. Run only on refused
    bodies, which the guard has scanned or found shallow: the walk is iterative all the same."""
    stack: list[_Frame] = []
    for match in _ALL_TOKENS.finditer(body):
        token = match.group()
        if _structure(stack, token):
            continue
        top = stack[-1] if stack else None
        if token[:1] == b'"':
            is_key = top is not None and top.is_object and top.expect_key
            pointer = top.pointer if is_key else (top.child_pointer() if top is not None else "")
            wrong = _string_fault(token)
            if wrong is not None:
                what = "a key" if is_key else "this"
                return FieldError(pointer=pointer, message=f"{what} {wrong}")
            if is_key and top is not None:
                top.key, top.expect_key = _decoded_key(token) or "", False
        else:
            wrong = _word_fault(token)
            if wrong is not None:
                return FieldError(pointer=_value_pointer(top), message=wrong)
    return FieldError(pointer="", message=said)


def _value_pointer(top: _Frame | None) -> str:
    """Where a value read now stands: the body, an item or member of `top`, or for a word where
    a key should be (`{'a': 1}`), the object itself."""
    if top is None:
        return ""
    return top.pointer if top.is_object and top.expect_key else top.child_pointer()


def _string_fault(token: bytes) -> str | None:
    try:
        token.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"string is not UTF-8: byte 0x{token[exc.start]:02x} cannot stand where it does"
    return None


def _word_fault(word: bytes) -> str | None:
    if word in _LITERALS:
        return None
    if _NUMBER.fullmatch(word) is None:
        shown = word[:40].decode("utf-8", "replace")
        return f"{shown!r} is not a JSON value (a number, a string, true, false or null)"
    if float(word) in (float("inf"), float("-inf")):
        return "a number out of range: a JSON number here must fit a 64-bit float"
    return None


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def check_characters(token: bytes, pointer: str, is_key: bool = False) -> None:
    """Refuse a string holding a lone UTF-16 surrogate escape (`"\\ud800"`): RFC 8259 section
    8.2 leaves such strings' meaning open, no UTF-8 text can hold one, and msgspec's complaint
    ("Input data was truncated") named no field. A pair (`"\\ud83d\\ude00"`) is one character."""
    if b"\\u" not in token or not _SURROGATE_ESCAPE.search(token):
        return
    try:
        text = json.loads(token)  # Python's decoder keeps a lone surrogate as it is
    except ValueError:
        return  # not a valid JSON string: the decoder will say so
    if any("\ud800" <= c <= "\udfff" for c in text):
        # A key's pointer would hold the surrogate, which no JSON answer can carry: name the
        # object instead.
        what = "a key of this object" if is_key else "this string"
        raise Refused(
            400,
            "a lone UTF-16 surrogate escape is not a character",
            [FieldError(pointer=pointer, message=f"{what} holds a lone UTF-16 surrogate escape")],
        )


class _Duplicate(Exception):
    """An object with a repeated key (raised by the fast check; `scan_json` says where)."""


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> None:
    if len(pairs) > 1 and len({key for key, _ in pairs}) != len(pairs):
        raise _Duplicate
    # Nothing is kept: only the check matters.


_PAIRS = json.JSONDecoder(object_pairs_hook=_no_duplicate_keys)


def surely_acceptable(body: bytes) -> bool:
    """True when `body` is certainly nested no deeper than `MAX_DEPTH` and repeats no key in any
    object: it has no more brackets than that (inside strings or not), and msgspec writes it
    back as it came (`written_back`) or json's C parser reads it, finding no object with a
    repeated key, nor a surrogate escape. False says nothing: `scan_json` decides, and names
    the field at fault."""
    if body.count(b"{") + body.count(b"[") > MAX_DEPTH:
        return False
    if written_back(body):
        return True
    if _SURROGATE_ESCAPE.search(body):  # json's parser takes a lone one: the scan decides
        return False
    try:
        _PAIRS.decode(body.decode())
    except (ValueError, RecursionError, _Duplicate):  # not UTF-8 or JSON, or a repeated key
        return False
    return True


_DECODE = msgspec.json.Decoder().decode
_ENCODE = msgspec.json.Encoder().encode


def written_back(body: bytes) -> bool:
    """Whether msgspec, decoding `body` and encoding the value again, writes `body` back byte
    for byte, compact or with `json.dumps`'s separators (how clients write JSON). Then no
    object in it repeats a key: the decoded object keeps one member of those, and the bytes
    written back, read as JSON, would hold an object with a member fewer than the same bytes
    read as `body`. Several times cheaper than json's parser calling back into Python for
    every object (the body of almost every request)."""
    try:
        again = _ENCODE(_DECODE(body))
    except (msgspec.MsgspecError, ValueError, TypeError):  # not JSON msgspec reads or writes
        return False
    return again == body or msgspec.json.format(again, indent=0) == body


def check_json(body: bytes) -> None:
    """`scan_json`, skipped for the common body `surely_acceptable` clears several times
    faster."""
    if not surely_acceptable(body):
        scan_json(body)


def _decoded_key(token: bytes) -> str | None:
    try:
        key = msgspec.json.decode(token)
    except (msgspec.DecodeError, UnicodeDecodeError):  # the decoder will say so, and where
        return None
    return key if isinstance(key, str) else None


# -- the middleware ----------------------------------------------------------------------------


async def read_body(receive: Any) -> tuple[bytes, list[dict[str, Any]]]:
    """The whole body (refused past `MAX_BODY_BYTES`), and any messages other than body chunks."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), [message]  # the client went away
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Refused(413, "the request body is over 1 MiB")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), []


async def form_replayed(scope: Any, receive: Any) -> Any | None:
    """For a form the console is posted (URL-encoded): its body read (refused past
    `MAX_BODY_BYTES`) and a field given twice refused, as a repeated query parameter is (which
    one would count?); the `receive` that replays the body, or None when the client left."""
    body, pending = await read_body(receive)
    if pending:
        client_disconnected(scope)
        return None
    pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
    names = sorted(name for name, count in Counter(name for name, _ in pairs).items() if count > 1)
    if names:
        raise Refused(400, "a form field is given more than once", named(names, ONCE))
    ScopeState.from_scope(scope).body = body
    return replay(body, receive)


class RequestGuard:
    """ASGI middleware: refuse hostile requests with a problem; replay the body to `app`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            headers = watched_headers(scope)
            check_headers(scope, headers)
            if not carries_body(scope, headers):
                await self.app(scope, receive, send)
                return
            check_content_type(headers)
            check_declared_length(headers)
            body, pending = await read_body(receive)
            if pending:  # the client went away before its body was whole: no one to answer
                client_disconnected(scope)
                return
            if len(body) > SCAN_IN_THREAD_BYTES:
                # Up to a second of scanning for a hostile 1 MiB: off the event loop.
                await anyio.to_thread.run_sync(check_json, body)
            else:
                check_json(body)
        except Refused as refused:
            await refuse(send, refused)
            return
        # Litestar's `Request.body()` takes the body from the connection's state when it is
        # there, instead of reading it again chunk by chunk through `receive`.
        ScopeState.from_scope(scope).body = body
        await self.app(scope, replay(body, receive), send)


def replay(body: bytes, receive: Any) -> Any:
    """A `receive` that gives the body already read, then whatever the client sends next."""
    queue: list[dict[str, Any]] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> dict[str, Any]:
        if queue:
            return queue.pop(0)
        return await receive()

    return replayed


async def refuse(send: Any, refused: Refused) -> None:
    content = problem_bytes(refused.status, refused.detail, refused.errors)
    headers = [
        (b"content-type", PROBLEM_JSON),
        (b"content-length", str(len(content)).encode()),
    ]
    # The body may be unread, or its framing untrustworthy: this connection ends here.
    headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": content, "more_body": False})
