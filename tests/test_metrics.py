"""`GET /metrics` from `redress serve` with one worker and with two, read with prometheus-client's
own parser.

CONTRACT: "`GET /metrics` (audit) is Prometheus text: decisions by policy and disposition,
request latency histogram, ledger size, append batch sizes and commit time"; issue 13:
"multiprocess-safe under `--workers`" and "database pool use".
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import COMPLAINT, bearer, free_port, wait_until_healthy
from prometheus_client.parser import text_string_to_metric_families
from servers import Server

from api.keys import create_key

REDRESS = str(Path(sys.executable).parent / "redress")
ADMIN_KEY = "metrics-admin-key-0123456789abcdef0123456789ab"


def samples(text: str) -> dict[str, list]:
    found: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def total(found: dict[str, list], name: str, **labels: str) -> float:
    return sum(
        s.value for s in found.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items())
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_the_workers_add_up_in_one_scrape(tmp_path, store_url, workers):
    data = tmp_path / "data"
    port = free_port()
    env = {**os.environ, "REDRESS_ADMIN_KEY": ADMIN_KEY}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [REDRESS, "serve", "--data-dir", str(data), "--port", str(port)]
    command += ["--workers", str(workers)]
    if store_url != "sqlite":
        command += ["--database", store_url]
    log = (tmp_path / "server.log").open("w")
    server = Server(
        subprocess.Popen(command, stdout=log, stderr=log, env=env, start_new_session=True),
        f"http://127.0.0.1:{port}",
    )
    try:
        wait_until_healthy(server.base_url, server.process)
        audit = bearer(create_key(data, "audit"))
        with httpx.Client(base_url=server.base_url, headers=bearer(ADMIN_KEY), timeout=30) as http:
            # New connections each time, so both workers answer some of them.
            for _ in range(40):
                with httpx.Client(base_url=server.base_url, timeout=30) as one:
                    answer = one.post("/v1/decisions", json=COMPLAINT, headers=bearer(ADMIN_KEY))
                    assert answer.status_code == 201
            assert http.get("/metrics").status_code == 200  # admin reads it too
            assert httpx.get(f"{server.base_url}/metrics").status_code == 401
            # Whichever worker answers a scrape, it reports both workers' samples.
            scrapes = [
                httpx.get(f"{server.base_url}/metrics", headers=audit).text for _ in range(6)
            ]
            text = scrapes[-1]
    finally:
        server.stop()
        log.close()

    for scrape in scrapes:
        counted = total(samples(scrape), "redress_decisions_total", policy="wme")
        assert counted == 40
    found = samples(text)
    # Every decision counted once, whichever worker took it.
    assert total(found, "redress_decisions_total", policy="wme", disposition="accept") == 40
    latency = total(
        found, "redress_request_duration_seconds_count", route="/v1/decisions", status="201"
    )
    assert latency == 40
    assert total(found, "redress_request_duration_seconds_bucket", le="+Inf") >= 40
    assert total(found, "redress_ledger_entries") >= 42  # genesis, policy, 40 decisions
    assert total(found, "redress_append_batch_jobs_sum") >= 40
    assert total(found, "redress_append_commit_seconds_count") >= 1
    if store_url != "sqlite":
        assert total(found, "redress_db_pool_connections", state="size") >= 1
