"""Which store a command or server uses: one function for every caller.

A database URL (`--database URL`, or `REDRESS_DATABASE_URL`; `postgresql://…`) opens the
PostgreSQL store, and the data directory then holds only the key files (`signing.key`,
`public.key`, `admin.key`), which every node is given; otherwise the data directory's SQLite
file is the store.
"""

from __future__ import annotations

import os
from pathlib import Path

from store.base import Store
from store.sqlite import Sign
from store.sqlite import open_store as open_sqlite

DATABASE_ENV = "REDRESS_DATABASE_URL"
SCHEMES = ("postgresql://", "postgres://")


def database_url(database: str | None = None) -> str | None:
    """The database URL in force: the one given, else `REDRESS_DATABASE_URL`, else None."""
    url = database or os.environ.get(DATABASE_ENV) or None
    if url is not None and not url.startswith(SCHEMES):
        raise ValueError(f"a database URL starts with postgresql://, not {url.split(':')[0]}:")
    return url


def open_store(
    data_dir: Path,
    sign: Sign | None = None,
    auto_checkpoint: bool = True,
    database: str | None = None,
) -> Store:
    """The store of these options (created and migrated on open): PostgreSQL at `database`
    (or `REDRESS_DATABASE_URL`) when there is one, else SQLite in `data_dir`. `sign` signs a
    checkpoint after every batch that grew the tree (only when asked, `checkpoint_now`, if
    `auto_checkpoint` is False)."""
    url = database_url(database)
    if url is None:
        return open_sqlite(Path(data_dir), sign, auto_checkpoint)
    from store.postgres import PostgresStore  # psycopg only when a database is used

    Path(data_dir).mkdir(parents=True, exist_ok=True)
    return PostgresStore(url, sign, auto_checkpoint)  # type: ignore[return-value]
