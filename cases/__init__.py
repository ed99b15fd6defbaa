"""Cases: a complaint's facts over time, its decisions and open deadlines, and its personal data
kept encrypted outside the ledger; the obligation register and events as pure functions over
decisions (`cases.register`, `cases.events`).
"""

from cases.events import mark_new_actions, merge_event
from cases.register import (
    case_state,
    case_summary,
    obligation_status,
    overdue_at,
    passes_at,
    register_after,
    register_of,
    registers_from_entries,
)
from cases.store import CaseRecord, CaseStore, merge_facts

__all__ = [
    "CaseRecord",
    "CaseStore",
    "case_state",
    "case_summary",
    "mark_new_actions",
    "merge_event",
    "merge_facts",
    "obligation_status",
    "overdue_at",
    "passes_at",
    "register_after",
    "register_of",
    "registers_from_entries",
]
