"""Who is asking: the bearer key, the role check each router declares once, and the caller as a
dependency for handlers (`caller: Caller`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar import Request
from litestar.di import NamedDependency
from litestar.types import Scope

from api.problems import ApiProblem
from api.services import Services, app_services
from keys import Caller, allows

RoleCheck = Callable[[Request], Awaitable[None]]


def bearer_key(authorization: str | None) -> str | None:
    """The key in an `Authorization: Bearer <key>` header, or None."""
    if not authorization:
        return None
    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key else None


def authorization(scope: Scope) -> str | None:
    """The request's (first) `Authorization` header, read from the scope: `request.headers`
    would build a multidict of every header for this one."""
    for name, value in scope["headers"]:
        if name.lower() == b"authorization":
            return value.decode("latin-1")
    return None


def a_or_an(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


READ_METHODS = frozenset({"GET", "HEAD"})
CALLER = "redress_caller"  # the scope key where the role check leaves the caller for the handler


def requires(reads: tuple[str, ...], writes: tuple[str, ...] = ()) -> RoleCheck:
    """A router's role check: 401 without a valid key (unknown or revoked); 403 when the key's
    role is not one of `reads` (for GET) or `writes` (for any other method); admin may do
    everything. The caller is kept for the handler (`caller: Caller`).

    Routers declare it as their `before_request` hook, not as a guard: both run before the
    request's parameters and body are parsed, but Litestar copies the route handler for every
    guard it calls (~5% of a decision's time on the event loop). It runs on the event loop: a key
    the key ring holds costs no I/O; only a miss, or the periodic revocation check, reads the
    store, in a worker thread (`KeyRing.caller_async`)."""

    async def check(connection: Request) -> None:
        key = bearer_key(authorization(connection.scope))
        if key is None:
            raise ApiProblem(401, "an API key is needed: Authorization: Bearer <key>")
        caller = await app_services(connection.app).keys.caller_async(key)
        if caller is None:
            raise ApiProblem(401, "unknown or revoked API key")
        roles = reads if connection.scope.get("method") in READ_METHODS else writes
        if not allows(caller.role, *roles):
            wanted = " or ".join(roles) if roles else "admin"
            raise ApiProblem(
                403, f"{a_or_an(caller.role)} key cannot do this: it needs the {wanted} role"
            )
        # In the scope itself: `connection.state` would wrap the scope's state in a new object
        # on every access, here and again in `provide_caller`.
        connection.scope[CALLER] = caller  # type: ignore[typeddict-unknown-key]

    return check


def provide_caller(request: Request, services: NamedDependency[Services]) -> Caller:
    """The caller the router's role check found (every keyed operation has one).

    It takes `services`, unused, so that Litestar resolves the two dependencies one after the
    other: independent ones are resolved concurrently, in an anyio task group of one task
    each, which costs a request more than both lookups together."""
    del services
    return request.scope[CALLER]  # type: ignore[typeddict-item]
