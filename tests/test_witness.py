"""The witness over real HTTP (`redress witness serve` in a subprocess on loopback): C2SP
tlog-witness add-checkpoint, every refusal with the status the spec gives, durable state across
a restart, and the log's `Cosigner` with two witnesses and a quorum of two while one is down."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from conftest import free_port
from witnessed import Witness, witness_process

from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.cosignature import (
    CosignatureSigner,
    CosignatureVerifier,
    verify_cosignature,
    witnessed,
)
from ledger.merkle import EMPTY_ROOT, consistency_path, leaf_hash, root_of
from ledger.note import Signer, split_note
from ledger.witnessing import (
    Cosigner,
    WitnessConflict,
    WitnessRefused,
    WitnessUnavailable,
    add_checkpoint_body,
    fetch_cosigned_checkpoint,
    request_cosignature,
    witness_size,
)
from redress.cli import main
from witness.state import KEY_FILE, VKEY_FILE

ORIGIN = "example.com/log"


# -- a log made of the pure pieces: leaves, RFC 9162 roots and proofs, signed checkpoints -----


@dataclass
class Log:
    signer: Signer
    leaves: list[bytes] = field(default_factory=list)

    @classmethod
    def new(cls, origin: str = ORIGIN) -> Log:
        return cls(Signer.generate(origin))

    def append(self, count: int, tag: bytes = b"") -> None:
        start = len(self.leaves)
        self.leaves += [leaf_hash(b"entry %d%s" % (i, tag)) for i in range(start, start + count)]

    def checkpoint(self, size: int | None = None, signer: Signer | None = None) -> str:
        size = len(self.leaves) if size is None else size
        cp = Checkpoint(self.signer.name, size, root_of(self.leaves[:size]))
        return sign_checkpoint(cp, signer or self.signer)

    def proof(self, old: int, new: int) -> list[bytes]:
        return consistency_path(self.leaves[:new], old) if 0 < old < new else []


# -- the witness process ----------------------------------------------------------------


def witness_server(
    data_dir: Path, *log_vkeys: str, port: int | None = None, name: str | None = None
) -> AbstractContextManager[Witness]:
    """`redress witness serve` (`witnessed.witness_process`), under its own default name."""
    return witness_process(data_dir, *log_vkeys, port=port, name=name)


@pytest.fixture
def log() -> Log:
    log = Log.new()
    log.append(5)
    return log


@pytest.fixture
def witness(tmp_path: Path, log: Log) -> Iterator[Witness]:
    with witness_server(tmp_path / "witness", log.signer.verifier_key) as running:
        yield running


def body(log: Log, old: int, new: int | None = None, proof: list[bytes] | None = None) -> str:
    new = len(log.leaves) if new is None else new
    return add_checkpoint_body(
        log.checkpoint(new), old, log.proof(old, new) if proof is None else proof
    )


def cosigned_size(witness: Witness, log: Log) -> int:
    """What the witness last cosigned, asked as tlog-witness suggests (old size 0 → 409)."""
    return witness_size(witness.url, witness.vkey, log.checkpoint(len(log.leaves)))


def test_serve_refuses_a_log_key_that_is_not_a_note_verifier_key(tmp_path, capsys):
    """`--log` takes the log's note verifier key (type 0x01), inline or in a file."""
    witness_key = CosignatureSigner.generate("w.example/a").verifier_key
    for bad in (witness_key, "not-a-key", str(tmp_path / "missing.vkey")):
        args = ["witness", "serve", "--data-dir", str(tmp_path / "w"), "--log", bad]
        assert main(args) == 2
        assert "redress witness serve:" in capsys.readouterr().err


# -- add-checkpoint: cosigning -----------------------------------------------------------


def test_first_start_creates_the_key_0600_and_prints_its_vkey(witness):
    """The witness has "its own Ed25519 key (created on first start; its verifier key, of the
    C2SP cosignature type, is printed and written to D/witness.vkey)"."""
    assert (witness.data_dir / VKEY_FILE).read_text().strip() == witness.vkey
    assert (witness.data_dir / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert base64.b64decode(witness.vkey.split("+", 2)[2])[0] == 0x04


def test_a_fresh_log_is_cosigned_from_size_0(witness, log):
    """ "If the old size is zero, the consistency proof MUST be empty"; the answer is one or
    more note signature lines starting with U+2014."""
    response = witness.post(body(log, 0))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; charset=utf-8"  # the charset once
    assert response.text.startswith("\u2014 ") and response.text.endswith("\n")
    note = log.checkpoint() + response.text
    checkpoint, names = witnessed(note, log.signer.verifier_key, [witness.vkey], 1)
    assert (checkpoint.size, names) == (5, [witness.vkey.split("+")[0]])


def test_growth_with_a_correct_consistency_proof_is_cosigned(witness, log):
    assert witness.post(body(log, 0)).status_code == 200
    log.append(8)
    response = witness.post(body(log, 5))
    assert response.status_code == 200, response.text
    text, _ = split_note(log.checkpoint())
    timestamp = verify_cosignature(
        CosignatureVerifier.from_verifier_key(witness.vkey), text, response.text
    )
    assert abs(timestamp - time.time()) < 60  # "the timestamp MUST NOT be zero"
    assert cosigned_size(witness, log) == 13


def test_the_same_checkpoint_is_cosigned_again(witness, log):
    assert witness.post(body(log, 0)).status_code == 200
    assert witness.post(body(log, 5)).status_code == 200


def test_an_empty_log_is_cosigned_with_the_empty_root(tmp_path):
    log = Log.new()
    with witness_server(tmp_path / "w", log.signer.verifier_key) as witness:
        assert witness.post(body(log, 0)).status_code == 200
        assert log.checkpoint(0).split("\n")[2] == base64.b64encode(EMPTY_ROOT).decode()


def test_other_signatures_on_the_checkpoint_are_ignored(witness, log):
    """ "The submitted checkpoint MAY include multiple signatures"; unknown keys are ignored."""
    stranger = Signer.generate("someone.else/key")
    note = log.checkpoint() + stranger.signature_line(split_note(log.checkpoint())[0])
    assert witness.post(add_checkpoint_body(note, 0, [])).status_code == 200


def test_concurrent_requests_from_the_same_size_cosign_exactly_one(witness, log):
    """Checking the old size and recording the new checkpoint are one atomic step, so two
    requests from the same old size cannot both move the log (tlog-witness's race)."""
    assert witness.post(body(log, 0)).status_code == 200
    log.append(20)
    bodies = [body(log, 5, new) for new in range(6, 26)]
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda b: witness.post(b).status_code, bodies))
    assert statuses.count(200) == 1
    assert statuses.count(409) == len(bodies) - 1


# -- add-checkpoint: refusals --------------------------------------------------------------


def test_wrong_old_size_is_409_with_the_size_cosigned(witness, log):
    """ "If it doesn't match, the witness MUST respond with a 409 Conflict ... the tree size of
    the latest cosigned checkpoint in decimal, followed by a newline ... text/x.tlog.size"."""
    assert witness.post(body(log, 0)).status_code == 200
    log.append(3)
    response = witness.post(body(log, 0))
    assert response.status_code == 409
    assert response.headers["content-type"] == "text/x.tlog.size"
    assert response.text == "5\n"
    response = witness.post(body(log, 6))
    assert (response.status_code, response.text) == (409, "5\n")


def test_an_inconsistent_checkpoint_is_422_and_changes_nothing(witness, log):
    """A rewrite re-signed with the log's own key: its checkpoint does not extend what the
    witness cosigned, so "if a Merkle Consistency Proof doesn't verify ... 422"."""
    assert witness.post(body(log, 0)).status_code == 200
    rewritten = Log(log.signer, list(log.leaves))
    rewritten.leaves[2] = leaf_hash(b"edited outcome")
    rewritten.append(4)
    response = witness.post(body(rewritten, 5))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    # The honest log's own proof does not help the forged root either.
    log.append(4)
    forged = add_checkpoint_body(rewritten.checkpoint(), 5, log.proof(5, 9))
    assert witness.post(forged).status_code == 422
    assert cosigned_size(witness, log) == 5


def test_same_size_other_root_is_422(witness, log):
    """ "If the old size matches the checkpoint size, the witness MUST check that the root
    hashes are also identical" (422)."""
    assert witness.post(body(log, 0)).status_code == 200
    other = Log(log.signer, [leaf_hash(b"other %d" % i) for i in range(5)])
    assert witness.post(body(other, 5)).status_code == 422


def test_the_same_checkpoint_with_a_proof_is_422_and_says_why(witness, log):
    """The checkpoint already cosigned, sent again with a non-empty proof: refused (422; a
    proof between equal trees is empty), and the answer does not claim another root."""
    assert witness.post(body(log, 0)).status_code == 200
    response = witness.post(body(log, 5, proof=[leaf_hash(b"x")]))
    assert response.status_code == 422
    assert "proof must be empty" in response.text and "differs" not in response.text


def test_a_proof_with_old_size_0_is_422(witness, log):
    """ "If the proof is not empty when the old size is zero ... 422"."""
    response = witness.post(body(log, 0, proof=[leaf_hash(b"x")]))
    assert response.status_code == 422
    assert witness.post(body(log, 0)).status_code == 200  # the refusal recorded nothing


def test_size_zero_with_another_root_is_422(witness, log):
    """ "A checkpoint of size zero MUST have the root hash of the empty tree"."""
    note = log.signer.sign(f"{ORIGIN}\n0\n{base64.b64encode(leaf_hash(b'x')).decode()}\n")
    assert witness.post(add_checkpoint_body(note, 0, [])).status_code == 422


def test_unknown_origin_is_404(witness):
    """ "If the checkpoint origin is unknown, the witness MUST respond with a 404"."""
    other = Log.new("other.example/log")
    other.append(2)
    assert witness.post(body(other, 0)).status_code == 404


def test_a_checkpoint_signed_by_an_untrusted_key_for_the_origin_is_403(witness, log):
    """ "403 Forbidden ... if no signature from a trusted key for the origin is present"."""
    impostor = Signer.generate(ORIGIN)
    note = log.checkpoint(signer=impostor)
    assert witness.post(add_checkpoint_body(note, 0, [])).status_code == 403


def test_a_bad_signature_by_the_trusted_key_is_403(witness, log):
    """ "... or a signature line's key name and ID match a trusted key but the signature
    itself fails to verify" (403)."""
    note = log.checkpoint()
    text, [(name, encoded)] = split_note(note)
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 1
    tampered = f"{text}\n\u2014 {name} {base64.b64encode(raw).decode()}\n"
    assert witness.post(add_checkpoint_body(tampered, 0, [])).status_code == 403
    # After a good line of the same key too: every line of a trusted key is verified.
    good_then_bad = f"{note}\u2014 {name} {base64.b64encode(raw).decode()}\n"
    assert witness.post(add_checkpoint_body(good_then_bad, 0, [])).status_code == 403
    log.append(1)
    edited = note.replace("\n5\n", "\n6\n", 1)
    assert witness.post(add_checkpoint_body(edited, 0, [])).status_code == 403


@pytest.mark.parametrize(
    "make_body",
    [
        pytest.param(lambda note, p: f"{note}", id="no old line"),
        pytest.param(lambda note, p: f"old 05\n\n{note}", id="leading zero"),
        pytest.param(lambda note, p: f"old -1\n\n{note}", id="negative"),
        pytest.param(lambda note, p: f"old 6\n\n{note}", id="old above size"),
        pytest.param(lambda note, p: f"old 0\nnot base64!\n\n{note}", id="bad proof line"),
        pytest.param(lambda note, p: f"old 0\n{p}\n{note}", id="64 proof lines"),
        pytest.param(lambda note, p: f"old 0\n{note.split(chr(10), 1)[1]}", id="no origin"),
        pytest.param(lambda note, p: f"old 0\n\n{note[:-1]}", id="no final newline"),
        pytest.param(lambda note, p: "old 0\n\n", id="no checkpoint"),
        pytest.param(lambda note, p: b"old 0\n\n\xff\xfe", id="not utf-8"),
    ],
)
def test_malformed_bodies_are_400(witness, log, make_body):
    """The body "MUST be a sequence of an old size line, zero or more consistency proof lines,
    and an empty line, followed by a checkpoint"; "The old size MUST be equal to or lower than
    the checkpoint size. Otherwise ... 400"."""
    proof_lines = "".join(base64.b64encode(leaf_hash(b"%d" % i)).decode() + "\n" for i in range(64))
    response = witness.post(make_body(log.checkpoint(), proof_lines))
    assert response.status_code == 400, response.text
    assert witness.post(body(log, 0)).status_code == 200  # and nothing was recorded


# -- durability ---------------------------------------------------------------------------


def test_state_and_key_survive_a_restart(tmp_path, log):
    """ "The witness MUST persist the new checkpoint before responding."""
    data_dir = tmp_path / "witness"
    with witness_server(data_dir, log.signer.verifier_key) as witness:
        assert witness.post(body(log, 0)).status_code == 200
        first_vkey = witness.vkey
    log.append(2)
    with witness_server(data_dir, log.signer.verifier_key) as witness:
        assert witness.vkey == first_vkey
        response = witness.post(body(log, 0))
        assert (response.status_code, response.text) == (409, "5\n")
        assert witness.post(body(log, 5)).status_code == 200


def test_monitors_get_the_latest_cosigned_checkpoint(witness, log):
    """tlog-witness §Monitor Retrieval: GET <prefix>/<sha256(origin) hex>/checkpoint, with the
    log's signature and the witness's cosignature; 404 before anything was cosigned."""
    url = f"{witness.url}/{hashlib.sha256(ORIGIN.encode()).hexdigest()}/checkpoint"
    assert httpx.get(url).status_code == 404
    assert witness.post(body(log, 0)).status_code == 200
    note = httpx.get(url).text
    checkpoint, _ = witnessed(note, log.signer.verifier_key, [witness.vkey], 1)
    assert checkpoint.size == 5
    assert fetch_cosigned_checkpoint(witness.url, ORIGIN) == note
    assert fetch_cosigned_checkpoint(witness.url, "other.example/log") is None


# -- the log's client -----------------------------------------------------------------------


def test_request_cosignature_reports_409_with_the_size_then_succeeds(witness, log):
    line = request_cosignature(witness.url, witness.vkey, log.checkpoint(), 0, [])
    assert witnessed(log.checkpoint() + line, log.signer.verifier_key, [witness.vkey], 1)
    log.append(4)
    with pytest.raises(WitnessConflict) as conflict:
        request_cosignature(witness.url, witness.vkey, log.checkpoint(), 0, [])
    assert conflict.value.size == 5
    old = conflict.value.size
    line = request_cosignature(witness.url, witness.vkey, log.checkpoint(), old, log.proof(old, 9))
    assert witnessed(log.checkpoint() + line, log.signer.verifier_key, [witness.vkey], 1)


def test_request_cosignature_names_other_refusals_and_unreachable_witnesses(witness, log):
    other = Log.new("other.example/log")
    with pytest.raises(WitnessRefused) as refused:
        request_cosignature(witness.url, witness.vkey, other.checkpoint(), 0, [])
    assert refused.value.status == 404
    with pytest.raises(WitnessUnavailable):
        request_cosignature(
            f"http://127.0.0.1:{free_port()}", witness.vkey, log.checkpoint(), 0, []
        )


# -- the Cosigner: two witnesses, quorum two, one down --------------------------------------


class LogStore:
    """What `redress serve` will give the Cosigner: the newest checkpoint, proofs, a store."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self.lock = threading.Lock()
        self.stored: list[tuple[int, str]] = []

    def latest_checkpoint(self) -> tuple[str, int] | None:
        with self.lock:
            return self.log.checkpoint(), len(self.log.leaves)

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        with self.lock:
            return self.log.proof(old, new)

    def store_cosigned(self, size: int, note: str) -> None:
        self.stored.append((size, note))

    def append(self, count: int) -> None:
        with self.lock:
            self.log.append(count)


def wait_until(condition, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_cosigner_waits_for_the_quorum_while_a_witness_is_down(tmp_path, log):
    """Issue 12: "two witnesses, quorum 2, one down: ... checkpoints wait for the quorum, and
    cosigning resumes when it is back"; a witness that is down never blocks the log."""
    store = LogStore(log)
    vkey = log.signer.verifier_key
    port_b = free_port()
    with witness_server(tmp_path / "a", vkey, name="audit.example/a") as a:
        # Witness b is created (its key) but not running: its port refuses connections.
        with witness_server(tmp_path / "b", vkey, port=port_b, name="audit.example/b") as b:
            vkey_b = b.vkey
        cosigner = Cosigner(
            store.latest_checkpoint,
            store.consistency_proof,
            store.store_cosigned,
            [(a.vkey, a.url), (vkey_b, f"http://127.0.0.1:{port_b}")],
            quorum=2,
            timeout=1.0,
            interval=0.1,
            max_backoff=0.5,
        )
        cosigner.start()
        try:
            assert wait_until(lambda: cosigned_size(a, log) == 5)
            for _ in range(3):  # the log keeps growing; wake() never waits for a witness
                store.append(2)
                started = time.monotonic()
                cosigner.wake()
                assert time.monotonic() - started < 0.05
            assert wait_until(lambda: cosigned_size(a, log) == 11)
            assert store.stored == []
            assert cosigner.status()[1]["last_error"]

            with witness_server(tmp_path / "b", vkey, port=port_b):
                assert wait_until(lambda: store.stored)
                size, note = store.stored[-1]
                assert size == 11
                checkpoint, names = witnessed(note, vkey, [a.vkey, vkey_b], 2)
                assert (checkpoint.size, names) == (11, ["audit.example/a", "audit.example/b"])
                # Growth afterwards is cosigned by both, each from the size it cosigned.
                store.append(7)
                cosigner.wake()
                assert wait_until(lambda: store.stored[-1][0] == 18)
                witnessed(store.stored[-1][1], vkey, [a.vkey, vkey_b], 2)
        finally:
            cosigner.stop()
    assert [size for size, _ in store.stored] == [11, 18]


def test_cosigner_start_and_stop_are_idempotent_and_quick_with_a_dead_witness(log):
    store = LogStore(log)
    dead = CosignatureSigner.generate("dead.example/w").verifier_key
    cosigner = Cosigner(
        store.latest_checkpoint,
        store.consistency_proof,
        store.store_cosigned,
        [(dead, f"http://127.0.0.1:{free_port()}")],
        quorum=1,
        timeout=0.5,
        interval=0.05,
    )
    cosigner.start()
    cosigner.start()
    assert wait_until(lambda: cosigner.status()[0]["last_error"] is not None)
    started = time.monotonic()
    cosigner.stop()
    cosigner.stop()
    assert time.monotonic() - started < 5
    assert store.stored == []
    assert cosigner.run_once() is False  # a round by hand still works after stop
