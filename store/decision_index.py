"""The decision index and console sessions, as SQL shared by both stores (a mixin).

The decision index holds one row per `decision` entry (`decision_index`), its flags
(`decision_flags`) and the register of a case-less decision (`decision_obligations`); a case's
register is the case tables' own (`case_obligations`). It is derived from the ledger: written in
the decision entry's own transaction, rebuilt from the ledger by `redress index rebuild`, held
to the entries by `verify` and `redress index check`. Reports and the console's search count
over it here, in SQL.

The register report reads the most rows (a quarter at 1,000,000 decisions: ~200,000 subjects),
so what it reads is laid out to be read in index order: `decision_index_subjects` covers every
column it takes of a subject, and a case-less decision's register rows repeat its policy,
purpose and received day (they never change) under `decision_obligations_subjects`.

The statements use `?` placeholders; a store whose driver wants another style sets
`PLACEHOLDER`. A store mixes `IndexTx` into its transaction class and supplies `_ix_rows`,
`_ix_exec` and `_ix_many`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

INDEX_COLUMNS = (
    "idx", "decision_id", "policy", "as_of", "as_of_day", "received_at", "received_day",
    "purpose", "case_id", "key_id", "disposition", "stage", "route", "kind", "category",
    "complainant_type", "upheld", "urgent", "actions",
)  # fmt: skip
SUBJECT_COLUMNS = (
    "idx", "decision_id", "policy", "as_of", "received_at", "received_day", "case_id",
    "disposition", "stage", "route", "kind", "category", "complainant_type", "upheld", "urgent",
    "actions",
)  # fmt: skip
OBLIGATION_COLUMNS = ("name", "rule", "due", "done_at", "status")
INSERT_ROW = (
    f"INSERT INTO decision_index ({', '.join(INDEX_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(INDEX_COLUMNS))})"
)
INSERT_FLAG = "INSERT INTO decision_flags (idx, flag) VALUES (?, ?)"
INSERT_OBLIGATION = (
    "INSERT INTO decision_obligations (idx, seq, name, rule, due, done_at, status, policy,"
    " purpose, received_day) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# A key's count goes up by the row's count (1 a decision, or what a batch added up).
ADD_COUNTS = (
    "INSERT INTO decision_counts (policy, as_of_day, purpose, route, stage, disposition, flag,"
    " count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (purpose, flag, as_of_day, policy, route, stage, disposition)"
    " DO UPDATE SET count = decision_counts.count + excluded.count"
)
REGISTER_COLUMNS = (
    "idx", "received_day", "case_id", "decision_id", "policy", "received_at", "kind", "category",
    "complainant_type", "stage", "route", "disposition", "upheld", "actions",
)  # fmt: skip


def subject_filter(
    policy: str | None, start: str | None, end: str | None, table: str = "d"
) -> tuple[str, list[Any]]:
    """Subjects (the newest live decision of each case, and each case-less live decision) by
    policy and by the local date received (a subject without one is only in an open period).
    With `table` "o", the same of `decision_obligations`' rows, which carry their decision's
    policy, purpose and received day (a case-less decision is always its own newest)."""
    where = [f"{table}.purpose = 'live'"]
    if table == "d":
        where.insert(0, "d.latest = 1")
    params: list[Any] = []
    if policy is not None:
        where.append(f"{table}.policy = ?")
        params.append(policy)
    if start is not None or end is not None:
        where.append(f"{table}.received_day IS NOT NULL")
    if start is not None:
        where.append(f"{table}.received_day >= ?")
        params.append(start)
    if end is not None:
        where.append(f"{table}.received_day <= ?")
        params.append(end)
    return " AND ".join(where), params


# Where a row's values (`INDEX_COLUMNS` order) hold what the day counts and register rows repeat.
_IDX, _POLICY, _AS_OF_DAY, _RECEIVED_DAY, _PURPOSE = (
    INDEX_COLUMNS.index(c) for c in ("idx", "policy", "as_of_day", "received_day", "purpose")
)
_COMBO = tuple(INDEX_COLUMNS.index(c) for c in ("route", "stage", "disposition"))


def count_keys(values: Sequence[Any], flags: Sequence[str]) -> list[tuple]:
    """The `decision_counts` keys (policy, as_of_day, purpose, route, stage, disposition,
    flag) one decision adds one to, from its row's `values` (`INDEX_COLUMNS` order): its day's
    route, stage and disposition, and each of its flags. The counts let routing sum a few rows
    a day rather than every decision; '' stands for none (a key column cannot hold NULL and
    still match)."""
    day = (values[_POLICY], values[_AS_OF_DAY], values[_PURPOSE])
    route, stage, disposition = (values[at] or "" for at in _COMBO)
    keys = [(*day, route, stage, disposition, "")]
    if flags:  # most decisions have none
        keys += [(*day, "", "", "", flag) for flag in flags]
    return keys


def obligation_rows(values: Sequence[Any], obligations: Sequence[dict[str, Any]]) -> list[tuple]:
    """The `decision_obligations` rows of a case-less decision's register, from its row's
    `values` (`INDEX_COLUMNS` order). Each carries its decision's policy, purpose and received
    day, so that a period's rows are read without a lookup of their decision."""
    subject = (values[_POLICY], values[_PURPOSE], values[_RECEIVED_DAY])
    return [
        (values[_IDX], seq, *map(o.get, OBLIGATION_COLUMNS), *subject)
        for seq, o in enumerate(obligations)
    ]


class IndexTx:
    """Decision-index and session reads and writes over one transaction's connection."""

    PLACEHOLDER = "?"

    def _ix_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        raise NotImplementedError

    def _ix_exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        raise NotImplementedError

    def _ix_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    def _sql(self, sql: str) -> str:
        return sql if self.PLACEHOLDER == "?" else sql.replace("?", self.PLACEHOLDER)

    # -- reads ---------------------------------------------------------------------------------

    def indexed_decisions(self) -> int:
        """How many decisions the index holds."""
        return self._ix_rows("SELECT COUNT(*) FROM decision_index")[0][0]

    def routing_counts(
        self, policy: str | None, start: str | None, end: str | None
    ) -> tuple[list[tuple], list[tuple]]:
        """Live decisions per (policy, route, stage, disposition) and per (policy, flag), by
        the local date of `as_of` within [start, end] (ISO dates, either open)."""
        where, params = ["purpose = 'live'"], []
        for clause, value in (("policy = ?", policy), ("as_of_day >= ?", start),
                              ("as_of_day <= ?", end)):  # fmt: skip
            if value is not None:
                where.append(clause)
                params.append(value)
        condition = " AND ".join(where)
        combos = self._ix_rows(
            self._sql(
                "SELECT policy, route, stage, disposition, SUM(count) FROM decision_counts"
                f" WHERE flag = '' AND {condition} GROUP BY policy, route, stage, disposition"
            ),
            params,
        )
        flags = self._ix_rows(
            self._sql(
                "SELECT policy, flag, SUM(count) FROM decision_counts"
                f" WHERE flag <> '' AND {condition} GROUP BY policy, flag"
            ),
            params,
        )
        return (
            [(p, r or None, s or None, d or None, int(n)) for p, r, s, d, n in combos],
            [(p, f, int(n)) for p, f, n in flags],
        )

    def live_per_day(self) -> list[tuple]:
        """(local date of `as_of`, policy, count) of live decisions, per day and policy."""
        rows = self._ix_rows(
            "SELECT as_of_day, policy, SUM(count) FROM decision_counts"
            " WHERE purpose = 'live' AND flag = '' GROUP BY as_of_day, policy"
        )
        return [(day, policy, int(n)) for day, policy, n in rows]

    def subject_rows(
        self, policy: str | None, start: str | None, end: str | None
    ) -> list[dict[str, Any]]:
        """The subjects received in [start, end], oldest index first, each with its case's
        `complainant` and `state` (None for a case-less decision)."""
        where, params = subject_filter(policy, start, end)
        columns = ", ".join(f"d.{c}" for c in SUBJECT_COLUMNS)
        rows = self._ix_rows(
            self._sql(
                f"SELECT {columns}, c.complainant, c.state FROM decision_index d"
                f" LEFT JOIN cases c ON c.case_id = d.case_id WHERE {where} ORDER BY d.idx"
            ),
            params,
        )
        names = (*SUBJECT_COLUMNS, "complainant", "state")
        return [dict(zip(names, row, strict=True)) for row in rows]

    def newest_case_subjects(
        self, policy: str | None, state: str | None, limit: int, offset: int = 0
    ) -> list[dict[str, Any]]:
        """`subject_rows` of cases only, filtered by policy and stored state, newest first in
        subject order (received day, case id: a total order), at most `limit` from the
        `offset`-th (a page of the console's case list)."""
        where, params = subject_filter(policy, None, None)
        if state is not None:
            where += " AND c.state = ?"
            params.append(state)
        columns = ", ".join(f"d.{c}" for c in SUBJECT_COLUMNS)
        rows = self._ix_rows(
            self._sql(
                f"SELECT {columns}, c.complainant, c.state FROM decision_index d"
                f" JOIN cases c ON c.case_id = d.case_id WHERE {where}"
                " ORDER BY COALESCE(d.received_day, '') DESC, d.case_id DESC LIMIT ? OFFSET ?"
            ),
            [*params, limit, offset],
        )
        names = (*SUBJECT_COLUMNS, "complainant", "state")
        return [dict(zip(names, row, strict=True)) for row in rows]

    def subject_registers(
        self, policy: str | None, start: str | None, end: str | None
    ) -> list[tuple]:
        """(subject idx, name, rule, due, done_at, status) of every register row of the
        subjects received in [start, end], in register order: a case's from the case tables,
        a case-less decision's from the index."""
        where, params = subject_filter(policy, start, end)
        owed, owed_params = subject_filter(policy, start, end, "o")
        rows = self._ix_rows(
            self._sql(
                "SELECT d.idx, o.name, o.rule, o.due, o.done_at, o.status, o.seq"
                " FROM decision_index d JOIN case_obligations o ON o.case_id = d.case_id"
                f" WHERE {where} AND d.case_id IS NOT NULL"
                " UNION ALL SELECT o.idx, o.name, o.rule, o.due, o.done_at, o.status, o.seq"
                f" FROM decision_obligations o WHERE {owed} ORDER BY 1, 7, 2"
            ),
            [*params, *owed_params],
        )
        return [tuple(r[:6]) for r in rows]

    def register_subjects(
        self, policy: str | None, start: str | None, end: str | None
    ) -> list[tuple]:
        """The register report's columns of the subjects received in [start, end], as tuples
        in `REGISTER_COLUMNS` order, in no particular order (the report sorts its own way)."""
        where, params = subject_filter(policy, start, end)
        columns = ", ".join(f"d.{c}" for c in REGISTER_COLUMNS)
        return self._ix_rows(
            self._sql(f"SELECT {columns} FROM decision_index d WHERE {where}"), params
        )

    def register_rows(self, policy: str | None, start: str | None, end: str | None) -> list[tuple]:
        """(subject idx, seq, name, due, done_at, status) of every register row of the subjects
        received in [start, end], in no particular order: `subject_registers` without its rule
        and its sort, for the register report, which orders each subject's few rows itself."""
        where, params = subject_filter(policy, start, end)
        owed, owed_params = subject_filter(policy, start, end, "o")
        return self._ix_rows(
            self._sql(
                "SELECT d.idx, o.seq, o.name, o.due, o.done_at, o.status"
                " FROM decision_index d JOIN case_obligations o ON o.case_id = d.case_id"
                f" WHERE {where} AND d.case_id IS NOT NULL"
                " UNION ALL SELECT o.idx, o.seq, o.name, o.due, o.done_at, o.status"
                f" FROM decision_obligations o WHERE {owed}"
            ),
            [*params, *owed_params],
        )

    def obligation_groups(
        self, policy: str | None, start: str | None, end: str | None
    ) -> list[tuple]:
        """The register rows of the subjects received in [start, end], counted by (policy,
        name, status, due, done_at, received day when done): (…, count) tuples."""
        where, params = subject_filter(policy, start, end)
        owed, owed_params = subject_filter(policy, start, end, "o")
        select = (
            "SELECT {t}.policy, o.name, o.status, o.due, o.done_at,"
            " CASE WHEN o.done_at IS NULL THEN NULL ELSE {t}.received_day END, COUNT(*)"
        )
        group = " GROUP BY 1, 2, 3, 4, 5, 6"
        rows = self._ix_rows(
            self._sql(
                f"{select.format(t='d')} FROM decision_index d"
                " JOIN case_obligations o ON o.case_id = d.case_id"
                f" WHERE {where} AND d.case_id IS NOT NULL{group}"
                f" UNION ALL {select.format(t='o')} FROM decision_obligations o"
                f" WHERE {owed}{group}"
            ),
            [*params, *owed_params],
        )
        return [tuple(r) for r in rows]

    def subject_counts(self, policy: str | None, start: str | None, end: str | None) -> list[tuple]:
        """(complainant_type, disposition, urgent, count) of the subjects received in
        [start, end], as their newest decisions give them."""
        where, params = subject_filter(policy, start, end)
        rows = self._ix_rows(
            self._sql(
                "SELECT d.complainant_type, d.disposition, d.urgent, COUNT(*)"
                f" FROM decision_index d WHERE {where} GROUP BY 1, 2, 3"
            ),
            params,
        )
        return [tuple(r) for r in rows]

    def subject_levels(
        self, policy: str | None, start: str | None, end: str | None, levels: Sequence[str]
    ) -> list[tuple]:
        """(highest level reached, escalated at the last level, count) of the subjects
        received in [start, end]: a level is a decision's stage, ranked by its place in
        `levels` (None when no decision reached one); a case counts every live decision."""
        where, params = subject_filter(policy, start, end)
        rank = "CASE e.stage " + " ".join(f"WHEN ? THEN {n}" for n in range(len(levels))) + " END"
        top = "CASE WHEN e.disposition = 'escalate' AND e.stage = ? THEN 1 ELSE 0 END"
        marks = [*levels, levels[-1]]
        rows = self._ix_rows(
            self._sql(
                f"SELECT level, ministry, COUNT(*) FROM ("
                f" SELECT MAX({rank}) AS level, MAX({top}) AS ministry"
                " FROM decision_index d JOIN decision_index e"
                " ON e.case_id = d.case_id AND e.purpose = 'live'"
                f" WHERE {where} AND d.case_id IS NOT NULL GROUP BY d.idx"
                f" UNION ALL SELECT {rank.replace('e.', 'd.')} AS level,"
                f" {top.replace('e.', 'd.')} AS ministry FROM decision_index d"
                f" WHERE {where} AND d.case_id IS NULL) AS s GROUP BY level, ministry"
            ),
            [*marks, *params, *marks, *params],
        )
        return [tuple(r) for r in rows]

    def pending_obligations(self, before: str, limit: int) -> list[tuple]:
        """(case_id, decision_id, policy, name, due, done_at, status) of subjects' register
        rows not done nor lapsed whose `due` sorts before `before`, oldest due first (then by
        decision and name: the same rows, in the same order, on SQLite and PostgreSQL), at most
        `limit` (the caller judges each at its instant)."""
        where, params = subject_filter(None, None, None)
        select = "SELECT d.case_id, d.decision_id, d.policy, o.name, o.due, o.done_at, o.status"
        pending = "o.done_at IS NULL AND o.status <> 'lapsed' AND o.due < ?"
        rows = self._ix_rows(
            self._sql(
                f"{select} FROM decision_index d JOIN case_obligations o ON o.case_id = d.case_id"
                f" WHERE {where} AND d.case_id IS NOT NULL AND {pending}"
                f" UNION ALL {select} FROM decision_index d"
                f" JOIN decision_obligations o ON o.idx = d.idx"
                f" WHERE {where} AND d.case_id IS NULL AND {pending} ORDER BY 5, 2, 4 LIMIT ?"
            ),
            [*params, before, *params, before, limit],
        )
        return [tuple(r) for r in rows]

    def complainant_subjects(
        self, policy: str | None, start: str | None, end: str | None
    ) -> list[tuple]:
        """(complainant, policy, received_day, received_at, case_id) of the case subjects
        received in [start, end] that name a complainant and a received date, by complainant,
        policy, received day and case."""
        where, params = subject_filter(policy, start, end)
        rows = self._ix_rows(
            self._sql(
                "SELECT c.complainant, d.policy, d.received_day, d.received_at, d.case_id"
                " FROM decision_index d JOIN cases c ON c.case_id = d.case_id"
                f" WHERE {where} AND c.complainant IS NOT NULL AND d.received_day IS NOT NULL"
                " ORDER BY 1, 2, 3, 5"
            ),
            params,
        )
        return [tuple(r) for r in rows]

    def subject_case_decisions(
        self, policy: str | None, start: str | None, end: str | None
    ) -> list[tuple]:
        """(subject idx, decision_id, as_of, stage, disposition, route) of every live decision
        of the cases among the subjects received in [start, end], oldest first."""
        where, params = subject_filter(policy, start, end)
        rows = self._ix_rows(
            self._sql(
                "SELECT d.idx, e.decision_id, e.as_of, e.stage, e.disposition, e.route"
                " FROM decision_index d JOIN decision_index e ON e.case_id = d.case_id"
                f" WHERE {where} AND d.case_id IS NOT NULL AND e.purpose = 'live'"
                " ORDER BY d.idx, e.idx"
            ),
            params,
        )
        return [tuple(r) for r in rows]

    def search_decisions(
        self, filters: dict[str, str | None], offset: int, limit: int, before: int | None = None
    ) -> list[dict[str, Any]]:
        """Indexed decisions newest first, filtered by `policy`, `from`/`to` (local date of
        `as_of`), `route`, `stage`, `flag` and `purpose`, and to entries before index `before`
        (a keyset cursor, for the API's listing); each with its `flags`."""
        where, params = ["1 = 1"], []
        if before is not None:
            where.append("d.idx < ?")
            params.append(before)
        for name, clause in (
            ("policy", "d.policy = ?"),
            ("from", "d.as_of_day >= ?"),
            ("to", "d.as_of_day <= ?"),
            ("route", "d.route = ?"),
            ("stage", "d.stage = ?"),
            ("purpose", "d.purpose = ?"),
            ("flag", "EXISTS (SELECT 1 FROM decision_flags f WHERE f.idx = d.idx AND f.flag = ?)"),
        ):
            if filters.get(name) is not None:
                where.append(clause)
                params.append(filters[name])
        columns = ", ".join(f"d.{c}" for c in INDEX_COLUMNS)
        rows = self._ix_rows(
            self._sql(
                f"SELECT {columns} FROM decision_index d WHERE {' AND '.join(where)}"
                " ORDER BY d.idx DESC LIMIT ? OFFSET ?"
            ),
            [*params, limit, offset],
        )
        found = [dict(zip(INDEX_COLUMNS, row, strict=True)) for row in rows]
        flags = self.decision_flags([d["idx"] for d in found])
        for d in found:
            d["flags"] = flags.get(d["idx"], [])
        return found

    def decision_flags(self, indices: Sequence[int]) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        for start in range(0, len(indices), 500):
            part = list(indices[start : start + 500])
            marks = ", ".join("?" * len(part))
            for idx, flag in self._ix_rows(
                self._sql(
                    f"SELECT idx, flag FROM decision_flags WHERE idx IN ({marks}) ORDER BY 1, 2"
                ),
                part,
            ):
                found.setdefault(idx, []).append(flag)
        return found

    def indexed_case(self, case_id: str) -> list[dict[str, Any]]:
        """The index rows of a case's decisions, oldest first."""
        columns = ", ".join(f"d.{c}" for c in INDEX_COLUMNS)
        rows = self._ix_rows(
            self._sql(f"SELECT {columns} FROM decision_index d WHERE d.case_id = ? ORDER BY d.idx"),
            [case_id],
        )
        return [dict(zip(INDEX_COLUMNS, row, strict=True)) for row in rows]

    # -- the index as stored, for `redress index check` ---------------------------------------

    def index_rows_in(self, first: int, last: int) -> list[tuple]:
        """Every index row (`INDEX_COLUMNS`, then `latest`) of entries `first`..`last`."""
        return self._ix_rows(
            self._sql(
                f"SELECT {', '.join(INDEX_COLUMNS)}, latest FROM decision_index"
                " WHERE idx BETWEEN ? AND ? ORDER BY idx"
            ),
            [first, last],
        )

    def index_rows_as_json(self, first: int, last: int) -> bytes | None:
        """`index_rows_in` as one JSON array of arrays, written by the database (each row's
        `latest` only where it has no case, else null), or None where this store does not
        write it: a million rows compared as one text rather than as tuples of Python values
        (`reports.index`)."""
        return None

    def index_flags_in(self, first: int, last: int) -> list[tuple]:
        """(idx, flag) of entries `first`..`last`, by index then flag."""
        return self._ix_rows(
            self._sql(
                "SELECT idx, flag FROM decision_flags WHERE idx BETWEEN ? AND ? ORDER BY 1, 2"
            ),
            [first, last],
        )

    def index_obligations_in(self, first: int, last: int) -> list[tuple]:
        """(idx, seq, `OBLIGATION_COLUMNS`, policy, purpose, received_day) of case-less
        decisions' register rows, entries `first`..`last`, by index then row."""
        return self._ix_rows(
            self._sql(
                f"SELECT idx, seq, {', '.join(OBLIGATION_COLUMNS)}, policy, purpose,"
                " received_day FROM decision_obligations WHERE idx BETWEEN ? AND ?"
                " ORDER BY 1, 2"
            ),
            [first, last],
        )

    def case_latest_marks(self) -> list[int]:
        """The index of every case decision's row marked latest, in order."""
        return [idx for (idx,) in self._ix_rows(
            "SELECT idx FROM decision_index WHERE latest = 1 AND case_id IS NOT NULL ORDER BY idx"
        )]  # fmt: skip

    def decision_count_rows(self) -> list[tuple]:
        """Every `decision_counts` row: (policy, as_of_day, purpose, route, stage,
        disposition, flag, count)."""
        return self._ix_rows(
            "SELECT policy, as_of_day, purpose, route, stage, disposition, flag, count"
            " FROM decision_counts"
        )

    def console_session(self, id_hash: str) -> tuple[str, str, str] | None:
        """(role, csrf, expires_at) of the session whose id hashes to `id_hash`."""
        rows = self._ix_rows(
            self._sql("SELECT role, csrf, expires_at FROM console_sessions WHERE id_hash = ?"),
            [id_hash],
        )
        return tuple(rows[0]) if rows else None  # type: ignore[return-value]

    # -- writes --------------------------------------------------------------------------------

    def index_decision(
        self,
        row: dict[str, Any],
        flags: Iterable[str],
        obligations: Sequence[dict[str, Any]],
        first_of_case: bool = False,
    ) -> None:
        """Index one decision entry (in its own transaction): its row, its flags and, for a
        case-less decision, its register; a case's earlier decisions stop being its latest
        (none when it is the case's first: then the writer may keep every row for its batch's
        others, `_ix_insert`, with no statement of this decision's own)."""
        idx = row["idx"]
        if row.get("case_id") is not None and not first_of_case:
            # `+latest`: look the case up by its own index, never by the subjects' (latest, …).
            self._ix_exec(
                self._sql("UPDATE decision_index SET latest = 0 WHERE case_id = ? AND +latest = 1"),
                [row["case_id"]],
            )
        values = tuple(map(row.get, INDEX_COLUMNS))
        self._ix_insert(INSERT_ROW, [values])
        flags = list(dict.fromkeys(flags))
        # No rows, no statement (most decisions have no flags, a case's no register rows).
        if flags:
            self._ix_insert(INSERT_FLAG, [(idx, f) for f in flags])
        self._ix_count(count_keys(values, flags))
        if obligations:
            self._ix_insert(INSERT_OBLIGATION, obligation_rows(values, obligations))

    def _ix_insert(self, sql: str, rows: list[tuple]) -> None:
        """Insert `rows` with `sql` (one of the `INSERT_…` statements); a store's writer may
        keep them to insert with the rows of the batch's other jobs, in one statement per
        table, before its next statement of any other kind (`store.sqlite`)."""
        self._ix_many(self._sql(sql), rows)

    def _ix_count(self, keys: list[tuple]) -> None:
        """Add one to the `decision_counts` row of each key (`count_keys`); a store's writer
        may add up a batch's keys and write each once (`store.sqlite`)."""
        self._ix_many(self._sql(ADD_COUNTS), [(*key, 1) for key in keys])

    def clear_decision_index(self) -> None:
        for table in ("decision_flags", "decision_obligations", "decision_counts",
                      "decision_index"):  # fmt: skip
            self._ix_exec(f"DELETE FROM {table}")

    def put_console_session(
        self, id_hash: str, role: str, key_id: str, csrf: str, expires_at: str, purge_before: str
    ) -> None:
        """A new session of the key `key_id` (expired ones are purged here, by a write, never by
        a read)."""
        self._ix_exec(self._sql("DELETE FROM console_sessions WHERE expires_at < ?"),
                      [purge_before])  # fmt: skip
        self._ix_exec(
            self._sql(
                "INSERT INTO console_sessions (id_hash, role, key_id, csrf, expires_at) "
                "VALUES (?, ?, ?, ?, ?)"
            ),
            [id_hash, role, key_id, csrf, expires_at],
        )

    def delete_console_session(self, id_hash: str) -> None:
        self._ix_exec(self._sql("DELETE FROM console_sessions WHERE id_hash = ?"), [id_hash])
