"""`redress migrate` carries the decision index: after the copy, PostgreSQL answers the decision
listing, its filters and every report exactly as the SQLite store it came from.

The index is derived from the ledger (`store.decision_index`); `store.transfer` copies it from
the same snapshot as the entries, so a node started on the database reads the same decisions
from its first request, without `redress index rebuild`.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from case_walks import record_history
from conftest import bearer, stored_reports
from litestar.testing import TestClient

from api.app import create_app
from api.keys import create_key
from ledger import Ledger
from store import open_store

REDRESS = str(Path(sys.executable).parent / "redress")
SEED = 20261206
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
REPORTS = [
    ("register", {}),
    ("register", {"from": "2026-02-01", "to": "2026-03-31"}),
    ("routing", {}),
    ("timeliness", {}),
    ("serco-quarterly", {"quarter": "2026-Q1"}),
    ("repeat-complainers", {}),
]
LISTINGS = [
    {},
    {"purpose": "live"},
    {"purpose": "preview"},
    {"policy": "serco-es"},
    {"from": "2026-02-10", "to": "2026-03-20"},
    {"route": "investigator"},
    {"stage": "stage_1"},
]


def redress(*args: str, database: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "REDRESS_DATABASE_URL"}
    if database is not None:
        env["REDRESS_DATABASE_URL"] = database
    return subprocess.run([REDRESS, *args], capture_output=True, text=True, timeout=120, env=env)


def recorded_sqlite_history(data: Path) -> dict[str, str]:
    """Cases with events, repeat complainants, case-less decisions of every purpose, recorded
    through the API into a SQLite store; the decide key's header."""
    decide = bearer(create_key(data, "decide"))
    with TestClient(create_app(data)) as client:
        record_history(
            client,
            decide,
            random.Random(SEED),
            cases=4,
            steps=5,
            decision_purpose=lambda n: ("live", "preview", "test")[n % 3],
        )
    return decide


def listing(
    data: Path, headers: dict[str, str], more: list[dict[str, str]] = ()
) -> dict[str, list[Any]]:
    """Every page of `GET /v1/decisions` under each filter in `LISTINGS` and `more`, five to
    a page."""
    found: dict[str, list[Any]] = {}
    with TestClient(create_app(data)) as client:
        for filters in [*LISTINGS, *more]:
            pages, cursor = [], None
            while True:
                params = {**filters, "limit": 5} | ({} if cursor is None else {"cursor": cursor})
                answer = client.get("/v1/decisions", params=params, headers=headers)
                assert answer.status_code == 200, answer.text
                pages.append(answer.json())
                cursor = answer.json()["next_cursor"]
                if cursor is None:
                    break
            found[repr(filters)] = pages
    return found


def test_after_migrate_postgres_lists_and_reports_the_same_decisions(
    tmp_path, store_url, monkeypatch
):
    data = tmp_path / "data"
    with monkeypatch.context() as m:
        m.delenv("REDRESS_DATABASE_URL")
        decide = recorded_sqlite_history(data)
        with sqlite3.connect(data / "redress.db") as db:
            decisions = db.execute("SELECT COUNT(*) FROM entries WHERE kind = 'decision'")
            decisions = decisions.fetchone()
            index = db.execute("SELECT * FROM decision_index ORDER BY idx").fetchall()
            flag = db.execute(
                "SELECT flag FROM decision_flags GROUP BY flag ORDER BY COUNT(*) DESC LIMIT 1"
            ).fetchone()[0]
        flagged = [{"flag": flag}]
        on_sqlite = listing(data, decide, flagged), stored_reports(data, REPORTS, NOW)
    assert len(index) == decisions[0] > 40

    done = redress("migrate", "--data-dir", str(data), "--to-database", store_url)
    assert done.returncode == 0, done.stderr
    assert f"{decisions[0]} of {decisions[0]} decisions indexed" in done.stdout
    assert done.stderr == ""
    with psycopg.connect(store_url) as db:
        copied = db.execute("SELECT * FROM decision_index ORDER BY idx").fetchall()
    assert copied == index

    on_postgres = listing(data, decide, flagged), stored_reports(data, REPORTS, NOW, store_url)
    assert on_postgres[0] == on_sqlite[0]
    assert on_postgres[1] == on_sqlite[1]
    everything = on_sqlite[0][repr({})]
    assert sum(len(page["items"]) for page in everything) == decisions[0]
    assert on_sqlite[1][0]["rows"] and on_sqlite[1][-1]["rows"]  # registers and repeats
    assert on_sqlite[0][repr(flagged[0])][0]["items"]

    # `redress report` through the CLI: the same bytes from either store.
    period = ("--from", "2026-02-01", "--to", "2026-02-28", "--format", "csv")
    for name in ("register", "timeliness"):
        sqlite = redress("report", name, "--data-dir", str(data), *period)
        postgres = redress("report", name, "--data-dir", str(data), *period, database=store_url)
        assert sqlite.returncode == postgres.returncode == 0, sqlite.stderr + postgres.stderr
        assert postgres.stdout == sqlite.stdout and sqlite.stdout.count("\n") > 1


def test_a_source_index_behind_its_ledger_is_copied_as_it_is_and_named(
    tmp_path, store_url, monkeypatch
):
    """A store upgraded to the index's schema but never rebuilt has decisions its index lacks:
    migrate copies what is there, says so, and `index rebuild --database` makes it whole."""
    data = tmp_path / "data"
    with monkeypatch.context() as m:
        m.delenv("REDRESS_DATABASE_URL")
        decide = recorded_sqlite_history(data)
    with sqlite3.connect(data / "redress.db") as db:
        dropped = db.execute("DELETE FROM decision_index WHERE idx % 3 = 0").rowcount
        total = db.execute("SELECT COUNT(*) FROM entries WHERE kind = 'decision'").fetchone()[0]
    assert dropped > 0

    done = redress("migrate", "--data-dir", str(data), "--to-database", store_url)
    assert done.returncode == 0, done.stderr
    assert f"{total - dropped} of {total} decisions indexed" in done.stdout
    assert "redress index rebuild --database URL" in done.stderr

    behind = redress("index", "check", "--data-dir", str(data), "--database", store_url)
    assert behind.returncode == 1 and "is not in the index" in behind.stdout, behind.stdout
    rebuilt = redress("index", "rebuild", "--data-dir", str(data), "--database", store_url)
    assert rebuilt.returncode == 0 and f"indexed {total} decisions" in rebuilt.stdout
    whole = redress("index", "check", "--data-dir", str(data), "--database", store_url)
    assert whole.returncode == 0 and f"ledger's {total} decisions give" in whole.stdout
    pages = listing(data, decide)[repr({})]
    assert sum(len(page["items"]) for page in pages) == total


@pytest.mark.parametrize("table", ["decision_index", "decision_counts", "console_sessions"])
def test_a_target_holding_index_rows_is_refused(tmp_path, store_url, monkeypatch, table):
    """The index tables count towards "an empty database only", like the ledger's."""
    data = tmp_path / "data"
    with monkeypatch.context() as m:
        m.delenv("REDRESS_DATABASE_URL")
        Ledger.open(data).close()
    open_store(data, database=store_url).close()  # the target's tables, empty
    with psycopg.connect(store_url, autocommit=True) as db:
        values = {
            "decision_index": "(0, 'd', 'wme', 'a', 'a', NULL, NULL, 'live', NULL, NULL, NULL,"
            " NULL, NULL, NULL, NULL, NULL, NULL, 0, '', 1)",
            "decision_counts": "('wme', 'a', 'live', '', '', '', '', 1)",
            "console_sessions": "('h', 'audit', 'c', '2026-12-31')",
        }[table]
        db.execute(f"INSERT INTO {table} VALUES {values}")
    done = redress("migrate", "--data-dir", str(data), "--to-database", store_url)
    assert done.returncode == 1 and table in done.stderr and "empty database only" in done.stderr
