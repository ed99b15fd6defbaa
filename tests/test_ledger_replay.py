"""Replay: every recorded decision is taken again from the ledger's own `policy` entries."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import msgspec
import pytest
import rfc8785

import rules
from ledger.replay import replay
from ledger.store import DuplicateDecision, Ledger
from ledger.verify import verify

COMPLIMENT = {"received_at": "2026-03-02", "kind": "compliment"}
CONCERN = {"received_at": "2026-12-24", "kind": "concern"}


def record(ledger: Ledger, facts: dict, as_of: str, case_id: str | None = None):
    decision = rules.evaluate("wme", facts, as_of)
    if case_id is not None:
        decision = type(decision)(**{**_fields(decision), "case_id": case_id})
    return ledger.record_decision(rules.ruleset_document("wme"), decision, facts)


def _fields(decision) -> dict:
    return {f: getattr(decision, f) for f in decision.__struct_fields__}


def test_the_first_decision_under_a_version_brings_its_ruleset(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    first = record(ledger, COMPLIMENT, "2026-03-02T12:00:00Z")
    second = record(ledger, CONCERN, "2026-12-24T15:00:00Z")
    kinds = [e.kind for e in ledger.entries(0, 10)]
    assert kinds == ["key", "policy", "decision", "decision"]
    policy = ledger.entry(1).body
    assert policy["ruleset"] == rules.ruleset_document("wme")
    version = "sha256:" + hashlib.sha256(rfc8785.dumps(policy["ruleset"])).hexdigest()
    assert policy["policy_version"] == version
    assert (first.index, second.index) == (2, 3)


def test_a_recorded_decision_reads_back_with_its_receipt(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    decision = rules.evaluate("wme", COMPLIMENT, "2026-03-02T12:00:00Z")
    receipt = ledger.record_decision(rules.ruleset_document("wme"), decision, COMPLIMENT)
    decision_id = ledger.entry(receipt.index).body["decision_id"]
    recorded = ledger.decision(decision_id)
    assert recorded is not None
    assert recorded.outcome == decision.outcome and recorded.reasons == decision.reasons
    assert recorded.ledger.index == receipt.index
    assert recorded.ledger.entry_hash == receipt.entry_hash
    assert ledger.decision("no-such-decision") is None


def test_the_same_decision_id_cannot_be_recorded_twice(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    decision = rules.evaluate("wme", COMPLIMENT, "2026-03-02T12:00:00Z")
    decision = type(decision)(**{**_fields(decision), "decision_id": "d-1"})
    ledger.record_decision(rules.ruleset_document("wme"), decision, COMPLIMENT)
    with pytest.raises(DuplicateDecision):
        ledger.record_decision(rules.ruleset_document("wme"), decision, COMPLIMENT)
    assert ledger.tree_size() == 3


def test_an_honest_ledger_replays_clean(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    record(ledger, COMPLIMENT, "2026-03-02T12:00:00Z")
    record(ledger, CONCERN, "2026-12-24T15:00:00Z", case_id="case-1")
    report = replay(tmp_path / "redress.db")
    assert report.ok, report.summary
    assert report.replayed == 2 and report.mismatches == []


def test_an_edited_outcome_with_hashes_recomputed_is_reported(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    record(ledger, COMPLIMENT, "2026-03-02T12:00:00Z")
    record(ledger, CONCERN, "2026-12-24T15:00:00Z")
    with sqlite3.connect(tmp_path / "redress.db", isolation_level=None) as conn:
        raw = conn.execute("SELECT entry FROM entries WHERE idx = 3").fetchone()[0]
        document = json.loads(raw)
        document["body"]["outcome"]["disposition"] = "close"
        raw = rfc8785.dumps(document)
        conn.execute(
            "UPDATE entries SET entry = ?, entry_hash = ? WHERE idx = 3",
            (raw, hashlib.sha256(raw).hexdigest()),
        )
    report = replay(tmp_path / "redress.db")
    assert not report.ok
    assert [(m.index, m.fields) for m in report.mismatches] == [(3, ["outcome"])]
    # verify sees it too: the tree hash stored when entry 3 was appended no longer matches.
    checked = verify(tmp_path / "redress.db")
    assert (checked.damage, checked.first_bad_index) == ("rewritten", 3)


def test_an_entry_overwritten_as_text_is_named_not_a_traceback(tmp_path: Path, capsys) -> None:
    """The sqlite3 shell's `replace()` turns an entry's bytes into text: `redress replay` says
    which entry and exits 2, as it does for other damage, and `verify` says what is wrong."""
    from redress.cli import main

    ledger = Ledger.open(tmp_path)
    record(ledger, COMPLIMENT, "2026-03-02T12:00:00Z")
    ledger.close()
    with sqlite3.connect(tmp_path / "redress.db", isolation_level=None) as conn:
        conn.execute("UPDATE entries SET entry = CAST(entry AS TEXT) WHERE idx = 2")
    assert main(["replay", "--data-dir", str(tmp_path)]) == 2
    assert "entry 2 is not stored as bytes" in capsys.readouterr().err
    assert not verify(tmp_path / "redress.db").ok


def test_after_erasure_the_ledger_verifies_and_replays(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    commitment = ledger.seal_personal("case-1", {"name": "Ada", "phone": "01632 960000"})
    decision = rules.evaluate("wme", CONCERN, "2026-12-24T15:00:00Z")
    decision = type(decision)(**{**_fields(decision), "case_id": "case-1"})
    receipt = ledger.record_decision(
        rules.ruleset_document("wme"), decision, CONCERN, personal_commitment=commitment
    )
    assert ledger.entry(receipt.index).body["personal_commitment"] == commitment
    ledger.checkpoint()
    ledger.erase_personal("case-1")
    assert ledger.open_personal("case-1") is None
    assert verify(tmp_path / "redress.db", public_key=ledger.verifier_key).ok
    assert replay(tmp_path / "redress.db").ok


def test_a_decision_that_cannot_be_hashed_leaves_no_policy_entry_behind(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    decision = rules.evaluate("wme", COMPLIMENT, "2026-03-02T12:00:00Z")
    with pytest.raises(ValueError, match="fractional number"):
        ledger.record_decision(rules.ruleset_document("wme"), decision, {"score": 1.5})
    assert ledger.tree_size() == 1


# Decisions under each version-1 document, as a ledger written before version 2 holds them.
V1_DECISIONS = [
    ("wme", {"received_at": "2026-03-02", "kind": "concern", "category": "fraud"}),
    (
        "wme",
        {
            "received_at": "2026-03-16",
            "kind": "complaint",
            "stage_two_outcome_at": "2026-04-02",
            "appeal_requested_at": "2026-04-10",
        },
    ),
    (
        "dwp-feedback",
        {
            "received_at": "2026-05-01",
            "escalation_causes": ["failed_to_keep_promises"],
            "issue_occurred_at": "2025-11-20",
            "caseworkers": [{"id": "cw-1", "last_opportunity_at": "2026-04-01"}],
            "form_received_at": "2026-05-05T14:30:00+01:00",
        },
    ),
    (
        "cmg-employer-review",
        {
            "received_at": "2026-06-01",
            "complainant_type": "employer",
            "payment_related": True,
            "open_complaint_exists": True,
        },
    ),
    (
        "serco-es",
        {
            "received_at": "2026-02-02",
            "complainant_type": "service_provider",
            "level": "senior",
            "unresolved_at_level": True,
        },
    ),
]


def test_decisions_recorded_under_version_1_documents_replay_clean_with_version_2_code(
    tmp_path: Path,
) -> None:
    """POLICIES.md version 2 changes what the rules decide, but a decision recorded under a
    version-1 document replays under that stored document exactly as it was recorded."""
    from rules.policies import archive

    ledger = Ledger.open(tmp_path)
    as_of = "2026-06-20T12:00:00Z"
    for policy, facts in V1_DECISIONS:
        document = archive.load(policy, 1)
        decision = rules.evaluate_ruleset(document, facts, as_of)
        ledger.record_decision(document, decision, facts)
        # The same facts decide differently today (every example meets a version 2 change)...
        today = rules.evaluate(policy, facts, as_of)
        assert msgspec.to_builtins(today.outcome) != msgspec.to_builtins(decision.outcome)
    # ...and decisions under the version 2 documents sit in the same ledger.
    for policy, facts in V1_DECISIONS:
        ledger.record_decision(
            rules.ruleset_document(policy), rules.evaluate(policy, facts, as_of), facts
        )
    stored = [e.body for e in ledger.entries(0, 100) if e.kind == "decision"]
    assert "kind" not in stored[0]["outcome"]["deadlines"][0]
    assert "kind" in stored[len(V1_DECISIONS)]["outcome"]["deadlines"][0]
    report = replay(tmp_path / "redress.db")
    assert report.ok, report.summary
    assert report.replayed == 2 * len(V1_DECISIONS)
    # A version 1 decision also reads back from the ledger in its own shape.
    first = ledger.decision(stored[0]["decision_id"])
    assert first is not None and first.outcome.deadlines[0].kind is msgspec.UNSET
