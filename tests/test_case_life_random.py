"""A seeded random history of events over HTTP, on a real server on loopback: every case's
register and state, as `GET /v1/cases/{case_id}` answers them, equal those rebuilt from the
ledger's entries alone (as `GET /v1/ledger/entries` serves them).

CONTRACT.md, "The obligation register (version 2)": "The register is derived from the ledger's
decisions and can be rebuilt from them alone."
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import httpx
import pytest
from case_walks import MENUS, walk
from conftest import LiveServer, serving

from cases import registers_from_entries
from cases.store import register_row

SEED = 20261224
CASES_PER_POLICY = 3
EVENTS_PER_CASE = 6


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serving(tmp_path_factory.mktemp("random-life")) as running:
        yield running


def ledger_entries(http: httpx.Client) -> list[dict]:
    entries: list[dict] = []
    query = "limit=1000"
    while True:
        page = http.get(f"/v1/ledger/entries?{query}").json()
        entries += page["items"]
        if page["next_cursor"] is None:
            return entries
        query = f"limit=1000&cursor={page['next_cursor']}"


def test_a_random_history_rebuilds_to_the_live_registers(server: LiveServer):
    rng = random.Random(SEED)
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    recorded = refused = 0
    case_ids: list[str] = []
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as http:
        histories = [
            (policy, *walk(rng, policy, EVENTS_PER_CASE))
            for policy in MENUS
            for _ in range(CASES_PER_POLICY)
        ]
        opened = {}
        for policy, first, _ in histories:
            answer = http.post("/v1/cases", json={"policy": policy, **first})
            assert answer.status_code == 201, answer.text
            opened[id(first)] = answer.json()["case_id"]
            case_ids.append(opened[id(first)])
        # Events interleave across cases, as several client systems would send them.
        queue = [(opened[id(first)], event) for _, first, events in histories for event in events]
        rng.shuffle(queue)
        queue.sort(key=lambda item: item[1][0])  # each case's events stay in time order
        for case_id, (as_of, facts) in queue:
            answer = http.post(f"/v1/cases/{case_id}/events", json={"facts": facts, "as_of": as_of})
            assert answer.status_code in (201, 422), answer.text
            recorded += answer.status_code == 201
            refused += answer.status_code == 422

        rebuilt = registers_from_entries(ledger_entries(http))
        states = set()
        for case_id in case_ids:
            live = http.get(f"/v1/cases/{case_id}").json()
            again = rebuilt[case_id]
            assert live["obligations"] == [register_row(r) for r in again["rows"]], case_id
            assert live["state"] == again["state"], case_id
            assert live["facts"] == again["facts"], case_id
            assert [d["decision_id"] for d in live["decisions"]] == again["decision_ids"]
            states.add(live["state"])
    # The walk is long enough to mean something: most events recorded, some cases closed.
    assert recorded >= 40 and refused < recorded
    assert states == {"open", "closed"}
