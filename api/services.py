"""What the handlers work with: the store of one data dir with the ledger, cases, key ring and
write workflows over it, opened once per worker process at start-up and given to handlers by
dependency injection (`services: NamedDependency[Services]`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rules
from api.bodies import evaluate
from cases import CaseStore
from keys import KeyRing
from ledger.store import Ledger
from schemas.decision import Decision, RecordedDecision
from service import Workflows
from service.workflows import new_id
from store import Store, open_store


@dataclass
class Services:
    """The stores of one data directory, shared by the threads of one worker process."""

    data_dir: Path
    store: Store
    ledger: Ledger
    cases: CaseStore
    keys: KeyRing
    workflows: Workflows
    rulesets: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def open(cls, data_dir: Path) -> Services:
        timezones = {p.id: p.timezone for p in rules.policy_summaries()}
        rulesets = {p: rules.ruleset_document(p) for p in rules.policy_ids()}
        store = open_store(data_dir)
        ledger = Ledger.open(data_dir, store)
        cases = CaseStore(store, timezones)
        return cls(
            data_dir=data_dir,
            store=store,
            ledger=ledger,
            cases=cases,
            keys=KeyRing(store),
            workflows=Workflows(store, ledger, cases, rulesets, timezones),
            rulesets=rulesets,
        )

    def close(self) -> None:
        self.store.close()

    def store_writable(self) -> bool:
        """True when the store takes a write lock now (the disk is writable and not stuck)."""
        return self.store.writable()

    def record(self, decision: Decision, facts: dict[str, Any]) -> RecordedDecision:
        """Give the decision its id and append it to the ledger; returns once it is durable."""
        return self.workflows.decide(decision, facts)


def app_services(app: Any) -> Services:
    """The services the API's app (`api.app.RedressApp`) opened at start-up, as a plain
    attribute: Litestar's `State` finds one through `__getattr__` and a try block (~0.5 µs),
    and a decision looked it up three times on the event loop."""
    services = app.services
    assert services is not None, "a request before the app started"
    return services


__all__ = ["Services", "app_services", "evaluate", "new_id"]
