"""The Litestar application: `create_app(data_dir)` and the uvicorn factory
`app_from_environment()` (reads `REDRESS_DATA_DIR`, default `./redress-data`).

The operations are grouped in routers by resource, each declaring its role check once: who may
read and who may write decisions, cases, a case's personal data, policies, the ledger and keys.
Handlers get `services` and `caller` by dependency injection. Each worker process opens the
data directory's stores once, at start-up; the admin key is bootstrapped by the
CLI before workers start (`keys.bootstrap_admin`).
"""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, Router
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme, Server
from litestar.types import Receive, Scope, Send

import clock
from api import audit, cases, decisions, keys, operations, policies, reports
from api.auth import provide_caller, requires
from api.connections import take_slot
from api.document import ContractJson, ContractYaml
from api.guard import Refused, RequestGuard, check_headers, form_replayed, refuse
from api.logs import configure_logging, logged
from api.metrics import observe_request, worker_stopped
from api.operations import instrument
from api.problems import EXCEPTION_HANDLERS, problem_response
from api.responses import BEARER, with_options
from api.services import Services
from console import template_config
from console.pages import CONSOLE_ROUTER, send_refusal
from ledger.keys import KeyRetired
from ledger.store import IndexDamaged
from rules.calendar import load_holidays
from service.cosigning import Cosigning, parse_witness
from store import StoreBusy

MAX_BODY_BYTES = 1024 * 1024
DATA_DIR_ENV = "REDRESS_DATA_DIR"
DESCRIPTION = """Complaint-routing decisions under published policies, recorded in a
tamper-evident ledger. Errors are RFC 9457 problem details (`application/problem+json`):
400 for a request that does not fit this document, 422 for facts the policy rejects, each
offending field named by a JSON Pointer in `errors`. Nothing is recorded for a rejected request.
"""


RETRY_AFTER_S = 1


def on_store_busy(_: Request, exc: StoreBusy) -> Response[bytes]:
    """503 with `Retry-After`: the store stayed busy (another process held its write lock)."""
    return problem_response(503, str(exc), [], {"Retry-After": str(RETRY_AFTER_S)})


class ApiGuard(RequestGuard):
    """`RequestGuard` for the API; the console's HTML forms (URL-encoded, under `/console/`)
    get its header checks and a form field given twice refused (`form_replayed`), their bodies
    being otherwise the console's."""

    async def __call__(self, scope: Any, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == "/console" or path.startswith("/console/")):
            try:
                check_headers(scope)
                if scope["method"] == "POST":
                    receive = await form_replayed(scope, receive)
                    if receive is None:
                        return
            except Refused as refused:
                # A browser is shown the console's page; a script gets the problem details.
                if not await send_refusal(scope, send, refused.status, refused.detail):
                    await refuse(send, refused)
                return
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def on_key_retired(_: Request, exc: KeyRetired) -> Response[bytes]:
    """503 with no `Retry-After`: this node's signing key was retired by a rotation made
    elsewhere, so it records nothing more until it restarts with the key in force."""
    return problem_response(503, str(exc), [])


def on_index_damaged(_: Request, exc: IndexDamaged) -> Response[bytes]:
    """503: the id index no longer matches the ledger (tampering); nothing else is served for
    that id. `redress verify` names the damage."""
    return problem_response(503, f"{exc}; run `redress verify`", [])


class RedressApp(Litestar):
    """Litestar, with one JSON log line, an `X-Request-ID` header and a latency sample for
    every HTTP request."""

    # Also `state.services`, once the app has started: see `api.services.app_services`.
    services: Services | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
        elif scope["method"] == "HEAD":
            await logged(self._head, scope, receive, send, observe_request)
        else:
            await logged(super().__call__, scope, receive, send, observe_request)

    async def _head(self, scope: Scope, receive: Receive, send: Send) -> None:
        """HEAD wherever GET (RFC 9110 section 9.3.2): the GET's status and headers; the server
        (uvicorn, which knows the request was HEAD) sends no body. A GET never writes."""
        await super().__call__({**scope, "method": "GET"}, receive, send)  # type: ignore[typeddict-item]


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Redress",
        version="1.0.0",
        description=DESCRIPTION,
        servers=[Server(url="/")],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="An API key with the role the operation needs "
                    "(decide, audit; admin can do everything). A revoked key is refused (401).",
                )
            }
        ),
        path="/schema",
        render_plugins=[ContractJson(path="/openapi.json"), ContractYaml(path="/openapi.yaml")],
    )


DECIDE = ("decide",)
READERS = ("decide", "audit")
ADMIN: tuple[str, ...] = ()  # nobody but admin


def routers() -> list[Router]:
    """The operations by resource, each router declaring once who may read (GET) and who may
    write (any other method); admin may do everything."""

    def router(reads: tuple[str, ...], writes: tuple[str, ...], handlers: list) -> Router:
        return Router(
            "/v1",
            before_request=requires(reads, writes),
            security=BEARER,
            route_handlers=with_options(handlers),
        )

    return [
        router(READERS, DECIDE, decisions.HANDLERS),
        router(READERS, DECIDE, cases.HANDLERS),
        router(DECIDE, ADMIN, cases.PERSONAL),
        router(READERS, ADMIN, policies.HANDLERS),
        router(("audit",), ADMIN, audit.HANDLERS),
        router(("audit",), ADMIN, reports.HANDLERS),
        router(ADMIN, ADMIN, keys.HANDLERS),
        Router("/", route_handlers=[*policies.OPEN, *operations.OPEN]),
        Router(
            "/",
            before_request=requires(("audit",), ADMIN),
            security=BEARER,
            route_handlers=operations.AUDITED,
        ),  # fmt: skip
        CONSOLE_ROUTER,
    ]


YOUNG_GENERATION_THRESHOLD = 7000  # allocations between collections of the youngest generation


def settle_garbage_collector() -> None:
    """Once the worker is up: move what start-up made (the app, its handlers, the policies'
    rule engines, every imported module) out of the collector's sight, and collect the youngest
    generation ten times less often. Requests leave few cycles, yet with the defaults a decision
    paid for a collection every ~9 requests and, now and then, a full one that walked the whole
    start-up heap (tens of ms on one request, on the event loop). Cycles are still collected."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, older, oldest)


def create_app(data_dir: Path) -> Litestar:
    """The API over the stores in `data_dir` (opened when the app starts)."""
    configure_logging()

    def open_stores(app: RedressApp) -> None:
        app.state.services = app.services = Services.open(Path(data_dir))
        instrument(app.state.services)
        app.state.cosigning = start_cosigning(Path(data_dir), app.state.services)
        load_holidays(clock.now().date())
        settle_garbage_collector()

    def count_connections(app: Litestar) -> None:
        take_slot()  # under `redress serve --workers N`, this worker's (api.connections)

    async def close_stores(app: Litestar) -> None:
        cosigning = getattr(app.state, "cosigning", None)
        if cosigning is not None:
            cosigning.stop()
        services = getattr(app.state, "services", None)
        if services is not None:
            await services.keys.settle()  # the key ring's background read ends first
            services.close()  # the writer finishes its batch and stops
        worker_stopped()

    def provide_services() -> Services:
        """The dependency handlers ask for as `services`: those this app opened at start-up.
        It takes no parameter: Litestar converts and checks a provider's parameters on every
        request, and the app state, asked for as `state`, was wrapped in a new `State` each
        time (~6 µs of a decision on the event loop)."""
        return app.state.services

    app = RedressApp(
        route_handlers=routers(),
        template_config=template_config(),
        dependencies={
            "services": Provide(provide_services, sync_to_thread=False),
            "caller": Provide(provide_caller, sync_to_thread=False),
        },
        on_startup=[open_stores, count_connections],
        on_shutdown=[close_stores],
        exception_handlers={
            **EXCEPTION_HANDLERS,
            StoreBusy: on_store_busy,
            KeyRetired: on_key_retired,
            IndexDamaged: on_index_damaged,
        },
        middleware=[ApiGuard],
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=openapi_config(),
        logging_config=None,
    )
    return app


WITNESSES_ENV = "REDRESS_WITNESSES"  # `VKEY=URL` lines, set by `redress serve --witness`
QUORUM_ENV = "REDRESS_QUORUM"


def start_cosigning(data_dir: Path, services: Services) -> Cosigning | None:
    """The witnesses named in the environment asked to cosign the ledger's checkpoints (by the
    one worker that holds the data directory's cosigner lock), or None without witnesses."""
    witnesses = [parse_witness(w) for w in os.environ.get(WITNESSES_ENV, "").split() if w]
    if not witnesses:
        return None
    services.ledger.witnessed = True
    quorum = int(os.environ.get(QUORUM_ENV) or len(witnesses))
    cosigning = Cosigning(data_dir, services.store, witnesses, quorum)
    cosigning.start()
    return cosigning


def app_from_environment() -> Litestar:
    """The uvicorn factory (`--factory`), one app per worker process."""
    return create_app(Path(os.environ.get(DATA_DIR_ENV, "./redress-data")))
