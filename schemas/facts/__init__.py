"""Fact Structs, one module per policy (see POLICIES.md for each policy's facts).

Date facts are strings in the Structs (`DateFact`, `DateTimeFact`): a date fact may be a bare
`YYYY-MM-DD` or an RFC 3339 date-time with offset, a union msgspec cannot express, so
`rules.validation` parses them and names every bad one at once.
"""

from __future__ import annotations

from typing import Annotated

import msgspec


class DateKind:
    """Marks a string field as a date fact; `datetime_only` forbids a bare date."""

    def __init__(self, datetime_only: bool) -> None:
        self.datetime_only = datetime_only


DATE = DateKind(datetime_only=False)
DATE_TIME = DateKind(datetime_only=True)

_DATE_OR_DATE_TIME = r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2}))?$"
_DATE_TIME_ONLY = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"

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
