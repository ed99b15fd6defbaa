"""The storage interface: what the ledger, cases, keys and personal data ask of a store.

No SQL crosses this seam: a PostgreSQL store implements the same three protocols. A read runs in
one snapshot (`Store.read()`); a write is a job, a function of a `WriteTx`, that the store's
writer runs inside a transaction shared with other waiting jobs (`Store.write(job)`), under its
own savepoint: a job that raises fails alone, and its caller gets the exception.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

HEX_DIGITS = "0123456789abcdef"
BUSY_WAIT_S = 5.0  # the longest a write waits for another process's write lock


# A LIKE pattern for a note with two signature lines or more (each starts "\n— "): a checkpoint
# the log signed and at least one witness cosigned. The same in SQLite and PostgreSQL.
COSIGNED_PATTERN = "%\n\u2014 %\n\u2014 %"


def is_cosigned(note: str) -> bool:
    """What `COSIGNED_PATTERN` matches, for a note already read."""
    return note.count("\n\u2014 ") >= 2


def gains_signatures(stored: str, offered: str) -> bool:
    """True when `offered` is the note `stored` with all its signature lines and more: what
    `WriteTx.attach_cosignatures` accepts."""
    from ledger.note import NoteError, split_note

    try:
        text, old = split_note(stored)
        new_text, new = split_note(offered)
    except (NoteError, ValueError):
        return False
    return new_text == text and set(old) <= set(new) and len(set(new)) > len(set(old))


class DamagedValue(ValueError):
    """A stored value of a type the service never writes there (`blob`): the store was edited
    by other hands; `redress verify` names where."""


class MissingNodes(DamagedValue, LookupError):
    """Tree nodes a tree size the ledger has reached needs are not stored: deleted or moved by
    other hands (the writer stores each node with the entry that completes it)."""


def blob(value: Any) -> bytes:
    """A BLOB column's value as bytes. `DamagedValue` for anything else: text or a number an
    operator wrote there (`bytes(n)` would make n zero bytes, a gigabyte for 10**9)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise DamagedValue(f"{type(value).__name__} {str(value)[:40]!r} where bytes are stored")


def stored_hash(value: Any) -> str:
    """A stored SHA-256 digest (lowercase hex, as the writer stores every entry's). Anything
    else is `DamagedValue`: the writer chains the next entry to it, and bytes there failed
    every write while text that is no hash made the next entry one no reader could parse."""
    if isinstance(value, str) and len(value) == 64 and not value.strip(HEX_DIGITS):
        return value
    raise DamagedValue(f"{type(value).__name__} {str(value)[:40]!r} where a SHA-256 hash is stored")


def stored_as(value: Any, shape: type[T]) -> T:
    """`value`, read from the store, as `shape` (a msgspec type the API serves). `DamagedValue`
    where it does not fit: the service wrote it to fit, so other hands changed it (a role
    'Audit', a case state 'Late', a NULL where a name was written)."""
    import msgspec

    try:
        return msgspec.convert(value, shape)
    except msgspec.ValidationError as exc:
        raise DamagedValue(f"a stored value does not fit {shape.__name__}: {exc}") from None


def as_written(what: str, read: Callable[[], T]) -> T:
    """What `read` makes of stored rows; `DamagedValue` where it fails on a value the service
    never writes there (facts that are no JSON, a due that is no date, an unknown policy):
    the API and the console answer 503 naming `redress verify`, which names the
    row."""
    try:
        return read()
    except (ValueError, TypeError, KeyError) as error:
        raise DamagedValue(f"{what}: {type(error).__name__}: {str(error)[:200]}") from None


class StoreBusy(RuntimeError):
    """Another process held the write lock for longer than `BUSY_WAIT_S` (the API answers 503)."""


class StoreUnavailable(StoreBusy):
    """The store cannot take writes now: the database is away or read-only, or the disk
    refused the write (the API answers 503, as for a busy store; nothing was written)."""


class VersionConflict(RuntimeError):
    """A case changed between reading it and writing it (the service retries)."""


class SchemaTooNew(RuntimeError):
    """The store was written by a newer Redress: its schema is newer than this code knows."""


@dataclass(frozen=True)
class AppendReceipt:
    """Where an appended entry landed: its index and hash, and the tree right after it."""

    index: int
    entry_hash: str
    tree_size: int
    root_hash: str


@dataclass(frozen=True)
class StoredResponse:
    """The response remembered for an `Idempotency-Key`: what the request hashed to, and the
    status and body it was answered with (`status` 0 while its transaction is still open)."""

    request_hash: str
    status: int
    body: bytes
    created_at: str


@dataclass(frozen=True)
class StoredCheckpoint:
    tree_size: int
    root_hash: str
    note: str


class ReadTx(Protocol):
    """Reads within one consistent snapshot."""

    # ledger
    def tree_size(self) -> int: ...
    def entry(self, index: int) -> tuple[bytes, str] | None: ...
    def entries(self, start: int, limit: int) -> list[tuple[int, bytes, str]]: ...
    def find_entry(self, kind: str, ref: str) -> int | None: ...
    def entries_of_kind(self, kind: str, start: int = 0) -> list[bytes]:
        """The bytes of every entry of `kind` from index `start`, in order: meant for the rare
        kinds (`key`)."""
        ...

    def nodes(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]: ...
    def latest_checkpoint(self) -> StoredCheckpoint | None: ...
    def checkpoints(self) -> list[StoredCheckpoint]: ...
    def checkpoints_newest(self, offset: int, limit: int) -> list[StoredCheckpoint]:
        """Stored checkpoints newest first: `limit` of them, after the first `offset`."""
        ...

    def latest_cosigned_checkpoint(self, min_size: int = 0) -> StoredCheckpoint | None:
        """The newest checkpoint whose note carries cosignatures (more than one signature
        line) and covers at least `min_size` entries; None when there is none."""
        ...

    # cases: rows are plain dicts with the column names of the case tables
    def case(self, case_id: str) -> dict[str, Any] | None: ...
    def case_decision_ids(self, case_id: str) -> list[str]: ...
    def case_misplaced_decisions(self) -> str | None:
        """The first case whose decisions' places (`seq`) are not 0, 1, 2…; None when none."""
        ...

    def case_obligations(self, case_id: str) -> list[dict[str, Any]]: ...
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
        """Case rows by (opened_at, case_id), after the key `after`, at most `limit`; filtered
        by policy, state, reference and, with `overdue_cutoffs` ({policy: UTC instant text}),
        to cases with an obligation not done, still listed, whose `passes_at` is at or before
        its policy's cutoff (a policy not named there has no overdue case)."""
        ...

    def case_ids(self) -> list[str]: ...

    # personal data and keys
    def personal_key(self, case_id: str) -> bytes | None: ...
    def latest_sealed(self, case_id: str) -> bytes | None: ...
    def api_keys(self) -> list[tuple[str, str]]:
        """(key hash, role) of every key not revoked."""
        ...

    def key_records(self) -> list[dict[str, Any]]:
        """Every key, oldest first: `key_id, key_hash, role, name, created_at, revoked_at`."""
        ...

    def key_revision(self) -> str:
        """A digest that changes whenever a key row's hash, role, name or revocation does
        (cheap: read every half second)."""
        ...

    # idempotency: (request hash, status, response body) kept for (owner, key); the owner is
    # the caller's key id
    def stored_response(self, key_id: str, idempotency_key: str) -> StoredResponse | None:
        """The claim (status 0 while its transaction is open) or response kept for a key."""
        ...

    # the decision index (derived from the ledger; `store.decision_index` has the SQL)
    def indexed_decisions(self) -> int: ...
    def routing_counts(
        self, policy: str | None, start: str | None, end: str | None
    ) -> tuple[list[tuple], list[tuple]]: ...
    def live_per_day(self) -> list[tuple]: ...
    def subject_rows(
        self, policy: str | None, start: str | None, end: str | None
    ) -> list[dict[str, Any]]: ...
    def newest_case_subjects(
        self, policy: str | None, state: str | None, limit: int, offset: int = 0
    ) -> list[dict[str, Any]]: ...
    def subject_registers(
        self, policy: str | None, start: str | None, end: str | None
    ) -> list[tuple]: ...
    def subject_case_decisions(
        self, policy: str | None, start: str | None, end: str | None
    ) -> list[tuple]: ...
    def obligation_groups(
        self, policy: str | None, start: str | None, end: str | None
    ) -> list[tuple]: ...
    def complainant_subjects(
        self, policy: str | None, start: str | None, end: str | None
    ) -> list[tuple]: ...
    def pending_obligations(self, before: str, limit: int) -> list[tuple]: ...
    def subject_counts(
        self, policy: str | None, start: str | None, end: str | None
    ) -> list[tuple]: ...
    def subject_levels(
        self, policy: str | None, start: str | None, end: str | None, levels: Sequence[str]
    ) -> list[tuple]: ...
    def search_decisions(
        self, filters: dict[str, str | None], offset: int, limit: int
    ) -> list[dict[str, Any]]: ...
    def decision_flags(self, indices: Sequence[int]) -> dict[int, list[str]]: ...
    def indexed_case(self, case_id: str) -> list[dict[str, Any]]: ...

    # console sessions: (role, csrf, expires_at) by the SHA-256 of the session id
    def console_session(self, id_hash: str) -> tuple[str, str, str] | None: ...


class WriteTx(ReadTx, Protocol):
    """Writes inside the writer's transaction (reads here see the true tail)."""

    def append(self, kind: str, body: bytes, ref: str | None) -> AppendReceipt:
        """Append an entry whose body is already in canonical form (`canonical_bytes`)."""
        ...

    def recorded_at(self) -> str:
        """The `recorded_at` of the entries this transaction appends (its batch's time)."""
        ...

    def put_case(self, row: dict[str, Any], expected_version: int | None) -> int:
        """Insert (expected_version None) or update the case row; the new version. Raises
        `VersionConflict` when the stored version is not `expected_version`."""
        ...

    def add_case(self, row: dict[str, Any], decision_id: str, obligations: list[dict]) -> None:
        """A new case: its row (version 1), its first decision and its register (rows as
        `replace_obligations` takes them)."""
        ...

    def add_case_decision(self, case_id: str, decision_id: str) -> None: ...
    def replace_obligations(self, case_id: str, rows: list[dict[str, Any]]) -> None:
        """The case's register, in order (each row's `seq` is its place)."""
        ...

    def replace_case_decisions(self, case_id: str, decision_ids: list[str]) -> None:
        """The case's decisions, oldest first (for a rebuild from the ledger)."""
        ...

    def put_personal(self, case_id: str, key: bytes, commitment: str, sealed: bytes) -> None: ...
    def erase_personal(self, case_id: str) -> list[str]:
        """Destroy the case's key, records and complainant; the erased commitments, in order."""
        ...

    def add_api_key(
        self,
        key_hash: str,
        role: str,
        key_id: str | None = None,
        name: str | None = None,
        created_at: str | None = None,
    ) -> bool:
        """Store a key (False when that hash is stored already); `key_id` is its public id
        (made up when None), `created_at` RFC 3339 UTC (now when None)."""
        ...

    def has_api_key_with_role(self, role: str) -> bool: ...
    def revoke_api_key(self, key_id: str) -> bool:
        """Mark the key revoked (at this transaction's `recorded_at`, its `revoke` entry's) and
        end the console sessions it opened; False when no unrevoked key has that id."""
        ...

    def date_api_key(self, key_id: str, at: str) -> None:
        """Date a key's creation, and its revocation if it is revoked, at `at`."""
        ...

    def claim_response(
        self, key_id: str, idempotency_key: str, request_hash: str, expired_before: str
    ) -> StoredResponse | None:
        """Claim an `Idempotency-Key` for this request (replacing a claim made before
        `expired_before`); the stored claim instead when one is live."""
        ...

    def put_response(self, key_id: str, idempotency_key: str, status: int, body: bytes) -> None:
        """The response to a claimed `Idempotency-Key` (in the claim's transaction)."""
        ...

    def index_decision(
        self,
        row: dict[str, Any],
        flags: Iterable[str],
        obligations: Sequence[dict[str, Any]],
        first_of_case: bool = False,
    ) -> None:
        """Index a decision entry in its own transaction (row, flags, case-less register);
        `first_of_case`: the decision that opens its case (no earlier one to supersede)."""
        ...

    def clear_decision_index(self) -> None: ...
    def put_console_session(
        self, id_hash: str, role: str, key_id: str, csrf: str, expires_at: str, purge_before: str
    ) -> None: ...
    def delete_console_session(self, id_hash: str) -> None: ...

    def attach_cosignatures(self, tree_size: int, note: str) -> bool:
        """Replace the note of the stored checkpoint of `tree_size` by `note`, only when `note`
        is the same checkpoint text with every stored signature line and more of them (the
        witnesses' cosignatures); False (nothing changed) otherwise. Two cosigners can thus
        never store conflicting notes: a note only ever gains signatures."""
        ...

    def before_commit(self, fn: Callable[[WriteTx], None]) -> None:
        """Run `fn` in this transaction once every job of the batch has run and the batch's
        tree head (the receipts' `tree_size` and `root_hash`) is known, before the commit.
        Dropped if the job that registered it fails."""
        ...


AppendedElsewhere = Callable[[ReadTx, int], None]


class Store(Protocol):
    # Set by the ledger: called by the writer inside a batch's transaction, before its jobs,
    # when the tail holds entries this writer did not append (another process or node did,
    # or it is the writer's first batch), with the first index of them. What it raises fails
    # the batch, every job of it answered with that error.
    on_appended_elsewhere: AppendedElsewhere | None

    def read(self, fresh: bool = False) -> AbstractContextManager[ReadTx]:
        """A read transaction (one snapshot); `fresh`: on a connection of its own, made at once,
        for a probe that must answer within a second."""
        ...

    def write(self, job: Callable[[WriteTx], T], *, scrub: bool = False) -> T:
        """Run `job` in the writer's next transaction; return its result once committed.
        A job acts only through its `tx`: the writer may run it twice before the commit (when
        another job of its batch fails, the batch is rolled back and run again job by job).
        `scrub`: afterwards, leave no trace of deleted rows in any of the store's files."""
        ...

    def write_async(self, job: Callable[[WriteTx], T], *, scrub: bool = False) -> Awaitable[T]:
        """`write` for a coroutine: submits `job` at once and returns what to await for its
        result, which the running event loop is given only once the job committed (no thread
        blocks, no task is made). Cancelling the await does not cancel the job: it commits
        with its batch, whose other jobs are answered as ever; nobody reads its result."""
        ...

    async def call_reading(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)`, which reads this store (a point read on a write path), for a
        coroutine: on the event loop itself when a read is cheaper than handing it to a worker
        thread, in a worker thread when it may wait on the network."""
        ...

    def iter_entries(self, start: int = 0) -> Iterator[tuple[int, bytes, str]]:
        """Every entry from `start` in order, streamed (never the whole ledger in memory)."""
        ...

    def close(self) -> None: ...
