"""The decision index: one row per `decision` entry, written in the entry's own transaction,
rebuilt from the ledger by `redress index rebuild`, and the reports over it equal to the pure
reports over the whole ledger (`reports.source.read_snapshot` + `reports.compute`, the
specification), on a random history recorded through the API."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime

import pytest
from case_walks import record_history

import reports
import rules
from ledger import DB_FILE
from redress.cli import main
from reports.source import read_snapshot
from reports.stored import compute_stored

SEED = 20261205
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
QUERIES = [
    ("register", {}),
    ("register", {"from": "2026-02-01", "to": "2026-02-28"}),
    ("register", {"policy": "wme", "from": "2026-03-01"}),
    ("routing", {}),
    ("routing", {"from": "2026-02-10", "to": "2026-03-15", "policy": "serco-es"}),
    ("timeliness", {}),
    ("timeliness", {"to": "2026-03-01"}),
    ("serco-quarterly", {"quarter": "2026-Q1"}),
    ("serco-quarterly", {"quarter": "2026-Q2"}),
    ("repeat-complainers", {}),
    ("repeat-complainers", {"policy": "wme", "from": "2026-02-15"}),
]


@pytest.fixture
def history(client, keys):
    """Cases with events (some as `test`), case-less decisions, repeat complainants."""
    record_history(
        client,
        keys.decide,
        random.Random(SEED),
        cases=5,
        steps=6,
        case_purpose=lambda n: "test" if n == 4 else None,
        decision_purpose=lambda n: "preview" if n == 1 else None,
    )
    return client


def pure(services, name: str, values: dict) -> dict:
    query = reports.parse_query(name, values, rules.policy_ids())
    return reports.compute(name, read_snapshot(services.ledger, services.cases, NOW), query)


def stored(services, name: str, values: dict) -> dict:
    query = reports.parse_query(name, values, rules.policy_ids())
    return compute_stored(name, services.store, services.ledger.root_hash, query, NOW)


def test_reports_over_the_index_equal_the_reports_over_the_whole_ledger(history):
    """CONTRACT.md "Reports (version 2)": the same report, whichever way it is computed."""
    services = history.app.state.services
    for name, values in QUERIES:
        assert stored(services, name, values) == pure(services, name, values), (name, values)
    everything = pure(services, "register", {})
    assert len(everything["rows"]) >= 20  # cases and case-less decisions, live only
    assert pure(services, "repeat-complainers", {})["rows"]  # the walk has repeats


def test_the_quarterly_counts_urgent_provider_disputes_only(client, keys):
    """Serco SP 9 ("urgent" provider disputes) and POLICIES.md: the `urgent` rule applies to a
    "provider dispute and `urgent`"; a client's complaint marked urgent triggers nothing, so
    `complaints.urgent` counts the two provider disputes, not the client's, both ways."""
    for complainant_type in ("client", "service_provider", "sa_partner"):
        facts = {"received_at": "2026-02-02", "complainant_type": complainant_type, "urgent": True}
        body = {"policy": "serco-es", "as_of": "2026-02-02T15:00:00Z", "facts": facts}
        assert client.post("/v1/decisions", json=body, headers=keys.decide).status_code == 201
    services = client.app.state.services
    values = {"quarter": "2026-Q1"}
    counted = stored(services, "serco-quarterly", values)
    assert counted == pure(services, "serco-quarterly", values)
    assert counted["complaints"]["urgent"] == 2
    assert counted["complaints"]["by_complainant_type"]["client"] == 1


def index_rows(data_dir) -> list[tuple]:
    with sqlite3.connect(data_dir / DB_FILE) as db:
        rows = db.execute("SELECT * FROM decision_index ORDER BY idx").fetchall()
        flags = db.execute("SELECT * FROM decision_flags ORDER BY idx, flag").fetchall()
        owed = db.execute("SELECT * FROM decision_obligations ORDER BY idx, seq").fetchall()
        counts = db.execute("SELECT * FROM decision_counts ORDER BY 1, 2, 3, 4, 5, 6, 7").fetchall()
        decisions = db.execute("SELECT COUNT(*) FROM entries WHERE kind = 'decision'").fetchone()
    return [rows, flags, owed, counts, decisions[0]]


def test_every_decision_entry_is_indexed_and_a_rebuild_gives_the_same_index(
    history, data_dir, capsys
):
    """One index row per decision entry, written with it; `redress index rebuild` derives the
    same rows from the ledger alone, after the index was emptied or tampered with."""
    before = index_rows(data_dir)
    rows, _, _, counts, decisions = before
    assert sum(c[-1] for c in counts if not c[6]) == decisions  # each decision counted once
    assert len(rows) == decisions > 40
    with sqlite3.connect(data_dir / DB_FILE) as db:
        db.execute("DELETE FROM decision_flags")
        db.execute("UPDATE decision_counts SET count = 7")
        db.execute("UPDATE decision_index SET route = 'nobody', latest = 1")
    assert main(["index", "rebuild", "--data-dir", str(data_dir)]) == 0
    assert f"indexed {decisions} decisions" in capsys.readouterr().out
    assert index_rows(data_dir) == before


def test_verify_holds_the_index_to_the_ledger(history, data_dir, capsys):
    """CONTRACT.md: "`verify` checks every table the API answers from", and the reports, the
    decision listing's filters and the console answer from the index: an index emptied by hand
    fails `verify`, naming the first decision it lacks, until `index rebuild` remakes it."""
    services = history.app.state.services
    expected = stored(services, "routing", {})
    with sqlite3.connect(data_dir / DB_FILE) as db:
        for table in ("decision_index", "decision_flags", "decision_counts"):
            db.execute(f"DELETE FROM {table}")
    assert stored(services, "routing", {})["rows"] == []
    capsys.readouterr()
    assert main(["verify", "--data-dir", str(data_dir)]) == 1
    assert "decision index: entry " in capsys.readouterr().out
    assert main(["index", "rebuild", "--data-dir", str(data_dir)]) == 0
    assert main(["verify", "--data-dir", str(data_dir)]) == 0
    assert "id index, decision index, cases and keys match" in capsys.readouterr().out
    assert stored(services, "routing", {}) == expected


def test_the_console_reads_what_the_pure_views_compute(history):
    """The console's overview, decision search and case list read the index; the pure views
    over the whole ledger (`console.views`) are what they must show."""
    from console import reads, views

    services = history.app.state.services
    snapshot = read_snapshot(services.ledger, services.cases, NOW)
    seen = reads.overview(services.store, services.ledger.root_hash, NOW)
    assert seen["weekly"] == views.decisions_per_week(snapshot)
    assert seen["statuses"] == views.obligations_by_status(snapshot)
    expected = views.overdue_now(snapshot)
    assert len(expected) < 50 and expected  # every one shown, and there are some

    def key(row: dict) -> tuple:
        return (row["due"], row["case_id"] or "", row["decision_id"], row["name"])

    assert sorted(seen["overdue"], key=key) == sorted(expected, key=key)
    for values in ({}, {"policy": "serco-es"}, {"purpose": "test"}, {"from": "2026-03-01"},
                   {"route": "service_manager"}, {"flag": "late"}):  # fmt: skip
        chosen, errors = views.parse_filter(values)
        assert not errors
        for page in (1, 2):
            found, more = reads.find_decisions(services.store, chosen, page)
            want, want_more = views.find_decisions(snapshot, chosen, page)
            assert [d["decision_id"] for d in found] == [d["decision_id"] for d in want], values
            assert more == want_more
    listed = reads.case_views(reads.all_subjects(services.store, now=NOW))
    pure = views.case_views(snapshot)
    assert [(c.subject.case_id, c.obligations) for c in listed] == [
        (c.subject.case_id, c.obligations) for c in pure
    ]
    assert [c.state for c in listed] == [c.state for c in pure]  # stored state agrees
    for policy, state, overdue in ((None, None, False), ("wme", None, False),
                                   (None, "closed", False), ("serco-es", None, True)):  # fmt: skip
        recent = reads.recent_cases(services.store, policy, state, overdue, 7, NOW)
        want = [c for c in pure if (policy is None or c.subject.policy == policy)
                and (state is None or c.state == state) and (not overdue or c.overdue)]  # fmt: skip
        assert want  # each filter finds some
        assert [(c.subject.case_id, c.state, c.obligations) for c in recent] == [
            (c.subject.case_id, c.state, c.obligations) for c in want[-7:][::-1]
        ], (policy, state, overdue)


def check_index(data_dir, capsys) -> tuple[int, str]:
    code = main(["index", "check", "--data-dir", str(data_dir)])
    return code, capsys.readouterr().out


def test_index_check_passes_on_the_index_the_decisions_wrote(history, data_dir, capsys):
    """`redress index check` reads the index and the ledger in one snapshot and changes
    nothing; it names the ledger state it checked, so it can be pinned to a checkpoint."""
    services = history.app.state.services
    decisions = index_rows(data_dir)[-1]
    before = index_rows(data_dir)
    size = services.ledger.tree_size()
    code, out = check_index(data_dir, capsys)
    assert code == 0, out
    assert f"what the ledger's {decisions} decisions give" in out
    assert f"tree size {size}, root hash {services.ledger.root_hash(size)}" in out
    assert index_rows(data_dir) == before


# Each: how an operator edits the index, and what the check must name. The last decision of
# the walk's last case and a flagged decision are found by SQL, so nothing is hard-coded.
TAMPERING = {
    "a column": (
        "UPDATE decision_index SET route = 'nobody' WHERE idx = (SELECT MIN(idx) FROM"
        " decision_index WHERE purpose = 'live')",
        "the index's route is 'nobody'",
    ),
    # The database cannot write bytes as JSON (`index_rows_as_json`): the rows say what differs.
    "a column written as bytes": (
        "UPDATE decision_index SET policy = CAST(policy AS BLOB) WHERE idx = (SELECT MAX(idx)"
        " FROM decision_index)",
        "the index's policy is b'",
    ),
    "a column with a character JSON escapes": (
        "UPDATE decision_index SET category = category || char(10) WHERE idx = (SELECT MIN(idx)"
        " FROM decision_index WHERE category IS NOT NULL)",
        "\\n', its entry gives",
    ),
    "a row deleted": (
        "DELETE FROM decision_index WHERE idx = (SELECT MAX(idx) FROM decision_index)",
        "is not in the index",
    ),
    "a row for an entry that is no decision": (
        "INSERT INTO decision_index (idx, decision_id, policy, as_of, as_of_day, purpose)"
        " SELECT MIN(idx), 'forged', 'wme', '2026-01-01T00:00:00Z', '2026-01-01', 'live'"
        " FROM entries WHERE kind <> 'decision'",
        "is not a decision; the index holds rows for it",
    ),
    "a row past the ledger's end": (
        "INSERT INTO decision_index (idx, decision_id, policy, as_of, as_of_day, purpose)"
        " SELECT MAX(idx) + 5, 'forged', 'wme', '2026-01-01T00:00:00Z', '2026-01-01', 'live'"
        " FROM entries",
        "past the ledger's",
    ),
    "a flag removed": (
        "DELETE FROM decision_flags WHERE idx = (SELECT MIN(idx) FROM decision_flags)",
        "the index's flags are",
    ),
    "a case-less register row changed": (
        "UPDATE decision_obligations SET status = 'met' WHERE idx = (SELECT MIN(idx) FROM"
        " decision_obligations) AND seq = 0",
        "its register rows in the index are not what its entry gives",
    ),
    "a case's earlier decision marked latest": (
        "UPDATE decision_index SET latest = 1 WHERE idx = (SELECT MIN(idx) FROM decision_index"
        " WHERE case_id IS NOT NULL)",
        "the index marks it latest; its case has a later decision",
    ),
    "a case's newest decision not marked latest": (
        "UPDATE decision_index SET latest = 0 WHERE idx = (SELECT MAX(idx) FROM decision_index"
        " WHERE case_id IS NOT NULL)",
        "is the newest decision of its case: the index does not mark it latest",
    ),
    "a decision without a case not marked latest": (
        "UPDATE decision_index SET latest = 0 WHERE idx = (SELECT MAX(idx) FROM decision_index"
        " WHERE case_id IS NULL)",
        "has no case: the index does not mark it latest",
    ),
    "a day's count of nothing the decisions give": (
        "INSERT INTO decision_counts VALUES ('wme', '2026-10-13', 'live', 'ministry', 'stage_9',"
        " 'escalate', '', 0)",
        "the index holds 0, the ledger's decisions give none",
    ),
    "a day's count": (
        "UPDATE decision_counts SET count = count + 1 WHERE rowid = (SELECT MIN(rowid) FROM"
        " decision_counts)",
        "the ledger's decisions give",
    ),
}


@pytest.mark.parametrize("tampering", TAMPERING)
def test_index_check_names_the_first_row_an_operator_changed(history, data_dir, capsys, tampering):
    """The reports read the index, so an index edited by hand is found by `verify` (as every
    table the API answers from) and by `index check` (read only, no key needed): each names
    the entry (or the day count) first found to differ and exits 1; `index rebuild` mends
    it."""
    edit, named = TAMPERING[tampering]
    with sqlite3.connect(data_dir / DB_FILE) as db:
        assert db.execute(edit).rowcount == 1
    code, out = check_index(data_dir, capsys)
    assert code == 1 and out.startswith("differs: ") and named in out, out
    for jobs in ("1", "2"):  # in one process, and in chunks checked by two
        assert main(["verify", "--data-dir", str(data_dir), "--jobs", jobs]) == 1
        out = capsys.readouterr().out
        assert out.startswith("decision index: ") and named in out, out
    assert main(["index", "rebuild", "--data-dir", str(data_dir)]) == 0
    capsys.readouterr()
    code, out = check_index(data_dir, capsys)
    assert code == 0, out
