"""`redress serve --witness VKEY=URL … --quorum N` with real witnesses (`redress witness serve`
subprocesses): issue 12, "A witness that is down delays cosigning, never a decision", and "a
test with two witnesses, quorum 2, one down: decisions keep flowing, checkpoints wait for the
quorum, and cosigning resumes when it is back"."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from witnessed import (
    cosigned_by,
    log_process,
    signature_count,
    wait_for,
    witness_process,
)

from ledger.keys import PUBLIC_KEY_FILE
from ledger.store import Ledger
from ledger.verify import verify_receipt


def new_log(tmp_path: Path) -> tuple[Path, str]:
    data = tmp_path / "data"
    Ledger.open(data).close()
    return data, (data / PUBLIC_KEY_FILE).read_text().strip()


def test_two_witnesses_quorum_two_one_down(tmp_path):
    data, log_vkey = new_log(tmp_path)
    with (
        witness_process(tmp_path / "w1", log_vkey, name="audit.example/w1") as w1,
        witness_process(tmp_path / "w2", log_vkey, name="ops.example/w2") as w2,
        log_process(data, [w1, w2], quorum=2, workers=2) as log,
    ):
        witnesses = [w1, w2]
        assert all(r.status_code == 201 for r in log.decide(5))

        def cosigned_at_head() -> dict | None:
            published = log.published()
            names = cosigned_by(published["checkpoint"], log_vkey, witnesses)
            return published if len(names) == 2 else None

        first = wait_for(cosigned_at_head)
        assert signature_count(first["checkpoint"]) == 3  # the log's line and two cosignatures

        # One witness down: decisions keep flowing, the published checkpoint waits.
        w2.process.terminate()
        w2.process.wait(timeout=30)
        started = time.monotonic()
        answers = log.decide(20)
        assert [r.status_code for r in answers] == [201] * 20
        assert time.monotonic() - started < 20  # never held up for the witness's timeouts
        grown = answers[-1].json()["ledger"]["index"] + 1
        time.sleep(2.5)  # several cosigning rounds with one witness down
        waiting = log.published()
        assert waiting["tree_size"] < grown
        assert len(cosigned_by(waiting["checkpoint"], log_vkey, witnesses)) == 2

        # The late decision's receipt still proves it (against the latest signed checkpoint).
        late = answers[-1].json()["decision_id"]
        receipt = httpx.get(f"{log.base_url}/v1/decisions/{late}/receipt", headers=log.headers)
        assert verify_receipt(receipt.text, None, log_vkey).ok

        # Back on the same port and state: cosigning resumes and covers the new decisions.
        with witness_process(w2.data_dir, log_vkey, port=w2.port, name="ops.example/w2") as back:
            assert back.vkey == w2.vkey

            def caught_up() -> dict | None:
                published = log.published()
                return published if published["tree_size"] >= grown else None

            resumed = wait_for(caught_up, timeout=60)
            assert len(cosigned_by(resumed["checkpoint"], log_vkey, witnesses)) == 2
            receipt = httpx.get(
                f"{log.base_url}/v1/decisions/{late}/receipt", headers=log.headers
            ).text
            assert verify_receipt(receipt, None, log_vkey).ok
            assert len(cosigned_by(receipt.split("\n\n", 1)[1], log_vkey, witnesses)) == 2


def test_serve_refuses_a_quorum_larger_than_the_witnesses(tmp_path, capsys):
    from redress.cli import main

    data, log_vkey = new_log(tmp_path)
    code = main(
        ["serve", "--data-dir", str(data), "--witness", f"{log_vkey}=http://127.0.0.1:1"]
        + ["--quorum", "2"]
    )
    assert code == 2
    assert "--quorum must be 1 to 1" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["no-equals-sign", "key=ftp://x"])
def test_serve_refuses_a_malformed_witness(tmp_path, capsys, value):
    from redress.cli import main

    data, _ = new_log(tmp_path)
    assert main(["serve", "--data-dir", str(data), "--witness", value]) == 2
    assert "--witness" in capsys.readouterr().err


def test_the_signing_key_can_live_outside_the_data_directory(tmp_path):
    """Issue 12: "The signing key need not live with the data: `--signing-key FILE`"."""
    from redress.cli import main

    data, key = tmp_path / "data", tmp_path / "vault" / "signing.key"
    key.parent.mkdir()
    with log_process(data, [], extra=["--signing-key", str(key)]) as log:
        assert [r.status_code for r in log.decide(3)] == [201] * 3
    assert key.exists() and not (data / "signing.key").exists()
    pinned = tmp_path / "pinned.key"
    pinned.write_text((data / PUBLIC_KEY_FILE).read_text())
    assert main(["verify", "--data-dir", str(data), "--public-key", str(pinned), "--strict"]) == 0


def test_a_stored_checkpoint_only_ever_gains_cosignatures(tmp_path):
    """Two cosigners cannot store conflicting notes: `attach_cosignatures` replaces a note only
    by the same checkpoint with every line it had and more."""
    from ledger.cosignature import CosignatureSigner, add_cosignatures, sign_cosignature
    from ledger.note import split_note

    ledger = Ledger.open(tmp_path / "data")
    try:
        stored = ledger.checkpoint()
        size = ledger.tree_size()
        text = split_note(stored)[0]
        a, b = (CosignatureSigner.generate(f"w{i}.example/w") for i in (1, 2))
        line_a = sign_cosignature(a, text, 1_700_000_000)
        line_b = sign_cosignature(b, text, 1_700_000_000)
        with_a = add_cosignatures(stored, [line_a])
        with_b = add_cosignatures(stored, [line_b])
        with_both = add_cosignatures(with_a, [line_b])

        def attach(note: str) -> bool:
            return ledger.store.write(lambda tx: tx.attach_cosignatures(size, note))

        assert attach(with_a)
        assert not attach(with_a)  # nothing new
        assert not attach(with_b)  # drops a's line: refused
        assert not attach(stored)  # fewer lines: refused
        assert attach(with_both)
        other = ledger.append("erasure", {"case_id": "x", "commitments": []})
        assert not ledger.store.write(lambda tx: tx.attach_cosignatures(other.tree_size, with_both))
        with ledger.store.read() as tx:
            assert tx.latest_cosigned_checkpoint().note == with_both
            assert tx.latest_cosigned_checkpoint(size + 1) is None
    finally:
        ledger.close()
