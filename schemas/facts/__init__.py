"""Fact Structs, one module per policy (see POLICIES.md for each policy's facts).

Date facts are strings in the Structs (`DateFact`, `DateTimeFact`): a date fact may be a bare
`YYYY-MM-DD` or an RFC 3339 date-time with offset, a union msgspec cannot express, so
`rules.validation` parses them and names every bad one at once.
"""

from __future__ import annotations

from typing import Annotated

import msgspec


class DateKind:
    """Marks a string field as a date fact.

    `datetime_only` forbids a bare date, `date_only` a date-time; `may_be_later` exempts the fact
    from "facts from the future" (a promise, such as WME's `final_date`).
    """

    def __init__(
        self, datetime_only: bool, date_only: bool = False, may_be_later: bool = False
    ) -> None:
        self.datetime_only = datetime_only
        self.date_only = date_only
        self.may_be_later = may_be_later

    @property
    def type_name(self) -> str:
        """The fact type clients see: date, date-time or date-or-date-time."""
        return (
            "date-time"
            if self.datetime_only
            else "date"
            if self.date_only
            else ("date-or-date-time")
        )


DATE = DateKind(datetime_only=False)
DATE_TIME = DateKind(datetime_only=True)
PROMISED_DATE = DateKind(datetime_only=False, date_only=True, may_be_later=True)

_DAY = "[0-9]{4}-[0-9]{2}-[0-9]{2}"  # ASCII digits: Python's `\d` takes any script's
_TIME = "[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
_DATE_OR_DATE_TIME = f"^{_DAY}([Tt ]{_TIME})?$"
_DATE_ONLY = f"^{_DAY}$"
_DATE_TIME_ONLY = f"^{_DAY}[Tt ]{_TIME}$"

DateFact = Annotated[
    str,
    msgspec.Meta(
        pattern=_DATE_OR_DATE_TIME,
        description="A date YYYY-MM-DD or an RFC 3339 date-time with offset; not after as_of.",
    ),
    DATE,
]
DateTimeFact = Annotated[
    str,
    msgspec.Meta(
        pattern=_DATE_TIME_ONLY,
        description="An RFC 3339 date-time with offset; not after as_of.",
    ),
    DATE_TIME,
]
PromisedDate = Annotated[
    str,
    msgspec.Meta(
        pattern=_DATE_ONLY,
        description="A date YYYY-MM-DD; a promise, so it may be later than as_of.",
    ),
    PROMISED_DATE,
]
Acts = dict[str, DateFact]
"""`acts`: obligation deadline name → when it was discharged (POLICIES.md, "obligations")."""
