"""The decision index's rows (pure): what one `decision` entry contributes to the index, and the
rebuild of the whole index from the ledger (one write job, streaming the entries).

A row names the decision's policy, `as_of` (and its local date), `received_at` (and its local
date), purpose, case, key, disposition, stage, route role, the facts reports group by, the
action codes and flags, and, for a case-less decision, its register (`derive_register`): a
case's register is the case tables' own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from reports.compute import received, role_of
from reports.obligations import derive_register
from rules.calendar import local_date
from store.decision_index import INDEX_COLUMNS, count_keys, obligation_rows

IndexEntry = tuple[dict[str, Any], list[str], list[dict[str, Any]]]
REBUILD_PAGE = 5000
# What deriving an index row from a body the service never writes raises (a field missing, or
# of another type): `indexed_body` then gives no row.
NOT_WRITTEN = (KeyError, TypeError, ValueError, AttributeError)
_CASE_ID, _DECISION_ID = INDEX_COLUMNS.index("case_id"), INDEX_COLUMNS.index("decision_id")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def index_entry(index: int, body: Mapping[str, Any], timezone: str) -> IndexEntry:
    """(row, flags, case-less register) of the decision entry at `index` with `body`."""
    row = dict(zip(INDEX_COLUMNS, index_values(index, body, timezone), strict=True))
    return row, _flags(body), _register(body, timezone)


def index_values(index: int, body: Mapping[str, Any], timezone: str) -> tuple:
    """The index row of the decision entry at `index` with `body`: its `INDEX_COLUMNS`' values,
    in that order (`verify` compares a million of these with the stored rows: no dict)."""
    facts = body.get("facts") or {}
    outcome = body.get("outcome") or {}
    received_at, received_day = received(facts, timezone)
    upheld = facts.get("upheld")
    return (
        index,
        body["decision_id"],
        body["policy"],
        body["as_of"],
        local_date(body["as_of"], timezone).isoformat(),
        received_at,
        received_day.isoformat() if received_day else None,
        body.get("purpose") or "live",
        body.get("case_id"),
        body.get("key_id"),
        outcome.get("disposition"),
        _text(outcome.get("stage")),
        _text(role_of(outcome)),
        _text(facts.get("kind")),
        _text(facts.get("category")),
        _text(facts.get("complainant_type")),
        int(upheld) if isinstance(upheld, bool) else None,
        1 if facts.get("urgent") is True else 0,
        "|".join(a["code"] for a in outcome.get("actions", [])),
    )


def _flags(body: Mapping[str, Any]) -> list[str]:
    """A decision's flags, each once, in the order its outcome lists them."""
    return list(dict.fromkeys((body.get("outcome") or {}).get("flags", [])))


def _register(body: Mapping[str, Any], timezone: str) -> list[dict[str, Any]]:
    """A case-less decision's register (a case's is the case tables' own)."""
    if body.get("case_id"):
        return []
    if body["outcome"]["deadlines"] == []:  # the usual decision: nothing owed, nothing to derive
        return []
    return derive_register([body], body.get("facts") or {}, timezone)


def indexed_body(index: int, body: Any, timezone: str) -> IndexEntry | None:
    """`index_entry` of a `decision` entry's body, or None for a body that is not one the
    service writes (no policy, an `as_of` that is no instant…): the index holds no row for
    it, having none to derive (and `verify` holds its bytes alone)."""
    try:
        return index_entry(index, body, timezone)
    except NOT_WRITTEN:
        return None


def rebuild_job(timezones: Mapping[str, str]) -> Callable[[Any], int]:
    """A write job that empties the index and indexes every decision entry of the ledger, in
    one transaction (readers see the old index until it commits); returns the count."""

    def job(tx: Any) -> int:
        tx.clear_decision_index()
        return index_from(tx, timezones, 0)

    return job


def index_from(tx: Any, timezones: Mapping[str, str], start: int) -> int:
    """Index every decision entry from `start` on, through the write transaction `tx` (whose
    index holds none of them yet); returns the count."""
    count = 0
    while page := tx.entries(start, REBUILD_PAGE):
        for index, raw, _ in page:
            indexed = _indexed(index, raw, timezones)
            if indexed is not None:
                tx.index_decision(*indexed)
                count += 1
        start = page[-1][0] + 1
    return count


def _decoded(index: int, raw: bytes, timezones: Mapping[str, str]) -> tuple | None:
    """(index, body, its policy's time zone) of a decision entry's bytes; None for another."""
    entry = msgspec.json.decode(raw)
    body = entry.get("body")
    if entry.get("kind") != "decision" or not isinstance(body, dict):
        return None
    return index, body, _zone(body, timezones)


def _zone(body: Mapping[str, Any], timezones: Mapping[str, str]) -> str:
    """The time zone of a decision body's policy (UTC for a policy that is not built in)."""
    policy = body.get("policy")
    return timezones.get(policy, "UTC") if isinstance(policy, str) else "UTC"


def _indexed(index: int, raw: bytes, timezones: Mapping[str, str]) -> IndexEntry | None:
    """`indexed_body` of an entry's bytes, None for an entry that is no decision."""
    decoded = _decoded(index, raw, timezones)
    return None if decoded is None else indexed_body(*decoded)


# -- the check: the stored index against the ledger --------------------------------------------

PAST_THE_END = 2**62  # an index no ledger reaches: rows past the last entry are strays


@dataclass(frozen=True)
class IndexDifference:
    """The first way the stored index differs from the ledger: the entry it is about (None for
    a day count) and what differs."""

    at: int | None
    text: str

    def __str__(self) -> str:
        return self.text


class IndexCheck:
    """The stored index held to the decision entries, a range of entries at a time
    (`check_range`): each decision's row, flags and case-less register at once, while the day
    counts and which decisions are latest (one per case, and every case-less one) are tallied
    for `finish`, which reads those in the snapshot that holds the whole ledger. Checks of
    disjoint ranges (`verify`'s chunks, in their own processes) `merge` in index order."""

    def __init__(self, timezones: Mapping[str, str]) -> None:
        self.timezones = timezones
        self.difference: IndexDifference | None = None
        self.decisions = 0
        self.counts: Counter[tuple] = Counter()
        self.last_of_case: dict[str, int] = {}

    def check_range(self, tx: Any, first: int, last: int) -> None:
        """Hold the index rows of entries `first`..`last` to the entries, through `tx`."""
        start = first
        while start <= last and self.difference is None:
            page = [e for e in tx.entries(start, REBUILD_PAGE) if e[0] <= last]
            end = page[-1][0] if page and page[-1][0] < last else last
            decoded = (_decoded(index, raw, self.timezones) for index, raw, _ in page)
            expected = self._expected(d for d in decoded if d is not None)
            self.difference = _page_difference(tx, start, end, expected)
            start = end + 1

    def check_bodies(
        self, tx: Any, first: int, last: int, decisions: list[tuple[int, Mapping[str, Any]]]
    ) -> None:
        """`check_range` with the decision entries of `first`..`last` already read: each
        (index, body), in order (`verify`'s chunks decode every entry anyway)."""
        expected = self._expected(
            (index, body, _zone(body, self.timezones))
            for index, body in decisions
            if isinstance(body, dict)
        )
        self.difference = self.difference or _page_difference(tx, first, last, expected)

    def merge(self, later: IndexCheck) -> None:
        """Add the check of a later range of entries."""
        self.difference = self.difference or later.difference
        self.decisions += later.decisions
        self.counts.update(later.counts)
        self.last_of_case.update(later.last_of_case)  # later entries: later decisions

    def finish(self, tx: Any, size: int) -> IndexDifference | None:
        """The first difference, once every entry below `size` was checked: a range's, else
        rows past the ledger's end, which case decisions are marked latest, the day counts."""
        stray = _page_difference(tx, size, PAST_THE_END, {})
        if stray is not None and self.difference is None:
            return IndexDifference(
                stray.at, f"the index holds rows for entry {stray.at}, past the ledger's {size}"
            )
        return (
            self.difference
            or self._latest_difference(tx.case_latest_marks())
            or self._counts_difference(tx.decision_count_rows())
        )

    def _expected(self, decisions: Iterable[tuple[int, Any, str]]) -> dict[int, tuple]:
        """(row values, flags, register rows) of each decision entry, given as (index, body,
        its policy's time zone), by index; tallied."""
        found: dict[int, tuple] = {}
        keys: list[tuple] = []
        for index, body, timezone in decisions:
            try:
                values = index_values(index, body, timezone)
                flags = sorted(_flags(body))
                register = _register(body, timezone)
            except NOT_WRITTEN:
                continue  # no decision the service writes (`indexed_body`): no row to derive
            found[index] = (values, flags, obligation_rows(values, register) if register else [])
            keys += count_keys(values, flags)
            if values[_CASE_ID] is not None:
                self.last_of_case[values[_CASE_ID]] = index
        self.decisions += len(found)
        self.counts.update(keys)
        return found

    def _latest_difference(self, marked: list[int]) -> IndexDifference | None:
        """The first case decision the index marks latest wrongly, either way (`marked`: those
        it marks, in order): one per case, its newest."""
        expected = sorted(self.last_of_case.values())
        for n in range(max(len(expected), len(marked))):
            want = expected[n] if n < len(expected) else PAST_THE_END
            have = marked[n] if n < len(marked) else PAST_THE_END
            if want < have:
                return IndexDifference(
                    want,
                    f"entry {want} is the newest decision of its case: the index does not mark "
                    "it latest",
                )
            if have < want:
                return IndexDifference(
                    have, f"entry {have}: the index marks it latest; its case has a later decision"
                )
        return None

    def _counts_difference(self, stored: list[tuple]) -> IndexDifference | None:
        """The first key of the day counts whose stored count is not the decisions' count."""
        have = {tuple(row[:7]): int(row[7]) for row in stored}
        for key in sorted(set(have) | set(self.counts)):
            # A row the decisions do not give is a difference even at 0: routing lists it.
            if key not in have or key not in self.counts or have[key] != self.counts[key]:
                policy, day, purpose, route, stage, disposition, flag = key
                combo = f"{route or '-'}/{stage or '-'}/{disposition or '-'}"
                what = f"flag {flag}" if flag else combo
                held = f"{have[key]}" if key in have else "no row"
                given = f"{self.counts[key]}" if key in self.counts else "none"
                return IndexDifference(
                    None,
                    f"the day counts of {policy} on {day} ({purpose}, {what}): the index holds "
                    f"{held}, the ledger's decisions give {given}",
                )
        return None


def _grouped(rows: list[tuple]) -> dict[int, list[tuple]]:
    found: dict[int, list[tuple]] = {}
    for row in rows:
        found.setdefault(row[0], []).append(tuple(row))
    return found


def _page_difference(
    tx: Any, first: int, last: int, expected: dict[int, tuple]
) -> IndexDifference | None:
    """The first entry of `first`..`last` whose index row (but a case decision's `latest`),
    flags or register rows are not what its decision entry gives (or that has rows and is no
    decision). `expected` is in index order."""
    flags, owed = tx.index_flags_in(first, last), tx.index_obligations_in(first, last)
    if _others_as_expected(flags, owed, expected) and _rows_as_expected(tx, first, last, expected):
        return None
    return _first_difference(tx.index_rows_in(first, last), flags, owed, expected)


_AS_JSON = msgspec.json.Encoder().encode


def _rows_as_expected(tx: Any, first: int, last: int, expected: dict[int, tuple]) -> bool:
    """Whether the stored rows are all as expected, compared whole: the usual answer, found
    without a Python step per row; `_first_difference` names what is not. The JSON the
    database writes of them is compared with the expected rows' first: equal texts are equal
    values (a JSON text decodes one way), while unequal ones may still be equal to Python
    (1.0 and 1), which the rows themselves then decide."""
    as_json = tx.index_rows_as_json(first, last)
    if as_json is not None:
        wanted = [(*v, 1 if v[_CASE_ID] is None else None) for v, _, _ in expected.values()]
        if as_json == _AS_JSON(wanted):
            return True
    rows = tx.index_rows_in(first, last)
    return [row[:-1] for row in rows] == [values for values, _, _ in expected.values()] and all(
        row[-1] == 1 for row in rows if row[_CASE_ID] is None
    )


def _others_as_expected(flags: list[tuple], owed: list[tuple], expected: dict[int, tuple]) -> bool:
    """Whether the stored flags and register rows are all as expected (as `_rows_as_expected`)."""
    return flags == [
        (index, flag) for index, (_, names, _) in expected.items() for flag in names
    ] and owed == [line for _, _, lines in expected.values() for line in lines]


def _first_difference(
    stored_rows: list[tuple],
    stored_flags: list[tuple],
    stored_owed: list[tuple],
    expected: dict[int, tuple],
) -> IndexDifference | None:
    """`_page_difference`'s answer, entry by entry."""
    rows = {row[0]: row for row in stored_rows}
    flags, owed = _grouped(stored_flags), _grouped(stored_owed)
    for index in sorted(set(expected) | set(rows) | set(flags) | set(owed)):
        if index not in expected:
            return IndexDifference(
                index, f"entry {index} is not a decision; the index holds rows for it"
            )
        values, want_flags, want_owed = expected[index]
        where = f"entry {index} (decision {values[_DECISION_ID]})"
        stored = rows.get(index)
        if stored is None:
            return IndexDifference(index, f"{where} is not in the index")
        if stored[:-1] != values:
            return _column_difference(where, index, values, stored)
        if values[_CASE_ID] is None and stored[-1] != 1:
            # Always its own latest (only a case's later decision unmarks one), so held here:
            # a case decision's mark may change after this snapshot, and `finish` reads those.
            return IndexDifference(index, f"{where} has no case: the index does not mark it latest")
        have_flags = [flag for _, flag in flags.get(index, ())]
        if have_flags != want_flags:
            return IndexDifference(
                index, f"{where}: the index's flags are {have_flags}, its entry gives {want_flags}"
            )
        if owed.get(index, []) != want_owed:
            return IndexDifference(
                index, f"{where}: its register rows in the index are not what its entry gives"
            )
    return None


def _column_difference(
    where: str, index: int, values: tuple, stored: tuple
) -> IndexDifference | None:
    """The first column of a stored index row that is not what its entry gives."""
    for column, have, want in zip(INDEX_COLUMNS, stored, values, strict=False):
        if have != want:
            return IndexDifference(
                index, f"{where}: the index's {column} is {have!r}, its entry gives {want!r}"
            )
    return None


def index_difference(tx: Any, timezones: Mapping[str, str]) -> tuple[IndexDifference | None, int]:
    """(the first way the stored decision index differs from what the ledger's decision entries
    give, or None; how many decisions the ledger holds), read through one read transaction
    `tx`: every row, flag, case-less register row and day count, and which rows are marked
    latest (`redress index check`, and `verify` where it does not check in chunks)."""
    check, size = IndexCheck(timezones), tx.tree_size()
    check.check_range(tx, 0, size - 1)
    return check.finish(tx, size), check.decisions
