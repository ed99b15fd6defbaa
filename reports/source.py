"""A `Snapshot` read from the whole ledger and case store: the reference the store-backed
reports (`reports.stored`, over the decision index) are tested against; no handler uses it.

What reports need from a store, as functions:
- `tree_size() -> int` and `root_hash(size) -> str` (hex): the ledger state a report names;
- `decision_bodies(size) -> Iterable[dict]`: every `decision` entry's body up to `size`, oldest
  first, with its entry `index` and `recorded_at`;
- `cases() -> Iterable[dict]`: every case `{case_id, policy, state?, facts, decision_ids,
  obligations?, complainant?}`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import clock
from cases import CaseStore
from ledger.store import Ledger
from reports.compute import Snapshot

PAGE = 1000


def decision_bodies(ledger: Ledger, size: int) -> Iterator[dict[str, Any]]:
    """Every decision entry's body below `size`, with `index` and `recorded_at` added, read
    through the public `Ledger.entries` (slow, and the specification the index is held to)."""
    return _public_decision_bodies(ledger, size)


def _public_decision_bodies(ledger: Ledger, size: int) -> Iterator[dict[str, Any]]:
    start = 0
    while start < size:
        page = ledger.entries(start, min(PAGE, size - start))
        if not page:
            return
        for entry in page:
            if entry.kind == "decision":
                yield dict(entry.body) | {"index": entry.index, "recorded_at": entry.recorded_at}
        start = page[-1].index + 1


def case_dicts(cases: CaseStore) -> Iterator[dict[str, Any]]:
    with cases.store.read() as tx:
        case_ids = tx.case_ids()
    for case_id in case_ids:
        record = cases.get(case_id)
        if record is None:
            continue
        yield {
            "case_id": record.case_id,
            "policy": record.policy,
            "state": getattr(record, "state", None),
            "facts": record.facts,
            "decision_ids": record.decision_ids,
            "obligations": getattr(record, "obligations", None),
            "complainant": getattr(record, "complainant", None),
        }


def read_snapshot(ledger: Ledger, cases: CaseStore, now: datetime | None = None) -> Snapshot:
    """Every decision and case at the ledger's current size (cases' decisions are looked up
    in the ledger; a case decision recorded after that size is left out)."""
    size = ledger.tree_size()
    root = ledger.root_hash(size)
    decisions = list(decision_bodies(ledger, size))
    by_id = {d["decision_id"]: d for d in decisions}
    case_list = []
    for case in case_dicts(cases):
        found = [by_id[i] for i in case.pop("decision_ids") if i in by_id]
        if found:
            case_list.append(case | {"decisions": found})
    return Snapshot(size, root, decisions, case_list, now or clock.now())
