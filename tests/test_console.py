"""The console without a browser (CONTRACT.md "The console (version 2)"): sign-in with an audit
or admin key into a server-side session, every page readable, the CSP on every response, CSRF
tokens on forms, and an audit key that can read everything and change nothing."""

from __future__ import annotations

import re
from urllib.parse import quote

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
    # The receipt the API answers, against the same checkpoint.
    api = client.get(f"/v1/decisions/{decision_id}/receipt", headers=keys.audit)
    assert receipt.text == api.text


def test_a_page_number_out_of_reach_is_said_not_a_500(client, keys, recorded):
    """`/console/decisions?page=N` for any N: a number whose offset no store integer holds is
    named on the page (it answered 500 once, found by fuzzing), as is one that is not written
    in digits 0-9 or is below 1 (all 422, with no list); a page past the last is said not to
    exist (404), with no link to its neighbours."""
    sign_in(client, keys.audit)
    for number, status, said in (
        ("99999999999999999999", 422, "page: at most 1,000,000"),
        ("x", 422, "is not a number"),
        ("1e3", 422, "is not a number"),
        ("%EF%BC%92", 422, "is not a number"),  # a full-width 2: int() reads it, the API does not
        ("+2", 422, "is not a number"),
        ("0", 422, "page: pages are numbered from 1"),
        ("-1", 422, "page: pages are numbered from 1"),
        ("1000000", 404, "There is no page 1000000"),
        ("999999", 404, "There is no page 999999"),
    ):
        answer = client.get(f"/console/decisions?page={number}")
        assert answer.status_code == status, number
        assert said in answer.text, number
        assert 'class="results"' not in answer.text, number  # no list beside the message
        assert "page=999998" not in answer.text and "Newer" not in answer.text, number


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
    assert again.status_code == 303
    assert again.headers["location"] == "/console/sign-in?next=/console/ledger"


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


# -- the audit's findings (each test failed before its fix) -------------------------------------


def alerts(html: str) -> list[str]:
    return re.findall(r'class="error" role="alert">(.*?)</p>', html)


def refused_listing(client, query: str) -> list[str]:
    """The messages of `/console/decisions?{query}` refused (422), shown with no list."""
    answer = client.get(f"/console/decisions?{query}")
    assert answer.status_code == 422, query
    assert 'class="results"' not in answer.text and "on page" not in answer.text, query
    return alerts(answer.text)


def test_a_bad_filter_is_named_and_no_list_is_shown(client, keys, recorded):
    """A list beside an error read as the answer ("19 decisions on page 1" under "from: not a
    date"); `to` before `from`, an unknown policy, purpose or case state listed nothing,
    silently. Each is named (the allowed values with it), with no list (422)."""
    sign_in(client, keys.audit)
    for query, said in (
        ("from=2026-13-01", "from: &#39;2026-13-01&#39; is not a date YYYY-MM-DD"),
        ("from=20261101", "from: &#39;20261101&#39; is not a date YYYY-MM-DD"),
        ("from=2026-11-30&to=2026-11-01", "to: 2026-11-01 is before from 2026-11-30"),
        ("policy=nosuch", "policy: no policy &#39;nosuch&#39;: one of wme, dwp-feedback, "
                          "cmg-employer-review, serco-es"),
        ("purpose=bogus", "purpose: no purpose &#39;bogus&#39;: one of live, test, preview"),
    ):  # fmt: skip
        said_there = refused_listing(client, query)
        assert said in said_there, (query, said_there)
    listed = client.get("/console/decisions?from=2026-12-01&to=2026-12-31")
    assert listed.status_code == 200 and 'class="results"' in listed.text
    for query, said in (("state=bogus", "state: no state &#39;bogus&#39;: one of open, closed"),
                        ("policy=nosuch", "policy: no policy &#39;nosuch&#39;")):  # fmt: skip
        answer = client.get(f"/console/cases?{query}")
        assert answer.status_code == 422, query
        assert any(a.startswith(said) for a in alerts(answer.text)), alerts(answer.text)
        assert "<table" not in answer.text and "No cases." not in answer.text


@pytest.fixture
def many(client, keys) -> list[str]:
    """55 test decisions (more than a page of 50), each in a write batch of its own, so that
    the ledger has more than 50 checkpoints too."""
    return posted(client, keys, "/v1/decisions", COMPLAINT, "decision_id")


def posted(client, keys, path: str, body: dict, field: str, count: int = 55) -> list[str]:
    """`count` things made by POSTing `body` to `path`, one request each: their ids."""
    made = []
    for _ in range(count):
        answer = client.post(path, json=body, headers=keys.decide)
        assert answer.status_code == 201, answer.text
        made.append(answer.json()[field])
    return made


def hrefs(html: str, text: str) -> list[str]:
    return re.findall(rf'<a href="([^"]*)"[^>]*>{text}</a>', html)


def test_page_links_keep_the_filters_cleanly_and_end_at_the_last_page(client, keys, many):
    """Links read `?&amp;page=2`, and page 999999 offered "Newer" to page 999998. Now a page
    link is `?purpose=test&page=2` (URL-encoded; page 1 has no `page`), and a page past the
    last says there is none (404) with a link to the first."""
    sign_in(client, keys.audit)
    first = client.get("/console/decisions?purpose=test&policy=wme")
    assert hrefs(first.text, "Older") == [
        "/console/decisions?policy=wme&amp;purpose=test&amp;page=2"
    ]
    assert hrefs(first.text, "Newer") == [] and "?&amp;" not in first.text
    second = client.get("/console/decisions?policy=wme&purpose=test&page=2")
    assert second.status_code == 200 and second.text.count("/console/decisions/") == 5
    assert hrefs(second.text, "Newer") == ["/console/decisions?policy=wme&amp;purpose=test"]
    assert hrefs(second.text, "Older") == []
    for number in ("3", "999999"):
        past = client.get(f"/console/decisions?purpose=test&page={number}")
        assert past.status_code == 404 and f"There is no page {number}" in past.text
        assert hrefs(past.text, "Newer") == [] and hrefs(past.text, "Older") == []
        assert 'href="/console/decisions?purpose=test">Go to the first page' in past.text
    from console.views import page_href

    assert page_href("/console/decisions", {"route": "a b&c", "flag": "é"}, 3) == (
        "/console/decisions?route=a+b%26c&flag=%C3%A9&page=3"
    )
    assert page_href("/console/decisions", {}, 1) == "/console/decisions"


def test_the_ledger_pages_its_checkpoints_newest_first(client, keys, many):
    """The ledger page listed the 20 newest checkpoints and no more. Now 50 a page, newest
    first, paged as the decisions are, every checkpoint reachable."""
    sign_in(client, keys.audit)

    def sizes(html: str) -> list[int]:
        return [int(n) for n in re.findall(r"<tr><td>(\d+)</td><td><code", html)]

    first = client.get("/console/ledger")
    shown = sizes(first.text)
    assert len(shown) == 50 and shown == sorted(shown, reverse=True)
    assert hrefs(first.text, "Older") == ["/console/ledger?page=2"]
    second = client.get("/console/ledger?page=2")
    rest = sizes(second.text)
    assert rest and max(rest) < min(shown) and rest == sorted(rest, reverse=True)
    assert hrefs(second.text, "Newer") == ["/console/ledger"]
    with client.app.state.services.store.read() as tx:
        assert sorted(shown + rest) == sorted(c.tree_size for c in tx.checkpoints())
    assert client.get("/console/ledger?page=3").status_code == 404
    bad = client.get("/console/ledger?page=0")
    assert bad.status_code == 422 and "page: pages are numbered from 1" in bad.text


def test_a_revoked_key_is_told_it_was_revoked(client, keys):
    """It was told "Unknown key."; a key never made still is (nothing about other keys)."""
    made = client.post("/v1/keys", json={"role": "audit", "name": "officer"}, headers=keys.admin)
    assert made.status_code == 201, made.text
    key, key_id = made.json()["key"], made.json()["key_id"]
    assert client.delete(f"/v1/keys/{key_id}", headers=keys.admin).status_code in (200, 204)
    answer = client.post("/console/sign-in", data={"key": key}, follow_redirects=False)
    assert answer.status_code == 401 and "set-cookie" not in answer.headers
    assert "That key was revoked" in answer.text and "Unknown key." not in answer.text
    unknown = client.post("/console/sign-in", data={"key": key + "x"})
    assert unknown.status_code == 401 and "Unknown key." in unknown.text
    assert "revoked" not in unknown.text


def test_signing_in_goes_back_to_the_page_first_asked_for(client, keys):
    """It always went to the overview. The page asked for is carried as `next` (a console
    path of this origin only; anything else goes to the overview)."""
    asked = client.get("/console/decisions?policy=wme&purpose=test", follow_redirects=False)
    assert asked.status_code == 303
    target = asked.headers["location"]
    assert target == "/console/sign-in?next=/console/decisions%3Fpolicy%3Dwme%26purpose%3Dtest"
    form = client.get(target).text
    kept = re.search(r'name="next" value="([^"]+)"', form).group(1)
    assert kept == "/console/decisions?policy=wme&amp;purpose=test"
    key = keys.audit["Authorization"].removeprefix("Bearer ")
    back = "/console/decisions?policy=wme&purpose=test"
    answer = client.post("/console/sign-in", data={"key": key, "next": back},
                         follow_redirects=False)  # fmt: skip
    assert answer.headers["location"] == "/console/decisions?policy=wme&purpose=test"
    for unsafe in ("//evil.example/console/", "https://evil.example/console/",
                   "/console/../v1/keys", "/console/%2e%2E/v1/keys", "/v1/keys", "/consolex",
                   "/console\\@evil.example", "/console/sign-in", "/console/\nx", ""):  # fmt: skip
        answer = client.post("/console/sign-in", data={"key": key, "next": unsafe},
                             follow_redirects=False)  # fmt: skip
        assert answer.headers["location"] == "/console", unsafe
        form = client.get(f"/console/sign-in?next={quote(unsafe, safe='/')}")
        assert form.status_code == 200 and 'name="next"' not in form.text, unsafe


def test_sign_out_clears_the_cookie_with_the_attributes_sign_in_set(client, keys):
    """Sign-in set SameSite=Strict; sign-out cleared it with SameSite=lax."""
    set_at_sign_in = sign_in(client, keys.audit).headers["set-cookie"].lower()
    csrf = csrf_of(client.get("/console/ledger").text)
    out = client.post("/console/sign-out", data={"csrf": csrf}, follow_redirects=False)
    cleared = out.headers["set-cookie"].lower()
    for attribute in ("samesite=strict", "httponly", "path=/console"):
        assert attribute in set_at_sign_in and attribute in cleared, attribute
    assert "max-age=0" in cleared and "samesite=lax" not in cleared


def test_a_decision_page_shows_the_outcome_as_the_decision_holds_it(client, keys):
    """Eligibility read `board_escalation: True` (Python's words); deadlines only "acknowledge
    by 2026-10-12"; actions without `new`. Now JSON's words, each deadline's kind, status and
    done_at, and `new` where the decision carries it. The verify button cannot submit the
    receipt into a URL without JavaScript, and the page says the check needs it."""
    from tests.conftest import LIVE_COMPLAINT

    case = client.post("/v1/cases", json=LIVE_COMPLAINT, headers=keys.decide).json()
    event = {"as_of": "2026-11-25T09:00:00Z", "facts": {"acts": {"acknowledge": "2026-11-25"}}}
    later = client.post(f"/v1/cases/{case['case_id']}/events", json=event, headers=keys.decide)
    assert later.status_code == 201, later.text
    sign_in(client, keys.audit)
    page = client.get(f"/console/decisions/{later.json()['decision_id']}").text
    assert "board_escalation: true" in page and "True" not in page
    rows = re.findall(r"<tr><td>(\w+)</td><td>(\w*)</td><td>([\d-]+)</td><td>(\w*)</td>"
                      r"<td>([\d-]*)</td>", page)  # fmt: skip
    assert rows == [("acknowledge", "obligation", "2026-11-30", "met", "2026-11-25"),
                    ("outcome", "obligation", "2026-12-14", "open", "")]  # fmt: skip
    assert "<code>advise_investigator</code>, new: false" in page
    first = client.get(f"/console/decisions/{case['decisions'][0]['decision_id']}").text
    assert "<code>advise_investigator</code>, new: true" in first
    form = re.search(r'<form id="verify".*?</form>', page, re.S).group(0)
    assert 'type="submit"' not in form and 'type="button" id="verify-button"' in form
    assert "needs JavaScript" in form
    caseless = client.post("/v1/decisions", json=COMPLAINT, headers=keys.decide).json()
    assert ", new:" not in client.get(f"/console/decisions/{caseless['decision_id']}").text


def test_cases_show_and_find_their_reference_and_register(client, keys):
    """The case list had no reference and no `reference` filter (the API's `GET /v1/cases` has
    one); the case page lacked reference, opened_at and the register's rule and first and last
    decisions (CONTRACT.md's register fields), which now link to their decisions."""
    from tests.conftest import LIVE_COMPLAINT

    made = client.post("/v1/cases", json=LIVE_COMPLAINT | {"reference": "CRM-1041"},
                       headers=keys.decide).json()  # fmt: skip
    other = client.post("/v1/cases", json=LIVE_COMPLAINT | {"reference": "CRM-2000"},
                        headers=keys.decide).json()  # fmt: skip
    sign_in(client, keys.audit)
    listed = client.get("/console/cases").text
    assert "<td>CRM-1041</td>" in listed and "<td>CRM-2000</td>" in listed
    found = client.get("/console/cases?reference=CRM-1041").text
    assert made["case_id"] in found and other["case_id"] not in found
    assert "<td>CRM-1041</td>" in found
    assert "No cases." in client.get("/console/cases?reference=CRM-9").text
    assert "No cases." in client.get("/console/cases?reference=CRM-1041&state=closed").text
    stored = client.get(f"/v1/cases/{made['case_id']}", headers=keys.audit).json()
    page = client.get(f"/console/cases/{made['case_id']}").text
    assert "<dt>Reference</dt><dd>CRM-1041</dd>" in page
    assert f"<dt>Opened</dt><dd>{stored['opened_at']}</dd>" in page
    for row in stored["obligations"]:
        assert f"<td>{row['name']}</td><td>{row['rule']}</td>" in page
        for decision_id in (row["first_decision_id"], row["last_decision_id"]):
            assert f'<a href="/console/decisions/{decision_id}">' in page


def test_a_case_page_shows_each_obligations_status_now_beside_the_registers(client, keys):
    """CONTRACT.md: the register's `status` "is the latest decision's status while a decision
    still lists it", so an acknowledgement due 2026-10-08 that no event has met since is `open`
    in the register (as `GET /v1/cases/{id}` says) and `overdue` now. The page said only the
    second, under "Status"; it now shows both, each named."""
    body = {
        "policy": "wme",
        "as_of": "2026-10-01T09:00:00Z",
        "facts": {"received_at": "2026-10-01", "kind": "complaint", "category": "misconduct"},
    }
    made = client.post("/v1/cases", json=body, headers=keys.decide).json()  # fmt: skip
    stored = client.get(f"/v1/cases/{made['case_id']}", headers=keys.audit).json()
    (ack,) = [row for row in stored["obligations"] if row["name"] == "acknowledge"]
    assert ack["status"] == "open" and ack["due"] < "2026-12-01"
    sign_in(client, keys.audit)
    page = client.get(f"/console/cases/{made['case_id']}").text
    assert '<th scope="col">Status now</th><th scope="col">In the register</th>' in page
    assert "<td>overdue</td><td>open</td>" in page


def test_the_routing_chart_labels_are_whole_and_say_no_route(client, keys):
    """Labels were cut at 24 characters ("dwp-feedback not_eligibl"), and a DWP row, which
    has no route, was labelled with its disposition under "by route"."""
    dwp = {"policy": "dwp-feedback", "as_of": "2026-11-24T09:00:00Z",
           "facts": {"received_at": "2026-11-23"}}  # fmt: skip
    serco = {"policy": "serco-es", "as_of": "2026-11-24T15:00:00Z",
             "facts": {"received_at": "2026-11-23", "complainant_type": "client"}}  # fmt: skip
    for body in (dwp, serco):
        assert client.post("/v1/decisions", json=body, headers=keys.decide).status_code == 201
    sign_in(client, keys.audit)
    page = client.get("/console/reports?name=routing").text
    report = client.get("/v1/reports/routing", headers=keys.audit).json()
    chart = re.search(r'<svg class="chart".*?</svg>', page, re.S).group(0)
    titles = re.findall(r"<g><title>(.*?): \d+</title>", chart)
    drawn = [" ".join(re.findall(r'class="label">(.*?)</text>', g))
             for g in re.findall(r"<g>.*?</g>", chart)]  # fmt: skip
    assert titles == drawn  # every label drawn whole (wrapped, not cut)
    for row, title in zip(report["rows"], titles, strict=True):
        assert title.startswith(f"{row['policy']}: {row['route'] or 'no route'}"), title
        assert title.endswith(row["disposition"]), title
    assert any(t.startswith("dwp-feedback: no route") for t in titles)
    assert "by route, stage and disposition" in chart


@pytest.fixture
def many_cases(client, keys) -> list[str]:
    """55 live cases (more than a page of 50), each with an acknowledgement overdue now."""
    from tests.conftest import LIVE_COMPLAINT

    return posted(client, keys, "/v1/cases", LIVE_COMPLAINT, "case_id")


def case_links(html: str) -> list[str]:
    return re.findall(r'<td><a href="/console/cases/([^"]+)">', html)


@pytest.mark.parametrize("overdue", [False, True])
def test_every_case_is_reachable_page_by_page(client, keys, many_cases, overdue):
    """The case list stopped at its newest 500, with no pager, and `?page=2` was ignored. Now
    it is paged as the decisions are (50 a page, filters kept in the links), "Overdue only"
    too, and a page past the last is said not to exist."""
    sign_in(client, keys.audit)
    keep = "?overdue=1" if overdue else ""
    first = client.get(f"/console/cases{keep}")
    assert first.status_code == 200
    older = hrefs(first.text, "Older")
    assert older == [f"/console/cases{keep}{'&amp;' if keep else '?'}page=2"]
    second = client.get(older[0].replace("&amp;", "&"))
    assert second.status_code == 200
    shown, rest = case_links(first.text), case_links(second.text)
    assert len(shown) == 50 and len(rest) == 5
    assert sorted(shown + rest) == sorted(many_cases)
    assert hrefs(second.text, "Newer") == [f"/console/cases{keep}"]
    past = client.get(f"/console/cases{keep}{'&' if keep else '?'}page=3")
    assert past.status_code == 404 and "There is no page 3" in past.text
    assert not case_links(past.text) and hrefs(past.text, "Older") == []
    bad = client.get(f"/console/cases{keep}{'&' if keep else '?'}page=0")
    assert bad.status_code == 422 and "page: pages are numbered from 1" in alerts(bad.text)


def test_the_overview_says_how_many_are_overdue_and_where_to_see_them(client, keys, many_cases):
    """ "Overdue now" showed 50 rows, with no count and no link, when more were overdue."""
    sign_in(client, keys.audit)
    page = client.get("/console").text
    assert "The oldest 50 of 55 overdue obligations shown." in page
    assert 'href="/console/cases?overdue=1"' in page


def test_overdue_obligations_due_the_same_day_are_listed_in_one_order_on_every_store(client, keys):
    """Cases and case-less decisions with acknowledgements due the same day: "Overdue now"
    listed them in whatever order the database returned its union (cases first on SQLite,
    decisions first on PostgreSQL, and a different 50 of 1,433 at a cut: found by an audit).
    Ties are now in the order of the decision ids, on every store."""
    from tests.conftest import LIVE_COMPLAINT

    by_subject = {}
    for _ in range(3):
        case = client.post("/v1/cases", json=LIVE_COMPLAINT, headers=keys.decide).json()
        by_subject[f"case {case['case_id'][:12]}"] = case["decisions"][-1]["decision_id"]
        made = client.post("/v1/decisions", json=LIVE_COMPLAINT, headers=keys.decide).json()
        by_subject[f"decision {made['decision_id'][:12]}"] = made["decision_id"]
    sign_in(client, keys.audit)
    page = client.get("/console").text
    listed = re.findall(r'<td><a href="/console/(?:cases|decisions)/[^"]+">([^<]+)</a></td>', page)
    assert sorted(listed) == sorted(by_subject)
    ids = [by_subject[subject] for subject in listed]
    assert ids == sorted(ids)


def test_page_numbers_are_written_without_leading_zeros_and_errors_have_no_pager(
    client, keys, many
):
    """`page=02` was read as 2 (the API refuses leading zeros), and the ledger page showed
    "Page 1 Older" beside the error."""
    sign_in(client, keys.audit)
    for path in ("/console/decisions?page=02", "/console/ledger?page=02",
                 "/console/cases?page=02", "/console/decisions?page=00"):  # fmt: skip
        answer = client.get(path)
        assert answer.status_code == 422, path
        assert any("without leading zeros" in a for a in alerts(answer.text)), path
        assert 'class="pager"' not in answer.text and "Older" not in answer.text, path
    bad = client.get("/console/ledger?page=0")  # it showed "Page 1 Older" beside the error
    assert bad.status_code == 422 and 'class="pager"' not in bad.text and "Older" not in bad.text


def test_an_unknown_flag_stage_or_route_is_named_with_the_allowed_values(client, keys, recorded):
    """An unknown `flag`, `stage` or `route` listed "0 decisions", silently; each is named
    with the values the policy's decisions can carry (the rules' vocabulary)."""
    sign_in(client, keys.audit)
    for query, said in (
        ("flag=bogus", "flag: no flag &#39;bogus&#39;: one of "),
        ("stage=stage_9&policy=wme", "stage: no stage &#39;stage_9&#39;: one of feedback, "
                                     "informal, stage_2, stage_3"),
        ("route=ceo", "route: no route &#39;ceo&#39;: one of "),
    ):  # fmt: skip
        said_there = refused_listing(client, query)
        assert any(a.startswith(said) for a in said_there), (query, said_there)
    assert "serious" in alerts(client.get("/console/decisions?flag=x&policy=wme").text)[0]
    fine = client.get("/console/decisions?flag=serious&stage=stage_2&route=director")
    assert fine.status_code == 200


def test_the_decision_page_says_its_deadline_status_is_at_as_of(client, keys, recorded):
    """The deadlines' "Status" read as the status now; it is the status at the decision's
    `as_of` (the case's register may say otherwise since)."""
    sign_in(client, keys.audit)
    page = client.get(f"/console/decisions/{recorded['decisions'][0]['decision_id']}").text
    assert '<th scope="col">Status at as_of</th>' in page
