"""The console without a browser (CONTRACT.md "The console (version 2)"): sign-in with an audit
or admin key into a server-side session, every page readable, the CSP on every response, CSRF
tokens on forms, and an audit key that can read everything and change nothing."""

from __future__ import annotations

import re

import pytest

from tests.conftest import COMPLAINT

PAGES = ["/console", "/console/decisions", "/console/cases", "/console/reports",
         "/console/ledger"]  # fmt: skip


def sign_in(client, headers: dict[str, str]):
    key = headers["Authorization"].removeprefix("Bearer ")
    return client.post("/console/sign-in", data={"key": key}, follow_redirects=False)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@pytest.fixture
def recorded(client, keys):
    answer = client.post("/v1/cases", json=COMPLAINT, headers=keys.decide)
    assert answer.status_code == 201
    return answer.json()


def test_an_audit_key_signs_in_and_reads_every_page(client, keys, recorded):
    answer = sign_in(client, keys.audit)
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    assert keys.audit["Authorization"].split()[1].lower() not in cookie
    decision_id = recorded["decisions"][0]["decision_id"] if "decisions" in recorded else None
    decision_id = (
        decision_id
        or client.get(f"/v1/cases/{recorded['case_id']}", headers=keys.audit).json()["decisions"][
            0
        ]["decision_id"]
    )
    pages = [*PAGES, f"/console/decisions/{decision_id}", f"/console/cases/{recorded['case_id']}",
             "/console/reports?name=register",
             "/console/reports?name=serco-quarterly&quarter=2026-Q4",
             "/console/reports?name=routing", "/console/reports?name=timeliness",
             "/console/reports?name=repeat-complainers"]  # fmt: skip
    for path in pages:
        page = client.get(path)
        assert page.status_code == 200, path
        assert '<meta name="viewport"' in page.text, path
        assert "<script>" not in page.text and " style=" not in page.text, path
    csv = client.get("/console/reports.csv?name=routing")
    # One charset each (RFC 6838 §4.3: a parameter is not given twice).
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.text.startswith("section,policy,route,stage,disposition,flag,count")
    receipt = client.get(f"/console/decisions/{decision_id}/receipt")
    assert receipt.headers["content-type"] == "text/plain; charset=utf-8"
    assert receipt.text.startswith("c2sp.org/tlog-proof@v1\n")


def test_a_page_number_out_of_reach_is_said_not_a_500(client, keys, recorded):
    """`/console/decisions?page=N` for any N: a number whose offset no store integer holds is
    named on the page (it answered 500 once, found by fuzzing)."""
    sign_in(client, keys.audit)
    for number, said in (("99999999999999999999", "page: at most 1,000,000"),
                         ("x", "page: not a number"), ("1000000", None)):  # fmt: skip
        answer = client.get(f"/console/decisions?page={number}")
        assert answer.status_code == 200, number
        assert said is None or said in answer.text, number


def test_a_decision_page_quotes_the_cited_seed_clause(client, keys, recorded):
    """The misconduct complaint is routed by WME 4.2, whose text the page quotes: "For
    complaints of a more serious nature relating to misconduct, whistleblowing…"."""
    sign_in(client, keys.admin)
    page = client.get(f"/console/decisions/{recorded['decisions'][0]['decision_id']}")
    assert "(WME 4.2)" in page.text
    assert "For complaints of a more serious nature relating to misconduct" in page.text
    assert 'id="receipt"' in page.text and 'role="status"' in page.text
    assert "c2sp.org/tlog-proof@v1" in page.text


def test_a_decide_key_cannot_open_the_console(client, keys):
    answer = sign_in(client, keys.decide)
    assert answer.status_code == 403
    assert "set-cookie" not in answer.headers
    assert client.get("/console", follow_redirects=False).status_code == 303
    assert client.post("/console/sign-in", data={"key": "nope"}).status_code == 401


def test_sign_out_ends_the_session_on_the_server(client, keys):
    answer = sign_in(client, keys.audit)
    session_cookie = answer.cookies.get("redress_console")
    html = client.get("/console/ledger").text
    assert client.post("/console/sign-out", data={"csrf": "wrong"}).status_code == 403
    assert client.post("/console/sign-out", data={"csrf": csrf_of(html)},
                       follow_redirects=False).status_code == 303  # fmt: skip
    client.cookies.set("redress_console", session_cookie, path="/console")
    again = client.get("/console/ledger", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/console/sign-in"


def test_forms_need_the_session_token(client, keys, recorded):
    sign_in(client, keys.audit)
    html = client.get("/console/ledger").text
    note = re.search(r'<pre class="note">([^<]+)</pre>', html)
    assert client.post("/console/ledger", data={"checkpoint": "x"}).status_code == 403
    if note is None:  # no checkpoint signed yet: ask the API for one
        client.get("/v1/ledger/checkpoint", headers=keys.audit)
        html = client.get("/console/ledger").text
        note = re.search(r'<pre class="note">([^<]+)</pre>', html)
    kept = note.group(1).replace("&#43;", "+").replace("&#34;", '"')
    checked = client.post("/console/ledger", data={"csrf": csrf_of(html), "checkpoint": kept})
    assert 'data-result="ok"' in checked.text
    forged = kept.replace(kept.splitlines()[2], "A" * 43 + "=")
    checked = client.post("/console/ledger", data={"csrf": csrf_of(html), "checkpoint": forged})
    assert 'data-result="fail"' in checked.text


def test_every_console_response_carries_the_csp(client, keys, recorded):
    """ "a Content-Security-Policy without inline scripts": `script-src 'self'`, no
    'unsafe-inline' anywhere, on pages, redirects, refusals and static files."""
    responses = [client.get("/console", follow_redirects=False), client.get("/console/sign-in"),
                 sign_in(client, keys.decide), sign_in(client, keys.audit),
                 client.get("/console/static/verify.js"), client.get("/console/static/console.css"),
                 client.get("/console/decisions/nope"),
                 client.post("/console/ledger", data={"csrf": "x"})]  # fmt: skip
    responses += [client.get(p) for p in PAGES]
    for answer in responses:
        csp = answer.headers.get("content-security-policy", "")
        assert "default-src 'self'" in csp and "script-src 'self'" in csp, answer.url
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_an_audit_key_can_change_nothing(client, keys):
    """ "The audit role … writes nothing": every POST and DELETE of the API is 403 with it."""
    writes = [
        (method, route.path)
        for route in client.app.routes
        for method in getattr(route, "methods", ())
        if method in ("POST", "DELETE", "PUT", "PATCH") and route.path.startswith("/v1/")
    ]
    assert writes
    for method, path in writes:
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        answer = client.request(method, concrete, json={}, headers=keys.audit)
        assert answer.status_code == 403, (method, path, answer.status_code)


def test_console_pages_never_write(client, keys, recorded, data_dir):
    """A GET never writes (COMMON.md): every console page, the decision page's receipt
    included, leaves the store as it was: no checkpoint is signed for a receipt (the latest
    stored one that covers the entry is used), no session row is touched by reading it."""
    import sqlite3

    from ledger import DB_FILE

    sign_in(client, keys.audit)
    decision_id = recorded["decisions"][0]["decision_id"]

    def state() -> list:
        with sqlite3.connect(data_dir / DB_FILE) as db:
            return [
                db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
                for table in ("checkpoints", "console_sessions", "entries", "decision_index")
            ]

    before = state()
    kept = before[0][-1]
    paths = [
        *PAGES,
        f"/console/decisions/{decision_id}",
        f"/console/decisions/{decision_id}/receipt",
        f"/console/cases/{recorded['case_id']}",
        "/console/reports?name=timeliness",
    ]
    for path in paths:
        assert client.get(path).status_code == 200, path
    assert state() == before
    receipt = client.get(f"/console/decisions/{decision_id}/receipt").text
    assert kept[2] in receipt  # the stored checkpoint's signed note, as it was kept
