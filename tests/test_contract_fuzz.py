"""Contract fuzzing: schemathesis against a real server on loopback, every check, positive and
negative data, authenticated, with a fixed seed.

422 is the answer for a well-formed request whose facts the policy rejects (free-form `facts`
are checked per policy), so tests/schemathesis.toml lets positive data be answered 422; it does
not allow 400 or any 5xx for positive data.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CONFIG = Path(__file__).parent / "schemathesis.toml"
SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")


def schemathesis_command(base_url: str, key: str, report_dir: Path) -> list[str]:
    """What a tester runs against a deployed instance (with its base URL and an admin key)."""
    return [
        SCHEMATHESIS,
        "--config-file",
        str(CONFIG),
        "run",
        f"{base_url}/schema/openapi.json",
        "--url",
        base_url,
        "--checks",
        "all",
        "--mode",
        "all",
        "-H",
        f"Authorization: Bearer {key}",
        "--max-examples",
        "100",
        "--seed",
        "20261224",
        "--workers",
        "2",
        "--report",
        "junit",
        "--report-dir",
        str(report_dir),
    ]


@pytest.mark.fuzz
def test_the_server_keeps_its_published_contract(live_server, tmp_path):
    command = schemathesis_command(live_server.base_url, live_server.admin_key, tmp_path)
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
