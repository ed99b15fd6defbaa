"""`Workflows`: each write the API makes, as one job for the store's writer.

The expensive parts (rules, canonical encoding, sealing, the case's register) run in the
caller's thread before the job is submitted; the job itself only checks the case version and
writes rows, so the writer's transaction stays short.

A case's decisions go through here only: its first (`open_case`) and one per event
(`apply_event`). Each carries `new` on every action (`cases.mark_new_actions`, against the
case's previous decision) and the case's `purpose`; the case's register (`cases.register_after`
over the decision entry's own body, so the live register is what a rebuild from the ledger
gives) and `state` (`cases.case_state`) are written with the decision entry, in one transaction,
as is every decision's row in the decision index (`reports.index`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import msgspec

import clock
from cases import case_state, mark_new_actions, merge_event, register_after
from cases.store import CaseRecord, CaseStore, case_record, route_text, stored_rows
from ledger import personal
from ledger.canonical import canonical_decision_body, decision_bodies_ready
from ledger.store import (
    Ledger,
    append_decision,
    append_erasure,
    as_receipt,
    decision_body,
    policy_body,
    stored_body,
)
from reports.index import IndexEntry, index_entry
from schemas.decision import Action, Decision, Receipt, RecordedDecision
from service.idempotency import Once
from service.ids import ordered_id
from store import AppendReceipt, Store, StoreBusy, VersionConflict, WriteTx
from store.base import BUSY_WAIT_S, as_written


def conflict_pauses() -> Iterator[float]:
    """The pauses between attempts of a write that found its case changed under it, for as
    long as a write waits for a busy store (BUSY_WAIT_S). A batch commits only one of several
    events racing on one case, so each loser waits a random pause that doubles up to 50 ms:
    the racers spread out and each gets its turn (25 short pauses could starve one of eight)."""
    deadline = time.monotonic() + BUSY_WAIT_S
    ceiling = 0.002
    while time.monotonic() < deadline:
        yield random.uniform(0, ceiling)
        ceiling = min(ceiling * 2, 0.05)


Evaluate = Callable[[str, dict[str, Any], str | None], Decision]
Job = Callable[[WriteTx], AppendReceipt]


class CaseNotFound(LookupError):
    """No case has that id."""


class NothingToErase(LookupError):
    """The case's personal data was erased already."""

    def __init__(self, case: CaseRecord) -> None:
        super().__init__(f"case {case.case_id} holds no personal data ({case.personal})")
        self.case = case


def new_id() -> str:
    """An identifier for decisions and cases: 128 bits, lowercase hex, time first so that
    the store's indexes on them grow at their end (`service.ids.ordered_id`)."""
    return ordered_id()


def stage_and_route(decision: Decision) -> dict[str, str | None]:
    """The case row's copies of the latest stage and route (a structured route as JSON text)."""
    return {name: route_text(getattr(decision.outcome, name, None)) for name in ("stage", "route")}


def with_new_actions(previous: Mapping[str, Any] | None, decision: Decision) -> Decision:
    """`decision` with `new` on every action, against the case's previous decision (None for
    its first: every action is new)."""
    marked = mark_new_actions(previous, {"outcome": msgspec.to_builtins(decision.outcome)})
    actions = msgspec.convert(marked["outcome"]["actions"], list[Action])
    return msgspec.structs.replace(
        decision, outcome=msgspec.structs.replace(decision.outcome, actions=actions)
    )


def case_write(
    row: dict[str, Any],
    version: int | None,
    decision: Decision,
    body: bytes,
    policy: bytes | None,
    obligations: list[dict[str, Any]],
    sealed: tuple[bytes, str, bytes] | None = None,
) -> Callable[[WriteTx], AppendReceipt]:
    """The job that writes a case after a decision: its row (new when `version` is None, else
    only if still at `version`), the decision entry, the decision's place in the case, the
    register and any sealed personal data (key, commitment, ciphertext)."""
    case_id = row["case_id"]

    def job(tx: WriteTx) -> AppendReceipt:
        if version is None:  # inserts only, which the writer may make with its batch's others
            # Opened when its first decision is recorded: `verify` derives it from that entry.
            row["opened_at"] = row["updated_at"] = tx.recorded_at()
            tx.add_case(row, decision.decision_id, obligations)
        else:
            tx.put_case(row, version)  # first: a case changed meanwhile fails the job at once
            tx.add_case_decision(case_id, decision.decision_id)
            tx.replace_obligations(case_id, obligations)
        if sealed is not None:
            tx.put_personal(case_id, *sealed)
        return append_decision(tx, decision, body, policy)

    return job


def indexed(
    job: Callable[[WriteTx], AppendReceipt], entry: IndexEntry, first_of_case: bool = False
) -> Callable[[WriteTx], AppendReceipt]:
    """`job`, then the decision's row in the decision index, in the same transaction (the
    row is worked out before, in the caller's thread; only its ledger index is filled in).
    `first_of_case`: the decision opens its case."""
    row, flags, register = entry

    def run(tx: WriteTx) -> AppendReceipt:
        receipt = job(tx)
        tx.index_decision({**row, "idx": receipt.index}, flags, register, first_of_case)
        return receipt

    return run


class Workflows:
    """The writes of one data directory."""

    def __init__(
        self,
        store: Store,
        ledger: Ledger,
        cases: CaseStore,
        rulesets: Mapping[str, dict],
        timezones: Mapping[str, str],
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.cases = cases
        self.timezones = dict(timezones)
        # A policy's canonical body, encoded once per process.
        self._policy_bodies: dict[str, bytes] = {}
        self._rulesets = dict(rulesets)
        # Policy versions whose entry a committed write of ours appended or found: the ledger
        # only grows, so later jobs need not look for it (one query less per decision).
        self._policies_in_ledger: set[str] = set()
        decision_bodies_ready()

    def _policy(self, decision: Decision) -> bytes | None:
        """The policy entry's body for the job to append on first use of its version; None
        when the ledger surely has it already."""
        if decision.policy_version in self._policies_in_ledger:
            return None
        body = self._policy_bodies.get(decision.policy_version)
        if body is None:
            body = policy_body(decision, self._rulesets[decision.policy])
            self._policy_bodies[decision.policy_version] = body
        return body

    def _prepare(
        self,
        decision: Decision,
        facts: dict,
        case_id: str | None,
        commitment: str | None,
        key_id: str | None = None,
    ) -> tuple[Decision, dict[str, Any], bytes, bytes | None]:
        """The decision with its id, its entry body (as a dict and canonical bytes, with the
        caller's `key_id`) and its policy's body (`_policy`)."""
        decision = msgspec.structs.replace(decision, decision_id=new_id(), case_id=case_id)
        entry = decision_body(decision, facts, commitment, key_id)
        return decision, entry, canonical_decision_body(entry), self._policy(decision)

    def _claiming(self, job: Job, decision: Decision, once: Once | None) -> Job:
        """The job; with `once`, claiming its Idempotency-Key and remembering the response in
        the same transaction."""
        if once is None:
            return job
        return once.wrap(job, lambda receipt: self._recorded(decision, receipt))

    def _write(self, job: Job, decision: Decision, once: Once | None) -> RecordedDecision:
        """Run the job (see `_claiming`) and wait, blocking this thread, until it is durable."""
        receipt = self.store.write(self._claiming(job, decision, once))
        self._policies_in_ledger.add(decision.policy_version)
        return self._recorded(decision, receipt)

    async def _write_async(
        self, job: Job, decision: Decision, once: Once | None
    ) -> RecordedDecision:
        """Run the job (see `_claiming`); the event loop serves other requests until it is
        durable, so the writer sees every waiting request at once and commits them together.

        No shield is needed: a cancelled request (its client gone, the server stopping) cancels
        only the future it awaits, which the store settles on this loop, after the commit, only
        if still pending (`Store.write_async`); the job commits, as it would have from a
        blocked thread, its batch is answered as ever, and nobody reads its receipt."""
        receipt = await self.store.write_async(self._claiming(job, decision, once))
        self._policies_in_ledger.add(decision.policy_version)
        return self._recorded(decision, receipt)

    @staticmethod
    def _recorded(decision: Decision, receipt: AppendReceipt) -> RecordedDecision:
        return RecordedDecision(**msgspec.structs.asdict(decision), ledger=as_receipt(receipt))

    def _index(self, entry: Mapping[str, Any]) -> IndexEntry:
        return index_entry(-1, entry, self.timezones.get(entry["policy"], "UTC"))

    def _register(
        self, rows: list[dict[str, Any]], entry: Mapping[str, Any]
    ) -> tuple[str, list[dict[str, Any]]]:
        """The case's state and stored register rows once `entry` (a decision entry's body,
        the case's newest) is taken."""
        timezone = self.timezones[entry["policy"]]
        after = register_after(rows, entry, timezone=timezone)
        return case_state(entry, after), stored_rows(after, timezone)

    def latest_entry(self, case: CaseRecord) -> dict[str, Any] | None:
        """The body of the case's latest decision entry, as the ledger holds it."""
        if not case.decision_ids:
            return None
        with self.store.read() as tx:
            index = tx.find_entry("decision", case.decision_ids[-1])
            found = None if index is None else tx.entry(index)
        return None if found is None else stored_body(found[0])

    # -- the workflows -----------------------------------------------------------------------

    def decide(
        self,
        decision: Decision,
        facts: dict[str, Any],
        *,
        key_id: str | None = None,
        once: Once | None = None,
    ) -> RecordedDecision:
        """Give a case-less decision its id and append it (with the caller's `key_id`);
        returns once it is durable."""
        decision, job = self._decide_job(decision, facts, key_id)
        return self._write(job, decision, once)

    async def decide_async(
        self,
        decision: Decision,
        facts: dict[str, Any],
        *,
        key_id: str | None = None,
        once: Once | None = None,
    ) -> RecordedDecision:
        """`decide`, awaiting the writer instead of blocking a thread on it."""
        decision, job = self._decide_job(decision, facts, key_id)
        return await self._write_async(job, decision, once)

    def _decide_job(
        self, decision: Decision, facts: dict[str, Any], key_id: str | None
    ) -> tuple[Decision, Job]:
        decision, entry, body, policy = self._prepare(decision, facts, None, None, key_id)
        job = indexed(lambda tx: append_decision(tx, decision, body, policy), self._index(entry))
        return decision, job

    def open_case(
        self,
        decision: Decision,
        facts: dict[str, Any],
        personal_data: dict | None = None,
        reference: str | None = None,
        complainant: str | None = None,
        *,
        key_id: str | None = None,
        once: Once | None = None,
    ) -> tuple[CaseRecord, RecordedDecision]:
        """A new case with its first decision (every action `new`), its register, its state
        and its sealed personal data, committed together; the case as written (what reading
        it back would give) and its decision. The case takes the decision's `purpose`, and its
        events inherit it."""
        opened, decision, job = self._open_job(
            decision, facts, personal_data, reference, complainant, key_id
        )
        recorded = self._write(job, decision, once)
        return opened(), recorded

    async def open_case_async(
        self,
        decision: Decision,
        facts: dict[str, Any],
        personal_data: dict | None = None,
        reference: str | None = None,
        complainant: str | None = None,
        *,
        key_id: str | None = None,
        once: Once | None = None,
    ) -> tuple[CaseRecord, RecordedDecision]:
        """`open_case`, awaiting the writer instead of blocking a thread on it."""
        opened, decision, job = self._open_job(
            decision, facts, personal_data, reference, complainant, key_id
        )
        recorded = await self._write_async(job, decision, once)
        return opened(), recorded

    def _open_job(
        self,
        decision: Decision,
        facts: dict[str, Any],
        personal_data: dict | None,
        reference: str | None,
        complainant: str | None,
        key_id: str | None,
    ) -> tuple[Callable[[], CaseRecord], Decision, Job]:
        """What opening the case writes: the case as written (to call once the job ran, which
        stamps it opened when its first decision is recorded), its decision and the job."""
        case_id = new_id()
        sealed: tuple[bytes, str, bytes] | None = None
        if personal_data:
            key = personal.new_case_key()
            salt, commitment = personal.commit(personal_data)
            sealed = (key, commitment, personal.seal_with(key, case_id, salt, personal_data))
        decision, entry, body, policy = self._prepare(
            with_new_actions(None, decision),
            facts,
            case_id,
            sealed[1] if sealed else None,
            key_id,
        )
        state, rows = self._register([], entry)
        row = {
            "case_id": case_id,
            "policy": decision.policy,
            "purpose": decision.purpose,
            "state": state,
            "facts": msgspec.json.encode(facts).decode(),
            "reference": reference,
            "complainant": complainant,
            "opened_at": None,  # the job's (`case_write`)
            "updated_at": None,
            **stage_and_route(decision),
            "latest_decision_id": decision.decision_id,
            "personal": "sealed" if sealed else "none",
            "personal_commitment": sealed[1] if sealed else None,
        }

        write = case_write(row, None, decision, body, policy, rows, sealed)
        return (
            lambda: case_record(row, [decision.decision_id], rows),
            decision,
            indexed(write, self._index(entry), first_of_case=True),
        )

    def apply_event(
        self,
        case_id: str,
        changes: dict[str, Any],
        as_of: str | None,
        evaluate: Evaluate,
        *,
        key_id: str | None = None,
        once: Once | None = None,
    ) -> RecordedDecision:
        """Merge `changes` into the case's facts (`cases.merge_event`), decide again under the
        case's purpose, and record the decision with the case's new facts, register and state,
        provided the case did not change meanwhile (otherwise read it again and retry)."""
        for pause in conflict_pauses():
            decision, job = self._event_job(case_id, changes, as_of, evaluate, key_id)
            try:
                return self._write(job, decision, once)
            except VersionConflict:
                time.sleep(pause)
        raise StoreBusy(f"case {case_id} kept changing: try again")

    async def apply_event_async(
        self,
        case_id: str,
        changes: dict[str, Any],
        as_of: str | None,
        evaluate: Evaluate,
        *,
        key_id: str | None = None,
        once: Once | None = None,
        read: CaseRecord | None = None,
    ) -> RecordedDecision:
        """`apply_event`, reading the case through `Store.call_reading` and awaiting the
        writer instead of blocking a thread on it. `read`: the case as the caller has just read
        it, used by the first try (its version is checked at the write all the same)."""
        for pause in conflict_pauses():
            decision, job = await self.store.call_reading(
                self._event_job, case_id, changes, as_of, evaluate, key_id, read
            )
            read = None  # a retry reads the case again
            try:
                return await self._write_async(job, decision, once)
            except VersionConflict:
                await asyncio.sleep(pause)
        raise StoreBusy(f"case {case_id} kept changing: try again")

    def _event_job(
        self,
        case_id: str,
        changes: dict[str, Any],
        as_of: str | None,
        evaluate: Evaluate,
        key_id: str | None,
        read: CaseRecord | None = None,
    ) -> tuple[Decision, Job]:
        """The event's decision and the job that records it if the case is still at the
        version read here (reads the store, unless given the case `read` already)."""
        case = read if read is not None else self.cases.get(case_id)
        if case is None:
            raise CaseNotFound(case_id)
        facts = merge_event(case.policy, case.facts, changes)
        decided = msgspec.structs.replace(
            evaluate(case.policy, facts, as_of),
            purpose=case.purpose,  # type: ignore[arg-type]
        )
        decided = with_new_actions(self.latest_entry(case), decided)
        decision, entry, body, policy = self._prepare(
            decided, facts, case_id, case.personal_commitment, key_id
        )
        # The register so far is stored rows: a due that is no date was a 500 here.
        state, rows = as_written(
            f"case {case_id}'s register", lambda: self._register(case.obligations, entry)
        )
        row = {
            "case_id": case_id,
            "state": state,
            "facts": msgspec.json.encode(facts).decode(),
            "updated_at": clock.now_text(),
            **stage_and_route(decision),
            "latest_decision_id": decision.decision_id,
        }
        job = indexed(
            case_write(row, case.version, decision, body, policy, rows), self._index(entry)
        )
        return decision, job

    def erase_personal(self, case_id: str) -> Receipt:
        """Destroy the case's key, sealed records and complainant reference, record the
        erasure, and scrub the store's files of them; one transaction. A case opened without
        personal data is erased too (its complainant reference goes; the entry names no
        commitment), so that afterwards every case reads the same: erased. Only a case erased
        already has nothing to erase."""
        for pause in conflict_pauses():
            case = self.cases.get(case_id)
            if case is None:
                raise CaseNotFound(case_id)
            if case.personal == "erased":
                raise NothingToErase(case)
            row = {
                "case_id": case_id,
                "personal": "erased",
                "personal_commitment": None,
                "complainant": None,
                "updated_at": clock.now_text(),
            }

            def job(tx: WriteTx, row: dict = row, version: int = case.version) -> AppendReceipt:
                tx.put_case(row, version)
                return append_erasure(tx, case_id)

            try:
                return as_receipt(self.store.write(job, scrub=True))
            except VersionConflict:
                time.sleep(pause)
        raise StoreBusy(f"case {case_id} kept changing: try again")
