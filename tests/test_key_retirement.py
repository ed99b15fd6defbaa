"""A server whose signing key is retired while it runs signs nothing more.

`keys rotate-signing` appends the rotation while the old key still signs; from then on only the
new key may sign checkpoints, and `verify` refuses one a retired key signed. A node that was
running all along (beside the rotation on one box, or on another machine sharing the
PostgreSQL database) still holds the old key in memory: its writer sees the rotation among the
entries another process appended, and from then on each of its writes fails with 503, naming
the key in force, until it restarts with that key. Run on both stores.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from conftest import COMPLAINT, bearer, free_port, wait_until_healthy

from api.keys import create_key
from ledger.keys import PUBLIC_KEY_FILE

REDRESS = str(Path(sys.executable).parent / "redress")


def redress(*args: str) -> subprocess.CompletedProcess[str]:
    # The environment carries the test's REDRESS_DATABASE_URL on PostgreSQL.
    return subprocess.run([REDRESS, *args], capture_output=True, text=True, timeout=120)


@contextmanager
def serving(data: Path, *options: str) -> Iterator[str]:
    port = free_port()
    command = [REDRESS, "serve", "--data-dir", str(data), "--port", str(port), *options]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, server)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def verify_strict(data: Path, store_url: str, public_key: Path) -> subprocess.CompletedProcess:
    where = ["--data-dir", str(data)] if store_url == "sqlite" else ["--database", store_url]
    return redress("verify", *where, "--public-key", str(public_key), "--strict")


def test_a_running_server_whose_key_is_retired_refuses_to_write(tmp_path, store_url):
    data = tmp_path / "data"
    decide = bearer(create_key(data, "decide"))
    genesis = tmp_path / "genesis.key"
    genesis.write_text((data / PUBLIC_KEY_FILE).read_text())
    new_key = tmp_path / "elsewhere" / "signing.key"

    with serving(data) as base:
        before = httpx.post(f"{base}/v1/decisions", json=COMPLAINT, headers=decide)
        assert before.status_code == 201, before.text
        # An API key made beside the server is a `key` entry too, but retires nothing.
        audit = bearer(create_key(data, "audit"))
        still = httpx.post(f"{base}/v1/decisions", json=COMPLAINT, headers=decide)
        assert still.status_code == 201, still.text

        rotated = redress(
            "keys", "rotate-signing", "--data-dir", str(data), "--new-key", str(new_key)
        )
        assert rotated.returncode == 0, rotated.stderr
        in_force = rotated.stdout.strip()
        size = httpx.get(f"{base}/v1/ledger/checkpoint", headers=audit).json()["tree_size"]

        refused = httpx.post(f"{base}/v1/decisions", json=COMPLAINT, headers=decide)
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "was retired by a rotation" in refused.json()["detail"]
        assert in_force in refused.json()["detail"]
        not_ready = httpx.get(f"{base}/ready")
        assert not_ready.status_code == 503 and in_force in not_ready.json()["detail"]
        again = httpx.get(f"{base}/v1/ledger/checkpoint", headers=audit).json()["tree_size"]
        assert again == size  # the refused decision recorded nothing

    # Every checkpoint was signed by the key in force at the time.
    checked = verify_strict(data, store_url, genesis)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # Given the new key, the same node records again.
    with serving(data, "--signing-key", str(new_key)) as base:
        assert httpx.get(f"{base}/ready").status_code == 200
        after = httpx.post(f"{base}/v1/decisions", json=COMPLAINT, headers=decide)
        assert after.status_code == 201, after.text
    checked = verify_strict(data, store_url, genesis)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # The key an officer is given now (`public.key`, the new one) verifies the same ledger: the
    # new key's checkpoints vouch for every entry before them, the old key's included.
    current = data / PUBLIC_KEY_FILE
    assert current.read_text() != genesis.read_text()
    checked = verify_strict(data, store_url, current)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_key_handed_over_to_that_has_signed_nothing_vouches_for_nothing(tmp_path, store_url):
    """Right after a rotation, before the new key signed a checkpoint, that key cannot be the
    trust anchor: nothing it signed covers the ledger (the genesis key still verifies it)."""
    data = tmp_path / "data"
    create_key(data, "decide")
    genesis = tmp_path / "genesis.key"
    genesis.write_text((data / PUBLIC_KEY_FILE).read_text())
    rotated = redress(
        "keys", "rotate-signing", "--data-dir", str(data), "--new-key", str(tmp_path / "new.key")
    )
    assert rotated.returncode == 0, rotated.stderr
    refused = verify_strict(data, store_url, data / PUBLIC_KEY_FILE)
    assert refused.returncode == 1
    assert "has signed no checkpoint since" in refused.stdout + refused.stderr
    assert verify_strict(data, store_url, genesis).returncode == 0
