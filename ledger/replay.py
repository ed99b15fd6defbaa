"""Replay: take every recorded decision again, from nothing but the ledger's own entries.

Each `decision` entry is re-evaluated with the ruleset document of the `policy` entry for its
version, on the facts and `as_of` it recorded; any difference in version, outcome or reasons is
reported. A case's decision carries `new` on each action, against the case's previous decision
(`cases.mark_new_actions`); replay marks the re-evaluated actions the same way. Replay does not
check hashes (that is `verify`): it shows whether the decisions are the ones the named rules
produce.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

import msgspec

import rules
from cases.events import mark_new_actions
from ledger.canonical import parse_entry


class Mismatch(msgspec.Struct, frozen=True):
    index: int
    decision_id: str
    fields: list[str]
    detail: str


class ReplayReport(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    summary: str
    replayed: int
    mismatches: list[Mismatch]


def _entries(db_path: Path) -> list[dict]:
    with Path(db_path).open("rb") as f:
        is_database = f.read(16).startswith(b"SQLite format 3")
    if not is_database:
        return _export_entries(Path(db_path))
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return [
            parse_entry(stored_bytes(index, raw))
            for index, raw in conn.execute("SELECT idx, entry FROM entries ORDER BY idx")
        ]
    finally:
        conn.close()


def stored_bytes(index: int, raw: object) -> bytes:
    """An entry's stored bytes; `ValueError` when the store holds something else there (text
    written over it with the sqlite3 shell, say), which `verify` reports as damage."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise ValueError(f"entry {index} is not stored as bytes: run `redress verify`")
    return bytes(raw)


def _export_entries(path: Path) -> list[dict]:
    """The entry documents of a `redress export` file, read as `verify` reads it."""
    from ledger.export import read_export_file

    try:
        entries = read_export_file(path).entries
    except (ValueError, KeyError, IndexError) as e:
        raise ValueError(
            f"{path} is neither a ledger database nor a `redress export` file ({e})"
        ) from None
    return [parse_entry(raw) for _, raw in entries]


def replay_decision(
    entry: dict, documents: dict[str, dict], previous: dict | None = None
) -> Mismatch | None:
    """The difference between a decision entry and what its policy decides today, if any.
    `previous` is the body of the case's decision before this one (a case's decisions carry
    `new` on their actions; None for a case's first decision or a case-less one)."""
    body = entry["body"]
    index, decision_id = entry["index"], body["decision_id"]
    document = documents.get(body["policy_version"])
    if document is None:
        detail = f"no policy entry for version {body['policy_version']} precedes it"
        return Mismatch(index, decision_id, ["policy_version"], detail)
    try:
        again = rules.evaluate_ruleset(document, body["facts"], body["as_of"])
    except Exception as e:  # noqa: BLE001 - any failure to re-decide is a finding, not a crash
        return Mismatch(index, decision_id, ["facts"], f"re-evaluation failed: {e!r}")
    outcome = msgspec.to_builtins(again.outcome)
    if body.get("case_id") is not None and _marks_new(body):
        outcome = mark_new_actions(previous, {"outcome": outcome})["outcome"]
    recomputed = {
        "policy_version": again.policy_version,
        "outcome": outcome,
        "reasons": msgspec.to_builtins(again.reasons),
    }
    differing = [name for name, value in recomputed.items() if body.get(name) != value]
    if not differing:
        return None
    detail = "; ".join(
        f"{name}: recorded {body.get(name)!r}, replayed {recomputed[name]!r}" for name in differing
    )
    return Mismatch(index, decision_id, differing, detail)


def _marks_new(body: dict) -> bool:
    """Whether the decision was recorded with `new` on its actions (case decisions recorded
    before `new` existed have none, and replay in their own shape)."""
    actions = body["outcome"].get("actions") or []
    return any("new" in action for action in actions) or not actions


def replay(db_path: Path) -> ReplayReport:
    """Re-evaluate every decision in the ledger at `db_path` (a database, or an export)."""
    return replay_entries(_entries(Path(db_path)))


def replay_entries(entries: Iterable[dict]) -> ReplayReport:
    """Re-evaluate every decision among `entries` (parsed, in index order)."""
    documents: dict[str, dict] = {}
    mismatches: list[Mismatch] = []
    replayed = 0
    latest: dict[str, dict] = {}  # each case's decision so far
    for entry in entries:
        if entry["kind"] == "policy":
            documents[entry["body"]["policy_version"]] = entry["body"]["ruleset"]
        elif entry["kind"] == "decision":
            replayed += 1
            case_id = entry["body"].get("case_id")
            previous = latest.get(case_id) if case_id is not None else None
            if case_id is not None:
                latest[case_id] = entry["body"]
            found = replay_decision(entry, documents, previous)
            if found is not None:
                mismatches.append(found)
    if mismatches:
        first = mismatches[0]
        summary = (
            f"{len(mismatches)} of {replayed} decisions differ on replay; first at entry "
            f"{first.index} ({first.decision_id}): {', '.join(first.fields)}"
        )
    else:
        noun = "decision" if replayed == 1 else "decisions"
        summary = f"ok: {replayed} {noun} replayed, each identical to what was recorded"
    return ReplayReport(
        ok=not mismatches, summary=summary, replayed=replayed, mismatches=mismatches
    )
