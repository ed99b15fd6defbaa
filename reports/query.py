"""A report's query: inclusive local dates `from` and `to`, or a `quarter` (`YYYY-QN`), and an
optional `policy`. Every bad value is named by a JSON pointer to its parameter (`/from`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

# Matched whole (`fullmatch`; the pattern is also the contract's), ASCII digits only.
QUARTER = re.compile(r"^([0-9]{4})-Q([1-4])$")
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# The days a report may be asked about: a period's instants (a day's end in a policy's time
# zone, the quarter before a Serco quarter) must stay within what a date can hold.
FIRST_YEAR, LAST_YEAR = 1900, 9998
SPAN = f"the years {FIRST_YEAR}-{LAST_YEAR}"


class QueryError(ValueError):
    """Bad query values: `errors` is a list of `(pointer, message)`."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {m}" for p, m in errors))
        self.errors = errors


@dataclass(frozen=True)
class ReportQuery:
    """A checked query. `start` and `end` are inclusive local dates (None: no bound)."""

    start: date | None = None
    end: date | None = None
    policy: str | None = None
    quarter: str | None = None


def quarter_bounds(label: str) -> tuple[date, date]:
    """The first and last day of quarter `YYYY-QN`."""
    match = QUARTER.fullmatch(label)
    if match is None:
        raise ValueError(f"{label!r} is not a quarter YYYY-QN")
    year, number = int(match.group(1)), int(match.group(2))
    first = date(year, 3 * number - 2, 1)
    last = date(year, 12, 31) if number == 4 else date(year, 3 * number + 1, 1) - timedelta(days=1)
    return first, last


def previous_quarter(label: str) -> str:
    """The quarter before `YYYY-QN`."""
    first, _ = quarter_bounds(label)
    return quarter_of(first - timedelta(days=1))


def quarter_of(day: date) -> str:
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def _date(text: str | None, pointer: str, errors: list[tuple[str, str]]) -> date | None:
    if text is None:
        return None
    try:
        if not DATE.fullmatch(text):
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        errors.append((pointer, f"{text!r} is not a date YYYY-MM-DD"))
        return None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        errors.append((pointer, f"{text} is outside {SPAN}"))
        return None
    return day


def parse_query(
    name: str,
    values: dict[str, str | None],
    policies: list[str],
) -> ReportQuery:
    """Check the query of report `name`; raise QueryError naming every bad parameter.

    `quarter` stands for its first and last day and cannot be given with `from` or `to`;
    `serco-quarterly` needs it and covers the policy `serco-es` only.
    """
    # An empty value is refused rather than read as absent: the contract's forms (a date, a
    # quarter, a policy id) have none, and a client sending one likely meant something.
    empty = [key for key in ("from", "to", "quarter", "policy") if values.get(key) == ""]
    errors: list[tuple[str, str]] = [
        (f"/{k}", "empty: give a value or leave it out") for k in empty
    ]
    values = {k: v for k, v in values.items() if k not in empty}
    start = _date(values.get("from"), "/from", errors)
    end = _date(values.get("to"), "/to", errors)
    quarter = values.get("quarter") or None
    policy = values.get("policy") or None
    if policy is not None and policy not in policies:
        errors.append(("/policy", f"no policy {policy!r}: one of {', '.join(policies)}"))
    if quarter is not None:
        if QUARTER.fullmatch(quarter) is None:
            errors.append(("/quarter", f"{quarter!r} is not a quarter YYYY-QN"))
        elif not FIRST_YEAR <= int(quarter[:4]) <= LAST_YEAR:
            errors.append(("/quarter", f"{quarter} is outside {SPAN}"))
        elif values.get("from") or values.get("to"):
            errors.append(("/quarter", "give a quarter or from/to, not both"))
        else:
            start, end = quarter_bounds(quarter)
    if name == "serco-quarterly":
        if quarter is None:
            errors.append(("/quarter", "serco-quarterly needs a quarter, YYYY-QN"))
        if policy not in (None, "serco-es"):
            errors.append(("/policy", "serco-quarterly covers the policy serco-es only"))
    if start is not None and end is not None and start > end:
        errors.append(("/to", f"{end} is before from {start}"))
    if errors:
        raise QueryError(errors)
    if name == "serco-quarterly":
        policy = "serco-es"
    return ReportQuery(start, end, policy, quarter)
