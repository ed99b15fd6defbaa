"""Cases: a complaint's facts over time, its decisions and open deadlines, and its personal data
kept encrypted outside the ledger.
"""

from cases.store import CaseRecord, CaseStore, merge_facts

__all__ = ["CaseRecord", "CaseStore", "merge_facts"]
