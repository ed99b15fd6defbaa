"""The ledger store: entries, chain, tree proofs, checkpoints, keys, concurrency, personal data."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import sqlite3
import stat
import threading
import traceback
from pathlib import Path

import pytest
import rfc8785

from ledger import merkle
from ledger.checkpoint import parse_checkpoint
from ledger.note import Verifier, open_note
from ledger.store import BadProofRequest, EntryNotFound, Ledger
from ledger.verify import verify


def erasure_body(n: int) -> dict:
    return {"case_id": f"case-{n}", "commitments": []}


def raw_entries(db: Path) -> list[bytes]:
    with sqlite3.connect(db) as conn:
        return [bytes(r[0]) for r in conn.execute("SELECT entry FROM entries ORDER BY idx")]


def test_first_open_creates_key_files_and_a_genesis_key_entry(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    assert stat.S_IMODE((tmp_path / "signing.key").stat().st_mode) == 0o600
    assert (tmp_path / "public.key").read_text().strip() == ledger.verifier_key
    genesis = ledger.entry(0)
    assert genesis.kind == "key"
    assert genesis.prev_hash == "0" * 64
    assert genesis.body["verifier_key"] == ledger.verifier_key
    assert ledger.verifier_key.startswith("redress.local/ledger+")


def test_reopening_keeps_the_key_and_adds_no_second_genesis(tmp_path: Path) -> None:
    first = Ledger.open(tmp_path)
    key = first.verifier_key
    first.close()
    again = Ledger.open(tmp_path)
    assert again.verifier_key == key
    assert again.tree_size() == 1


@pytest.mark.sqlite_only
def test_an_entry_is_the_jcs_form_of_its_five_fields_and_chains_to_the_last(
    tmp_path: Path,
) -> None:
    ledger = Ledger.open(tmp_path)
    receipt = ledger.append("erasure", erasure_body(1))
    entry = ledger.entry(1)
    document = {
        "index": 1,
        "kind": "erasure",
        "recorded_at": entry.recorded_at,
        "prev_hash": ledger.entry(0).entry_hash,
        "body": {"case_id": "case-1", "commitments": []},
    }
    raw = rfc8785.dumps(document)
    assert raw_entries(tmp_path / "redress.db")[1] == raw
    assert entry.entry_hash == hashlib.sha256(raw).hexdigest() == receipt.entry_hash
    assert receipt.index == 1 and receipt.tree_size == 2
    assert entry.recorded_at.endswith("Z")


def test_floats_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    with pytest.raises(ValueError, match="fractional number"):
        ledger.append("erasure", {"case_id": "c", "commitments": [], "score": 0.5})
    assert ledger.tree_size() == 1


@pytest.mark.sqlite_only
def test_roots_and_proofs_match_the_rfc_reference_at_every_size(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    for n in range(1, 19):
        ledger.append("erasure", erasure_body(n))
    leaves = [merkle.leaf_hash(raw) for raw in raw_entries(tmp_path / "redress.db")]
    for size in range(1, len(leaves) + 1):
        root = merkle.root_of(leaves[:size])
        assert ledger.root_hash(size) == root.hex()
        for index in (0, size // 2, size - 1):
            proof = ledger.inclusion_proof(index, size)
            assert proof.hashes == [h.hex() for h in merkle.inclusion_path(leaves[:size], index)]
            hashes = [bytes.fromhex(h) for h in proof.hashes]
            merkle.verify_inclusion(index, size, leaves[index], hashes, root)
        for first in (1, size // 2 or 1, size):
            proof = ledger.consistency_proof(first, size)
            expected = merkle.consistency_path(leaves[:size], first)
            assert proof.hashes == [h.hex() for h in expected]


def test_proof_requests_outside_the_tree_are_refused_with_clear_errors(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    ledger.append("erasure", erasure_body(1))
    with pytest.raises(EntryNotFound):
        ledger.entry(2)
    with pytest.raises(EntryNotFound):
        ledger.inclusion_proof(2, 2)
    with pytest.raises(BadProofRequest):
        ledger.inclusion_proof(0, 3)
    with pytest.raises(BadProofRequest):
        ledger.consistency_proof(0, 2)
    with pytest.raises(BadProofRequest):
        ledger.consistency_proof(2, 1)
    assert isinstance(EntryNotFound(), IndexError)
    assert isinstance(BadProofRequest(), ValueError)


def test_a_checkpoint_is_signed_only_when_the_tree_has_grown(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    first = ledger.checkpoint()
    assert ledger.checkpoint() == first
    ledger.append("erasure", erasure_body(1))
    second = ledger.checkpoint_view()
    assert second.checkpoint != first and second.tree_size == 2
    verifier = Verifier.from_verifier_key(ledger.verifier_key)
    parsed = parse_checkpoint(open_note(second.checkpoint, verifier))
    assert parsed.origin == "redress.local/ledger"
    assert parsed.size == 2
    assert bytes(parsed.root_hash).hex() == second.root_hash == ledger.root_hash(2)
    assert [c.tree_size for c in ledger.checkpoints_newest(0, 10)] == [2, 1]


def test_entries_pages_in_index_order(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    for n in range(1, 6):
        ledger.append("erasure", erasure_body(n))
    page = ledger.entries(2, 3)
    assert [e.index for e in page] == [2, 3, 4]
    assert page[0].body == erasure_body(2)


def _append_many_from_another_process(data_dir: str, worker: int, count: int) -> None:
    try:
        ledger = Ledger.open(Path(data_dir))
        for n in range(count):
            ledger.append("erasure", {"case_id": f"w{worker}-{n}", "commitments": []})
        ledger.close()
    except BaseException:
        # The parent's assertion shows it: a bare exit code does not say what went wrong.
        (Path(data_dir) / f"worker-{worker}.error").write_text(traceback.format_exc())
        raise


@pytest.mark.sqlite_only
def test_four_processes_appending_at_once_make_one_valid_chain(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_append_many_from_another_process, args=(str(tmp_path), w, 50))
        for w in range(4)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    errors = [p.read_text() for p in sorted(tmp_path.glob("worker-*.error"))]
    assert [w.exitcode for w in workers] == [0, 0, 0, 0], "\n".join(errors)
    raws = raw_entries(tmp_path / "redress.db")
    documents = [json.loads(r) for r in raws]
    assert len(documents) == 1 + 4 * 50  # one genesis, however many processes raced to open
    assert [d["index"] for d in documents] == list(range(201))
    for previous, document in zip(raws, documents[1:], strict=False):
        assert document["prev_hash"] == hashlib.sha256(previous).hexdigest()
    per_worker = sorted(d["body"]["case_id"] for d in documents[1:])
    assert len(set(per_worker)) == 200
    assert verify(tmp_path / "redress.db").ok


@pytest.mark.sqlite_only
def test_threads_sharing_one_ledger_make_one_valid_chain(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)

    def work(worker: int) -> None:
        for n in range(25):
            ledger.append("erasure", {"case_id": f"t{worker}-{n}", "commitments": []})
            ledger.checkpoint()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ledger.tree_size() == 101
    report = verify(tmp_path / "redress.db")
    assert report.ok, report.summary


@pytest.mark.sqlite_only
def test_personal_data_is_sealed_outside_the_chain_and_committed_to(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    data = {"name": "Ada Lovelace", "email": "ada@example.org"}
    commitment = ledger.seal_personal("case-7", data)
    assert ledger.open_personal("case-7") == data
    db_bytes = (tmp_path / "redress.db").read_bytes() + (tmp_path / "redress.db-wal").read_bytes()
    assert b"Lovelace" not in db_bytes
    assert len(commitment) == 64
    # The commitment is salted: the same data does not give the same commitment twice.
    assert ledger.seal_personal("case-8", data) != commitment


@pytest.mark.sqlite_only
def test_erasure_destroys_the_key_and_the_ledger_still_verifies(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    commitment = ledger.seal_personal("case-7", {"name": "Ada"})
    receipt = ledger.erase_personal("case-7")
    assert ledger.open_personal("case-7") is None
    entry = ledger.entry(receipt.index)
    assert entry.kind == "erasure"
    assert entry.body == {"case_id": "case-7", "commitments": [commitment]}
    with sqlite3.connect(tmp_path / "redress.db") as conn:
        assert conn.execute("SELECT count(*) FROM personal_keys").fetchone() == (0,)
    assert verify(tmp_path / "redress.db").ok
