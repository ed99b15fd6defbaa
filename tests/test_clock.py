"""The one clock (`clock`): its text sorts as its instants do, and no other module reads the
system's time itself."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import clock

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = [p.parent for p in ROOT.glob("*/__init__.py") if p.parent.name not in {"tests", "bench"}]
# Calls that read the system's clock; `time.monotonic`/`perf_counter` measure intervals, not time.
CLOCK_READS = {("datetime", "now"), ("datetime", "utcnow"), ("date", "today"), ("time", "time"),
               ("time", "time_ns"), ("datetime", "today")}  # fmt: skip


def test_now_is_an_aware_utc_instant():
    before = datetime.now(UTC)
    at = clock.now()
    assert at.tzinfo is UTC
    assert before <= at <= datetime.now(UTC)


def test_instant_text_is_fixed_width_utc():
    # A whole second still writes its microseconds, so texts compare as their instants do.
    assert clock.instant_text(datetime(2026, 1, 5, 9, 0, tzinfo=UTC)) == (
        "2026-01-05T09:00:00.000000Z"
    )
    london_summer = timezone(timedelta(hours=1))
    assert clock.instant_text(datetime(2026, 7, 1, 10, 30, 0, 5, tzinfo=london_summer)) == (
        "2026-07-01T09:30:00.000005Z"
    )


def test_instant_texts_sort_as_their_instants():
    start = datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC)
    instants = [start + timedelta(microseconds=n * 250_001) for n in range(50)]
    texts = [clock.instant_text(i) for i in instants]
    assert sorted(texts) == texts
    assert len({len(t) for t in texts}) == 1


def test_now_text_and_unix_readings_agree():
    text, seconds, millis = clock.now_text(), clock.unix_seconds(), clock.unix_millis()
    parsed = datetime.strptime(text, clock.INSTANT).replace(tzinfo=UTC)
    assert abs(parsed.timestamp() - seconds) < 5
    assert abs(millis / 1000 - seconds) < 5


def clock_reads(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", None)
            if (name, node.func.attr) in CLOCK_READS:
                found.append(f"{path.relative_to(root)}:{node.lineno} {name}.{node.func.attr}()")
    return found


def test_no_module_but_clock_reads_the_system_time():
    reads = [
        read
        for package in PACKAGES
        if package.name != "clock"
        for path in package.rglob("*.py")
        for read in clock_reads(path)
    ]
    assert reads == [], "read the time through `clock` instead"


def test_the_scan_finds_a_module_reading_the_time_itself(tmp_path):
    # The guard above must be able to fail.
    stray = tmp_path / "stray.py"
    stray.write_text(
        "import time\nfrom datetime import UTC, date, datetime\n"
        "stamp = datetime.now(UTC)\nday = date.today()\nseconds = time.time()\n"
    )
    assert clock_reads(stray, tmp_path) == [
        "stray.py:3 datetime.now()",
        "stray.py:4 date.today()",
        "stray.py:5 time.time()",
    ]
