"""API keys: creation, revocation, listing, and the key ring each worker checks requests against.

A key is a random 256-bit secret, stored only as its SHA-256 hash with a role, a public key id
(`key_…`, safe to show and to record) and an optional name. Creating or revoking a key appends a
`key` entry to the ledger in the same transaction (`{action, key_id, role, name}` or `{action:
"revoke", key_id}`): secrets and their hashes are never in the ledger. This package holds no
HTTP: the API (`api.keys`) and the CLI (`redress keys`) both call it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import anyio.to_thread

from ledger.canonical import canonical_bytes
from schemas.api import KeyView
from store.base import DamagedValue, stored_as

if TYPE_CHECKING:
    from store import Store, WriteTx

Role = Literal["decide", "audit", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
ADMIN_KEY_FILE = "admin.key"
ADMIN_KEY_ENV = "REDRESS_ADMIN_KEY"
MAX_NAME_CHARS = 200
# How often a worker asks the store whether a key was revoked: a revoked key is refused by every
# worker within this (well under a second), and a request costs no store read in between.
REVISION_EVERY_S = 0.5
# When an event loop's key ring starts re-reading the revision in the background, so that its
# requests need not wait for the read at `REVISION_EVERY_S`.
REFRESH_AFTER_S = 0.25


class UnknownKey(LookupError):
    """No key that is not revoked has that id."""


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the key's public id, its role and its name."""

    key_id: str
    role: str
    name: str | None = None


@dataclass(frozen=True)
class NewKey:
    """A key just created: the secret (shown once) and its public id."""

    key: str
    key_id: str
    role: str
    name: str | None
    created_at: str | None  # its `create` entry's `recorded_at`, once written (`create_job`)


def key_hash(key: str) -> str:
    """The stored form of a key: SHA-256 hex (keys are random, so no salt or stretching)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A fresh key: 256 random bits, URL-safe base64."""
    return secrets.token_urlsafe(32)


def new_key_id() -> str:
    """A public key id: `key_` and 16 random hex digits (nothing to do with the secret)."""
    return "key_" + secrets.token_hex(8)


def allows(role: str, *needed: str) -> bool:
    """Admin can do everything; otherwise the role must be one of those needed."""
    return role == "admin" or role in needed


def check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")


# -- jobs for the store's writer ------------------------------------------------------------


def create_job(role: str, name: str | None = None) -> tuple[NewKey, Callable[[WriteTx], NewKey]]:
    """A new key, and the job that stores it and appends its `key` entry, returning the key
    dated: its `created_at` is the entry's `recorded_at`, which `verify` holds it to."""
    check_role(role)
    made = NewKey(new_key(), new_key_id(), role, name, None)

    def job(tx: WriteTx) -> NewKey:
        dated = replace(made, created_at=tx.recorded_at())
        tx.add_api_key(key_hash(made.key), role, made.key_id, name, dated.created_at)
        body = {"action": "create", "key_id": made.key_id, "role": role, "name": name}
        tx.append("key", canonical_bytes(body), made.key_id)
        return dated

    return made, job


def revoke_job(key_id: str) -> Callable[[WriteTx], bool]:
    """The job that revokes a key and appends its `key` entry: True when revoked now, False
    when it was revoked already (nothing is recorded); `UnknownKey` when there is no such key."""

    def job(tx: WriteTx) -> bool:
        if tx.revoke_api_key(key_id):
            tx.append("key", canonical_bytes({"action": "revoke", "key_id": key_id}), key_id)
            return True
        if any(row["key_id"] == key_id for row in tx.key_records()):
            return False
        raise UnknownKey(f"no key {key_id}")

    return job


def revoke_answer_job(key_id: str) -> Callable[[WriteTx], dict[str, Any]]:
    """`revoke_job`, answering with the key as its transaction leaves it (`key_list`'s form).
    A key row the service never wrote fails the job (`DamagedValue`), its revocation with it:
    read after the commit, a damaged row had the revocation answered 503, yet recorded."""
    revoke = revoke_job(key_id)

    def job(tx: WriteTx) -> dict[str, Any]:
        revoke(tx)
        rows = [row for row in tx.key_records() if row["key_id"] == key_id]
        if len(rows) != 1:  # the table no longer keeps key ids unique (`verify` names it)
            raise DamagedValue(f"{len(rows)} rows of key {key_id}")
        return _views(rows)[0]

    return job


def key_list(store: Store) -> list[dict[str, Any]]:
    """Every key: `key_id, role, name, created_at, revoked_at` (never a secret or its hash)."""
    with store.read() as tx:
        rows = tx.key_records()
    return _views(rows)


def _views(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Key rows without their hashes, each as the service writes it, or `DamagedValue`."""
    listed = [{k: v for k, v in row.items() if k != "key_hash"} for row in rows]
    stored_as(listed, list[KeyView])
    return listed


def key_page(
    store: Store, after: tuple[str, str] | None, limit: int
) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
    """At most `limit` keys of `key_list` (oldest first: by `created_at`, then `key_id`), from
    the first after the place `after` (`(created_at, key_id)` of the last key of the page
    before; None: from the first), and the place the next page starts after (None at the end).
    A new key's `created_at` is its entry's, later than every listed key's, so a listing goes
    on over keys made while it is read."""
    listed = key_list(store)
    if after is not None:
        listed = [row for row in listed if (row["created_at"], row["key_id"]) > after]
    page = listed[:limit]
    more = len(listed) > limit
    return page, (page[-1]["created_at"], page[-1]["key_id"]) if more and page else None


# -- the same from the CLI, on a data directory ---------------------------------------------


def _in_ledger(data_dir: Path, job: Callable[[Any], Any]) -> Any:
    """Run one write job on the data directory's ledger store (created on first use)."""
    from ledger import Ledger

    ledger = Ledger.open(Path(data_dir))
    try:
        return ledger.store.write(job)
    finally:
        ledger.close()


def create_key(data_dir: Path, role: str, name: str | None = None) -> str:
    """Create, store and return a new key with `role` (decide, audit or admin)."""
    return create_named_key(data_dir, role, name).key


def create_named_key(data_dir: Path, role: str, name: str | None = None) -> NewKey:
    """Create and store a key; the secret and its id."""
    _, job = create_job(role, name)
    return _in_ledger(data_dir, job)


def revoke_key(data_dir: Path, key_id: str) -> bool:
    """Revoke a key: True when revoked now, False when it was already (`UnknownKey` when there
    is none with that id)."""
    return _in_ledger(data_dir, revoke_job(key_id))


def list_keys(data_dir: Path) -> list[dict[str, Any]]:
    from store import open_store

    store = open_store(Path(data_dir))
    try:
        return key_list(store)
    finally:
        store.close()


def record_unrecorded_keys(tx: WriteTx) -> int:
    """Append a `create` entry for every stored key the ledger does not name yet: keys made
    before key entries existed (a store upgraded from version 1), so that `verify` can hold
    every key row to the ledger. Runs on the write side at start-up; how many it recorded.
    Such a key takes its entries' time as its dates (`verify` holds a key's dates to them).
    Only a ledger with no key entry yet has such keys: once one is recorded, every key is made
    with its entry, and a row without one was written by other hands (`verify` names it;
    recording it here would make it look made by the service)."""
    if any(b'"action":' in raw for raw in tx.entries_of_kind("key")):
        return 0
    recorded = 0
    for row in tx.key_records():
        if tx.find_entry("key", row["key_id"]) is None:
            body = {
                "action": "create",
                "key_id": row["key_id"],
                "role": row["role"],
                "name": row["name"],
            }
            tx.append("key", canonical_bytes(body), row["key_id"])
            if row["revoked_at"] is not None:
                revoked = {"action": "revoke", "key_id": row["key_id"]}
                tx.append("key", canonical_bytes(revoked), row["key_id"])
            tx.date_api_key(row["key_id"], tx.recorded_at())
            recorded += 1
    return recorded


# A chosen admin key must be one a client can send (`Authorization: Bearer`, RFC 6750's token
# characters) and not guessable: as long as the 32 random bytes of a key `new_key` makes.
CHOSEN_KEY = re.compile(r"^[A-Za-z0-9._~+/=-]{32,512}$")


@dataclass(frozen=True)
class AdminStart:
    """What `start_admin` did: the key to show (made or chosen, on the store's first start
    only), and the id of an admin key added now from `REDRESS_ADMIN_KEY` to a store that had
    one already (to replace a lost key), else None."""

    first_key: str | None
    added_key_id: str | None


def chosen_admin_key() -> str | None:
    """`REDRESS_ADMIN_KEY`, when set; ValueError saying why when no client could use it or it
    is short enough to guess."""
    chosen = os.environ.get(ADMIN_KEY_ENV) or None
    if chosen is not None and not CHOSEN_KEY.match(chosen):
        raise ValueError(
            f"{ADMIN_KEY_ENV}: an admin key is 32 to 512 characters of A-Z, a-z, 0-9 and "
            "._~+/=- (what a client can send as a bearer token, and long enough not to be "
            "guessed)"
        )
    return chosen


def start_admin(data_dir: Path) -> AdminStart:
    """On first start, create the admin key (`REDRESS_ADMIN_KEY`'s when set), write it to
    DIR/admin.key (0600) and return it. On a later start, a `REDRESS_ADMIN_KEY` the store does
    not hold yet is added as another admin key (so it can replace a lost one), and its id
    returned: the caller says so, since the keys before it still work."""
    chosen = chosen_admin_key()

    def job(tx: Any) -> tuple[bool, str | None, str | None]:
        record_unrecorded_keys(tx)
        existed = tx.has_api_key_with_role("admin")
        key = chosen or (None if existed else new_key())
        added = None
        if key is not None:
            key_id = new_key_id()
            if tx.add_api_key(key_hash(key), "admin", key_id, "admin", tx.recorded_at()):
                body = {"action": "create", "key_id": key_id, "role": "admin", "name": "admin"}
                tx.append("key", canonical_bytes(body), key_id)
                added = key_id
        return existed, key, added

    existed, key, added = _in_ledger(data_dir, job)
    if existed:
        return AdminStart(None, added)
    if key is None:
        return AdminStart(None, None)
    write_private(Path(data_dir) / ADMIN_KEY_FILE, key + "\n")
    return AdminStart(key, None)


def bootstrap_admin(data_dir: Path) -> str | None:
    """`start_admin`'s key of a first start: the key, or None when an admin key existed."""
    return start_admin(data_dir).first_key


def write_private(path: Path, text: str) -> None:
    """Write a secret readable by its owner only (created 0600, never briefly wider)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(path, 0o600)


# -- checking requests ------------------------------------------------------------------------


class KeyRing:
    """Who a presented key belongs to, from the shared store.

    The stored hashes of keys not revoked are kept in memory: a known key costs no I/O, a key
    created by another process is found on its first use (a miss reads the store again), and a
    revocation anywhere (or a role or name edited by hand) is seen within `REVISION_EVERY_S`, by
    reading a digest of the key rows (`key_revision`).

    `caller` may read the store where it runs; `caller_async` is for the event loop: it reads
    in a worker thread, and starts re-reading the revision in the background once the copy is
    `REFRESH_AFTER_S` old, so that requests keep being answered from memory meanwhile and wait
    only if the copy reaches `REVISION_EVERY_S` (a store slower than that to answer).
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._checked_at = time.monotonic()  # when the copy's revision was read (its start)
        self._revision, self._stored = self._read_stored()
        self._rereading: asyncio.Future[None] | None = None
        # The callers of keys presented on the event loop and found in one copy (`_stored`),
        # with that copy: a key presented again is not hashed and matched again while the copy
        # stands, and a new copy (a revocation seen) starts with none.
        self._known: tuple[list[tuple[str, Caller]], dict[str, Caller]] = (self._stored, {})

    def caller(self, key: str) -> Caller | None:
        """The caller holding `key`, or None when no key that is not revoked matches."""
        self._notice_revocations()
        presented = key_hash(key)
        found = _matching(self._stored, presented)
        if found is None:
            self._revision, self._stored = self._read_stored()
            found = _matching(self._stored, presented)
        return found

    async def caller_async(self, key: str) -> Caller | None:
        """`caller` on an event loop: from memory while the copy is fresh, the store read (when
        stale, or for a key not held) in a worker thread, one re-read at a time."""
        age = time.monotonic() - self._checked_at
        if age >= REFRESH_AFTER_S:
            reread = self._reread()
            if age >= REVISION_EVERY_S:
                await asyncio.shield(reread)  # a cancelled request leaves it running
        stored = self._stored
        copy, known = self._known
        if copy is not stored:
            known = {}
            self._known = (stored, known)
        found = known.get(key)
        if found is None:
            found = _matching(stored, key_hash(key))
            if found is None:  # perhaps a key made by another process since the copy was read
                return await anyio.to_thread.run_sync(self.caller, key)
            known[key] = found
        return found

    def _reread(self) -> asyncio.Future[None]:
        """The re-reading of the revision in progress on this loop, started now if none is."""
        running = self._rereading
        loop = asyncio.get_running_loop()
        if running is None or running.done() or running.get_loop() is not loop:
            running = asyncio.ensure_future(
                anyio.to_thread.run_sync(self._notice_revocations, REFRESH_AFTER_S)
            )
            # A failed read is raised to the requests that wait for it, if any; else dropped
            # (the next request starts another).
            running.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._rereading = running
        return running

    async def settle(self) -> None:
        """Wait for a background re-read still running on this loop (before the store it
        reads is closed)."""
        running = self._rereading
        if running is not None and running.get_loop() is asyncio.get_running_loop():
            await asyncio.wait([running])

    def refresh(self) -> None:
        """Read the keys again now (this process just revoked one)."""
        with self._lock:
            started = time.monotonic()
            self._revision, self._stored = self._read_stored()
            self._checked_at = started

    def role_of(self, key: str) -> str | None:
        found = self.caller(key)
        return None if found is None else found.role

    def _notice_revocations(self, older_than: float = REVISION_EVERY_S) -> None:
        """Read the revision again if the copy's is `older_than` seconds old, and the keys if it
        moved."""
        if time.monotonic() - self._checked_at < older_than:
            return
        with self._lock:
            started = time.monotonic()
            if started - self._checked_at < older_than:
                return
            with self.store.read() as tx:
                revision = tx.key_revision()
            if revision != self._revision:
                self._revision, self._stored = self._read_stored()
            self._checked_at = started

    def _read_stored(self) -> tuple[str, list[tuple[str, Caller]]]:
        with self.store.read() as tx:
            revision = tx.key_revision()
            rows = tx.key_records()
        return revision, [
            (r["key_hash"], Caller(r["key_id"], r["role"], r["name"]))
            for r in rows
            if r["revoked_at"] is None and _usable(r)
        ]


def _usable(row: dict[str, Any]) -> bool:
    """Whether a key row is one the service could have written: a text hash and id, a known
    role. Another was written by other hands (`redress verify` names it) and authorises
    nothing; the keys are matched together, so one such row had every request answer 500 (and
    an id that is no text, every write of that key)."""
    typed = isinstance(row["key_hash"], str) and isinstance(row["key_id"], str)
    return typed and row["role"] in ROLES


def _matching(stored: list[tuple[str, Caller]], presented: str) -> Caller | None:
    found = None
    for stored_hash, caller in stored:
        # Compare against every row so the time taken does not depend on which one matches.
        if hmac.compare_digest(stored_hash, presented):
            found = caller
    return found
