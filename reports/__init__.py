"""Reports for compliance officers (CONTRACT.md "Reports (version 2)"): pure functions over plain
dicts, computed from the ledger's `live` decisions and each case's obligation register only.

- `reports.query`: the query (`from`, `to`, `quarter`, `policy`) checked, every bad value named.
- `reports.obligations`: an obligation's fate at a report's `as_of`, and a stand-in register
  derived from a case's decisions for stores that do not keep one yet.
- `reports.compute`: the five reports (`register`, `routing`, `timeliness`, `serco-quarterly`,
  `repeat-complainers`), each `{report, from, to, policy, tree_size, root_hash, …}`.
- `reports.csvout`: the same rows as CSV with a header line (nested shapes flattened).
- `reports.index`: a decision entry's rows in the decision index, and its rebuild from the ledger.
- `reports.stored`: the reports over a store's decision index and case tables (what the API,
  the CLI and the console run): routing, timeliness, serco-quarterly and repeat-complainers
  counted in SQL, the register from its period's subjects through the pure functions.
- `reports.source`: a `Snapshot` from the whole ledger and case store: the specification the
  store-backed reports are tested against (slow; nothing serves from it).

Inputs (plain dicts, as the API returns them or the ledger body holds them):
a decision `{decision_id, policy, as_of, case_id, purpose, facts, outcome}` and a case
`{case_id, policy, state, facts, decisions: [decision…], obligations: [row…], complainant}`.
"""

from reports.compute import REPORT_NAMES, Snapshot, UnknownReport, compute
from reports.csvout import to_csv
from reports.query import QueryError, ReportQuery, parse_query

__all__ = [
    "REPORT_NAMES",
    "QueryError",
    "ReportQuery",
    "Snapshot",
    "UnknownReport",
    "compute",
    "parse_query",
    "to_csv",
]
