"""schemathesis hooks for the contract fuzzing run (tests/schemathesis.toml loads them).

- Dates are drawn from the recent past (2020 to last month), as a complaint's are: facts describe
  what has happened, so a date after `as_of` (the clock, by default) is refused by a cross-field
  rule a schema cannot state, and uniformly random years 0001–9999 would test little else.
- `only_the_documented_422`: the project's one tolerance. A schema-valid request may be answered
  422 only for a cross-field rule a schema cannot state, and then every error points into
  `facts`, or, for a report, at its query parameters (a quarter or from/to, not both;
  serco-quarterly needs a quarter and covers serco-es only; `to` not before `from`), or for the
  decisions' listing at `to` before `from`.
- A generated `Idempotency-Key` is made unique to its request (a random suffix), as a client
  makes one key per logical request: generators repeat short values ("0"), and the contract
  answers a key reused with another body 422, and a key reused with the same body with the
  first response (a created resource the run may have deleted since). Replays are tested in
  tests/test_api_idempotency.py.
- Every response to a generated request is tallied (phase, mode, method, path, policy, status)
  in the JSON Lines file named by `REDRESS_FUZZ_TALLY`, so the test can count acceptances.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone

import schemathesis
from hypothesis import strategies as st

FIRST = date(2020, 1, 1)
LAST = date.today() - timedelta(days=31)
TOLERATED = ("/facts",)
# Query parameters combined by rules of their own, by the path they are at.
QUERY_RULES = {
    "/v1/reports/": ("/from", "/to", "/quarter", "/policy"),
    "/v1/ledger/proofs/": ("/index", "/first"),  # an index below tree_size, first <= second
    "/v1/decisions": (*TOLERATED, "/from", "/to"),  # the listing's `to` not before `from`
}

past_dates = st.dates(min_value=FIRST, max_value=LAST)
offsets = st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(-timedelta(hours=5))])
past_instants = st.builds(
    lambda day, seconds, zone: datetime.combine(day, time(), zone) + timedelta(seconds=seconds),
    past_dates,
    st.integers(0, 86_399),
    offsets,
)
schemathesis.openapi.format("date", past_dates.map(date.isoformat))
schemathesis.openapi.format(
    "date-time", past_instants.map(lambda t: t.isoformat().replace("+00:00", "Z"))
)


KEY_HEADER = "Idempotency-Key"
VISIBLE_ASCII = re.compile(r"^[\x21-\x7e]{1,128}$")


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers
    if not headers or not _is_positive(case):
        return
    key = headers.get(KEY_HEADER)
    if not isinstance(key, str) or not VISIBLE_ASCII.match(key):
        return
    headers[KEY_HEADER] = f"{key[:95]}-{uuid.uuid4().hex}"  # at most 128 characters


def _is_positive(case) -> bool:
    generation = getattr(case.meta, "generation", None)
    return generation is not None and str(generation.mode) == "positive"


@schemathesis.check
def only_the_documented_422(ctx, response, case):
    if response.status_code != 422 or not _is_positive(case):
        return None
    try:
        errors = response.json().get("errors", [])
    except ValueError:
        errors = []
    pointers = [e.get("pointer", "") for e in errors]
    allowed = next((p for at, p in QUERY_RULES.items() if case.path.startswith(at)), TOLERATED)
    if not pointers or not all(_tolerated(p, allowed) for p in pointers):
        raise AssertionError(
            f"a schema-valid request answered 422 outside the tolerance: {pointers}"
        )
    return None


def _errors(response) -> list:
    try:
        return response.json().get("errors", [])[:3]
    except (ValueError, AttributeError):
        return []


def _tolerated(pointer: str, allowed: tuple[str, ...]) -> bool:
    return any(pointer == t or pointer.startswith(t + "/") for t in allowed)


@schemathesis.check
def tally(ctx, response, case):
    path = os.environ.get("REDRESS_FUZZ_TALLY")
    if not path:
        return None
    body = case.body if isinstance(case.body, dict) else {}
    record = {
        "phase": str(getattr(getattr(case.meta, "phase", None), "name", "")),
        "mode": "positive" if _is_positive(case) else "negative",
        "method": case.method.upper(),
        "path": case.path,
        "policy": body.get("policy") if isinstance(body.get("policy"), str) else None,
        "status": response.status_code,
        "errors": _errors(response) if response.status_code >= 400 else [],
    }
    with open(path, "a") as out:
        out.write(json.dumps(record) + "\n")
    return None
