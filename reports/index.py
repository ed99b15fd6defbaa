"""The decision index's rows (pure): what one `decision` entry contributes to the index, and the
rebuild of the whole index from the ledger (one write job, streaming the entries).

A row names the decision's policy, `as_of` (and its local date), `received_at` (and its local
date), purpose, case, key, disposition, stage, route role, the facts reports group by, the
action codes and flags, and, for a case-less decision, its register (`derive_register`): a
case's register is the case tables' own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from reports.compute import received, role_of
from reports.obligations import derive_register
from rules.calendar import local_date
from store.decision_index import INDEX_COLUMNS, count_keys, obligation_rows

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


# -- the check: the stored index against the ledger --------------------------------------------

PAST_THE_END = 2**62  # an index no ledger reaches: rows past the last entry are strays


class IndexCheck:
    """What the index should hold, built one page of entries at a time (`index_difference`):
    each page's rows, flags and case-less registers are compared at once; which row is its
    case's latest, and the day counts, are known only at the end."""

    def __init__(self, timezones: Mapping[str, str]) -> None:
        self.timezones = timezones
        self.decisions = 0
        self.counts: Counter[tuple] = Counter()
        self.last_of_case: dict[str, int] = {}
        self.caseless: list[int] = []
        self.marked_latest: list[int] = []  # the stored rows whose `latest` is 1

    def expected(self, page: list[tuple[int, bytes, str]]) -> dict[int, tuple]:
        """(row, flags, register rows) of each decision entry of `page`, by index."""
        found: dict[int, tuple] = {}
        for index, raw, _ in page:
            entry = msgspec.json.decode(raw)
            if entry.get("kind") != "decision":
                continue
            body = entry["body"]
            timezone = self.timezones.get(body["policy"], "UTC")
            row, flags, register = index_entry(index, body, timezone)
            flags = list(dict.fromkeys(flags))
            found[index] = (row, sorted(flags), obligation_rows(row, register))
            self.counts.update(count_keys(row, flags))
            if row["case_id"] is None:
                self.caseless.append(index)
            else:
                self.last_of_case[row["case_id"]] = index
            self.decisions += 1
        return found

    def latest_difference(self) -> str | None:
        """The first entry the index marks its case's latest wrongly, either way."""
        expected = sorted([*self.caseless, *self.last_of_case.values()])
        marked = self.marked_latest
        for n in range(max(len(expected), len(marked))):
            want = expected[n] if n < len(expected) else PAST_THE_END
            have = marked[n] if n < len(marked) else PAST_THE_END
            if want < have:
                return (
                    f"entry {want} is the newest decision of its case (or has no case): the "
                    "index does not mark it latest"
                )
            if have < want:
                return f"entry {have}: the index marks it latest; its case has a later decision"
        return None

    def counts_difference(self, stored: list[tuple]) -> str | None:
        """The first key of the day counts whose stored count is not the decisions' count."""
        have = {tuple(row[:7]): int(row[7]) for row in stored}
        for key in sorted(set(have) | set(self.counts)):
            if have.get(key, 0) != self.counts.get(key, 0):
                policy, day, purpose, route, stage, disposition, flag = key
                combo = f"{route or '-'}/{stage or '-'}/{disposition or '-'}"
                what = f"flag {flag}" if flag else combo
                return (
                    f"the day counts of {policy} on {day} ({purpose}, {what}): the index holds "
                    f"{have.get(key, 0)}, the ledger's decisions give {self.counts.get(key, 0)}"
                )
        return None


def _grouped(rows: list[tuple]) -> dict[int, list[tuple]]:
    found: dict[int, list[tuple]] = {}
    for row in rows:
        found.setdefault(row[0], []).append(tuple(row))
    return found


def _page_difference(
    tx: Any, check: IndexCheck, first: int, last: int, expected: dict[int, tuple]
) -> str | None:
    """The first entry of `first`..`last` whose index row, flags or register rows are not what
    its decision entry gives (or that has rows and is no decision)."""
    rows = {row[0]: row for row in tx.index_rows_in(first, last)}
    flags = _grouped(tx.index_flags_in(first, last))
    owed = _grouped(tx.index_obligations_in(first, last))
    for index in sorted(set(expected) | set(rows) | set(flags) | set(owed)):
        if index not in expected:
            return f"entry {index} is not a decision; the index holds rows for it"
        row, want_flags, want_owed = expected[index]
        where = f"entry {index} (decision {row['decision_id']})"
        stored = rows.get(index)
        if stored is None:
            return f"{where} is not in the index"
        for column, have in zip(INDEX_COLUMNS, stored, strict=False):
            if have != row[column]:
                return f"{where}: the index's {column} is {have!r}, its entry gives {row[column]!r}"
        if stored[-1] == 1:
            check.marked_latest.append(index)
        have_flags = [flag for _, flag in flags.get(index, [])]
        if have_flags != want_flags:
            return f"{where}: the index's flags are {have_flags}, its entry gives {want_flags}"
        if owed.get(index, []) != want_owed:
            return f"{where}: its register rows in the index are not what its entry gives"
    return None


def index_difference(tx: Any, timezones: Mapping[str, str]) -> tuple[str | None, int]:
    """(the first way the stored decision index differs from what the ledger's decision entries
    give, or None; how many decisions the ledger holds), read through one read transaction
    `tx`: every row, flag, case-less register row and day count, and which row is each case's
    latest (`redress index check`)."""
    check, start = IndexCheck(timezones), 0
    while page := tx.entries(start, REBUILD_PAGE):
        first, last = page[0][0], page[-1][0]
        if difference := _page_difference(tx, check, first, last, check.expected(page)):
            return difference, check.decisions
        start = last + 1
    difference = (
        _page_difference(tx, check, start, PAST_THE_END, {})
        or check.latest_difference()
        or check.counts_difference(tx.decision_count_rows())
    )
    return difference, check.decisions
