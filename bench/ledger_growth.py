"""Ledger appends per second, and proof cost as the tree grows.

Proofs are built from stored subtree hashes, so fetching one should cost about the same at
1,000 entries as at 100,000 (O(log n) node reads), while the reference that rebuilds the tree
grows linearly. Appends are durable (WAL, synchronous=FULL), one transaction each.

    .venv/bin/python bench/ledger_growth.py [--entries 20000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from ledger import Ledger


def timed(fn, repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - started) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20000)
    args = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as scratch:
        ledger = Ledger.open(Path(scratch))
        checkpoints = sorted({10**k for k in range(2, 7) if 10**k <= args.entries} | {args.entries})
        appended = ledger.tree_size()
        started = time.perf_counter()
        for target in checkpoints:
            while appended < target:
                ledger.append("key", {"purpose": "bench", "n": appended})
                appended += 1
            size = ledger.tree_size()
            per_inclusion = timed(
                lambda size=size: ledger.inclusion_proof(rng.randrange(size), size), 200
            )
            per_consistency = timed(
                lambda size=size: ledger.consistency_proof(rng.randrange(1, size), size), 200
            )
            print(
                f"size {size:>8}: inclusion proof {per_inclusion * 1e6:8.1f} µs, "
                f"consistency proof {per_consistency * 1e6:8.1f} µs"
            )
        elapsed = time.perf_counter() - started
        print(f"appends: {appended / elapsed:.0f}/s durable, one commit each (incl. proof timing)")


if __name__ == "__main__":
    main()
