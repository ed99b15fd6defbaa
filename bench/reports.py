"""Report time over many recorded decisions: reading the snapshot from a real ledger
(`reports.source.read_snapshot`, the adapter that scans every entry until the decision index
exists) and computing each report over it.

The decisions are built fast, in process: a few hundred real decisions from `rules.evaluate`
across the four policies, each recorded many times with new ids and dates through
`Ledger.append_many` (one commit per 5,000 entries); a third of them on cases of 1–3 decisions.

    .venv/bin/python bench/reports.py [--decisions 100000]

One run, 2026-12-05 (2 cores, shared; other suites running): 100,000 decisions (24,980 cases)
recorded in 18.7 s; read_snapshot 3.61 s (30.4 s through `Ledger.entries`, which re-checks each
entry's canonical form); register 1.84 s (the first report also groups the snapshot into cases),
routing 0.37 s, timeliness 0.24 s, serco-quarterly 0.24 s, repeat-complainers 0.04 s; CSV ≤ 0.1 s.
1,000,000 decisions (250,085 cases; load average ~6 from other suites): recorded in 335 s;
read_snapshot 112 s; register 34.1 s, routing 6.6 s, timeliness 5.3 s, serco-quarterly 5.2 s,
repeat-complainers 0.65 s; peak RSS 7.7 GiB. Far from the issue's 2 s: scanning every entry into
memory does not scale; a decision index (per-decision rows with policy, as_of, received_at,
purpose, route, stage, disposition, flags; per-case register rows) queried in SQL is needed.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

# Run as a script, this file's folder comes first on the path and its name hides the package.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import msgspec  # noqa: E402

import reports  # noqa: E402
import rules  # noqa: E402
from cases import CaseStore  # noqa: E402
from ledger import Ledger  # noqa: E402
from reports.source import read_snapshot  # noqa: E402

TEMPLATES = [
    ("wme", {"kind": "complaint", "category": "misconduct"}),
    ("wme", {"kind": "concern", "category": "service_quality"}),
    ("wme", {"kind": "complaint", "category": "service_quality", "complex": True}),
    ("serco-es", {"complainant_type": "client"}),
    ("serco-es", {"complainant_type": "service_provider", "urgent": True}),
    ("serco-es", {"complainant_type": "client", "unresolved_at_level": True}),
    ("cmg-employer-review", {"complainant_type": "employer"}),
    ("dwp-feedback", {}),
]
QUERIES = {
    "register": {"from": "2026-01-01", "to": "2026-03-31"},
    "routing": {"from": "2026-01-01", "to": "2026-12-31"},
    "timeliness": {},
    "serco-quarterly": {"quarter": "2026-Q2"},
    "repeat-complainers": {},
}


def sample_decisions(rng: random.Random, count: int = 300) -> list[tuple[dict, dict]]:
    """`count` real (decision, facts) pairs received on random days of 2026."""
    found = []
    while len(found) < count:
        policy, extra = rng.choice(TEMPLATES)
        received = date(2026, 1, 5) + timedelta(days=rng.randrange(330))
        facts = {"received_at": received.isoformat(), **extra}
        as_of = datetime(received.year, received.month, received.day, 15, tzinfo=UTC)
        try:
            decision = rules.evaluate(policy, facts, as_of + timedelta(days=rng.randrange(3)))
        except rules.InputError:
            continue
        found.append((msgspec.to_builtins(decision), facts))
    return found


def record(ledger: Ledger, cases: CaseStore, total: int, rng: random.Random) -> None:
    samples = sample_decisions(rng)
    documents = {p: rules.ruleset_document(p) for p in rules.policy_ids()}
    versions = {}
    for policy in rules.policy_ids():
        version = rules.policy_summaries()[rules.policy_ids().index(policy)].version
        versions[policy] = version
        body = {"policy": policy, "policy_version": version, "ruleset": documents[policy]}
        ledger.append("policy", body, ref=version)
    batch: list[tuple[str, dict]] = []
    case_rows = []
    written = 0
    while written < total:
        decision, facts = rng.choice(samples)
        case_id = uuid.uuid4().hex if rng.random() < 1 / 3 else None
        for _ in range(rng.randint(1, 3) if case_id else 1):
            body = {
                "decision_id": uuid.uuid4().hex,
                "policy": decision["policy"],
                "policy_version": decision["policy_version"],
                "as_of": decision["as_of"],
                "case_id": case_id,
                "facts": facts,
                "outcome": decision["outcome"],
                "reasons": decision["reasons"],
                "personal_commitment": None,
            }
            batch.append(("decision", body))
            written += 1
            if case_id:
                case_rows.append((case_id, decision, body["decision_id"], facts))
        if len(batch) >= 5000:
            ledger.append_many(batch)
            batch = []
    if batch:
        ledger.append_many(batch)
    store_cases(cases, case_rows)


def store_cases(cases: CaseStore, rows: list) -> None:
    """The case tables, written directly (the case store has no bulk insert)."""
    db = cases._db()  # noqa: SLF001 - a benchmark fills the tables as fast as it can
    db.execute("BEGIN")
    seen = set()
    for case_id, decision, decision_id, facts in rows:
        if case_id not in seen:
            seen.add(case_id)
            stamp = "2026-01-01T00:00:00.000000Z"
            db["case_cases"].insert({
                "case_id": case_id, "policy": decision["policy"],
                "facts": msgspec.json.encode(facts).decode(), "personal": "none",
                "personal_commitment": None, "created_at": stamp, "updated_at": stamp,
            })  # fmt: skip
        (seq,) = db.execute(
            "SELECT COUNT(*) FROM case_decisions WHERE case_id = ?", [case_id]
        ).fetchone()
        db["case_decisions"].insert({"case_id": case_id, "seq": seq, "decision_id": decision_id})
    db.execute("COMMIT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=100_000)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch)
        ledger = Ledger.open(data)
        cases = CaseStore(data, {p.id: p.timezone for p in rules.policy_summaries()})
        started = time.perf_counter()
        record(ledger, cases, args.decisions, rng)
        print(f"recorded {args.decisions:,} decisions in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        snapshot = read_snapshot(ledger, cases)
        read = time.perf_counter() - started
        print(
            f"read_snapshot: {read:.2f} s ({len(snapshot.decisions):,} decisions, "
            f"{len(snapshot.cases):,} cases, tree size {snapshot.tree_size:,})"
        )
        for name, query in QUERIES.items():
            parsed = reports.parse_query(name, query, rules.policy_ids())
            started = time.perf_counter()
            report = reports.compute(name, snapshot, parsed)
            computed = time.perf_counter() - started
            started = time.perf_counter()
            reports.to_csv(report)
            as_csv = time.perf_counter() - started
            rows = len(report.get("rows", [])) if name != "serco-quarterly" else "-"
            print(f"{name:>20}: compute {computed:6.2f} s, csv {as_csv:5.2f} s, rows {rows}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak:,.0f} MiB")
        ledger.close()


if __name__ == "__main__":
    main()
