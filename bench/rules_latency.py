"""Latency of one `rules.evaluate` on a typical WME complaint, in process (issue 10).

Usage: python bench/rules_latency.py [COUNT] [--profile]
Prints the median and p99 of COUNT timed evaluations (after a warm-up), first with durable_rules
matching the message on every evaluation (the memo of its answers emptied before each: the
number issue 10's target is about), then with the memo (the same kind of complaint seen before:
the engine's answer reused); with --profile, where the time goes when the engine runs every
time (cProfile, by own time).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rules  # noqa: E402
from rules import engine  # noqa: E402

AS_OF = "2026-12-24T09:00:00Z"
# A complaint about staff conduct, received by phone two days earlier, acknowledged already.
TYPICAL = {
    "received_at": "2026-12-22T10:15:00+00:00",
    "kind": "complaint",
    "category": "staff_conduct",
    "in_writing": False,
    "complex": True,
    "acts": {"acknowledge": "2026-12-23"},
}


def measure(count: int, engine_each_time: bool = False) -> list[float]:
    """Microseconds per evaluation; `engine_each_time`: forget remembered matches first (not
    timed), so every evaluation has durable_rules match its message."""
    for _ in range(500):
        rules.evaluate("wme", TYPICAL, AS_OF)
    times = []
    clock = time.perf_counter_ns
    for _ in range(count):
        if engine_each_time:
            engine.forget()
        start = clock()
        rules.evaluate("wme", TYPICAL, AS_OF)
        times.append((clock() - start) / 1000)
    return times


def main() -> None:
    count = int(next((a for a in sys.argv[1:] if a.isdigit()), "20000"))
    if "--profile" in sys.argv:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(measure, count, engine_each_time=True)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return
    for label, cold in (("durable_rules every time", True), ("engine answer memo", False)):
        times = sorted(measure(count, engine_each_time=cold))
        p99 = times[int(len(times) * 0.99) - 1]
        print(
            f"rules.evaluate, typical WME complaint, {label}, {count} runs: "
            f"median {statistics.median(times):.1f} µs, p99 {p99:.1f} µs"
        )


if __name__ == "__main__":
    main()
