"""The one clock: every package that needs the current time reads it here.

`now()` is the instant, `now_text()` its stored form, `unix_seconds()` and `unix_millis()` the
same instant as a number (log lines, witness timestamps, time-ordered ids). Keeping every
reading in one module means one place decides what "now" is (UTC, never the machine's zone)
and one format for the instants stored as text.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

# Fixed width (microseconds always written), so stored instants compare correctly as text.
INSTANT = "%Y-%m-%dT%H:%M:%S.%fZ"


def now() -> datetime:
    """The current instant, in UTC."""
    return datetime.now(UTC)


def instant_text(instant: datetime) -> str:
    """`instant` as stored text: UTC, fixed width (`INSTANT`)."""
    return instant.astimezone(UTC).strftime(INSTANT)


def now_text() -> str:
    """The current instant as stored text (`instant_text`)."""
    return datetime.now(UTC).strftime(INSTANT)


def unix_seconds() -> float:
    """Seconds since 1970 (UTC), with their fraction."""
    return time.time()


def unix_millis() -> int:
    """Whole milliseconds since 1970 (UTC)."""
    return time.time_ns() // 1_000_000
