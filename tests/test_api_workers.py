"""Two worker processes sharing one data directory: events on one case are serialised."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from conftest import LIVE_COMPLAINT, bearer, serving

FLAGS = ["about_chief_executive", "anonymous", "abusive", "in_writing", "complex", "upheld"]


def test_concurrent_events_on_one_case_all_count(tmp_path):
    with serving(tmp_path, workers=2) as server:
        headers = bearer(server.admin_key)
        case = httpx.post(
            f"{server.base_url}/v1/cases", json=LIVE_COMPLAINT, headers=headers
        ).json()
        events = f"{server.base_url}/v1/cases/{case['case_id']}/events"

        def add_fact(name: str) -> str:
            event = {"facts": {name: True}, "as_of": "2026-11-24T10:00:00Z"}
            response = httpx.post(events, json=event, headers=headers, timeout=60)
            assert response.status_code == 201, response.text
            return response.json()["decision_id"]

        with ThreadPoolExecutor(8) as pool:
            decided = list(pool.map(add_fact, FLAGS))
        now = httpx.get(f"{server.base_url}/v1/cases/{case['case_id']}", headers=headers).json()
    recorded = [d["decision_id"] for d in now["decisions"]]
    assert len(recorded) == 1 + len(FLAGS)
    assert set(decided) == set(recorded[1:])
    # Each event was merged into the facts the previous one left: no update was lost.
    assert all(now["facts"][name] is True for name in FLAGS)
