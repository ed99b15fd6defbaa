"""`redress verify` entries/s on ledgers of 100,000 and 1,000,000 entries, one process and
`--jobs 2` (`--jobs 0`: the default, one per core), run as a subprocess the way an officer runs
it; with the CPU seconds per entry of it and its workers, steadier than wall time on a shared
machine.

The ledgers are grown once through the writer's bulk path (10,000 entries per batch, one
signed checkpoint per batch, each decision with its own id so the id index is realistic) and
kept under --dir for the next run: a 1M ledger is ~800 MB and takes about a minute to grow.
`--source` runs another checkout's code on the same ledgers, for a before/after;
`--against` runs another checkout's and this one's back to back, each measurement in turn
(the machine is shared: alternated runs see the same load), and ends with their medians:

    git archive <commit> | tar -x -C /tmp/verifybench/base
    .venv/bin/python bench/verify_speed.py [--dir /tmp/verifybench] [--sizes 100000 1000000]
        [--jobs 1 2 0] [--repeat 1] [--source /tmp/verifybench/base | --against /work/main]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ledger import DB_FILE
from ledger.canonical import canonical_bytes
from ledger.store import Ledger

BATCH = 10_000


def decision_id(n: int) -> str:
    """A random-looking id, as the service's uuid4 hex ids are, but the same on every run."""
    return hashlib.sha256(b"%d" % n).hexdigest()[:32]


def body(n: int) -> dict:
    """A decision entry's body as the service writes it, its id unique to `n`."""
    return {
        "decision_id": decision_id(n),
        "policy": "wme",
        "policy_version": "sha256:" + "ab" * 32,
        # A time of its own (as a service's decisions have), the same width for every n.
        "as_of": f"2026-12-24T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z",
        "case_id": None,
        "facts": {"received_at": "2026-12-23", "kind": "complaint", "category": "misconduct"},
        "outcome": {"disposition": "accept", "stage": "stage_1", "deadlines": []},
        "reasons": [{"rule": "wme-1", "citation": "WME 3.1"}],
        "personal_commitment": None,
        "purpose": "complaint-routing",
        "key_id": None,
    }


def grow(data: Path, entries: int) -> None:
    """Append decisions until the ledger holds `entries` (the genesis entry included)."""
    ledger = Ledger.open(data)
    size = grown_from = ledger.tree_size()
    began = time.perf_counter()
    while size < entries:
        n = min(BATCH, entries - size)
        items = [(decision_id(i), canonical_bytes(body(i))) for i in range(size, size + n)]
        ledger.store.write(
            lambda tx, items=items: [tx.append("decision", raw, ref) for ref, raw in items]
        )
        size += n
    index_decisions(ledger, grown_from)
    ledger.close()
    print(f"# grew {data} to {entries} entries in {time.perf_counter() - began:.0f} s", flush=True)


def index_decisions(ledger: Ledger, start: int) -> None:
    """The decision-index rows the service writes with each decision, for the entries from
    `start` (`verify` holds the index to the entries); written apart from the appends, so that
    what a bench times of the appends is the appends alone."""
    from ledger.verify_chunks import policy_timezones
    from reports.index import index_from

    ledger.store.write(lambda tx: index_from(tx, policy_timezones(), start))


def ledger_of(root: Path, entries: int) -> Path:
    data = root / str(entries)
    if not (data / DB_FILE).exists() or _size(data) < entries:
        grow(data, entries)
    return data


def _size(data: Path) -> int:
    ledger = Ledger.open(data)
    try:
        return ledger.tree_size()
    finally:
        ledger.close()


def verify_rate(
    data: Path, entries: int, jobs: int | None, source: Path | None = None
) -> tuple[int, float, float]:
    """(entries/s, seconds, CPU µs per entry) of `redress verify --data-dir DATA [--jobs N]` in
    its own process; with `source`, the code of that checkout (e.g. `git archive` of an older
    commit) runs."""
    command = [str(Path(sys.executable).with_name("redress")), "verify", "--data-dir", str(data)]
    env = None
    if source is not None:
        run = "import sys; from redress.cli import main; sys.exit(main())"
        command = [sys.executable, "-c", run, *command[1:]]
        env = os.environ | {"PYTHONPATH": str(source)}
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    cpu_before = _children_cpu()
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=source)
    elapsed = time.perf_counter() - began
    cpu = _children_cpu() - cpu_before
    ok = done.returncode == 0 and f"ok: {entries} entries" in done.stdout
    assert ok, done.stdout + done.stderr
    return round(entries / elapsed), round(elapsed, 2), round(cpu / entries * 1e6, 2)


def _children_cpu() -> float:
    """User + system seconds of the finished subprocesses (and their `--jobs` workers): the
    machine is shared, so CPU per entry is the steadier figure next to the wall-clock rate."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/verifybench"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--jobs", type=int, nargs="+", default=[1, 2], help="0 runs without --jobs (the default)"
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--source", type=Path, help="run the redress of this checkout instead (a baseline)"
    )
    parser.add_argument(
        "--against", type=Path, help="alternate this checkout with that one (the before)"
    )
    args = parser.parse_args()
    codes = {"before": args.against, "after": None} if args.against else {None: args.source}
    rows: list[dict] = []
    for entries in args.sizes:
        data = ledger_of(args.dir, entries)
        for _ in range(args.repeat):
            for jobs in args.jobs:
                for code, source in codes.items():
                    rate, seconds, cpu = verify_rate(data, entries, jobs or None, source)
                    row = {"entries": entries, "jobs": jobs or "default", "verify_per_s": rate}
                    row |= {"seconds": seconds, "cpu_us_per_entry": cpu}
                    rows.append(row if code is None else {"code": code} | row)
                    print(json.dumps(rows[-1]), flush=True)
    if args.against:
        print_medians(rows)


def print_medians(rows: list[dict]) -> None:
    """The median rate and CPU per entry of each code, size and --jobs."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["entries"], row["jobs"], row["code"]), []).append(row)
    for (entries, jobs, code), runs in groups.items():
        rate = round(statistics.median(r["verify_per_s"] for r in runs))
        cpu = round(statistics.median(r["cpu_us_per_entry"] for r in runs), 2)
        median = {"median_of": len(runs), "verify_per_s": rate, "cpu_us_per_entry": cpu}
        print(json.dumps({"code": code, "entries": entries, "jobs": jobs} | median), flush=True)


if __name__ == "__main__":
    main()
