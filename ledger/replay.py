"""Replay: take every recorded decision again, from nothing but the ledger's own entries.

Each `decision` entry is re-evaluated with the ruleset document of the `policy` entry for its
version, on the facts and `as_of` it recorded; any difference in version, outcome or reasons is
reported. Replay does not check hashes (that is `verify`): it shows whether the decisions are the
ones the named rules produce.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec

import rules
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
    if not Path(db_path).read_bytes()[:16].startswith(b"SQLite format 3"):
        return _export_entries(Path(db_path))
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return [
            parse_entry(bytes(raw))
            for (raw,) in conn.execute("SELECT entry FROM entries ORDER BY idx")
        ]
    finally:
        conn.close()


def _export_entries(path: Path) -> list[dict]:
    """The entry documents of a `redress export` file (each as its canonical bytes parse)."""
    import json

    import rfc8785

    from ledger.export import EXPORT_TYPE

    with path.open(encoding="utf-8") as lines:
        if json.loads(next(lines, "{}")).get("type") != EXPORT_TYPE:
            raise ValueError(f"{path} is neither a ledger database nor a `redress export` file")
        items = (json.loads(line) for line in lines if line.strip())
        return [parse_entry(rfc8785.dumps(i["entry"])) for i in items if i["type"] == "entry"]


def replay_decision(entry: dict, documents: dict[str, dict]) -> Mismatch | None:
    """The difference between a decision entry and what its policy decides today, if any."""
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
    recomputed = {
        "policy_version": again.policy_version,
        "outcome": msgspec.to_builtins(again.outcome),
        "reasons": msgspec.to_builtins(again.reasons),
    }
    differing = [name for name, value in recomputed.items() if body.get(name) != value]
    if not differing:
        return None
    detail = "; ".join(
        f"{name}: recorded {body.get(name)!r}, replayed {recomputed[name]!r}" for name in differing
    )
    return Mismatch(index, decision_id, differing, detail)


def replay(db_path: Path) -> ReplayReport:
    """Re-evaluate every decision in the ledger at `db_path` (a database, or an export)."""
    documents: dict[str, dict] = {}
    mismatches: list[Mismatch] = []
    replayed = 0
    for entry in _entries(Path(db_path)):
        if entry["kind"] == "policy":
            documents[entry["body"]["policy_version"]] = entry["body"]["ruleset"]
        elif entry["kind"] == "decision":
            replayed += 1
            found = replay_decision(entry, documents)
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
