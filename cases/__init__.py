"""Cases: a complaint's facts over time, its decisions and obligation register, and its
personal data kept encrypted outside the ledger. The register and events are pure functions over
decisions (`cases.register`, `cases.events`); `cases.store` reads the case tables and
`cases.rebuild` rebuilds them from the ledger alone.
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
from cases.store import BadCursor, CaseFilter, CaseRecord, CaseStore

__all__ = [
    "BadCursor",
    "CaseFilter",
    "CaseRecord",
    "CaseStore",
    "case_state",
    "case_summary",
    "mark_new_actions",
    "merge_event",
    "obligation_status",
    "overdue_at",
    "passes_at",
    "register_after",
    "register_of",
    "registers_from_entries",
]
