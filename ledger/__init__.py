"""The tamper-evident record: hash-chained entries in SQLite, RFC 9162 Merkle proofs, signed
checkpoints, offline verification and replay.

`ledger.Ledger` is imported lazily, so the pure modules (`ledger.merkle`, `ledger.note`, ...)
load without the store and its dependencies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ledger.store import Ledger

__all__ = ["DB_FILE", "Ledger"]

# The one SQLite file of a data directory: the ledger's tables, and the cases and API keys kept
# beside them. Here rather than in `ledger.store` so that naming it imports nothing heavy.
DB_FILE = "redress.db"


def __getattr__(name: str) -> Any:
    if name == "Ledger":
        from ledger.store import Ledger

        return Ledger
    raise AttributeError(f"module 'ledger' has no attribute {name!r}")
