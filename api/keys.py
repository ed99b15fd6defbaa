"""`/v1/keys` (admin): list, create and revoke API keys. The keys themselves live in the `keys`
package (no HTTP there); `create_key` and `bootstrap_admin` are re-exported for callers that
knew them here."""

from __future__ import annotations

import functools
from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import Parameter

from api.bodies import checked, json_body
from api.idempotency import IdempotencyKey, answered, idempotent, request_hash
from api.logs import note
from api.paging import check_limit, page_limit
from api.problems import ApiProblem
from api.responses import READ, WRITE, json_response, problems
from api.services import Services
from keys import (
    Caller,
    NewKey,
    UnknownKey,
    bootstrap_admin,
    create_job,
    create_key,
    key_page,
    revoke_answer_job,
)
from schemas.api import CreatedKey, KeyPage, KeyRequest, KeyView
from schemas.problems import FieldError
from store.base import stored_as

__all__ = ["HANDLERS", "bootstrap_admin", "create_key"]
TAGS = ["keys"]
KeyIdPath = Annotated[
    str, Parameter(min_length=1, max_length=64, description="A key's public id (`key_…`).")
]


def created_view(made: NewKey, with_secret: bool) -> CreatedKey:
    return CreatedKey(
        key=made.key if with_secret else None,
        key_id=made.key_id,
        role=made.role,  # type: ignore[arg-type]
        name=made.name,
        created_at=made.created_at,
    )


MAX_KEY_PAGE = 1000
KeyLimit = page_limit("keys", MAX_KEY_PAGE)
# A key's place in the listing: its `created_at` (no `_` in it), `_`, its id.
KEY_CURSOR = r"^[0-9A-Za-z:.+-]{1,40}_[\x21-\x7e]{1,64}$"


@get(
    "/keys",
    operation_id="listKeys",
    tags=TAGS,
    sync_to_thread=True,
    responses=problems(400, 401, 403, 422),
    summary="API keys, oldest first, paged: id, role, name, created, revoked (never a secret)",
    description=(
        f"At most `limit` keys (1–{MAX_KEY_PAGE:,}, else 422); `next_cursor` continues the "
        "listing, null at its end."
    ),
)
def list_keys(
    services: NamedDependency[Services],
    cursor: Annotated[
        str | None,
        Parameter(
            max_length=106,
            pattern=KEY_CURSOR,
            description="A page's `next_cursor`: the listing goes on after that key.",
        ),
    ] = None,
    limit: KeyLimit = 100,
) -> KeyPage:
    check_limit(limit, MAX_KEY_PAGE)
    after = None if cursor is None else tuple(cursor.split("_", 1))
    items, following = key_page(services.store, after, limit)  # type: ignore[arg-type]
    next_cursor = None if following is None else "_".join(following)
    return stored_as({"items": items, "next_cursor": next_cursor}, KeyPage)


@post(
    "/keys",
    operation_id="createKey",
    tags=TAGS,
    responses=WRITE,
    summary="Create an API key: the secret is in this response only",
)
async def post_key(
    request: Request,
    services: NamedDependency[Services],
    caller: NamedDependency[Caller],
    idempotency_key: IdempotencyKey = None,
) -> Response[CreatedKey]:
    given = await json_body(request)
    # The store's calls block: off the event loop, as for every synchronous handler.
    return await anyio.to_thread.run_sync(
        functools.partial(created_key, request, services, caller, idempotency_key, given)
    )


def created_key(
    request: Request,
    services: Services,
    caller: Caller,
    idempotency_key: str | None,
    given: Any,
) -> Response[CreatedKey]:
    """A key made and recorded (or the answer kept for this `Idempotency-Key`)."""
    digest = request_hash("POST", request.url.path, given)
    # A replay never repeats the secret: it is not stored anywhere.
    once = idempotent(
        services.store,
        caller,
        idempotency_key,
        digest,
        lambda _, made: msgspec.json.encode(created_view(made, with_secret=False)),
    )
    if isinstance(once, Response):
        return once
    body = checked(given, KeyRequest)
    made, job = create_job(body.role, body.name)

    def write() -> Response:
        keyed = job if once is None else once.wrap(job, lambda dated: dated)
        dated = services.store.write(keyed)
        note(request, key_id=made.key_id)
        return json_response(created_view(dated, with_secret=True), 201)

    return answered(services.store, once, write)


@delete(
    "/keys/{key_id:str}",
    operation_id="revokeKey",
    tags=TAGS,
    sync_to_thread=True,
    status_code=200,
    responses={**READ, **problems(409)},
    summary="Revoke an API key: every worker refuses it (401) within a second",
    description="Revoking a key that is revoked already changes nothing and records nothing.",
)
def revoke_key(
    request: Request,
    services: NamedDependency[Services],
    caller: NamedDependency[Caller],
    key_id: KeyIdPath,
) -> KeyView:
    if key_id == caller.key_id:
        raise ApiProblem(
            409,
            "a key cannot revoke itself: revoke it with another admin key, or with "
            "`redress keys revoke`",
            [FieldError(pointer="/key_id", message="the key this request is made with")],
        )
    try:
        revoked = services.store.write(revoke_answer_job(key_id))
    except UnknownKey as exc:
        raise ApiProblem(404, str(exc)) from None
    services.keys.refresh()  # this worker refuses it at once; the others within a second
    note(request, key_id=key_id)
    return stored_as(revoked, KeyView)


HANDLERS = [list_keys, post_key, revoke_key]
