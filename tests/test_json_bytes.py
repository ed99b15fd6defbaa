"""`api.responses.JsonBytes` answers what Litestar's own `Response` answers for the same bytes:
the same status, headers (in the same order) and body."""

from __future__ import annotations

import pytest
from litestar import Litestar, Response, get
from litestar.testing import TestClient

from api.responses import json_response

CONTENT = b'{"a":1,"b":"\xc3\xa9"}'


@pytest.mark.parametrize("headers", [None, {"X-Extra": "yes", "Location": "/v1/x"}])
def test_json_bytes_answers_as_litestar_does(headers):
    @get("/ours", sync_to_thread=False)
    def ours() -> Response:
        return json_response(CONTENT, 201, headers)

    @get("/litestar", sync_to_thread=False)
    def theirs() -> Response:
        return Response(CONTENT, status_code=201, headers=headers, media_type="application/json")

    with TestClient(Litestar(route_handlers=[ours, theirs])) as client:
        mine, reference = client.get("/ours"), client.get("/litestar")
    assert mine.status_code == reference.status_code == 201
    assert mine.headers.multi_items() == reference.headers.multi_items()
    assert mine.content == reference.content == CONTENT
