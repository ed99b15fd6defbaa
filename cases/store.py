"""`CaseStore`: cases in the shared `redress.db` (tables prefixed `case_`).

A case keeps its policy, its current facts (merged from events), its decision ids, and the
deadlines still open after its latest decision. Each deadline row also holds the UTC instant it
passes (a date due passes at the end of its local day, in the policy's time zone), so the overdue
query is one indexed comparison per policy.

Several worker processes share the file, so an event on a case (read facts, merge, decide,
record) runs under a per-case lock that holds across processes: `CaseStore.locked`.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import threading
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from ledger import DB_FILE
from rules.calendar import start_of_local_day
from schemas.decision import Deadline, Decision

LOCK_FILE = "cases.lock"
LOCK_SLOTS = 256
INSTANT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class CaseRecord:
    """A case as stored."""

    case_id: str
    policy: str
    facts: dict[str, Any]
    personal: str
    personal_commitment: str | None
    decision_ids: list[str]
    open_deadlines: list[Deadline]
    created_at: str
    updated_at: str


def merge_facts(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The facts after an event: changed keys replace, a key given as null removes the fact."""
    merged = dict(current)
    for name, value in changes.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def deadline_passes_at(due: str, timezone: str) -> datetime:
    """The UTC instant a deadline passes: a date when its local day is over (the next one
    begins), a date-time as is."""
    if len(due) == 10:
        return start_of_local_day(date.fromisoformat(due) + timedelta(days=1), timezone)
    return datetime.fromisoformat(due).astimezone(UTC)


def lock_slot(case_id: str) -> int:
    """The byte of `cases.lock` that stands for this case (cases may share one)."""
    return zlib.crc32(case_id.encode()) % LOCK_SLOTS


def utc_text(instant: datetime) -> str:
    """Fixed-width UTC text, so instants compare correctly as strings in SQL."""
    return instant.astimezone(UTC).strftime(INSTANT)


def now_text() -> str:
    return utc_text(datetime.now(UTC))


class CaseStore:
    """Cases of one data directory; safe to share between threads of one process."""

    def __init__(self, data_dir: Path, timezones: Mapping[str, str]) -> None:
        """`timezones` maps each policy id to its IANA time zone (for deadlines' local days)."""
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DB_FILE
        self.timezones = dict(timezones)
        self._local = threading.local()
        self._lock_file = open(data_dir / LOCK_FILE, "a+b")  # noqa: SIM115 (kept for life)
        self._slot_locks = [threading.Lock() for _ in range(LOCK_SLOTS)]
        self._create_tables()

    def _db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            db = self._local.db = sqlite_utils.Database(connection)
        return db

    def _create_tables(self) -> None:
        db = self._db()
        db["case_cases"].create(
            {
                "case_id": str,
                "policy": str,
                "facts": str,
                "personal": str,
                "personal_commitment": str,
                "created_at": str,
                "updated_at": str,
            },
            pk="case_id",
            if_not_exists=True,
        )
        db["case_decisions"].create(
            {"case_id": str, "seq": int, "decision_id": str},
            pk=("case_id", "seq"),
            if_not_exists=True,
        )
        db["case_deadlines"].create(
            {"case_id": str, "name": str, "due": str, "rule": str, "passes_at": str},
            if_not_exists=True,
        )
        db["case_deadlines"].create_index(["passes_at"], if_not_exists=True)
        db["case_deadlines"].create_index(["case_id"], if_not_exists=True)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite_utils.Database]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @contextmanager
    def locked(self, case_id: str) -> Iterator[None]:
        """Hold the case's lock (across threads and processes) for a read-decide-write cycle.

        POSIX record locks belong to the process, so a thread lock per slot excludes the other
        threads of this process, and a byte-range lock on the shared file the other processes.
        """
        slot = lock_slot(case_id)
        with self._slot_locks[slot]:
            fcntl.lockf(self._lock_file, fcntl.LOCK_EX, 1, slot)
            try:
                yield
            finally:
                fcntl.lockf(self._lock_file, fcntl.LOCK_UN, 1, slot)

    def create(
        self,
        case_id: str,
        facts: dict[str, Any],
        decision: Decision,
        personal_commitment: str | None,
    ) -> None:
        """Store a new case with its first decision (already recorded in the ledger)."""
        stamp = now_text()
        with self._transaction() as db:
            db["case_cases"].insert(
                {
                    "case_id": case_id,
                    "policy": decision.policy,
                    "facts": json.dumps(facts),
                    "personal": "sealed" if personal_commitment else "none",
                    "personal_commitment": personal_commitment,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
            self._add_decision(db, case_id, decision)

    def record_event(self, case_id: str, facts: dict[str, Any], decision: Decision) -> None:
        """Replace a case's facts and open deadlines after a new decision on it."""
        with self._transaction() as db:
            db["case_cases"].update(case_id, {"facts": json.dumps(facts), "updated_at": now_text()})
            self._add_decision(db, case_id, decision)

    def _add_decision(self, db: sqlite_utils.Database, case_id: str, decision: Decision) -> None:
        (seq,) = db.execute(
            "SELECT COUNT(*) FROM case_decisions WHERE case_id = ?", [case_id]
        ).fetchone()
        db["case_decisions"].insert(
            {"case_id": case_id, "seq": seq, "decision_id": decision.decision_id}
        )
        db.execute("DELETE FROM case_deadlines WHERE case_id = ?", [case_id])
        timezone = self.timezones[decision.policy]
        db["case_deadlines"].insert_all(
            (
                {
                    "case_id": case_id,
                    "name": d.name,
                    "due": d.due,
                    "rule": d.rule,
                    "passes_at": utc_text(deadline_passes_at(d.due, timezone)),
                }
                for d in decision.outcome.deadlines
            ),
            pk=None,
        )

    def mark_erased(self, case_id: str) -> None:
        """Record that the case's personal data was erased (its key destroyed in the ledger)."""
        with self._transaction() as db:
            db["case_cases"].update(
                case_id,
                {"personal": "erased", "personal_commitment": None, "updated_at": now_text()},
            )

    def get(self, case_id: str) -> CaseRecord | None:
        """The case, or None when there is none by that id."""
        rows = list(self._db().query("SELECT * FROM case_cases WHERE case_id = ?", [case_id]))
        return self._record(rows[0]) if rows else None

    def _record(self, row: dict[str, Any]) -> CaseRecord:
        db = self._db()
        decision_ids = [
            r["decision_id"]
            for r in db.query(
                "SELECT decision_id FROM case_decisions WHERE case_id = ? ORDER BY seq",
                [row["case_id"]],
            )
        ]
        deadlines = [
            Deadline(name=r["name"], due=r["due"], rule=r["rule"])
            for r in db.query(
                "SELECT name, due, rule FROM case_deadlines WHERE case_id = ? "
                "ORDER BY passes_at, name",
                [row["case_id"]],
            )
        ]
        return CaseRecord(
            case_id=row["case_id"],
            policy=row["policy"],
            facts=json.loads(row["facts"]),
            personal=row["personal"],
            personal_commitment=row["personal_commitment"],
            decision_ids=decision_ids,
            open_deadlines=deadlines,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def find(
        self, policy: str | None = None, overdue_as_of: date | None = None
    ) -> list[CaseRecord]:
        """Cases, oldest first; only `policy`'s when given; only those with an open deadline that
        passed before the start of `overdue_as_of` (local to each policy) when given."""
        policies = [policy] if policy is not None else sorted(self.timezones)
        found: list[dict[str, Any]] = []
        for pid in policies:
            if overdue_as_of is None:
                sql, params = "SELECT * FROM case_cases WHERE policy = ?", [pid]
            else:
                cutoff = utc_text(start_of_local_day(overdue_as_of, self.timezones[pid]))
                sql = (
                    "SELECT * FROM case_cases WHERE policy = ? AND case_id IN "
                    "(SELECT case_id FROM case_deadlines WHERE passes_at <= ?)"
                )
                params = [pid, cutoff]
            found.extend(self._db().query(sql, params))
        found.sort(key=lambda r: (r["created_at"], r["case_id"]))
        return [self._record(r) for r in found]
