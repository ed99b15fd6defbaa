"""Storage: the one place that opens connections, sets pragmas, runs transactions and migrates
the schema, for the ledger, cases, API keys and personal data.

Callers see `store.base` (the `Store`, `ReadTx` and `WriteTx` interfaces, with no SQL in them)
and `open_store` (`store.open`: PostgreSQL at a database URL, else SQLite in the data
directory); `store.sqlite` is the embedded SQLite implementation, `store.postgres` the one for
several nodes on one database. Writes go through one group-committing writer per process
(`Store.write`): the jobs waiting are run in order in one transaction, each under its own
savepoint, and committed with one fsync; the writers of processes sharing a SQLite file take
turns through `store.writer_lock`.
"""

from store.base import (
    AppendReceipt,
    ReadTx,
    SchemaTooNew,
    Store,
    StoreBusy,
    StoreUnavailable,
    VersionConflict,
    WriteTx,
)
from store.open import DATABASE_ENV, database_url, open_store
from store.sqlite import SqliteStore

__all__ = [
    "DATABASE_ENV",
    "AppendReceipt",
    "ReadTx",
    "SchemaTooNew",
    "SqliteStore",
    "Store",
    "StoreBusy",
    "StoreUnavailable",
    "VersionConflict",
    "WriteTx",
    "database_url",
    "open_store",
]
