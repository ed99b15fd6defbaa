"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, compatible with Go's
golang.org/x/mod/sumdb/note: the same key strings, the same signature lines, byte for byte.

A signed note is the text (ending in a newline), a blank line, then lines
`— <key name> base64(key ID || signature)`. Keys are written as
`<name>+<key ID, 8 hex>+base64(0x01 || public key)` (verifier) and
`PRIVATE+KEY+<name>+<key ID>+base64(0x01 || seed)` (signer).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
MAX_SIGNATURES = 100  # as Go's sumdb/note; the spec asks verifiers to accept at least 16
_KEY_ID_HEX = re.compile(r"[0-9a-fA-F]{8}")


class NoteError(ValueError):
    """A note, or a key string, cannot be trusted or understood."""


class MalformedNoteError(NoteError):
    """The note or key string does not follow the signed-note format."""


class UnknownKeyError(NoteError):
    """No signature in the note is by a key the caller trusts."""


class SignatureError(NoteError):
    """A signature by a trusted key does not verify: the text or the signature was changed."""


def key_id(name: str, public_key: bytes, algorithm: int = ED25519) -> int:
    """The recommended key ID: SHA-256(key name || 0x0A || type || public key)[:4], big-endian."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([algorithm]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def is_valid_key_name(name: str) -> bool:
    """Key names are non-empty, with no Unicode spaces and no plus signs."""
    return bool(name) and "+" not in name and not any(ch.isspace() for ch in name)


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as error:
        raise MalformedNoteError(f"{what} is not valid base64") from error


def _check_text(text: str, what: str) -> None:
    """Valid UTF-8 with no control characters other than newline (signed-note §Format)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise MalformedNoteError(f"{what} is not valid UTF-8") from error
    for position, ch in enumerate(text):
        if ch < " " and ch != "\n":
            raise MalformedNoteError(
                f"{what} contains control character {ord(ch):#04x} at offset {position}"
            )


def _public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


class Verifier:
    """A trusted Ed25519 note key: checks signatures whose name and key ID both match."""

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        if not is_valid_key_name(name):
            raise NoteError(f"invalid key name {name!r}")
        self.name = name
        self.public_key = public_key
        self.key_id = key_id(name, _public_bytes(public_key))

    @classmethod
    def from_verifier_key(cls, vkey: str) -> Verifier:
        """Parse `<name>+<key ID hex>+base64(0x01 || public key)`, checking the key ID."""
        name, _, rest = vkey.partition("+")
        id_hex, _, key_b64 = rest.partition("+")
        if not is_valid_key_name(name) or not _KEY_ID_HEX.fullmatch(id_hex):
            raise MalformedNoteError(f"malformed verifier key {vkey!r}")
        key = _b64decode(key_b64, "verifier key")
        if len(key) != 33 or key[0] != ED25519:
            raise MalformedNoteError("verifier key is not an Ed25519 (type 0x01) public key")
        if int(id_hex, 16) != key_id(name, key[1:]):
            raise MalformedNoteError("verifier key ID does not match its name and public key")
        return cls(name, Ed25519PublicKey.from_public_bytes(key[1:]))

    @property
    def verifier_key(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + _public_bytes(self.public_key)).decode()
        return f"{self.name}+{self.key_id:08x}+{encoded}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        try:
            self.public_key.verify(signature, text)
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"Verifier({self.verifier_key!r})"


class Signer:
    """An Ed25519 note signing key with its key name."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not is_valid_key_name(name):
            raise NoteError(f"invalid key name {name!r}")
        self.name = name
        self.private_key = private_key
        self.key_id = key_id(name, _public_bytes(private_key.public_key()))

    @classmethod
    def generate(cls, name: str) -> Signer:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_bytes(cls, name: str, raw32: bytes) -> Signer:
        """The signer for a raw 32-byte Ed25519 private key (the RFC 8032 seed)."""
        if len(raw32) != 32:
            raise NoteError(f"an Ed25519 private key is 32 bytes, got {len(raw32)}")
        return cls(name, Ed25519PrivateKey.from_private_bytes(raw32))

    @classmethod
    def from_skey(cls, skey: str) -> Signer:
        """Parse Go's `PRIVATE+KEY+<name>+<key ID hex>+base64(0x01 || seed)`."""
        parts = skey.split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise MalformedNoteError("signer key must start with PRIVATE+KEY+")
        _, _, name, id_hex, key_b64 = parts
        if not is_valid_key_name(name) or not _KEY_ID_HEX.fullmatch(id_hex):
            raise MalformedNoteError("malformed signer key")
        key = _b64decode(key_b64, "signer key")
        if len(key) != 33 or key[0] != ED25519:
            raise MalformedNoteError("signer key is not an Ed25519 (type 0x01) private key")
        signer = cls.from_bytes(name, key[1:])
        if signer.key_id != int(id_hex, 16):
            raise MalformedNoteError("signer key ID does not match its name and public key")
        return signer

    def private_bytes(self) -> bytes:
        """The raw 32-byte private key (seed), for storage in `signing.key`."""
        return self.private_key.private_bytes_raw()

    @property
    def skey(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + self.private_bytes()).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{encoded}"

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.private_key.public_key())

    @property
    def verifier_key(self) -> str:
        return self.verifier.verifier_key

    def signature_line(self, text: str) -> str:
        """`— <name> base64(key ID || Ed25519 signature of the text)` and its newline."""
        signature = self.key_id.to_bytes(4, "big") + self.private_key.sign(text.encode())
        return f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(signature).decode()}\n"

    def sign(self, text: str) -> str:
        """The whole signed note: text, blank line, this key's signature line."""
        return sign_note(text, self)

    def __repr__(self) -> str:
        return f"Signer({self.verifier_key!r})"


def sign_note(text: str, *signers: Signer) -> str:
    """Sign `text` with every signer, in order (Go's note.Sign)."""
    _check_text(text, "note text")
    if not text.endswith("\n"):
        raise MalformedNoteError("note text must end in a newline")
    if not signers:
        raise NoteError("a note needs at least one signer")
    seen = set()
    for signer in signers:
        if (signer.name, signer.key_id) in seen:
            raise NoteError(f"duplicate signer {signer.name}+{signer.key_id:08x}")
        seen.add((signer.name, signer.key_id))
    return text + "\n" + "".join(signer.signature_line(text) for signer in signers)


def split_note(note: str) -> tuple[str, list[tuple[str, str]]]:
    """Split a signed note into its text and (key name, base64 signature) pairs, unverified."""
    _check_text(note, "note")
    # The text is separated from the signatures by the last blank line.
    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise MalformedNoteError("note has no signature lines, or they do not end in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNoteError(f"note has more than {MAX_SIGNATURES} signatures")
    signatures = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise MalformedNoteError(f"signature line does not start with an em dash: {line!r}")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not is_valid_key_name(name) or not encoded:
            raise MalformedNoteError(f"malformed signature line {line!r}")
        signatures.append((name, encoded))
    return text, signatures


def open_note(note: str, verifier: Verifier | Iterable[Verifier]) -> str:
    """Verify a signed note against trusted key(s) and return its text (Go's note.Open).

    Signatures by unknown keys (a different name or key ID) are ignored; a signature by a
    trusted key that fails to verify rejects the whole note, wherever it comes; so does having
    none at all.
    """
    trusted = [verifier] if isinstance(verifier, Verifier) else list(verifier)
    by_id = {(v.name, v.key_id): v for v in trusted}
    text, signatures = split_note(note)
    encoded_text = text.encode()
    verified: set[tuple[str, int]] = set()
    for name, encoded in signatures:
        raw = _b64decode(encoded, f"signature by {name}")
        if len(raw) < 5:
            raise MalformedNoteError(f"signature by {name} is too short")
        signature_key_id = int.from_bytes(raw[:4], "big")
        known = by_id.get((name, signature_key_id))
        if known is None:
            continue
        # Every line of a known key is verified, a second one too ("verifiers MUST verify
        # the signature"): a valid line first must not let a forged one after it pass.
        if not known.verify(encoded_text, raw[4:]):
            raise SignatureError(f"signature by {name}+{signature_key_id:08x} does not verify")
        verified.add((name, signature_key_id))
    if not verified:
        names = ", ".join(f"{v.name}+{v.key_id:08x}" for v in trusted) or "none"
        raise UnknownKeyError(f"note is not signed by a trusted key (trusted: {names})")
    return text


def parse_signature_line(line: str) -> tuple[str, int, bytes]:
    """One signature line `— <name> base64(key ID || signature)` (its newline optional) as
    (key name, key ID, signature bytes after the key ID), unverified."""
    body = line[:-1] if line.endswith("\n") else line
    _check_text(body, "signature line")
    if "\n" in body or not body.startswith(SIGNATURE_PREFIX):
        raise MalformedNoteError(f"not one signature line starting with an em dash: {line!r}")
    name, _, encoded = body[len(SIGNATURE_PREFIX) :].partition(" ")
    if not is_valid_key_name(name) or not encoded:
        raise MalformedNoteError(f"malformed signature line {line!r}")
    raw = _b64decode(encoded, f"signature by {name}")
    if len(raw) < 5:
        raise MalformedNoteError(f"signature by {name} is too short")
    return name, int.from_bytes(raw[:4], "big"), raw[4:]


def add_signatures(note: str, lines: Iterable[str]) -> str:
    """`note` with the signature `lines` appended after its own (signed-note allows several).

    A line whose key (name and key ID) already signed the note, or came earlier in `lines`, is
    dropped: the first signature by a key stays, the note's lines never move, new ones keep
    the order given, so the same inputs always give the same note.
    """
    text, signatures = split_note(note)
    seen = set()
    for name, encoded in signatures:
        seen.add(parse_signature_line(f"{SIGNATURE_PREFIX}{name} {encoded}")[:2])
    added = []
    for line in lines:
        name, signature_key_id, _ = parse_signature_line(line)
        if (name, signature_key_id) in seen:
            continue
        seen.add((name, signature_key_id))
        added.append(line if line.endswith("\n") else line + "\n")
    if len(signatures) + len(added) > MAX_SIGNATURES:
        raise MalformedNoteError(f"note would have more than {MAX_SIGNATURES} signatures")
    return note + "".join(added)
