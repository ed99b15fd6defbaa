"""API keys: random 256-bit secrets, stored only as SHA-256 hashes with their role.

A key is checked by hashing it and comparing against every stored hash with
`hmac.compare_digest`, so the comparison leaks nothing through timing. Keys are kept by the
store (`store.WriteTx.add_api_key`), next to the ledger and the cases, so every worker process
sees a key as soon as `redress keys create` has committed it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from store import Store

Role = Literal["decide", "audit", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
ADMIN_KEY_FILE = "admin.key"
ADMIN_KEY_ENV = "REDRESS_ADMIN_KEY"


def key_hash(key: str) -> str:
    """The stored form of a key: SHA-256 hex (keys are random, so no salt or stretching)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A fresh key: 256 random bits, URL-safe base64."""
    return secrets.token_urlsafe(32)


def _in_store(data_dir: Path, job: Any) -> Any:
    """Run one write job on the data directory's store, opened for this call only."""
    from store import open_store

    store = open_store(data_dir)
    try:
        return store.write(job)
    finally:
        store.close()


def create_key(data_dir: Path, role: str) -> str:
    """Create, store and return a new key with `role` (decide, audit or admin)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    key = new_key()
    _in_store(data_dir, lambda tx: tx.add_api_key(key_hash(key), role))
    return key


def bootstrap_admin(data_dir: Path) -> str | None:
    """On first start, create the admin key, write it to DIR/admin.key (0600) and return it.

    `REDRESS_ADMIN_KEY`, when set, is the key used. Returns None when an admin key already
    existed (an operator-chosen key given later is still stored, so it can replace a lost one).
    """
    chosen = os.environ.get(ADMIN_KEY_ENV) or None

    def job(tx: Any) -> tuple[bool, str | None]:
        existed = tx.has_api_key_with_role("admin")
        key = chosen or (None if existed else new_key())
        if key is not None:
            tx.add_api_key(key_hash(key), "admin")
        return existed, key

    existed, key = _in_store(data_dir, job)
    if existed or key is None:
        return None
    write_private(data_dir / ADMIN_KEY_FILE, key + "\n")
    return key


def write_private(path: Path, text: str) -> None:
    """Write a secret readable by its owner only (created 0600, never briefly wider)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(path, 0o600)


KEYS_FRESH_S = 1.0  # a key revoked on any node or worker is refused everywhere within this


class KeyRing:
    """Looks up the role of a presented key in the shared store.

    The stored hashes are kept in memory and read again when a presented key is not among them
    (a key created by another process is found on its first use) and whenever the copy is over
    `KEYS_FRESH_S` old, so that a revocation reaches every worker and node within a second at
    the cost of one read per second.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._stored = self._read_stored()

    def role_of(self, key: str) -> str | None:
        """The role of `key`, or None when no stored key matches."""
        presented = key_hash(key)
        if time.monotonic() - self._read_at > KEYS_FRESH_S:
            self._stored = self._read_stored()
        role = _matching_role(self._stored, presented)
        if role is None:
            self._stored = self._read_stored()
            role = _matching_role(self._stored, presented)
        return role

    def _read_stored(self) -> list[tuple[str, str]]:
        self._read_at = time.monotonic()
        with self.store.read() as tx:
            return tx.api_keys()


def _matching_role(stored: list[tuple[str, str]], presented: str) -> str | None:
    role = None
    for stored_hash, stored_role in stored:
        # Compare against every row so the time taken does not depend on which one matches.
        if hmac.compare_digest(stored_hash, presented):
            role = stored_role
    return role


def allows(role: str, needed: str) -> bool:
    """Admin can do everything; otherwise the role must be the one needed."""
    return role == "admin" or role == needed
