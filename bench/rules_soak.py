"""Soak the rules: many evaluations in one process, none may raise, memory must stay flat.

Usage: python bench/rules_soak.py COUNT
Prints evaluations per second and the resident set size before and after.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rules  # noqa: E402

AS_OF = "2026-06-15T12:00:00+01:00"

# A spread of inputs across the four policies, so every ruleset and most rules are exercised.
INPUTS: list[tuple[str, dict]] = [
    ("wme", {"received_at": "2026-06-01", "kind": "complaint", "complex": True}),
    (
        "wme",
        {
            "received_at": "2026-05-01",
            "kind": "complaint",
            "category": "fraud",
            "stage_two_outcome_at": "2026-05-20",
            "appeal_requested_at": "2026-06-01T09:00:00+01:00",
        },
    ),
    ("wme", {"received_at": "2026-06-01", "kind": "concern", "category": "local_authority"}),
    (
        "dwp-feedback",
        {
            "received_at": "2026-06-01",
            "previous_complaints_same_issue": 1,
            "escalation_causes": ["failed_to_keep_promises"],
            "issue_occurred_at": "2026-03-01",
            "caseworkers": [
                {"id": "cw1", "last_opportunity_at": "2026-04-01"},
                {"id": "cw2", "last_opportunity_at": "2026-04-02", "team_leader": "tl2"},
            ],
            "form_received_at": "2026-06-14T09:00:00+01:00",
        },
    ),
    (
        "cmg-employer-review",
        {
            "received_at": "2026-06-01",
            "complainant_type": "employer",
            "payment_related": True,
            "previous_complaints": [{"received_at": "2026-01-10"}, {"received_at": "2026-03-01"}],
            "channel": "phone",
            "all_actions_taken_at_resolution": False,
            "resolution_plan_issued_at": "2026-06-05",
        },
    ),
    ("serco-es", {"received_at": "2026-05-01", "complainant_type": "service_provider"}),
    (
        "serco-es",
        {"received_at": "2026-06-01", "complainant_type": "client", "unresolved_at_level": True},
    ),
]


def rss_kib() -> int:
    """Resident set size of this process, in KiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    # Warm up: imports, holiday tables, registered rulesets.
    for policy, facts in INPUTS:
        rules.evaluate(policy, facts, AS_OF)
    before = rss_kib()
    started = time.perf_counter()
    for i in range(count):
        policy, facts = INPUTS[i % len(INPUTS)]
        rules.evaluate(policy, facts, AS_OF)
    elapsed = time.perf_counter() - started
    after = rss_kib()
    print(f"evaluations: {count}")
    print(f"evaluations/s: {count / elapsed:,.0f}")
    print(f"rss before: {before / 1024:.1f} MiB")
    print(f"rss after: {after / 1024:.1f} MiB ({(after - before) / 1024:+.1f} MiB)")


if __name__ == "__main__":
    main()
