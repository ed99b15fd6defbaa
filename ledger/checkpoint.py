"""C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the signed tree head text.

The note text is the origin line, the tree size in decimal, the base64 root hash, then optional
non-empty extension lines, each ending in a newline. The text is signed as a C2SP signed note
(`ledger.note`); `sign_checkpoint` and `open_checkpoint` join the two.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ledger.merkle import HASH_SIZE
from ledger.note import Signer, Verifier, open_note

# Go reads the size as uint64; a larger number could not be a real log's size.
MAX_TREE_SIZE = 2**64 - 1
_DECIMAL = re.compile(r"0|[1-9][0-9]*")  # ASCII only: no sign, no leading zeros, no "_"
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def strict_decimal(text: str, maximum: int) -> int | None:
    """`text` as a number when it is ASCII decimal with no sign or leading zeros and at most
    `maximum`; otherwise None (the caller names what was wrong where)."""
    if not _DECIMAL.fullmatch(text) or int(text) > maximum:
        return None
    return int(text)


def strict_base64(text: str) -> bytes | None:
    """`text` decoded when it is standard base64 in its one canonical spelling (no stray bits
    in the padding), so that a tampered-but-equivalent encoding never passes; otherwise None."""
    if not _BASE64.fullmatch(text):
        return None
    try:
        value = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return value if base64.b64encode(value).decode() == text else None


class CheckpointError(ValueError):
    """A checkpoint text, or the values given for one, do not follow tlog-checkpoint."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head: who (origin), how many leaves (size), and their Merkle root."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()


def _check_line(line: str, what: str) -> None:
    if not line:
        raise CheckpointError(f"{what} must not be empty")
    for ch in line:
        if ch < " ":
            raise CheckpointError(f"{what} contains control character {ord(ch):#04x}")


def _check_fields(cp: Checkpoint) -> None:
    _check_line(cp.origin, "origin")
    if isinstance(cp.size, bool) or not isinstance(cp.size, int):
        raise CheckpointError(f"tree size must be an integer, got {cp.size!r}")
    if not 0 <= cp.size <= MAX_TREE_SIZE:
        raise CheckpointError(f"tree size {cp.size} is out of range")
    if not isinstance(cp.root_hash, bytes) or len(cp.root_hash) != HASH_SIZE:
        raise CheckpointError(f"root hash must be {HASH_SIZE} bytes")
    for extension in cp.extensions:
        _check_line(extension, "extension line")


def format_checkpoint(cp: Checkpoint) -> str:
    """The checkpoint's note text, ready to sign."""
    _check_fields(cp)
    root = base64.b64encode(cp.root_hash).decode()
    return "".join(f"{line}\n" for line in (cp.origin, str(cp.size), root, *cp.extensions))


def _parse_size(line: str) -> int:
    size = strict_decimal(line, MAX_TREE_SIZE)
    if size is None:
        raise CheckpointError(f"tree size {line!r} is not a decimal below 2^64, no leading zeros")
    return size


def _parse_root(line: str) -> bytes:
    root = strict_base64(line)
    if root is None:
        raise CheckpointError(f"root hash {line!r} is not canonical base64")
    if len(root) != HASH_SIZE:
        raise CheckpointError(f"root hash is {len(root)} bytes, not {HASH_SIZE}")
    return root


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint's note text strictly; raise `CheckpointError` on anything off."""
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint text must end in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("checkpoint needs origin, tree size and root hash lines")
    origin, size_line, root_line, *extensions = lines
    checkpoint = Checkpoint(
        origin=origin,
        size=_parse_size(size_line),
        root_hash=_parse_root(root_line),
        extensions=tuple(extensions),
    )
    _check_fields(checkpoint)
    return checkpoint


def sign_checkpoint(cp: Checkpoint, signer: Signer) -> str:
    """The checkpoint as a signed note (the log's key name SHOULD match the origin)."""
    return signer.sign(format_checkpoint(cp))


def open_checkpoint(
    note: str, verifier: Verifier | Iterable[Verifier], origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint note and parse it; if `origin` is given it must match.

    Raises `ledger.note.NoteError` for the signature, `CheckpointError` for the content.
    """
    checkpoint = parse_checkpoint(open_note(note, verifier))
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint is for origin {checkpoint.origin!r}, not {origin!r}")
    return checkpoint
