"""`Workflows` writes, blocking or awaited: a policy version's entry is appended with the first
decision taken under it, once, however many workers decide (`Workflows` remembers which versions
its committed writes found or appended, and stops looking for them); a request cancelled while it
awaits the writer neither cancels its job nor breaks its batch."""

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


def test_a_cancelled_request_leaves_its_write_to_finish_and_its_batch_answered(tmp_path):
    """A request cancelled while it waits for the writer (its client gone, a server stopping)
    must not cancel its job: the job commits with its batch, and the others in the batch are
    answered with their receipts."""
    services = Services.open(tmp_path)
    try:
        decision = rules.evaluate("wme", FACTS, AS_OF)

        async def cancel_one_of_many() -> list:
            waiting = [
                asyncio.ensure_future(services.workflows.decide_async(decision, FACTS))
                for _ in range(8)
            ]
            await asyncio.sleep(0)  # every job is submitted
            waiting[0].cancel()
            return await asyncio.gather(*waiting[1:])

        recorded = asyncio.run(cancel_one_of_many())
        later = services.workflows.decide(decision, FACTS)
        kinds = [parse_entry(bytes(raw))["kind"] for _, raw, _ in services.store.iter_entries()]
    finally:
        services.close()
    assert len({r.decision_id for r in recorded}) == 7
    assert later.ledger.index == len(kinds) - 1
    assert Counter(kinds)["decision"] == 9  # the cancelled request's decision was recorded too
