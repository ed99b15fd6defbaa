"""Acknowledged writes survive a SIGKILL, and cases never lose half of a write.

Issue 10: "kills the server with SIGKILL under concurrent load several times and shows that every
decision answered 201 is in the ledger, `verify` passes, and no case row is missing for a
recorded case decision". Issue 9: "0 orphans (no decision without its case row, no personal data
without its case)" and "The two-servers-on-one-store event test: 0 answers 5xx".
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import LIVE_COMPLAINT, bearer
from servers import start, tally

from api.keys import create_key
from ledger.verify import verify

EVENT_FACTS = ["about_chief_executive", "anonymous", "abusive", "in_writing", "complex", "upheld"]


def mixed_load(base: str, headers: dict, stop: threading.Event, acked: list, fives: list) -> None:
    """Decisions, new cases (some with personal data) and events, until `stop` or a dead server."""
    cases: list[str] = []
    with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
        while not stop.is_set():
            roll = random.random()
            try:
                if roll < 0.4 or not cases:
                    body = {**LIVE_COMPLAINT}  # live: its cases' events (always live) follow it
                    if roll < 0.2:
                        body["personal"] = {"name": "A. Person", "n": random.randrange(10**6)}
                    path = "/v1/cases" if roll < 0.3 or not cases else "/v1/decisions"
                    answer = http.post(path, json=body)
                else:
                    name = random.choice(EVENT_FACTS)
                    event = {
                        "facts": {name: random.random() < 0.5},
                        "as_of": LIVE_COMPLAINT["as_of"],
                    }
                    answer = http.post(f"/v1/cases/{random.choice(cases)}/events", json=event)
            except httpx.HTTPError:
                return  # the server was killed
            tally(answer, cases, acked, fives)


def check_store(data, acked: list[str]) -> None:
    report = verify(data / "redress.db")
    assert report.ok, report.summary
    with sqlite3.connect(data / "redress.db") as conn:
        recorded = {r[0] for r in conn.execute("SELECT ref FROM entries WHERE kind='decision'")}
        lost = [d for d in acked if d not in recorded]
        assert not lost, f"{len(lost)} acknowledged decisions are missing"
        orphans = conn.execute(
            "SELECT COUNT(*) FROM entries e WHERE kind = 'decision' "
            "AND json_extract(CAST(entry AS TEXT), '$.body.case_id') IS NOT NULL "
            "AND json_extract(CAST(entry AS TEXT), '$.body.case_id') NOT IN "
            "(SELECT case_id FROM cases)"
        ).fetchone()[0]
        assert orphans == 0, "a case decision without its case row"
        unlisted = conn.execute(
            "SELECT COUNT(*) FROM entries e WHERE kind = 'decision' "
            "AND json_extract(CAST(entry AS TEXT), '$.body.case_id') IN "
            "(SELECT case_id FROM cases) AND ref NOT IN (SELECT decision_id FROM case_decisions)"
        ).fetchone()[0]
        assert unlisted == 0, "a case decision missing from its case"
        loose = conn.execute(
            "SELECT COUNT(*) FROM personal_records WHERE case_id NOT IN (SELECT case_id FROM cases)"
        ).fetchone()[0]
        assert loose == 0, "personal data without its case"


@pytest.mark.slow
def test_sigkill_under_mixed_load_loses_no_acknowledged_write(tmp_path):
    data = tmp_path / "data"
    headers = bearer(create_key(data, "admin"))
    acked: list[str] = []
    fives: list[str] = []
    for _ in range(4):
        server = start(data, tmp_path / "server.log", workers=2)
        stop = threading.Event()
        try:
            with ThreadPoolExecutor(12) as pool:
                for _ in range(12):
                    pool.submit(mixed_load, server.base_url, headers, stop, acked, fives)
                time.sleep(random.uniform(1.5, 3.0))
                server.kill()
                stop.set()
        finally:
            server.kill()
        check_store(data, acked)
    assert len(acked) > 100, "the load barely ran"
    assert not fives, fives[:3]


def test_two_servers_on_one_store_never_answer_5xx_on_busy_cases(tmp_path):
    data = tmp_path / "data"
    headers = bearer(create_key(data, "admin"))
    one = start(data, tmp_path / "one.log")
    two = start(data, tmp_path / "two.log")
    try:
        cases = [
            httpx.post(f"{one.base_url}/v1/cases", json=LIVE_COMPLAINT, headers=headers).json()
            for _ in range(3)
        ]

        def event(n: int) -> int:
            base = (one, two)[n % 2].base_url
            case = cases[n % len(cases)]["case_id"]
            body = {"facts": {EVENT_FACTS[n % 6]: n % 4 < 2}, "as_of": LIVE_COMPLAINT["as_of"]}
            answer = httpx.post(
                f"{base}/v1/cases/{case}/events", json=body, headers=headers, timeout=60
            )
            return answer.status_code

        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(event, range(240)))
        assert statuses.count(201) == len(statuses), sorted(set(statuses))
        for case in cases:
            now = httpx.get(f"{two.base_url}/v1/cases/{case['case_id']}", headers=headers)
            assert len(now.json()["decisions"]) == 1 + 80
    finally:
        one.stop()
        two.stop()
    check_store(data, [])
