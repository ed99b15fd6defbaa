"""`store.schema.UNIQUE_KEYS`, what `verify` holds each table to, is kept by a new store of
either kind, and lists every table of the service's."""

from __future__ import annotations

import sqlite3

from store import open_store
from store.schema import UNIQUE_KEYS, missing_unique_key


def declared(data_dir, store_url: str) -> dict[str, list[tuple[str, ...]]]:
    """Each table's unique column sets, as a new store declares them."""
    open_store(data_dir).close()
    if store_url == "sqlite":
        from store.sqlite import unique_keys

        with sqlite3.connect(data_dir / "redress.db") as conn:
            return unique_keys(conn)
    import psycopg

    from store.postgres import unique_keys

    with psycopg.connect(store_url) as conn:
        return unique_keys(conn)


def test_a_new_store_keeps_every_unique_key_verify_holds_it_to(data_dir, store_url):
    found = declared(data_dir, store_url)
    assert missing_unique_key(found) is None
    # Every table of the service's with a unique key is listed (PostgreSQL's own bookkeeping,
    # the schema version and the ledger's tail, is read by no check).
    assert set(found) - {"redress_schema", "ledger_tail"} == set(UNIQUE_KEYS)


def test_a_key_dropped_is_named():
    kept = {table: list(keys) for table, keys in UNIQUE_KEYS.items()}
    kept["decision_counts"] = []
    assert missing_unique_key(kept) == ("decision_counts", UNIQUE_KEYS["decision_counts"][0])
