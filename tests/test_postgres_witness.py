"""Witnessing and verify's table checks on the PostgreSQL store: `redress serve --database …
--witness VKEY=URL` publishes cosigned checkpoints, `export --database --cosigned` and
`verify --database --witness-key` read them, and verify names tampered case and key tables
(never the decision index or console sessions, which it does not trust or read)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
from conftest import COMPLAINT, LIVE_COMPLAINT, bearer
from litestar.testing import TestClient
from witnessed import cosigned_by, log_process, wait_for, witness_process

from api.app import create_app
from api.keys import create_key
from ledger.cosignature import CosignatureSigner, add_cosignatures, sign_cosignature
from ledger.keys import PUBLIC_KEY_FILE
from ledger.note import split_note
from ledger.store import Ledger
from ledger.verify import CASE_MISMATCH, KEY_MISMATCH, verify_database_trusted

REDRESS = str(Path(sys.executable).parent / "redress")


def redress(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([REDRESS, *args], capture_output=True, text=True, timeout=120)


def test_a_stored_checkpoint_only_ever_gains_cosignatures(tmp_path, store_url):
    """`attach_cosignatures` on PostgreSQL: a note is replaced only by the same checkpoint with
    every line it had and more; `latest_cosigned_checkpoint` finds it."""
    ledger = Ledger.open(tmp_path / "data")
    try:
        stored, size = ledger.checkpoint(), ledger.tree_size()
        text = split_note(stored)[0]
        a, b = (CosignatureSigner.generate(f"w{i}.example/w") for i in (1, 2))
        with_a = add_cosignatures(stored, [sign_cosignature(a, text, 1_700_000_000)])
        with_b = add_cosignatures(stored, [sign_cosignature(b, text, 1_700_000_000)])
        with_both = add_cosignatures(with_a, [sign_cosignature(b, text, 1_700_000_000)])

        def attach(note: str) -> bool:
            return ledger.store.write(lambda tx: tx.attach_cosignatures(size, note))

        assert attach(with_a)
        assert not attach(with_a) and not attach(with_b) and not attach(stored)
        assert attach(with_both)
        with ledger.store.read() as tx:
            assert tx.latest_cosigned_checkpoint().note == with_both
            assert tx.latest_cosigned_checkpoint(size + 1) is None
    finally:
        ledger.close()


def test_serve_on_the_database_with_a_witness(tmp_path, store_url):
    """Issue 12 on PostgreSQL: the node asks the witness to cosign, publishes the cosigned
    checkpoint, and an auditor verifies the database and its cosigned export with the
    witness's key alone."""
    data = tmp_path / "data"
    Ledger.open(data).close()
    log_vkey = (data / PUBLIC_KEY_FILE).read_text().strip()
    with (
        witness_process(tmp_path / "w", log_vkey) as witness,
        log_process(data, [witness]) as log,
    ):
        answers = log.decide(4)
        assert [a.status_code for a in answers] == [201] * 4
        grown = answers[-1].json()["ledger"]["index"] + 1

        def cosigned_at_head() -> dict | None:
            published = log.published()
            named = cosigned_by(published["checkpoint"], log_vkey, [witness])
            return published if named and published["tree_size"] >= grown else None

        wait_for(cosigned_at_head)
    vkey = tmp_path / "witness.vkey"
    vkey.write_text(witness.vkey + "\n")
    trusted = ["--public-key", str(data / PUBLIC_KEY_FILE), "--witness-key", str(vkey)]
    checked = redress("verify", "--database", store_url, *trusted)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "covered by a checkpoint cosigned by" in checked.stdout
    assert "id index, decision index, cases and keys match" in checked.stdout

    out = tmp_path / "cosigned.jsonl"
    exported = redress(
        "export", "--data-dir", str(data), "--database", store_url, "--cosigned", "--out", str(out)
    )
    assert exported.returncode == 0, exported.stderr
    strict = redress("verify", "--export", str(out), *trusted, "--strict")
    assert strict.returncode == 0, strict.stdout + strict.stderr


def test_verify_database_names_tampered_tables_and_ignores_sessions(tmp_path, store_url):
    """issue 12's table checks on PostgreSQL: an edited decision index, a case's facts or an
    unrecorded key are named (CONTRACT.md: "`verify` checks every table the API answers
    from"); console sessions are private, not the ledger's, and are not read."""
    decide = bearer(create_key(tmp_path, "decide"))
    with TestClient(create_app(tmp_path)) as client:
        assert client.post("/v1/decisions", json=COMPLAINT, headers=decide).status_code == 201
        case = client.post("/v1/cases", json=LIVE_COMPLAINT, headers=decide)
        assert case.status_code == 201, case.text
    public_key = (tmp_path / PUBLIC_KEY_FILE).read_text()
    assert verify_database_trusted(store_url, public_key).ok

    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO console_sessions (id_hash, role, csrf, expires_at) "
            "VALUES ('x', 'admin', 'y', '2099-01-01T00:00:00Z')"
        )
    report = verify_database_trusted(store_url, public_key)
    assert report.ok, report.summary

    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute("UPDATE decision_index SET policy = 'edited'")
    report = verify_database_trusted(store_url, public_key)
    assert not report.ok and report.damage == "decision_index_mismatch"
    assert "the index's policy is 'edited'" in report.summary
    rebuilt = redress("index", "rebuild", "--data-dir", str(tmp_path), "--database", store_url)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert verify_database_trusted(store_url, public_key).ok

    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute('UPDATE cases SET facts = \'{"category": "service"}\'')
    report = verify_database_trusted(store_url, public_key)
    assert not report.ok and report.damage == CASE_MISMATCH
    assert "disagree on its facts" in report.summary

    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute("DELETE FROM cases")
        conn.execute("DELETE FROM case_decisions")
        conn.execute("DELETE FROM case_obligations")
    report = verify_database_trusted(store_url, public_key)
    assert not report.ok and "not in the case store" in report.summary

    rebuilt = redress("cases", "rebuild", "--data-dir", str(tmp_path), "--database", store_url)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert verify_database_trusted(store_url, public_key).ok
    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO api_keys (key_hash, role, key_id, name, created_at) "
            "VALUES ('x', 'admin', 'key_intruder', 'x', '2026-12-05T00:00:00Z')"
        )
    report = verify_database_trusted(store_url, public_key)
    assert not report.ok and report.damage == KEY_MISMATCH
    assert "key_intruder (admin) was never recorded" in report.summary
