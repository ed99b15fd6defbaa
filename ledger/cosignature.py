"""C2SP tlog-cosignature (https://c2sp.org/tlog-cosignature), the Ed25519 `cosignature/v1`
type: a witness's timestamped statement that a checkpoint is consistent with all it has seen.

A cosignature is a signed-note signature line on the checkpoint note,

    — <witness name> base64(key ID || u64 timestamp || Ed25519 signature)

where the key ID is SHA-256(name || 0x0A || 0x04 || public key)[:4] and the signature is over

    cosignature/v1
    time <timestamp>
    <the checkpoint note text, signature lines excluded>

Witness keys are written as vkeys `<name>+<key ID hex>+base64(0x04 || public key)`, and, for the
witness's own private key, `PRIVATE+KEY+<name>+<key ID hex>+base64(0x04 || seed)` (the shape of
Go's note signer keys, with the cosignature type byte).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import clock
from ledger.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint, strict_base64
from ledger.note import (
    SIGNATURE_PREFIX,
    NoteError,
    SignatureError,
    Verifier,
    add_signatures,
    is_valid_key_name,
    key_id,
    parse_signature_line,
    split_note,
)

COSIGNATURE_V1 = 0x04  # signed-note §Signature types: timestamped Ed25519 cosignatures
HEADER = "cosignature/v1"
MAX_TIMESTAMP = 2**63 - 1  # tlog-cosignature §Format: "It MUST NOT exceed 2^63 - 1"
TIMESTAMPED_SIGNATURE_SIZE = 8 + 64  # u64 timestamp || ed25519_signature[64]


class CosignatureError(NoteError):
    """A cosignature, or a witness key, does not follow tlog-cosignature."""


class QuorumError(CosignatureError):
    """Fewer trusted witnesses cosigned the checkpoint than the quorum asks for."""


def _public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _check_timestamp(timestamp: int) -> None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise CosignatureError(f"timestamp must be an integer, got {timestamp!r}")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise CosignatureError(f"timestamp {timestamp} is outside 0..2^63-1")


def cosigned_message(checkpoint_text: str, timestamp: int) -> bytes:
    """§Ed25519 signed message: the header line, the time line, then the whole note body of
    the checkpoint (its final newline included, no signature lines)."""
    _check_timestamp(timestamp)
    parse_checkpoint(checkpoint_text)  # only a checkpoint is ever cosigned
    return f"{HEADER}\ntime {timestamp}\n{checkpoint_text}".encode()


def cosigner_key_id(name: str, public_key: bytes) -> int:
    """§Format: SHA-256(<name> || "\\n" || 0x04 || 32-byte Ed25519 public key)[:4]."""
    return key_id(name, public_key, COSIGNATURE_V1)


def encode_timestamped_signature(cosigner_id: int, timestamp: int, signature: bytes) -> bytes:
    """The note signature bytes: key ID (4) || timestamp (8, big-endian) || signature (64)."""
    _check_timestamp(timestamp)
    if len(signature) != 64:
        raise CosignatureError(f"an Ed25519 signature is 64 bytes, got {len(signature)}")
    return cosigner_id.to_bytes(4, "big") + timestamp.to_bytes(8, "big") + signature


def decode_timestamped_signature(signature: bytes) -> tuple[int, bytes]:
    """§Format `timestamped_signature` (the bytes after the key ID): (timestamp, signature)."""
    if len(signature) != TIMESTAMPED_SIGNATURE_SIZE:
        raise CosignatureError(
            f"a cosignature/v1 signature is {TIMESTAMPED_SIGNATURE_SIZE} bytes after the key ID,"
            f" got {len(signature)}"
        )
    timestamp = int.from_bytes(signature[:8], "big")
    _check_timestamp(timestamp)
    return timestamp, signature[8:]


@dataclass(frozen=True, slots=True)
class Cosignature:
    """One parsed, not yet verified, cosignature line."""

    name: str
    key_id: int
    timestamp: int
    signature: bytes


def parse_cosignature_line(line: str) -> Cosignature:
    """`— <name> base64(key ID || timestamp || signature)` (newline optional), unverified."""
    name, cosigner_id, raw = parse_signature_line(line)
    timestamp, signature = decode_timestamped_signature(raw)
    return Cosignature(name, cosigner_id, timestamp, signature)


def _parse_vkey(vkey: str, prefix: str = "") -> tuple[str, int, bytes]:
    name, _, rest = vkey.partition("+")
    id_hex, _, key_b64 = rest.partition("+")
    if not is_valid_key_name(name) or len(id_hex) != 8:
        raise CosignatureError(f"malformed {prefix}witness key {vkey!r}")
    try:
        expected_id = int(id_hex, 16)
    except ValueError as error:
        raise CosignatureError(f"malformed {prefix}witness key {vkey!r}") from error
    key = strict_base64(key_b64)
    if key is None or len(key) != 33 or key[0] != COSIGNATURE_V1:
        raise CosignatureError("witness key is not a cosignature/v1 (type 0x04) Ed25519 key")
    return name, expected_id, key[1:]


class CosignatureVerifier:
    """A trusted witness: its name and Ed25519 public key, as a type-0x04 vkey."""

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        if not is_valid_key_name(name):
            raise CosignatureError(f"invalid witness name {name!r}")
        self.name = name
        self.public_key = public_key
        self.key_id = cosigner_key_id(name, _public_bytes(public_key))

    @classmethod
    def from_verifier_key(cls, vkey: str) -> CosignatureVerifier:
        """Parse `<name>+<key ID hex>+base64(0x04 || public key)`, checking the key ID."""
        name, expected_id, public = _parse_vkey(vkey.strip())
        if cosigner_key_id(name, public) != expected_id:
            raise CosignatureError("witness key ID does not match its name and public key")
        return cls(name, Ed25519PublicKey.from_public_bytes(public))

    @property
    def verifier_key(self) -> str:
        encoded = base64.b64encode(bytes([COSIGNATURE_V1]) + _public_bytes(self.public_key))
        return f"{self.name}+{self.key_id:08x}+{encoded.decode()}"

    def matches(self, cosignature: Cosignature) -> bool:
        """signed-note: a signature is this key's when both its name and key ID match."""
        return cosignature.name == self.name and cosignature.key_id == self.key_id

    def verify(self, checkpoint_text: str, cosignature: Cosignature) -> bool:
        message = cosigned_message(checkpoint_text, cosignature.timestamp)
        try:
            self.public_key.verify(cosignature.signature, message)
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"CosignatureVerifier({self.verifier_key!r})"


class CosignatureSigner:
    """A witness's Ed25519 cosigning key with its name."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not is_valid_key_name(name):
            raise CosignatureError(f"invalid witness name {name!r}")
        self.name = name
        self.private_key = private_key
        self.key_id = cosigner_key_id(name, _public_bytes(private_key.public_key()))

    @classmethod
    def generate(cls, name: str) -> CosignatureSigner:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_skey(cls, skey: str) -> CosignatureSigner:
        """Parse `PRIVATE+KEY+<name>+<key ID hex>+base64(0x04 || seed)`."""
        head, _, vkey_like = skey.strip().partition("+KEY+")
        if head != "PRIVATE":
            raise CosignatureError("witness signer key must start with PRIVATE+KEY+")
        name, expected_id, seed = _parse_vkey(vkey_like, "private ")
        if len(seed) != 32:
            raise CosignatureError("witness private key is not a 32-byte Ed25519 seed")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(seed))
        if signer.key_id != expected_id:
            raise CosignatureError("witness signer key ID does not match its name and key")
        return signer

    @property
    def skey(self) -> str:
        seed = self.private_key.private_bytes_raw()
        encoded = base64.b64encode(bytes([COSIGNATURE_V1]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{encoded}"

    @property
    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self.name, self.private_key.public_key())

    @property
    def verifier_key(self) -> str:
        return self.verifier.verifier_key

    def __repr__(self) -> str:
        return f"CosignatureSigner({self.verifier_key!r})"


def sign_cosignature(
    signer: CosignatureSigner, checkpoint_text: str, timestamp: int | None = None
) -> str:
    """The cosignature line (with its newline) of `signer` on the checkpoint note text, at
    `timestamp` (POSIX seconds; now when omitted)."""
    when = int(clock.unix_seconds()) if timestamp is None else timestamp
    signature = signer.private_key.sign(cosigned_message(checkpoint_text, when))
    raw = encode_timestamped_signature(signer.key_id, when, signature)
    return f"{SIGNATURE_PREFIX}{signer.name} {base64.b64encode(raw).decode()}\n"


def verify_cosignature(verifier: CosignatureVerifier, checkpoint_text: str, line: str) -> int:
    """Check one cosignature line by `verifier` on the checkpoint text; return its timestamp.

    Raises `CosignatureError` when the line is by another key, `SignatureError` when it is by
    this key but does not verify.
    """
    cosignature = parse_cosignature_line(line)
    if not verifier.matches(cosignature):
        raise CosignatureError(
            f"cosignature is by {cosignature.name}+{cosignature.key_id:08x},"
            f" not {verifier.name}+{verifier.key_id:08x}"
        )
    if not verifier.verify(checkpoint_text, cosignature):
        raise SignatureError(
            f"cosignature by {verifier.name}+{verifier.key_id:08x} does not verify"
        )
    return cosignature.timestamp


def _log_verifiers(keys: str | Verifier | Iterable[str | Verifier]) -> list[Verifier]:
    items = [keys] if isinstance(keys, str | Verifier) else list(keys)
    return [k if isinstance(k, Verifier) else Verifier.from_verifier_key(k.strip()) for k in items]


def _witness_verifiers(
    keys: Iterable[str | CosignatureVerifier],
) -> list[CosignatureVerifier]:
    return [
        k if isinstance(k, CosignatureVerifier) else CosignatureVerifier.from_verifier_key(k)
        for k in keys
    ]


def witnessed(
    note_text: str,
    log_verifier_key: str | Verifier | Iterable[str | Verifier],
    witness_keys: Iterable[str | CosignatureVerifier],
    quorum: int,
) -> tuple[Checkpoint, list[str]]:
    """Open a cosigned checkpoint note: the log's signature must verify, and at least `quorum`
    of the trusted witnesses must have cosigned it. Returns the checkpoint and the names of
    the witnesses whose cosignature verified, in note order.

    As signed-note says: lines by unknown keys (name or key ID differing) are ignored; a line
    whose name and key ID match a trusted witness but whose signature fails rejects the note
    (`SignatureError`), wherever it comes; a witness counts once; too few cosignatures is a
    `QuorumError`.
    """
    if isinstance(quorum, bool) or not isinstance(quorum, int) or quorum < 0:
        raise CosignatureError(f"quorum must be a non-negative integer, got {quorum!r}")
    checkpoint = open_checkpoint(note_text, _log_verifiers(log_verifier_key))
    trusted = {(w.name, w.key_id): w for w in _witness_verifiers(witness_keys)}
    if quorum > len(trusted):
        raise QuorumError(f"quorum {quorum} is more than the {len(trusted)} witness keys given")
    text, signatures = split_note(note_text)
    cosigned: list[str] = []
    seen: set[tuple[str, int]] = set()
    for name, encoded in signatures:
        signer_name, signer_id, raw = parse_signature_line(f"{SIGNATURE_PREFIX}{name} {encoded}")
        witness = trusted.get((signer_name, signer_id))
        if witness is None:
            continue
        try:
            timestamp, signature = decode_timestamped_signature(raw)
        except CosignatureError as error:
            raise SignatureError(f"cosignature by {name}+{signer_id:08x}: {error}") from error
        if not witness.verify(text, Cosignature(name, signer_id, timestamp, signature)):
            raise SignatureError(f"cosignature by {name}+{signer_id:08x} does not verify")
        if (signer_name, signer_id) not in seen:  # a witness counts once towards the quorum
            seen.add((signer_name, signer_id))
            cosigned.append(name)
    if len(cosigned) < quorum:
        names = ", ".join(cosigned) or "none"
        raise QuorumError(
            f"checkpoint at size {checkpoint.size} has {len(cosigned)} valid cosignature(s)"
            f" from trusted witnesses ({names}), quorum is {quorum}"
        )
    return checkpoint, cosigned


def add_cosignatures(note_text: str, lines: Iterable[str]) -> str:
    """The note with the cosignature `lines` appended after its existing signature lines: one
    line per key (name and key ID), the first kept; existing lines never move; new lines keep
    the order given (give them in a fixed order, e.g. the configured witness order)."""
    lines = list(lines)
    for line in lines:
        parse_cosignature_line(line)
    return add_signatures(note_text, lines)


__all__ = [
    "COSIGNATURE_V1",
    "HEADER",
    "Cosignature",
    "CosignatureError",
    "CosignatureSigner",
    "CosignatureVerifier",
    "QuorumError",
    "add_cosignatures",
    "cosigned_message",
    "cosigner_key_id",
    "parse_cosignature_line",
    "sign_cosignature",
    "verify_cosignature",
    "witnessed",
]
