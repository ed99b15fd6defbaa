"""Random identifiers (decisions, cases, request ids): 128 bits from the operating system's
CSPRNG as 32 lowercase hex digits.

The bytes are fetched 4 KiB at a time, so an id costs no system call: on the event loop a
system call gives up the GIL, and getting it back can mean waiting for the store's writer.
Each byte is used once; a forked child starts with a fresh pool.
"""

from __future__ import annotations

import os
import threading

POOL_BYTES = 4096
ID_BYTES = 16


class _Pool:
    """Bytes from `os.urandom`, handed out once each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bytes = b""
        self._at = 0

    def take(self, count: int) -> bytes:
        with self._lock:
            if self._at + count > len(self._bytes):
                self._bytes, self._at = os.urandom(POOL_BYTES), 0
            start, self._at = self._at, self._at + count
            return self._bytes[start : self._at]

    def forget(self) -> None:
        self._lock = threading.Lock()
        self._bytes, self._at = b"", 0


_POOL = _Pool()
os.register_at_fork(after_in_child=_POOL.forget)


def random_id() -> str:
    """128 random bits, lowercase hex."""
    return _POOL.take(ID_BYTES).hex()
