"""The decision index's rows (pure): what one `decision` entry contributes to the index, and the
rebuild of the whole index from the ledger (one write job, streaming the entries).

A row names the decision's policy, `as_of` (and its local date), `received_at` (and its local
date), purpose, case, key, disposition, stage, route role, the facts reports group by, the
action codes and flags, and, for a case-less decision, its register (`derive_register`): a
case's register is the case tables' own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from reports.compute import received, role_of
from reports.obligations import derive_register
from rules.calendar import local_date

IndexEntry = tuple[dict[str, Any], list[str], list[dict[str, Any]]]
REBUILD_PAGE = 5000


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def index_entry(index: int, body: Mapping[str, Any], timezone: str) -> IndexEntry:
    """(row, flags, case-less register) of the decision entry at `index` with `body`."""
    facts = body.get("facts") or {}
    outcome = body.get("outcome") or {}
    received_at, received_day = received(facts, timezone)
    upheld = facts.get("upheld")
    row = {
        "idx": index,
        "decision_id": body["decision_id"],
        "policy": body["policy"],
        "as_of": body["as_of"],
        "as_of_day": local_date(body["as_of"], timezone).isoformat(),
        "received_at": received_at,
        "received_day": received_day.isoformat() if received_day else None,
        "purpose": body.get("purpose") or "live",
        "case_id": body.get("case_id"),
        "key_id": body.get("key_id"),
        "disposition": outcome.get("disposition"),
        "stage": _text(outcome.get("stage")),
        "route": _text(role_of(outcome)),
        "kind": _text(facts.get("kind")),
        "category": _text(facts.get("category")),
        "complainant_type": _text(facts.get("complainant_type")),
        "upheld": int(upheld) if isinstance(upheld, bool) else None,
        "urgent": 1 if facts.get("urgent") is True else 0,
        "actions": "|".join(a["code"] for a in outcome.get("actions", [])),
    }
    register = [] if body.get("case_id") else derive_register([body], facts, timezone)
    return row, list(outcome.get("flags", [])), register


def rebuild_job(timezones: Mapping[str, str]) -> Callable[[Any], int]:
    """A write job that empties the index and indexes every decision entry of the ledger, in
    one transaction (readers see the old index until it commits); returns the count."""

    def job(tx: Any) -> int:
        tx.clear_decision_index()
        count, start = 0, 0
        while True:
            page = tx.entries(start, REBUILD_PAGE)
            if not page:
                return count
            for index, raw, _ in page:
                entry = msgspec.json.decode(raw)
                if entry.get("kind") != "decision":
                    continue
                body = entry["body"]
                tx.index_decision(*index_entry(index, body, timezones.get(body["policy"], "UTC")))
                count += 1
            start = page[-1][0] + 1

    return job
