"""Keep-alive connections spread evenly over the workers of `redress serve --workers N`.

The workers share one listening socket, and whichever wakes first accepts a burst: a client
that opens its pool at once (wrk's 32 connections, a case-management system's pool) can land
27 connections on one worker and 5 on the other, and keep them for hours, one worker saturated
while the other idles. Each worker counts its open connections in a small file the workers
share (`CONNECTIONS_ENV`), one slot each. A worker holding more than its share (the live
workers' connections over their number, rounded up) answers the next request on a surplus
connection with `Connection: close` (RFC 9112 section 9.6), and the client opens a new one:
the worker with fewer connections is the likelier to accept it, being the less busy.

A worker takes its slot when its app starts (`take_slot`), before its first connection: a
worker that has none yet must count, as the least busy of all. It holds an fcntl lock on the
slot while it lives, so a slot whose lock is free belongs to no live worker (the kernel drops
the lock of a process that dies, SIGKILL included) and does not count.
"""

from __future__ import annotations

import fcntl
import math
import mmap
import os
import struct
from pathlib import Path
from typing import Any

from api.http11 import ProblemHttpTools

CONNECTIONS_ENV = "REDRESS_CONNECTIONS_FILE"
SLOT = struct.Struct("<q")  # a worker's open connections; -1: the slot was never taken
UNTAKEN = -1


def create_slots(path: Path, workers: int) -> None:
    """The shared file for `workers` workers, every slot untaken (the supervisor's side)."""
    path.write_bytes(SLOT.pack(UNTAKEN) * workers)


class Slots:
    """This worker's view of the shared file: its own slot, and the others' counts."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR)
        size = os.fstat(self._fd).st_size
        self.count = size // SLOT.size
        self._map = mmap.mmap(self._fd, size)
        self.mine = self._take_slot()
        self.open = 0  # this worker's open connections
        self.closing = 0  # of them, those told to close after their answer
        self._write()

    def _take_slot(self) -> int:
        for slot in range(self.count):
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, SLOT.size, slot * SLOT.size)
            except OSError:
                continue  # a live worker's
            return slot
        raise RuntimeError("more workers than connection slots")

    def _write(self) -> None:
        SLOT.pack_into(self._map, self.mine * SLOT.size, self.open)

    def opened(self) -> None:
        self.open += 1
        self._write()

    def send_away(self) -> None:
        """One more connection is told to close after its answer."""
        self.closing += 1

    def closed(self, was_closing: bool) -> None:
        self.open -= 1
        self.closing -= was_closing
        self._write()

    def _is_live(self, slot: int) -> bool:
        """True while a worker holds `slot`'s lock (testing it briefly takes it otherwise)."""
        offset = slot * SLOT.size
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_SH | fcntl.LOCK_NB, SLOT.size, offset)
        except OSError:
            return True
        fcntl.lockf(self._fd, fcntl.LOCK_UN, SLOT.size, offset)
        return False

    def surplus(self) -> bool:
        """True when this worker, its closing connections set aside, holds more than its
        share of the live workers' connections."""
        kept = self.open - self.closing
        counts = struct.unpack_from(f"<{self.count}q", self._map)
        others = {slot: n for slot, n in enumerate(counts) if slot != self.mine and n != UNTAKEN}
        if not others or kept <= min(others.values()) + 1:
            return False  # the cheap answer, on almost every request
        live = [n for slot, n in others.items() if self._is_live(slot)]
        if not live:
            return False
        return kept > math.ceil((self.open + sum(live)) / (len(live) + 1))


_slots: Slots | None = None


def take_slot() -> Slots | None:
    """This worker's slot (taken once, at its app's start-up); None when the server has one
    worker."""
    global _slots
    if _slots is None:
        path = os.environ.get(CONNECTIONS_ENV)
        if not path:
            return None
        _slots = Slots(Path(path))
    return _slots


class SharedHttpTools(ProblemHttpTools):
    """uvicorn's httptools protocol (an unparsable request answered as a problem), counting its
    connections in the workers' shared file and closing a surplus one after its answer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slots = take_slot()
        self._closing = False

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self._slots is not None:
            self._slots.opened()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._slots is not None:
            self._slots.closed(self._closing)
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        slots = self._slots
        if slots is not None and not self._closing and slots.surplus():
            self._closing = True
            slots.send_away()
            self.cycle.keep_alive = False  # as uvicorn's own shutdown does
