"""C2SP tlog-proof (https://c2sp.org/tlog-proof, `c2sp.org/tlog-proof@v1`): a self-contained,
offline-verifiable receipt that an entry is in the log.

    c2sp.org/tlog-proof@v1
    extra <base64>          (optional, unauthenticated)
    index <decimal>
    <base64 inclusion proof hash, leaf's sibling first>  (zero or more lines)
    <empty line>
    <the signed checkpoint note, verbatim>

Verifying one needs only the entry bytes and the log's verifier key: the note signature binds the
checkpoint, the checkpoint binds size and root, and the RFC 9162 inclusion proof binds the entry.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ledger.checkpoint import Checkpoint, open_checkpoint, strict_base64, strict_decimal
from ledger.merkle import HASH_SIZE, leaf_hash, verify_inclusion
from ledger.note import Verifier

HEADER = "c2sp.org/tlog-proof@v1"
MAX_INDEX = 2**64 - 1


class TlogProofError(ValueError):
    """The text is not a well-formed tlog-proof."""


@dataclass(frozen=True, slots=True)
class TlogProof:
    """A parsed, not yet verified, tlog-proof."""

    index: int
    hashes: tuple[bytes, ...]
    checkpoint: str  # the signed checkpoint note, exactly as it appeared
    extra: bytes | None = None


def _canonical_b64decode(text: str, what: str) -> bytes:
    value = strict_base64(text)
    if value is None:
        raise TlogProofError(f"{what} is not canonical base64: {text!r}")
    return value


def format_tlog_proof(
    index: int,
    hashes: Sequence[bytes],
    signed_checkpoint: str,
    extra: bytes | None = None,
) -> str:
    """The tlog-proof text for the entry at `index`, given its inclusion proof in the tree of
    `signed_checkpoint` (a signed note, included verbatim).
    """
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= MAX_INDEX:
        raise TlogProofError(f"index must be an integer in 0..2^64-1, got {index!r}")
    for position, value in enumerate(hashes):
        if len(value) != HASH_SIZE:
            raise TlogProofError(f"proof hash {position} is {len(value)} bytes, not {HASH_SIZE}")
    if not signed_checkpoint.endswith("\n") or "\n\n" not in signed_checkpoint:
        raise TlogProofError("signed checkpoint must be a whole signed note")
    lines = [HEADER]
    if extra is not None:
        lines.append(f"extra {base64.b64encode(extra).decode()}")
    lines.append(f"index {index}")
    lines.extend(base64.b64encode(value).decode() for value in hashes)
    return "\n".join(lines) + "\n\n" + signed_checkpoint


def parse_tlog_proof(text: str) -> TlogProof:
    """Parse a tlog-proof strictly; nothing is verified yet (see `verify_tlog_proof`)."""
    head, separator, checkpoint = text.partition("\n\n")
    if not separator:
        raise TlogProofError("tlog-proof has no empty line before its checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise TlogProofError(f"tlog-proof must start with {HEADER!r}")
    position = 1
    extra = None
    if position < len(lines) and lines[position].startswith("extra "):
        extra = _canonical_b64decode(lines[position].removeprefix("extra "), "extra data")
        position += 1
    if position >= len(lines) or not lines[position].startswith("index "):
        raise TlogProofError("tlog-proof has no 'index N' line")
    index_text = lines[position].removeprefix("index ")
    index = strict_decimal(index_text, MAX_INDEX)
    if index is None:
        raise TlogProofError(f"index {index_text!r} is not a decimal below 2^64, no leading zeros")
    hashes = []
    for number, line in enumerate(lines[position + 1 :]):
        value = _canonical_b64decode(line, f"proof hash {number}")
        if len(value) != HASH_SIZE:
            raise TlogProofError(f"proof hash {number} is {len(value)} bytes, not {HASH_SIZE}")
        hashes.append(value)
    if not checkpoint:
        raise TlogProofError("tlog-proof has no checkpoint")
    return TlogProof(index, tuple(hashes), checkpoint, extra)


def verify_tlog_proof_leaf_hash(
    text: str,
    entry_leaf_hash: bytes,
    verifier: Verifier | Iterable[Verifier],
    origin: str | None = None,
) -> Checkpoint:
    """As `verify_tlog_proof`, for a caller that holds the leaf hash rather than the entry."""
    proof = parse_tlog_proof(text)
    checkpoint = open_checkpoint(proof.checkpoint, verifier, origin)
    verify_inclusion(
        proof.index, checkpoint.size, entry_leaf_hash, proof.hashes, checkpoint.root_hash
    )
    return checkpoint


def verify_tlog_proof(
    text: str,
    entry: bytes,
    verifier: Verifier | Iterable[Verifier],
    origin: str | None = None,
) -> Checkpoint:
    """Verify that `entry` is in the log: the checkpoint note is signed by `verifier`, is for
    `origin` (when given), and the inclusion proof leads from leaf_hash(entry) at the stated
    index to the checkpoint's root. Returns the verified checkpoint.

    Raises a `ValueError`: `TlogProofError` (format), `ledger.note.NoteError` (signature),
    `ledger.checkpoint.CheckpointError` (checkpoint text or origin), `ledger.merkle.ProofError`
    (inclusion).
    """
    return verify_tlog_proof_leaf_hash(text, leaf_hash(entry), verifier, origin)
