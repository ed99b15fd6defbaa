"""The console's handlers (thin): check the session, fetch from the stores, render a template.

Every response of the console carries the security headers (`SECURITY_HEADERS`: a CSP without
inline scripts or styles, no framing, no cross-origin referrer, no caching); handlers return
responses rather than raising, so that error pages carry them too. Keys are accepted only in the
sign-in form's body, never in a URL; a session id only in its HttpOnly, SameSite=Strict cookie.

Errors are pages too (`console.errors` says which form and words): a path no handler has
(`not_found`), a method a path does not take (`wrong_method_routes`), and whatever a handler
raises (`on_console_error`) render `message.html` with their status code for a browser; a
client that asks for JSON gets the API's problem details. So do the errors handlers answer
themselves (`refusal`, `message_page`): every console answer of status 400 or above takes the
form `console.errors.prefers_html` chooses. Lists (decisions, cases, checkpoints) are paged
alike: `?page=N` in digits, 50 a page, newest first; a bad filter or page number is named (422)
and no list or pager is shown; a page past the last is said not to exist (404).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, Router, get, post, route
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router

import reports
import rules
from api.decisions import IdPath
from api.problems import (
    DAMAGED,
    on_http_exception,
    on_unexpected,
    parameter_errors,
    problem_response,
)
from api.services import Services
from console import charts, errors, reads, views
from console.clauses import clause_texts
from console.errors import Said
from console.sessions import Session, SessionStore
from keys import allows
from ledger.checkpoint import CheckpointError, open_checkpoint
from ledger.merkle import ProofError, verify_consistency
from ledger.note import NoteError, Verifier
from ledger.store import BadProofRequest, EntryNotFound, Ledger
from reports.compute import role_of
from reports.csvout import COLUMNS, rows_of
from reports.stored import compute_stored
from schemas.problems import FieldError, escape_pointer
from store.base import DamagedValue, as_written

STATIC = Path(__file__).parent / "static"
COOKIE = "redress_console"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # "no-referrer" makes Chromium send `Origin: null`
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
SESSION_SECONDS = 8 * 3600
log = logging.getLogger("redress.console")


def secure(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def services_of(state: State) -> Services:
    return state.services


def sessions_of(state: State) -> SessionStore:
    """Sessions in this worker's store (a table of its own, made by the store's migrations)."""
    return SessionStore(services_of(state).store)


def current(request: Request) -> Session | None:
    return sessions_of(request.app.state).get(request.cookies.get(COOKIE))


def to_sign_in(request: Request | None = None) -> Redirect:
    """To the sign-in page, which comes back afterwards to the console page first asked for
    (`next`): for a GET its path and query, for a form's POST its path (a redirect cannot
    repeat a POST); the overview is where sign-in goes anyway."""
    target = None if request is None else asked_for(request)
    if target is None or target == "/console":
        return Redirect("/console/sign-in", status_code=303)
    return Redirect(f"/console/sign-in?{urlencode({'next': target}, safe='/')}", status_code=303)


def asked_for(request: Request) -> str | None:
    """The page this request asked for, as its client wrote it (raw, still percent-encoded),
    when it is one to come back to (`views.safe_next`)."""
    # Some servers' `raw_path` holds the query too (the ASGI spec says it should not).
    raw = (request.scope.get("raw_path") or b"").split(b"?", 1)[0]
    path = raw.decode("latin-1") or request.url.path
    query = request.scope.get("query_string", b"").decode("latin-1")
    if query and request.method == "GET":
        path = f"{path}?{query}"
    return views.safe_next(path)


def with_session_cookie(response: Response, request: Request, session_id: str, age: int) -> None:
    """Set the session cookie (or, with `age` 0, clear it) with the same attributes both ways:
    HttpOnly, SameSite=Strict, path /console, Secure over HTTPS; a browser may keep a cookie
    set with other attributes than those it was cleared with."""
    response.set_cookie(
        COOKIE, session_id, path="/console", httponly=True, samesite="strict",
        secure=request.url.scheme == "https", max_age=age, expires=None if age else 0,
    )  # fmt: skip


def page(name: str, session: Session | None, status: int = 200, **context: Any) -> Template:
    return Template(
        template_name=name,
        context={"session": session, "policies": rules.policy_ids(), **context},
        status_code=status,
    )


def same_origin(request: Request) -> bool:
    """A form post from another origin is refused (besides SameSite=Strict and the token)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return origin == f"{request.url.scheme}://{request.headers.get('host', '')}"


def form_allowed(request: Request, session: Session | None, data: dict[str, str]) -> bool:
    token = data.get("csrf", "")
    return (
        session is not None
        and same_origin(request)
        and hmac.compare_digest(token.encode(), session.csrf.encode())
    )


NOT_FROM_CONSOLE = "This form was not sent from your signed-in console page."


def refused(request: Request, session: Session | None, field: str | None = "csrf") -> Response:
    """A form refused (403): not from this origin, or (`field`) without the session's token."""
    said = [Said(field, "missing or not this session's token")] if field else []
    return message_page(request, session, 403, "Refused", NOT_FROM_CONSOLE, said=said)


def query_values(request: Request, names: tuple[str, ...]) -> dict[str, str | None]:
    return {n: (request.query_params.get(n) or None) for n in names}


def message_page(
    request: Request,
    session: Session | None,
    status: int,
    title: str,
    text: str,
    headers: dict | None = None,
    said: list[Said] | None = None,
) -> Response:
    """The console's message page (`message.html`) with `status` (and `headers`); for a client
    that asks for JSON, the problem details saying `text`, with the fields at fault (`said`)."""
    if status >= 400 and not answers_html(request):
        return problem_of(status, text, said or [], headers)
    return Template(
        template_name="message.html",
        context={"session": session, "policies": rules.policy_ids(), "title": title,
                 "message": text},
        status_code=status,
        headers=headers,
    )  # fmt: skip


# -- sign-in and sign-out ---------------------------------------------------------------------


@get("/sign-in", sync_to_thread=True)
def sign_in_form(request: Request) -> Template:
    """The sign-in form; `next` (a console page, `views.safe_next`) is where it goes after."""
    return page(
        "sign_in.html", current(request), next=views.safe_next(request.query_params.get("next"))
    )


@post("/sign-in", status_code=303, sync_to_thread=True)
def sign_in(request: Request, data: Form) -> Response:
    """An audit or admin key opens a session and goes on to `next` (a console page of this
    origin only) or the overview; a decide key, a revoked key or an unknown one does not."""
    if not same_origin(request):
        return refused(request, None, field=None)
    key = (data.get("key") or "").strip()
    next_page = views.safe_next(data.get("next"))
    services = services_of(request.app.state)
    caller = services.keys.caller(key) if key else None
    if caller is None or not allows(caller.role, "audit"):
        status = 401 if caller is None else 403
        said = sign_in_refusal(services, key, caller is not None)
        if not answers_html(request):
            return problem_of(status, said, [Said("key", said)])
        return page("sign_in.html", None, status, next=next_page, error=said)
    session_id, _ = sessions_of(request.app.state).create(caller.role, caller.key_id)
    response = Redirect(next_page or "/console", status_code=303)
    with_session_cookie(response, request, session_id, SESSION_SECONDS)
    return response


def sign_in_refusal(services: Services, key: str, known: bool) -> str:
    """Why a key does not sign in: not an audit or admin key, revoked, or unknown. Whether it
    was revoked is asked of the key presented alone, so nothing is said of any other key."""
    if known:
        return "That key is not an audit or admin key."
    if key and reads.revoked_key(services.store, key):
        return "That key was revoked: ask an administrator for a new one."
    return "Unknown key."


@post("/sign-out", status_code=303, sync_to_thread=True)
def sign_out(request: Request, data: Form) -> Response:
    session = current(request)
    if session is not None and not form_allowed(request, session, data):
        return refused(request, session)
    sessions_of(request.app.state).delete(request.cookies.get(COOKIE))
    response = to_sign_in()
    with_session_cookie(response, request, "", 0)
    return response


# -- pages ------------------------------------------------------------------------------------


@get("/", sync_to_thread=True)
def overview(request: Request) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in(request)
    services = services_of(request.app.state)
    root_hash = services.ledger.root_hash
    seen = as_written("the overview", lambda: reads.overview(services.store, root_hash))
    columns, series, counts = seen["weekly"]
    statuses = seen["statuses"]
    return page(
        "overview.html",
        session,
        snapshot=seen["snapshot"],
        weekly=charts.stacked_columns("Live decisions per week by policy", columns, series, counts),
        weekly_rows=[(c, [counts.get((c, s), 0) for s in series]) for c in columns],
        series=series,
        statuses=statuses,
        status_chart=charts.bar_chart("Obligations by status", statuses),
        overdue=seen["overdue"],
        overdue_count=seen["overdue_count"],
        overdue_at_least=seen["overdue_at_least"],
    )


@get("/decisions", sync_to_thread=True)
def decisions(request: Request) -> Response:
    """Decisions matching the filters, 50 a page, newest first. A bad filter or page number is
    named and no list is shown: a list beside the error would read as the answer."""
    session = current(request)
    if session is None:
        return to_sign_in(request)
    values = query_values(request, views.FILTERS)
    chosen, said = views.parse_filter(values, rules.policy_ids())
    if not said:  # an unknown policy is said once, not again as the reason a flag is unknown
        said += views.vocabulary_errors(chosen)
    number, page_said = views.parse_page(request.query_params.get("page"))
    said += page_said
    keep = {k: v for k, v in values.items() if v}
    shown: dict[str, Any] = {"values": values, "page": number, "role_of": role_of,
                             "decisions": None}  # fmt: skip
    if said:
        return refusal(request, session, 422, "decisions.html", said, **shown)
    store = services_of(request.app.state).store
    found, more = as_written("the decisions", lambda: reads.find_decisions(store, chosen, number))
    pages = views.pager("/console/decisions", keep, number, more)
    if not found and number > 1:
        return past_the_end(request, session, "decisions.html", number, pages, **shown)
    return page("decisions.html", session, **shown | {"decisions": found}, errors=[],
                pages=pages)  # fmt: skip


def refusal(
    request: Request, session: Session, status: int, name: str, said: list[Said], **context: Any
) -> Response:
    """A page (`name`) refusing its query with `status`, each fault named, and no list nor
    pager (a list beside the error would read as the answer); for a client that asks for JSON,
    the problem details naming each query parameter at fault."""
    if not answers_html(request):
        return problem_of(status, "; ".join(map(str, said)), said)
    return page(name, session, status, **context | {"errors": said, "pages": None})


def past_the_end(
    request: Request, session: Session, name: str, number: int, pages: dict, **context: Any
) -> Response:
    """A page of a list past its last (404): said so, with a link to the first page only."""
    said = views.past_the_end(number)
    if not answers_html(request):
        return problem_of(404, f"There is no page {number}: the list ends before it.", [said])
    return page(name, session, 404, **context | {"errors": [], "missing": True, "pages": pages})


def problem_of(status: int, detail: str, said: list[Said], headers: dict | None = None) -> Response:
    """The API's problem details (RFC 9457) for a console error, its `errors` pointing at the
    query parameters or form fields at fault."""
    errors = [FieldError(pointer=f"/{escape_pointer(s.field)}", message=s.message) for s in said]
    return problem_response(status, detail, errors, headers)


@get("/decisions/{decision_id:str}", sync_to_thread=True)
def decision(request: Request, decision_id: IdPath) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in(request)
    ledger = services_of(request.app.state).ledger
    recorded = ledger.decision(decision_id[:64])
    if recorded is None:
        return no_such_decision(request, session, decision_id)
    entry = ledger.entry(recorded.ledger.index)
    reasons = [
        {
            "rule": r.rule,
            "citation": r.citation,
            "text": r.text,
            "clauses": clause_texts(r.citation),
        }
        for r in recorded.reasons
    ]
    return page(
        "decision.html", session, decision=recorded, entry=entry, body=entry.body,
        reasons=reasons, receipt=reads.receipt_text(ledger, recorded.ledger.index),
        verifier_key=ledger.verifier_key, items=views.outcome_items(recorded.outcome),
    )  # fmt: skip


NO_RECEIPT_YET = (
    "No signed checkpoint covers this decision's ledger entry yet: the writer signs one after "
    "each batch, so try again in a moment."
)


def no_such_decision(request: Request, session: Session, decision_id: str) -> Response:
    return message_page(request, session, 404, "No such decision",
                        f"No decision {decision_id[:64]!r} is recorded.",
                        said=[Said("decision_id", "no such decision")])  # fmt: skip


@get("/decisions/{decision_id:str}/receipt", sync_to_thread=True)
def decision_receipt(request: Request, decision_id: IdPath) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in(request)
    ledger = services_of(request.app.state).ledger
    recorded = ledger.decision(decision_id[:64])
    if recorded is None:
        return no_such_decision(request, session, decision_id)
    receipt = reads.receipt_text(ledger, recorded.ledger.index)
    if receipt is None:
        return message_page(request, session, 404, "No receipt yet", NO_RECEIPT_YET)
    return Response(
        receipt,
        media_type="text/plain",  # Litestar adds the charset
        headers={
            "Content-Disposition": f'attachment; filename="{recorded.decision_id}.tlog-proof"'
        },
    )


CASE_FILTERS = ("policy", "state", "overdue", "reference")


@get("/cases", sync_to_thread=True)
def cases(request: Request) -> Response:
    """Cases of a policy, state or client reference (exactly), or overdue now, 50 a page, newest
    first (by received day), paged as the decisions are; an unknown policy or state or a bad
    page number is named, and no list is shown."""
    session = current(request)
    if session is None:
        return to_sign_in(request)
    values = query_values(request, CASE_FILTERS)
    said = views.choice_errors("policy", values["policy"], rules.policy_ids())
    said += views.choice_errors("state", values["state"], views.CASE_STATES)
    number, page_said = views.parse_page(request.query_params.get("page"))
    said += page_said
    shown: dict[str, Any] = {"values": values, "page": number, "cases": None}
    if said:
        return refusal(request, session, 422, "cases.html", said, **shown)
    found = as_written("the cases", lambda: reads.recent_cases(
        services_of(request.app.state).store, values["policy"], values["state"],
        bool(values["overdue"]), views.PAGE_SIZE + 1, reference=values["reference"],
        offset=(number - 1) * views.PAGE_SIZE,
    ))  # fmt: skip
    keep = {k: v for k, v in values.items() if v}
    pages = views.pager("/console/cases", keep, number, len(found) > views.PAGE_SIZE)
    if not found and number > 1:
        return past_the_end(request, session, "cases.html", number, pages, **shown)
    return page("cases.html", session, **shown | {"cases": found[: views.PAGE_SIZE]}, errors=[],
                pages=pages)  # fmt: skip


@get("/cases/{case_id:str}", sync_to_thread=True)
def case(request: Request, case_id: IdPath) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in(request)
    store = services_of(request.app.state).store
    found = as_written(f"case {case_id}", lambda: reads.one_case(store, case_id))
    if found is None:
        return message_page(request, session, 404, "No such case", f"No case {case_id[:64]!r}.",
                            said=[Said("case_id", "no such case")])  # fmt: skip
    return page("case.html", session, case=found, role_of=role_of)


REPORT_PARAMS = ("name", "from", "to", "quarter", "policy")


def report_chart(report: dict[str, Any]) -> Any:
    name = report["report"]
    if name == "routing":
        items = [(routing_label(r), r["count"]) for r in report["rows"]]
        return charts.bar_chart("Live decisions by route, stage and disposition", items)
    if name == "serco-quarterly":
        return charts.bar_chart(
            f"Complaints by level reached, {report['quarter']}",
            list(report["complaints"]["by_level_reached"].items()),
        )
    if name == "repeat-complainers":
        return charts.bar_chart(
            "Cases per repeat complainer", [(r["complainant"], r["cases"]) for r in report["rows"]]
        )
    counts = dict.fromkeys(("met", "late", "open", "overdue", "lapsed"), 0)
    if name == "timeliness":
        for row in report["rows"]:
            for status in counts:
                counts[status] += row[status]
    else:
        for row in report["rows"]:
            for obligation in row["obligations"]:
                counts[obligation["status"]] += 1
    return charts.bar_chart("Obligations by status", list(counts.items()))


def routing_label(row: dict[str, Any]) -> str:
    """A routing row's bar: each row counts a (policy, route, stage, disposition), and a
    decision that routes nowhere (DWP's `not_eligible`, say) has no route; it must not read as
    routed to its disposition."""
    parts = [row["route"] or "no route", row["stage"], row["disposition"]]
    return f"{row['policy']}: " + ", ".join(p for p in parts if p)


def run_report(request: Request) -> tuple[dict[str, str | None], dict | None, list[Said]]:
    values = query_values(request, REPORT_PARAMS)
    name = values["name"]
    if not name:
        return values, None, []
    if name not in reports.REPORT_NAMES:
        return values, None, [Said("name", f"no report {name!r}")]
    try:
        query = reports.parse_query(name, values, rules.policy_ids())
    except reports.QueryError as exc:
        return values, None, [Said(p.lstrip("/"), m) for p, m in exc.errors]
    services = services_of(request.app.state)
    return values, compute_stored(name, services.store, services.ledger.root_hash, query), []


@get("/reports", sync_to_thread=True)
def reports_page(request: Request) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in(request)
    values, report, said = run_report(request)
    context: dict[str, Any] = {"values": values, "errors": said, "report": report,
                               "names": reports.REPORT_NAMES}  # fmt: skip
    if said:
        return refusal(request, session, 422, "reports.html", said, **context)
    if report is not None:
        context |= {
            "columns": COLUMNS[report["report"]],
            "rows": list(rows_of(report)),
            "chart": report_chart(report),
            "csv_query": {k: v for k, v in values.items() if v},
        }
    return page("reports.html", session, **context)


@get("/reports.csv", sync_to_thread=True)
def report_csv(request: Request) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in(request)
    values, report, said = run_report(request)
    if report is None:
        said = said or [Said("name", "choose a report")]
        return message_page(request, session, 422, "Bad report query",
                            "; ".join(map(str, said)), said=said)  # fmt: skip
    return Response(
        reports.to_csv(report),
        media_type="text/csv",  # Litestar adds the charset
        headers={
            "Content-Disposition": f'attachment; filename="{report["report"]}.csv"',
            "Redress-Tree-Size": str(report["tree_size"]),
            "Redress-Root-Hash": report["root_hash"],
        },
    )


def ledger_context(ledger: Ledger, number: int = 1) -> dict[str, Any]:
    """The ledger's size, root, key and latest checkpoint, and page `number` of its stored
    checkpoints (50 a page, newest first)."""
    size = ledger.tree_size()
    read = ledger.checkpoints_newest((number - 1) * views.PAGE_SIZE, views.PAGE_SIZE + 1)
    shown, more = read[: views.PAGE_SIZE], len(read) > views.PAGE_SIZE
    latest = read[:1] if number == 1 else ledger.checkpoints_newest(0, 1)
    return {
        "tree_size": size,
        "root_hash": ledger.root_hash(size),
        "verifier_key": ledger.verifier_key,
        "checkpoints": shown,
        "latest": latest[0] if latest else None,
        "page": number,
        "pages": views.pager("/console/ledger", {}, number, more),
        "errors": [],
    }


@get("/ledger", sync_to_thread=True)
def ledger_page(request: Request) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in(request)
    ledger = services_of(request.app.state).ledger
    number, said = views.parse_page(request.query_params.get("page"))
    if said:
        shown = ledger_context(ledger) | {"checkpoints": None, "page": number}
        return refusal(request, session, 422, "ledger.html", said, **shown)
    context = ledger_context(ledger, number)
    if not context["checkpoints"] and number > 1:
        pages = context.pop("pages")
        shown = context | {"checkpoints": None}
        return past_the_end(request, session, "ledger.html", number, pages, **shown)
    return page("ledger.html", session, **context)


def check_consistency(ledger: Ledger, note: str) -> tuple[bool, str]:
    """Is the ledger now consistent with a checkpoint the officer kept? The note's signature
    must be the log's, and an RFC 9162 consistency proof must lead from it to today's root."""
    note = note.replace("\r\n", "\n").rstrip("\n") + "\n"
    try:
        kept = open_checkpoint(note, Verifier.from_verifier_key(ledger.verifier_key))
    except (NoteError, CheckpointError) as exc:
        return False, f"The checkpoint is not signed by this log's key or is malformed: {exc}"
    size = ledger.tree_size()
    if kept.size > size:
        return False, f"The checkpoint claims {kept.size} entries; the ledger has {size}."
    if kept.size == 0:
        return True, "An empty tree is a prefix of every tree."
    root = bytes.fromhex(ledger.root_hash(size))
    try:
        proof = ledger.consistency_proof(kept.size, size)
        hashes = [bytes.fromhex(h) for h in proof.hashes]
        verify_consistency(kept.size, size, kept.root_hash, root, hashes)
    except (ProofError, BadProofRequest, EntryNotFound) as exc:
        return False, f"The ledger is NOT consistent with the kept checkpoint: {exc}"
    return True, (
        f"Consistent: the kept tree of {kept.size} entries is a prefix of today's tree of "
        f"{size} entries (root {root.hex()})."
    )


@post("/ledger", sync_to_thread=True, status_code=200)
def ledger_check(request: Request, data: Form) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in(request)
    if not form_allowed(request, session, data):
        return refused(request, session)
    ledger = services_of(request.app.state).ledger
    ok, message = check_consistency(ledger, data.get("checkpoint", ""))
    return page("ledger.html", session, **ledger_context(ledger), result=ok, message=message,
                pasted=data.get("checkpoint", ""))  # fmt: skip


def after(response: Response) -> Response:
    return secure(response)


# -- errors -----------------------------------------------------------------------------------


def error_page(
    request: Request, status: int, session: Session | None, detail: str = "", **headers: str
) -> Template:
    """The message page of an error, for a client known to take HTML."""
    return Template(
        template_name="message.html",
        context={"session": session, "policies": rules.policy_ids(),
                 "title": errors.title_of(status),
                 "message": errors.explanation(status, request.method, detail)},
        status_code=status,
        headers=headers,
    )  # fmt: skip


def on_console_error(request: Request, exc: Exception) -> Response:
    """What a console handler raises (a path parameter out of bounds, a static file not found,
    an unexpected error): the message page with its status for a browser, the API's problem
    details for a client that asks for JSON (`console.errors`). No session is read here (this
    runs on the event loop), so the page has no navigation, only a link back."""
    if not errors.prefers_html(request.headers.get("accept")):
        if isinstance(exc, HTTPException):
            return secure(on_http_exception(request, exc))
        return secure(on_unexpected(request, exc))
    if not isinstance(exc, HTTPException):
        log.error("unexpected error", exc_info=exc)
        if isinstance(exc, DamagedValue):
            return secure(error_page(request, 503, None, DAMAGED))
        return secure(error_page(request, 500, None))
    detail = str(exc.detail or "")
    if isinstance(exc, ValidationException):
        detail = "; ".join(f"{e.pointer.lstrip('/')}: {e.message}"
                           for e in parameter_errors(exc, request)) or detail  # fmt: skip
    if exc.status_code >= 500:
        log.error("server error", exc_info=exc)
        detail = ""
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "allow"}
    return secure(error_page(request, exc.status_code, None, detail, **headers))


def answers_html(request: Request) -> bool:
    return errors.prefers_html(request.headers.get("accept"))


@route("/{rest:path}", http_method=list(errors.METHODS), status_code=404, sync_to_thread=True,
       name="console:404")  # fmt: skip
def not_found(request: Request) -> Response:
    """A console path no handler has: the console's 404 page, not the API's problem (the
    deeper paths under a decision or case have routes of their own, `NOT_FOUND_BELOW`: the
    router looks no further up once a path has matched a parameter)."""
    return missing_path(request)


def missing_path(request: Request) -> Response:
    if not answers_html(request):
        return on_http_exception(request, HTTPException(status_code=404))
    return error_page(request, 404, current(request))


NOT_FOUND_BELOW = [
    route(f"{prefix}/{{rest:path}}", http_method=list(errors.METHODS), status_code=404,
          sync_to_thread=True, name=f"console:404:{prefix}")(missing_path)
    for prefix in ("/decisions/{decision_id:str}", "/cases/{case_id:str}")
]  # fmt: skip


def wrong_method_routes(handlers: Iterable[HTTPRouteHandler]) -> list[HTTPRouteHandler]:
    """For each console path, a route taking the methods its handlers do not, answering 405
    with `Allow` (as the router would, but as the console's page)."""
    taken: dict[str, set[str]] = {}
    for handler in handlers:
        for path in handler.paths:
            taken.setdefault(path, set()).update(str(m) for m in handler.http_methods)
    return [method_not_allowed(path, methods) for path, methods in taken.items()]


def method_not_allowed(path: str, methods: set[str]) -> HTTPRouteHandler:
    allow = ", ".join(sorted(methods | ({"HEAD"} if "GET" in methods else set())))

    def refuse_method(request: Request) -> Response:
        if not answers_html(request):
            return on_http_exception(
                request, HTTPException(status_code=405, headers={"Allow": allow})
            )
        return error_page(request, 405, current(request), Allow=allow)

    others = sorted(set(errors.METHODS) - methods)
    return route(path, http_method=others, status_code=405, sync_to_thread=True,
                 name=f"console:405:{path}")(refuse_method)  # fmt: skip


PAGES = [
    sign_in_form, sign_in, sign_out, overview, decisions, decision, decision_receipt,
    cases, case, reports_page, report_csv, ledger_page, ledger_check,
]  # fmt: skip


async def send_refusal(scope: dict[str, Any], send: Any, status: int, detail: str) -> bool:
    """For the API's request guard, which refuses some requests before any routing (an
    encoded slash in the path, a query parameter given twice): under `/console/`, a client that
    accepts HTML is sent the console's message page with `status` (True); else nothing is sent
    (False), and the guard answers with its problem details as everywhere else."""
    accept = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"accept"),
                  None)  # fmt: skip
    path = scope.get("path", "")
    under_console = path == "/console" or path.startswith("/console/")
    if not under_console or not errors.prefers_html(accept):
        return False
    body = errors.refusal_html(status, detail)
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
    return True


CONSOLE_ROUTER = Router(
    path="/console",
    route_handlers=[
        *PAGES, *wrong_method_routes(PAGES), not_found, *NOT_FOUND_BELOW,
        create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False),
    ],
    after_request=after,
    exception_handlers={HTTPException: on_console_error, Exception: on_console_error},
    include_in_schema=False,
)  # fmt: skip
