"""The ledger on SQLite: atomic, durable, gap-free appends and proofs from stored subtrees.

Every append runs inside `BEGIN IMMEDIATE` … `COMMIT` on a WAL database with
`synchronous=FULL`: the write lock serialises appenders across threads and processes, so each
one reads the true tail, and the entry is on disk before `append` returns. An entry's row holds
its exact canonical bytes (column `entry`); `kind` and `ref` are copies kept for look-ups only,
and `verify` never trusts them.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import sqlite_utils

from ledger import DB_FILE, personal
from ledger.canonical import (
    ENTRY_KINDS,
    ZERO_HASH,
    canonical_bytes,
    entry_document,
    parse_entry,
    sha256_hex,
)
from ledger.checkpoint import Checkpoint, format_checkpoint
from ledger.keys import ORIGIN, load_or_create_signer
from ledger.merkle import leaf_hash
from ledger.note import Signer
from ledger.tlog_proof import format_tlog_proof
from ledger.tree import consistency_hashes, inclusion_hashes, new_nodes, root_hash
from schemas.decision import Decision, Receipt, RecordedDecision
from schemas.ledger import CheckpointView, ConsistencyProof, Entry, InclusionProof

BUSY_TIMEOUT_S = 60.0


class EntryNotFound(IndexError):
    """No entry has that index (the API answers 404)."""


class BadProofRequest(ValueError):
    """A proof was asked for sizes or indices that do not make one (the API answers 400)."""


class DuplicateDecision(ValueError):
    """A decision with this id is already in the ledger."""


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def connect(db_path: Path) -> sqlite3.Connection:
    """A connection that manages its own transactions, waits for the write lock, and syncs."""
    conn = sqlite3.connect(
        db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def create_tables(conn: sqlite3.Connection) -> None:
    db = sqlite_utils.Database(conn)
    db["entries"].create(
        {"idx": int, "kind": str, "ref": str, "entry_hash": str, "entry": bytes},
        pk="idx",
        not_null={"kind", "entry_hash", "entry"},
        if_not_exists=True,
    )
    db["entries"].create_index(["kind", "ref"], if_not_exists=True)
    db["tree_nodes"].create(
        {"level": int, "position": int, "hash": bytes},
        pk=("level", "position"),
        not_null={"hash"},
        if_not_exists=True,
    )
    db["checkpoints"].create(
        {"tree_size": int, "root_hash": str, "note": str, "signed_at": str},
        pk="tree_size",
        not_null={"root_hash", "note", "signed_at"},
        if_not_exists=True,
    )
    db["personal_keys"].create({"case_id": str, "key": bytes}, pk="case_id", if_not_exists=True)
    db["personal_records"].create(
        {"commitment": str, "case_id": str, "sealed": bytes, "sealed_at": str},
        pk="commitment",
        not_null={"case_id", "sealed", "sealed_at"},
        if_not_exists=True,
    )
    db["personal_records"].create_index(["case_id"], if_not_exists=True)


class Ledger:
    """The append-only ledger of one data directory. Safe to share between threads (one
    connection behind a lock) and between processes (SQLite's write lock)."""

    def __init__(self, data_dir: Path, conn: sqlite3.Connection, signer: Signer) -> None:
        self.data_dir = data_dir
        self.db_path = data_dir / DB_FILE
        self._conn = conn
        self._signer = signer
        self._lock = threading.RLock()

    @classmethod
    def open(cls, data_dir: Path) -> Ledger:
        """Open (creating on first use) the ledger, its signing key and the genesis `key` entry."""
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        signer = load_or_create_signer(data_dir)
        conn = connect(data_dir / DB_FILE)
        with _immediate(conn):
            create_tables(conn)
        ledger = cls(data_dir, conn, signer)
        with ledger._transaction() as tx:
            if _size(tx) == 0:
                body = {"origin": ORIGIN, "verifier_key": signer.verifier_key}
                _append(tx, "key", body, ref=signer.verifier_key)
        return ledger

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @property
    def verifier_key(self) -> str:
        return self._signer.verifier_key

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, _immediate(self._conn):
            yield self._conn

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        # A read transaction, so a size and the nodes read after it come from one snapshot.
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                self._conn.execute("COMMIT")

    # -- appending ---------------------------------------------------------------------------

    def append(self, kind: str, body: dict, ref: str | None = None) -> Receipt:
        """Append one entry and return its receipt once it is durable."""
        with self._transaction() as tx:
            index = _append(tx, kind, body, ref)
            return _receipt(tx, index, index + 1)

    def append_many(self, items: list[tuple[str, dict]]) -> list[Receipt]:
        """Append several entries in one commit (one fsync for all of them)."""
        with self._transaction() as tx:
            indices = [_append(tx, kind, body, None) for kind, body in items]
            size = indices[-1] + 1 if indices else _size(tx)
            return [_receipt(tx, i, size) for i in indices]

    def record_decision(
        self,
        policy_document: dict,
        decision: Decision,
        facts: dict,
        personal_commitment: str | None = None,
    ) -> Receipt:
        """Append the decision, preceded by a `policy` entry the first time its version is
        used, in one transaction. An empty `decision_id` is replaced by a new UUID."""
        decision_id = decision.decision_id or str(uuid.uuid4())
        body = {
            "decision_id": decision_id,
            "policy": decision.policy,
            "policy_version": decision.policy_version,
            "as_of": decision.as_of,
            "case_id": decision.case_id,
            "facts": facts,
            "outcome": msgspec.to_builtins(decision.outcome),
            "reasons": msgspec.to_builtins(decision.reasons),
            "personal_commitment": personal_commitment,
        }
        canonical_bytes(body)  # refuse floats before taking the write lock
        with self._transaction() as tx:
            if _find(tx, "decision", decision_id) is not None:
                raise DuplicateDecision(f"decision {decision_id} is already recorded")
            if _find(tx, "policy", decision.policy_version) is None:
                policy_body = {
                    "policy": decision.policy,
                    "policy_version": decision.policy_version,
                    "ruleset": policy_document,
                }
                _append(tx, "policy", policy_body, ref=decision.policy_version)
            index = _append(tx, "decision", body, ref=decision_id)
            return _receipt(tx, index, index + 1)

    # -- reading -----------------------------------------------------------------------------

    def tree_size(self) -> int:
        with self._reading() as tx:
            return _size(tx)

    def entry(self, index: int) -> Entry:
        with self._reading() as tx:
            row = tx.execute("SELECT entry, entry_hash FROM entries WHERE idx = ?", (index,))
            found = row.fetchone()
        if found is None:
            raise EntryNotFound(f"no entry {index}")
        return _entry_view(found[0], found[1])

    def entries(self, start: int = 0, limit: int = 100) -> list[Entry]:
        if start < 0 or limit < 0:
            raise BadProofRequest("start and limit must not be negative")
        with self._reading() as tx:
            rows = tx.execute(
                "SELECT entry, entry_hash FROM entries WHERE idx >= ? ORDER BY idx LIMIT ?",
                (start, limit),
            ).fetchall()
        return [_entry_view(raw, h) for raw, h in rows]

    def decision(self, decision_id: str) -> RecordedDecision | None:
        with self._reading() as tx:
            index = _find(tx, "decision", decision_id)
            if index is None:
                return None
            raw = tx.execute("SELECT entry FROM entries WHERE idx = ?", (index,)).fetchone()[0]
            receipt = _receipt(tx, index, _size(tx))
        body = parse_entry(raw)["body"]
        fields = {k: body[k] for k in ("decision_id", "policy", "policy_version", "as_of")}
        fields |= {k: body[k] for k in ("case_id", "outcome", "reasons")}
        return msgspec.convert(fields | {"ledger": receipt}, RecordedDecision)

    def root_hash(self, size: int | None = None) -> str:
        with self._reading() as tx:
            current = _size(tx)
            size = current if size is None else size
            if not 0 <= size <= current:
                raise BadProofRequest(f"tree size {size} is not between 0 and {current}")
            return root_hash(size, _lookup(tx)).hex()

    def inclusion_proof(self, index: int, tree_size: int | None = None) -> InclusionProof:
        with self._reading() as tx:
            current = _size(tx)
            tree_size = current if tree_size is None else tree_size
            if not 0 < tree_size <= current:
                raise BadProofRequest(f"tree size {tree_size} is not between 1 and {current}")
            if not 0 <= index < tree_size:
                raise EntryNotFound(f"no entry {index} in a tree of {tree_size}")
            lookup = _lookup(tx)
            hashes = inclusion_hashes(index, tree_size, lookup)
            leaf = lookup(0, index)
        return InclusionProof(index, tree_size, leaf.hex(), [h.hex() for h in hashes])

    def consistency_proof(self, first: int, second: int | None = None) -> ConsistencyProof:
        with self._reading() as tx:
            current = _size(tx)
            second = current if second is None else second
            if not 0 < first <= second <= current:
                raise BadProofRequest(
                    f"need 0 < first <= second <= {current}, got first={first} second={second}"
                )
            hashes = consistency_hashes(first, second, _lookup(tx))
        return ConsistencyProof(first, second, [h.hex() for h in hashes])

    # -- checkpoints and receipts ------------------------------------------------------------

    def checkpoint_view(self) -> CheckpointView:
        """The latest signed checkpoint, signing a new one first if the tree has grown."""
        with self._transaction() as tx:
            size = _size(tx)
            latest = tx.execute(
                "SELECT tree_size, root_hash, note FROM checkpoints ORDER BY tree_size DESC LIMIT 1"
            ).fetchone()
            if latest is not None and latest[0] == size:
                return CheckpointView(latest[2], latest[0], latest[1])
            root = root_hash(size, _lookup(tx))
            note = self._signer.sign(format_checkpoint(Checkpoint(ORIGIN, size, root)))
            tx.execute(
                "INSERT INTO checkpoints (tree_size, root_hash, note, signed_at) "
                "VALUES (?, ?, ?, ?)",
                (size, root.hex(), note, utc_now()),
            )
            return CheckpointView(note, size, root.hex())

    def checkpoint(self) -> str:
        return self.checkpoint_view().checkpoint

    def checkpoints(self) -> list[CheckpointView]:
        with self._reading() as tx:
            rows = tx.execute(
                "SELECT note, tree_size, root_hash FROM checkpoints ORDER BY tree_size"
            ).fetchall()
        return [CheckpointView(*row) for row in rows]

    def receipt(self, index: int) -> str:
        """A C2SP tlog-proof of entry `index` against a fresh signed checkpoint, carrying the
        entry's own bytes (base64) on its `extra` line so that it is checkable on its own."""
        view = self.checkpoint_view()
        if not 0 <= index < view.tree_size:
            raise EntryNotFound(f"no entry {index}")
        with self._reading() as tx:
            hashes = inclusion_hashes(index, view.tree_size, _lookup(tx))
            raw = tx.execute("SELECT entry FROM entries WHERE idx = ?", (index,)).fetchone()[0]
        return format_tlog_proof(index, hashes, view.checkpoint, extra=bytes(raw))

    def entry_bytes(self, index: int) -> bytes:
        """The exact bytes of entry `index`: what a receipt proves."""
        with self._reading() as tx:
            row = tx.execute("SELECT entry FROM entries WHERE idx = ?", (index,)).fetchone()
        if row is None:
            raise EntryNotFound(f"no entry {index}")
        return bytes(row[0])

    # -- personal data -----------------------------------------------------------------------

    def seal_personal(self, case_id: str, data: dict) -> str:
        """Encrypt `data` under the case's key (created on first use); return its commitment."""
        with self._transaction() as tx:
            row = tx.execute(
                "SELECT key FROM personal_keys WHERE case_id = ?", (case_id,)
            ).fetchone()
            if row is None or row[0] is None:
                key = personal.new_case_key()
                tx.execute(
                    "INSERT OR REPLACE INTO personal_keys (case_id, key) VALUES (?, ?)",
                    (case_id, key),
                )
            else:
                key = row[0]
            commitment, sealed = personal.seal(key, case_id, data)
            tx.execute(
                "INSERT INTO personal_records (commitment, case_id, sealed, sealed_at) "
                "VALUES (?, ?, ?, ?)",
                (commitment, case_id, sealed, utc_now()),
            )
        return commitment

    def open_personal(self, case_id: str) -> dict | None:
        """The case's latest sealed data, or None if there is none or it was erased."""
        with self._reading() as tx:
            key = tx.execute(
                "SELECT key FROM personal_keys WHERE case_id = ?", (case_id,)
            ).fetchone()
            record = tx.execute(
                "SELECT sealed FROM personal_records WHERE case_id = ? "
                "ORDER BY sealed_at DESC, rowid DESC LIMIT 1",
                (case_id,),
            ).fetchone()
        if key is None or key[0] is None or record is None:
            return None
        return personal.unseal(key[0], case_id, record[0])[1]

    def erase_personal(self, case_id: str) -> Receipt:
        """Destroy the case key and its ciphertexts; append an `erasure` entry naming the
        commitments that can no longer be opened."""
        with self._transaction() as tx:
            commitments = [
                row[0]
                for row in tx.execute(
                    "SELECT commitment FROM personal_records WHERE case_id = ? ORDER BY rowid",
                    (case_id,),
                )
            ]
            tx.execute("DELETE FROM personal_keys WHERE case_id = ?", (case_id,))
            tx.execute("DELETE FROM personal_records WHERE case_id = ?", (case_id,))
            body = {"case_id": case_id, "commitments": commitments}
            index = _append(tx, "erasure", body, ref=case_id)
            return _receipt(tx, index, index + 1)


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _size(tx: sqlite3.Connection) -> int:
    row = tx.execute("SELECT idx FROM entries ORDER BY idx DESC LIMIT 1").fetchone()
    return 0 if row is None else row[0] + 1


def _find(tx: sqlite3.Connection, kind: str, ref: str) -> int | None:
    row = tx.execute(
        "SELECT idx FROM entries WHERE kind = ? AND ref = ? ORDER BY idx LIMIT 1", (kind, ref)
    ).fetchone()
    return None if row is None else row[0]


def _lookup(tx: sqlite3.Connection):  # noqa: ANN202 - a NodeLookup
    def lookup(level: int, position: int) -> bytes:
        row = tx.execute(
            "SELECT hash FROM tree_nodes WHERE level = ? AND position = ?", (level, position)
        ).fetchone()
        if row is None:
            raise LookupError(f"tree node ({level}, {position}) is missing")
        return bytes(row[0])

    return lookup


def _append(tx: sqlite3.Connection, kind: str, body: dict, ref: str | None) -> int:
    """Append inside an open write transaction; return the new entry's index."""
    if kind not in ENTRY_KINDS:
        raise ValueError(f"unknown entry kind {kind!r}")
    tail = tx.execute("SELECT idx, entry_hash FROM entries ORDER BY idx DESC LIMIT 1").fetchone()
    index, prev_hash = (0, ZERO_HASH) if tail is None else (tail[0] + 1, tail[1])
    raw = canonical_bytes(entry_document(index, kind, utc_now(), prev_hash, body))
    tx.execute(
        "INSERT INTO entries (idx, kind, ref, entry_hash, entry) VALUES (?, ?, ?, ?, ?)",
        (index, kind, ref, sha256_hex(raw), raw),
    )
    tx.executemany(
        "INSERT INTO tree_nodes (level, position, hash) VALUES (?, ?, ?)",
        new_nodes(index, leaf_hash(raw), _lookup(tx)),
    )
    return index


def _receipt(tx: sqlite3.Connection, index: int, tree_size: int) -> Receipt:
    entry_hash = tx.execute("SELECT entry_hash FROM entries WHERE idx = ?", (index,)).fetchone()
    return Receipt(index, entry_hash[0], tree_size, root_hash(tree_size, _lookup(tx)).hex())


def _entry_view(raw: bytes, entry_hash: str) -> Entry:
    return msgspec.convert(parse_entry(bytes(raw)) | {"entry_hash": entry_hash}, Entry)
