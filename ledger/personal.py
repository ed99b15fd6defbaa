"""Personal data outside the chain: sealed per case with AES-256-GCM, committed to in entries.

The commitment is SHA-256(salt ‖ RFC 8785 data) with a random 32-byte salt. The salt is sealed
together with the data, so once the case key is destroyed nobody can test a guess against an
erased commitment.
"""

from __future__ import annotations

import hashlib
import json
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.canonical import canonical_bytes

SALT_SIZE = 32
NONCE_SIZE = 12


def new_case_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def commitment(salt: bytes, data: dict) -> str:
    return hashlib.sha256(salt + canonical_bytes(data)).hexdigest()


def seal(key: bytes, case_id: str, data: dict) -> tuple[str, bytes]:
    """(commitment, nonce ‖ ciphertext) for `data`; the case id is bound as associated data."""
    salt = os.urandom(SALT_SIZE)
    plaintext = canonical_bytes({"salt": salt.hex(), "data": data})
    nonce = os.urandom(NONCE_SIZE)
    sealed = nonce + AESGCM(key).encrypt(nonce, plaintext, case_id.encode())
    return commitment(salt, data), sealed


def unseal(key: bytes, case_id: str, sealed: bytes) -> tuple[str, dict]:
    """(commitment, data) from a sealed record; raises `cryptography` InvalidTag if altered."""
    nonce, ciphertext = sealed[:NONCE_SIZE], sealed[NONCE_SIZE:]
    document = json.loads(AESGCM(key).decrypt(nonce, ciphertext, case_id.encode()))
    salt = bytes.fromhex(document["salt"])
    return commitment(salt, document["data"]), document["data"]


def commit(data: dict) -> tuple[bytes, str]:
    """A fresh salt and the commitment to `data` under it (no key needed)."""
    salt = os.urandom(SALT_SIZE)
    return salt, commitment(salt, data)


def seal_with(key: bytes, case_id: str, salt: bytes, data: dict) -> bytes:
    """nonce ‖ ciphertext of `data` with a salt chosen (and committed to) beforehand."""
    plaintext = canonical_bytes({"salt": salt.hex(), "data": data})
    nonce = os.urandom(NONCE_SIZE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, case_id.encode())
