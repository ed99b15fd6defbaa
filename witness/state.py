"""The witness's durable state: its cosigning key and, per log origin, the latest checkpoint it
cosigned (size, root hash, and the cosigned note).

Why SQLite (`D/witness.db`) and not a JSON file: tlog-witness asks that checking the old size
and recording the new checkpoint be one atomic step, and a single-file rewrite (fsync + rename)
is only atomic against other writers with a separate lock. One SQLite row per origin, updated by
a compare-and-swap `UPDATE ... WHERE size = old AND root = old root` in a transaction with
`synchronous=FULL`, is atomic across threads and processes sharing the directory, and durable
when the commit returns. Sizes are stored as decimal text: a tree size may reach 2^64-1, past
SQLite's signed 64-bit integers.

The key lives in `D/witness.key` (mode 0600) as `PRIVATE+KEY+<name>+<id>+base64(0x04 || seed)`,
so the name is fixed with the key on first start; `D/witness.vkey` holds the verifier key.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ledger.cosignature import CosignatureSigner

KEY_FILE = "witness.key"
VKEY_FILE = "witness.vkey"
DB_FILE = "witness.db"
DEFAULT_NAME = "redress.local/witness"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cosigned (
    origin    TEXT PRIMARY KEY,
    size      TEXT NOT NULL,
    root_hash BLOB NOT NULL,
    note      TEXT NOT NULL
) STRICT
"""


@dataclass(frozen=True, slots=True)
class Cosigned:
    """The latest checkpoint the witness cosigned for one origin."""

    size: int
    root_hash: bytes
    note: str  # the checkpoint note with the log's signature(s) and this witness's cosignature


def _write_new_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` with mode 0600 only if `path` does not exist: a racing process
    loses the `os.link` and reads the winner's key."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".witness-")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
        os.close(fd)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


def load_or_create_key(data_dir: Path, name: str = DEFAULT_NAME) -> CosignatureSigner:
    """The witness key of `data_dir`, created on first start (0600); `witness.vkey` kept
    beside it. `name` only matters the first time: after that the key file fixes it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    key_path = data_dir / KEY_FILE
    if not key_path.exists():
        _write_new_private(key_path, (CosignatureSigner.generate(name).skey + "\n").encode())
    signer = CosignatureSigner.from_skey(key_path.read_text())
    vkey_path = data_dir / VKEY_FILE
    if not vkey_path.exists() or vkey_path.read_text().strip() != signer.verifier_key:
        tmp = vkey_path.with_name(f".witness-vkey-{os.getpid()}")
        tmp.write_text(signer.verifier_key + "\n")
        os.replace(tmp, vkey_path)
    return signer


class WitnessState:
    """Per origin, the latest cosigned checkpoint, in `D/witness.db`."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DB_FILE
        with contextlib.closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        db.execute("PRAGMA synchronous=FULL")
        return db

    def latest(self, origin: str) -> Cosigned | None:
        with contextlib.closing(self._connect()) as db:
            row = db.execute(
                "SELECT size, root_hash, note FROM cosigned WHERE origin = ?", (origin,)
            ).fetchone()
        return None if row is None else Cosigned(int(row[0]), bytes(row[1]), row[2])

    def advance(self, origin: str, previous: Cosigned | None, new: Cosigned) -> bool:
        """Record `new` for `origin` if the stored state is still `previous` (None: nothing
        stored yet); True once durably committed, False if someone else moved it first."""
        with contextlib.closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                if previous is None:
                    cursor = db.execute(
                        "INSERT OR IGNORE INTO cosigned (origin, size, root_hash, note)"
                        " VALUES (?, ?, ?, ?)",
                        (origin, str(new.size), new.root_hash, new.note),
                    )
                else:
                    cursor = db.execute(
                        "UPDATE cosigned SET size = ?, root_hash = ?, note = ?"
                        " WHERE origin = ? AND size = ? AND root_hash = ?",
                        (
                            str(new.size),
                            new.root_hash,
                            new.note,
                            origin,
                            str(previous.size),
                            previous.root_hash,
                        ),
                    )
                moved = cursor.rowcount == 1
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return moved
