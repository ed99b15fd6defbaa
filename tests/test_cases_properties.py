"""Properties of a case's life, through the service (`service.Workflows`, the real rules, a real
SQLite store) rather than HTTP, for speed: random histories of events on every policy.

Issue 8, "Must show": "no obligation ever leaves a case's register; a case is closed only when
nothing is open or overdue". And every action on a case's decision carries `new`, true exactly
when the case's previous decision did not owe it.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec
from case_walks import MENUS, walk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rules
from cases import CaseStore, registers_from_entries
from cases.rebuild import check
from ledger.store import Ledger
from service import Workflows
from store import open_store

TIMEZONES = {p.id: p.timezone for p in rules.policy_summaries()}
RULESETS = {p: rules.ruleset_document(p) for p in rules.policy_ids()}


@contextmanager
def workflows() -> Iterator[Workflows]:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp))
        ledger = Ledger.open(Path(tmp), store)
        try:
            yield Workflows(store, ledger, CaseStore(store, TIMEZONES), RULESETS, TIMEZONES)
        finally:
            store.close()


def owed(decision) -> set[tuple[str, str | None]]:
    return {(a.code, a.detail) for a in decision.outcome.actions}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(
    policy=st.sampled_from(sorted(MENUS)),
    seed=st.integers(0, 2**32 - 1),
    steps=st.integers(1, 12),
)
def test_no_obligation_leaves_the_register_and_closed_means_nothing_pending(policy, seed, steps):
    first, events = walk(random.Random(seed), policy, steps)
    with workflows() as flows:
        decision = rules.evaluate(policy, first["facts"], first["as_of"])
        opened, recorded = flows.open_case(decision, first["facts"])
        case_id = opened.case_id
        assert all(a.new for a in recorded.outcome.actions)
        before = flows.cases.get(case_id)
        previous = recorded
        for as_of, facts in events:
            try:
                recorded = flows.apply_event(case_id, facts, as_of, rules.evaluate)
            except rules.InputError:
                continue
            after = flows.cases.get(case_id)
            names_before = [r["name"] for r in before.obligations]
            names_after = [r["name"] for r in after.obligations]
            # No obligation ever leaves the register, and the order first listed stays.
            assert names_after[: len(names_before)] == names_before
            # A row no decision lists any more never goes back to pending without a listing.
            listed = {d.name for d in recorded.outcome.deadlines if d.kind == "obligation"}
            for row in after.obligations:
                if row["name"] not in listed:
                    assert row["status"] in ("met", "late", "lapsed")
            # Closed only when nothing is open or overdue, and only on an ending disposition.
            pending = [r for r in after.obligations if r["status"] in ("open", "overdue")]
            if after.state == "closed":
                assert not pending
                assert recorded.outcome.disposition in (
                    "close",
                    "refer",
                    "out_of_jurisdiction",
                    "not_eligible",
                )
            # `new`: true exactly when the previous decision did not owe the action.
            for action in recorded.outcome.actions:
                assert action.new == ((action.code, action.detail) not in owed(previous))
            previous, before = recorded, after
        # And the register is the ledger's: a rebuild from the decisions alone agrees.
        assert check(flows.store, TIMEZONES) is None
        entries = (
            {"kind": kind, "recorded_at": "", "body": msgspec.json.decode(raw)["body"]}
            for _, raw, _ in flows.store.iter_entries()
            for kind in [msgspec.json.decode(raw)["kind"]]
        )
        rebuilt = registers_from_entries(entries, timezones=TIMEZONES)[case_id]
        stored = flows.cases.get(case_id)
        assert rebuilt["state"] == stored.state
        assert [r["status"] for r in rebuilt["rows"]] == [r["status"] for r in stored.obligations]
