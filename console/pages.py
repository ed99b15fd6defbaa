"""The console's handlers (thin): check the session, fetch from the stores, render a template.

Every response of the console carries the security headers (`SECURITY_HEADERS`: a CSP without
inline scripts or styles, no framing, no cross-origin referrer, no caching); handlers return
responses rather than raising, so that error pages carry them too. Keys are accepted only in the
sign-in form's body, never in a URL; a session id only in its HttpOnly, SameSite=Strict cookie.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router

import reports
import rules
from api.decisions import IdPath
from api.services import Services
from console import charts, reads, views
from console.clauses import clause_texts
from console.sessions import Session, SessionStore
from keys import allows
from ledger.checkpoint import CheckpointError, open_checkpoint
from ledger.merkle import ProofError, verify_consistency
from ledger.note import NoteError, Verifier
from ledger.store import BadProofRequest, EntryNotFound, Ledger
from reports.compute import role_of
from reports.csvout import COLUMNS, rows_of
from reports.stored import compute_stored

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


def to_sign_in() -> Redirect:
    return Redirect("/console/sign-in", status_code=303)


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


def refused(session: Session | None) -> Template:
    return page("message.html", session, 403, title="Refused",
                message="This form was not sent from your signed-in console page.")  # fmt: skip


def query_values(request: Request, names: tuple[str, ...]) -> dict[str, str | None]:
    return {n: (request.query_params.get(n) or None) for n in names}


# -- sign-in and sign-out ---------------------------------------------------------------------


@get("/sign-in", sync_to_thread=True)
def sign_in_form(request: Request) -> Template:
    return page("sign_in.html", current(request))


@post("/sign-in", status_code=303, sync_to_thread=True)
def sign_in(request: Request, data: Form) -> Response:
    """An audit or admin key opens a session; a decide key or an unknown one does not."""
    if not same_origin(request):
        return refused(None)
    key = (data.get("key") or "").strip()
    caller = services_of(request.app.state).keys.caller(key) if key else None
    if caller is None or not allows(caller.role, "audit"):
        message = "That key is not an audit or admin key." if caller else "Unknown key."
        return page("sign_in.html", None, 401 if caller is None else 403, error=message)
    session_id, _ = sessions_of(request.app.state).create(caller.role, caller.key_id)
    response = Redirect("/console", status_code=303)
    response.set_cookie(
        COOKIE, session_id, path="/console", httponly=True, samesite="strict",
        secure=request.url.scheme == "https", max_age=8 * 3600,
    )  # fmt: skip
    return response


@post("/sign-out", status_code=303, sync_to_thread=True)
def sign_out(request: Request, data: Form) -> Response:
    session = current(request)
    if session is not None and not form_allowed(request, session, data):
        return refused(session)
    sessions_of(request.app.state).delete(request.cookies.get(COOKIE))
    response = to_sign_in()
    response.delete_cookie(COOKIE, path="/console")
    return response


# -- pages ------------------------------------------------------------------------------------


@get("/", sync_to_thread=True)
def overview(request: Request) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in()
    services = services_of(request.app.state)
    seen = reads.overview(services.store, services.ledger.root_hash)
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
    )


MAX_PAGE = 1_000_000  # 50 million decisions, 50 a page


@get("/decisions", sync_to_thread=True)
def decisions(request: Request) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in()
    values = query_values(request, views.FILTERS)
    chosen, errors = views.parse_filter(values)
    try:
        number = max(1, int(request.query_params.get("page") or 1))
    except ValueError:
        number, errors = 1, [*errors, "page: not a number"]
    if number > MAX_PAGE:  # its offset would not fit the store's integers
        number, errors = 1, [*errors, f"page: at most {MAX_PAGE:,}"]
    found, more = reads.find_decisions(services_of(request.app.state).store, chosen, number)
    keep = {k: v for k, v in values.items() if v}
    return page(
        "decisions.html", session, values=values, errors=errors, decisions=found,
        page=number, more=more, keep=keep, role_of=role_of,
    )  # fmt: skip


@get("/decisions/{decision_id:str}", sync_to_thread=True)
def decision(request: Request, decision_id: IdPath) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in()
    ledger = services_of(request.app.state).ledger
    recorded = ledger.decision(decision_id[:64])
    if recorded is None:
        return page("message.html", session, 404, title="No such decision",
                    message=f"No decision {decision_id[:64]!r} is recorded.")  # fmt: skip
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
        verifier_key=ledger.verifier_key,
    )  # fmt: skip


@get("/decisions/{decision_id:str}/receipt", sync_to_thread=True)
def decision_receipt(request: Request, decision_id: IdPath) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in()
    ledger = services_of(request.app.state).ledger
    recorded = ledger.decision(decision_id[:64])
    receipt = None if recorded is None else reads.receipt_text(ledger, recorded.ledger.index)
    if recorded is None or receipt is None:
        return page("message.html", session, 404, title="No receipt yet", message="")
    return Response(
        receipt,
        media_type="text/plain",  # Litestar adds the charset
        headers={
            "Content-Disposition": f'attachment; filename="{recorded.decision_id}.tlog-proof"'
        },
    )


@get("/cases", sync_to_thread=True)
def cases(request: Request) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in()
    values = query_values(request, ("policy", "state", "overdue"))
    store = services_of(request.app.state).store
    found = reads.recent_cases(store, values["policy"], values["state"], bool(values["overdue"]))
    return page("cases.html", session, values=values, cases=found)


@get("/cases/{case_id:str}", sync_to_thread=True)
def case(request: Request, case_id: IdPath) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in()
    found = reads.one_case(services_of(request.app.state).store, case_id)
    if found is None:
        return page("message.html", session, 404, title="No such case",
                    message=f"No case {case_id[:64]!r}.")  # fmt: skip
    return page("case.html", session, case=found, role_of=role_of)


REPORT_PARAMS = ("name", "from", "to", "quarter", "policy")


def report_chart(report: dict[str, Any]) -> Any:
    name = report["report"]
    if name == "routing":
        items = [
            (f"{r['policy']} {r['route'] or r['disposition']}", r["count"]) for r in report["rows"]
        ]
        return charts.bar_chart("Live decisions by route", items)
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


def run_report(request: Request) -> tuple[dict[str, str | None], dict | None, list[str]]:
    values = query_values(request, REPORT_PARAMS)
    name = values["name"]
    if not name:
        return values, None, []
    if name not in reports.REPORT_NAMES:
        return values, None, [f"name: no report {name!r}"]
    try:
        query = reports.parse_query(name, values, rules.policy_ids())
    except reports.QueryError as exc:
        return values, None, [f"{p.lstrip('/')}: {m}" for p, m in exc.errors]
    services = services_of(request.app.state)
    return values, compute_stored(name, services.store, services.ledger.root_hash, query), []


@get("/reports", sync_to_thread=True)
def reports_page(request: Request) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in()
    values, report, errors = run_report(request)
    context: dict[str, Any] = {"values": values, "errors": errors, "report": report,
                               "names": reports.REPORT_NAMES}  # fmt: skip
    if report is not None:
        context |= {
            "columns": COLUMNS[report["report"]],
            "rows": list(rows_of(report)),
            "chart": report_chart(report),
            "csv_query": {k: v for k, v in values.items() if v},
        }
    return page("reports.html", session, 422 if errors else 200, **context)


@get("/reports.csv", sync_to_thread=True)
def report_csv(request: Request) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in()
    values, report, errors = run_report(request)
    if report is None:
        return page("message.html", session, 422, title="Bad report query",
                    message="; ".join(errors) or "name: choose a report")  # fmt: skip
    return Response(
        reports.to_csv(report),
        media_type="text/csv",  # Litestar adds the charset
        headers={
            "Content-Disposition": f'attachment; filename="{report["report"]}.csv"',
            "Redress-Tree-Size": str(report["tree_size"]),
            "Redress-Root-Hash": report["root_hash"],
        },
    )


def ledger_context(ledger: Ledger) -> dict[str, Any]:
    size = ledger.tree_size()
    kept = ledger.checkpoints()
    return {
        "tree_size": size,
        "root_hash": ledger.root_hash(size),
        "verifier_key": ledger.verifier_key,
        "checkpoints": kept[::-1][:20],
        "latest": kept[-1] if kept else None,
    }


@get("/ledger", sync_to_thread=True)
def ledger_page(request: Request) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in()
    return page("ledger.html", session, **ledger_context(services_of(request.app.state).ledger))


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
        return to_sign_in()
    if not form_allowed(request, session, data):
        return refused(session)
    ledger = services_of(request.app.state).ledger
    ok, message = check_consistency(ledger, data.get("checkpoint", ""))
    return page("ledger.html", session, **ledger_context(ledger), result=ok, message=message,
                pasted=data.get("checkpoint", ""))  # fmt: skip


def after(response: Response) -> Response:
    return secure(response)


CONSOLE_ROUTER = Router(
    path="/console",
    route_handlers=[
        sign_in_form, sign_in, sign_out, overview, decisions, decision, decision_receipt,
        cases, case, reports_page, report_csv, ledger_page, ledger_check,
        create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False),
    ],
    after_request=after,
    include_in_schema=False,
)  # fmt: skip
