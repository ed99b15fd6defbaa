"""A hostile-request corpus against a real server on loopback (issue 9, "Must show").

CONTRACT.md, "HTTP API": "Bad input is 400 or 422, never 500 ... Nothing is recorded for a
rejected request ... Refused as ambiguous or abusive (version 2): JSON nested deeper than 32
levels (400), duplicate object keys (400), a body that is not `application/json` or `+json` (415),
Content-Length with Transfer-Encoding (400), two `Authorization` headers (400) ... a `live`
decision's `as_of` later than the server clock plus 5 minutes (422)".

Every request is written as raw bytes on its own socket, so the corpus controls the framing
(Content-Length, Transfer-Encoding, repeated headers) and the exact body bytes. The server is
`redress serve`, whose HTTP parser (httptools) refuses Content-Length with Transfer-Encoding
before the application sees it: that refusal is a problem too (`api.http11`).
"""

from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from conftest import LIVE_COMPLAINT, LiveServer, bearer, serving

ROOT = Path(__file__).resolve().parent.parent
PROBLEM_JSON = "application/problem+json"
MiB = 1024 * 1024


@dataclass(frozen=True)
class Hostile:
    """One raw request: the operation it aims at, its bytes, and the status it must get (None:
    any 4xx problem will do)."""

    name: str
    operation: tuple[str, str]  # (method, path template), as openapi.yaml names it
    raw: bytes
    expected: int | None


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def request(
    method: str,
    path: str,
    headers: list[tuple[str, str]] = (),  # type: ignore[assignment]
    body: bytes = b"",
    length: bool = True,
) -> bytes:
    """Raw HTTP/1.1 bytes; a Content-Length is added for a body unless `length` is False."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body and length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def send(base_url: str, raw: bytes) -> Answer:
    """Send `raw` on a new connection and read the answer. A large body goes after its head
    only if the server has not answered the head already (as it does for a body announced
    over 1 MiB): sending into a closed connection would reset it and lose the answer."""
    host, port = base_url.removeprefix("http://").split(":")
    head, _, content = raw.partition(b"\r\n\r\n")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        if len(content) > 65536:
            conn.sendall(head + b"\r\n\r\n")
            if not select.select([conn], [], [], 0.5)[0]:
                conn.sendall(content)
        else:
            conn.sendall(raw)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = dechunked(body)
    return Answer(int(status_line.split()[1]), headers, body)


def dechunked(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


# -- the corpus --------------------------------------------------------------------------------

JSON = ("Content-Type", "application/json")
FACTS = LIVE_COMPLAINT["facts"]


def deep(levels: int, leaf: str = '"x"') -> str:
    return '{"a":' * levels + leaf + "}" * levels


def bodies_for(kind: str) -> Iterator[tuple[str, bytes, int | None]]:
    """Hostile bodies for a POST of `kind` (decision, case or event), each with its status."""
    top = {"facts": FACTS} if kind == "event" else {"policy": "wme", "facts": FACTS}
    top = {**top, "as_of": LIVE_COMPLAINT["as_of"]}
    valid = json.dumps(top)
    yield "truncated JSON", valid[:-7].encode(), 400
    yield "truncated mid-string", valid[: valid.index("misconduct") + 3].encode(), 400
    yield "not JSON at all", b"policy=wme&facts=1", 400
    yield (
        "invalid UTF-8 in a string",
        valid.replace("misconduct", "mis\udcffc").encode("utf-8", "surrogateescape"),
        400,
    )
    yield "invalid UTF-8 byte between tokens", b"\xff" + valid.encode(), 400
    yield "a byte order mark", b"\xef\xbb\xbf" + valid.encode(), 400
    yield "a lone surrogate escape", valid.replace("misconduct", "\\ud800").encode(), 400
    yield "a lone surrogate in a key", valid.replace("category", "cat\\udc00").encode(), 400
    yield "NaN", valid.replace('"complaint"', "NaN").encode(), 400
    yield "Infinity", valid.replace('"complaint"', "Infinity").encode(), 400
    yield "-Infinity", valid.replace('"complaint"', "-Infinity").encode(), 400
    yield "a huge float", valid.replace('"complaint"', "1e400").encode(), 400
    yield "a huge integer", valid.replace('"complaint"', "9" * 400).encode(), None
    for number in (2**53, 2**53 + 1, 2**64, -(2**63) - 1, 2**1000):
        facts = {"received_at": "2025-11-03", "previous_complaints_same_issue": number}
        event_or_not = (
            {"facts": facts}
            if kind == "event"
            else {
                "policy": "dwp-feedback",
                "facts": facts,
            }
        )
        yield f"the integer {number}", json.dumps(event_or_not).encode(), None
    yield (
        "nested 33 levels in facts",
        json.dumps(top).replace('"misconduct"', deep(31)).encode(),
        400,
    )
    yield "nested 1,000 levels in facts", valid.replace('"misconduct"', deep(1000)).encode(), 400
    yield "nested 100,000 arrays", b"[" * 100_000 + b"]" * 100_000, 400
    yield "nested 300,000 unclosed objects", b'{"a":' * 200_000, 400
    # A string never closed, of escaped quotes: one token to the end, not a match retried
    # from each quote (that took minutes for 1 MiB, holding the worker).
    yield "an unclosed string of 500,000 escaped quotes", b'{"x":"' + b'\\"' * 500_000, 400
    if kind == "case":
        personal = json.dumps({**top, "personal": {"p": "PERSONAL"}})
        yield "nested 40 levels in personal", personal.replace('"PERSONAL"', deep(40)).encode(), 400
        yield (
            "a duplicate key in personal",
            personal.replace('{"p": "PERSONAL"}', '{"p": 1, "p": 2}').encode(),
            400,
        )
        yield "personal as a string", json.dumps({**top, "personal": "me"}).encode(), 400
        yield "personal with a float", json.dumps({**top, "personal": {"h": 1.5}}).encode(), 422
    first = "facts" if kind == "event" else "policy"
    yield (
        "a duplicate key at the top",
        valid.replace(f'"{first}":', f'"{first}": {{}}, "{first}":', 1).encode(),
        400,
    )
    yield (
        "a duplicate key in facts",
        valid.replace('"kind": "complaint"', '"kind": "complaint", "kind": "enquiry"').encode(),
        400,
    )
    yield (
        "a duplicate key spelt with an escape",
        valid.replace(
            '"kind": "complaint"', '"kind": "complaint", "k\\u0069nd": "enquiry"'
        ).encode(),
        400,
    )
    yield (
        "a duplicate key deep down",
        valid.replace('"misconduct"', '{"a": {"b": [{"c": 1, "c": 2}]}}').encode(),
        400,
    )
    yield "an unknown top-level field", json.dumps({**top, "extra": 1}).encode(), 400
    yield (
        "a field in the wrong case",
        json.dumps({("Facts" if k == "facts" else k): v for k, v in top.items()}).encode(),
        400,
    )
    yield "facts null", json.dumps({**top, "facts": None}).encode(), 400
    yield "every field null", json.dumps(dict.fromkeys(top)).encode(), 400
    yield "facts an array", json.dumps({**top, "facts": []}).encode(), 400
    yield "facts a string", json.dumps({**top, "facts": "x"}).encode(), 400
    yield "as_of a number", json.dumps({**top, "as_of": 20261224}).encode(), 400
    yield "as_of not a date", json.dumps({**top, "as_of": "tomorrow"}).encode(), None
    yield "as_of too long", json.dumps({**top, "as_of": "2025-01-01T00:00:00Z" * 10}).encode(), 400
    yield (
        "a fact of the wrong type",
        json.dumps({**top, "facts": {**FACTS, "kind": 7}}).encode(),
        422,
    )
    yield "a fact that is null", json.dumps({**top, "facts": {**FACTS, "kind": None}}).encode(), 422
    # "A body field the schema does not name is refused (400)": a decision's and a new case's
    # schema name each fact of their policy; an event's cannot know its case's policy, so it
    # names every policy's facts, and one only another policy takes is the case's policy's
    # refusal (422).
    yield (
        "an unknown fact",
        json.dumps({**top, "facts": {**FACTS, "mood": "cross"}}).encode(),
        400,
    )
    yield (
        "an unknown fact beside a bad one",
        json.dumps({**top, "facts": {**FACTS, "mood": "cross", "kind": 7}}).encode(),
        400,
    )
    yield (
        "a fact only another policy takes, with a member no policy takes",
        json.dumps(
            {
                **top,
                "facts": {
                    **FACTS,
                    "caseworkers": [{"id": "a", "last_opportunity_at": "2025-11-01", "shoe": 1}],
                },
            }
        ).encode(),
        400,
    )
    yield (
        "a fact only another policy takes",
        json.dumps({**top, "facts": {**FACTS, "handled_by": "resolution"}}).encode(),
        422 if kind == "event" else 400,
    )
    yield (
        "a date that is not one",
        json.dumps({**top, "facts": {**FACTS, "received_at": "2025-02-30"}}).encode(),
        422,
    )
    for as_of in ("2099-01-01T00:00:00Z", "3000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"):
        yield f"as_of {as_of[:4]}", json.dumps({**top, "as_of": as_of}).encode(), 422
    if kind != "event":
        yield (
            "as_of 2099 as live",
            json.dumps({**top, "as_of": "2099-01-01T00:00:00Z", "purpose": "live"}).encode(),
            422,
        )
        yield "purpose unknown", json.dumps({**top, "purpose": "production"}).encode(), 400
        yield "purpose null", json.dumps({**top, "purpose": None}).encode(), 400
        yield "policy a number", json.dumps({**top, "policy": 1}).encode(), 400
        yield "policy unknown", json.dumps({**top, "policy": "nope"}).encode(), 404
        yield "policy missing", json.dumps({"facts": FACTS}).encode(), 400
    else:
        yield "purpose on an event", json.dumps({**top, "purpose": "test"}).encode(), 400
    if kind == "decision":
        yield "case_id not an id", json.dumps({**top, "case_id": "../../etc"}).encode(), 400
        yield "case_id a number", json.dumps({**top, "case_id": 5}).encode(), 400
        yield (
            "case_id unknown",
            json.dumps({**top, "case_id": "0" * 32}).encode(),
            400,
        )  # v2: no case_id any more
    yield "the whole body an array", b"[]", 400
    yield "the whole body a string", b'"wme"', 400
    yield "the whole body a number", b"42", 400
    yield "the whole body true", b"true", 400
    yield "the whole body null", b"null", 400
    yield "whitespace only", b"  \r\n\t ", 400


def corpus(ids: dict[str, str], keys: dict[str, str]) -> list[Hostile]:
    """The hostile requests, over every operation of openapi.yaml."""
    decide, audit, admin = (
        ("Authorization", f"Bearer {keys[r]}") for r in ("decide", "audit", "admin")
    )
    case, decision = ids["case"], ids["decision"]
    posts = {
        "decision": ("/v1/decisions", "/v1/decisions"),
        "case": ("/v1/cases", "/v1/cases"),
        "event": ("/v1/cases/{case_id}/events", f"/v1/cases/{case}/events"),
    }
    items: list[Hostile] = []

    def add(name, operation, raw, expected):
        items.append(Hostile(name, operation, raw, expected))

    for kind, (template, path) in posts.items():
        op = ("post", template)
        for name, body, expected in bodies_for(kind):
            add(f"{kind}: {name}", op, request("POST", path, [decide, JSON], body), expected)
        valid = json.dumps(
            {"facts": FACTS} if kind == "event" else {"policy": "wme", "facts": FACTS}
        ).encode()
        for media in (
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/xml",
            "application/jsonx",
            "json",
            "application/json; charset=latin-1",
            "",
        ):
            add(
                f"{kind}: Content-Type {media!r}",
                op,
                request("POST", path, [decide, ("Content-Type", media)], valid),
                415,
            )
        add(f"{kind}: no Content-Type", op, request("POST", path, [decide], valid), 415)
        add(f"{kind}: no Content-Type, no body", op, request("POST", path, [decide]), 415)
        add(f"{kind}: JSON, empty body", op, request("POST", path, [decide, JSON]), 400)
        add(
            f"{kind}: two Content-Types",
            op,
            request("POST", path, [decide, JSON, ("Content-Type", "text/plain")], valid),
            415,
        )
        add(
            f"{kind}: Content-Length with Transfer-Encoding",
            op,
            request(
                "POST",
                path,
                [
                    decide,
                    JSON,
                    ("Content-Length", str(len(valid))),
                    ("Transfer-Encoding", "chunked"),
                ],
                f"{len(valid):x}\r\n".encode() + valid + b"\r\n0\r\n\r\n",
                length=False,
            ),
            400,
        )
        add(
            f"{kind}: chunked, nested 40 levels",
            op,
            request(
                "POST",
                path,
                [decide, JSON, ("Transfer-Encoding", "chunked")],
                b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in deep(40).encode().split(b":"))
                + b"0\r\n\r\n",
                length=False,
            ),
            400,
        )
        add(
            f"{kind}: two Authorization headers",
            op,
            request("POST", path, [decide, admin, JSON], valid),
            400,
        )
        add(
            f"{kind}: the same Authorization twice",
            op,
            request("POST", path, [decide, decide, JSON], valid),
            400,
        )
        add(
            f"{kind}: two Idempotency-Key headers",
            op,
            request(
                "POST",
                path,
                [decide, JSON, ("Idempotency-Key", "one"), ("Idempotency-Key", "two")],
                valid,
            ),
            400,
        )
        add(
            f"{kind}: a body over 1 MiB",
            op,
            request("POST", path, [decide, JSON], b'{"facts": "' + b"x" * MiB + b'"}'),
            413,
        )
        add(
            f"{kind}: announced over 1 MiB",
            op,
            request("POST", path, [decide, JSON, ("Content-Length", str(10**12))], length=False),
            413,
        )
        add(f"{kind}: no key", op, request("POST", path, [JSON], valid), 401)
        add(
            f"{kind}: an unknown key",
            op,
            request("POST", path, [("Authorization", "Bearer nope"), JSON], valid),
            401,
        )
        add(
            f"{kind}: a Basic credential",
            op,
            request("POST", path, [("Authorization", "Basic YTpi"), JSON], valid),
            401,
        )
        add(f"{kind}: an audit key", op, request("POST", path, [audit, JSON], valid), 403)

    reads = [
        ("/v1/decisions", "/v1/decisions", decide),
        ("/v1/decisions/{decision_id}", f"/v1/decisions/{decision}", decide),
        ("/v1/decisions/{decision_id}/receipt", f"/v1/decisions/{decision}/receipt", decide),
        ("/v1/cases", "/v1/cases", decide),
        ("/v1/cases/{case_id}", f"/v1/cases/{case}", decide),
        ("/v1/policies", "/v1/policies", decide),
        ("/v1/policies/{policy_id}", "/v1/policies/wme", decide),
        ("/v1/ledger/checkpoint", "/v1/ledger/checkpoint", audit),
        ("/v1/ledger/entries", "/v1/ledger/entries", audit),
        ("/v1/ledger/entries/{index}", "/v1/ledger/entries/0", audit),
        ("/v1/ledger/proofs/inclusion", "/v1/ledger/proofs/inclusion?index=0", audit),
        ("/v1/ledger/proofs/consistency", "/v1/ledger/proofs/consistency?first=1", audit),
        ("/v1/ledger/public-key", "/v1/ledger/public-key", audit),
        ("/v1/cases/{case_id}/personal", f"/v1/cases/{case}/personal", decide),
        ("/v1/keys", "/v1/keys", admin),
        ("/v1/reports/{name}", "/v1/reports/register", audit),
        ("/metrics", "/metrics", audit),
    ]
    # `/ready` asks for no key: only what the guard refuses of any request.
    add("PUT /ready", ("put", "/ready"), request("PUT", "/ready", [JSON], b"{}"), 405)
    add(
        "GET /ready: Content-Length with Transfer-Encoding",
        ("get", "/ready"),
        request(
            "GET",
            "/ready",
            [JSON, ("Content-Length", "5"), ("Transfer-Encoding", "chunked")],
            b"0\r\n\r\n",
            length=False,
        ),
        400,
    )
    for template, path, key in reads:
        op = ("get", template)
        add(f"GET {template}: no key", op, request("GET", path), 401)
        add(
            f"GET {template}: two Authorization headers",
            op,
            request("GET", path, [key, admin]),
            400,
        )
        add(
            f"GET {template}: a body as text/plain",
            op,
            request("GET", path, [key, ("Content-Type", "text/plain")], b"hello"),
            415,
        )
        add(
            f"GET {template}: Content-Length with Transfer-Encoding",
            op,
            request(
                "GET",
                path,
                [key, JSON, ("Content-Length", "5"), ("Transfer-Encoding", "chunked")],
                b"0\r\n\r\n",
                length=False,
            ),
            400,
        )
        add(
            f"GET {template}: a Bearer with no key",
            op,
            request("GET", path, [("Authorization", "Bearer ")]),
            401,
        )
        add(
            f"PUT {template}",
            ("put", template),
            request("PUT", path.split("?")[0], [key, JSON], b"{}"),
            405,
        )
        add(
            f"PATCH {template}",
            ("patch", template),
            request("PATCH", path.split("?")[0], [key, JSON], b"{}"),
            405,
        )
    # Roles: a decide key reads no ledger; an audit key writes nothing and sees no personal data.
    for _, path, key in reads:
        if key == audit:
            add(f"GET {path}: a decide key", ("get", _), request("GET", path, [decide]), 403)
    # Keys (admin only): a decide or audit key, no key, an unknown key id.
    add("GET keys: a decide key", ("get", "/v1/keys"), request("GET", "/v1/keys", [decide]), 403)
    add(
        "GET personal: an audit key",
        ("get", "/v1/cases/{case_id}/personal"),
        request("GET", f"/v1/cases/{case}/personal", [audit]),
        403,
    )
    make_key = ("post", "/v1/keys")
    add(
        "POST keys: a decide key",
        make_key,
        request("POST", "/v1/keys", [decide, JSON], b'{"role": "admin"}'),
        403,
    )
    add(
        "POST keys: an unknown role",
        make_key,
        request("POST", "/v1/keys", [admin, JSON], b'{"role": "root"}'),
        400,
    )
    add(
        "POST keys: a bad Idempotency-Key",
        make_key,
        request(
            "POST", "/v1/keys", [admin, JSON, ("Idempotency-Key", "a b")], b'{"role": "audit"}'
        ),
        400,
    )
    revoke = ("delete", "/v1/keys/{key_id}")
    add(
        "DELETE key: an unknown key id",
        revoke,
        request("DELETE", "/v1/keys/key_0000000000000000", [admin]),
        404,
    )
    add(
        "DELETE key: an audit key",
        revoke,
        request("DELETE", "/v1/keys/key_0000000000000000", [audit]),
        403,
    )
    erase = ("delete", "/v1/cases/{case_id}/personal")
    personal = f"/v1/cases/{case}/personal"
    add("DELETE personal: a decide key", erase, request("DELETE", personal, [decide]), 403)
    add("DELETE personal: an audit key", erase, request("DELETE", personal, [audit]), 403)
    add("DELETE personal: no key", erase, request("DELETE", personal), 401)
    add(
        "DELETE personal: two Authorization headers",
        erase,
        request("DELETE", personal, [admin, admin]),
        400,
    )
    add(
        "DELETE personal: a text/plain body",
        erase,
        request("DELETE", personal, [admin, ("Content-Type", "text/plain")], b"all of it"),
        415,
    )
    add(
        "DELETE personal: Content-Length with Transfer-Encoding",
        erase,
        request(
            "DELETE",
            personal,
            [admin, ("Content-Length", "5"), ("Transfer-Encoding", "chunked")],
            b"0\r\n\r\n",
            length=False,
        ),
        400,
    )
    add(
        "DELETE personal: an unknown case",
        erase,
        request("DELETE", f"/v1/cases/{'0' * 32}/personal", [admin]),
        404,
    )
    add(
        "DELETE personal: an id too long",
        erase,
        request("DELETE", f"/v1/cases/{'a' * 65}/personal", [admin]),
        400,
    )
    add(
        "POST personal",
        ("post", "/v1/cases/{case_id}/personal"),
        request("POST", personal, [admin, JSON], b"{}"),
        405,
    )
    # Bad path ids.
    for template, fmt in (
        ("/v1/decisions/{decision_id}", "/v1/decisions/{}"),
        ("/v1/decisions/{decision_id}/receipt", "/v1/decisions/{}/receipt"),
        ("/v1/cases/{case_id}", "/v1/cases/{}"),
        ("/v1/policies/{policy_id}", "/v1/policies/{}"),
    ):
        for bad, expected in (
            ("0" * 32, 404),
            ("a" * 65, 400),
            ("%00", 400),  # refused at the edge: PostgreSQL holds no NUL in text
            ("..%2F..%2Fetc%2Fpasswd", 404),
            ("%C3%A9t%C3%A9", 404),
            ("%FF%FE", None),
        ):
            add(
                f"GET {template} id {bad[:12]}",
                ("get", template),
                request("GET", fmt.format(bad), [admin]),
                expected,
            )
    add(
        "POST events on an unknown case",
        ("post", "/v1/cases/{case_id}/events"),
        request(
            "POST",
            f"/v1/cases/{'0' * 32}/events",
            [decide, JSON],
            json.dumps({"facts": {}}).encode(),
        ),
        404,
    )
    add(
        "POST events on an id too long",
        ("post", "/v1/cases/{case_id}/events"),
        request(
            "POST",
            f"/v1/cases/{'a' * 65}/events",
            [decide, JSON],
            json.dumps({"facts": {}}).encode(),
        ),
        400,
    )
    # Bad query parameters.
    entries = ("get", "/v1/ledger/entries")
    for query, expected in (
        ("limit=0", 422),
        ("limit=1001", 422),
        ("limit=-5", 422),
        ("limit=99999999999999999999", 422),
        ("limit=ten", 400),
        ("limit=1e3", 400),
        ("limit=10.0", 400),
        ("limit=%2B10", 400),
        ("limit=", 400),
        ("limit=1&limit=2", 400),  # which would count?
        ("start=-1", 400),
        ("start=9007199254740992", 400),
        ("start=x", 400),
        ("start=99999999999", 200),
        ("cursor=abc", 422),
        ("cursor=-1", 422),
        ("cursor=99999999999999999999999", 400),
        ("start=0&limit=0", 422),
    ):
        add(
            f"entries ?{query}",
            entries,
            request("GET", f"/v1/ledger/entries?{query}", [audit]),
            expected,
        )
    listing = ("get", "/v1/decisions")
    for query, expected in (
        ("limit=0", 422),
        ("limit=1001", 422),
        ("limit=ten", 400),
        ("cursor=abc", 422),
        ("cursor=99999999999999999999999", 400),
        ("from=27/11/2026", 400),
        ("to=2026-13-01", 400),
        ("purpose=later", 400),
        ("policy=nope", 404),
        ("route=" + "r" * 65, 400),
        ("flag=serious&stage=stage_2&policy=wme&from=2026-01-01&to=2026-12-31", 200),
        ("policy=wme&policy=dwp", 400),
        ("policy=%ED%A0%80", 400),  # not UTF-8: it was read as "\ufffd\ufffd\ufffd" (404)
        ("route=%FF", 400),
        ("policy=wme&purpose=live&policy=wme", 400),
    ):
        add(
            f"decisions ?{query}",
            listing,
            request("GET", f"/v1/decisions?{query}", [audit]),
            expected,
        )
    for path, expected in (
        ("/v1/ledger/entries/-1", 400),
        ("/v1/ledger/entries/9007199254740992", 400),
        ("/v1/ledger/entries/99999999", 404),
        # README, "Limits": an entry index not written in decimal digits is 400, `/index`.
        ("/v1/ledger/entries/abc", 400),
        ("/v1/ledger/entries/1.0", 400),
        ("/v1/ledger/entries/1e3", 400),
        ("/v1/ledger/entries/01", 400),  # a leading zero, as ?start=01 is refused
        ("/v1/ledger/entries/+1", 400),
        ("/v1/ledger/entries/1_0", 400),
        ("/v1/ledger/entries/%201%20", 400),
        ("/v1/ledger/entries/%D9%A2", 400),  # ARABIC-INDIC DIGIT TWO: int() reads it as 2
        ("/v1/ledger/entries/%EF%BC%94", 400),  # FULLWIDTH DIGIT FOUR
    ):
        add(
            f"GET {path}",
            ("get", "/v1/ledger/entries/{index}"),
            request("GET", path, [audit]),
            expected,
        )
    for path, template in (
        ("/v1/decisions/%2F", "/v1/decisions/{decision_id}"),  # was read as the list
        ("/v1/decisions/%2f/receipt", "/v1/decisions/{decision_id}/receipt"),
        ("/v1/cases/a%2Fb", "/v1/cases/{case_id}"),
    ):
        add(f"GET {path}", ("get", template), request("GET", path, [audit]), 404)
    inclusion = ("get", "/v1/ledger/proofs/inclusion")
    for query, expected in (
        ("", 400),
        ("index=x", 400),
        ("index=-1", 400),
        ("index=0&tree_size=0", 400),
        ("index=5&tree_size=2", 422),
        ("index=2&tree_size=2", 422),
        ("index=99999999", 404),
        ("index=0&tree_size=99999999", 404),
        ("index=0&tree_size=9007199254740992", 400),
        ("index=0.0&tree_size=1.0", 400),
        ("index=0&tree_size=1e0", 400),
    ):
        add(
            f"inclusion ?{query}",
            inclusion,
            request("GET", f"/v1/ledger/proofs/inclusion?{query}", [audit]),
            expected,
        )
    consistency = ("get", "/v1/ledger/proofs/consistency")
    for query, expected in (
        ("", 400),
        ("first=0", 400),
        ("first=x", 400),
        ("first=1.0&second=2", 400),
        ("first=1&second=2e0", 400),
        ("first=3&second=2", 422),
        ("first=1&second=99999999", 404),
        ("first=99999999", 404),
        ("first=1&second=-1", 400),
    ):
        add(
            f"consistency ?{query}",
            consistency,
            request("GET", f"/v1/ledger/proofs/consistency?{query}", [audit]),
            expected,
        )
    cases = ("get", "/v1/cases")
    for query, expected in (
        ("overdue_as_of=yesterday", 400),
        ("overdue_as_of=2025-02-30", 400),
        ("policy=" + "p" * 65, 400),
        ("policy=nope", 404),
        ("overdue_as_of=", 400),
    ):
        add(f"cases ?{query[:30]}", cases, request("GET", f"/v1/cases?{query}", [decide]), expected)
    # Methods not allowed, and the unauthenticated endpoints.
    for method in ("POST", "PUT", "DELETE"):
        add(
            f"{method} /health",
            (method.lower(), "/health"),
            request(method, "/health", [JSON], b"{}" if method != "DELETE" else b""),
            405,
        )
    add(
        "GET /health with a text/plain body",
        ("get", "/health"),
        request("GET", "/health", [("Content-Type", "text/plain")], b"x"),
        415,
    )
    add(
        "GET /health with two Authorization headers",
        ("get", "/health"),
        request("GET", "/health", [admin, admin]),
        400,
    )
    add(
        "GET /ready with two Authorization headers",
        ("get", "/ready"),
        request("GET", "/ready", [admin, admin]),
        400,
    )
    add(
        "DELETE /v1/decisions",
        ("delete", "/v1/decisions"),
        request("DELETE", "/v1/decisions", [admin]),
        405,
    )
    add(
        "DELETE /v1/ledger/checkpoint",
        ("delete", "/v1/ledger/checkpoint"),
        request("DELETE", "/v1/ledger/checkpoint", [admin]),
        405,
    )
    add(
        "POST /v1/policies",
        ("post", "/v1/policies"),
        request("POST", "/v1/policies", [admin, JSON], b"{}"),
        405,
    )
    add(
        "POST /v1/ledger/entries",
        ("post", "/v1/ledger/entries"),
        request("POST", "/v1/ledger/entries", [admin, JSON], b"[]"),
        405,
    )
    return items


# -- the test ----------------------------------------------------------------------------------


def tree_size(server: LiveServer) -> int:
    answer = httpx.get(
        f"{server.base_url}/v1/ledger/checkpoint", headers=bearer(server.admin_key), timeout=30
    )
    return answer.json()["tree_size"]


def operations() -> set[tuple[str, str]]:
    document = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    return {(method, path) for path, item in document["paths"].items() for method in item}


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serving(tmp_path_factory.mktemp("hostile"), redress_serve=True) as server:
        yield server


def test_the_hostile_corpus_gets_problems_and_records_nothing(hostile_server: LiveServer):
    from api.keys import create_key

    server = hostile_server
    keys = {
        "admin": server.admin_key,
        "decide": create_key(server.data_dir, "decide"),
        "audit": create_key(server.data_dir, "audit"),
    }
    opening = {**LIVE_COMPLAINT, "personal": {"name": "A. Person"}}
    admin = bearer(server.admin_key)
    case = httpx.post(f"{server.base_url}/v1/cases", json=opening, headers=admin).json()
    ids = {"case": case["case_id"], "decision": case["decisions"][0]["decision_id"]}
    cases_before = httpx.get(f"{server.base_url}/v1/cases", headers=admin).json()
    size_before = tree_size(server)

    hostile = corpus(ids, keys)
    assert len(hostile) >= 200
    assert operations() <= {item.operation for item in hostile}

    wrong = []
    for item in hostile:
        answer = send(server.base_url, item.raw)
        fault = judge(item, answer)
        if fault:
            wrong.append(f"{item.name}: {fault}")
    assert not wrong, "\n".join(wrong)

    assert httpx.get(f"{server.base_url}/health").status_code == 200
    assert tree_size(server) == size_before
    assert httpx.get(f"{server.base_url}/v1/cases", headers=admin).json() == cases_before
    personal = httpx.get(f"{server.base_url}/v1/cases/{ids['case']}/personal", headers=admin)
    assert personal.status_code in (200, 404, 405)  # not erased by the corpus, if it is served
    log = server.log.read_text()
    assert "Traceback" not in log and '"status": 500' not in log
    verified = subprocess.run(
        [sys.executable, "-m", "redress", "verify", "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr


def judge(item: Hostile, answer: Answer) -> str:
    """What is wrong with this answer to a hostile request, or "" when nothing is."""
    if answer.status >= 500:
        return f"answered {answer.status}"
    if item.operation[0] in ("post", "delete") and answer.status < 400:
        return f"accepted ({answer.status}): a hostile write must be refused"
    if item.expected is not None and answer.status != item.expected:
        return f"answered {answer.status}, expected {item.expected}: {answer.body[:200]!r}"
    if answer.status >= 400:
        if not answer.headers.get("content-type", "").startswith(PROBLEM_JSON):
            return f"{answer.status} as {answer.headers.get('content-type')!r}, not a problem"
        problem = json.loads(answer.body)
        if problem.get("status") != answer.status or not problem.get("title"):
            return f"problem {problem} does not match status {answer.status}"
        # CONTRACT.md: "`type`, `title`, `status`, `detail`".
        if not problem.get("type") or not problem.get("detail"):
            return f"problem {problem} lacks a type or a detail"
    return ""


def unreadable_bodies(kind: str) -> Iterator[tuple[str, bytes, str]]:
    """Bodies no JSON decoder reads, each with the pointer its refusal must name."""
    if kind == "key":
        valid = json.dumps({"role": "decide", "name": "crm-system"})
        named, value = "/name", '"crm-system"'
    else:
        top = {"facts": FACTS} if kind == "event" else {"policy": "wme", "facts": FACTS}
        valid = json.dumps(top)
        named, value = "/facts/kind", '"complaint"'
    yield "an empty body", b"", ""
    yield "a word where a key should be", b"{'a': 1}", ""
    yield "a key that is not UTF-8", b'{"facts": {"\xc0\xaf": 1}}', "/facts"
    yield "truncated JSON", valid[:-3].encode(), ""
    yield "a number out of range", valid.replace(value, "1e400").encode(), named
    yield "a negative number out of range", valid.replace(value, "-2e308").encode(), named
    yield "NaN", valid.replace(value, "NaN").encode(), named
    yield "a number with a leading zero", valid.replace(value, "012").encode(), named
    not_utf8 = valid.encode().replace(value.encode(), b'"a\xffb"')  # a raw 0xff byte
    yield "a string that is not UTF-8", not_utf8, named


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("decision", "/v1/decisions"),
        ("case", "/v1/cases"),
        ("event", "/v1/cases/{case}/events"),
        ("key", "/v1/keys"),
    ],
)
def test_a_body_no_decoder_reads_is_refused_naming_the_value(hostile_server, kind, path):
    """The brief: "Bad input gets a clear RFC 9457 error naming the field, never a 500, and
    records nothing"; CONTRACT.md: "`errors: [{pointer, message}]` naming each offending
    field". A body that is not JSON at all names the value at fault where there is one (a
    number out of range, a string that is not UTF-8, a word that is no JSON value), and the
    body itself (``) where there is none (an empty or truncated body)."""
    server = hostile_server
    admin = bearer(server.admin_key)
    case = httpx.post(f"{server.base_url}/v1/cases", json=LIVE_COMPLAINT, headers=admin).json()
    target = server.base_url + path.format(case=case["case_id"])
    before = tree_size(server)
    for name, body, pointer in unreadable_bodies(kind):
        answer = httpx.post(
            target, content=body, headers={**admin, "Content-Type": "application/json"}
        )
        assert answer.status_code == 400, (name, answer.text)
        assert answer.headers["content-type"].startswith(PROBLEM_JSON), name
        errors = answer.json()["errors"]
        assert [e["pointer"] for e in errors] == [pointer], (name, errors)
        assert errors[0]["message"] and "'data'" not in errors[0]["message"], (name, errors)
    assert tree_size(server) == before


def test_head_answers_wherever_get_does_and_sends_no_body(hostile_server: LiveServer):
    """RFC 9110 section 9.3.2: a server answers HEAD as it would GET, without the content; the
    headers (Content-Length among them) are the GET's. A HEAD records nothing."""
    before = tree_size(hostile_server)
    key = bearer(hostile_server.admin_key)
    for path in ("/health", "/v1/policies", "/v1/ledger/checkpoint", "/v1/decisions?limit=1"):
        url = f"{hostile_server.base_url}{path}"
        got, head = httpx.get(url, headers=key), httpx.head(url, headers=key)
        assert (head.status_code, head.content) == (got.status_code, b""), path
        assert head.headers["content-length"] == got.headers["content-length"], path
        assert head.headers["content-type"] == got.headers["content-type"], path
    refused = httpx.head(f"{hostile_server.base_url}/v1/policies")
    assert (refused.status_code, refused.content) == (401, b"")
    assert tree_size(hostile_server) == before


def test_a_console_form_field_given_twice_is_refused_naming_it(hostile_server):
    """Which `key` would sign in? A form field given twice is refused as a repeated query
    parameter is, naming the field (it pointed at Litestar's own parameter, `/data`): in the
    problem details for a client asking for them, on the console's page for a browser."""
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    for path, form in (
        ("/console/sign-in", "key=a&key=b"),
        ("/console/ledger", "checkpoint=a&checkpoint=b&csrf=c"),
    ):
        answer = httpx.post(
            hostile_server.base_url + path,
            content=form,
            headers={**form_type, "Accept": PROBLEM_JSON},
        )
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"].startswith(PROBLEM_JSON)
        name = form.split("=")[0]
        assert [e["pointer"] for e in answer.json()["errors"]] == [f"/{name}"], answer.text
        page = httpx.post(hostile_server.base_url + path, content=form, headers=form_type)
        assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
        assert "more than once" in page.text


def test_a_nul_in_a_path_parameter_and_a_second_authorization_are_named(hostile_server):
    """CONTRACT.md: problem details "naming each offending field". A NUL in a path parameter
    is named by the parameter's name, as one in a query parameter is (it had no `errors`), and a
    second Authorization header by the header's (its pointer was empty)."""
    key = bearer(hostile_server.admin_key)
    for path, name in (
        ("/v1/decisions/%00", "decision_id"),
        ("/v1/decisions/a%00b/receipt", "decision_id"),
        ("/v1/cases/%00", "case_id"),
        ("/v1/ledger/entries/%00", "index"),
        ("/v1/reports/%00", "name"),
    ):
        answer = httpx.get(hostile_server.base_url + path, headers=key)
        assert answer.status_code == 400, (path, answer.text)
        assert [e["pointer"] for e in answer.json()["errors"]] == [f"/{name}"], answer.text
    answer = httpx.get(
        hostile_server.base_url + "/v1/policies",
        headers=[("Authorization", key["Authorization"]), ("Authorization", "Bearer x")],
    )
    assert answer.status_code == 400, answer.text
    assert [e["pointer"] for e in answer.json()["errors"]] == ["/Authorization"], answer.text


def test_every_path_parameter_the_api_publishes_is_one_the_guard_names():
    from api.guard import PATH_TEMPLATES

    published = yaml.safe_load((ROOT / "openapi.yaml").read_text())["paths"]
    assert sorted(p for p in published if "{" in p) == sorted(PATH_TEMPLATES)
