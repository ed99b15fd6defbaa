"""Versioned schema migrations, keyed by SQLite's `PRAGMA user_version`.

`MIGRATIONS[n]` takes a store from version n to n + 1. They run at open, in one `BEGIN IMMEDIATE`
transaction (so two processes opening one store at once migrate it once), and a store whose
version is newer than this list is refused rather than misread. Version 1 is the schema written
before versioning (every statement is `IF NOT EXISTS`, so such a store, at version 0, adopts it
unchanged); version 2 replaces the first case tables with the case row, its decisions and its
obligations (and the answers kept for `Idempotency-Key`); version 3 gives keys an id, a
name and revocation; version 4 gives a case its `purpose` and each obligation its place in the
register (`seq`), and indexes the case listing; version 5 adds the decision index and console
sessions; version 6 lets the register be read without a lookup per row (a covering index of the
subjects; a case-less decision's register rows carry its policy, purpose and received day);
version 7 keeps when each obligation stopped being pending; version 8 names the key of each console
session; version 9 dates each case opened when its first decision was recorded; version 10 makes
an obligation whose act came after it ended `lapsed`.

(sqlite-utils' `Migrations` records migrations by name in a table and cannot refuse a newer
schema, and its transaction handling does not serialise concurrent openers: hence this list.)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import date

from store.schema import migrate_locked, set_back
from store.schema import run_script as _run


def schema_1(conn: sqlite3.Connection) -> None:
    """The tables as the pre-versioning code created them."""
    _run(
        conn,
        """
        CREATE TABLE IF NOT EXISTS entries (
            idx INTEGER PRIMARY KEY, kind TEXT NOT NULL, ref TEXT,
            entry_hash TEXT NOT NULL, entry BLOB NOT NULL);
        CREATE INDEX IF NOT EXISTS idx_entries_kind_ref ON entries (kind, ref);
        CREATE TABLE IF NOT EXISTS tree_nodes (
            level INTEGER, position INTEGER, hash BLOB NOT NULL,
            PRIMARY KEY (level, position)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS checkpoints (
            tree_size INTEGER PRIMARY KEY, root_hash TEXT NOT NULL, note TEXT NOT NULL,
            signed_at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS personal_keys (case_id TEXT PRIMARY KEY, key BLOB);
        CREATE TABLE IF NOT EXISTS personal_records (
            commitment TEXT PRIMARY KEY, case_id TEXT NOT NULL, sealed BLOB NOT NULL,
            sealed_at TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS idx_personal_records_case_id ON personal_records (case_id);
        CREATE TABLE IF NOT EXISTS api_keys (
            key_hash TEXT PRIMARY KEY, role TEXT NOT NULL, created_at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS case_cases (
            case_id TEXT PRIMARY KEY, policy TEXT, facts TEXT, personal TEXT,
            personal_commitment TEXT, created_at TEXT, updated_at TEXT);
        CREATE TABLE IF NOT EXISTS case_decisions (
            case_id TEXT, seq INTEGER, decision_id TEXT, PRIMARY KEY (case_id, seq));
        CREATE TABLE IF NOT EXISTS case_deadlines (
            case_id TEXT, name TEXT, due TEXT, rule TEXT, passes_at TEXT);
        """,
    )


def schema_2(conn: sqlite3.Connection) -> None:
    """Cases as one row with a version (optimistic concurrency), and their obligations; the
    answers kept for `Idempotency-Key` replays."""
    _run(
        conn,
        """
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
            personal TEXT NOT NULL DEFAULT 'none'
                CHECK (personal IN ('none', 'sealed', 'erased')),
            personal_commitment TEXT);
        CREATE INDEX cases_reference ON cases (reference);
        CREATE INDEX cases_policy_opened ON cases (policy, opened_at);
        CREATE INDEX cases_complainant ON cases (complainant);
        CREATE TABLE case_obligations (
            case_id TEXT NOT NULL, name TEXT NOT NULL, rule TEXT, due TEXT, done_at TEXT,
            status TEXT NOT NULL, first_decision_id TEXT, last_decision_id TEXT, passes_at TEXT,
            PRIMARY KEY (case_id, name)) WITHOUT ROWID;
        CREATE INDEX case_obligations_passes_at ON case_obligations (passes_at);
        INSERT INTO cases (case_id, policy, state, facts, opened_at, updated_at, stage, route,
                           latest_decision_id, version, personal, personal_commitment)
        SELECT c.case_id, c.policy, 'open', c.facts, c.created_at, c.updated_at,
               json_extract(CAST(e.entry AS TEXT), '$.body.outcome.stage'),
               json_extract(CAST(e.entry AS TEXT), '$.body.outcome.route'),
               d.decision_id, 1, COALESCE(c.personal, 'none'), c.personal_commitment
        FROM case_cases AS c
        LEFT JOIN case_decisions AS d ON d.case_id = c.case_id
             AND d.seq = (SELECT MAX(seq) FROM case_decisions WHERE case_id = c.case_id)
        LEFT JOIN entries AS e ON e.kind = 'decision' AND e.ref = d.decision_id;
        INSERT OR IGNORE INTO case_obligations
            (case_id, name, rule, due, status, first_decision_id, last_decision_id, passes_at)
        SELECT k.case_id, k.name, k.rule, k.due, 'open', c.latest_decision_id,
               c.latest_decision_id, k.passes_at
        FROM case_deadlines AS k JOIN cases AS c ON c.case_id = k.case_id;
        DROP TABLE case_cases;
        DROP TABLE case_deadlines;
        CREATE TABLE idempotency (
            owner TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL,
            status INTEGER NOT NULL, response BLOB NOT NULL, created_at TEXT NOT NULL,
            PRIMARY KEY (owner, key)) WITHOUT ROWID;
        CREATE INDEX idempotency_created_at ON idempotency (created_at);
        """,
    )


def schema_3(conn: sqlite3.Connection) -> None:
    """Keys with a public id, a name and a revocation time (CONTRACT.md, version 2); and the
    `idempotency` table for a store that reached version 2 before schema 2 made it."""
    _run(
        conn,
        """
        ALTER TABLE api_keys ADD COLUMN key_id TEXT;
        ALTER TABLE api_keys ADD COLUMN name TEXT;
        ALTER TABLE api_keys ADD COLUMN revoked_at TEXT;
        UPDATE api_keys SET key_id = 'key_' || substr(key_hash, 1, 16) WHERE key_id IS NULL;
        CREATE UNIQUE INDEX api_keys_key_id ON api_keys (key_id);
        CREATE TABLE IF NOT EXISTS idempotency (
            owner TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL,
            status INTEGER NOT NULL, response BLOB NOT NULL, created_at TEXT NOT NULL,
            PRIMARY KEY (owner, key)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS idempotency_created_at ON idempotency (created_at);
        """,
    )


def schema_4(conn: sqlite3.Connection) -> None:
    """A case's purpose (its events inherit it), the register's order, and the listing's
    indexes. Rows migrated from version 1 keep their order by due; `redress cases rebuild`
    recomputes every register from the ledger."""
    _run(
        conn,
        """
        ALTER TABLE cases ADD COLUMN purpose TEXT NOT NULL DEFAULT 'live'
            CHECK (purpose IN ('live', 'test', 'preview'));
        ALTER TABLE case_obligations ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
        UPDATE case_obligations SET seq = (
            SELECT COUNT(*) FROM case_obligations AS o
            WHERE o.case_id = case_obligations.case_id
              AND (o.passes_at, o.name) < (case_obligations.passes_at, case_obligations.name));
        CREATE INDEX cases_opened ON cases (opened_at, case_id);
        CREATE INDEX cases_state_opened ON cases (state, opened_at, case_id);
        """,
    )


def schema_5(conn: sqlite3.Connection) -> None:
    """The decision index (one row per `decision` entry, derived from the ledger: what reports
    and the console's search count in SQL; `redress index rebuild` recomputes it, `verify`
    holds it to the entries), its flags and the registers of case-less decisions; console
    sessions."""
    _run(conn, DECISION_INDEX_SQL)


DECISION_INDEX_SQL = """
    CREATE TABLE decision_index (
        idx INTEGER PRIMARY KEY, decision_id TEXT NOT NULL, policy TEXT NOT NULL,
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
        idx INTEGER NOT NULL, flag TEXT NOT NULL, PRIMARY KEY (idx, flag)) WITHOUT ROWID;
    CREATE INDEX decision_flags_flag ON decision_flags (flag, idx);
    CREATE TABLE decision_counts (
        policy TEXT NOT NULL, as_of_day TEXT NOT NULL, purpose TEXT NOT NULL,
        route TEXT NOT NULL, stage TEXT NOT NULL, disposition TEXT NOT NULL,
        flag TEXT NOT NULL, count BIGINT NOT NULL,
        PRIMARY KEY (purpose, flag, as_of_day, policy, route, stage, disposition));
    CREATE TABLE decision_obligations (
        idx INTEGER NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL, rule TEXT, due TEXT,
        done_at TEXT, status TEXT NOT NULL, PRIMARY KEY (idx, seq)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS console_sessions (
        id_hash TEXT PRIMARY KEY, role TEXT NOT NULL, csrf TEXT NOT NULL,
        expires_at TEXT NOT NULL)
"""


def schema_6(conn: sqlite3.Connection) -> None:
    """What the register report and the registers' counts read, without a lookup per row: the
    subjects' index covers every column the register and the Serco counts read of a subject,
    and a case-less decision's register rows carry its policy, purpose and received day, under
    an index of their own (a quarter at 1,000,000 decisions is ~200,000 subjects and ~240,000
    register rows, each a lookup before)."""
    _run(conn, REGISTER_READS_SQL)


REGISTER_READS_SQL = """
    DROP INDEX decision_index_subjects;
    CREATE INDEX decision_index_subjects ON decision_index (
        latest, purpose, received_day, policy, case_id, decision_id, received_at, kind,
        category, complainant_type, stage, route, disposition, upheld, urgent, actions);
    ALTER TABLE decision_obligations ADD COLUMN policy TEXT;
    ALTER TABLE decision_obligations ADD COLUMN purpose TEXT;
    ALTER TABLE decision_obligations ADD COLUMN received_day TEXT;
    UPDATE decision_obligations SET (policy, purpose, received_day) = (
        SELECT d.policy, d.purpose, d.received_day FROM decision_index AS d
        WHERE d.idx = decision_obligations.idx);
    CREATE INDEX decision_obligations_subjects ON decision_obligations (
        purpose, received_day, policy, idx, seq, name, due, done_at, status)
"""


def schema_7(conn: sqlite3.Connection) -> None:
    """Each register row keeps when its obligation stopped being pending (`dropped_at`, `ends_at`:
    `cases.register.ends_at_of`), so `overdue_as_of` on a past day gives what was overdue then.
    Rows stored before stay without (read as before); `redress cases rebuild` fills them in."""
    _run(conn, OBLIGATION_ENDS_SQL)


OBLIGATION_ENDS_SQL = """
    ALTER TABLE case_obligations ADD COLUMN dropped_at TEXT;
    ALTER TABLE case_obligations ADD COLUMN ends_at TEXT
"""


def schema_8(conn: sqlite3.Connection) -> None:
    """A console session names the key that opened it (`key_id`), so that revoking the key
    ends its sessions. Sessions opened before name none: they end here (sign in again)."""
    _run(conn, SESSION_KEYS_SQL)


SESSION_KEYS_SQL = """
    DELETE FROM console_sessions;
    ALTER TABLE console_sessions ADD COLUMN key_id TEXT
"""


def schema_9(conn: sqlite3.Connection) -> None:
    """A case is opened when its first decision is recorded: `opened_at` is that entry's
    `recorded_at`, which `redress verify` derives. Cases opened before were stamped just before
    the write (a fraction of a millisecond earlier): they take the entry's time here."""
    _run(conn, OPENED_AT_SQL)


OPENED_AT_SQL = """
    UPDATE cases SET
        opened_at = first.recorded_at,
        updated_at = CASE WHEN updated_at = opened_at THEN first.recorded_at ELSE updated_at END
    FROM (
        SELECT d.case_id, json_extract(CAST(e.entry AS TEXT), '$.recorded_at') AS recorded_at
        FROM case_decisions AS d JOIN entries AS e ON e.kind = 'decision' AND e.ref = d.decision_id
        WHERE d.seq = 0
    ) AS first
    WHERE first.case_id = cases.case_id AND first.recorded_at IS NOT NULL
"""


def schema_10(conn: sqlite3.Connection) -> None:
    """An obligation no decision lists any more is `lapsed` when its act came after it ended
    (CONTRACT.md: "its stage ended first"); rows stored before took such an act as `met` or
    `late`."""
    for key in acts_after_their_end(conn.execute(LAPSE_CANDIDATES).fetchall()):
        conn.execute(LAPSE.replace("%s", "?"), key)


# Rows that may have been done only after they ended (`acts_after_their_end` tells), and what
# becomes of those that were: the same for SQLite and, `%s` kept, PostgreSQL.
LAPSE_CANDIDATES = (
    "SELECT o.case_id, o.name, o.done_at, o.dropped_at, c.policy FROM case_obligations o"
    " JOIN cases c ON c.case_id = o.case_id WHERE o.status IN ('met', 'late')"
    " AND o.done_at IS NOT NULL AND o.dropped_at IS NOT NULL"
)
LAPSE = (
    "UPDATE case_obligations SET status = 'lapsed', ends_at = dropped_at"
    " WHERE case_id = %s AND name = %s"
)
# The policies' time zones when version 10 was written (a migration reads the store as it was).
MIGRATION_TIMEZONES = {"serco-es": "America/Toronto"}


def acts_after_their_end(candidates: list[tuple]) -> list[tuple[str, str]]:
    """(case_id, name) of each `LAPSE_CANDIDATES` row whose act's instant (a date act: the start
    of its local day in its policy's time zone) is after the instant it ended (`dropped_at`)."""
    if not candidates:
        return []
    # Loaded only for a store with such rows (the rules package takes a tenth of a second).
    from rules.calendar import is_date_only, parse_instant, start_of_local_day

    found = []
    for case_id, name, done_at, dropped_at, policy in candidates:
        zone = MIGRATION_TIMEZONES.get(policy, "Europe/London")
        if is_date_only(done_at):
            act = start_of_local_day(date.fromisoformat(done_at), zone)
        else:
            act = parse_instant(done_at)
        if act > parse_instant(dropped_at):
            found.append((case_id, name))
    return found


def schema_11(conn: sqlite3.Connection) -> None:
    """A key's `created_at` is its `create` entry's `recorded_at` and its `revoked_at` its
    `revoke` entry's, which `redress verify` holds them to. Keys stored before took the time
    of the request (a fraction of a millisecond apart), or, made before key entries existed,
    their own: they take their entries' here, and so do the answers kept for retries of their
    creation (`redated_key_answers`)."""
    _run(conn, KEY_DATES_SQL)
    created = dict(conn.execute(KEY_CREATED).fetchall())
    for row in redated_key_answers(conn.execute(KEPT_ANSWERS).fetchall(), created):
        conn.execute(REDATE_ANSWER.replace("%s", "?"), row)


KEY_DATES_SQL = """
    UPDATE api_keys SET created_at = COALESCE((
        SELECT json_extract(CAST(e.entry AS TEXT), '$.recorded_at') FROM entries AS e
        WHERE e.kind = 'key' AND e.ref = api_keys.key_id
            AND json_extract(CAST(e.entry AS TEXT), '$.body.action') = 'create'
        ORDER BY e.idx LIMIT 1), created_at);
    UPDATE api_keys SET revoked_at = COALESCE((
        SELECT json_extract(CAST(e.entry AS TEXT), '$.recorded_at') FROM entries AS e
        WHERE e.kind = 'key' AND e.ref = api_keys.key_id
            AND json_extract(CAST(e.entry AS TEXT), '$.body.action') = 'revoke'
        ORDER BY e.idx LIMIT 1), revoked_at)
    WHERE revoked_at IS NOT NULL
"""

# The answers kept for retries of a creation that may be a key's (`redated_key_answers` tells),
# and how one is rewritten: the same for SQLite and, `%s` kept, PostgreSQL.
KEPT_ANSWERS = "SELECT owner, key, response FROM idempotency WHERE status = 201"
KEY_CREATED = "SELECT key_id, created_at FROM api_keys"
REDATE_ANSWER = "UPDATE idempotency SET response = %s WHERE owner = %s AND key = %s"
KEY_ANSWER_FIELDS = {"key", "key_id", "role", "name", "created_at"}


def redated_key_answers(answers: list[tuple], created: dict[str, str]) -> list[tuple]:
    """(response, owner, key) of each kept `POST /v1/keys` answer among `answers` (owner, key,
    response) whose `created_at` is not its key's in `created`: the answer with its key's date,
    its other bytes as they were (a retry is answered with them)."""
    import json

    found = []
    for owner, key, response in answers:
        raw = bytes(response)
        if b'"role":' not in raw:
            continue  # a decision's or a case's: most of them, not parsed
        try:
            answer = json.loads(raw)
        except ValueError:
            continue  # `verify` names it
        if not isinstance(answer, dict) or set(answer) != KEY_ANSWER_FIELDS:
            continue
        date = created.get(answer["key_id"])
        if isinstance(date, str) and answer["created_at"] != date:
            old = b'"created_at":' + json.dumps(answer["created_at"]).encode()
            new = b'"created_at":' + json.dumps(date).encode()
            found.append((raw.replace(old, new, 1), owner, key))
    return found


def schema_12(conn: sqlite3.Connection) -> None:
    """A register row keeps the times its obligation was not listed before a later decision
    listed it again (`gaps`, JSON text): it was not overdue then. Rows stored before have none;
    `redress cases check` names a case that had such a time, and `redress cases rebuild`
    derives them from the ledger."""
    _run(conn, GAPS_SQL)


GAPS_SQL = "ALTER TABLE case_obligations ADD COLUMN gaps TEXT"


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    schema_1,
    schema_2,
    schema_3,
    schema_4,
    schema_5,
    schema_6,
    schema_7,
    schema_8,
    schema_9,
    schema_10,
    schema_11,
    schema_12,
]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the store to `SCHEMA_VERSION`; refuse one that is newer (`SchemaTooNew`)."""
    migrate_locked(
        conn,
        read_version=schema_version,
        upto=SCHEMA_VERSION,
        known=SCHEMA_VERSION,
        holder="the store's",
        begin="BEGIN IMMEDIATE",
        lock=None,
        step=_steps,
    )


def _steps(conn: sqlite3.Connection, version: int) -> None:
    try:
        for step in MIGRATIONS[version:]:
            step(conn)
    except sqlite3.OperationalError as exc:
        # A step meeting what it adds (a column, a table): the steps were taken already.
        if version and ("duplicate column" in str(exc) or "already exists" in str(exc)):
            raise set_back() from None
        raise
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
