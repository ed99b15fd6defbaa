"""The queue in front of SQLite's write lock: one `flock` on a file next to the database, taken
by a process's writer around each of its transactions, so that the writers of processes sharing
the file (`redress serve --workers N`) take turns by waiting in the kernel, woken the moment the
lock is free, instead of polling in SQLite's busy handler (which sleeps 1, 2, 5, 10 … ms between
tries, and lets whoever happens to retry first win).

SQLite's own lock stays the truth: this lock only orders the writers that use it. A process that
does not (the `sqlite3` shell, an older Redress) still holds SQLite's lock in between, and a
writer holding this lock then still waits for SQLite's within what is left of its time.

Waiting has a time limit (`StoreBusy` after `BUSY_WAIT_S`), which `flock` has not: so an
uncontended lock is taken at once by the writer thread itself, and a contended one by a helper
thread blocking in `flock` (the GIL released), which hands it over through an event the writer
waits on with a timeout. A turn granted after its writer gave up is released at once.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import queue
import threading
from pathlib import Path


def _libc_holding_the_gil() -> ctypes.PyDLL | None:
    try:
        return ctypes.PyDLL(None, use_errno=True)
    except OSError:
        return None


# `fcntl.flock` lets go of the GIL even when it cannot block, and a thread that lets go of it
# may wait a whole switch interval (5 ms) to have it back while the event loop runs. The writer
# takes and ends its turn on every batch, so it calls libc's `flock` keeping the GIL for the two
# calls that never wait (LOCK_NB, LOCK_UN); only the helper's blocking wait lets go of it.
_LIBC = _libc_holding_the_gil()


def _flock_now(fd: int, operation: int) -> bool:
    """`flock` that does not wait (LOCK_EX | LOCK_NB, or LOCK_UN); False when the lock is held
    by another open file."""
    if _LIBC is None:
        try:
            fcntl.flock(fd, operation)
        except BlockingIOError:
            return False
        return True
    if _LIBC.flock(fd, operation) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EWOULDBLOCK, errno.EAGAIN):
        return False
    raise OSError(code, os.strerror(code))


class _Ticket:
    """One wait for the lock: granted by the helper, or abandoned by the writer (timed out)."""

    __slots__ = ("granted", "abandoned", "unlocked")

    def __init__(self) -> None:
        self.granted = threading.Event()
        self.abandoned = False
        self.unlocked = False  # granted without the lock: `flock` failed, SQLite's lock decides


class WriterLock:
    """The inter-process writer lock on `path` (created when missing). One writer thread calls
    `acquire` and `release`, in turn; `close` when the store closes.

    When the file cannot be opened (a read-only directory), `acquire` answers True at once and
    the writers fall back on SQLite's lock alone: slower under contention, never less safe.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None  # the writer thread's own open file description
        self._opened = False
        self._held: int | None = None  # the descriptor that holds the lock now
        self._mutex = threading.Lock()  # between a timed-out writer and the helper
        self._tickets: queue.SimpleQueue[_Ticket | None] = queue.SimpleQueue()
        self._helper: threading.Thread | None = None
        self._helper_fd: int | None = None

    def _open(self) -> int | None:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            return None

    def acquire(self, timeout: float) -> bool:
        """Take this process's turn to write, waiting at most `timeout` seconds; False when
        another process kept it that long."""
        if not self._opened:
            self._fd, self._opened = self._open(), True
        if self._fd is None:
            return True
        try:
            free = _flock_now(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # no lock to be had here (ENOLCK): SQLite's lock decides alone
            return True
        if not free:
            return self._wait_in_line(timeout)
        self._held = self._fd
        return True

    def _wait_in_line(self, timeout: float) -> bool:
        if self._helper is None:
            self._helper_fd = self._open()
            if self._helper_fd is None:
                return True
            self._helper = threading.Thread(
                target=self._wait_for_turns, name="redress-writer-lock", daemon=True
            )
            self._helper.start()
        ticket = _Ticket()
        self._tickets.put(ticket)
        ticket.granted.wait(max(0.0, timeout))
        with self._mutex:
            if ticket.granted.is_set():
                self._held = None if ticket.unlocked else self._helper_fd
                return True
            ticket.abandoned = True
            return False

    def _wait_for_turns(self) -> None:
        """The helper: block in `flock` for each ticket, grant it, or let go if it was
        abandoned meanwhile."""
        fd = self._helper_fd
        assert fd is not None
        try:
            while (ticket := self._tickets.get()) is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)  # releases the GIL while it waits
                except OSError:  # no lock to be had here (ENOLCK): go on without the queue
                    ticket.unlocked = True
                    ticket.granted.set()
                    continue
                with self._mutex:
                    if not ticket.abandoned:
                        ticket.granted.set()  # the writer releases it (`release`)
                        continue
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def release(self) -> None:
        """End this process's turn (a no-op when `acquire` held nothing)."""
        if self._held is not None:
            _flock_now(self._held, fcntl.LOCK_UN)
            self._held = None

    def close(self) -> None:
        self.release()
        if self._helper is not None:
            self._tickets.put(None)
            # A helper still blocked behind a stuck process is a daemon: it exits with it.
            self._helper.join(1.0)
            self._helper = None
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._opened = None, False
