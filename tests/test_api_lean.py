"""A lean handler (`api.lean`) answers exactly as Litestar's route would: the same statuses,
headers and bodies for `POST /v1/decisions`, accepted or refused at each step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import COMPLAINT
from litestar.testing import TestClient

from api.lean import LEAN

DECISIONS = "/v1/decisions"
RECORDED = ("decision_id", "ledger")  # differ between any two recorded decisions


def requests(keys: Any) -> list[tuple[bytes, dict[str, str]]]:
    """Bodies and headers that stop at every step of a decision, and one that is recorded."""
    facts = COMPLAINT["facts"]
    bodies: list[Any] = [
        COMPLAINT,
        {**COMPLAINT, "facts": {**facts, "kind": "complaint "}},
        {**COMPLAINT, "policy": "wm"},
        {**COMPLAINT, "as_of": "2999-01-01T00:00:00Z", "purpose": "live"},
        {**COMPLAINT, "unknown": 1},
        {**COMPLAINT, "facts": {**facts, "height": 2.0}},
        [COMPLAINT],
        None,
    ]
    json_type = {"content-type": "application/json"}
    sent = [(json.dumps(body).encode(), {**keys.decide, **json_type}) for body in bodies]
    good = json.dumps(COMPLAINT).encode()
    return [
        *sent,
        (b"{not json", {**keys.decide, **json_type}),
        (b"", {**keys.decide, **json_type}),
        (good, json_type),
        (good, {"authorization": "Bearer nope", **json_type}),
        (good, {**keys.audit, **json_type}),
        (good, {**keys.decide, **json_type, "idempotency-key": "bad key"}),
    ]


def answers(data_dir: Path, keys: Any, lean: bool) -> list[tuple[int, list, Any]]:
    from api.app import create_app

    app = create_app(data_dir)
    handlers = [h for r in app.routes for h in getattr(r, "route_handlers", []) if LEAN in h.opt]
    assert handlers, "POST /v1/decisions is lean"
    if not lean:
        for handler in handlers:
            del handler.opt[LEAN]
    found = []
    with TestClient(app) as client:
        for body, headers in requests(keys):
            response = client.post(DECISIONS, content=body, headers=headers)
            sent = [(k, v) for k, v in response.headers.multi_items() if k != "x-request-id"]
            content = response.json()
            if response.status_code == 201:
                content = {k: v for k, v in content.items() if k not in RECORDED}
                sent = [(k, v) for k, v in sent if k != "content-length"]
            found.append((response.status_code, sent, content))
    return found


def test_a_lean_handler_answers_as_litestar_would(data_dir, keys):
    lean = answers(data_dir, keys, lean=True)
    litestar = answers(data_dir, keys, lean=False)
    assert lean == litestar
    assert {status for status, _, _ in lean} >= {201, 400, 401, 403, 404, 422}
