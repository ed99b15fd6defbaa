"""`Idempotency-Key` on every POST (CONTRACT.md, version 2): the header, the request's hash, and
the replay of a remembered response. The remembering itself happens in the write's own
transaction (`service.idempotency`).

Each step has an async twin for handlers on the event loop (`idempotent_async`,
`answered_async`): the same semantics, with the store's reads through `Store.call_reading`,
so a request without the header costs nothing here."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from litestar import Response
from litestar.params import HeaderParameter

from api.problems import ApiProblem
from api.responses import json_response
from keys import Caller
from schemas.problems import FieldError
from service import AlreadyClaimed, Once, remembered
from store import ReadTx, Store
from store.base import DamagedValue, StoredResponse

HEADER = "Idempotency-Key"
POINTER = f"/{HEADER}"
VISIBLE_ASCII = re.compile(r"^[\x21-\x7e]{1,128}$")
KEY_RULE = "1 to 128 visible ASCII characters (no spaces)"
REPLAYED = "Idempotent-Replayed"

KEY_TEXT = (
    f"Makes a retry safe: {KEY_RULE}. The same key from the same API key with the same body "
    "within 24 hours gets the original response again (same status and body, with "
    "`Idempotent-Replayed: true`) and records nothing new; the same key with another body, "
    "or sent to another path, is 422."
)
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name=HEADER,
        required=False,
        description=KEY_TEXT,
        schema_extra={"minLength": 1, "maxLength": 128, "pattern": r"^[\x21-\x7e]+$"},
    ),
]


_HEADER_NAME = HEADER.lower().encode()


def key_from_scope(scope: Any) -> str | None:
    """The request's `Idempotency-Key` (its first, as `IdempotencyKey` takes it), read from the
    scope: a handler on the event loop that reads it here spares Litestar's header parameter,
    which builds a multidict of every header for this one (`api.document` documents the header
    for the operations that do, `READS_ITS_OWN`)."""
    for name, value in scope["headers"]:
        if name.lower() == _HEADER_NAME:
            return value.decode("latin-1")
    return None


def checked_key(key: str) -> str:
    if not VISIBLE_ASCII.match(key):
        raise ApiProblem(
            400,
            f"the {HEADER} header must be {KEY_RULE}",
            [FieldError(pointer=POINTER, message=f"expected {KEY_RULE}")],
        )
    return key


def request_hash(method: str, path: str, data: Any) -> str:
    """The request as compared between retries: method, path and the body's JSON value."""
    body = msgspec.json.encode(data, order="sorted")
    return hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()


def replay(stored: StoredResponse, digest: str) -> Response:
    if stored.request_hash != digest:
        raise ApiProblem(
            422,
            f"this {HEADER} was used with another request within 24 hours",
            [FieldError(pointer=POINTER, message="already used with another body or path")],
        )
    return json_response(stored.body, stored.status, {REPLAYED: "true"})


def idempotent(
    store: Store,
    caller: Caller,
    key: str | None,
    digest: str,
    render: Callable[[ReadTx, Any], bytes],
) -> Response | Once | None:
    """No key: None. A key answered before: the replay (or 422). Otherwise the `Once` the
    workflow uses to remember its response."""
    if key is None:
        return None
    checked_key(key)
    stored = remembered(store, caller.key_id, key)
    if stored is not None:
        return replay(stored, digest)
    return Once(caller.key_id, key, digest, render)


CLAIM_POLLS = 50  # how often, 10 ms apart, a request that lost a race looks for the winner's answer
POLL_S = 0.01


async def idempotent_async(
    store: Store,
    caller: Caller,
    key: str | None,
    digest: Callable[[], str],
    render: Callable[[ReadTx, Any], bytes],
) -> Response | Once | None:
    """`idempotent`, reading the store through `Store.call_reading`; `digest` (the request's
    hash) is worked out only when there is a key."""
    if key is None:
        return None
    checked_key(key)
    hashed = digest()
    stored = await store.call_reading(remembered, store, caller.key_id, key)
    if stored is not None:
        return replay(stored, hashed)
    return Once(caller.key_id, key, hashed, render)


def unanswered_claim(once: Once) -> DamagedValue:
    """A claim kept with no answer: the service stores a claim and its answer in one
    transaction, so the row was edited by other hands (the API's 503 naming `redress verify`;
    it had answered 500)."""
    return DamagedValue(f"the Idempotency-Key {once.key!r} is kept claimed with no answer")


async def answered_async(
    store: Store, once: Once | None, write: Callable[[], Awaitable[Response]]
) -> Response:
    """`answered` for a coroutine `write`: waits for a racing request's response without
    holding a thread or the loop."""
    try:
        return await write()
    except AlreadyClaimed:
        assert once is not None
        for _ in range(CLAIM_POLLS):  # its transaction committed before ours saw the claim
            stored = await store.call_reading(remembered, store, once.key_id, once.key)
            if stored is not None:
                return replay(stored, once.request_hash)
            await asyncio.sleep(POLL_S)
        raise unanswered_claim(once) from None


def answered(store: Store, once: Once | None, write: Callable[[], Response]) -> Response:
    """`write()`; when a racing request with the same key got there first, its response."""
    try:
        return write()
    except AlreadyClaimed:
        assert once is not None
        for _ in range(CLAIM_POLLS):  # its transaction committed before ours saw the claim
            stored = remembered(store, once.key_id, once.key)
            if stored is not None:
                return replay(stored, once.request_hash)
            time.sleep(POLL_S)
        raise unanswered_claim(once) from None
