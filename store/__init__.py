"""Storage: the one place that opens connections, sets pragmas, runs transactions and migrates
the schema, for the ledger, cases, API keys and personal data.

Callers see `store.base` (the `Store`, `ReadTx` and `WriteTx` interfaces, with no SQL in them)
and `open_store`; `store.sqlite` is the embedded SQLite implementation, and a PostgreSQL one can
sit beside it. Writes go through one group-committing writer per process (`Store.write`): the
jobs waiting are run in order in one transaction, each under its own savepoint, and committed
with one fsync.
"""

from store.base import (
    AppendReceipt,
    ReadTx,
    SchemaTooNew,
    Store,
    StoreBusy,
    VersionConflict,
    WriteTx,
)
from store.sqlite import SqliteStore, open_store

__all__ = [
    "AppendReceipt",
    "ReadTx",
    "SchemaTooNew",
    "SqliteStore",
    "Store",
    "StoreBusy",
    "VersionConflict",
    "WriteTx",
    "open_store",
]
