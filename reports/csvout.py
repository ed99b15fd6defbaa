"""Reports as CSV: a header line, then the report's rows (RFC 4180, CRLF line ends).

Nested shapes are flattened so that each report is one table:
- `register`: `actions` is the codes joined by spaces; `obligations` is one
  `name:status:due:done_at` item per obligation (empty `done_at` when not done), joined by `; `.
- `routing`: one table for both lists: `section` is `route` (a `rows` item, `flag` empty) or
  `flag` (a `flags` item, `route`, `stage` and `disposition` empty).
- `serco-quarterly`: `quarter, measure, value`, one line per number; `measure` is the number's
  path in the JSON report joined by dots (`complaints.by_level_reached.ssm`,
  `timeliness.respond.met`); the previous quarter's lines follow under its own `quarter`.
- `timeliness`, `repeat-complainers`: their rows as they are.
A null is an empty field; booleans are `true`/`false`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any

COLUMNS = {
    "register": [
        "case_id", "decision_id", "policy", "received_at", "kind", "category",
        "complainant_type", "stage", "route", "disposition", "upheld", "actions", "obligations",
    ],
    "routing": ["section", "policy", "route", "stage", "disposition", "flag", "count"],
    "timeliness": [
        "policy", "obligation", "met", "late", "open", "overdue", "lapsed",
        "median_working_days_to_done",
    ],
    "serco-quarterly": ["quarter", "measure", "value"],
    "repeat-complainers": [
        "complainant", "policy", "cases", "first_received_at", "last_received_at",
    ],
}  # fmt: skip


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def obligation_cell(obligations: list[Mapping[str, Any]]) -> str:
    return "; ".join(
        f"{o['name']}:{o['status']}:{o['due']}:{o.get('done_at') or ''}" for o in obligations
    )


def measures(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from measures(f"{prefix}.{key}" if prefix else key, inner)
    else:
        yield prefix, value


def rows_of(report: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    name = report["report"]
    if name == "register":
        for row in report["rows"]:
            yield row | {
                "actions": " ".join(row["actions"]),
                "obligations": obligation_cell(row["obligations"]),
            }
    elif name == "routing":
        for row in report["rows"]:
            yield {"section": "route"} | row
        for row in report["flags"]:
            yield {"section": "flag"} | row
    elif name == "serco-quarterly":
        for part in (report, report["previous"]):
            for section in ("complaints", "timeliness", "outcomes"):
                for measure, value in measures(section, part[section]):
                    yield {"quarter": part["quarter"], "measure": measure, "value": value}
    else:
        yield from report["rows"]


def to_csv(report: Mapping[str, Any]) -> str:
    """The report's rows as CSV text with a header line."""
    out = io.StringIO()
    columns = COLUMNS[report["report"]]
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows_of(report):
        writer.writerow([cell(row.get(c)) for c in columns])
    return out.getvalue()
