"""The ledger, case, key and idempotency statements both stores share (a mixin).

Like the decision index (`store.decision_index`), the statements use `?` placeholders and go
through `_sql()`, so a store whose driver wants another style only sets `PLACEHOLDER`. What
stays in each store is what truly differs by dialect: upserts (`INSERT OR IGNORE` / `ON CONFLICT
DO NOTHING`), byte literals, row locking, collation-sensitive ordering, and how the tree grows.
A store mixes `TablesTx` into its transaction class; `self.conn` is a DB-API connection whose
`execute` returns a cursor, and `self._w` is the writer's state (None outside the writer).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from typing import Annotated, Any

import msgspec

from store.base import (
    COSIGNED_PATTERN,
    DamagedValue,
    StoredCheckpoint,
    StoredResponse,
    VersionConflict,
    blob,
    stored_hash,
)
from store.decision_index import IndexTx

# What SQLite says when a query's own functions meet a stored value the service never wrote
# there (JSON functions on text that is no JSON, a sum past 2^63): the query is fixed, so the
# data is at fault.
DATA_ERRORS = ("malformed JSON", "integer overflow")


@contextlib.contextmanager
def stored_data() -> Iterator[None]:
    """Run a read whose failure on a stored value is `DamagedValue` (the API's 503 naming
    `redress verify`), not a 500."""
    try:
        yield
    except sqlite3.OperationalError as error:
        if str(error) in DATA_ERRORS:
            raise DamagedValue(f"a stored value the service never writes there: {error}") from None
        raise
    except Exception as error:
        if is_data_exception(error):
            raise DamagedValue(f"a stored value the service never writes there: {error}") from None
        raise


def is_data_exception(error: BaseException) -> bool:
    """PostgreSQL's class 22, "data exception": text that is no JSON where SQL reads JSON, a
    number out of its column's range (psycopg gives each error its SQLSTATE)."""
    return str(getattr(error, "sqlstate", None) or "").startswith("22")


class TablesTx(IndexTx):
    """`ReadTx` and `WriteTx` methods whose SQL is the same on both stores."""

    conn: Any
    _w: Any
    RECORD_ORDER = "rowid"  # what orders `personal_records` as written (SQLite's rowid)

    def __init__(self, conn: Any, writer: Any = None) -> None:
        self.conn = conn
        self._w = writer

    def _ix_rows(self, sql: str, params: Any = ()) -> list[tuple]:
        with stored_data():
            return self.conn.execute(sql, tuple(params)).fetchall()

    def _ix_exec(self, sql: str, params: Any = ()) -> int:
        return self.conn.execute(sql, tuple(params)).rowcount

    def _one(self, sql: str, params: Iterable[Any] = ()) -> Any:
        return self.conn.execute(self._sql(sql), tuple(params)).fetchone()

    def _dicts(self, sql: str, params: Iterable[Any]) -> list[dict[str, Any]]:
        with stored_data():
            cursor = self.conn.execute(self._sql(sql), tuple(params))
            names = [d[0] for d in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor]

    # -- ledger reads ------------------------------------------------------------------------

    def entry(self, index: int) -> tuple[bytes, str] | None:
        row = self._one("SELECT entry, entry_hash FROM entries WHERE idx = ?", (index,))
        return None if row is None else (blob(row[0]), row[1])

    def entries(self, start: int, limit: int) -> list[tuple[int, bytes, str]]:
        rows = self.conn.execute(
            self._sql(
                "SELECT idx, entry, entry_hash FROM entries WHERE idx >= ? ORDER BY idx LIMIT ?"
            ),
            (start, limit),
        )
        return [(i, blob(raw), h) for i, raw, h in rows]

    def find_entry(self, kind: str, ref: str) -> int | None:
        row = self._one(
            "SELECT idx FROM entries WHERE kind = ? AND ref = ? ORDER BY idx LIMIT 1", (kind, ref)
        )
        return None if row is None else row[0]

    def entries_of_kind(self, kind: str, start: int = 0) -> list[bytes]:
        sql = self._sql("SELECT entry FROM entries WHERE kind = ? AND idx >= ? ORDER BY idx")
        return [blob(raw) for (raw,) in self.conn.execute(sql, (kind, start))]

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        row = self._one(
            "SELECT tree_size, root_hash, note FROM checkpoints ORDER BY tree_size DESC LIMIT 1"
        )
        return None if row is None else StoredCheckpoint(*row)

    def checkpoints(self) -> list[StoredCheckpoint]:
        rows = self.conn.execute(
            "SELECT tree_size, root_hash, note FROM checkpoints ORDER BY tree_size"
        )
        return [StoredCheckpoint(*row) for row in rows]

    def checkpoints_newest(self, offset: int, limit: int) -> list[StoredCheckpoint]:
        rows = self.conn.execute(
            self._sql(
                "SELECT tree_size, root_hash, note FROM checkpoints ORDER BY tree_size DESC"
                " LIMIT ? OFFSET ?"
            ),
            (limit, offset),
        )
        return [StoredCheckpoint(*row) for row in rows]

    def latest_cosigned_checkpoint(self, min_size: int = 0) -> StoredCheckpoint | None:
        # Two signature lines ("\n— " starts each) or more: the log's and a witness's.
        row = self._one(
            "SELECT tree_size, root_hash, note FROM checkpoints WHERE tree_size >= ? "
            "AND note LIKE ? ORDER BY tree_size DESC LIMIT 1",
            (min_size, COSIGNED_PATTERN),
        )
        return None if row is None else StoredCheckpoint(*row)

    # -- case reads --------------------------------------------------------------------------

    def case(self, case_id: str) -> dict[str, Any] | None:
        rows = self._dicts("SELECT * FROM cases WHERE case_id = ?", (case_id,))
        return rows[0] if rows else None

    def case_decision_ids(self, case_id: str) -> list[str]:
        rows = self.conn.execute(
            self._sql("SELECT decision_id FROM case_decisions WHERE case_id = ? ORDER BY seq"),
            (case_id,),
        )
        return [r[0] for r in rows]

    def case_misplaced_decisions(self) -> str | None:
        # The service numbers a case's decisions 0, 1, 2… (`add_case_decision`): with the
        # table's key (case_id, seq), MIN 0 and MAX n - 1 hold exactly those. A place of
        # another type (SQLite keeps any) compares unequal to both ends.
        row = self._one(
            "SELECT case_id FROM case_decisions GROUP BY case_id"
            " HAVING MIN(seq) <> 0 OR MAX(seq) <> COUNT(*) - 1 ORDER BY case_id LIMIT 1"
        )
        return None if row is None else row[0]

    # -- personal data and keys --------------------------------------------------------------

    def personal_key(self, case_id: str) -> bytes | None:
        row = self._one("SELECT key FROM personal_keys WHERE case_id = ?", (case_id,))
        return None if row is None or row[0] is None else blob(row[0])

    def api_keys(self) -> list[tuple[str, str]]:
        rows = self.conn.execute("SELECT key_hash, role FROM api_keys WHERE revoked_at IS NULL")
        return [tuple(r) for r in rows]

    def key_revision(self) -> str:
        # Every row's say in who may do what, not a count of revocations alone: a role or a
        # name edited by hand (a name decides whose personal data a key reads) was served
        # unchanged by a running node until the next revocation. The table holds tens of rows.
        digest = hashlib.sha256()
        for row in self.conn.execute(
            "SELECT key_hash, role, name, revoked_at FROM api_keys ORDER BY key_hash"
        ):
            digest.update(repr(tuple(row)).encode())
        return digest.hexdigest()

    def stored_response(self, key_id: str, idempotency_key: str) -> StoredResponse | None:
        row = self._one(
            "SELECT request_hash, status, response, created_at FROM idempotency "
            "WHERE owner = ? AND key = ?",
            (key_id, idempotency_key),
        )
        if row is None:
            return None
        request_hash, status, response, created_at = row
        # A claim (0) or a creation's answer (201), as the writer keeps them; anything else was
        # written by other hands (a status 600 had uvicorn drop the connection on the retry).
        if (
            status not in (0, 201)
            or not isinstance(request_hash, str)
            or not isinstance(created_at, str)
        ):
            raise DamagedValue(f"a kept answer of status {status!r}, dated {created_at!r}")
        return StoredResponse(request_hash, status, blob(response), created_at)

    def has_api_key_with_role(self, role: str) -> bool:
        return self._one("SELECT 1 FROM api_keys WHERE role = ? LIMIT 1", (role,)) is not None

    # -- writes (writer only) ----------------------------------------------------------------

    def put_case(self, row: dict[str, Any], expected_version: int | None) -> int:
        if expected_version is not None and type(expected_version) is not int:
            raise DamagedValue(f"case {row['case_id']}'s version is {expected_version!r}")
        if expected_version is None:
            self.conn.execute(self._sql(_insert_case(tuple(row))), (*row.values(), 1))
            return 1
        fields = {k: v for k, v in row.items() if k != "case_id"}
        cursor = self.conn.execute(
            self._sql(
                f"UPDATE cases SET {', '.join(f'{k} = ?' for k in fields)}, version = version + 1 "
                "WHERE case_id = ? AND version = ?"
            ),
            (*fields.values(), row["case_id"], expected_version),
        )
        if cursor.rowcount != 1:
            raise VersionConflict(f"case {row['case_id']} changed since version {expected_version}")
        return expected_version + 1

    def add_case(self, row: dict[str, Any], decision_id: str, obligations: list[dict]) -> None:
        # Inserts only: a store's writer may keep them for the batch's other rows (`_ix_insert`).
        case_id = row["case_id"]
        self._ix_insert(_insert_case(tuple(row)), [(*row.values(), 1)])
        self._ix_insert(INSERT_CASE_DECISION, [(case_id, 0, decision_id)])
        if obligations:
            self._ix_insert(INSERT_OBLIGATION, _obligation_rows(case_id, obligations))

    def add_case_decision(self, case_id: str, decision_id: str) -> None:
        self.conn.execute(
            self._sql(
                "INSERT INTO case_decisions (case_id, seq, decision_id) VALUES (?, "
                "(SELECT COUNT(*) FROM case_decisions WHERE case_id = ?), ?)"
            ),
            (case_id, case_id, decision_id),
        )

    def replace_obligations(self, case_id: str, rows: list[dict[str, Any]]) -> None:
        self.conn.execute(self._sql("DELETE FROM case_obligations WHERE case_id = ?"), (case_id,))
        self._ix_many(self._sql(INSERT_OBLIGATION), _obligation_rows(case_id, rows))

    def replace_case_decisions(self, case_id: str, decision_ids: list[str]) -> None:
        self.conn.execute(self._sql("DELETE FROM case_decisions WHERE case_id = ?"), (case_id,))
        self._ix_many(
            self._sql(INSERT_CASE_DECISION),
            [(case_id, seq, d) for seq, d in enumerate(decision_ids)],
        )

    def erase_personal(self, case_id: str) -> list[str]:
        commitments = [
            stored_hash(r[0])  # the erasure entry names them
            for r in self.conn.execute(
                self._sql(
                    "SELECT commitment FROM personal_records WHERE case_id = ? "
                    f"ORDER BY {self.RECORD_ORDER}"
                ),
                (case_id,),
            )
        ]
        self.conn.execute(self._sql("DELETE FROM personal_keys WHERE case_id = ?"), (case_id,))
        self.conn.execute(self._sql("DELETE FROM personal_records WHERE case_id = ?"), (case_id,))
        self.conn.execute(
            self._sql("UPDATE cases SET complainant = NULL WHERE case_id = ?"), (case_id,)
        )
        return commitments

    def revoke_api_key(self, key_id: str) -> bool:
        cursor = self.conn.execute(
            self._sql("UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL"),
            (self.recorded_at(), key_id),  # its `revoke` entry's, appended with it
        )
        if cursor.rowcount != 1:
            return False
        # A console session opened with the key is the key's: it ends with it, on every node.
        self.conn.execute(self._sql("DELETE FROM console_sessions WHERE key_id = ?"), (key_id,))
        return True

    def date_api_key(self, key_id: str, at: str) -> None:
        self.conn.execute(
            self._sql(
                "UPDATE api_keys SET created_at = ?, revoked_at = CASE WHEN revoked_at IS NULL"
                " THEN NULL ELSE ? END WHERE key_id = ?"
            ),
            (at, at, key_id),
        )

    def put_response(self, key_id: str, idempotency_key: str, status: int, body: bytes) -> None:
        self.conn.execute(
            self._sql(
                "UPDATE idempotency SET status = ?, response = ? WHERE owner = ? AND key = ?"
            ),
            (status, body, key_id, idempotency_key),
        )

    def before_commit(self, fn: Callable[[Any], None]) -> None:
        self._writer().hooks.append(fn)

    def recorded_at(self) -> str:
        return self._writer().recorded_at

    def _writer(self) -> Any:
        if self._w is None:
            raise RuntimeError("a write outside the writer's transaction")
        return self._w


# A register row stored before rows kept their end (schema 7, no `ends_at`) is overdue while it is
# listed and not done, as it was read then (`cases.register.was_overdue`).
STILL_PENDING = "o.done_at IS NULL AND o.status IN ('open', 'overdue')"
INSERT_CASE_DECISION = "INSERT INTO case_decisions (case_id, seq, decision_id) VALUES (?, ?, ?)"
INSERT_OBLIGATION = (
    "INSERT INTO case_obligations (case_id, seq, name, rule, due, done_at, status, "
    "first_decision_id, last_decision_id, passes_at, dropped_at, ends_at, gaps) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# An obligation not overdue at the cutoff (the same parameter twice) because it was not listed
# then: in one of its `gaps` (`cases.register.was_overdue`), kept as JSON text.
IN_A_GAP = (
    "EXISTS (SELECT 1 FROM json_each(o.gaps) AS g WHERE json_extract(g.value, '$[0]') <= ?"
    " AND ? < json_extract(g.value, '$[1]'))"
)


# A register row's `gaps`: `[from, to]` pairs of instants (`cases.register`).
GAPS = list[Annotated[list[str], msgspec.Meta(min_length=2, max_length=2)]]


def stored_obligations(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Register rows as read from the case tables, their `gaps` decoded (stored as JSON text,
    NULL for none); `DamagedValue` for gaps the service never writes."""
    for row in rows:
        gaps = row.get("gaps")
        row["gaps"] = _stored_gaps(gaps) if gaps else []
    return rows


def _stored_gaps(text: Any) -> list[list[str]]:
    try:
        return msgspec.json.decode(text, type=GAPS)
    except (msgspec.DecodeError, TypeError) as exc:
        raise DamagedValue(f"a register row's gaps {str(text)[:40]!r}: {exc}") from None


@functools.cache  # one set of columns in practice: the case row `service.workflows` writes
def _insert_case(columns: tuple[str, ...]) -> str:
    """The `INSERT` of a new case row of these columns, at version 1 (its last parameter)."""
    names = [*columns, "version"]
    return f"INSERT INTO cases ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"


def _obligation_rows(case_id: str, rows: Iterable[dict[str, Any]]) -> list[tuple]:
    """`INSERT_OBLIGATION`'s parameters for the register `rows`, in order."""
    return [
        (
            case_id,
            seq,
            r["name"],
            r.get("rule"),
            r.get("due"),
            r.get("done_at"),
            r.get("status", "open"),
            r.get("first_decision_id"),
            r.get("last_decision_id"),
            r.get("passes_at"),
            r.get("dropped_at"),
            r.get("ends_at"),
            json.dumps(r["gaps"]) if r.get("gaps") else None,
        )
        for seq, r in enumerate(rows)
    ]
