"""Versioned schema migrations for the PostgreSQL store, kept in its own `redress_schema` table.

`MIGRATIONS[n]` takes a database schema from version n to n + 1. They run at open, in one
transaction under an advisory lock keyed by the schema's name (so several nodes starting at once
migrate it once), and a schema newer than this list is refused (`SchemaTooNew`) rather than
misread. Version 1 holds the tables of SQLite's version 2, with PostgreSQL types (`bytea` for
bytes, so entry bytes are kept exactly as given); version 2 adds `ledger_tail`, the one row every
node's writer locks `FOR UPDATE` to sequence appends across nodes; version 3 the answers kept
for `Idempotency-Key` replays; version 4 the decision index and console sessions; version 5
what SQLite's versions 3 and 4 added (key ids, names and revocation; a case's purpose and the
register's order); version 6 what SQLite's version 6 did (the register read without a lookup
per row); versions 7 to 10 what SQLite's versions 7 to 10 did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from store.migrations import (
    GAPS_SQL,
    KEPT_ANSWERS,
    KEY_CREATED,
    LAPSE,
    LAPSE_CANDIDATES,
    REDATE_ANSWER,
    acts_after_their_end,
    redated_key_answers,
)
from store.schema import migrate_locked, run_script

SCHEMA_1 = """
CREATE TABLE entries (
    idx BIGINT PRIMARY KEY, kind TEXT NOT NULL, ref TEXT,
    entry_hash TEXT NOT NULL, entry BYTEA NOT NULL);
CREATE INDEX idx_entries_kind_ref ON entries (kind, ref);
CREATE TABLE tree_nodes (
    level INTEGER NOT NULL, position BIGINT NOT NULL, hash BYTEA NOT NULL,
    PRIMARY KEY (level, position));
CREATE TABLE checkpoints (
    tree_size BIGINT PRIMARY KEY, root_hash TEXT NOT NULL, note TEXT NOT NULL,
    signed_at TEXT NOT NULL);
CREATE TABLE personal_keys (case_id TEXT PRIMARY KEY, key BYTEA);
CREATE TABLE personal_records (
    seq BIGSERIAL UNIQUE, commitment TEXT PRIMARY KEY, case_id TEXT NOT NULL,
    sealed BYTEA NOT NULL, sealed_at TEXT NOT NULL);
CREATE INDEX idx_personal_records_case_id ON personal_records (case_id);
CREATE TABLE api_keys (
    key_hash TEXT PRIMARY KEY, role TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE cases (
    case_id TEXT PRIMARY KEY,
    policy TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    facts TEXT NOT NULL,
    reference TEXT,
    complainant TEXT,
    opened_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    stage TEXT,
    route TEXT,
    latest_decision_id TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    personal TEXT NOT NULL DEFAULT 'none' CHECK (personal IN ('none', 'sealed', 'erased')),
    personal_commitment TEXT);
CREATE INDEX cases_reference ON cases (reference);
CREATE INDEX cases_policy_opened ON cases (policy, opened_at);
CREATE INDEX cases_complainant ON cases (complainant);
CREATE TABLE case_decisions (
    case_id TEXT NOT NULL, seq INTEGER NOT NULL, decision_id TEXT NOT NULL,
    PRIMARY KEY (case_id, seq));
CREATE TABLE case_obligations (
    case_id TEXT NOT NULL, name TEXT NOT NULL, rule TEXT, due TEXT, done_at TEXT,
    status TEXT NOT NULL, first_decision_id TEXT, last_decision_id TEXT, passes_at TEXT,
    PRIMARY KEY (case_id, name));
CREATE INDEX case_obligations_passes_at ON case_obligations (passes_at);
"""

# The sequencing row: size and tail hash of the ledger, locked by each batch before it appends.
SCHEMA_2 = """
CREATE TABLE ledger_tail (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL,
    tail_hash TEXT NOT NULL);
INSERT INTO ledger_tail (id, size, tail_hash)
SELECT 1, COALESCE(MAX(idx) + 1, 0),
       COALESCE((SELECT entry_hash FROM entries ORDER BY idx DESC LIMIT 1), repeat('0', 64))
FROM entries;
"""

# The answers kept for `Idempotency-Key` replays.
SCHEMA_3 = """
CREATE TABLE idempotency (
    owner TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL,
    status INTEGER NOT NULL, response BYTEA NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (owner, key));
CREATE INDEX idempotency_created_at ON idempotency (created_at);
"""

# The decision index (derived from the ledger, `store.decision_index`) and console sessions.
DECISION_INDEX = """
CREATE TABLE decision_index (
    idx BIGINT PRIMARY KEY, decision_id TEXT NOT NULL, policy TEXT NOT NULL,
    as_of TEXT NOT NULL, as_of_day TEXT NOT NULL, received_at TEXT, received_day TEXT,
    purpose TEXT NOT NULL, case_id TEXT, key_id TEXT, disposition TEXT, stage TEXT,
    route TEXT, kind TEXT, category TEXT, complainant_type TEXT, upheld INTEGER,
    urgent INTEGER, actions TEXT NOT NULL DEFAULT '', latest INTEGER NOT NULL DEFAULT 1);
CREATE UNIQUE INDEX decision_index_id ON decision_index (decision_id);
CREATE INDEX decision_index_routing
        ON decision_index (purpose, as_of_day, policy, route, stage, disposition);
CREATE INDEX decision_index_subjects
        ON decision_index (latest, purpose, received_day, policy, case_id);
CREATE INDEX decision_index_case ON decision_index (case_id, idx);
CREATE INDEX decision_index_as_of ON decision_index (as_of_day, idx);
CREATE TABLE decision_flags (
    idx BIGINT NOT NULL, flag TEXT NOT NULL, PRIMARY KEY (idx, flag));
CREATE INDEX decision_flags_flag ON decision_flags (flag, idx);
CREATE TABLE decision_counts (
    policy TEXT NOT NULL, as_of_day TEXT NOT NULL, purpose TEXT NOT NULL,
    route TEXT NOT NULL, stage TEXT NOT NULL, disposition TEXT NOT NULL,
    flag TEXT NOT NULL, count BIGINT NOT NULL,
    PRIMARY KEY (purpose, flag, as_of_day, policy, route, stage, disposition));
CREATE TABLE decision_obligations (
    idx BIGINT NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL, rule TEXT, due TEXT,
    done_at TEXT, status TEXT NOT NULL, PRIMARY KEY (idx, seq));
CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY, role TEXT NOT NULL, csrf TEXT NOT NULL, expires_at TEXT NOT NULL)
"""

# SQLite's versions 3 and 4: keys with a public id, a name and a revocation time; a case's
# purpose, the register's order (`seq`) and the case listing's indexes.
KEYS_AND_CASES = """
ALTER TABLE api_keys ADD COLUMN key_id TEXT;
ALTER TABLE api_keys ADD COLUMN name TEXT;
ALTER TABLE api_keys ADD COLUMN revoked_at TEXT;
UPDATE api_keys SET key_id = 'key_' || substr(key_hash, 1, 16) WHERE key_id IS NULL;
CREATE UNIQUE INDEX api_keys_key_id ON api_keys (key_id);
ALTER TABLE cases ADD COLUMN purpose TEXT NOT NULL DEFAULT 'live'
    CHECK (purpose IN ('live', 'test', 'preview'));
ALTER TABLE case_obligations ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE case_obligations AS c SET seq = (
    SELECT COUNT(*) FROM case_obligations AS o
    WHERE o.case_id = c.case_id
      AND (o.passes_at COLLATE "C", o.name COLLATE "C")
          < (c.passes_at COLLATE "C", c.name COLLATE "C"));
CREATE INDEX cases_opened ON cases (opened_at COLLATE "C", case_id COLLATE "C");
CREATE INDEX cases_state_opened ON cases (state, opened_at COLLATE "C", case_id COLLATE "C")
"""

# SQLite's version 6: the register read without a lookup per row (the subjects' index covers
# what the register and the Serco counts read; a case-less decision's register rows carry its
# policy, purpose and received day, under an index of their own).
REGISTER_READS = """
DROP INDEX decision_index_subjects;
CREATE INDEX decision_index_subjects ON decision_index (
    latest, purpose, received_day, policy, case_id, decision_id, received_at, kind,
    category, complainant_type, stage, route, disposition, upheld, urgent, actions);
ALTER TABLE decision_obligations ADD COLUMN policy TEXT;
ALTER TABLE decision_obligations ADD COLUMN purpose TEXT;
ALTER TABLE decision_obligations ADD COLUMN received_day TEXT;
UPDATE decision_obligations AS o SET (policy, purpose, received_day) = (
    SELECT d.policy, d.purpose, d.received_day FROM decision_index AS d WHERE d.idx = o.idx);
CREATE INDEX decision_obligations_subjects ON decision_obligations (
    purpose, received_day, policy, idx, seq, name, due, done_at, status)
"""

# SQLite's version 7: when each obligation stopped being pending (`overdue_as_of` on a past day).
OBLIGATION_ENDS = """
ALTER TABLE case_obligations ADD COLUMN dropped_at TEXT;
ALTER TABLE case_obligations ADD COLUMN ends_at TEXT
"""

# SQLite's version 8: a console session names the key that opened it (revoking it ends them).
SESSION_KEYS = """
DELETE FROM console_sessions;
ALTER TABLE console_sessions ADD COLUMN key_id TEXT
"""

# SQLite's version 9: a case is opened when its first decision is recorded (`verify` derives it).
OPENED_AT = """
UPDATE cases AS c SET
    opened_at = first.recorded_at,
    updated_at = CASE WHEN c.updated_at = c.opened_at THEN first.recorded_at ELSE c.updated_at END
FROM (
    SELECT d.case_id, convert_from(e.entry, 'UTF8')::json ->> 'recorded_at' AS recorded_at
    FROM case_decisions AS d JOIN entries AS e ON e.kind = 'decision' AND e.ref = d.decision_id
    WHERE d.seq = 0
) AS first
WHERE first.case_id = c.case_id AND first.recorded_at IS NOT NULL
"""


def lapsed_after_end(conn: Any) -> None:
    """SQLite's version 10 (`store.migrations.schema_10`): an obligation whose act came after it
    ended is `lapsed`."""
    for key in acts_after_their_end(conn.execute(LAPSE_CANDIDATES).fetchall()):
        conn.execute(LAPSE, key)


# SQLite's version 11: a key's dates are its `create` and `revoke` entries' (`verify` holds them).
KEY_DATES = """
UPDATE api_keys AS k SET created_at = COALESCE((
    SELECT convert_from(e.entry, 'UTF8')::json ->> 'recorded_at' FROM entries AS e
    WHERE e.kind = 'key' AND e.ref = k.key_id
        AND convert_from(e.entry, 'UTF8')::json -> 'body' ->> 'action' = 'create'
    ORDER BY e.idx LIMIT 1), k.created_at);
UPDATE api_keys AS k SET revoked_at = COALESCE((
    SELECT convert_from(e.entry, 'UTF8')::json ->> 'recorded_at' FROM entries AS e
    WHERE e.kind = 'key' AND e.ref = k.key_id
        AND convert_from(e.entry, 'UTF8')::json -> 'body' ->> 'action' = 'revoke'
    ORDER BY e.idx LIMIT 1), k.revoked_at)
WHERE k.revoked_at IS NOT NULL
"""


def key_dates(conn: Any) -> None:
    """SQLite's version 11 (`store.migrations.schema_11`): a key's dates are its entries', and
    so are those of the answers kept for retries of its creation."""
    run_script(conn, KEY_DATES)
    created = dict(conn.execute(KEY_CREATED).fetchall())
    for row in redated_key_answers(conn.execute(KEPT_ANSWERS).fetchall(), created):
        conn.execute(REDATE_ANSWER, row)


MIGRATIONS: list[str | Callable[[Any], None]] = [
    SCHEMA_1,
    SCHEMA_2,
    SCHEMA_3,
    DECISION_INDEX,
    KEYS_AND_CASES,
    REGISTER_READS,
    OBLIGATION_ENDS,
    SESSION_KEYS,
    OPENED_AT,
    lapsed_after_end,
    key_dates,
    GAPS_SQL,
]
SCHEMA_VERSION = len(MIGRATIONS)
VERSION_TABLE = "redress_schema"


def schema_version(conn: Any) -> int:
    """The schema's version (0 when nothing of Redress is in it yet)."""
    found = conn.execute(
        "SELECT 1 FROM information_schema.tables "
        "WHERE table_schema = current_schema() AND table_name = %s",
        (VERSION_TABLE,),
    ).fetchone()
    if found is None:
        return 0
    return conn.execute(f"SELECT version FROM {VERSION_TABLE}").fetchone()[0]


def migrate(conn: Any, upto: int = SCHEMA_VERSION) -> None:
    """Bring the current schema to version `upto` (default: this code's); refuse a newer one.
    `conn` is an autocommit psycopg connection."""

    def steps(conn: Any, version: int) -> None:
        if version == 0:
            conn.execute(f"CREATE TABLE {VERSION_TABLE} (version INTEGER NOT NULL)")
            conn.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (0)")
        for step in MIGRATIONS[version:upto]:
            step(conn) if callable(step) else run_script(conn, step)
        conn.execute(f"UPDATE {VERSION_TABLE} SET version = %s", (max(version, upto),))

    migrate_locked(
        conn,
        read_version=schema_version,
        upto=upto,
        known=SCHEMA_VERSION,
        holder="the database's",
        begin="BEGIN",
        lock="SELECT pg_advisory_xact_lock(hashtext('redress:' || current_schema()))",
        step=steps,
    )
