"""`redress verify` entries/s on ledgers of 100,000 and 1,000,000 entries, one process and
`--jobs 2`, run as a subprocess the way an officer runs it.

The ledgers are grown once through the writer's bulk path (10,000 entries per batch, one
signed checkpoint per batch, each decision with its own id so the id index is realistic) and
kept under --dir for the next run: a 1M ledger is ~800 MB and takes minutes to grow.

    .venv/bin/python bench/verify_speed.py [--dir /tmp/verifybench] [--sizes 100000 1000000]
        [--jobs 1 2] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from ledger import DB_FILE
from ledger.canonical import canonical_bytes
from ledger.store import Ledger

BATCH = 10_000


def body(n: int) -> dict:
    """A decision entry's body as the service writes it, its id unique to `n`."""
    return {
        "decision_id": f"{n:032x}",
        "policy": "wme",
        "policy_version": "sha256:" + "ab" * 32,
        "as_of": "2026-12-24T09:00:00Z",
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
    size = ledger.tree_size()
    began = time.perf_counter()
    while size < entries:
        n = min(BATCH, entries - size)
        items = [(f"{i:032x}", canonical_bytes(body(i))) for i in range(size, size + n)]
        ledger.store.write(
            lambda tx, items=items: [tx.append("decision", raw, ref) for ref, raw in items]
        )
        size += n
    ledger.close()
    print(f"# grew {data} to {entries} entries in {time.perf_counter() - began:.0f} s", flush=True)


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


def verify_rate(data: Path, entries: int, jobs: int | None) -> tuple[int, float]:
    """(entries/s, seconds) of `redress verify --data-dir DATA [--jobs N]` in its own process."""
    command = [str(Path(sys.executable).with_name("redress")), "verify", "--data-dir", str(data)]
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - began
    ok = done.returncode == 0 and f"ok: {entries} entries" in done.stdout
    assert ok, done.stdout + done.stderr
    return round(entries / elapsed), round(elapsed, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/verifybench"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--jobs", type=int, nargs="+", default=[1, 2], help="0 runs without --jobs (the default)"
    )
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    for entries in args.sizes:
        data = ledger_of(args.dir, entries)
        for jobs in args.jobs:
            for _ in range(args.repeat):
                rate, seconds = verify_rate(data, entries, jobs or None)
                row = {"entries": entries, "jobs": jobs or "default", "verify_per_s": rate}
                print(json.dumps(row | {"seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
