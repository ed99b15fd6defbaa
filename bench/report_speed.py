"""Report time over many recorded decisions, read from the store's decision index and case
tables (`reports.stored.compute_stored`, what `GET /v1/reports/{name}` and `redress report` run).

The data is built fast, in process, by direct store writes: a few hundred real decisions from
`rules.evaluate` across the four policies, each indexed many times with new ids and dates
(`tx.index_decision`, 20,000 a write job); a third of them on cases of 1–3 decisions with their
case row and register (`tx.put_case`, `tx.replace_obligations`), complainants drawn from a pool
so that some repeat. The ledger itself holds only the policy entries: its growth is measured by
`store_scale.py`; reports never scan it.

    .venv/bin/python bench/report_speed.py [--decisions 100000,1000000] [--keep DIR]
        [--only register] [--out FILE]

Each report is computed with the query in `QUERIES` (plus the register over one month), twice
(the first run warms SQLite's page cache; both are printed); then peak RSS of the process.
`--keep DIR` builds each data set once into DIR/<decisions> and reuses it on later runs (ids
are random: a rebuilt data set is another); `--only` keeps the reports named; `--out FILE`
writes every report as JSON, one line each, computed at a fixed instant, so that the outputs of
two versions of the code over the same data compare byte for byte.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import resource
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO

import msgspec

import reports
import rules
from cases.store import stored_rows
from ledger import Ledger
from reports.index import index_entry
from reports.obligations import derive_register
from reports.stored import compute_stored
from store import open_store

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
QUERIES = [
    ("register", {"from": "2026-03-01", "to": "2026-03-31"}),
    ("register", {"from": "2026-01-01", "to": "2026-03-31"}),
    ("routing", {"from": "2026-01-01", "to": "2026-12-31"}),
    ("timeliness", {}),
    ("serco-quarterly", {"quarter": "2026-Q2"}),
    ("repeat-complainers", {}),
]
JOB = 20_000
NOW = datetime(2026, 12, 31, 12, tzinfo=UTC)  # the reports' instant: outputs compare across runs
BUILT = "built"  # the marker of a finished data set under --keep


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


def body_of(decision: dict, facts: dict, case_id: str | None) -> dict:
    return {
        "decision_id": uuid.uuid4().hex,
        "policy": decision["policy"],
        "as_of": decision["as_of"],
        "case_id": case_id,
        "facts": facts,
        "outcome": decision["outcome"],
        "purpose": "live",
    }


def build(store, total: int, rng: random.Random, timezones: dict[str, str]) -> int:
    """Index `total` decisions (and write their cases); returns the number of cases."""
    samples = sample_decisions(rng)
    people = max(10, total // 40)
    written, cases, index = 0, 0, 1000
    while written < total:
        jobs: list = []
        while len(jobs) < JOB and written < total:
            decision, facts = rng.choice(samples)
            timezone = timezones[decision["policy"]]
            if rng.random() >= 1 / 3:
                jobs.append(("index", index_entry(index, body_of(decision, facts, None), timezone)))
                index, written = index + 1, written + 1
                continue
            case_id, bodies = uuid.uuid4().hex, []
            for _ in range(rng.randint(1, 3)):
                bodies.append(body_of(decision, facts, case_id))
                jobs.append(("index", index_entry(index, bodies[-1], timezone)))
                index, written = index + 1, written + 1
            register = derive_register(bodies, facts, timezone)
            row = {
                "case_id": case_id, "policy": decision["policy"], "purpose": "live",
                "state": "open", "facts": msgspec.json.encode(facts).decode(),
                "complainant": f"person-{rng.randrange(people)}",
                "opened_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
                "latest_decision_id": bodies[-1]["decision_id"],
            }  # fmt: skip
            jobs.append(("case", (row, stored_rows(register, timezone))))
            cases += 1

        def job(tx, jobs: list = jobs) -> None:
            for kind, item in jobs:
                if kind == "index":
                    tx.index_decision(*item)
                else:
                    tx.put_case(item[0], None)
                    tx.replace_obligations(item[0]["case_id"], item[1])

        store.write(job)
    return cases


def measure(store, ledger: Ledger, only: set[str] | None, out: IO[bytes] | None) -> None:
    for name, query in QUERIES:
        if only is not None and name not in only:
            continue
        parsed = reports.parse_query(name, query, rules.policy_ids())
        times, cpu = [], []
        for _ in range(2):
            started, used = time.perf_counter(), time.process_time()
            report = compute_stored(name, store, ledger.root_hash, parsed, NOW)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - used)
        rows = len(report.get("rows", [])) if name != "serco-quarterly" else "-"
        label = f"{name} {query}"
        # CPU time beside the wall clock: on a shared machine the wall clock counts the others.
        print(f"{label:>60}: {times[0]:6.2f} s, again {times[1]:6.2f} s (CPU {cpu[0]:.2f}, "
              f"{cpu[1]:.2f} s), rows {rows}", flush=True)  # fmt: skip
        if out is not None:
            out.write(msgspec.json.encode(report) + b"\n")


def data_set(data: Path, total: int, timezones: dict[str, str]) -> None:
    """Build `total` decisions into `data`, unless an earlier run finished building them."""
    if (data / BUILT).exists():
        print(f"== {total:,} decisions, kept in {data}", flush=True)
        return
    store = open_store(data)
    started = time.perf_counter()
    cases = build(store, total, random.Random(7), timezones)
    store.close()
    (data / BUILT).write_text(f"{total} decisions, {cases} cases\n")
    print(f"== {total:,} decisions ({cases:,} cases) indexed in "
          f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", default="100000,1000000")
    parser.add_argument("--keep", type=Path, help="build each data set once, here, and reuse it")
    parser.add_argument("--only", help="the reports to run, by name, comma-separated")
    parser.add_argument("--out", type=Path, help="write each report as one line of JSON")
    args = parser.parse_args()
    timezones = {p.id: p.timezone for p in rules.policy_summaries()}
    only = None if args.only is None else set(args.only.split(","))
    out = None if args.out is None else args.out.open("wb")
    for total in (int(n) for n in args.decisions.split(",")):
        with contextlib.ExitStack() as stack:
            if args.keep is None:
                data = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            else:
                data = args.keep / str(total)
                data.mkdir(parents=True, exist_ok=True)
            data_set(data, total, timezones)
            store = open_store(data)
            ledger = Ledger.open(data, store)
            measure(store, ledger, only, out)
            ledger.close()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS so far {peak:,.0f} MiB", flush=True)
    if out is not None:
        out.close()


if __name__ == "__main__":
    main()
