"""The store on one SQLite file (WAL, `synchronous=FULL`, `secure_delete`), with one
group-committing writer thread per process and a read connection per thread.

The writer takes whatever jobs are waiting (a lone job is never held back), takes its process's
turn to write, runs them in order in one `BEGIN IMMEDIATE` transaction, then once more the jobs
submitted while it ran those, signs a checkpoint of the tree it reached, commits once, ends its
turn, and only then answers each waiter. Reads run on their own connections, so a writer
waiting for the lock never blocks them.

A failing job must fail alone. Jobs rarely fail (a case changed since its version, an
Idempotency-Key already claimed), so a batch first runs its jobs optimistically, with no
savepoint per job (two statements less per job, each a GIL hand-off); only when one raises is
the transaction rolled back, the writer's state with it, and the batch run again in a new one
with a savepoint per job, so that each job gets its own answer. A job may therefore run twice
before its commit: jobs act only through their `tx` (whose writes and writer state are undone),
which every job in the code base does (they compute what they write beforehand, in the caller's
thread; the `Workflows` caches are filled after the write returns).

A job's entries are not inserted one statement each: `append` keeps the row, and the writer's
connection (`_WriterConn`) inserts every row kept so far just before its next statement of any
kind, so each statement, a job's reads included (the policy entry lookup), sees every entry
appended before it. The decision index's rows are kept the same way, and its day counts added up
over the batch, so that a batch of decisions costs a few statements rather than four each. The
rows of a table, and the batch's tree nodes, go in as one multi-row `INSERT OR FAIL` (per 64 rows,
`insert_rows`), not an `executemany`: SQLite opens the table and its indexes once rather than once
a row, the writer lets go of the GIL once rather than once a row, and `OR FAIL` spares SQLite the
statement journal that a multi-row `INSERT` (`OR ABORT`) keeps to undo its own rows, which the
writer never needs: a failed insert is rolled back with its batch, or its job's savepoint.

The entries of one batch share its `recorded_at`, the time its transaction began: they become
durable in the same commit, so one timestamp is as true for each of them as any, and it costs
one clock read and format per batch instead of one per entry.

Across processes (`redress serve --workers N`, the CLI beside a server) SQLite's write lock
serialises the writers, and each batch reads the true tail inside its transaction. In front of
it the writers queue on `redress.db.lock`, a `flock` on a file next to the database
(`store.writer_lock`): a waiting process is woken the moment the other's turn ends instead of
polling in SQLite's busy handler. SQLite's lock stays the truth and its busy timeout still
bounds the wait for a writer outside the queue (a `sqlite3` shell), so a batch that cannot
write within `BUSY_WAIT_S`, waiting in either, is `StoreBusy`. The lock file holds nothing: it
is created on the first write; when it cannot be (a read-only directory) the writers rely on
SQLite's lock alone, and if it is deleted while servers run, processes that opened the old file
and those that create a new one no longer queue together (still correct, slower under
contention) until they restart. A backup does not need it.

WAL pages are copied into the database at most every `WAL_CHECKPOINT_S`, rather than by
SQLite's auto-checkpoint inside a COMMIT that waiters would wait for, and not by the writer
either: a copy (a PASSIVE checkpoint, with the fsync of the database that `synchronous=FULL`
asks) took 15-100 ms under load, and every batch behind it waited that long. A thread of its
own (`WalCopier`), on its own connection, copies while the writer goes on; the WAL starts afresh
at the first batch that begins after a copy has caught up with it, which happens whenever the
writer pauses (between the event loop's rounds it mostly does). Should the copies keep missing
that (a writer never pausing), so that the WAL holds more than `WAL_FRAMES_MAX` frames after a
copy, the writer copies it in its own turn once, as it used to each time, and the WAL restarts.
Erasure (`scrub`) still checkpoints with TRUNCATE before it answers.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar

import clock
from ledger.canonical import ZERO_HASH, entry_bytes
from ledger.merkle import leaf_hash
from ledger.tree import Frontier, frontier_keys
from store.base import (
    BUSY_WAIT_S,
    AppendedElsewhere,
    AppendReceipt,
    MissingNodes,
    StoreBusy,
    StoredResponse,
    StoreUnavailable,
    blob,
    gains_signatures,
    stored_hash,
)
from store.decision_index import ADD_COUNTS, INDEX_COLUMNS
from store.migrations import migrate
from store.schema import NEVER_NULL, TYPED_COLUMNS
from store.tables import IN_A_GAP, STILL_PENDING, TablesTx, stored_obligations
from store.writer_lock import WriterLock

T = TypeVar("T")
DB_FILE = "redress.db"
LOCK_SUFFIX = ".lock"  # the writers' queue: `redress.db.lock` (`store.writer_lock`)
MAX_BATCH = 1024
SCRUB_WAIT_S = 10.0
WAL_CHECKPOINT_S = 0.25  # how often the WAL is copied into the database (`WalCopier`)
WAL_CHECKPOINT_WAIT_S = 0.05  # how long the writer waits for its turn to copy (else copies anyway)
WAL_FRAMES_MAX = 4096  # frames left in the WAL after a copy beyond which the writer copies it
# The WAL is cut back to this when it restarts: a burst, or a reader holding an old snapshot
# so that copies could not catch up, had grown it for good (SQLite reuses it, never shrinks it).
WAL_SIZE_LIMIT = 64 * 1024 * 1024
Sign = Callable[[int, bytes], str]  # (tree size, root hash) -> signed checkpoint note


def connect(path: Path, statements: int = 128) -> sqlite3.Connection:
    """The one place a connection is made: WAL (cut back to `WAL_SIZE_LIMIT` when it
    restarts), full sync, deleted content overwritten.
    `statements`: how many prepared statements it keeps (the sqlite3 module's default)."""
    conn = sqlite3.connect(
        path,
        timeout=BUSY_WAIT_S,
        isolation_level=None,
        check_same_thread=False,
        cached_statements=statements,
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
    return conn


class BatchHead:
    """The tree a batch reached: filled in when the batch commits, read by its receipts."""

    __slots__ = ("tree_size", "root_hash")

    def __init__(self) -> None:
        self.tree_size = 0
        self.root_hash = ""


class Receipt(AppendReceipt):
    """An `AppendReceipt` whose tree is the one its batch committed (and signed)."""

    def __init__(self, index: int, entry_hash: str, head: BatchHead) -> None:
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "entry_hash", entry_hash)
        object.__setattr__(self, "_head", head)

    @property  # type: ignore[override]
    def tree_size(self) -> int:
        return self._head.tree_size

    @property  # type: ignore[override]
    def root_hash(self) -> str:
        return self._head.root_hash


class _Job:
    """A write waiting for the writer, answered once its batch committed (or failed), in one of
    three ways: for `write_async`, through an asyncio future of the submitting event loop, which
    the writer settles with one callback per batch (`answer_all`); for `write`, through a plain
    lock that the blocked thread waits on, which costs both threads less (under the GIL) than a
    Future's condition variable at thousands of writes a second; else through a `Future`."""

    __slots__ = (
        "fn",
        "future",
        "loop",
        "waiter",
        "result",
        "error",
        "scrub",
        "checkpoint",
        "enqueued",
        "answered",
    )

    def __init__(
        self,
        fn: Callable[[Any], Any],
        scrub: bool,
        checkpoint: bool,
        waited: bool = False,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        """`waited`: the submitting thread blocks in `wait` (no Future). `loop`: the event loop
        that awaits `future` (an asyncio future of that loop)."""
        self.fn = fn
        self.loop = loop
        self.future: Future | asyncio.Future | None = None
        self.waiter: threading.Lock | None = None
        if loop is not None:
            self.future = loop.create_future()
        elif waited:
            self.waiter = threading.Lock()
            self.waiter.acquire()  # released by `_answer_now`
        else:
            self.future = Future()
        self.result: Any = None
        self.error: BaseException | None = None
        self.scrub = scrub
        self.checkpoint = checkpoint
        self.enqueued = time.monotonic()
        self.answered = False  # by the writer (an asyncio future is settled later, on its loop)

    def _answer_now(self, result: Any, error: BaseException | None) -> None:
        """Answer a job with no event loop, in the writer's thread."""
        self.answered = True
        if self.future is not None:
            if error is None:
                self.future.set_result(result)
            else:
                self.future.set_exception(error)
            return
        waiter, self.waiter = self.waiter, None
        assert waiter is not None, "a job answered twice"
        self.result, self.error = result, error
        waiter.release()

    def wait(self) -> Any:
        """The answer, for the thread that submitted the job without a Future."""
        if self.future is not None:
            return self.future.result()
        waiter = self.waiter
        if waiter is not None:  # else answered already
            waiter.acquire()
        if self.error is not None:
            raise self.error
        return self.result


Outcome = tuple[_Job, Any, BaseException | None]  # a job, its result, or the error it failed with


WAL_FILES = ("-wal", "-shm")


def unavailable(exc: BaseException) -> BaseException:
    """What a job is answered when the store failed it: SQLite's own failures (a read-only or
    full disk, an I/O error, a damaged file) are `StoreUnavailable`, which the API answers 503;
    anything else (a job's own error, a constraint it broke) is answered as it is."""
    if is_store_failure(exc):
        return StoreUnavailable(f"the store could not write: {exc}")
    return exc


def is_store_failure(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError


def answer_all(outcomes: Iterable[Outcome]) -> None:
    """Answer jobs, in the writer's thread: each event loop's jobs by one callback on that loop
    (`_settle`) for all of them, the others at once. The writer never touches an asyncio future
    itself, so a request cancelled meanwhile (its future cancelled) cannot make answering fail
    for the rest of the batch."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, Any, Any]]] = {}
    for job, result, error in outcomes:
        if job.loop is None:
            job._answer_now(result, error)
            continue
        job.answered = True
        by_loop.setdefault(job.loop, []).append((job.future, result, error))
    for loop, answers in by_loop.items():
        with suppress(RuntimeError):  # the loop is closed: nobody awaits these answers any more
            loop.call_soon_threadsafe(_settle, answers)


class LoopSubmissions:
    """The jobs of `write_async`, put on the writer's queue together at the end of the event
    loop's round rather than each as its request submits it: the writer, woken by the first,
    would otherwise start a batch while the loop is still preparing the rest (interleaved with
    its requests' rules and encoding), and commit many small batches instead of one. No job
    waits longer than the round the loop was running anyway."""

    def __init__(self, enqueue: Callable[[_Job], None]) -> None:
        self._enqueue = enqueue
        self._pending: dict[asyncio.AbstractEventLoop, list[_Job]] = {}

    def submit(self, fn: Callable[[Any], T], scrub: bool) -> asyncio.Future[T]:
        """A new job of `fn`; the running loop's future of its answer (see `answer_all`)."""
        loop = asyncio.get_running_loop()
        job = _Job(fn, scrub, False, loop=loop)
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            loop.call_soon(self._flush, loop)
        pending.append(job)
        return job.future  # type: ignore[return-value]

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        for job in self._pending.pop(loop):
            self._enqueue(job)


def _settle(answers: list[tuple[asyncio.Future, Any, BaseException | None]]) -> None:
    """On the awaiting event loop: settle each future not cancelled (its request gone; its
    job committed all the same, as it would have from a blocked thread)."""
    for future, result, error in answers:
        if future.done():
            continue
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)


# Each index row of a range of entries as a JSON array, in order (`index_rows_as_json`).
ROWS_AS_JSON = (
    f"SELECT CAST(json_array({', '.join(INDEX_COLUMNS)}, CASE WHEN case_id IS NULL THEN latest"
    " END) AS BLOB) FROM decision_index WHERE idx BETWEEN ? AND ? ORDER BY idx"
)


class SqliteTx(TablesTx):
    """`ReadTx` and (inside the writer) `WriteTx` on one connection."""

    def _ix_many(self, sql: str, rows: Iterable[Any]) -> None:
        self.conn.executemany(sql, rows)

    def _ix_insert(self, sql: str, rows: list[tuple]) -> None:
        w = self._w
        if w is None:
            return self._ix_many(sql, rows)
        # Inserted with the batch's other rows of `sql` before the next statement
        # (`_WriterConn`); a failed job's are dropped.
        kept = w.later.get(sql)
        if kept is None:
            w.later[sql] = rows
        else:
            kept += rows

    def _ix_count(self, keys: list[tuple]) -> None:
        w = self._w
        if w is None:
            return super()._ix_count(keys)
        counts = w.counts  # added up over the batch, written with its other rows
        for key in keys:
            counts[key] = counts.get(key, 0) + 1

    def index_rows_as_json(self, first: int, last: int) -> bytes | None:
        try:
            rows = self.conn.execute(ROWS_AS_JSON, (first, last)).fetchall()
        except sqlite3.OperationalError:  # a BLOB where the service writes text: no JSON
            return None
        return b"[" + b",".join([row for (row,) in rows]) + b"]"

    # -- ledger reads ------------------------------------------------------------------------

    def tree_size(self) -> int:
        if self._w is not None:
            return self._w.frontier.size
        row = self.conn.execute("SELECT MAX(idx) FROM entries").fetchone()
        return 0 if row[0] is None else row[0] + 1

    def nodes(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        keys = list(dict.fromkeys(keys))
        found: dict[tuple[int, int], bytes] = {}
        for chunk in range(0, len(keys), 200):
            part = keys[chunk : chunk + 200]
            where = " OR ".join(["(level = ? AND position = ?)"] * len(part))
            params = [v for key in part for v in key]
            for level, position, value in self.conn.execute(
                f"SELECT level, position, hash FROM tree_nodes WHERE {where}", params
            ):
                found[(level, position)] = blob(value)
        missing = [k for k in keys if k not in found]
        if missing:
            raise MissingNodes(f"tree nodes {missing[:3]} are missing")
        return found

    # -- case reads --------------------------------------------------------------------------

    def case_obligations(self, case_id: str) -> list[dict[str, Any]]:
        return stored_obligations(
            self._dicts(
                "SELECT * FROM case_obligations WHERE case_id = ? ORDER BY seq, name", (case_id,)
            )
        )

    def find_cases(
        self,
        *,
        policies: Iterable[str] | None = None,
        state: str | None = None,
        reference: str | None = None,
        overdue_cutoffs: dict[str, str] | None = None,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        where: list[str] = []
        params: list[Any] = []
        if policies is not None:
            chosen = list(policies)
            where.append(f"policy IN ({', '.join('?' * len(chosen))})")
            params += chosen
        if state is not None:
            where.append("state = ?")
            params.append(state)
        if reference is not None:
            where.append("reference = ?")
            params.append(reference)
        if overdue_cutoffs is not None:
            # Per policy, since a date's start differs by time zone: due passed at the cutoff
            # and not ended by it (`cases.register.was_overdue`).
            tests = " OR ".join(
                "(c.policy = ? AND o.passes_at <= ? AND (o.ends_at > ?"
                f" OR (o.ends_at IS NULL AND {STILL_PENDING}))"
                f" AND (o.gaps IS NULL OR NOT {IN_A_GAP}))"
                for _ in overdue_cutoffs
            )
            where.append(
                "EXISTS (SELECT 1 FROM case_obligations AS o WHERE o.case_id = c.case_id "
                f"AND ({tests or '0'}))"
            )
            for pid, cutoff in overdue_cutoffs.items():
                params += [pid, cutoff, cutoff, cutoff, cutoff]
        if after is not None:
            where.append("(c.opened_at, c.case_id) > (?, ?)")
            params += list(after)
        sql = "SELECT * FROM cases AS c"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY c.opened_at, c.case_id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return self._dicts(sql, params)

    def case_ids(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT case_id FROM cases ORDER BY case_id")]

    # -- personal data and keys --------------------------------------------------------------

    def latest_sealed(self, case_id: str) -> bytes | None:
        row = self.conn.execute(
            "SELECT sealed FROM personal_records WHERE case_id = ? "
            "ORDER BY sealed_at DESC, rowid DESC LIMIT 1",
            (case_id,),
        ).fetchone()
        return None if row is None else blob(row[0])

    def key_records(self) -> list[dict[str, Any]]:
        return self._dicts(
            "SELECT key_id, key_hash, role, name, created_at, revoked_at FROM api_keys "
            "ORDER BY created_at, key_id",
            (),
        )

    # -- writes (writer only) ----------------------------------------------------------------

    def append(self, kind: str, body: bytes, ref: str | None) -> AppendReceipt:
        w = self._writer()
        index = w.frontier.size
        raw = entry_bytes(index, kind, w.recorded_at, w.tail_hash, body)
        digest = hashlib.sha256(raw).hexdigest()
        # Inserted before the next statement (`_WriterConn`); a failed job's are dropped.
        w.rows.append((index, kind, ref, digest, raw))
        # Written once per batch (`_Writer.flush_nodes`); a failed job's are dropped with it.
        w.nodes.extend(w.frontier.append(leaf_hash(raw)))
        w.tail_hash = digest
        return Receipt(index, digest, w.head)

    def put_personal(self, case_id: str, key: bytes, commitment: str, sealed: bytes) -> None:
        # Kept, in the writer, to insert with the batch's other rows (`_ix_insert`).
        self._ix_insert(INSERT_PERSONAL_KEY, [(case_id, key)])
        self._ix_insert(INSERT_PERSONAL_RECORD, [(commitment, case_id, sealed, clock.now_text())])

    def add_api_key(
        self,
        key_hash: str,
        role: str,
        key_id: str | None = None,
        name: str | None = None,
        created_at: str | None = None,
    ) -> bool:
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO api_keys (key_hash, role, created_at, key_id, name) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                key_hash,
                role,
                created_at or clock.now_text(),
                key_id or "key_" + secrets.token_hex(8),
                name,
            ),
        )
        return cursor.rowcount == 1

    def claim_response(
        self, key_id: str, idempotency_key: str, request_hash: str, expired_before: str
    ) -> StoredResponse | None:
        self.conn.execute(
            "DELETE FROM idempotency WHERE owner = ? AND key = ? AND created_at < ?",
            (key_id, idempotency_key, expired_before),
        )
        found = self.stored_response(key_id, idempotency_key)
        if found is not None:
            return found
        self.conn.execute(
            "INSERT INTO idempotency (owner, key, request_hash, status, response, created_at) "
            "VALUES (?, ?, ?, 0, x'', ?)",
            (key_id, idempotency_key, request_hash, clock.now_text()),
        )
        return None

    def attach_cosignatures(self, tree_size: int, note: str) -> bool:
        row = self.conn.execute(
            "SELECT note FROM checkpoints WHERE tree_size = ?", (tree_size,)
        ).fetchone()
        if row is None or not gains_signatures(row[0], note):
            return False
        self.conn.execute("UPDATE checkpoints SET note = ? WHERE tree_size = ?", (note, tree_size))
        return True


INSERT_PERSONAL_KEY = "INSERT OR REPLACE INTO personal_keys (case_id, key) VALUES (?, ?)"
INSERT_PERSONAL_RECORD = (
    "INSERT INTO personal_records (commitment, case_id, sealed, sealed_at) VALUES (?, ?, ?, ?)"
)
INSERT_ENTRY = "INSERT INTO entries (idx, kind, ref, entry_hash, entry) VALUES (?, ?, ?, ?, ?)"
INSERT_NODE = "INSERT INTO tree_nodes (level, position, hash) VALUES (?, ?, ?)"
ROWS_PER_INSERT = 64  # rows in one multi-row INSERT (`insert_rows`)
WRITER_STATEMENTS = 512  # prepared statements the writer's connection keeps


@functools.cache  # a few statements (`insert_rows`'s) times `ROWS_PER_INSERT` sizes at most
def rows_statement(sql: str, count: int) -> str:
    """`sql`, an `INSERT INTO … VALUES (?, …)` of one row, made an `INSERT OR FAIL` of `count`
    rows: a statement that fails is rolled back with its batch or its job (see the module
    doc), so SQLite need not keep a statement journal to undo its own rows, as it would for
    the default `OR ABORT` (a temporary file past 64 KiB, written on every batch)."""
    head, _, row = sql.rpartition(" VALUES ")
    head = head.replace("INSERT INTO", "INSERT OR FAIL INTO", 1)
    return f"{head} VALUES {', '.join([row] * count)}"


def insert_rows(conn: sqlite3.Connection, sql: str, rows: list[tuple]) -> None:
    """Insert `rows` with `sql` (an `INSERT INTO … VALUES` of one row), up to
    `ROWS_PER_INSERT` in one statement (`rows_statement`): SQLite then opens the table and
    its indexes once for them all, and the writer lets go of the GIL once, where
    `executemany` does both for each row."""
    for start in range(0, len(rows), ROWS_PER_INSERT):
        part = rows[start : start + ROWS_PER_INSERT]
        if len(part) == 1:
            conn.execute(sql, part[0])
        else:
            conn.execute(rows_statement(sql, len(part)), list(chain.from_iterable(part)))


class _Writer:
    """The writer's view of the tree: the frontier and tail hash of the last batch."""

    def __init__(self) -> None:
        self.frontier = Frontier()
        self.tail_hash = ZERO_HASH
        self.head = BatchHead()
        self.valid = False
        self.hooks: list[Callable[[Any], None]] = []  # `before_commit` of the current batch
        self.nodes: list[tuple[int, int, bytes]] = []  # tree nodes of this batch, not yet written
        self.recorded_at = ""  # the `recorded_at` of this batch's entries (see the module doc)
        self.rows: list[tuple[int, str, str | None, str, bytes]] = []  # entries not yet inserted
        self.later: dict[str, list[tuple]] = {}  # decision index rows not yet inserted, by SQL
        self.counts: dict[tuple, int] = {}  # decision counts not yet added, by key

    def pending(self) -> bool:
        """True when rows wait to be inserted (`_WriterConn.flush`)."""
        return bool(self.rows or self.later or self.counts)

    def drop_pending(self) -> None:
        self.rows, self.later, self.counts = [], {}, {}

    def mark(self) -> tuple[Frontier, str, int, int]:
        """What a job may change, to restore if it fails (`restore`). Taken only when no
        row waits to be inserted (at a batch's start, after a job's rows were inserted)."""
        assert not self.pending(), "a mark with rows pending"
        return self.frontier.copy(), self.tail_hash, len(self.nodes), len(self.hooks)

    def restore(self, mark: tuple[Frontier, str, int, int]) -> None:
        """Undo a failed job's changes (its inserted rows are undone by SQLite)."""
        self.frontier, self.tail_hash = mark[0], mark[1]
        del self.nodes[mark[2] :]
        del self.hooks[mark[3] :]
        self.drop_pending()

    def flush_nodes(self, conn: sqlite3.Connection) -> None:
        insert_rows(conn, INSERT_NODE, self.nodes)
        self.nodes = []


class _WriterConn:
    """The writer's connection as its transaction sees it: the entry rows `append` kept
    (`_Writer.rows`) and the decision index's rows (`_Writer.later`, `_Writer.counts`) are
    inserted, in one statement per table (`insert_rows`), before any other statement runs, so
    that a batch of decisions costs a few statements instead of a few each, and every statement
    still sees every row written before it."""

    __slots__ = ("conn", "state")

    def __init__(self, conn: sqlite3.Connection, state: _Writer) -> None:
        self.conn = conn
        self.state = state

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        if self.state.pending():
            self.flush()
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Any]) -> sqlite3.Cursor:
        if self.state.pending():
            self.flush()
        return self.conn.executemany(sql, rows)

    def flush(self) -> None:
        """Insert the rows kept, entries first (a statement that fails leaves the others
        kept: the caller rolls back and drops them, `_Writer.restore`)."""
        state = self.state
        if state.rows:
            rows, state.rows = state.rows, []
            insert_rows(self.conn, INSERT_ENTRY, rows)
        if state.later:
            later, state.later = state.later, {}
            for sql, rows in later.items():
                insert_rows(self.conn, sql, rows)
        if state.counts:
            counts, state.counts = state.counts, {}
            self.conn.executemany(ADD_COUNTS, [(*key, n) for key, n in counts.items()])

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction


class WalCopier:
    """Copies the WAL's pages into the database (a PASSIVE checkpoint) on a thread and a
    connection of its own, when the writer asks (`start`), so that no batch waits for it (see
    the module doc). `frames`: the WAL's length, in frames, at the end of the last copy."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.frames = 0
        self.copies = 0  # copies made (for the tests)
        self._wake = threading.Event()
        self._wanted = False  # a copy was asked for and has not started yet
        self._idle = True  # no copy asked for or running
        self._closing = False
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Start a copy; False, doing nothing, while the last one still runs."""
        if not self._idle:
            return False
        self._idle, self._wanted = False, True
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="redress-wal", daemon=True)
            self._thread.start()
        self._wake.set()
        return True

    def _run(self) -> None:
        conn = connect(self.path)
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._wanted:  # before closing: a copy asked for is made
                    self._wanted = False
                    self._copy(conn)
                if self._closing:
                    return
        finally:
            conn.close()

    def _copy(self, conn: sqlite3.Connection) -> None:
        try:
            _, self.frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self.copies += 1
        except sqlite3.Error:
            pass  # the next copy tries again (the WAL only waits longer)
        finally:
            self._idle = True

    def close(self) -> None:
        """Stop the thread, once it made the copy asked for, if any."""
        if self._thread is not None:
            self._closing = True
            self._wake.set()
            self._thread.join()
            self._thread = None


class SqliteStore:
    """`Store` on `DIR/redress.db`. `sign`, when given, signs a checkpoint after each batch
    that grew the tree (the ledger passes its signer)."""

    def __init__(self, path: Path, sign: Sign | None = None, auto_checkpoint: bool = True) -> None:
        self.path = Path(path)
        self._sign = sign
        self.auto_checkpoint = auto_checkpoint
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._submissions = LoopSubmissions(self._enqueue)
        self._state = _Writer()
        self._lock = WriterLock(self.path.with_name(self.path.name + LOCK_SUFFIX))
        self._busy_ms = -1  # the writer connection's busy timeout
        self._wal_tidied = 0.0  # when the WAL was last copied into the database
        self._wal_dirty = False  # committed since
        self._wal_copier = WalCopier(self.path)
        self._stopping = False  # close() was asked for: the current batch is the last
        self._reconnect = False  # the writer connection failed outside the jobs: open anew
        self.batch_sizes: list[int] = []  # recent batch sizes, for the metrics
        self.on_batch: Callable[[int, float], None] | None = None  # (jobs, seconds to commit)
        self.on_appended_elsewhere: AppendedElsewhere | None = None  # see `Store`
        conn = connect(self.path)
        try:
            migrate(conn)
        finally:
            conn.close()

    def set_signer(self, sign: Sign, auto_checkpoint: bool = True) -> None:
        self._sign = sign
        self.auto_checkpoint = auto_checkpoint

    # -- reading -----------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.path)
            conn.execute("PRAGMA query_only=ON")
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    @contextmanager
    def read(self, fresh: bool = False) -> Iterator[SqliteTx]:
        """One snapshot on this thread's read connection (nested reads share it). `fresh`
        changes nothing here: no pool to wait for."""
        conn = self._reader()
        depth = getattr(self._local, "depth", 0)
        self._local.depth = depth + 1
        if depth == 0:
            conn.execute("BEGIN")
        try:
            yield SqliteTx(conn)
        finally:
            self._local.depth = depth
            if depth == 0:
                conn.execute("COMMIT")

    def iter_entries(self, start: int = 0) -> Iterator[tuple[int, bytes, str]]:
        conn = connect(self.path)
        try:
            conn.execute("BEGIN")
            rows = conn.execute(
                "SELECT idx, entry, entry_hash FROM entries WHERE idx >= ? ORDER BY idx", (start,)
            )
            yield from rows
            conn.execute("COMMIT")
        finally:
            conn.close()

    # -- writing -----------------------------------------------------------------------------

    def _submit(self, fn: Callable[[Any], T], scrub: bool, checkpoint: bool = False) -> Future:
        job = _Job(fn, scrub, checkpoint)
        self._enqueue(job)
        assert job.future is not None
        return job.future

    def _enqueue(self, job: _Job) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="redress-writer", daemon=True
                    )
                    self._thread.start()
        if threading.current_thread() is self._thread:
            raise RuntimeError("a write job cannot wait for another write")
        self._queue.put(job)

    def write(self, job: Callable[[Any], T], *, scrub: bool = False) -> T:
        waiting = _Job(job, scrub, False, waited=True)
        self._enqueue(waiting)
        return waiting.wait()

    def write_async(self, job: Callable[[Any], T], *, scrub: bool = False) -> asyncio.Future[T]:
        """Submit `job` (`LoopSubmissions`); the running loop's future of its answer."""
        return self._submissions.submit(job, scrub)

    async def call_reading(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` at once, on the event loop: a point read of a local file costs tens of
        µs, and handing it to a worker thread and back cost ~0.8 ms of CPU under load (the
        pool's threads contend for the GIL: `bench/decision_asgi.py --path /v1/cases`)."""
        return fn(*args)

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        self._stopping = False
        while not self._stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            self._take_waiting(batch)
            try:
                conn = conn or self._writer_connection()
                self._run_batch(conn, batch)
            except BaseException as exc:  # noqa: BLE001 - the writer must outlive any batch
                # A broken connection (disk error, file gone): answer the batch, start afresh.
                self._state.valid = False
                answer_all((job, None, unavailable(exc)) for job in batch if not job.answered)
                self._reconnect = True
            if self._reconnect and conn is not None:
                # A connection that failed once (a read-only or full disk, say) may keep
                # failing after the disk is back: the next batch opens a new one.
                with suppress(sqlite3.Error):
                    conn.close()
                conn = None
            self._reconnect = False
        if conn is not None:
            conn.close()
        self._lock.close()

    def _take_waiting(self, batch: list[_Job]) -> bool:
        """Add the jobs waiting now to `batch` (up to `MAX_BATCH`); True if it took any. The
        writer takes them when it starts the batch and once more when it has run those, so
        that the jobs submitted meanwhile (by the threads its previous commit answered) share
        this commit instead of waiting for the next: no job is held back for it, and batches
        no longer alternate between two halves of the clients (32 threads made batches of 16,
        now of 30-32, measured by `bench/store_scale.py`)."""
        took = False
        while len(batch) < MAX_BATCH:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                self._stopping = True  # close(): this batch is the last
                break
            batch.append(job)
            took = True
        return took

    def _writer_connection(self) -> sqlite3.Connection:
        # Room for every size of `insert_rows`'s statements beside the jobs' own, so that a
        # batch of a size seen before never prepares its inserts again.
        conn = connect(self.path, WRITER_STATEMENTS)
        # The WAL is copied into the database beside the writer (`_tidy_wal`), rather than
        # inside a COMMIT that its waiters would wait for.
        conn.execute("PRAGMA wal_autocheckpoint=0")
        self._busy_ms = -1
        self._wal_tidied = time.monotonic()
        self._wal_dirty = False
        return conn

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        began = time.monotonic()
        deadline = min(job.enqueued for job in batch) + BUSY_WAIT_S
        if not self._lock.acquire(deadline - began):
            busy = StoreBusy("the store stayed busy: another process kept its turn to write")
            answer_all((job, None, busy) for job in batch)
            return
        try:
            outcomes = self._commit(conn, batch, deadline)
            if outcomes and any(job.scrub for job in batch):
                self._scrub(conn)
        finally:
            self._lock.release()
        if outcomes:
            self.batch_sizes = [*self.batch_sizes[-255:], len(batch)]
            if self.on_batch is not None:
                self.on_batch(len(batch), time.monotonic() - began)
        answer_all(outcomes)
        self._tidy_wal(conn)

    def _commit(
        self, conn: sqlite3.Connection, batch: list[_Job], deadline: float
    ) -> list[Outcome]:
        """Run the batch in one transaction and commit it: each job's outcome, to answer once
        committed (none when the batch was answered already, with the error that ended it).
        The jobs run optimistically, with no savepoint (`_run_optimistic`); if one fails, the
        transaction is rolled back and the batch run again, each job under its own savepoint
        (`_run_guarded`), so that each gets its own answer (see the module doc)."""
        if not self._begin(conn, batch, deadline):
            return []
        state = self._state
        try:
            self._load_tail(conn, state)
            state.head, state.nodes = BatchHead(), []
            state.drop_pending()
            state.hooks = []
            state.recorded_at = clock.now_text()
            grown_from = state.frontier.size
            jobs_conn = _WriterConn(conn, state)
            tx = SqliteTx(jobs_conn, state)
            start = state.mark()
            outcomes, failure = self._run_optimistic(jobs_conn, tx, batch)
            if failure is not None:
                state.restore(start)  # first: the run's entry rows must not be inserted now
                conn.execute("ROLLBACK")
                if len(batch) == 1:  # a lone job: its failure is its answer, nothing to re-run
                    self._reconnect = self._reconnect or is_store_failure(failure)
                    return [(batch[0], None, unavailable(failure))]
                if not self._begin(conn, batch, deadline):
                    return []
                self._load_tail(conn, state)  # another process may have appended meanwhile
                grown_from = state.frontier.size
                outcomes = self._run_guarded(jobs_conn, tx, batch)
            state.flush_nodes(conn)
            root = state.frontier.root()
            state.head.tree_size, state.head.root_hash = state.frontier.size, root.hex()
            for hook in state.hooks:
                hook(tx)
            state.hooks = []
            if self.auto_checkpoint or any(job.checkpoint for job in batch):
                grew = state.frontier.size > grown_from
                self._sign_checkpoint(jobs_conn, state.frontier.size, root, grew)
            jobs_conn.execute("COMMIT")
        except BaseException as exc:
            state.valid = False
            state.drop_pending()
            with suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            answer_all((job, None, unavailable(exc)) for job in batch)
            self._reconnect = self._reconnect or is_store_failure(exc)
            return []
        self._wal_dirty = True
        return outcomes

    def _begin(self, conn: sqlite3.Connection, batch: list[_Job], deadline: float) -> bool:
        """Start the batch's write transaction; False once its jobs were answered with why it
        could not (`StoreBusy` when another process kept the lock past the deadline)."""
        self._set_busy_timeout(conn, deadline - time.monotonic())
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            error: BaseException = unavailable(exc)
            if "locked" in str(exc) or "busy" in str(exc):
                error = StoreBusy("the store stayed busy: another process holds its write lock")
            else:
                self._reconnect = True
            answer_all((job, None, error) for job in batch)
            return False
        return True

    def _run_optimistic(
        self, conn: _WriterConn, tx: SqliteTx, batch: list[_Job]
    ) -> tuple[list[Outcome], BaseException | None]:
        """Run the jobs one after the other with no savepoint, then once more the jobs
        submitted meanwhile (`_take_waiting`; only once, so that a steady stream of jobs cannot
        keep the first waiting), and insert their entries in one statement: every job's
        outcome, or the first failure (the caller then undoes the whole run)."""
        outcomes: list[Outcome] = []
        try:
            for job in batch:
                outcomes.append((job, job.fn(tx), None))
            if self._take_waiting(batch):
                for job in batch[len(outcomes) :]:
                    outcomes.append((job, job.fn(tx), None))
            conn.flush()  # the batch's entries, in one statement
        except BaseException as exc:  # noqa: BLE001 - each job is answered by the guarded run
            return outcomes, exc
        return outcomes, None

    def _run_guarded(self, conn: _WriterConn, tx: SqliteTx, batch: list[_Job]) -> list[Outcome]:
        """Each job under its own savepoint, so that one failing fails alone: its writes,
        entries included, and its changes to the writer's state are undone."""
        state = self._state
        outcomes: list[Outcome] = []
        for job in batch:
            saved = state.mark()
            conn.execute("SAVEPOINT job")
            try:
                result = job.fn(tx)
                conn.flush()  # its entries, inside its savepoint: their failure is its own
            except BaseException as exc:  # noqa: BLE001 - it is the job's own answer
                state.restore(saved)  # first: its entry rows must not be inserted now
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
                self._reconnect = self._reconnect or is_store_failure(exc)
                outcomes.append((job, None, unavailable(exc)))
                continue
            conn.execute("RELEASE job")
            outcomes.append((job, result, None))
        return outcomes

    def _set_busy_timeout(self, conn: sqlite3.Connection, remaining: float) -> None:
        """How long SQLite may wait for a writer outside the queue (`WriterLock`): what is left
        of the batch's `BUSY_WAIT_S`, in whole tenths of a second, so that the pragma is only
        run again when that changes (almost never: batches rarely wait)."""
        ms = max(50, int(remaining * 10) * 100)
        if ms != self._busy_ms:
            conn.execute(f"PRAGMA busy_timeout = {ms}")
            self._busy_ms = ms

    def _tidy_wal(self, conn: sqlite3.Connection) -> None:
        """Have the WAL's pages copied into the database at most every `WAL_CHECKPOINT_S`,
        after the batch was answered: by the `WalCopier`, beside the writer; by the writer, in
        this process's turn (so that no writer of ours adds pages meanwhile and the next
        transaction starts the WAL afresh), only when the copier's copies left the WAL longer
        than `WAL_FRAMES_MAX` frames (see the module doc)."""
        now = time.monotonic()
        if not self._wal_dirty or now - self._wal_tidied < WAL_CHECKPOINT_S:
            return
        if self._wal_copier.frames > WAL_FRAMES_MAX:
            self._copy_wal_in_turn(conn)
        elif not self._wal_copier.start():
            return  # the last copy still runs: ask again after the next batch
        self._wal_tidied, self._wal_dirty = now, False

    def _copy_wal_in_turn(self, conn: sqlite3.Connection) -> None:
        held = self._lock.acquire(WAL_CHECKPOINT_WAIT_S)
        try:
            _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            if held:
                self._lock.release()
        self._wal_copier.frames = frames

    def _load_tail(self, conn: sqlite3.Connection, state: _Writer) -> None:
        """Read the true tail; reload the frontier when another process appended, and tell
        `on_appended_elsewhere` from where."""
        row = conn.execute("SELECT idx, entry_hash FROM entries ORDER BY idx DESC LIMIT 1")
        tail = row.fetchone()
        size, tail_hash = (0, ZERO_HASH) if tail is None else (tail[0] + 1, stored_hash(tail[1]))
        if state.valid and state.frontier.size == size and state.tail_hash == tail_hash:
            return
        seen = state.frontier.size if state.valid else 0
        keys = frontier_keys(size)
        nodes = SqliteTx(conn).nodes(keys)
        state.frontier = Frontier(size, [nodes[k] for k in keys])
        state.tail_hash = tail_hash
        state.valid = True
        if self.on_appended_elsewhere is not None:
            self.on_appended_elsewhere(SqliteTx(conn), seen)

    def _sign_checkpoint(self, conn: _WriterConn, size: int, root: bytes, grew: bool) -> None:
        """Sign and store a checkpoint of `size` unless one of it or a larger tree exists,
        which can only be when the batch did not grow the tree (`grew`): a checkpoint is of
        the tree committed with it, and this batch's tree is larger than any committed."""
        if self._sign is None or size == 0:
            return
        if not grew:
            latest = conn.execute("SELECT MAX(tree_size) FROM checkpoints").fetchone()[0]
            if latest is not None and latest >= size:
                return
        conn.execute(
            "INSERT INTO checkpoints (tree_size, root_hash, note, signed_at) VALUES (?, ?, ?, ?)",
            (size, root.hex(), self._sign(size, root), clock.now_text()),
        )

    def _scrub(self, conn: sqlite3.Connection) -> None:
        """Copy the WAL into the database and truncate it to nothing, so that deleted rows
        (overwritten in the database by `secure_delete`) leave no old page image behind."""
        deadline = time.monotonic() + SCRUB_WAIT_S
        while True:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy == 0 or time.monotonic() > deadline:
                return
            time.sleep(0.005)

    def writable(self) -> bool:
        """True when the files a write changes (the database, its WAL and WAL index) are
        writable, their file system has room for a batch (`MIN_FREE_BYTES`: on a full disk
        every write failed while this said True), and the write lock can be taken within a
        second (the disk is not stuck). Read-only: a GET never writes."""
        files = [self.path, *(self.path.with_name(self.path.name + s) for s in WAL_FILES)]
        if not all(os.access(p, os.W_OK) for p in files if p.exists()):
            return False
        if free_bytes(self.path.parent) < MIN_FREE_BYTES:
            return False
        try:
            conn = sqlite3.connect(self.path, timeout=1.0, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
            finally:
                conn.close()
            return True
        except sqlite3.Error:
            return False

    def checkpoint_now(self) -> None:
        """Sign a checkpoint of the whole tree unless the latest one covers it already."""
        job = _Job(lambda tx: None, False, True, waited=True)
        self._enqueue(job)
        job.wait()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._wal_copier.close()
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        self._local = threading.local()


def unique_keys(conn: sqlite3.Connection) -> dict[str, list[tuple[str, ...]]]:
    """Each table's unique column sets (its primary key and unique indexes over whole columns
    of every row: not a partial one, `WHERE …`, nor one over an expression), as the file
    declares them now (`store.schema.missing_unique_key`)."""
    found: dict[str, list[tuple[str, ...]]] = {}
    for table, info in declared_columns(conn).items():
        keys = [tuple(sorted(row[1] for row in info if row[5]))]
        for _, index, unique, _, partial in conn.execute(f"PRAGMA index_list({_quoted(table)})"):
            columns = [row[2] for row in conn.execute(f"PRAGMA index_info({_quoted(index)})")]
            if unique and not partial and None not in columns:
                keys.append(tuple(sorted(columns)))
        found[table] = [key for key in keys if key]
    return found


def declared_columns(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    """Each table's columns as the file declares them now (`PRAGMA table_info`: position, name,
    type, not null, default, primary key)."""
    tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {
        table: conn.execute(f"PRAGMA table_info({_quoted(table)})").fetchall()
        for (table,) in tables
    }


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# Room a write batch may need in the WAL (a few hundred decisions' pages, their nodes and index
# rows); below it `writable` says no: the next write would likely fail "disk is full".
MIN_FREE_BYTES = 4 << 20


def free_bytes(directory: Path) -> int:
    """Bytes an unprivileged process may still write on the file system of `directory`."""
    stats = os.statvfs(directory)
    return stats.f_bavail * stats.f_frsize


SQLITE_INTEGER_MAX = 2**63 - 1


def mistyped_table(conn: sqlite3.Connection) -> str | None:
    """The first table of `store.schema.TYPED_COLUMNS` holding, in one of those columns, a
    value the service never writes there; None when none does."""
    for table, columns in TYPED_COLUMNS.items():
        never_null = NEVER_NULL.get(table, ())
        wrong = " OR ".join(
            _not_written(column, kind, column in never_null) for column, kind in columns.items()
        )
        if conn.execute(f"SELECT 1 FROM {table} WHERE {wrong} LIMIT 1").fetchone() is not None:
            return table
    return None


def _not_written(column: str, kind: str, never_null: bool) -> str:
    """SQL true for a value of `column` that is not of `kind` (`TYPED_COLUMNS`). A CASE, whose
    branches SQLite takes in order: the JSON functions never see a BLOB (an error, not false)."""
    if kind == "JSON list":
        return (
            f"CASE WHEN {column} IS NULL THEN 0 WHEN typeof({column}) != 'text' THEN 1 "
            f"WHEN NOT json_valid({column}) THEN 1 WHEN json_type({column}) != 'array' THEN 1 "
            f"ELSE json_array_length({column}) = 0 END"
        )
    if kind == "hash":
        return (
            f"CASE WHEN typeof({column}) != 'text' THEN 1 "
            f"ELSE length({column}) != 64 OR {column} GLOB '*[^0-9a-f]*' END"
        )
    if kind == "counter":
        return (
            f"CASE WHEN typeof({column}) != 'integer' THEN 1 "
            f"ELSE {column} < 1 OR {column} >= {SQLITE_INTEGER_MAX} END"
        )
    allowed = f"'{kind}'" if never_null else f"'{kind}', 'null'"
    return f"typeof({column}) NOT IN ({allowed})"


@functools.cache
def schema_columns() -> dict[str, list[tuple]]:
    """Each table's columns as this version of the service declares them: a new store's, made
    in memory by the migrations (`declared_columns`)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(conn)
        return declared_columns(conn)
    finally:
        conn.close()


def open_store(
    data_dir: Path, sign: Sign | None = None, auto_checkpoint: bool = True
) -> SqliteStore:
    """The store of a data directory (created, and migrated to the current schema, on open).
    `sign` signs a checkpoint after every batch that grew the tree (only when asked,
    `checkpoint_now`, if `auto_checkpoint` is False)."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteStore(data_dir / DB_FILE, sign, auto_checkpoint)
