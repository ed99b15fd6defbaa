"""What the console says when it cannot show a page: which form an error takes, and its words.

Under `/console`, an error (400, 403, 404, 405, 422, 500…) is the console's message page
(`message.html`) with its status code, for a client that accepts HTML. A client whose `Accept`
header prefers `application/problem+json` or `application/json` to `text/html` (a script, a
monitor) gets the API's RFC 9457 problem details instead, the shape every other path answers
in. No `Accept` header, or `*/*`, is taken for a browser's: HTML. This holds for every
console answer of status 400 or above, whoever makes it: a handler's own (a bad filter or page
number, a page past the end of a list, no such decision or case, a form without its token, a
key that does not sign in) as much as the router's. The problem's `errors` name the query
parameter or form field at fault (`Said`: pointer `/page`, `/from`, `/key`, `/csrf`…), as the
API's problems do.

A client that is not signed in is sent to the sign-in page (303) whatever it accepts: a session
is a browser's, so not being signed in is not an error of the page asked for but a step before
it, and a script that follows the redirect lands on the sign-in form as a browser would.

Pure, but for `refusal_html`, which renders the message page outside Litestar (for a refusal
made before routing, by the API's request guard).
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

from litestar.datastructures import Accept
from litestar.plugins.jinja import JinjaTemplateEngine

import rules
from console import TEMPLATES
from schemas.problems import status_phrase

HTML = "text/html"
METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")  # HEAD is answered as GET, OPTIONS by Litestar
JSON_TYPES = ("application/problem+json", "application/json")
TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Refused",
    404: "Not found",
    405: "Method not allowed",
    413: "Too large",
    415: "Not a form",
    422: "Bad query",
    500: "Server error",
    503: "Unavailable",
}
EXPLAINED = {
    404: "There is no console page at this address.",
    405: "This page does not take {method} requests.",
    500: (
        "The console could not show this page; the error is logged (if the store was edited by "
        "other hands, `redress verify` names where)."
    ),
}


@dataclass(frozen=True)
class Said:
    """What is wrong with one query parameter or form field (`field`), in words: shown on the
    page as `field: message`, and as `{pointer: "/field", message}` in a problem's `errors`."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def prefers_html(accept: str | None) -> bool:
    """Does a client sending this `Accept` header want the HTML page rather than JSON? Ties go
    to HTML (listed first), so `*/*` and no header at all get the page."""
    best = Accept(accept or "*/*").best_match([HTML, *JSON_TYPES], default=HTML)
    return best == HTML


def title_of(status: int) -> str:
    return TITLES.get(status) or status_phrase(status)


def explanation(status: int, method: str, detail: str = "") -> str:
    """What went wrong, in a sentence: the detail when there is one worth saying (not merely
    the status's phrase), else the console's own words for the status."""
    if detail and detail not in (HTTPStatus(status).phrase, status_phrase(status)):
        return detail
    return EXPLAINED.get(status, HTTPStatus(status).description).format(method=method)


def refusal_html(status: int, detail: str) -> bytes:
    """The message page for a request refused before it reached the console (no session is
    read: the nav is left out, the page links back to the console)."""
    template = JinjaTemplateEngine(directory=TEMPLATES).get_template("message.html")
    return template.render(
        session=None,
        policies=rules.policy_ids(),
        title=title_of(status),
        message=explanation(status, "", detail),
    ).encode()
