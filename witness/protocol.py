"""tlog-witness `add-checkpoint`, the pure part: parse the request body and decide, step by step
as the spec orders them, whether a checkpoint may be cosigned. No I/O: `witness.service` feeds
it the stored state and records the outcome.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ledger.checkpoint import (
    MAX_TREE_SIZE,
    Checkpoint,
    CheckpointError,
    parse_checkpoint,
    strict_base64,
    strict_decimal,
)
from ledger.merkle import EMPTY_ROOT, HASH_SIZE, ProofError, verify_consistency
from ledger.note import (
    MalformedNoteError,
    NoteError,
    Verifier,
    open_note,
    split_note,
)

MAX_PROOF_LINES = 63  # "The client MUST NOT send more than 63 consistency proof lines."
SIZE_CONTENT_TYPE = "text/x.tlog.size"


class Refusal(Exception):
    """The witness refuses the request with `status`; for 409, `size` is what it cosigned."""

    def __init__(self, status: int, detail: str, size: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.size = size


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    """A parsed `add-checkpoint` request body; the note is not yet verified."""

    old_size: int
    proof: tuple[bytes, ...]
    note: str
    checkpoint: Checkpoint


def _bad_request(detail: str) -> Refusal:
    return Refusal(400, detail)


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """The body is an old size line, zero to 63 proof lines, an empty line, then the
    checkpoint note; each line ends in a newline. Anything else is 400."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _bad_request("request body is not UTF-8") from error
    first, newline, rest = text.partition("\n")
    if not newline or not first.startswith("old "):
        raise _bad_request("request must start with an `old <size>` line")
    old_size = strict_decimal(first[len("old ") :], MAX_TREE_SIZE)
    if old_size is None:
        raise _bad_request(f"old size {first[4:]!r} is not a decimal with no leading zeros")
    proof: list[bytes] = []
    while True:
        line, newline, rest = rest.partition("\n")
        if not newline:
            raise _bad_request("no empty line between the proof and the checkpoint")
        if line == "":
            break
        if len(proof) == MAX_PROOF_LINES:
            raise _bad_request(f"more than {MAX_PROOF_LINES} consistency proof lines")
        value = strict_base64(line)
        if value is None or len(value) != HASH_SIZE:
            raise _bad_request(f"proof line {len(proof) + 1} is not a base64 32-byte hash")
        proof.append(value)
    try:
        note_text, _ = split_note(rest)
        checkpoint = parse_checkpoint(note_text)
    except (NoteError, CheckpointError) as error:
        raise _bad_request(f"checkpoint: {error}") from error
    return AddCheckpoint(old_size, tuple(proof), rest, checkpoint)


def check_log_signature(request: AddCheckpoint, log_keys: Mapping[str, Sequence[Verifier]]) -> None:
    """404 for an origin the witness does not know; 403 when no trusted key signed it or a
    trusted key's signature fails (unknown keys are ignored)."""
    origin = request.checkpoint.origin
    keys = log_keys.get(origin)
    if not keys:
        raise Refusal(404, f"unknown log origin {origin!r}")
    try:
        open_note(request.note, keys)
    except MalformedNoteError as error:
        raise _bad_request(f"checkpoint note: {error}") from error
    except NoteError as error:
        raise Refusal(403, f"checkpoint signature: {error}") from error


def check_consistency(request: AddCheckpoint, cosigned_size: int, cosigned_root: bytes) -> None:
    """The size and proof checks of add-checkpoint, in the spec's order, against the latest
    checkpoint cosigned for the origin (size 0 and the empty root when there is none)."""
    new = request.checkpoint
    old = request.old_size
    # "The old size MUST be equal to or lower than the checkpoint size" (400).
    if old > new.size:
        raise _bad_request(f"old size {old} is larger than the checkpoint size {new.size}")
    # The old size must be the size last cosigned (409, with that size).
    if old != cosigned_size:
        raise Refusal(
            409, f"old size {old} is not the size last cosigned, {cosigned_size}", cosigned_size
        )
    # "A checkpoint of size zero MUST have the root hash of the empty tree" (422).
    if new.size == 0 and not hmac.compare_digest(new.root_hash, EMPTY_ROOT):
        raise Refusal(422, "a checkpoint of size 0 must have the empty tree's root hash")
    # "If the old size is zero, the consistency proof MUST be empty" (422).
    if old == 0:
        if request.proof:
            raise Refusal(422, "old size is 0 but the consistency proof is not empty")
        return
    # Same size: "the root hashes are also identical" (422).
    if old == new.size:
        if not hmac.compare_digest(new.root_hash, cosigned_root):
            raise Refusal(422, f"checkpoint of size {old} differs from the one cosigned")
        if request.proof:
            raise Refusal(422, "the checkpoint is the one cosigned, so the proof must be empty")
        return
    # RFC 6962 §2.1.2 consistency proof from the cosigned tree to the new one (422).
    try:
        verify_consistency(old, new.size, cosigned_root, new.root_hash, request.proof)
    except ProofError as error:
        raise Refusal(422, f"consistency proof: {error}") from error
