"""The ledger over the store: appends, decisions, proofs, checkpoints and receipts.

Appends go through the store's group-committing writer (`store.Store.write`): an entry is
encoded once, in canonical form, by its caller; the writer chains it to the true tail, adds its
tree nodes, signs a checkpoint at the end of its batch and commits with one fsync before anyone
is answered. Reads (entries, proofs, checkpoints) run on read connections: a proof fetches its
nodes in one query, and receipts use the latest stored checkpoint, never signing one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from cryptography.exceptions import InvalidTag

from ledger import personal
from ledger.canonical import canonical_bytes, parse_entry, parse_entry_fast
from ledger.checkpoint import Checkpoint, format_checkpoint
from ledger.keys import ORIGIN, KeyInForce, load_or_create_signer, signing_keys
from ledger.note import Signer
from ledger.tlog_proof import TlogProofError, format_tlog_proof
from ledger.tree import (
    consistency_hashes,
    frontier_keys,
    inclusion_hashes,
    needed_nodes,
    root_hash,
)
from schemas.decision import Decision, Receipt, RecordedDecision, fields_of_entry
from schemas.ledger import CheckpointView, ConsistencyProof, Entry, InclusionProof
from store import AppendReceipt, ReadTx, Store, WriteTx, open_store
from store.base import DamagedValue, StoredCheckpoint, as_written, blob, stored_as


class EntryNotFound(IndexError):
    """No entry has that index (the API answers 404)."""


class BadProofRequest(ValueError):
    """A proof was asked for sizes or indices that do not make one (the API answers 400)."""


class DuplicateDecision(ValueError):
    """A decision with this id is already in the ledger."""


class IndexDamaged(RuntimeError):
    """The id index points at an entry that is not the decision asked for: the store was
    tampered with (the API answers 503 and serves nothing; `redress verify` names the damage)."""


def as_receipt(r: AppendReceipt) -> Receipt:
    return Receipt(r.index, r.entry_hash, r.tree_size, r.root_hash)


def decision_body(
    decision: Decision,
    facts: dict[str, Any],
    personal_commitment: str | None,
    key_id: str | None = None,
) -> dict[str, Any]:
    """What a decision entry records (its id must be set): with the caller's public key id and
    the request's `purpose` (CONTRACT.md, version 2)."""
    return {
        "decision_id": decision.decision_id,
        "policy": decision.policy,
        "policy_version": decision.policy_version,
        "as_of": decision.as_of,
        "case_id": decision.case_id,
        "facts": facts,
        "outcome": msgspec.to_builtins(decision.outcome),
        "reasons": msgspec.to_builtins(decision.reasons),
        "personal_commitment": personal_commitment,
        "purpose": decision.purpose,
        "key_id": key_id,
    }


def policy_body(decision: Decision, policy_document: dict) -> bytes:
    return canonical_bytes(
        {
            "policy": decision.policy,
            "policy_version": decision.policy_version,
            "ruleset": policy_document,
        }
    )


def append_decision(
    tx: WriteTx, decision: Decision, body: bytes, policy: bytes | None
) -> AppendReceipt:
    """Inside a write: the `policy` entry on first use of its version (`policy`: its canonical
    body), then the decision entry (`body`: its canonical body)."""
    if policy is not None and tx.find_entry("policy", decision.policy_version) is None:
        tx.append("policy", policy, decision.policy_version)
    return tx.append("decision", body, decision.decision_id)


def _fetch(tx: ReadTx, compute: Any) -> Any:
    """Run a proof computation with its nodes fetched in one query."""
    nodes = tx.nodes(needed_nodes(compute))
    return compute(lambda level, position: nodes[(level, position)])


class Ledger:
    """The append-only ledger of one data directory. Safe to share between threads and
    processes (one writer per process; SQLite's write lock between processes)."""

    def __init__(self, data_dir: Path, store: Store, signer: Signer) -> None:
        self.data_dir = data_dir
        self.store = store
        self._signer = signer
        # Set when witnesses are configured: receipts and the published checkpoint then use the
        # latest cosigned checkpoint that covers what they show (the latest signed one until
        # the witnesses have cosigned one).
        self.witnessed = False

    @classmethod
    def open(
        cls, data_dir: Path, store: Store | None = None, auto_checkpoint: bool = True
    ) -> Ledger:
        """Open (creating on first use) the ledger, its signing key and the genesis `key` entry.
        Checkpoints are signed after every batch of appends, or only by `sign_checkpoint` when
        `auto_checkpoint` is False."""
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        signer = load_or_create_signer(data_dir)
        key = KeyInForce(signer.verifier_key)

        def sign(size: int, root: bytes) -> str:
            key.check()  # a key another node's rotation retired signs nothing more
            return signer.sign(format_checkpoint(Checkpoint(ORIGIN, size, root)))

        if store is None:
            store = open_store(data_dir, sign, auto_checkpoint)
        else:
            store.set_signer(sign, auto_checkpoint)
        store.on_appended_elsewhere = key.follow
        with store.read() as tx:  # the store's writer may have started before this ledger
            key.follow(tx, 0)
        ledger = cls(data_dir, store, signer)
        key_body = canonical_bytes({"origin": ORIGIN, "verifier_key": signer.verifier_key})

        def genesis(tx: WriteTx) -> None:
            if tx.tree_size() == 0:
                tx.append("key", key_body, signer.verifier_key)

        store.write(genesis)
        if auto_checkpoint:
            store.checkpoint_now()
        return ledger

    def close(self) -> None:
        self.store.close()

    @property
    def verifier_key(self) -> str:
        return self._signer.verifier_key

    def key_retired(self, fresh: bool = False) -> str | None:
        """Why this process's signing key signs nothing more (a rotation made elsewhere
        retired it), read now (`fresh`: as a probe, `Store.read`); None while it is the key in
        force."""
        key = KeyInForce(self.verifier_key)
        with self.store.read(fresh=fresh) as tx:
            key.follow(tx, 0)
        return key.retired()

    def signing_keys(self) -> list[str]:
        """The signing keys the ledger has been in the hands of, the key in force last
        (`keys.signing_keys`); empty for a ledger with no entry yet."""
        with self.store.read() as tx:
            raws = tx.entries_of_kind("key")
        return signing_keys(msgspec.json.decode(raw) for raw in raws)

    # -- appending ---------------------------------------------------------------------------

    def append(self, kind: str, body: dict, ref: str | None = None) -> Receipt:
        """Append one entry and return its receipt once it is durable."""
        raw = canonical_bytes(body)
        return as_receipt(self.store.write(lambda tx: tx.append(kind, raw, ref)))

    def append_many(self, items: list[tuple[str, dict]]) -> list[Receipt]:
        """Append several entries in one job (one commit for all of them)."""
        encoded = [(kind, canonical_bytes(body)) for kind, body in items]
        done = self.store.write(lambda tx: [tx.append(k, raw, None) for k, raw in encoded])
        return [as_receipt(r) for r in done]

    def record_decision(
        self,
        policy_document: dict,
        decision: Decision,
        facts: dict,
        personal_commitment: str | None = None,
    ) -> Receipt:
        """Append the decision, preceded by a `policy` entry the first time its version is
        used, in one transaction. An empty `decision_id` is replaced by a new UUID."""
        decision = msgspec.structs.replace(
            decision, decision_id=decision.decision_id or str(uuid.uuid4())
        )
        body = canonical_bytes(decision_body(decision, facts, personal_commitment))
        policy = policy_body(decision, policy_document)

        def job(tx: WriteTx) -> AppendReceipt:
            if tx.find_entry("decision", decision.decision_id) is not None:
                raise DuplicateDecision(f"decision {decision.decision_id} is already recorded")
            return append_decision(tx, decision, body, policy)

        return as_receipt(self.store.write(job))

    # -- reading -----------------------------------------------------------------------------

    def tree_size(self) -> int:
        with self.store.read() as tx:
            return tx.tree_size()

    def entry(self, index: int) -> Entry:
        with self.store.read() as tx:
            found = tx.entry(index)
        if found is None:
            raise EntryNotFound(f"no entry {index}")
        return _entry_view(*found)

    def entries(self, start: int = 0, limit: int = 100) -> list[Entry]:
        if start < 0 or limit < 0:
            raise BadProofRequest("start and limit must not be negative")
        with self.store.read() as tx:
            rows = tx.entries(start, limit)
        return [_entry_view(raw, digest) for _, raw, digest in rows]

    def decision(self, decision_id: str) -> RecordedDecision | None:
        """The decision as recorded, with a receipt against the latest signed checkpoint
        (or, before one covers it, the tree as it stands)."""
        with self.store.read() as tx:
            index = tx.find_entry("decision", decision_id)
            if index is None:
                return None
            raw, digest = tx.entry(index)  # type: ignore[misc]
            receipt = self._covering_receipt(tx, index, digest)
        document = stored_entry(raw)
        body = document["body"]
        # An entry stored under another index than its own (the row's idx edited by hand)
        # would be served with a receipt for a place it is not in.
        placed = document.get("index") == index
        if document["kind"] != "decision" or body.get("decision_id") != decision_id or not placed:
            raise IndexDamaged(
                f"the id index sends decision {decision_id} to entry {index}, which is not it"
            )
        return stored_as(fields_of_entry(body) | {"ledger": receipt}, RecordedDecision)

    def _published(self, tx: ReadTx, min_size: int = 0) -> StoredCheckpoint | None:
        """The checkpoint to show for entries below `min_size`: the latest cosigned one that
        covers them when witnesses are configured, else (or until one is) the latest signed."""
        if self.witnessed:
            cosigned = tx.latest_cosigned_checkpoint(min_size)
            if cosigned is not None:
                return cosigned
        return tx.latest_checkpoint()

    def _covering_receipt(self, tx: ReadTx, index: int, digest: str) -> Receipt:
        latest = self._published(tx, index + 1)
        if latest is not None and latest.tree_size > index:
            return Receipt(index, digest, latest.tree_size, latest.root_hash)
        size = tx.tree_size()
        return Receipt(index, digest, size, self._root(tx, size).hex())

    @staticmethod
    def _root(tx: ReadTx, size: int) -> bytes:
        return tree_root(tx, size)

    def root_hash(self, size: int | None = None) -> str:
        with self.store.read() as tx:
            current = tx.tree_size()
            size = current if size is None else size
            if not 0 <= size <= current:
                raise BadProofRequest(f"tree size {size} is not between 0 and {current}")
            return self._root(tx, size).hex()

    def inclusion_proof(self, index: int, tree_size: int | None = None) -> InclusionProof:
        with self.store.read() as tx:
            current = tx.tree_size()
            tree_size = current if tree_size is None else tree_size
            if not 0 < tree_size <= current:
                raise BadProofRequest(f"tree size {tree_size} is not between 1 and {current}")
            if not 0 <= index < tree_size:
                raise EntryNotFound(f"no entry {index} in a tree of {tree_size}")
            nodes = tx.nodes(
                [*needed_nodes(lambda f: inclusion_hashes(index, tree_size, f)), (0, index)]
            )
        lookup = lambda level, position: nodes[(level, position)]  # noqa: E731
        hashes = inclusion_hashes(index, tree_size, lookup)
        return InclusionProof(index, tree_size, nodes[(0, index)].hex(), [h.hex() for h in hashes])

    def consistency_proof(self, first: int, second: int | None = None) -> ConsistencyProof:
        with self.store.read() as tx:
            current = tx.tree_size()
            second = current if second is None else second
            if not 0 < first <= second <= current:
                raise BadProofRequest(
                    f"need 0 < first <= second <= {current}, got first={first} second={second}"
                )
            hashes = _fetch(tx, lambda f: consistency_hashes(first, second, f))
        return ConsistencyProof(first, second, [h.hex() for h in hashes])

    # -- checkpoints and receipts ------------------------------------------------------------

    def checkpoint_view(self) -> CheckpointView:
        """The latest signed checkpoint (the writer signs them; reading never does)."""
        with self.store.read() as tx:
            latest = self._published(tx)
        if latest is None:
            raise EntryNotFound("no checkpoint has been signed yet")
        return CheckpointView(latest.note, latest.tree_size, latest.root_hash)

    def checkpoint(self) -> str:
        return self.checkpoint_view().checkpoint

    def sign_checkpoint(self) -> CheckpointView:
        """Have the writer sign a checkpoint of the whole tree now (if the tree has grown)."""
        self.store.checkpoint_now()
        return self.checkpoint_view()

    def checkpoints_newest(self, offset: int, limit: int) -> list[CheckpointView]:
        """Stored checkpoints, newest first: `limit` of them after the first `offset` (the
        writer signs one a batch: a busy ledger's are read a page at a time)."""
        with self.store.read() as tx:
            rows = tx.checkpoints_newest(offset, limit)
        return [CheckpointView(c.note, c.tree_size, c.root_hash) for c in rows]

    def receipt(self, index: int) -> str:
        """A C2SP tlog-proof of entry `index` against the latest signed checkpoint, carrying the
        entry's own bytes (base64) on its `extra` line so that it is checkable on its own."""
        with self.store.read() as tx:
            latest = self._published(tx, index + 1)
            if latest is None or not 0 <= index < latest.tree_size:
                raise EntryNotFound(f"no signed checkpoint covers entry {index} yet")
            size = latest.tree_size
            hashes = _fetch(tx, lambda f: inclusion_hashes(index, size, f))
            raw, _ = tx.entry(index)  # type: ignore[misc]
        try:
            return format_tlog_proof(index, hashes, latest.note, extra=raw)
        except (TlogProofError, TypeError) as error:  # a note or node the writer never wrote
            raise DamagedValue(f"the receipt of entry {index} cannot be made: {error}") from None

    def entry_bytes(self, index: int) -> bytes:
        """The exact bytes of entry `index`: what a receipt proves."""
        with self.store.read() as tx:
            found = tx.entry(index)
        if found is None:
            raise EntryNotFound(f"no entry {index}")
        return found[0]

    # -- personal data -----------------------------------------------------------------------

    def seal_personal(self, case_id: str, data: dict) -> str:
        """Encrypt `data` under the case's key (created on first use); return its commitment."""
        salt, commitment = personal.commit(data)

        def job(tx: WriteTx) -> None:
            key = tx.personal_key(case_id) or personal.new_case_key()
            tx.put_personal(case_id, key, commitment, personal.seal_with(key, case_id, salt, data))

        self.store.write(job)
        return commitment

    def open_personal(self, case_id: str) -> dict | None:
        """The case's latest sealed data, or None if there is none or it was erased."""
        with self.store.read() as tx:
            key = tx.personal_key(case_id)
            sealed = tx.latest_sealed(case_id)
        if key is None or sealed is None:
            return None
        try:
            return personal.unseal(blob(key), case_id, blob(sealed))[1]
        except (ValueError, TypeError, KeyError, InvalidTag) as error:
            # A key or record the service never wrote (`redress verify` names the case).
            raise DamagedValue(f"case {case_id}'s sealed personal data cannot be opened") from error

    def erase_personal(self, case_id: str) -> Receipt:
        """Destroy the case key and its ciphertexts; append an `erasure` entry naming the
        commitments that can no longer be opened; leave no copy in the store's files."""

        def job(tx: WriteTx) -> AppendReceipt:
            return append_erasure(tx, case_id)

        return as_receipt(self.store.write(job, scrub=True))


def append_erasure(tx: WriteTx, case_id: str) -> AppendReceipt:
    commitments = tx.erase_personal(case_id)
    body = canonical_bytes({"case_id": case_id, "commitments": commitments})
    return tx.append("erasure", body, case_id)


def stored_entry(raw: Any) -> dict:
    """The entry document of a stored entry; `DamagedValue` where the stored value is not one
    (the writer stores every entry as its canonical bytes)."""
    return as_written("a stored entry", lambda: parse_entry(blob(raw)))


def stored_body(raw: Any) -> Any:
    """`stored_entry`'s body, on the fast path (`parse_entry_fast`)."""
    return as_written("a stored entry", lambda: parse_entry_fast(blob(raw)))["body"]


def _entry_view(raw: bytes, entry_hash: str) -> Entry:
    return stored_as(stored_entry(raw) | {"entry_hash": entry_hash}, Entry)


def tree_root(tx: ReadTx, size: int) -> bytes:
    """The root hash of the stored tree of `size` leaves, from its stored subtree hashes: what
    a reader without the signing key names a report's ledger state by (`redress report`,
    `redress index check`)."""
    keys = frontier_keys(size)
    nodes = tx.nodes(keys)
    return root_hash(size, lambda level, position: nodes[(level, position)])


def stored_root_hash(store: Store) -> Callable[[int], str]:
    """`Ledger.root_hash(size)` for a reader without the signing key, read from `store`."""

    def at(size: int) -> str:
        with store.read() as tx:
            return tree_root(tx, size).hex()

    return at
