"""Working days and local dates against real calendars (dates checked by hand on a 2026–2028
calendar and the published bank holidays of England and Ontario)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.calendar import (
    _holidays_in,
    end_of_local_day,
    hours_after,
    is_holiday,
    is_working_day,
    load_holidays,
    local_date,
    parse_date_fact,
    parse_date_time,
    six_months_before,
    start_of_local_day,
    utc_text,
    within_six_months_before,
    within_working_days,
    working_days_after,
)

ENG = "england-and-wales"
ON = "ontario"


# --- holidays -------------------------------------------------------------------------------


def test_load_holidays_builds_each_calendars_years_around_today_beforehand():
    _holidays_in.cache_clear()
    load_holidays(date(2031, 6, 1))
    built = _holidays_in.cache_info()
    for year in (2030, 2031, 2032):
        assert is_holiday(date(year, 12, 25), ENG)
        assert is_holiday(date(year, 12, 25), ON)
    after = _holidays_in.cache_info()
    assert (after.hits - built.hits, after.misses - built.misses) == (6, 0)


@pytest.mark.parametrize("calendar_name", [ENG, ON])
def test_boxing_day_2026_on_a_saturday_is_observed_on_monday_28th(calendar_name):
    assert not is_working_day(date(2026, 12, 28), calendar_name)
    # Thu 24 Dec → Fri 25 (Christmas) and Mon 28 (observed) are skipped.
    assert working_days_after(date(2026, 12, 24), 1, calendar_name) == date(2026, 12, 29)


def test_christmas_2027_on_a_saturday_moves_both_days_to_monday_and_tuesday_in_england():
    assert not is_working_day(date(2027, 12, 27), ENG)
    assert not is_working_day(date(2027, 12, 28), ENG)
    # Fri 24 Dec 2027: Sat, Sun, Mon 27 (Christmas observed), Tue 28 (Boxing Day observed).
    assert working_days_after(date(2027, 12, 24), 1, ENG) == date(2027, 12, 29)


def test_easter_2026_in_england_skips_good_friday_and_easter_monday():
    assert not is_working_day(date(2026, 4, 3), ENG)
    assert not is_working_day(date(2026, 4, 6), ENG)
    assert working_days_after(date(2026, 4, 2), 1, ENG) == date(2026, 4, 7)


def test_easter_monday_is_a_working_day_in_ontario_but_good_friday_is_not():
    assert not is_working_day(date(2026, 4, 3), ON)
    assert is_working_day(date(2026, 4, 6), ON)
    assert working_days_after(date(2026, 4, 2), 1, ON) == date(2026, 4, 6)


def test_family_day_third_monday_of_february_is_an_ontario_holiday_only():
    assert not is_working_day(date(2026, 2, 16), ON)
    assert is_working_day(date(2026, 2, 16), ENG)
    assert working_days_after(date(2026, 2, 13), 1, ON) == date(2026, 2, 17)


def test_civic_holiday_first_monday_of_august_is_not_a_public_holiday_in_ontario():
    assert is_working_day(date(2026, 8, 3), ON)
    assert working_days_after(date(2026, 7, 31), 1, ON) == date(2026, 8, 3)


def test_weekends_are_never_working_days():
    assert not is_working_day(date(2026, 3, 28), ENG)  # Saturday
    assert not is_working_day(date(2026, 3, 29), ON)  # Sunday


# --- counting -------------------------------------------------------------------------------


def test_n_working_days_after_counts_strictly_after_the_start():
    # From Monday 9 March 2026: Tue 10 is the first, Mon 16 the fifth.
    assert working_days_after(date(2026, 3, 9), 1, ENG) == date(2026, 3, 10)
    assert working_days_after(date(2026, 3, 9), 5, ENG) == date(2026, 3, 16)


def test_from_a_saturday_the_first_working_day_is_the_monday():
    assert working_days_after(date(2026, 3, 28), 1, ENG) == date(2026, 3, 30)


def test_within_n_working_days_includes_the_last_day_and_not_the_next():
    # 10 working days after Fri 2 Oct 2026 is Fri 16 Oct.
    assert within_working_days(date(2026, 10, 16), date(2026, 10, 2), 10, ENG)
    assert not within_working_days(date(2026, 10, 19), date(2026, 10, 2), 10, ENG)


def test_zero_working_days_is_refused():
    with pytest.raises(ValueError):
        working_days_after(date(2026, 3, 9), 0, ENG)


# --- six months -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "start"),
    [
        (date(2028, 8, 31), date(2028, 2, 29)),  # leap year: clamp to 29 February
        (date(2027, 8, 31), date(2027, 2, 28)),
        (date(2026, 3, 31), date(2025, 9, 30)),
        (date(2026, 1, 15), date(2025, 7, 15)),
        (date(2026, 7, 1), date(2026, 1, 1)),
    ],
)
def test_six_months_before_clamps_to_the_end_of_a_shorter_month(reference, start):
    assert six_months_before(reference) == start


def test_within_six_months_before_includes_both_ends():
    reference = date(2028, 8, 31)
    assert within_six_months_before(date(2028, 2, 29), reference)
    assert within_six_months_before(reference, reference)
    assert not within_six_months_before(date(2028, 2, 28), reference)
    assert not within_six_months_before(date(2028, 9, 1), reference)


# --- local dates and instants ---------------------------------------------------------------


def test_late_evening_in_new_york_offset_is_the_next_day_in_london():
    assert local_date("2026-03-27T23:30:00-05:00", "Europe/London") == date(2026, 3, 28)


def test_early_morning_in_paris_offset_is_still_the_previous_day_in_toronto():
    # 01:00 UTC on 28 March 2026 is 21:00 EDT on 27 March.
    assert local_date("2026-03-28T02:00:00+01:00", "America/Toronto") == date(2026, 3, 27)
    assert local_date("2026-03-28T02:00:00+01:00", "Europe/London") == date(2026, 3, 28)


def test_a_bare_date_is_its_own_local_date():
    assert local_date("2026-03-28", "America/Toronto") == date(2026, 3, 28)


def test_hours_are_elapsed_time_across_the_spring_clock_change():
    # London moves to BST at 01:00 UTC on 29 March 2026; 48 elapsed hours ignore that.
    start = parse_date_time("2026-03-28T12:00:00+00:00")
    assert utc_text(hours_after(start, 48)) == "2026-03-30T12:00:00Z"


def test_utc_text_shows_microseconds_only_when_present():
    assert utc_text(datetime(2026, 3, 30, 9, 0, tzinfo=UTC)) == "2026-03-30T09:00:00Z"
    moment = datetime(2026, 3, 30, 9, 0, 0, 5000, tzinfo=UTC)
    assert utc_text(moment) == "2026-03-30T09:00:00.005000Z"


def test_a_date_stands_for_the_start_of_its_local_day():
    # Summer time in London: local midnight on 1 July is 23:00 UTC on 30 June.
    assert start_of_local_day(date(2026, 7, 1), "Europe/London") == datetime(
        2026, 6, 30, 23, 0, tzinfo=UTC
    )
    assert end_of_local_day(date(2026, 7, 1), "Europe/London") == datetime(
        2026, 7, 1, 22, 59, 59, 999999, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "text",
    ["2026-03-01T10:00:00", "2026-02-30T10:00:00Z", "2026-03-01", "2026-03-01T25:00:00Z", "x"],
)
def test_a_date_time_needs_an_offset_and_must_exist(text):
    with pytest.raises(ValueError):
        parse_date_time(text)


@pytest.mark.parametrize("text", ["2026-02-29", "2026-13-01", "26-03-01", "2026-3-1"])
def test_impossible_or_misshapen_dates_are_refused(text):
    with pytest.raises(ValueError):
        parse_date_fact(text)


# --- properties -----------------------------------------------------------------------------

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31))
counts = st.integers(min_value=1, max_value=40)
calendars = st.sampled_from([ENG, ON])


@given(days, counts, calendars)
def test_a_due_date_is_never_a_weekend_or_holiday(start, n, calendar_name):
    due = working_days_after(start, n, calendar_name)
    assert is_working_day(due, calendar_name)
    assert due > start


@given(days, counts, calendars)
def test_one_more_working_day_is_always_later(start, n, calendar_name):
    assert working_days_after(start, n + 1, calendar_name) > working_days_after(
        start, n, calendar_name
    )


@given(days, st.integers(min_value=1, max_value=20), counts, calendars)
def test_a_later_start_never_gives_an_earlier_due_date(start, gap, n, calendar_name):
    later = start + timedelta(days=gap)
    assert working_days_after(later, n, calendar_name) >= working_days_after(
        start, n, calendar_name
    )


@given(days, counts, calendars)
def test_exactly_n_working_days_lie_between_start_and_due(start, n, calendar_name):
    due = working_days_after(start, n, calendar_name)
    span = (due - start).days
    between = [start + timedelta(days=i) for i in range(1, span + 1)]
    assert sum(is_working_day(d, calendar_name) for d in between) == n


# --- local dates of UTC instants, by the hour -----------------------------------------------
# `local_date` answers an instant written in UTC from a memo of its UTC hour where the zone's
# offset holds through the hour; each answer must be what the instant itself gives.

ZONES = (
    "Europe/London",
    "America/Toronto",
    "Asia/Kolkata",
    "America/St_Johns",
    "Australia/Lord_Howe",
)


def _local_date_of_the_instant(text: str, timezone: str) -> date:
    from zoneinfo import ZoneInfo

    return parse_date_time(text).astimezone(ZoneInfo(timezone)).date()


@given(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2990, 12, 31)),
    st.sampled_from(ZONES),
    st.sampled_from(["", ".5", ".000001", ".999999", ".1234567891"]),
)
def test_the_local_date_of_a_utc_instant_is_the_instants_own(moment, timezone, fraction):
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"
    assert local_date(text, timezone) == _local_date_of_the_instant(text, timezone)


@pytest.mark.parametrize(
    ("text", "timezone", "expected"),
    [
        # Toronto: midnight local is 05:00 UTC in winter, 04:00 in summer.
        ("2026-01-15T04:59:59Z", "America/Toronto", date(2026, 1, 14)),
        ("2026-01-15T05:00:00Z", "America/Toronto", date(2026, 1, 15)),
        ("2026-07-15T03:59:59.999999Z", "America/Toronto", date(2026, 7, 14)),
        ("2026-07-15T04:00:00Z", "America/Toronto", date(2026, 7, 15)),
        # Kolkata (+05:30): local midnight falls at half past the UTC hour.
        ("2026-03-01T18:29:59Z", "Asia/Kolkata", date(2026, 3, 1)),
        ("2026-03-01T18:30:00Z", "Asia/Kolkata", date(2026, 3, 2)),
        # London's clocks go back at 01:00 UTC on 25 October 2026: the hour before is BST.
        ("2026-10-24T22:59:59Z", "Europe/London", date(2026, 10, 24)),
        ("2026-10-24T23:00:00Z", "Europe/London", date(2026, 10, 25)),
        ("2026-10-25T00:30:00Z", "Europe/London", date(2026, 10, 25)),
    ],
)
def test_local_midnight_inside_a_utc_hour_splits_it(text, timezone, expected):
    assert local_date(text, timezone) == expected
    assert local_date(text, timezone) == expected  # and again, from the memo


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-30T10:00:00Z",
        "2026-01-01T24:00:00Z",
        "3000-01-01T00:00:00Z",
        "2026-01-01T10:60:00Z",
    ],
)
def test_a_utc_instant_that_is_no_real_one_is_refused_as_before(text):
    with pytest.raises(ValueError):
        local_date(text, "Europe/London")
