"""Working days, local dates and the time arithmetic of POLICIES.md ("Time, shared by all").

Every policy names a calendar (`england-and-wales` or `ontario`); a calendar is a set of public
holidays from the `holidays` package plus the time zone in which date-times become local dates.
Hour arithmetic is done on UTC instants so that a clock change never moves a deadline.
"""

from __future__ import annotations

import calendar as _gregorian
import re
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

import holidays

# RFC 3339 date-time: `fromisoformat` alone also accepts week dates, basic format and missing
# seconds, which client systems must not rely on.
# Matched whole (`fullmatch`), ASCII digits only: Python's `\d` takes any script's digits, and
# `$` a trailing newline.
_DATE_TIME = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ]([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# A due date must be found within this many calendar days; guards against a broken holiday set.
_SEARCH_LIMIT_DAYS = 3660
# Dates near year 1 or 9999 overflow local-date and deadline arithmetic; refuse them as input.
FIRST_YEAR = 1900
LAST_YEAR = 2999


@dataclass(frozen=True)
class Calendar:
    """A named holiday calendar and the time zone its local dates are taken in."""

    name: str
    country: str
    subdivision: str
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone)


CALENDARS: dict[str, Calendar] = {
    "england-and-wales": Calendar("england-and-wales", "GB", "ENG", "Europe/London"),
    # Public category only: Civic Holiday and Easter Monday are optional in Ontario.
    "ontario": Calendar("ontario", "CA", "ON", "America/Toronto"),
}

_holiday_lock = threading.Lock()


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def get_calendar(name: str) -> Calendar:
    """The calendar called `name`; KeyError when there is none."""
    return CALENDARS[name]


@cache
def _holidays_in(calendar_name: str, year: int) -> frozenset[date]:
    cal = CALENDARS[calendar_name]
    # The holidays objects fill themselves lazily per year, which is not thread-safe: build a
    # frozen set per year once, under a lock.
    with _holiday_lock:
        found = holidays.country_holidays(
            cal.country, subdiv=cal.subdivision, years=[year], categories=("public",)
        )
        return frozenset(d for d in found if d.year == year)


def load_holidays(today: date) -> None:
    """Build every calendar's holiday sets for the year before `today`'s, its year and the
    next, now. The `holidays` package imports a module per country on first use (~90 ms): a
    server calls this at start-up, so that its first decision does not stall the event loop
    (and every request waiting behind it) for that, and those modules are among what the
    collector freezes after start-up."""
    for name in CALENDARS:
        for year in (today.year - 1, today.year, today.year + 1):
            _holidays_in(name, year)


def is_holiday(day: date, calendar_name: str) -> bool:
    """True when `day` is a public holiday (including an observed substitute) of the calendar."""
    return day in _holidays_in(calendar_name, day.year)


def is_working_day(day: date, calendar_name: str) -> bool:
    """Monday to Friday and not a public holiday of the calendar."""
    return day.weekday() < 5 and not is_holiday(day, calendar_name)


# Pure functions of small, repeating arguments, on every evaluation's path (issue 10): cached.
# Bounded, since a client can name any date.
@lru_cache(maxsize=8192)
def working_days_after(start: date, n: int, calendar_name: str) -> date:
    """The n-th working day strictly after `start` (n ≥ 1)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    day = start
    counted = 0
    for _ in range(_SEARCH_LIMIT_DAYS):
        day += timedelta(days=1)
        if is_working_day(day, calendar_name):
            counted += 1
            if counted == n:
                return day
    raise ValueError(f"no {n} working days after {start.isoformat()} within ten years")


def within_working_days(act: date, start: date, n: int, calendar_name: str) -> bool:
    """An act on local date `act` is in time iff act ≤ (n working days after `start`)."""
    return act <= working_days_after(start, n, calendar_name)


def days_after(start: date, n: int) -> date:
    """The local date of `start` plus n calendar days."""
    return start + timedelta(days=n)


def hours_after(instant: datetime, n: int) -> datetime:
    """`instant` plus n elapsed hours, in UTC (a clock change does not move it)."""
    return instant.astimezone(UTC) + timedelta(hours=n)


def six_months_before(day: date) -> date:
    """`day` minus six calendar months, clamped to the last day of a shorter month."""
    year, month = (day.year, day.month - 6) if day.month > 6 else (day.year - 1, day.month + 6)
    last = _gregorian.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def within_six_months_before(event: date, reference: date) -> bool:
    """True when reference − 6 calendar months ≤ event ≤ reference."""
    return six_months_before(reference) <= event <= reference


def parse_date(text: str) -> date:
    """A `YYYY-MM-DD` date; ValueError when the shape is wrong or the day does not exist."""
    if not _DATE.fullmatch(text):
        raise ValueError("expected a date YYYY-MM-DD")
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"not a real date: {exc}") from None
    _check_year(day.year)
    return day


def _check_year(year: int, where: str = "") -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(
            f"year {year}{where} is outside the supported range {FIRST_YEAR}–{LAST_YEAR}"
        )


def parse_date_time(text: str) -> datetime:
    """An RFC 3339 date-time with offset, as an aware datetime, within the supported years both
    where it was written and in UTC (what it is recorded as).

    Fractions beyond microseconds are truncated (Python cannot hold them). ValueError when there
    is no offset, the shape is wrong, the instant does not exist, or it lies outside the years.
    """
    moment = parse_instant(text)
    _check_year(moment.year)
    _check_year(moment.astimezone(UTC).year, " in UTC")  # a day from a year checked: no overflow
    return moment


def parse_instant(text: str) -> datetime:
    """`parse_date_time` without the range of years: for the instants this service computed
    from checked input (a due 48 hours after a form received on 31 December 2999 is in 3000)."""
    found = _DATE_TIME.fullmatch(text)
    if not found:
        if _DATE_TIME.fullmatch(text + "Z"):
            raise ValueError("a date-time needs an offset (Z or ±HH:MM)")
        raise ValueError("expected an RFC 3339 date-time with offset")
    day, clock, fraction, offset = found.groups()
    fraction = (fraction or "")[:7]
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        return datetime.fromisoformat(f"{day}T{clock}{fraction}{offset}")
    except ValueError as exc:
        # Python words an offset of 24 hours or more in its own terms (timedelta reprs).
        problem = "its offset must be under 24 hours" if "offset" in str(exc) else str(exc)
        raise ValueError(f"not a real date-time: {problem}") from None


def is_date_only(text: str) -> bool:
    """True when `text` has the shape of a bare date (no time of day)."""
    return bool(_DATE.fullmatch(text))


@lru_cache(maxsize=8192)
def parse_date_fact(text: str) -> date | datetime:
    """A date fact: a bare date, or a date-time with offset (parsed once per text: one
    evaluation reads the same fact in validation, cross checks and derivation)."""
    return parse_date(text) if is_date_only(text) else parse_date_time(text)


def local_date(value: date | datetime | str, timezone: str) -> date:
    """The local date of a date fact in the policy's time zone (a bare date is itself)."""
    if isinstance(value, str):
        in_utc = _UTC_INSTANT.fullmatch(value)
        day = None if in_utc is None else _local_date_of_utc_hour(in_utc[1], timezone)
        return day or _local_date_of_text(value, timezone)
    return _local_date(value, timezone)


# An instant written in UTC (`Z`), its date and hour grouped: what the service writes for
# `as_of` and `recorded_at`, each one of a kind, so a memo of whole texts would always miss.
_UTC_INSTANT = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?Z"
)


@lru_cache(maxsize=65536)
def _local_date_of_utc_hour(hour: str, timezone: str) -> date | None:
    """The local date of every instant of the UTC hour `hour` (`YYYY-MM-DDTHH`), or None when
    they do not share one (local midnight or a change of offset falls within the hour) or the
    hour is no real one (`_local_date_of_text` then answers, or says what is wrong). One offset
    through the hour makes local time move with UTC time, so its first and last instants'
    dates are every instant's."""
    try:
        first = parse_date_time(f"{hour}:00:00Z").astimezone(_zone(timezone))
        last = parse_date_time(f"{hour}:59:59.999999Z").astimezone(_zone(timezone))
    except ValueError:
        return None
    same = first.utcoffset() == last.utcoffset() and first.date() == last.date()
    return first.date() if same else None


@lru_cache(maxsize=8192)
def _local_date_of_text(text: str, timezone: str) -> date:
    return _local_date(parse_date_fact(text), timezone)


def _local_date(value: date | datetime, timezone: str) -> date:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a date-time needs an offset")
        return value.astimezone(_zone(timezone)).date()
    return value


@lru_cache(maxsize=8192)
def start_of_local_day(day: date, timezone: str) -> datetime:
    """The first instant of a local day, in UTC: how a date compares with a date-time."""
    return datetime(day.year, day.month, day.day, tzinfo=_zone(timezone)).astimezone(UTC)


@lru_cache(maxsize=8192)
def end_of_local_day(day: date, timezone: str) -> datetime:
    """The last instant (to the microsecond) of a local day, in UTC."""
    following = start_of_local_day(day + timedelta(days=1), timezone)
    return following - timedelta(microseconds=1)


def utc_text(instant: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` in UTC, with `.ffffff` only when microseconds are non-zero."""
    # `isoformat` writes the same fields as `%Y-%m-%dT%H:%M:%S` and `.ffffff` only when non-zero
    # (years are 1900-2999 here, four digits either way), in a third of strftime's time; the
    # `+00:00` it ends with becomes `Z`.
    moment = instant if instant.tzinfo is UTC else instant.astimezone(UTC)
    return moment.isoformat()[:-6] + "Z"
