"""The console's errors are console pages (`console.errors`): under `/console`, a 404, 405 or 400
renders `message.html` with its status code and the console's security headers for a browser;
a client that asks for JSON (`Accept: application/problem+json` or `application/json`) gets the
API's problem details instead."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import COMPLAINT
from tests.test_console import sign_in

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
PROBLEM_JSON = "application/problem+json"


def is_console_page(answer, status: int, said: str) -> None:
    assert answer.status_code == status, (answer.url, answer.text[:200])
    assert answer.headers["content-type"].startswith("text/html"), answer.url
    assert said in answer.text, (answer.url, answer.text)
    assert 'href="/console"' in answer.text  # the way back
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


@pytest.mark.parametrize("signed_in", [True, False])
def test_a_console_path_no_page_has_is_a_console_404_page(client, keys, signed_in):
    """`/console/nosuch` and `/console/reports/x` answered `application/problem+json` to a
    browser; so did paths below a decision or a case, and a static file not there."""
    if signed_in:
        sign_in(client, keys.audit)
    for path in ("/console/nosuch", "/console/reports/x", "/console/decisions/a/b/c",
                 "/console/cases/a/b", "/console/static/nope.js"):  # fmt: skip
        is_console_page(client.get(path, headers=BROWSER), 404, "Not found")
        assert client.get(path).headers["content-type"].startswith("text/html")  # Accept: */*


def test_a_method_a_console_page_does_not_take_is_a_console_405_page(client, keys):
    """`GET /console/sign-out` (a form's POST only) answered a JSON 405; it is the console's
    page now, still 405 with `Allow`, and so is any method a console path does not take."""
    sign_in(client, keys.audit)
    answer = client.get("/console/sign-out", headers=BROWSER)
    is_console_page(answer, 405, "This page does not take GET requests.")
    assert answer.headers["allow"] == "POST"
    for method, path, allow in (("POST", "/console/decisions", "GET, HEAD"),
                                ("DELETE", "/console/ledger", "GET, HEAD, POST"),
                                ("PATCH", "/console/cases", "GET, HEAD")):  # fmt: skip
        answer = client.request(method, path, headers=BROWSER)
        is_console_page(answer, 405, f"This page does not take {method} requests.")
        assert answer.headers["allow"] == allow
    assert client.get("/console/ledger").status_code == 200  # the session is still there


def test_a_bad_path_parameter_is_a_console_400_page(client, keys):
    """A decision id over 64 characters is refused by the parameter's bounds (raised inside
    the console's handler): a page naming the parameter."""
    sign_in(client, keys.audit)
    answer = client.get("/console/decisions/" + "a" * 65, headers=BROWSER)
    is_console_page(answer, 400, "decision_id: expected a string of length &lt;= 64")


@pytest.mark.parametrize("accept", [PROBLEM_JSON, "application/json"])
def test_a_client_asking_for_json_gets_the_problem_details(client, keys, accept):
    """The choice documented in `console.errors`: JSON asked for, JSON given (RFC 9457)."""
    sign_in(client, keys.audit)
    for method, path, status in (("GET", "/console/nosuch", 404),
                                 ("GET", "/console/sign-out", 405),
                                 ("GET", "/console/decisions/" + "a" * 65, 400)):  # fmt: skip
        answer = client.request(method, path, headers={"Accept": accept})
        assert answer.status_code == status, path
        assert answer.headers["content-type"].startswith(PROBLEM_JSON), path
        assert answer.json()["status"] == status
        assert "content-security-policy" in answer.headers


def test_the_receipt_of_a_decision_that_does_not_exist_says_so(client, keys):
    """It said "No receipt yet", as if the decision were waiting for a checkpoint."""
    sign_in(client, keys.audit)
    answer = client.get("/console/decisions/nosuch/receipt", headers=BROWSER)
    is_console_page(answer, 404, "No such decision")
    assert "No receipt yet" not in answer.text
    recorded = client.post("/v1/decisions", json=COMPLAINT, headers=keys.decide).json()
    receipt = client.get(f"/console/decisions/{recorded['decision_id']}/receipt")
    assert receipt.status_code == 200 and receipt.text.startswith("c2sp.org/tlog-proof@v1")


def test_a_refusal_before_routing_can_be_a_console_page():
    """`console.pages.send_refusal`, for the API's request guard (which refuses an encoded
    slash, `/console/decisions/%2F`, before any route is found): the console's page with the
    status for a browser under `/console/`; nothing sent (the guard's problem stands) for a
    client asking for JSON or for a path outside the console."""
    from console.pages import send_refusal

    def refusal(path: str, accept: bytes) -> list[dict]:
        sent: list[dict] = []

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "http", "path": path, "headers": [(b"accept", accept)]}
        detail = "no resource has an encoded slash (%2F) in its path"
        answered = asyncio.run(send_refusal(scope, send, 404, detail))
        assert answered == bool(sent)
        return sent

    start, body = refusal("/console/decisions//", b"text/html,*/*;q=0.8")
    headers = dict(start["headers"])
    assert start["status"] == 404 and headers[b"content-type"].startswith(b"text/html")
    assert b"script-src 'self'" in headers[b"content-security-policy"]
    assert b"encoded slash (%2F)" in body["body"] and b'href="/console"' in body["body"]
    assert refusal("/console/decisions//", PROBLEM_JSON.encode()) == []
    assert refusal("/v1/decisions//", b"text/html") == []


def test_a_console_request_the_guard_refuses_is_a_console_page_for_a_browser(client, keys):
    """The API's request guard refuses some requests before any route is found (an encoded
    slash in the path, a form field given twice): under `/console` a browser gets the console's
    page with the guard's status and words, a client asking for JSON the problem details."""
    sign_in(client, keys.audit)
    answer = client.get("/console/decisions/%2F", headers=BROWSER)
    assert answer.status_code in (400, 404)
    is_console_page(answer, answer.status_code, "%2F")
    as_json = client.get("/console/decisions/%2F", headers={"Accept": PROBLEM_JSON})
    assert as_json.status_code == answer.status_code
    assert as_json.headers["content-type"].startswith(PROBLEM_JSON)
    twice = client.post(
        "/console/sign-in",
        content="key=a&key=b",
        headers={**BROWSER, "Content-Type": "application/x-www-form-urlencoded"},
    )
    is_console_page(twice, 400, "more than once")


@pytest.mark.parametrize("accept", [PROBLEM_JSON, "application/json"])
def test_a_console_handlers_own_errors_are_problems_for_a_json_client(client, keys, accept):
    """Errors a console handler answers itself (a bad query, a page past the end, no such
    decision or case, a form without its token, a key that does not sign in) were HTML pages
    whatever the client accepted. A JSON client gets RFC 9457 problem details, naming the
    query parameter or form field at fault, as the API's problems do."""
    json_client = {"Accept": accept}
    for method, path, data, status, pointer in (
        ("POST", "/console/sign-in", {"key": "nope"}, 401, "/key"),
        ("POST", "/console/sign-in", {"key": keys.decide["Authorization"][7:]}, 403, "/key"),
    ):
        answer = client.request(method, path, data=data, headers=json_client)
        problem_is(answer, status, pointer)
    sign_in(client, keys.audit)
    for method, path, status, pointer in (
        ("GET", "/console/decisions?page=0", 422, "/page"),
        ("GET", "/console/decisions?from=2026-11-10&to=2026-11-01", 422, "/to"),
        ("GET", "/console/decisions?flag=bogus", 422, "/flag"),
        ("GET", "/console/decisions?page=3", 404, "/page"),
        ("GET", "/console/decisions/zzz", 404, "/decision_id"),
        ("GET", "/console/decisions/zzz/receipt", 404, "/decision_id"),
        ("GET", "/console/cases/zzz", 404, "/case_id"),
        ("GET", "/console/cases?state=bogus", 422, "/state"),
        ("GET", "/console/cases?page=2", 404, "/page"),
        ("GET", "/console/ledger?page=02", 422, "/page"),
        ("GET", "/console/reports?name=nosuch", 422, "/name"),
        ("GET", "/console/reports.csv", 422, "/name"),
        ("POST", "/console/ledger", 403, "/csrf"),
        ("POST", "/console/sign-out", 403, "/csrf"),
    ):
        answer = client.request(method, path, headers=json_client, data={"checkpoint": "x"})
        problem_is(answer, status, pointer)
    assert client.get("/console/ledger").status_code == 200  # still signed in


def problem_is(answer, status: int, pointer: str) -> None:
    where = (answer.request.method, str(answer.url))
    assert answer.status_code == status, (where, answer.text[:300])
    assert answer.headers["content-type"].startswith(PROBLEM_JSON), where
    assert "content-security-policy" in answer.headers, where
    problem = answer.json()
    assert problem["status"] == status and problem["title"] and problem["detail"], where
    assert pointer in [e["pointer"] for e in problem["errors"]], (where, problem)
    assert all(e["message"] for e in problem["errors"]), (where, problem)


def test_a_json_client_not_signed_in_is_sent_to_sign_in(client):
    """The choice documented in `console.errors`: not being signed in is a step before the
    page, not its error; a JSON client is redirected as a browser is."""
    answer = client.get("/console/decisions?page=0", headers={"Accept": PROBLEM_JSON},
                        follow_redirects=False)  # fmt: skip
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/sign-in")
