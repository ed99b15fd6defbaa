"""Cases rebuilt from the ledger alone: every case's register, state, facts and decisions from
its `decision` entries (`cases.register.registers_from_entries`), compared with the case tables
(`check`) or written over them (`rebuild`).

What the ledger does not hold stays as the case table has it: `reference`, `complainant`,
`purpose` and the personal-data state. A case the ledger knows and the tables do not is
inserted, opened at its first decision's `recorded_at`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from cases.register import registers_from_entries
from cases.store import register_row, stored_rows
from ledger.canonical import parse_entry
from store import ReadTx, Store, WriteTx


@dataclass(frozen=True)
class Difference:
    """The first way a stored case differs from its rebuild."""

    case_id: str
    field: str
    stored: Any
    rebuilt: Any

    def __str__(self) -> str:
        return (
            f"case {self.case_id}: {self.field} stored {self.stored!r}, "
            f"rebuilt from the ledger {self.rebuilt!r}"
        )


def _entries(store: Store) -> Iterator[dict[str, Any]]:
    for _, raw, _ in store.iter_entries():
        entry = parse_entry(bytes(raw))
        if entry.get("kind") == "decision":
            yield entry


def rebuilt(store: Store, timezones: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Every case of the ledger: `{policy, rows, state, facts, decision_ids, opened_at}`."""
    return registers_from_entries(_entries(store), timezones=timezones)


def _stage_route(entry_body: Mapping[str, Any]) -> tuple[Any, Any]:
    outcome = entry_body["outcome"]
    route = outcome.get("route")
    if route is not None and not isinstance(route, str):
        route = msgspec.json.encode(route).decode()
    return outcome.get("stage"), route


def check(store: Store, timezones: Mapping[str, str]) -> Difference | None:
    """The first case (by id) whose stored register, state or decisions differ from what its
    ledger decisions give; None when every case agrees (and no table holds a case the ledger
    does not)."""
    cases = rebuilt(store, timezones)
    with store.read() as tx:
        return compare(tx, cases)


def compare(tx: ReadTx, cases: Mapping[str, Mapping[str, Any]]) -> Difference | None:
    """The first case (by id) whose case tables, read through `tx`, differ from `cases` (as
    `registers_from_entries` rebuilds them); `check` and `redress verify` both ask this."""
    stored_ids = set(tx.case_ids())
    for case_id in sorted(stored_ids | set(cases)):
        found = cases.get(case_id)
        row = tx.case(case_id)
        if found is None or row is None:
            where = "ledger" if found is None else "case tables"
            return Difference(case_id, "case", "present" if row else None, f"not in {where}")
        pairs = [
            ("policy", row["policy"], found["policy"]),
            ("decisions", tx.case_decision_ids(case_id), found["decision_ids"]),
            ("state", row["state"], found["state"]),
            (
                "obligations",
                [register_row(r) for r in tx.case_obligations(case_id)],
                [register_row(r) for r in found["rows"]],
            ),
            ("facts", json.loads(row["facts"]), found["facts"]),
        ]
        for name, stored, again in pairs:
            if stored != again:
                return Difference(case_id, name, stored, again)
    return None


def rebuild(store: Store, timezones: Mapping[str, str]) -> int:
    """Rewrite every case's register, state, facts, stage, route and decisions from the ledger,
    in one transaction; the number of cases rebuilt."""
    cases = rebuilt(store, timezones)
    latest: dict[str, dict[str, Any]] = {}
    for entry in _entries(store):
        body = entry["body"]
        if body.get("case_id") in cases:
            latest[body["case_id"]] = body

    def job(tx: WriteTx) -> int:
        for case_id, case in cases.items():
            stage, route = _stage_route(latest[case_id])
            row = {
                "case_id": case_id,
                "policy": case["policy"],
                "state": case["state"],
                "facts": json.dumps(case["facts"] or {}),
                "stage": stage,
                "route": route,
                "latest_decision_id": case["decision_ids"][-1],
            }
            existing = tx.case(case_id)
            if existing is None:
                opened = case["opened_at"]
                tx.put_case({**row, "opened_at": opened, "updated_at": opened}, None)
            else:
                tx.put_case(row, existing["version"])
            tx.replace_case_decisions(case_id, case["decision_ids"])
            tx.replace_obligations(case_id, stored_rows(case["rows"], timezones[case["policy"]]))
        return len(cases)

    return store.write(job)
