"""`verify` against real damage done to a real SQLite file with sqlite3, one test per kind.

Each test builds an honest ledger, keeps what an officer would keep (the verifier key, sometimes
a checkpoint), damages the database the way an intruder with file access could, and expects the
kind of damage and the first bad index.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
import rfc8785

from ledger.checkpoint import Checkpoint, format_checkpoint
from ledger.export import export
from ledger.note import Signer
from ledger.store import Ledger
from ledger.tree import MemoryTree
from ledger.verify import verify

ENTRIES = 12  # genesis + 11 erasure entries


def honest_ledger(data_dir: Path, checkpoint_at: tuple[int, ...] = (6, ENTRIES)) -> Ledger:
    """A ledger of ENTRIES entries with signed checkpoints at the given sizes (signed on demand
    here; a server signs one after every batch of appends)."""
    ledger = Ledger.open(data_dir, auto_checkpoint=False)
    for n in range(1, ENTRIES):
        ledger.append("erasure", {"case_id": f"case-{n}", "commitments": []})
        if n + 1 in checkpoint_at:
            ledger.sign_checkpoint()
    return ledger


def db(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(data_dir / "redress.db", isolation_level=None)


def raw_of(conn: sqlite3.Connection, index: int) -> bytes:
    return bytes(conn.execute("SELECT entry FROM entries WHERE idx = ?", (index,)).fetchone()[0])


def rewrite_from(conn: sqlite3.Connection, index: int, change: dict) -> None:
    """An intruder's careful rewrite: change entry `index`'s body, then recompute every later
    prev_hash, every entry_hash and the whole stored tree, as the store itself would have."""
    raws = [bytes(r[0]) for r in conn.execute("SELECT entry FROM entries ORDER BY idx")]
    documents = [json.loads(r) for r in raws]
    documents[index]["body"].update(change)
    conn.execute("BEGIN")
    prev = documents[index]["prev_hash"]
    for document in documents[index:]:
        document["prev_hash"] = prev
        raw = rfc8785.dumps(document)
        prev = hashlib.sha256(raw).hexdigest()
        conn.execute(
            "UPDATE entries SET entry = ?, entry_hash = ? WHERE idx = ?",
            (raw, prev, document["index"]),
        )
        raws[document["index"]] = raw
    store_tree(conn, raws)
    conn.execute("COMMIT")


def store_tree(conn: sqlite3.Connection, raws: list[bytes]) -> None:
    """The stored tree made anew over the entries `raws`, as the store itself would have."""
    tree = MemoryTree()
    tree.extend(raws)
    conn.execute("DELETE FROM tree_nodes")
    conn.executemany(
        "INSERT INTO tree_nodes (level, position, hash) VALUES (?, ?, ?)",
        [(lv, p, h) for (lv, p), h in tree.nodes.items()],
    )


def test_an_honest_ledger_verifies(tmp_path: Path) -> None:
    ledger = honest_ledger(tmp_path)
    report = verify(tmp_path / "redress.db", public_key=ledger.verifier_key)
    assert report.ok, report.summary
    assert report.tree_size == ENTRIES and report.checkpoints_checked == 2
    assert report.first_bad_index is None and report.damage is None


def test_a_changed_byte_in_an_entry(tmp_path: Path) -> None:
    honest_ledger(tmp_path)
    with db(tmp_path) as conn:
        raw = raw_of(conn, 4).replace(b"case-4", b"case-X")
        conn.execute("UPDATE entries SET entry = ? WHERE idx = 4", (raw,))
    report = verify(tmp_path / "redress.db")
    assert (report.ok, report.damage, report.first_bad_index) == (False, "modified", 4)


def test_a_changed_byte_with_its_own_hash_updated(tmp_path: Path) -> None:
    honest_ledger(tmp_path)
    with db(tmp_path) as conn:
        raw = raw_of(conn, 4).replace(b"case-4", b"case-X")
        new_hash = hashlib.sha256(raw).hexdigest()
        conn.execute("UPDATE entries SET entry = ?, entry_hash = ? WHERE idx = 4", (raw, new_hash))
    report = verify(tmp_path / "redress.db")
    assert (report.damage, report.first_bad_index) == ("modified", 4)


def test_a_first_entry_that_follows_another_is_named_so(tmp_path: Path) -> None:
    """CONTRACT.md: "the previous entry's hash (64 zeros for index 0)". Entry 0 given another
    prev_hash, the chain and tree made anew over it: found at entry 0, and said as it is (there
    is no entry before it to mismatch)."""
    honest_ledger(tmp_path)
    with db(tmp_path) as conn:
        documents = [json.loads(raw_of(conn, n)) for n in range(ENTRIES)]
        conn.execute("BEGIN")
        prev, raws = "1" * 64, []
        for document in documents:
            document["prev_hash"] = prev
            raws.append(rfc8785.dumps(document))
            prev = hashlib.sha256(raws[-1]).hexdigest()
            conn.execute(
                "UPDATE entries SET entry = ?, entry_hash = ? WHERE idx = ?",
                (raws[-1], prev, document["index"]),
            )
        store_tree(conn, raws)
        conn.execute("COMMIT")
    report = verify(tmp_path / "redress.db")
    assert (report.damage, report.first_bad_index) == ("modified", 0)
    assert report.summary == "entry 0's prev_hash is not 64 zeros: it follows none"


def test_a_deleted_entry(tmp_path: Path) -> None:
    honest_ledger(tmp_path)
    with db(tmp_path) as conn:
        conn.execute("DELETE FROM entries WHERE idx = 5")
    report = verify(tmp_path / "redress.db")
    assert (report.damage, report.first_bad_index) == ("deleted", 5)


def test_an_inserted_entry(tmp_path: Path) -> None:
    honest_ledger(tmp_path)
    with db(tmp_path) as conn:
        # Make room at 5 and put in an entry that chains correctly from entry 4.
        conn.execute("UPDATE entries SET idx = -idx - 1 WHERE idx >= 5")
        conn.execute("UPDATE entries SET idx = -idx WHERE idx < 0")
        forged = {
            "index": 5,
            "kind": "erasure",
            "recorded_at": "2026-01-01T00:00:00.000000Z",
            "prev_hash": hashlib.sha256(raw_of(conn, 4)).hexdigest(),
            "body": {"case_id": "forged", "commitments": []},
        }
        raw = rfc8785.dumps(forged)
        conn.execute(
            "INSERT INTO entries (idx, kind, ref, entry_hash, entry) "
            "VALUES (5, 'erasure', ?, ?, ?)",
            ("forged", hashlib.sha256(raw).hexdigest(), raw),
        )
    report = verify(tmp_path / "redress.db")
    assert (report.damage, report.first_bad_index) == ("inserted", 5)


def test_reordered_entries(tmp_path: Path) -> None:
    honest_ledger(tmp_path)
    with db(tmp_path) as conn:
        conn.execute("UPDATE entries SET idx = -1 WHERE idx = 3")
        conn.execute("UPDATE entries SET idx = 3 WHERE idx = 4")
        conn.execute("UPDATE entries SET idx = 4 WHERE idx = -1")
    report = verify(tmp_path / "redress.db")
    assert (report.damage, report.first_bad_index) == ("reordered", 3)


def test_a_truncated_tail(tmp_path: Path) -> None:
    honest_ledger(tmp_path)
    with db(tmp_path) as conn:
        conn.execute("DELETE FROM entries WHERE idx >= 9")
    report = verify(tmp_path / "redress.db")
    assert (report.damage, report.first_bad_index) == ("truncated", 9)


def test_a_truncated_tail_with_its_tree_and_checkpoints_removed(tmp_path: Path) -> None:
    ledger = honest_ledger(tmp_path)
    kept = ledger.checkpoint()  # the officer kept the size-12 checkpoint
    with db(tmp_path) as conn:
        conn.execute("DELETE FROM entries WHERE idx >= 9")
        conn.execute("DELETE FROM tree_nodes WHERE ((position + 1) << level) > 9")
        conn.execute("DELETE FROM checkpoints WHERE tree_size > 9")
    assert verify(tmp_path / "redress.db").ok  # nothing inside the file betrays it...
    report = verify(tmp_path / "redress.db", checkpoint=kept)  # ...the kept checkpoint does
    assert (report.damage, report.first_bad_index) == ("truncated", 9)


def test_a_rewrite_with_every_later_hash_recomputed_is_caught_by_signed_checkpoints(
    tmp_path: Path,
) -> None:
    honest_ledger(tmp_path, checkpoint_at=(6, ENTRIES))
    with db(tmp_path) as conn:
        rewrite_from(conn, 8, {"case_id": "someone-else"})
    report = verify(tmp_path / "redress.db")
    assert report.damage == "rewritten"
    # The size-6 checkpoint still holds; the change is somewhere from entry 6 on.
    assert report.first_bad_index == 6


def test_a_rewrite_caught_by_a_checkpoint_the_officer_kept(tmp_path: Path) -> None:
    ledger = honest_ledger(tmp_path, checkpoint_at=())
    kept = ledger.sign_checkpoint().checkpoint
    with db(tmp_path) as conn:
        rewrite_from(conn, 3, {"case_id": "someone-else"})
        conn.execute("DELETE FROM checkpoints")
    assert verify(tmp_path / "redress.db").ok
    report = verify(tmp_path / "redress.db", checkpoint=kept)
    assert report.damage == "rewritten" and report.first_bad_index == 0


def resign_checkpoints(conn: sqlite3.Connection, signer: Signer) -> None:
    """What whoever holds the log's key can do after a rewrite: sign every stored checkpoint
    anew over the rewritten tree."""
    raws = [bytes(r[0]) for r in conn.execute("SELECT entry FROM entries ORDER BY idx")]
    tree = MemoryTree()
    tree.extend(raws)
    for (size,) in conn.execute("SELECT tree_size FROM checkpoints").fetchall():
        root = tree.root(size)
        text = format_checkpoint(Checkpoint("redress.local/ledger", size, root))
        conn.execute(
            "UPDATE checkpoints SET note = ?, root_hash = ? WHERE tree_size = ?",
            (signer.sign(text), root.hex(), size),
        )


def test_a_kept_checkpoint_names_no_entry_the_log_key_could_have_vouched_for(
    tmp_path: Path,
) -> None:
    """A rewrite by whoever holds the log's key, its checkpoints signed anew: they hold, so only
    the kept checkpoint (size 12) shows it, and one kept root cannot say which entry changed.
    The log's own size-6 checkpoint narrows it only if it was not signed anew: both are said,
    and the first bad index named is 0, not an entry the key holder vouched for."""
    ledger = honest_ledger(tmp_path)
    kept = ledger.checkpoint()
    from ledger.keys import load_signer, signing_key_path

    with db(tmp_path) as conn:
        rewrite_from(conn, 3, {"case_id": "someone-else"})
        resign_checkpoints(conn, load_signer(signing_key_path(tmp_path)))
    assert verify(tmp_path / "redress.db").ok
    report = verify(tmp_path / "redress.db", checkpoint=kept)
    assert (report.damage, report.first_bad_index) == ("rewritten", 0)
    assert "two different trees of size 12" in report.summary, report.summary
    with db(tmp_path) as conn:  # the log's own size-12 checkpoint gone: size 6 is the nearest
        conn.execute("DELETE FROM checkpoints WHERE tree_size = 12")
    report = verify(tmp_path / "redress.db", checkpoint=kept)
    assert (report.damage, report.first_bad_index) == ("rewritten", 0)
    assert "at or after entry 6 if" in report.summary, report.summary
    assert "anywhere before 12 if" in report.summary, report.summary


def test_a_kept_checkpoint_the_log_never_held_says_the_key_signed_two_trees(
    tmp_path: Path,
) -> None:
    """An intact log, and a kept checkpoint of the same size with another root signed by the
    log's key: either history may be the false one, and the summary says so."""
    honest_ledger(tmp_path)
    from ledger.keys import load_signer, signing_key_path

    other = Checkpoint("redress.local/ledger", ENTRIES, b"\x07" * 32)
    kept = load_signer(signing_key_path(tmp_path)).sign(format_checkpoint(other))
    report = verify(tmp_path / "redress.db", checkpoint=kept)
    assert (report.damage, report.first_bad_index) == ("rewritten", 0)
    assert f"two different trees of size {ENTRIES}" in report.summary, report.summary


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_key_entry_re_encoded_is_named_by_its_index(tmp_path: Path, jobs: int) -> None:
    """A key entry written again in another JSON form (its members in reverse order), every
    hash after it, the tree and the checkpoints made to match: not canonical, named with its
    index, although the signing-key chain reads key entries before the entries are checked."""
    ledger = honest_ledger(tmp_path)
    ledger.append("key", {"action": "create", "key_id": "key_1", "role": "audit", "name": "x"})
    ledger.sign_checkpoint()
    from ledger.keys import load_signer, signing_key_path

    with db(tmp_path) as conn:
        raws = [bytes(r[0]) for r in conn.execute("SELECT entry FROM entries ORDER BY idx")]
        document = json.loads(raws[ENTRIES])
        raws[ENTRIES] = json.dumps(dict(reversed(document.items())), separators=(",", ":")).encode()
        conn.execute(
            "UPDATE entries SET entry = ?, entry_hash = ? WHERE idx = ?",
            (raws[ENTRIES], hashlib.sha256(raws[ENTRIES]).hexdigest(), ENTRIES),
        )
        store_tree(conn, raws)
        resign_checkpoints(conn, load_signer(signing_key_path(tmp_path)))
    report = verify(tmp_path / "redress.db", jobs=jobs)
    assert (report.damage, report.first_bad_index) == ("modified", ENTRIES), report.summary
    code, said = run_cli("verify", "--data-dir", str(tmp_path), "--jobs", str(jobs))
    assert code == 1 and said.startswith(f"entry {ENTRIES} is not a canonical entry"), said


def test_a_later_log_still_extends_a_kept_checkpoint(tmp_path: Path) -> None:
    ledger = honest_ledger(tmp_path)
    kept = ledger.checkpoint()
    ledger.append("erasure", {"case_id": "later", "commitments": []})
    report = verify(tmp_path / "redress.db", checkpoint=kept)
    assert report.ok, report.summary


def test_a_forged_checkpoint(tmp_path: Path) -> None:
    honest_ledger(tmp_path)
    with db(tmp_path) as conn:
        note = conn.execute("SELECT note FROM checkpoints WHERE tree_size = 6").fetchone()[0]
        lines = note.split("\n")
        other = "B" if lines[2].startswith("A") else "A"
        lines[2] = other + lines[2][1:]  # another root, same signature
        conn.execute("UPDATE checkpoints SET note = ? WHERE tree_size = 6", ("\n".join(lines),))
    report = verify(tmp_path / "redress.db")
    assert report.damage == "forged_checkpoint"


def forge_checkpoint(conn: sqlite3.Connection, size: int) -> None:
    """Another root in the stored checkpoint of `size`, under its old signature."""
    note = conn.execute("SELECT note FROM checkpoints WHERE tree_size = ?", (size,)).fetchone()[0]
    lines = note.split("\n")
    lines[2] = ("B" if lines[2].startswith("A") else "A") + lines[2][1:]
    conn.execute("UPDATE checkpoints SET note = ? WHERE tree_size = ?", ("\n".join(lines), size))


@pytest.mark.parametrize("jobs", [1, 2])
def test_damaged_entries_are_named_before_a_forged_checkpoint(tmp_path: Path, jobs: int) -> None:
    """The checkpoints' signatures are checked while the entries are (`--jobs`), but a damaged
    entry is still the one reported: the first failure in the order of the checks."""
    honest_ledger(tmp_path)
    with db(tmp_path) as conn:
        forge_checkpoint(conn, 6)
        raw = raw_of(conn, 3).replace(b"case-3", b"case-X")
        conn.execute("UPDATE entries SET entry = ? WHERE idx = 3", (raw,))
    report = verify(tmp_path / "redress.db", jobs=jobs)
    assert (report.damage, report.first_bad_index) == ("modified", 3), report.summary


@pytest.mark.parametrize("jobs", [1, 2])
def test_checkpoints_fail_in_their_order(tmp_path: Path, jobs: int) -> None:
    """A forged checkpoint of size 6 is named before the rewrite the one of size 12 shows."""
    honest_ledger(tmp_path)
    with db(tmp_path) as conn:
        forge_checkpoint(conn, 6)
        rewrite_from(conn, 8, {"case_id": "rewritten"})
    report = verify(tmp_path / "redress.db", jobs=jobs)
    assert report.damage == "forged_checkpoint", report.summary
    assert "size 6" in report.summary
    with db(tmp_path) as conn:
        conn.execute("DELETE FROM checkpoints WHERE tree_size = 6")
    report = verify(tmp_path / "redress.db", jobs=jobs)
    assert (report.damage, report.first_bad_index) == ("rewritten", 0), report.summary


def test_a_checkpoint_re_signed_with_another_key(tmp_path: Path) -> None:
    honest_ledger(tmp_path)
    intruder = Signer.generate("redress.local/ledger")
    with db(tmp_path) as conn:
        size, root = conn.execute(
            "SELECT tree_size, root_hash FROM checkpoints WHERE tree_size = 6"
        ).fetchone()
        text = format_checkpoint(Checkpoint("redress.local/ledger", size, bytes.fromhex(root)))
        conn.execute("UPDATE checkpoints SET note = ? WHERE tree_size = 6", (intruder.sign(text),))
    report = verify(tmp_path / "redress.db")
    assert report.damage == "forged_checkpoint"


def test_a_swapped_key(tmp_path: Path) -> None:
    """The intruder rewrites the genesis key entry, re-signs every checkpoint and replaces
    public.key: only the key the officer holds shows it."""
    ledger = honest_ledger(tmp_path)
    officer_key = ledger.verifier_key
    intruder = Signer.generate("redress.local/ledger")
    with db(tmp_path) as conn:
        rewrite_from(conn, 0, {"verifier_key": intruder.verifier_key})
        resign_checkpoints(conn, intruder)
    (tmp_path / "public.key").write_text(intruder.verifier_key + "\n")
    report = verify(tmp_path / "redress.db", public_key=officer_key)
    assert (report.damage, report.first_bad_index) == ("swapped_key", 0)


def test_a_swapped_public_key_file(tmp_path: Path) -> None:
    honest_ledger(tmp_path)
    intruder = Signer.generate("redress.local/ledger")
    (tmp_path / "public.key").write_text(intruder.verifier_key + "\n")
    report = verify(tmp_path / "redress.db")
    assert (report.damage, report.first_bad_index) == ("swapped_key", 0)


def test_an_export_verifies_and_carries_the_same_damage(tmp_path: Path) -> None:
    ledger = honest_ledger(tmp_path / "data")
    out = tmp_path / "ledger.jsonl"
    assert export(tmp_path / "data" / "redress.db", out) == ENTRIES
    lines = out.read_text().splitlines()
    assert json.loads(lines[0])["public_key"] == ledger.verifier_key
    assert verify(out, public_key=ledger.verifier_key).ok
    damaged = [line.replace("case-7", "case-X") for line in lines]
    out.write_text("\n".join(damaged) + "\n")
    report = verify(out, public_key=ledger.verifier_key)
    assert (report.damage, report.first_bad_index) == ("modified", 7)


def test_a_receipt_verifies_on_its_own(tmp_path: Path) -> None:
    ledger = honest_ledger(tmp_path / "data")
    receipt = tmp_path / "entry-4.tlog-proof"
    receipt.write_text(ledger.receipt(4))
    assert receipt.read_text().startswith("c2sp.org/tlog-proof@v1\nextra ")
    report = verify(receipt, public_key=ledger.verifier_key)
    assert report.ok, report.summary


def test_a_receipt_for_a_different_entry_fails(tmp_path: Path) -> None:
    ledger = honest_ledger(tmp_path / "data")
    receipt = tmp_path / "entry-4.tlog-proof"
    receipt.write_text(ledger.receipt(4))
    (tmp_path / "entry-4.tlog-proof.entry").write_bytes(ledger.entry_bytes(5))
    report = verify(receipt, public_key=ledger.verifier_key)
    assert not report.ok and report.damage == "bad_receipt"


@pytest.mark.parametrize("content", [b"", b"not a ledger\n", b"SQLite format 3\x00garbage"])
def test_something_that_is_not_a_ledger(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "thing"
    path.write_bytes(content)
    report = verify(path)
    assert not report.ok and report.damage == "unreadable"


def test_a_receipt_checked_against_another_key_fails(tmp_path: Path) -> None:
    ledger = honest_ledger(tmp_path / "data")
    receipt = tmp_path / "entry-4.tlog-proof"
    receipt.write_text(ledger.receipt(4))
    other = Signer.generate("redress.local/ledger").verifier_key
    report = verify(receipt, public_key=other)
    assert not report.ok and report.damage == "bad_receipt"


def test_a_receipt_from_before_a_rewrite_still_proves_the_original_entry(tmp_path: Path) -> None:
    """What a person kept does not change when the server's copy does."""
    ledger = honest_ledger(tmp_path / "data")
    kept = ledger.receipt(4)
    original = ledger.entry_bytes(4)
    with db(tmp_path / "data") as conn:
        rewrite_from(conn, 4, {"case_id": "someone-else"})
    receipt = tmp_path / "entry-4.tlog-proof"
    receipt.write_text(kept)
    assert verify(receipt, public_key=ledger.verifier_key).ok
    (tmp_path / "entry-4.tlog-proof.entry").write_bytes(ledger.entry_bytes(4))
    assert ledger.entry_bytes(4) != original
    assert verify(receipt, public_key=ledger.verifier_key).damage == "bad_receipt"


def test_several_processes_check_the_same_things(tmp_path: Path) -> None:
    """`redress verify --jobs N`: the entries are checked in N processes, with the same result."""
    ledger = honest_ledger(tmp_path)
    assert verify(tmp_path / "redress.db", public_key=ledger.verifier_key, jobs=2).ok
    with db(tmp_path) as conn:
        conn.execute("UPDATE entries SET entry = CAST(entry AS TEXT) || ' ' WHERE idx = 7")
    single = verify(tmp_path / "redress.db", jobs=1)
    double = verify(tmp_path / "redress.db", jobs=2)
    assert not single.ok and (double.damage, double.first_bad_index) == (single.damage, 7)


def test_a_ledger_of_several_chunks_verifies_and_damage_is_found_in_any_of_them(
    tmp_path: Path,
) -> None:
    """`verify` streams a store in chunks of 2^14 entries; damage past the first chunk, and a
    stored node above the chunks, are still found, in one process or two."""
    from ledger.canonical import canonical_bytes
    from ledger.verify_chunks import CHUNK

    ledger = Ledger.open(tmp_path, auto_checkpoint=False)
    body = canonical_bytes({"case_id": "c", "commitments": []})
    for _ in range(2):
        ledger.store.write(lambda tx: [tx.append("erasure", body, None) for _ in range(CHUNK)])
    ledger.sign_checkpoint()
    ledger.store.write(lambda tx: [tx.append("erasure", body, None) for _ in range(100)])
    ledger.sign_checkpoint()
    size = 2 * CHUNK + 101
    for jobs in (1, 2):
        report = verify(tmp_path / "redress.db", public_key=ledger.verifier_key, jobs=jobs)
        assert report.ok and report.tree_size == size and report.checkpoints_checked == 2
    with db(tmp_path) as conn:
        conn.execute("UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 15 AND position = 0")
    report = verify(tmp_path / "redress.db", jobs=2)
    assert (report.damage, report.first_bad_index) == ("rewritten", 0)
    with db(tmp_path) as conn:
        changed = raw_of(conn, CHUNK + 5).replace(b'"c"', b'"d"')
        conn.execute("UPDATE entries SET entry = ? WHERE idx = ?", (changed, CHUNK + 5))
    for jobs in (1, 2):
        report = verify(tmp_path / "redress.db", jobs=jobs)
        assert (report.damage, report.first_bad_index) == ("modified", CHUNK + 5)


# -- verify_trusted: coverage, the tables, signing-key rotation (issue 12) -----------------------


def run_cli(*argv: str) -> tuple[int, str]:
    import contextlib
    import io

    from redress.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


def test_entries_after_the_newest_checkpoint_are_reported_and_fail_strict(tmp_path: Path) -> None:
    """CONTRACT.md: "A ledger whose newest entries are not covered by any signed checkpoint is
    reported as such (`--strict`: that fails too)"."""
    data = tmp_path / "data"
    honest_ledger(data, checkpoint_at=(6,)).close()
    code, out = run_cli("verify", "--data-dir", str(data))
    assert code == 0 and "6 of 12 entries covered" in out and "6 not yet covered" in out
    code, out = run_cli("verify", "--data-dir", str(data), "--strict")
    assert code == 1 and "entries 6..11 are not yet covered" in out


def test_a_witness_key_without_any_cosigned_checkpoint_fails(tmp_path: Path) -> None:
    from ledger.cosignature import CosignatureSigner

    data = tmp_path / "data"
    honest_ledger(data).close()
    witness = CosignatureSigner.generate("audit.example/w").verifier_key
    code, out = run_cli("verify", "--data-dir", str(data), "--witness-key", witness)
    assert code == 1 and "no checkpoint carries 1 valid cosignature" in out


def rotated(tmp_path: Path) -> tuple[Path, Path, Path, str]:
    """An honest ledger whose signing key `keys rotate-signing` handed over: its data
    directory, a copy of the genesis public key, the new key's file and the command's output."""
    from ledger.keys import PUBLIC_KEY_FILE

    data = tmp_path / "data"
    honest_ledger(data).close()
    genesis = tmp_path / "genesis.key"
    genesis.write_text((data / PUBLIC_KEY_FILE).read_text())
    new_key = tmp_path / "elsewhere" / "signing.key"
    code, out = run_cli(
        "keys", "rotate-signing", "--data-dir", str(data), "--new-key", str(new_key)
    )
    assert code == 0, out
    return data, genesis, new_key, out


def test_a_signing_key_rotation_is_followed_from_the_genesis_key(tmp_path: Path) -> None:
    """Issue 12: "a signing-key rotation is itself a ledger entry signed by the old key"."""
    import os

    from ledger.keys import PUBLIC_KEY_FILE, SIGNING_KEY_ENV

    data, genesis, new_key, out = rotated(tmp_path)
    assert (data / PUBLIC_KEY_FILE).read_text().strip() == out.strip()
    os.environ[SIGNING_KEY_ENV] = str(new_key)
    try:
        ledger = Ledger.open(data)  # signs with the new key now
        ledger.append("erasure", {"case_id": "after-rotation", "commitments": []})
        ledger.close()
    finally:
        del os.environ[SIGNING_KEY_ENV]
    code, out = run_cli("verify", "--data-dir", str(data), "--public-key", str(genesis), "--strict")
    assert code == 0, out

    # The old key, still in the data directory, is refused for signing ...
    from ledger.keys import SigningKeyMismatch, load_signer

    with pytest.raises(SigningKeyMismatch):
        Ledger.open(data)
    # ... and a checkpoint it signs anyway (an intruder holding it) is caught.
    old = load_signer(data / "signing.key")
    with db(data) as conn:
        size = conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        tree = MemoryTree()
        for (raw,) in conn.execute("SELECT entry FROM entries ORDER BY idx"):
            tree.append_entry(bytes(raw))
        note = old.sign(format_checkpoint(Checkpoint("redress.local/ledger", size, tree.root())))
        conn.execute("DELETE FROM checkpoints WHERE tree_size = ?", (size,))
        conn.execute(
            "INSERT INTO checkpoints (tree_size, root_hash, note, signed_at) VALUES (?, ?, ?, 'x')",
            (size, tree.root().hex(), note),
        )
    code, out = run_cli("verify", "--data-dir", str(data), "--public-key", str(genesis))
    assert code == 1 and "a retired key signed it" in out


def test_the_key_in_force_follows_rotations_and_passes_over_api_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """API keys' entries share the `key` kind with the signing keys': the key in force (what
    `serve` and `keys rotate-signing` insist on) is the genesis key, then the one each rotation
    hands over to, whatever API keys are made in between."""
    from keys import create_key
    from ledger.keys import SIGNING_KEY_ENV

    data = tmp_path / "data"
    ledger = honest_ledger(data)
    genesis = ledger.verifier_key
    ledger.close()
    create_key(data, "audit")
    ledger = Ledger.open(data)
    assert ledger.signing_keys() == [genesis]
    ledger.close()
    new_key = tmp_path / "elsewhere" / "signing.key"
    code, out = run_cli(
        "keys", "rotate-signing", "--data-dir", str(data), "--new-key", f"{new_key}"
    )
    assert code == 0, out
    monkeypatch.setenv(SIGNING_KEY_ENV, str(new_key))
    create_key(data, "decide")
    ledger = Ledger.open(data)
    assert ledger.signing_keys() == [genesis, out.strip()]  # the last is the key in force
    assert ledger.verifier_key == out.strip()
    ledger.close()


def test_a_rotation_not_signed_by_the_key_in_force_fails(tmp_path: Path) -> None:
    from ledger.keys import rotation_body

    data = tmp_path / "data"
    ledger = honest_ledger(data)
    intruder, new = Signer.generate("redress.local/ledger"), Signer.generate("redress.local/ledger")
    body = rotation_body(intruder, new) | {"previous_key": ledger.verifier_key}
    ledger.append("key", body, new.verifier_key)
    ledger.sign_checkpoint()
    ledger.close()
    code, out = run_cli("verify", "--data-dir", str(data))
    assert code == 1 and "not signed by the key in force" in out


def test_an_export_holding_line_separators_in_its_text_verifies(tmp_path: Path) -> None:
    """JSON text may hold U+2028, U+2029 and U+0085 as they are; an export line ends at `\\n`
    only. (Read with `str.splitlines`, such an entry broke in two: "not a ledger".)"""
    ledger = Ledger.open(tmp_path / "data", auto_checkpoint=False)
    ledger.append("erasure", {"case_id": "case\u2028one\u2029two\x85three", "commitments": []})
    ledger.sign_checkpoint()
    out = tmp_path / "ledger.jsonl"
    assert export(tmp_path / "data" / "redress.db", out) == 2
    assert "\u2028" in out.read_text()
    report = verify(out, public_key=ledger.verifier_key)
    assert report.ok, report.summary


@pytest.mark.parametrize(
    ("edit", "complaint"),
    [
        # A second value for a key of an entry: the entry hashed would be the last one's.
        (
            lambda line: line.replace('"kind":"erasure"', '"kind":"key","kind":"erasure"'),
            "repeats the key 'kind'",
        ),
        (
            lambda line: line + '\n{"type":"note","text":"added later"}',
            "neither an entry nor a checkpoint",
        ),
    ],
)
def test_an_export_edited_by_hand_is_not_read_leniently(tmp_path: Path, edit, complaint) -> None:
    ledger = honest_ledger(tmp_path / "data")
    out = tmp_path / "ledger.jsonl"
    export(tmp_path / "data" / "redress.db", out)
    lines = out.read_text().split("\n")
    lines[3] = edit(lines[3])
    out.write_text("\n".join(lines))
    report = verify(out, public_key=ledger.verifier_key)
    assert not report.ok and report.damage == "unreadable"
    assert complaint in report.summary


def test_an_export_after_a_rotation_is_signed_by_the_key_in_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """After `keys rotate-signing`, the data directory's old key may sign nothing: `export`
    says so and names `--signing-key`, which it takes (it told the operator to pass an option
    it did not have), and the export it then writes verifies from the genesis key."""
    from ledger.keys import SIGNING_KEY_ENV

    data, genesis, new_key, _ = rotated(tmp_path)
    monkeypatch.setenv(SIGNING_KEY_ENV, "")  # restored after the test: export sets it

    out_file = tmp_path / "ledger.jsonl"
    code, _ = run_cli("export", "--data-dir", str(data), "--out", str(out_file))
    assert code == 2 and "--signing-key" in capsys.readouterr().err
    code, _ = run_cli(
        "export", "--data-dir", str(data), "--out", str(out_file), "--signing-key", str(new_key)
    )
    assert code == 0
    code, out = run_cli(
        "verify", "--export", str(out_file), "--public-key", str(genesis), "--strict"
    )
    assert code == 0, out
