"""The store on PostgreSQL (psycopg 3, psycopg-pool): several nodes, one ledger.

Each process has one writer thread on its own connection, group-committing like the SQLite
writer: the jobs waiting run in order in one transaction, each under its own savepoint. The
database sequences the nodes: every batch first locks the one `ledger_tail` row `FOR UPDATE`,
so exactly one node at a time reads the true tail, appends, signs a checkpoint of the tree it
reached (inside that same transaction) and commits; the next node's batch then starts from the
tail this one left. Reads run on pooled connections in a repeatable-read snapshot and never wait
for a writer. A lock not granted within `BUSY_WAIT_S` is `StoreBusy`; a database that cannot be
reached (at start, or lost mid-request) is `StoreUnavailable` (both answered 503), and the
writer reconnects on its next batch, so the node recovers when the database returns.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import anyio.to_thread
import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

import clock
from ledger.canonical import ZERO_HASH, entry_bytes
from ledger.merkle import leaf_hash
from ledger.tree import Frontier, frontier_keys
from store.base import (
    BUSY_WAIT_S,
    AppendedElsewhere,
    AppendReceipt,
    DamagedValue,
    MissingNodes,
    StoreBusy,
    StoredResponse,
    StoreUnavailable,
    gains_signatures,
    stored_hash,
)
from store.pg_migrations import migrate
from store.schema import NEVER_NULL, TYPED_COLUMNS, set_back
from store.sqlite import (
    MAX_BATCH,
    BatchHead,
    LoopSubmissions,
    Outcome,
    Receipt,
    Sign,
    _Job,
    _Writer,
    answer_all,
    schema_columns,
)
from store.tables import STILL_PENDING, TablesTx, is_data_exception, stored_obligations

# `store.tables.IN_A_GAP` in PostgreSQL's terms (`gaps` is JSON text).
PG_IN_A_GAP = (
    "EXISTS (SELECT 1 FROM json_array_elements(o.gaps::json) AS g WHERE g ->> 0 <= %s COLLATE"
    ' "C" AND %s COLLATE "C" < g ->> 1)'
)

T = TypeVar("T")
POOL_MAX = 8
CONNECT_TIMEOUT_S = 5


BACKEND_GONE_WAIT_S = 2.0  # how long a writer waits for its lost connection's server process
# The database is away, read-only (a standby), or no longer holds the store's tables.
AWAY = (psycopg.OperationalError, pg_errors.UndefinedTable, pg_errors.ReadOnlySqlTransaction)


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def unavailable(url: str, exc: BaseException) -> StoreUnavailable:
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, pg_errors.ReadOnlySqlTransaction):  # reached, but it takes no writes
        return StoreUnavailable(f"the database at {redacted(url)} is read-only: {reason}")
    return StoreUnavailable(f"the database at {redacted(url)} cannot be reached: {reason}")


class PgTx(TablesTx):
    """`ReadTx` and (inside the writer) `WriteTx` on one psycopg connection."""

    RECORD_ORDER = "seq"  # personal_records in the order written (a BIGSERIAL)
    PLACEHOLDER = "%s"  # shared SQL (`store.tables`, `store.decision_index`) is written with `?`

    def _ix_many(self, sql: str, rows: Iterable[Any]) -> None:
        rows = list(rows)
        if rows:
            with self.conn.cursor() as cur:
                cur.executemany(sql, rows)

    # -- ledger reads ------------------------------------------------------------------------

    def tree_size(self) -> int:
        if self._w is not None:
            return self._w.frontier.size
        return _tail_size(self._one("SELECT size FROM ledger_tail")[0])

    def nodes(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        keys = list(dict.fromkeys(keys))
        found: dict[tuple[int, int], bytes] = {}
        if keys:
            rows = self.conn.execute(
                "SELECT n.level, n.position, n.hash FROM tree_nodes AS n "
                "JOIN unnest(%s::int[], %s::bigint[]) AS k (level, position) "
                "ON n.level = k.level AND n.position = k.position",
                ([k[0] for k in keys], [k[1] for k in keys]),
            )
            found = {(level, position): bytes(value) for level, position, value in rows}
        missing = [k for k in keys if k not in found]
        if missing:
            raise MissingNodes(f"tree nodes {missing[:3]} are missing")
        return found

    # -- case reads --------------------------------------------------------------------------

    def case_obligations(self, case_id: str) -> list[dict[str, Any]]:
        # COLLATE "C": the same order as SQLite's byte-wise text comparison.
        return stored_obligations(
            self._dicts(
                'SELECT * FROM case_obligations WHERE case_id = %s ORDER BY seq, name COLLATE "C"',
                (case_id,),
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
            where.append("c.policy = ANY(%s)")
            params.append(list(policies))
        if state is not None:
            where.append("c.state = %s")
            params.append(state)
        if reference is not None:
            where.append("c.reference = %s")
            params.append(reference)
        if overdue_cutoffs is not None:
            # Per policy, since a date's start differs by time zone: due passed at the cutoff
            # and not ended by it (`cases.register.was_overdue`).
            tests = " OR ".join(
                '(c.policy = %s AND o.passes_at <= %s COLLATE "C" AND (o.ends_at > %s COLLATE "C"'
                f" OR (o.ends_at IS NULL AND {STILL_PENDING}))"
                f" AND (o.gaps IS NULL OR NOT {PG_IN_A_GAP}))"
                for _ in overdue_cutoffs
            )
            where.append(
                "EXISTS (SELECT 1 FROM case_obligations AS o WHERE o.case_id = c.case_id "
                f"AND ({tests or 'FALSE'}))"
            )
            for pid, cutoff in overdue_cutoffs.items():
                params += [pid, cutoff, cutoff, cutoff, cutoff]
        if after is not None:
            where.append('(c.opened_at COLLATE "C", c.case_id COLLATE "C") > (%s, %s)')
            params += list(after)
        sql = "SELECT * FROM cases AS c"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += ' ORDER BY c.opened_at COLLATE "C", c.case_id COLLATE "C"'
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        return self._dicts(sql, params)

    def case_ids(self) -> list[str]:
        rows = self.conn.execute('SELECT case_id FROM cases ORDER BY case_id COLLATE "C"')
        return [r[0] for r in rows]

    # -- personal data and keys --------------------------------------------------------------

    def latest_sealed(self, case_id: str) -> bytes | None:
        row = self._one(
            "SELECT sealed FROM personal_records WHERE case_id = %s "
            'ORDER BY sealed_at COLLATE "C" DESC, seq DESC LIMIT 1',
            (case_id,),
        )
        return None if row is None else bytes(row[0])

    def key_records(self) -> list[dict[str, Any]]:
        return self._dicts(
            "SELECT key_id, key_hash, role, name, created_at, revoked_at FROM api_keys "
            'ORDER BY created_at COLLATE "C", key_id COLLATE "C"',
            (),
        )

    # -- writes (writer only) ----------------------------------------------------------------

    def append(self, kind: str, body: bytes, ref: str | None) -> AppendReceipt:
        w = self._writer()
        index = w.frontier.size
        raw = entry_bytes(index, kind, w.recorded_at, w.tail_hash, body)
        digest = hashlib.sha256(raw).hexdigest()
        nodes = w.frontier.append(leaf_hash(raw))
        # One statement (one round trip): the entry and the tree nodes it completes.
        self.conn.execute(
            "WITH entry AS (INSERT INTO entries (idx, kind, ref, entry_hash, entry) "
            "VALUES (%s, %s, %s, %s, %s)) INSERT INTO tree_nodes (level, position, hash) "
            "SELECT * FROM unnest(%s::int[], %s::bigint[], %s::bytea[])",
            (
                index,
                kind,
                ref,
                digest,
                raw,
                [n[0] for n in nodes],
                [n[1] for n in nodes],
                [n[2] for n in nodes],
            ),
        )
        w.tail_hash = digest
        return Receipt(index, digest, w.head)

    def put_personal(self, case_id: str, key: bytes, commitment: str, sealed: bytes) -> None:
        self.conn.execute(
            "INSERT INTO personal_keys (case_id, key) VALUES (%s, %s) "
            "ON CONFLICT (case_id) DO UPDATE SET key = EXCLUDED.key",
            (case_id, key),
        )
        self.conn.execute(
            "INSERT INTO personal_records (commitment, case_id, sealed, sealed_at) "
            "VALUES (%s, %s, %s, %s)",
            (commitment, case_id, sealed, clock.now_text()),
        )

    def add_api_key(
        self,
        key_hash: str,
        role: str,
        key_id: str | None = None,
        name: str | None = None,
        created_at: str | None = None,
    ) -> bool:
        cursor = self.conn.execute(
            "INSERT INTO api_keys (key_hash, role, created_at, key_id, name) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
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
            'DELETE FROM idempotency WHERE owner = %s AND key = %s AND created_at < %s COLLATE "C"',
            (key_id, idempotency_key, expired_before),
        )
        found = self.stored_response(key_id, idempotency_key)
        if found is not None:
            return found
        self.conn.execute(
            "INSERT INTO idempotency (owner, key, request_hash, status, response, created_at) "
            "VALUES (%s, %s, %s, 0, ''::bytea, %s)",
            (key_id, idempotency_key, request_hash, clock.now_text()),
        )
        return None

    def attach_cosignatures(self, tree_size: int, note: str) -> bool:
        row = self._one(
            "SELECT note FROM checkpoints WHERE tree_size = %s FOR UPDATE", (tree_size,)
        )
        if row is None or not gains_signatures(row[0], note):
            return False
        self.conn.execute(
            "UPDATE checkpoints SET note = %s WHERE tree_size = %s", (note, tree_size)
        )
        return True


def _configure_reader(conn: psycopg.Connection) -> None:
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True


class PostgresStore:
    """`Store` on the PostgreSQL database at `url` (its schema migrated on open). `sign`, when
    given, signs a checkpoint at the end of each batch that grew the tree."""

    def __init__(self, url: str, sign: Sign | None = None, auto_checkpoint: bool = True) -> None:
        self.url = url
        self._sign = sign
        self.auto_checkpoint = auto_checkpoint
        self._local = threading.local()
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._submissions = LoopSubmissions(self._enqueue)
        self._state = _Writer()
        self._conn: psycopg.Connection | None = None
        self.batch_sizes: list[int] = []
        self.on_batch: Callable[[int, float], None] | None = None  # (jobs, seconds to commit)
        self.on_appended_elsewhere: AppendedElsewhere | None = None  # see `Store`
        try:
            with self._connect() as conn:
                migrate(conn)
        except psycopg.OperationalError as exc:
            raise unavailable(url, exc) from None
        except (pg_errors.DuplicateTable, pg_errors.DuplicateColumn, pg_errors.DuplicateObject):
            # Steps the schema has taken already: its version row was set back by other hands.
            raise set_back() from None
        self._pool = self._new_pool()
        self._pool_lost = False  # a read found the database away: see `_reader_pool`
        self._pool_lock = threading.Lock()

    def _new_pool(self) -> ConnectionPool:
        return ConnectionPool(
            self.url,
            min_size=1,
            max_size=POOL_MAX,
            timeout=BUSY_WAIT_S,
            kwargs={"connect_timeout": CONNECT_TIMEOUT_S},
            configure=_configure_reader,
            name="redress-readers",
            open=True,
        )

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)

    def set_signer(self, sign: Sign, auto_checkpoint: bool = True) -> None:
        self._sign = sign
        self.auto_checkpoint = auto_checkpoint

    # -- reading -----------------------------------------------------------------------------

    @contextmanager
    def read(self, fresh: bool = False) -> Iterator[PgTx]:
        """One repeatable-read snapshot on a pooled connection (nested reads share it), or, if
        `fresh`, on a connection of its own made within a second: a probe's, which must not wait
        up to `BUSY_WAIT_S` for the pool while it reconnects after the database came back."""
        if fresh:
            with self._fresh_reader() as conn:
                yield PgTx(conn)
            return
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            yield PgTx(conn)
            return
        try:
            pool = self._reader_pool()
            conn = self._live_reader(pool)
        except AWAY as exc:
            self._pool_lost = True
            raise unavailable(self.url, exc) from None
        except PoolTimeout as exc:
            # Busy (every connection in use), or unable to connect: only the latter is lost.
            self._pool_lost = pool.get_stats().get("connections_errors", 0) > 0
            raise unavailable(self.url, exc) from None
        try:
            with conn:  # as the pool's `connection()`: commit, or roll back on an error
                self._local.conn = conn
                yield PgTx(conn)
        except AWAY as exc:
            self._pool_lost = True
            raise unavailable(self.url, exc) from None
        finally:
            self._local.conn = None
            pool.putconn(conn)

    def _reader_pool(self) -> ConnectionPool:
        """The read pool; after reads found the database away, a new one once a connection of
        its own shows the database is back. The pool that lost it retries at growing pauses
        (1, 2, 4, 8 s…): a node whose `/ready` said 200 then answered a write's key check 503,
        waiting 5 s for that pool while the database was there (found by a test under load)."""
        if not self._pool_lost:
            return self._pool
        # Outside the lock: readers meanwhile each wait at most their own connection's time.
        with psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S):
            pass  # the database answers: raises, and the old pool stays, if not
        with self._pool_lock:
            if self._pool_lost:
                lost, self._pool = self._pool, self._new_pool()
                self._pool_lost = False
                # Its connections in use are closed as they come back; closing waits for its
                # workers, so not on a request's thread.
                threading.Thread(target=lost.close, name="redress-pool-close", daemon=True).start()
            return self._pool

    @contextmanager
    def _fresh_reader(self) -> Iterator[psycopg.Connection]:
        try:
            with psycopg.connect(self.url, connect_timeout=1) as conn:
                _configure_reader(conn)
                conn.execute("SET statement_timeout = 1000")
                yield conn
        except AWAY as exc:
            raise unavailable(self.url, exc) from None

    def _live_reader(self, pool: ConnectionPool) -> psycopg.Connection:
        """A pooled reader connection that answers. One the database closed while it was idle
        (a restart, an administrator, a failover) is dropped and the next taken at once; the
        first such has the pool check every idle one, which all went the same way. (The pool's
        own check waited 1, 2, then 4 s between tries: a burst of reads after the database had
        closed the pool's connections all answered 503 after 5 s.)"""
        checked_all = False
        for _ in range(POOL_MAX + 2):
            conn = pool.getconn()
            try:
                ConnectionPool.check_connection(conn)
                return conn
            except psycopg.OperationalError:
                pool.putconn(conn)  # broken: the pool discards and replaces it
                if not checked_all:
                    pool.check()
                    checked_all = True
        return pool.getconn()  # fresh ones by now; a failure here is the database's

    def iter_entries(self, start: int = 0) -> Iterator[tuple[int, bytes, str]]:
        with psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            _configure_reader(conn)
            with conn.cursor(name="redress_entries") as cursor:
                cursor.itersize = 2000
                cursor.execute(
                    "SELECT idx, entry, entry_hash FROM entries WHERE idx >= %s ORDER BY idx",
                    (start,),
                )
                for idx, raw, digest in cursor:
                    yield idx, bytes(raw), digest

    def pool_stats(self) -> dict[str, int]:
        """The read pool's size, idle connections and waiting requests (for the metrics)."""
        stats = self._pool.get_stats()
        return {
            "size": stats.get("pool_size", 0),
            "idle": stats.get("pool_available", 0),
            "waiting": stats.get("requests_waiting", 0),
        }

    # -- writing -----------------------------------------------------------------------------

    def _enqueue(self, job: _Job) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="redress-pg-writer", daemon=True
                    )
                    self._thread.start()
        if threading.current_thread() is self._thread:
            raise RuntimeError("a write job cannot wait for another write")
        self._queue.put(job)

    def write(self, job: Callable[[Any], T], *, scrub: bool = False) -> T:
        waiting = _Job(job, scrub, False, waited=True)
        self._enqueue(waiting)
        return waiting.wait()

    async def call_reading(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker thread: a read waits on the database server."""
        return await anyio.to_thread.run_sync(fn, *args)

    def write_async(self, job: Callable[[Any], T], *, scrub: bool = False) -> asyncio.Future[T]:
        """Submit `job` (`LoopSubmissions`); the running loop's future of its answer."""
        return self._submissions.submit(job, scrub)

    def checkpoint_now(self) -> None:
        """Sign a checkpoint of the whole tree unless the latest one covers it already."""
        job = _Job(lambda tx: None, False, True, waited=True)
        self._enqueue(job)
        job.wait()

    def _run(self) -> None:
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch, stop = [first], False
                while len(batch) < MAX_BATCH:
                    try:
                        job = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        stop = True
                        break
                    batch.append(job)
                try:
                    self._run_batch(batch)
                except BaseException as exc:  # noqa: BLE001 - the writer must outlive any batch
                    self._state.valid = False
                    self._drop_connection()
                    answer_all((job, None, exc) for job in batch if not job.answered)
                if stop:
                    return
        finally:
            self._drop_connection()

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with suppress(psycopg.Error):
                self._conn.close()
            self._conn = None

    def _writer_connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._drop_connection()
            self._conn = self._connect()
        return self._conn

    def _begin(self, timeout_ms: int) -> psycopg.Connection:
        """The writer's connection, in a transaction. One kept from an earlier batch may have
        been closed by the server since (a restart, an administrator, a failover): nothing has
        run on it yet, so a new connection is tried once before the batch fails."""
        statement = f"BEGIN; SET LOCAL lock_timeout = {timeout_ms}"
        kept = self._conn is not None
        conn = self._writer_connection()
        try:
            conn.execute(statement)
        except psycopg.OperationalError:
            if not kept:
                raise
            self._drop_connection()
            conn = self._writer_connection()
            conn.execute(statement)
        return conn

    def _run_batch(self, batch: list[_Job]) -> None:
        started = time.monotonic()
        waited = started - min(job.enqueued for job in batch)
        state = self._state
        outcomes: list[Outcome] = []
        solo = len(batch) == 1  # a lone job needs no savepoint: its failure is the batch's
        try:
            conn = self._begin(int(max(0.05, BUSY_WAIT_S - waited) * 1000))
            self._load_tail(conn, state)
            start_size = state.frontier.size
            state.head, state.hooks = BatchHead(), []
            state.recorded_at = clock.now_text()  # every entry of the batch's (as on SQLite)
            tx = PgTx(conn, state)
            for job in batch:
                saved = (state.frontier.copy(), state.tail_hash, len(state.hooks))
                if not solo:
                    conn.execute("SAVEPOINT job")
                try:
                    result = job.fn(tx)
                except AWAY:
                    raise  # the database, not the job: the whole batch fails
                except BaseException as exc:  # noqa: BLE001 - it is the job's own answer
                    state.frontier, state.tail_hash = saved[0], saved[1]
                    del state.hooks[saved[2] :]
                    if solo:
                        conn.execute("ROLLBACK")
                        answer_all([(job, None, _as_store_error(exc))])
                        return
                    conn.execute("ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job")
                    outcomes.append((job, None, _as_store_error(exc)))
                    continue
                if not solo:
                    conn.execute("RELEASE SAVEPOINT job")
                outcomes.append((job, result, None))
            root = state.frontier.root()
            size = state.frontier.size
            state.head.tree_size, state.head.root_hash = size, root.hex()
            for hook in state.hooks:
                hook(tx)
            state.hooks = []
            self._finish(conn, state, size > start_size, root, any(j.checkpoint for j in batch))
            committed_elsewhere = self._commit(conn, size - 1 if size > start_size else None)
        except BaseException as exc:
            state.valid = False
            error = self._batch_error(exc)
            answer_all((job, None, error) for job in batch)
            return
        self.batch_sizes = [*self.batch_sizes[-255:], len(batch)]
        if self.on_batch is not None:
            self.on_batch(len(batch), time.monotonic() - started)
        if committed_elsewhere:
            state.valid = False  # the tail is read again by the next batch, on a new connection
        elif any(job.scrub for job in batch):
            self._scrub(conn)
        answer_all(outcomes)

    def _commit(self, conn: psycopg.Connection, last: int | None) -> bool:
        """COMMIT; True when the connection was lost on it and yet it committed. The server may
        commit and then lose the connection before its answer arrives (an administrator's
        `pg_terminate_backend`, a failover): the batch's last entry, at index `last`, is then
        stored with the hash this batch gave it, and its writes are answered as done rather than
        503 (a client retrying without an `Idempotency-Key` would record them twice). Without
        that proof (no entry appended, or the database still away) the error stands."""
        backend = conn.info.backend_pid
        try:
            conn.execute("COMMIT")
            return False
        except psycopg.OperationalError:
            if last is None or not self._stored_as(backend, last, self._state.tail_hash):
                raise
            return True

    def _stored_as(self, backend: int, index: int, entry_hash: str) -> bool:
        """Whether the entry at `index` is stored with `entry_hash`, asked on a new connection
        once the lost connection's server process (`backend`) is gone: until then its
        transaction may still commit, after which nothing can."""
        self._drop_connection()
        try:
            conn = self._writer_connection()
            conn.execute("SELECT pg_terminate_backend(%s)", (backend,))
            deadline = time.monotonic() + BACKEND_GONE_WAIT_S
            while conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (backend,)
            ).fetchone():
                if time.monotonic() > deadline:
                    return False  # still there: what it does next is unknown
                time.sleep(0.01)
            sql = "SELECT entry_hash FROM entries WHERE idx = %s"
            row = conn.execute(sql, (index,)).fetchone()
        except psycopg.Error:
            self._drop_connection()
            return False
        return row is not None and row[0] == entry_hash

    def _finish(
        self, conn: psycopg.Connection, state: _Writer, grew: bool, root: bytes, asked: bool
    ) -> None:
        """Move the tail row and sign a checkpoint of the tree reached, in one statement when
        the batch appended (a grown tree is never covered by a stored checkpoint yet)."""
        size = state.frontier.size
        sign = self._sign is not None and size > 0 and (self.auto_checkpoint or asked)
        if grew and sign:
            conn.execute(
                "WITH tail AS (UPDATE ledger_tail SET size = %s, tail_hash = %s WHERE id = 1) "
                "INSERT INTO checkpoints (tree_size, root_hash, note, signed_at) "
                "VALUES (%s, %s, %s, %s)",
                (size, state.tail_hash, size, root.hex(), self._sign(size, root), clock.now_text()),
            )
            return
        if grew:
            conn.execute(
                "UPDATE ledger_tail SET size = %s, tail_hash = %s WHERE id = 1",
                (size, state.tail_hash),
            )
        elif sign:
            self._sign_checkpoint(conn, size, root)

    def _batch_error(self, exc: BaseException) -> BaseException:
        """Roll back what can be; the error each waiter of a failed batch gets."""
        conn = self._conn
        if conn is not None and not conn.broken and not conn.closed:
            try:
                conn.execute("ROLLBACK")
            except psycopg.Error:
                self._drop_connection()
        else:
            self._drop_connection()
        if isinstance(exc, pg_errors.LockNotAvailable):
            return StoreBusy("the store stayed busy: another node holds the ledger's tail")
        if isinstance(exc, AWAY):
            self._drop_connection()
            return unavailable(self.url, exc)
        return exc

    def _load_tail(self, conn: psycopg.Connection, state: _Writer) -> None:
        """Lock the tail row (one node at a time past this point); reload the frontier when
        another node appended since this one's last batch, and tell `on_appended_elsewhere`
        from where."""
        size, tail_hash = conn.execute(
            "SELECT size, tail_hash FROM ledger_tail WHERE id = 1 FOR UPDATE"
        ).fetchone()
        if state.valid and state.frontier.size == size and state.tail_hash == tail_hash:
            return
        seen = state.frontier.size if state.valid else 0
        _tail_size(size)
        if conn.execute("SELECT 1 FROM entries WHERE idx >= %s LIMIT 1", (size,)).fetchone():
            # Size 0 over a ledger had a node append a second genesis entry, refused (500).
            raise DamagedValue(f"the ledger's tail row says {size} entries; more are stored")
        keys = frontier_keys(size)
        nodes = PgTx(conn).nodes(keys)
        state.frontier = Frontier(size, [nodes[k] for k in keys])
        state.tail_hash = stored_hash(tail_hash) if size else ZERO_HASH
        state.valid = True
        if self.on_appended_elsewhere is not None:
            self.on_appended_elsewhere(PgTx(conn), seen)

    def _sign_checkpoint(self, conn: psycopg.Connection, size: int, root: bytes) -> None:
        if self._sign is None or size == 0:
            return
        latest = conn.execute("SELECT MAX(tree_size) FROM checkpoints").fetchone()[0]
        if latest is not None and latest >= size:
            return
        conn.execute(
            "INSERT INTO checkpoints (tree_size, root_hash, note, signed_at) "
            "VALUES (%s, %s, %s, %s)",
            (size, root.hex(), self._sign(size, root), clock.now_text()),
        )

    def _scrub(self, conn: psycopg.Connection) -> None:
        """Vacuum the tables erasure deletes from, so their dead rows' space is reclaimed
        (PostgreSQL's WAL and backups are the operator's to rotate)."""
        with suppress(psycopg.Error):  # best effort: the erasure itself is committed
            conn.execute("VACUUM personal_keys, personal_records, cases")

    def writable(self) -> bool:
        """True when the database answers within a second as a primary that takes writes (not
        a standby, not read-only) and holds the schema, and the tables a write changes can be
        locked for writing within that second (no one holds them locked)."""
        try:
            with psycopg.connect(self.url, connect_timeout=1) as conn:  # one transaction
                conn.execute("SET LOCAL statement_timeout = 1000")
                conn.execute("SET LOCAL lock_timeout = 1000")
                row = conn.execute(
                    "SELECT NOT pg_is_in_recovery()"
                    " AND current_setting('transaction_read_only') = 'off' FROM ledger_tail"
                ).fetchone()
                if not (row and row[0]):
                    return False
                conn.execute("LOCK TABLE entries, ledger_tail IN ROW EXCLUSIVE MODE")
                conn.rollback()
                return True
        except psycopg.Error:
            return False

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._pool.close()


def _tail_size(size: Any) -> int:
    """The `ledger_tail` row's size, as the writer keeps it; `DamagedValue` if negative."""
    if not isinstance(size, int) or size < 0:
        raise DamagedValue(f"the ledger's tail row says {size!r} entries")
    return size


def _as_store_error(exc: BaseException) -> BaseException:
    if isinstance(exc, pg_errors.LockNotAvailable):
        return StoreBusy("the store stayed busy: a row stayed locked")
    if is_data_exception(exc):  # a case version at the column's limit, say
        return DamagedValue(f"a stored value the service never writes there: {exc}")
    return exc


class LedgerSnapshot:
    """The ledger's tables in one repeatable-read snapshot, for verify, replay and export."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def indexed(self) -> Iterator[tuple[int, str, str | None, bytes]]:
        """Every entry with its id-index columns `(idx, kind, ref, entry)`, in index order,
        streamed through a server-side cursor."""
        with self.conn.cursor(name="redress_snapshot_indexed") as cursor:
            cursor.itersize = 2000
            cursor.execute("SELECT idx, kind, ref, entry FROM entries ORDER BY idx")
            for idx, kind, ref, raw in cursor:
                yield idx, kind, ref, bytes(raw)

    def entries(self) -> Iterator[tuple[int, bytes, str]]:
        """Every entry in index order, streamed through a server-side cursor."""
        with self.conn.cursor(name="redress_snapshot_entries") as cursor:
            cursor.itersize = 2000
            cursor.execute("SELECT idx, entry, entry_hash FROM entries ORDER BY idx")
            for idx, raw, digest in cursor:
                yield idx, bytes(raw), digest

    def checkpoints(self) -> list[tuple[int, str, str]]:
        rows = self.conn.execute(
            "SELECT tree_size, root_hash, note FROM checkpoints ORDER BY tree_size"
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]

    def nodes(self) -> dict[tuple[int, int], bytes]:
        with self.conn.cursor(name="redress_snapshot_nodes") as cursor:
            cursor.itersize = 5000
            cursor.execute("SELECT level, position, hash FROM tree_nodes")
            return {(level, position): bytes(h) for level, position, h in cursor}


def unique_keys(conn: Any) -> dict[str, list[tuple[str, ...]]]:
    """Each table's unique column sets in the current schema (its primary key and unique
    indexes over whole columns of every row, as the catalogue has them now:
    `store.schema.missing_unique_key`)."""
    rows = conn.execute(
        "SELECT c.relname, array_agg(a.attname::text ORDER BY a.attname::text) FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indrelid"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)"
        " WHERE i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL"
        " AND c.relnamespace = current_schema()::regnamespace"
        " GROUP BY i.indexrelid, c.relname"
    ).fetchall()
    found: dict[str, list[tuple[str, ...]]] = {}
    for table, columns in rows:
        found.setdefault(table, []).append(tuple(columns))
    return found


PG_INTEGER_MAX = 2**31 - 1  # an INTEGER column's largest


def mistyped_table(conn: Any) -> str | None:
    """`store.sqlite.mistyped_table` in PostgreSQL, whose columns hold their own type only:
    the first table of `store.schema.TYPED_COLUMNS` holding a NULL where the service never
    leaves one, JSON text that is no non-empty list, or a counter out of its range."""
    for table, columns in TYPED_COLUMNS.items():
        for column, kind in columns.items():
            if column in NEVER_NULL.get(table, ()):
                wrong = f"SELECT 1 FROM {table} WHERE {column} IS NULL LIMIT 1"
            elif kind == "hash":
                wrong = f"SELECT 1 FROM {table} WHERE {column} !~ '^[0-9a-f]{{64}}$' LIMIT 1"
            elif kind == "counter":
                wrong = (
                    f"SELECT 1 FROM {table} WHERE {column} < 1 OR {column} >= {PG_INTEGER_MAX}"
                    " LIMIT 1"
                )
            elif kind == "JSON list":
                texts = conn.execute(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL")
                if not all(_json_list(text) for (text,) in texts):
                    return table
                continue
            else:
                continue
            if conn.execute(wrong).fetchone() is not None:
                return table
    return None


def _json_list(text: Any) -> bool:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return False
    return isinstance(value, list) and len(value) > 0


def tables_current(conn: Any) -> bool:
    """Whether every table of this version's schema is there with every column it declares
    (SQLite's and PostgreSQL's share their tables' names and columns; PostgreSQL adds some):
    a schema whose version record says less was set back by other hands."""
    found: dict[str, set[str]] = {}
    for table, column in conn.execute(
        "SELECT table_name::text, column_name::text FROM information_schema.columns"
        " WHERE table_schema = current_schema()"
    ):
        found.setdefault(table, set()).add(column)
    return all(
        {c[1] for c in columns} <= found.get(table, set())
        for table, columns in schema_columns().items()
    )


@contextmanager
def ledger_snapshot(url: str) -> Iterator[LedgerSnapshot]:
    """The database's ledger in one read-only snapshot (`StoreUnavailable` when unreachable)."""
    try:
        conn = psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.OperationalError as exc:
        raise unavailable(url, exc) from None
    with conn:
        _configure_reader(conn)
        yield LedgerSnapshot(conn)
