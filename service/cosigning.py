"""Cosigning in a server: one `ledger.witnessing.Cosigner` per data directory, fed by the store.

Every `serve` worker process starts a `Cosigning`, but only the one holding the exclusive lock on
`DIR/cosigner.lock` runs the cosigner; the others try to take the lock every few seconds, so a
worker that dies (the kernel drops its lock) is replaced by another. One cosigner per data
directory means one sequence of requests per witness (no 409 ping-pong between workers). Even
if two ran (two hosts sharing one PostgreSQL database, where a file lock is not shared), the
store's `attach_cosignatures` only ever replaces a checkpoint's note by the same checkpoint with
more signature lines, so they cannot store conflicting notes.

A witness that is down only delays cosigning: the cosigner runs beside the request threads and
the writer, which never wait for it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from ledger.witnessing import Cosigner
from store import Store

log = logging.getLogger("redress.cosigning")

LOCK_FILE = "cosigner.lock"
LOCK_RETRY_S = 2.0


def parse_witness(value: str) -> tuple[str, str]:
    """`VKEY=URL` (VKEY inline, or a file holding it) as `(vkey, url)`."""
    vkey, sep, url = value.rpartition("=")
    if not sep or not vkey or not url.startswith(("http://", "https://")):
        raise ValueError(f"a witness is given as VKEY=URL (http or https), not {value!r}")
    path = Path(vkey)
    if "+" not in vkey or path.is_file():
        vkey = path.read_text().strip()
    return vkey, url


class Cosigning:
    """The cosigner of one data directory's store, run by whichever process holds its lock."""

    def __init__(
        self,
        data_dir: Path,
        store: Store,
        witnesses: Sequence[tuple[str, str]],
        quorum: int,
        *,
        interval: float = 0.5,
        timeout: float = 2.0,
        max_backoff: float = 5.0,
    ) -> None:
        self.lock_path = Path(data_dir) / LOCK_FILE
        self.store = store
        self.cosigner = Cosigner(
            self._latest,
            self._proof,
            self._store_cosigned,
            witnesses,
            quorum,
            timeout=timeout,
            interval=interval,
            max_backoff=max_backoff,
        )
        self._fd: int | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- what the cosigner asks of the store -----------------------------------------------

    def _latest(self) -> tuple[str, int] | None:
        with self.store.read() as tx:
            latest = tx.latest_checkpoint()
        return None if latest is None else (latest.note, latest.tree_size)

    def _proof(self, old: int, new: int) -> list[bytes]:
        from ledger.store import _fetch
        from ledger.tree import consistency_hashes

        with self.store.read() as tx:
            return _fetch(tx, lambda f: consistency_hashes(old, new, f))

    def _store_cosigned(self, size: int, note: str) -> None:
        self.store.write(lambda tx: tx.attach_cosignatures(size, note))

    # -- the lock and the thread -----------------------------------------------------------

    @property
    def active(self) -> bool:
        """True in the one process that runs the cosigner now."""
        return self._fd is not None

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="cosigning", daemon=True)
        self._thread.start()

    def _try_lock(self) -> bool:
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def _run(self) -> None:
        while not self._stopping.is_set():
            if self._try_lock():
                log.info("this process cosigns the checkpoints of %s", self.lock_path.parent)
                self.cosigner.start()
                self._stopping.wait()
                return
            self._stopping.wait(LOCK_RETRY_S)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.cosigner.stop()
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
            self._fd = None
