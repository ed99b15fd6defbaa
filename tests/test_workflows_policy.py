"""A policy version's entry is appended with the first decision taken under it, once, however
many workers decide and however they await the writer (`Workflows` remembers which versions its
committed writes found or appended, and stops looking for them)."""

from __future__ import annotations

import asyncio
from collections import Counter

import rules
from api.services import Services
from ledger.canonical import parse_entry

FACTS = {"received_at": "2025-12-23", "kind": "complaint", "category": "misconduct"}
AS_OF = "2025-12-24T09:00:00Z"


def test_each_policy_version_is_in_the_ledger_once_before_its_decisions(tmp_path):
    first, second = Services.open(tmp_path), Services.open(tmp_path)  # two workers
    try:
        decision = rules.evaluate("wme", FACTS, AS_OF)
        for services in (first, second, first, second):
            services.workflows.decide(decision, FACTS)

        async def decide_concurrently() -> None:
            await asyncio.gather(
                *(s.workflows.decide_async(decision, FACTS) for s in (first, second) * 4)
            )

        asyncio.run(decide_concurrently())
        kinds = [parse_entry(bytes(raw))["kind"] for _, raw, _ in first.store.iter_entries()]
    finally:
        first.close()
        second.close()
    assert Counter(kinds)["policy"] == 1
    assert Counter(kinds)["decision"] == 12
    assert kinds.index("policy") < kinds.index("decision")
