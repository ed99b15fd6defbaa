"""The decision index and console sessions as store methods, on SQLite and on PostgreSQL (the
same SQL, `store.decision_index`): rows written in a write job read back counted, searched and
grouped alike, and a session lives until it is deleted."""

from __future__ import annotations

from pathlib import Path

from store import open_store


def row(idx: int, **extra: object) -> dict:
    base = {
        "idx": idx,
        "decision_id": f"d{idx:03d}",
        "policy": "wme",
        "as_of": f"2026-02-{1 + idx % 20:02d}T09:00:00Z",
        "as_of_day": f"2026-02-{1 + idx % 20:02d}",
        "received_at": f"2026-02-{1 + idx % 20:02d}",
        "received_day": f"2026-02-{1 + idx % 20:02d}",
        "purpose": "live",
        "case_id": None,
        "key_id": "key_a",
        "disposition": "investigate",
        "stage": "stage_1",
        "route": "investigator",
        "kind": "complaint",
        "category": None,
        "complainant_type": None,
        "upheld": None,
        "urgent": 0,
        "actions": "acknowledge|investigate",
    }
    return base | extra


def record(store, rows: list[tuple[dict, list[str], list[dict]]]) -> None:
    def job(tx) -> None:
        for r, flags, register in rows:
            tx.index_decision(r, flags, register)

    store.write(job)


def test_index_rows_are_counted_searched_and_a_case_keeps_one_latest(tmp_path: Path):
    """Routing counts live decisions by (policy, route, stage, disposition) and flag over the
    local date of `as_of`; a case's newer decision makes its older one no longer a subject."""
    store = open_store(tmp_path / "data")
    try:
        owed = [{"name": "acknowledge", "rule": "r", "due": "2026-02-05", "status": "open"}]
        record(
            store,
            [
                (row(1), ["late"], owed),
                (row(2, purpose="test"), ["late"], []),
                (row(3, case_id="c1", stage="stage_1"), [], []),
                (row(4, case_id="c1", stage="stage_2", disposition="escalate"), ["late"], []),
                (row(5, policy="serco-es", route=None, stage=None), [], []),
            ],
        )
        with store.read() as tx:
            assert tx.indexed_decisions() == 5
            combos, flags = tx.routing_counts(None, None, None)
            assert sorted(combos, key=str) == sorted(
                [
                    ("wme", "investigator", "stage_1", "investigate", 2),
                    ("wme", "investigator", "stage_2", "escalate", 1),
                    ("serco-es", None, None, "investigate", 1),
                ],
                key=str,
            )
            assert sorted(flags) == [("wme", "late", 2)]
            combos, _ = tx.routing_counts("wme", "2026-02-05", "2026-02-06")
            assert combos == [("wme", "investigator", "stage_2", "escalate", 1)]
            subjects = tx.subject_rows(None, None, None)
            assert [s["idx"] for s in subjects] == [1, 4, 5]  # not the test one, c1's newest
            assert [s["idx"] for s in tx.subject_rows("wme", "2026-02-03", None)] == [4]
            found = tx.search_decisions({"flag": "late"}, 0, 50)
            assert [d["idx"] for d in found] == [4, 2, 1]
            assert {tuple(d["flags"]) for d in found} == {("late",)}
            assert [d["idx"] for d in tx.search_decisions({"purpose": "test"}, 0, 50)] == [2]
            assert [d["idx"] for d in tx.search_decisions({}, 1, 2)] == [4, 3]
            assert [d["stage"] for d in tx.indexed_case("c1")] == ["stage_1", "stage_2"]
            levels = tx.subject_levels(None, None, None, ["stage_1", "stage_2"])
            assert sorted(levels, key=str) == [(0, 0, 1), (1, 1, 1), (None, 0, 1)]
            assert sorted(tx.subject_counts(None, None, None), key=str) == [
                (None, "escalate", 0, 1),
                (None, "investigate", 0, 2),
            ]
            assert tx.obligation_groups(None, None, None) == [
                ("wme", "acknowledge", "open", "2026-02-05", None, None, 1)
            ]
        case = {"case_id": "c1", "policy": "wme", "state": "closed", "facts": "{}",
                "complainant": "p1", "opened_at": "2026-02-04T00:00:00Z",
                "updated_at": "2026-02-05T00:00:00Z"}  # fmt: skip
        store.write(lambda tx: tx.put_case(case, None))
        with store.read() as tx:
            newest = tx.newest_case_subjects("wme", "closed", 5)
            assert [(r["idx"], r["state"], r["complainant"]) for r in newest] == [
                (4, "closed", "p1")
            ]
            assert tx.newest_case_subjects("wme", "open", 5) == []
            assert tx.complainant_subjects(None, None, None) == [
                ("p1", "wme", "2026-02-05", "2026-02-05", "c1")
            ]
        store.write(lambda tx: tx.clear_decision_index())
        with store.read() as tx:
            assert tx.indexed_decisions() == 0 and tx.search_decisions({}, 0, 5) == []
    finally:
        store.close()


def test_console_sessions_are_store_rows(tmp_path: Path):
    """A session is written by sign-in (expired ones purged then), read by id hash, deleted by
    sign-out."""
    store = open_store(tmp_path / "data")
    try:
        store.write(
            lambda tx: tx.put_console_session(
                "old", "audit", "k0", "c0", "2026-01-01T00:00:00+00:00", "2025-01-01T00:00:00+00:00"
            )  # fmt: skip
        )
        store.write(
            lambda tx: tx.put_console_session(
                "h1", "audit", "k1", "c1", "2026-12-31T00:00:00+00:00", "2026-06-01T00:00:00+00:00"
            )  # fmt: skip
        )
        with store.read() as tx:
            assert tx.console_session("h1") == ("audit", "c1", "2026-12-31T00:00:00+00:00")
            assert tx.console_session("old") is None  # purged by the later sign-in
        store.write(lambda tx: tx.delete_console_session("h1"))
        with store.read() as tx:
            assert tx.console_session("h1") is None
    finally:
        store.close()
