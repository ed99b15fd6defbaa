"""Run every benchmark once, in this order, and print what each measured (`make bench`).

The machines are noisy: compare ratios measured within one run, never absolute numbers across
runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = [
    ["rules_soak.py", "100000"],
    ["ledger_growth.py", "--entries", "20000"],
    ["api_throughput.py", "--requests", "2000", "--concurrency", "8"],
]


def main() -> int:
    for script, *args in RUNS:
        print(f"== {script} {' '.join(args)}", flush=True)
        finished = subprocess.run(
            [sys.executable, str(HERE / script), *args], stderr=subprocess.DEVNULL
        )
        if finished.returncode != 0:
            return finished.returncode
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
