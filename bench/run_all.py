"""Run every benchmark once, in this order, and print what each measured (`make bench`).

About 25 minutes on a 2-core machine. The machines are noisy: compare ratios measured within
one run, never absolute numbers across runs.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
STACKS = "uvicorn-std,uvicorn-fast" + (",granian" if importlib.util.find_spec("granian") else "")
RUNS = [
    ["rules_soak.py", "100000"],
    # One typical WME complaint in process: the engine every time, and with its answers remembered.
    ["rules_latency.py", "20000"],
    ["store_scale.py", "--entries", "1000000", "--seconds", "5"],
    # `redress verify` as a subprocess at 100k and 1M entries: one process, two, one per core.
    ["verify_speed.py", "--jobs", "1", "2", "0"],
    # Which HTTP stack: one round each, one worker.
    ["http_stack.py", "--stacks", STACKS, "--rounds", "1", "--workers", "1"],
    # The chosen stack: bare vs Redress alternated twice, with one worker and with two.
    ["http_stack.py", "--stacks", "uvicorn-fast", "--rounds", "2", "--workers", "1,2"],
    # One worker under wrk -c32, twice: its CPU per decision and latency distribution (p50 to p99).
    ["decision_cpu.py", "--seconds", "8", "--rounds", "2"],
    # Reports over the decision index at 100,000 and 1,000,000 decisions.
    ["report_speed.py", "--decisions", "100000,1000000"],
]


def main() -> int:
    if shutil.which("wrk") is None:
        print("note: wrk is not installed, the HTTP benchmarks will skip (apt-get install -y wrk)")
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
