"""The limits of the HTTP API (CONTRACT.md, "HTTP API", version 2): the date a live decision may
carry, `purpose`, paging the ledger within 4 MiB a page and 64 MiB of server memory, and a client
that goes away mid-request."""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from conftest import COMPLAINT, LIVE_COMPLAINT, bearer, serving

MiB = 1024 * 1024
JSON = {"Content-Type": "application/json"}


def test_a_live_decision_dated_past_the_clock_plus_5_minutes_is_422(client, keys):
    """ "a `live` decision's `as_of` later than the server clock plus 5 minutes (422)"."""
    for as_of in ("2099-01-01T00:00:00Z", "3000-01-01T00:00:00Z"):
        body = {**LIVE_COMPLAINT, "as_of": as_of}
        for path in ("/v1/decisions", "/v1/cases"):
            refused = client.post(path, json=body, headers=keys.decide)
            assert refused.status_code == 422, refused.text
            assert [e["pointer"] for e in refused.json()["errors"]] == ["/as_of"]
    soon = (datetime.now(UTC) + timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    late = (datetime.now(UTC) + timedelta(minutes=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {**LIVE_COMPLAINT, "facts": {**LIVE_COMPLAINT["facts"], "received_at": soon[:10]}}
    assert (
        client.post("/v1/decisions", json={**body, "as_of": soon}, headers=keys.decide).status_code
        == 201
    )
    assert (
        client.post("/v1/decisions", json={**body, "as_of": late}, headers=keys.decide).status_code
        == 422
    )


def test_test_and_preview_may_be_dated_anywhere_and_purpose_is_recorded(client, keys):
    """ "`purpose` is `live` (default), `test` or `preview`; it is recorded"."""
    for purpose in ("test", "preview"):
        body = {**COMPLAINT, "as_of": "2099-01-01T00:00:00Z", "purpose": purpose}
        made = client.post("/v1/decisions", json=body, headers=keys.decide)
        assert made.status_code == 201, made.text
        assert made.json()["purpose"] == purpose
    live = client.post("/v1/decisions", json=LIVE_COMPLAINT, headers=keys.decide)
    assert live.status_code == 201 and live.json()["purpose"] == "live"
    case = client.post("/v1/cases", json={**COMPLAINT, "purpose": "preview"}, headers=keys.decide)
    # The case view reads its decisions back from the ledger, which records `purpose` from
    # ledger v2 on; here it is enough that a preview case may be dated after the clock.
    assert case.status_code == 201, case.text


def test_an_unknown_purpose_is_refused_naming_it(client, keys):
    for purpose in ("LIVE", "", None, 1, "production"):
        for path in ("/v1/decisions", "/v1/cases"):
            body = {**LIVE_COMPLAINT, "purpose": purpose}
            refused = client.post(path, json=body, headers=keys.decide)
            assert refused.status_code == 400, refused.text
            assert "/purpose" in [e["pointer"] for e in refused.json()["errors"]]


def test_an_event_is_live_so_it_cannot_be_dated_in_the_future(client, keys):
    case = client.post("/v1/cases", json=LIVE_COMPLAINT, headers=keys.decide).json()
    event = {"facts": {"upheld": True}, "as_of": "2099-01-01T00:00:00Z"}
    refused = client.post(f"/v1/cases/{case['case_id']}/events", json=event, headers=keys.decide)
    assert refused.status_code == 422
    assert [e["pointer"] for e in refused.json()["errors"]] == ["/as_of"]


def test_limit_out_of_range_is_422_naming_limit(client, keys):
    """ "List endpoints page with `limit` 1–1,000"; the pointer names the parameter itself."""
    for limit in ("0", "1001", "-1", "99999999999"):
        refused = client.get(f"/v1/ledger/entries?limit={limit}", headers=keys.audit)
        assert refused.status_code == 422, refused.text
        assert [e["pointer"] for e in refused.json()["errors"]] == ["/limit"]
    malformed = client.get("/v1/ledger/entries?limit=ten", headers=keys.audit)
    assert malformed.status_code == 400
    assert [e["pointer"] for e in malformed.json()["errors"]] == ["/limit"]
    bad_start = client.get("/v1/ledger/entries?start=-1", headers=keys.audit)
    assert [e["pointer"] for e in bad_start.json()["errors"]] == ["/start"]


def test_pages_follow_their_cursor_to_the_end(client, keys):
    for _ in range(3):
        assert (
            client.post("/v1/decisions", json=LIVE_COMPLAINT, headers=keys.decide).status_code
            == 201
        )
    size = client.get("/v1/ledger/checkpoint", headers=keys.audit).json()["tree_size"]
    seen, cursor = [], None
    while True:
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/v1/ledger/entries?{query}", headers=keys.audit).json()
        assert len(page["items"]) <= 2
        seen += [e["index"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(size))


# -- against a real server ---------------------------------------------------------------------


def large_decision(i: int) -> dict:
    """A valid dwp-feedback decision of about 930 KB: 500 caseworkers with long identifiers."""
    caseworkers = [
        {
            "id": f"{i:04d}{n:04d}" + "c" * 890,
            "last_opportunity_at": "2025-10-01",
            "team_leader": f"{n:04d}" + "t" * 890,
        }
        for n in range(500)
    ]
    return {
        "policy": "dwp-feedback",
        "as_of": "2025-11-04T09:00:00Z",
        "facts": {"received_at": "2025-11-03", "caseworkers": caseworkers},
    }


def server_pid(data_dir: Path) -> int:
    """The uvicorn process this test started (a child of ours serving `data_dir`)."""
    for tid in os.listdir(f"/proc/{os.getpid()}/task"):
        for child in Path(f"/proc/{os.getpid()}/task/{tid}/children").read_text().split():
            environ = Path(f"/proc/{child}/environ").read_bytes()
            if f"REDRESS_DATA_DIR={data_dir}".encode() in environ.split(b"\0"):
                return int(child)
    raise AssertionError("no server process found")


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def test_a_thousand_large_entries_cost_one_page_not_the_whole_ledger(tmp_path):
    """Issue 9: "after 150 large valid decisions, one GET /v1/ledger/entries?limit=1000 ...
    raised the server's memory from 84 to 1,318 MiB". Now: a page stops at 4 MiB and the
    request raises the server's peak memory by less than 64 MiB."""
    with serving(tmp_path) as server:
        headers = bearer(server.admin_key)
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as http:
            for i in range(150):
                made = http.post("/v1/decisions", json=large_decision(i))
                assert made.status_code == 201, made.text[:300]
            pid = server_pid(server.data_dir)
            # Reset the peak (VmHWM) so that it measures this request alone.
            Path(f"/proc/{pid}/clear_refs").write_text("5")
            before = memory_kib(pid, "VmRSS")
            response = http.get("/v1/ledger/entries?limit=1000")
            peak = memory_kib(pid, "VmHWM")
            assert response.status_code == 200
            page = response.json()
            assert len(response.content) <= 4 * MiB + 1024
            assert page["next_cursor"] is not None and len(page["items"]) < 151
            grown = (peak - before) / 1024
            print(f"RSS before {before / 1024:.0f} MiB, peak during the page {peak / 1024:.0f} MiB")
            assert grown < 64, f"the page raised the server's memory by {grown:.0f} MiB"
            count, cursor = len(page["items"]), page["next_cursor"]
            while cursor is not None:
                page = http.get(f"/v1/ledger/entries?limit=1000&cursor={cursor}").json()
                count += len(page["items"])
                cursor = page["next_cursor"]
            size = http.get("/v1/ledger/checkpoint").json()["tree_size"]
            assert count == size


def test_a_client_that_goes_away_is_logged_as_such_not_as_a_500(tmp_path):
    """Issue 9: "A client that half-closes its socket produces a 500 traceback in the logs"."""
    with serving(tmp_path) as server:
        host, port = server.base_url.removeprefix("http://").split(":")
        body = b'{"policy": "wme", "facts": {}}'
        head = (
            f"POST /v1/decisions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.admin_key}"
            f"\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection((host, int(port))) as half_closed:
            half_closed.sendall(head + body[:10])
            half_closed.shutdown(socket.SHUT_WR)
            half_closed.settimeout(10)
            assert half_closed.recv(1024) == b""
        with socket.create_connection((host, int(port))) as gone:
            gone.sendall(head + body[:10])
            time.sleep(0.3)
        with socket.create_connection((host, int(port))) as impatient:
            impatient.sendall(head + body)  # whole, then gone before the answer
            impatient.shutdown(socket.SHUT_RDWR)
        time.sleep(0.5)
        assert httpx.get(f"{server.base_url}/health").status_code == 200
        log = server.log.read_text()
    assert log.count('"event": "client_disconnected"') == 2, log
    assert "Traceback" not in log and '"status": 500' not in log


def test_nesting_is_counted_outside_strings_and_32_levels_pass(client, keys):
    """ "JSON nested deeper than 32 levels (400)": the body is level 1; brackets inside strings
    and escaped quotes do not count."""

    def with_personal(levels: int) -> str:
        personal = '{"a":' * levels + '"{[{[\\"{"' + "}" * levels
        return json.dumps(COMPLAINT)[:-1] + ', "personal": ' + personal + "}"

    made = client.post("/v1/cases", content=with_personal(31), headers={**keys.decide, **JSON})
    assert made.status_code == 201, made.text
    refused = client.post("/v1/cases", content=with_personal(32), headers={**keys.decide, **JSON})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["pointer"] == "/personal" + "/a" * 31


def test_a_duplicate_key_is_named_by_its_pointer(client, keys):
    body = json.dumps(COMPLAINT).replace('"facts": {', '"facts": {"kind": "enquiry", ', 1)
    refused = client.post("/v1/decisions", content=body, headers={**keys.decide, **JSON})
    assert refused.status_code == 400
    assert refused.json()["errors"] == [{"pointer": "/facts/kind", "message": "duplicate key"}]
    assert client.get("/v1/ledger/entries", headers=keys.audit).json()["next_cursor"] is None
