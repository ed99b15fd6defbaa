"""A deadline's status is exactly what its due, its act (`done_at`) and `as_of` say
(POLICIES.md, "Deadlines, obligations and acts"), for date and for hours deadlines.

The expected status is worked out here from the decision's own `due` with the standard library
only (zoneinfo local dates and aware datetimes), independently of `rules.calendar`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

import rules

LONDON = ZoneInfo("Europe/London")
OFFSETS = st.sampled_from(["Z", "+01:00", "-05:00", "+05:30", "-10:00"])


def _text(instant: datetime, offset: str) -> str:
    if offset == "Z":
        return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sign = 1 if offset[0] == "+" else -1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    return instant.astimezone(zone).isoformat()


def _local_date(text: str) -> date:
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(LONDON).date()


def _instant(text: str) -> datetime:
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=LONDON)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@st.composite
def _moment_after(draw, start: datetime, within: timedelta) -> datetime:
    seconds = draw(st.integers(min_value=0, max_value=int(within.total_seconds())))
    return start + timedelta(seconds=seconds)


@st.composite
def _act(draw, earliest: datetime, latest: datetime) -> str | None:
    """No act, a bare London date, or a date-time in some offset, between the two instants."""
    choice = draw(st.sampled_from(["none", "date", "date-time"]))
    if choice == "none":
        return None
    moment = draw(_moment_after(earliest, latest - earliest))
    if choice == "date":
        return moment.astimezone(LONDON).date().isoformat()
    return _text(moment, draw(OFFSETS))


@settings(max_examples=150, deadline=None)
@given(data=st.data(), received=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 6, 30)))
def test_a_date_deadline_status_compares_local_dates(data, received: date):
    """WME `acknowledge` (a date): met/late by the act's London date, open/overdue by as_of's."""
    start = datetime(received.year, received.month, received.day, tzinfo=LONDON)
    as_of = data.draw(_moment_after(start, timedelta(days=20)))
    act = data.draw(_act(start, as_of))
    facts: dict = {"received_at": received.isoformat(), "kind": "comment"}
    if act is not None:
        facts["acts"] = {"acknowledge": act}
    decision = rules.evaluate("wme", facts, _text(as_of, data.draw(OFFSETS)))
    (deadline,) = decision.outcome.deadlines
    due = date.fromisoformat(deadline.due)
    if act is None:
        expected = "open" if as_of.astimezone(LONDON).date() <= due else "overdue"
    else:
        expected = "met" if _local_date(act) <= due else "late"
    assert (deadline.kind, deadline.status, deadline.done_at) == ("obligation", expected, act)


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    form=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC)
    ),
)
def test_an_hours_deadline_status_compares_instants(data, form: datetime):
    """DWP `team_leader_action` (48 hours): a date act stands for the start of its London day;
    exactly at due is on time."""
    form = form.replace(microsecond=0)
    received = form.astimezone(LONDON).date()
    start = datetime(received.year, received.month, received.day, tzinfo=LONDON)
    as_of = data.draw(
        st.one_of(st.just(form + timedelta(hours=48)), _moment_after(form, timedelta(hours=96)))
    )
    act = data.draw(st.one_of(st.just(_text(form + timedelta(hours=48), "Z")), _act(start, as_of)))
    if act is not None and _instant(act) > as_of:
        act = None
    facts: dict = {"received_at": received.isoformat(), "form_received_at": _text(form, "Z")}
    if act is not None:
        facts["acts"] = {"team_leader_action": act}
    decision = rules.evaluate("dwp-feedback", facts, _text(as_of, "Z"))
    (deadline,) = decision.outcome.deadlines
    due = datetime.fromisoformat(deadline.due.replace("Z", "+00:00"))
    assert due == form + timedelta(hours=48)
    if act is None:
        expected = "open" if as_of <= due else "overdue"
    else:
        expected = "met" if _instant(act) <= due else "late"
    assert (deadline.kind, deadline.status, deadline.done_at) == ("obligation", expected, act)
