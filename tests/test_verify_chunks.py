"""`verify` of a SQLite store in chunks, in one process or several, names the same first bad
index and damage as the whole-ledger check, for damage placed at the chunks' edges.

The chunks are made 8 entries long here (`CHUNK_LEVEL` 3) so that a ledger of a few dozen
entries spans six of them; each tampering is then checked four ways: chunked in one process,
chunked in two, in one chunk, and by the in-memory reference (`verify_material`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec
import pytest
import rfc8785

import ledger.verify as verify_module
import ledger.verify_chunks as chunks_module
from ledger.canonical import canonical_bytes, entry_checker
from ledger.note import Signer
from ledger.store import Ledger
from ledger.verify import Trust, read_sqlite, verify, verify_material, verify_trusted
from ledger.verify_chunks import policy_timezones
from reports.index import rebuild_job

LEVEL = 3
CHUNK = 1 << LEVEL
SIZE = 5 * CHUNK + 3  # genesis + decisions: five whole chunks and a partial one
LAST = SIZE - 1


def decision(n: int) -> tuple[str, bytes]:
    decision_id = hashlib.sha256(b"%d" % n).hexdigest()[:32]
    return decision_id, canonical_bytes({"decision_id": decision_id, "case_id": None, "n": n})


def service_decision(n: int) -> tuple[str, bytes]:
    """A decision body with the fields the service writes (`ledger.store.decision_body`), which
    `verify`'s loop decodes into a struct and reads the ids from, not a dict."""
    decision_id = hashlib.sha256(b"%d" % n).hexdigest()[:32]
    body = {
        "decision_id": decision_id,
        "policy": "wme",
        "policy_version": "sha256:" + "ab" * 32,
        "as_of": "2026-12-24T09:00:00Z",
        "case_id": None,
        "facts": {"received_at": "2026-12-23", "n": n},
        "outcome": {"disposition": "accept", "deadlines": []},
        "reasons": [{"rule": "wme-1", "citation": "WME 3.1"}],
        "personal_commitment": None,
        "purpose": "complaint-routing",
        "key_id": None,
    }
    return decision_id, canonical_bytes(body)


def grown(data: Path, decision: Callable[[int], tuple[str, bytes]]) -> Path:
    ledger = Ledger.open(data, auto_checkpoint=False)
    for n in range(1, SIZE):
        ref, body = decision(n)
        ledger.store.write(lambda tx, ref=ref, body=body: tx.append("decision", body, ref))
        if n + 1 in (CHUNK, 3 * CHUNK + 1, SIZE):
            ledger.sign_checkpoint()
    # The decision index the service would have written (`verify` holds it to the entries).
    ledger.store.write(rebuild_job(policy_timezones()))
    ledger.close()
    return data


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return grown(tmp_path_factory.mktemp("chunks") / "data", decision)


@pytest.fixture(scope="module")
def service_pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = grown(tmp_path_factory.mktemp("service") / "data", service_decision)
    with db(data) as conn:
        # Not vacuous: these entries take the struct path of `entry_checker`.
        assert isinstance(entry_checker()(raw_of(conn, 1)).body, msgspec.Struct)
    return data


@contextmanager
def db(data: Path) -> Iterator[sqlite3.Connection]:
    """An autocommit connection to the store at `data`, closed on leaving. Left to the garbage
    collector, it would close whenever collected, and the last connection to close deletes the
    WAL and its index: perhaps while `tampered` copies the directory, which then fails."""
    conn = sqlite3.connect(data / "redress.db", isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def raw_of(conn: sqlite3.Connection, index: int) -> bytes:
    return bytes(conn.execute("SELECT entry FROM entries WHERE idx = ?", (index,)).fetchone()[0])


# -- the tamperings ---------------------------------------------------------------------------


def change_bytes(conn: sqlite3.Connection, p: int) -> None:
    conn.execute("UPDATE entries SET entry = ? WHERE idx = ?", (raw_of(conn, p) + b" ", p))


def change_bytes_and_hash(conn: sqlite3.Connection, p: int) -> None:
    raw = raw_of(conn, p).replace(b'"n":', b'"m":')
    digest = hashlib.sha256(raw).hexdigest()
    conn.execute("UPDATE entries SET entry = ?, entry_hash = ? WHERE idx = ?", (raw, digest, p))


def rehashed(conn: sqlite3.Connection, p: int, raw: bytes) -> None:
    digest = hashlib.sha256(raw).hexdigest()
    conn.execute("UPDATE entries SET entry = ?, entry_hash = ? WHERE idx = ?", (raw, digest, p))


def not_utf8(conn: sqlite3.Connection, p: int) -> None:
    """Bytes that are not UTF-8 inside a string, their hash recomputed."""
    rehashed(conn, p, raw_of(conn, p).replace(b'"decision_id":"', b'"decision_id":"\xff'))


def float_index(conn: sqlite3.Connection, p: int) -> None:
    """The same index written as a float (not RFC 8785's form), its hash recomputed."""
    rehashed(conn, p, raw_of(conn, p).replace(b'"index":%d' % p, b'"index":%d.0' % p))


def delete(conn: sqlite3.Connection, p: int) -> None:
    conn.execute("DELETE FROM entries WHERE idx = ?", (p,))


def swap_with_next(conn: sqlite3.Connection, p: int) -> None:
    conn.execute("UPDATE entries SET idx = -1 WHERE idx = ?", (p,))
    conn.execute("UPDATE entries SET idx = ? WHERE idx = ?", (p, p + 1))
    conn.execute("UPDATE entries SET idx = ? WHERE idx = -1", (p + 1,))


def insert_forged(conn: sqlite3.Connection, p: int) -> None:
    """An entry that chains from entry p - 1, put in at p; the rest move up one."""
    conn.execute("UPDATE entries SET idx = -idx - 1 WHERE idx >= ?", (p,))
    conn.execute("UPDATE entries SET idx = -idx WHERE idx < 0")
    ref, body = decision(10_000)
    forged = {
        "index": p,
        "kind": "decision",
        "recorded_at": "2026-01-01T00:00:00.000000Z",
        "prev_hash": hashlib.sha256(raw_of(conn, p - 1)).hexdigest(),
        "body": json.loads(body),
    }
    raw = rfc8785.dumps(forged)
    conn.execute(
        "INSERT INTO entries (idx, kind, ref, entry_hash, entry) VALUES (?, 'decision', ?, ?, ?)",
        (p, ref, hashlib.sha256(raw).hexdigest(), raw),
    )


def rewrite_chain_from(conn: sqlite3.Connection, p: int) -> None:
    """Entry p changed and every later prev_hash and entry_hash recomputed; the stored tree
    nodes, written as the entries arrived, left as they were."""
    prev = json.loads(raw_of(conn, p))["prev_hash"]
    for index in range(p, SIZE):
        document = json.loads(raw_of(conn, index))
        document["prev_hash"] = prev
        if index == p:
            document["body"]["n"] = -1
        raw = rfc8785.dumps(document)
        prev = hashlib.sha256(raw).hexdigest()
        conn.execute(
            "UPDATE entries SET entry = ?, entry_hash = ? WHERE idx = ?", (raw, prev, index)
        )


def node_zeroed(level: int) -> Callable[[sqlite3.Connection, int], None]:
    def tamper(conn: sqlite3.Connection, p: int) -> None:
        conn.execute(
            "UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = ? AND position = ?",
            (level, p >> level),
        )

    return tamper


def node_deleted(level: int) -> Callable[[sqlite3.Connection, int], None]:
    def tamper(conn: sqlite3.Connection, p: int) -> None:
        conn.execute("DELETE FROM tree_nodes WHERE level = ? AND position = ?", (level, p >> level))

    return tamper


def leaf_node_at_a_fraction(conn: sqlite3.Connection, p: int) -> None:
    """Leaf node p deleted, and a node put at position p + 0.25 holding the 32 bytes that
    start a quarter into node p in the level's nodes joined (what a count of nodes equal to
    their slice of that join would take for node p, were positions not held to integers)."""

    def node(position: int) -> bytes:
        query = "SELECT hash FROM tree_nodes WHERE level = 0 AND position = ?"
        return bytes(conn.execute(query, (position,)).fetchone()[0])

    window = node(p)[8:] + node(p + 1)[:8]
    conn.execute("DELETE FROM tree_nodes WHERE level = 0 AND position = ?", (p,))
    conn.execute("INSERT INTO tree_nodes VALUES (0, ?, ?)", (p + 0.25, window))


def truncate(conn: sqlite3.Connection, p: int) -> None:
    conn.execute("DELETE FROM entries WHERE idx >= ?", (p,))


def misindex(conn: sqlite3.Connection, p: int) -> None:
    conn.execute("UPDATE entries SET ref = ? WHERE idx = ?", (f"not-decision-{p}", p))


EDGES = [CHUNK - 1, CHUNK, 2 * CHUNK, 4 * CHUNK - 1, 4 * CHUNK]
CASES = [
    *[(change_bytes, p, "modified", p) for p in [*EDGES, LAST]],
    *[(change_bytes_and_hash, p, "modified", p) for p in EDGES],
    *[(not_utf8, p, "modified", p) for p in EDGES],
    *[(float_index, p, "modified", p) for p in EDGES],
    *[(delete, p, "deleted", p) for p in EDGES],
    *[(swap_with_next, p, "reordered", p) for p in EDGES],
    *[(insert_forged, p, "inserted", p) for p in EDGES],
    *[(rewrite_chain_from, p, "rewritten", p) for p in [*EDGES, LAST]],
    *[(node_zeroed(0), p, "rewritten", p) for p in [*EDGES, LAST]],
    *[(node_zeroed(LEVEL), p, "rewritten", p) for p in (CHUNK, 3 * CHUNK)],
    *[(node_zeroed(LEVEL + 1), p, "rewritten", p) for p in (0, 2 * CHUNK)],
    *[(node_deleted(LEVEL - 1), p, "rewritten", p) for p in (CHUNK - 4, CHUNK, 4 * CHUNK)],
    *[(node_deleted(LEVEL + 2), 0, "rewritten", 0)],
    *[(leaf_node_at_a_fraction, p, "rewritten", p) for p in (CHUNK, 2 * CHUNK + 3)],
    *[(truncate, p, "truncated", p) for p in (CHUNK, 4 * CHUNK, LAST)],
]


def ids(case: tuple) -> str:
    tamper, p, damage, _ = case
    name = getattr(tamper, "__qualname__", "").split(".")[0]
    return f"{name}-{p}"


def tampered(pristine: Path, tmp_path: Path, tamper: Callable, p: int) -> Path:
    data = tmp_path / "data"
    shutil.copytree(pristine, data, ignore=shutil.ignore_patterns("*.lock"))
    with db(data) as conn:
        tamper(conn, p)
    return data


def four_ways(data: Path, monkeypatch: pytest.MonkeyPatch, check: Callable) -> list[tuple]:
    """(damage, first bad index) from `check(db, jobs)` chunked in 1 and 2 processes and in one
    chunk; the caller adds the reference."""
    found = []
    for level, jobs in ((LEVEL, 1), (LEVEL, 2), (chunks_module.CHUNK_LEVEL, 1)):
        with monkeypatch.context() as patch:
            patch.setattr(chunks_module, "CHUNK_LEVEL", level)
            report = check(data / "redress.db", jobs)
        found.append((report.damage, report.first_bad_index))
    return found


def test_the_pristine_ledger_spans_six_chunks_and_verifies_every_way(
    pristine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def check(path: Path, jobs: int) -> verify_module.Report:
        report = verify_trusted(path, jobs=jobs, trust=Trust(strict=True))
        assert report.ok and report.tree_size == SIZE, report.summary
        return report

    assert four_ways(pristine, monkeypatch, check) == [(None, None)] * 3
    with db(pristine) as conn:
        conn.execute("BEGIN")
        assert len(chunks_module._chunks(conn, SIZE, LEVEL)) == 6
        conn.execute("COMMIT")


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_chunked_serial_and_parallel_name_the_reference_damage(
    case: tuple, pristine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tamper, p, damage, first_bad = case
    data = tampered(pristine, tmp_path, tamper, p)
    found = four_ways(data, monkeypatch, lambda path, jobs: verify(path, jobs=jobs))
    material = read_sqlite(data / "redress.db")
    reference = verify_material(material, None, None)
    assert found == [(reference.damage, reference.first_bad_index)] * 3
    assert found[0] == (damage, first_bad)


@pytest.mark.parametrize("p", EDGES)
def test_an_id_index_mismatch_at_a_chunk_edge_is_named_the_same_every_way(
    p: int, pristine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The id index is walked by the chunks now; the walk that read every entry again names the
    same entry, the first of two."""

    def twice_misindexed(conn: sqlite3.Connection, p: int) -> None:
        misindex(conn, p)
        misindex(conn, LAST)

    data = tampered(pristine, tmp_path, twice_misindexed, p)
    found = four_ways(data, monkeypatch, lambda path, jobs: verify_trusted(path, jobs=jobs))
    with pytest.raises(verify_module.Failure) as reread:
        verify_module.check_tables(data / "redress.db")
    assert found == [(reread.value.damage, reread.value.first_bad_index)] * 3
    assert found[0] == ("index_mismatch", p)


def rekind(conn: sqlite3.Connection, p: int) -> None:
    conn.execute("UPDATE entries SET kind = 'policy' WHERE idx = ?", (p,))


def kind_in_capitals_under_nocase(conn: sqlite3.Connection, p: int) -> None:
    """The entries table rebuilt with its kind compared without case, and entry p's kind made
    'DECISION': equal to 'decision' for that table's own comparisons, not for the id index."""
    (schema,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'entries'").fetchone()
    conn.execute("ALTER TABLE entries RENAME TO old_entries")
    conn.execute(schema.replace("kind TEXT NOT NULL", "kind TEXT NOT NULL COLLATE NOCASE"))
    conn.execute("INSERT INTO entries SELECT * FROM old_entries")
    conn.execute("DROP TABLE old_entries")
    conn.execute("UPDATE entries SET kind = 'DECISION' WHERE idx = ?", (p,))
    assert conn.execute("SELECT kind = 'decision' FROM entries WHERE idx = ?", (p,)).fetchone()[0]


@pytest.mark.parametrize("p", EDGES)
@pytest.mark.parametrize("tamper", [rekind, kind_in_capitals_under_nocase, misindex])
@pytest.mark.parametrize("ledger", ["pristine", "service_pristine"])
def test_an_index_the_bytes_contradict_is_named_the_same_every_way(
    ledger: str,
    tamper: Callable,
    p: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """The chunks read a decision's kind in SQL (`DECISION_ROWS`), by its exact text whatever
    collation the table declares: a kind or ref changed at a chunk edge is named as the walk
    that reads every entry's kind and ref in Python names it, for entries whose body is a dict
    and for the service's decisions (a struct, whose ids the loop reads itself)."""
    data = tampered(request.getfixturevalue(ledger), tmp_path, tamper, p)
    found = four_ways(data, monkeypatch, lambda path, jobs: verify_trusted(path, jobs=jobs))
    with pytest.raises(verify_module.Failure) as reread:
        verify_module.check_tables(data / "redress.db")
    assert found == [(reread.value.damage, reread.value.first_bad_index)] * 3
    assert found[0] == ("index_mismatch", p)


def test_a_decision_recorded_twice_across_chunks_is_named_by_its_later_entry(
    pristine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def same_ref(conn: sqlite3.Connection, p: int) -> None:
        ref = conn.execute("SELECT ref FROM entries WHERE idx = 3").fetchone()[0]
        conn.execute("UPDATE entries SET ref = ? WHERE idx = ?", (ref, p))

    data = tampered(pristine, tmp_path, same_ref, 3 * CHUNK)
    found = four_ways(data, monkeypatch, lambda path, jobs: verify_trusted(path, jobs=jobs))
    # Entry 3*CHUNK's ref is also wrong for its bytes, but the repeated id is reported first.
    assert found == [("index_mismatch", 3 * CHUNK)] * 3


def test_a_case_stored_for_a_ledger_without_cases_is_named_as_the_rebuild_names_it(
    pristine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger holds no decision of a case, so the case store must be empty: a row there is
    named the same way with the entries walked by the chunks (no rebuild loaded) as by the
    check that reads them again and rebuilds the cases (`cases.rebuild.compare`)."""

    def stray_cases(conn: sqlite3.Connection, p: int) -> None:
        for case_id in ("case-b", "case-a"):
            conn.execute(
                "INSERT INTO cases (case_id, policy, facts, opened_at, updated_at) "
                "VALUES (?, 'wme', '{}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                (case_id,),
            )

    data = tampered(pristine, tmp_path, stray_cases, 0)
    reports = []

    def check(path: Path, jobs: int) -> verify_module.Report:
        reports.append(verify_trusted(path, jobs=jobs))
        return reports[-1]

    found = four_ways(data, monkeypatch, check)
    with pytest.raises(verify_module.Failure) as reread:
        verify_module.check_tables(data / "redress.db")
    assert reread.value.summary == "case case-a has no decision in the ledger"
    assert found == [(verify_module.CASE_MISMATCH, None)] * 3
    assert {r.summary for r in reports} == {reread.value.summary}


@pytest.mark.parametrize("jobs", [1, 2])
def test_entries_appended_while_the_chunks_are_checked_are_not_read(
    jobs: int, pristine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`verify` of a live log: entries (and a checkpoint) appended after the chunks are planned
    belong to a later snapshot; each chunk, read in a worker's own snapshot, stops where the
    planning snapshot's log ends, so the log is verified as it was then."""
    data = tampered(pristine, tmp_path, lambda conn, p: None, 0)
    planned, appended = chunks_module._chunks, iter(range(SIZE, 2 * SIZE))

    def planned_then_appended(conn: sqlite3.Connection, count: int, level: int) -> list:
        chunks = planned(conn, count, level)
        ledger = Ledger.open(data)
        ref, body = decision(next(appended))
        ledger.store.write(lambda tx: tx.append("decision", body, ref))
        ledger.sign_checkpoint()
        ledger.close()
        return chunks

    monkeypatch.setattr(chunks_module, "_chunks", planned_then_appended)
    monkeypatch.setattr(chunks_module, "CHUNK_LEVEL", LEVEL)
    report = verify(data / "redress.db", jobs=jobs)
    assert report.ok and report.tree_size == SIZE, report.summary
    assert verify(data / "redress.db", jobs=jobs).tree_size == SIZE + 1


def test_checks_started_ahead_are_the_verdict_and_stop_with_it(
    pristine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`redress verify` starts the entry checks before the rest of `verify` loads: they give
    the same verdict, in the snapshot they planned, and their workers stop when `verify`
    answers, the entries' verdict or an earlier one (a key that is not the log's)."""
    monkeypatch.setattr(chunks_module, "CHUNK_LEVEL", LEVEL)
    started = chunks_module.start_entry_checks(pristine / "redress.db", 2)
    assert started is not None and started.pool is not None and started.count == SIZE
    report = verify_trusted(pristine / "redress.db", jobs=2, started=started)
    assert report.ok and report.tree_size == SIZE, report.summary
    assert started.pool is None
    started = chunks_module.start_entry_checks(pristine / "redress.db", 2)
    assert started is not None and started.pool is not None
    other = Signer.generate("redress.local/ledger").verifier_key
    report = verify_trusted(pristine / "redress.db", other, jobs=2, started=started)
    assert report.damage == "swapped_key", report.summary
    assert started.pool is None
    assert chunks_module.start_entry_checks(pristine / "public.key", 2) is None


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_checkpoint_a_witness_cosigned_while_verify_began_is_in_its_snapshot(
    jobs: int, pristine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `--witness-url`, the snapshot `verify` reads is taken after the witnesses are
    asked: a live log may have grown to the checkpoint a witness just cosigned (here: the log
    grows and signs as the witness is asked, which answers with that checkpoint)."""
    data = tampered(pristine, tmp_path, lambda conn, p: None, 0)

    def grown_as_asked(trust: Trust, log_key: str) -> list[str]:
        ledger = Ledger.open(data)
        ref, body = decision(SIZE)
        ledger.store.write(lambda tx: tx.append("decision", body, ref))
        note = ledger.sign_checkpoint().checkpoint
        ledger.close()
        return [note]

    monkeypatch.setattr(verify_module, "_witness_checkpoints", grown_as_asked)
    trust = Trust(witness_urls=["http://127.0.0.1:9/"])
    report = verify_trusted(data / "redress.db", jobs=jobs, trust=trust)
    assert report.ok and report.tree_size == SIZE + 1, report.summary


@pytest.mark.parametrize("collation", ["BINARY", "NOCASE", "RTRIM"])
@pytest.mark.parametrize("not_null", [True, False])
def test_the_decisions_with_ids_counted_from_the_others_are_the_ones_a_scan_counts(
    collation: str, not_null: bool
) -> None:
    """`decision_twice` given the snapshot's entry count counts the decisions with an id as
    the entries less the others (seeks, not a scan): the same number the scan gives, whatever
    the kinds, refs and the kind column's collation (a store someone rebuilt)."""
    conn = sqlite3.connect(":memory:")
    null = " NOT NULL" if not_null else ""
    conn.execute(
        f"CREATE TABLE entries (idx INTEGER PRIMARY KEY, kind TEXT{null} COLLATE {collation}, "
        "ref TEXT, entry_hash TEXT NOT NULL, entry BLOB NOT NULL)"
    )
    conn.execute("CREATE INDEX idx_entries_kind_ref ON entries (kind, ref)")
    kinds = ["decision", "DECISION", "decision ", "key", "policy", "erasure", "a", "z", "", 7]
    kinds += [b"decision", None] if not not_null else []
    rows = [(kind, ref) for kind in kinds for ref in ("d1", "d2", None, "d1")]
    conn.executemany(
        "INSERT INTO entries (kind, ref, entry_hash, entry) VALUES (?, ?, '', x'')", rows
    )
    (count,) = conn.execute("SELECT COUNT(*) FROM entries").fetchone()
    scanned = chunks_module._decisions_with_ids(conn, None)
    assert chunks_module._decisions_with_ids(conn, count) == scanned
    assert scanned == {"BINARY": 3, "NOCASE": 6, "RTRIM": 6}[collation]
    assert chunks_module.decision_twice(conn, count) == chunks_module.decision_twice(conn)
    assert chunks_module.decision_twice(conn, count) is not None


def reroute(conn: sqlite3.Connection, p: int) -> None:
    conn.execute("UPDATE decision_index SET route = 'nobody' WHERE idx = ?", (p,))


def unmark_latest(conn: sqlite3.Connection, p: int) -> None:
    conn.execute("UPDATE decision_index SET latest = 0 WHERE idx = ?", (p,))


@pytest.mark.parametrize("p", [e for e in EDGES if e > 0])
@pytest.mark.parametrize("tamper", [reroute, unmark_latest])
def test_a_decision_index_row_changed_at_a_chunk_edge_is_named_the_same_every_way(
    tamper: Callable, p: int, service_pristine: Path, tmp_path: Path, monkeypatch
) -> None:
    """CONTRACT.md: "`verify` checks every table the API answers from", the decision index
    too. Its rows are held to their entries by the chunks, its latest marks and day counts
    once they are all in: the same entry is named whichever way the entries were checked."""
    data = tampered(service_pristine, tmp_path, tamper, p)
    found = four_ways(data, monkeypatch, lambda path, jobs: verify_trusted(path, jobs=jobs))
    assert found == [("decision_index_mismatch", p)] * 3


def test_the_day_counts_are_held_to_every_chunk_s_decisions(
    service_pristine: Path, tmp_path: Path, monkeypatch
) -> None:
    """The day counts add up the decisions of every chunk (tallied in each, merged in order):
    one count more than the ledger gives is found, whichever way the entries were checked."""

    def count_one_more(conn: sqlite3.Connection, _: int) -> None:
        conn.execute("UPDATE decision_counts SET count = count + 1 WHERE flag = ''")

    data = tampered(service_pristine, tmp_path, count_one_more, 0)
    found = four_ways(data, monkeypatch, lambda path, jobs: verify_trusted(path, jobs=jobs))
    assert found == [("decision_index_mismatch", None)] * 3
