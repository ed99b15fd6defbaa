"""Cases rebuilt from the ledger alone: every case's register, state, facts and decisions from
its `decision` entries (`cases.register.registers_from_entries`), compared with the case tables
(`check`) or written over them (`rebuild`).

Also the case row's copies of what the ledger holds: when it was opened (its first decision's
`recorded_at`), the latest stage and route, the purpose, and the personal-data state (`sealed`
with the commitment the case's first decision made, `erased` once an `erasure` entry names the
case). What the ledger does not hold stays as the case table has it: `reference` and
`complainant`. A case the ledger knows and the tables do not is inserted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag

from cases.register import registers_from_entries
from cases.store import register_row, route_text, route_value, stored_rows
from ledger import personal
from ledger.canonical import parse_entry
from store import ReadTx, Store, WriteTx
from store.base import blob


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


PAGE = 5000  # entries read at a time


def _entries(tx: ReadTx) -> Iterator[dict[str, Any]]:
    """The decision and erasure entries, in order (what `registers_from_entries` reads), as
    `tx` sees the ledger: the same snapshot as the case tables it is compared with or writes."""
    start = 0
    while page := tx.entries(start, PAGE):
        for _, raw, _ in page:
            entry = parse_entry(blob(raw))
            if entry.get("kind") in ("decision", "erasure"):
                yield entry
        start = page[-1][0] + 1


def rebuilt(tx: ReadTx, timezones: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Every case of the ledger as `tx` sees it, as `registers_from_entries` rebuilds it."""
    return registers_from_entries(_entries(tx), timezones=timezones)


def check(store: Store, timezones: Mapping[str, str]) -> Difference | None:
    """The first case (by id) whose stored register, state or decisions differ from what its
    ledger decisions give; None when every case agrees (and no table holds a case the ledger
    does not). Ledger and tables are read in one snapshot, so a live store compares alike."""
    with store.read() as tx:
        return compare(tx, rebuilt(tx, timezones), timezones)


def compare(
    tx: ReadTx, cases: Mapping[str, Mapping[str, Any]], timezones: Mapping[str, str]
) -> Difference | None:
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
                *_registers(
                    tx.case_obligations(case_id),
                    stored_rows(found["rows"], timezones[found["policy"]]),
                ),
            ),
            ("facts", json.loads(row["facts"]), found["facts"]),
            ("latest decision", row["latest_decision_id"], found["decision_ids"][-1]),
            ("stage", row["stage"], found["stage"]),
            ("route", route_value(row["route"]), route_value(found["route"])),
            ("purpose", row.get("purpose") or "live", found["purpose"]),
            ("opened at", row["opened_at"], found["opened_at"]),
            (
                "personal data",
                (row["personal"], row["personal_commitment"]),
                (found["personal"], found["personal_commitment"]),
            ),
            ("sealed personal data", _sealed_commitment(tx, case_id), found["personal_commitment"]),
        ]
        for name, stored, again in pairs:
            if stored != again:
                return Difference(case_id, name, stored, again)
    return None


def _sealed_commitment(tx: ReadTx, case_id: str) -> str | None:
    """The commitment of the personal data `GET /v1/cases/{id}/personal` serves: the case's
    latest sealed record opened with its key (the case id is bound to it), or a note of what is
    wrong; None when the case has neither key nor record (none given, or erased)."""
    key, sealed = tx.personal_key(case_id), tx.latest_sealed(case_id)
    if key is None and sealed is None:
        return None
    if key is None or sealed is None:
        return "a key without a record" if sealed is None else "a record without a key"
    try:
        return personal.unseal(key, case_id, sealed)[0]
    except (InvalidTag, ValueError, KeyError, TypeError):
        return "a record that its key does not open"


ENDS = ("dropped_at", "ends_at")


def _registers(
    stored: list[dict[str, Any]], rebuilt: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A case's stored register and its rebuild, row by row as compared: the CONTRACT.md fields
    and the instants the overdue listings read (when the due passes, when the row stopped being
    pending, when it was not listed). A row stored before schema 7 keeps no end (both NULL) and
    is read as it was then, from its status, until `redress cases rebuild`: its ends are not
    compared (nor are a row's still pending, both NULL too), but the times it was not listed
    are."""
    keeps_ends = [any(row.get(name) is not None for name in ENDS) for row in stored]
    keeps_ends += [True] * (len(rebuilt) - len(stored))

    def compared(row: Mapping[str, Any], ends: bool) -> dict[str, Any]:
        kept = {name: row.get(name) for name in ENDS} if ends else {}
        kept["gaps"] = row.get("gaps") or []
        return {**register_row(row), "passes_at": row.get("passes_at"), **kept}

    return (
        [compared(row, ends) for row, ends in zip(stored, keeps_ends, strict=False)],
        [compared(row, ends) for row, ends in zip(rebuilt, keeps_ends, strict=False)],
    )


def rebuild(store: Store, timezones: Mapping[str, str]) -> int:
    """Rewrite every case's register, state, facts, stage, route and decisions from the ledger,
    in one transaction; the number of cases rebuilt. The ledger is read inside that transaction:
    read before it, an event recorded meanwhile (on a live store) was dropped from its case, and
    the next event merged into the stale row."""

    def job(tx: WriteTx) -> int:
        cases = rebuilt(tx, timezones)
        for case_id, case in cases.items():
            row = {
                "case_id": case_id,
                "policy": case["policy"],
                "state": case["state"],
                "facts": json.dumps(case["facts"] or {}),
                "stage": case["stage"],
                "route": route_text(case["route"]),
                "latest_decision_id": case["decision_ids"][-1],
                "purpose": case["purpose"],
                "personal": case["personal"],
                "personal_commitment": case["personal_commitment"],
            }
            existing = tx.case(case_id)
            if existing is None:
                opened = case["opened_at"]
                tx.put_case({**row, "opened_at": opened, "updated_at": opened}, None)
            else:
                tx.put_case({**row, "opened_at": case["opened_at"]}, existing["version"])
            tx.replace_case_decisions(case_id, case["decision_ids"])
            tx.replace_obligations(case_id, stored_rows(case["rows"], timezones[case["policy"]]))
        return len(cases)

    return store.write(job)
