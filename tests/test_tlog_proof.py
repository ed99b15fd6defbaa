"""C2SP tlog-proof receipts: the spec's example, round trips over a real signed log, and every
kind of tampering rejected."""

from __future__ import annotations

import base64

import pytest

from ledger.checkpoint import Checkpoint, CheckpointError, sign_checkpoint
from ledger.merkle import ProofError, inclusion_path, leaf_hash, root_of
from ledger.note import NoteError, Signer, UnknownKeyError
from ledger.tlog_proof import (
    HEADER,
    TlogProofError,
    format_tlog_proof,
    parse_tlog_proof,
    verify_tlog_proof,
    verify_tlog_proof_leaf_hash,
)

ORIGIN = "redress.example/ledger"
ENTRIES = [f'{{"index":{i},"kind":"decision"}}'.encode() for i in range(11)]

# The example of c2sp.org/tlog-proof (its signatures are elided there, so it only parses).
SPEC_EXAMPLE = """c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

\u2014 example.com/fancylog hI2DJw[...]1roloI=
"""


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.generate(ORIGIN)


@pytest.fixture(scope="module")
def signed_checkpoint(signer: Signer) -> str:
    leaves = [leaf_hash(entry) for entry in ENTRIES]
    return sign_checkpoint(Checkpoint(ORIGIN, len(leaves), root_of(leaves)), signer)


def receipt(index: int, signed_checkpoint: str, extra: bytes | None = None) -> str:
    leaves = [leaf_hash(entry) for entry in ENTRIES]
    return format_tlog_proof(index, inclusion_path(leaves, index), signed_checkpoint, extra)


def test_the_spec_example_parses():
    proof = parse_tlog_proof(SPEC_EXAMPLE)
    assert proof.index == 73894
    assert proof.extra == base64.b64decode("YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ")
    assert len(proof.hashes) == 5
    assert proof.hashes[0] == base64.b64decode("gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=")
    assert proof.checkpoint.startswith("example.com/fancylog\n109482\n")
    assert proof.checkpoint.endswith("1roloI=\n")
    assert format_tlog_proof(proof.index, proof.hashes, proof.checkpoint, proof.extra) == (
        SPEC_EXAMPLE
    )


def test_layout_of_a_receipt(signed_checkpoint: str):
    text = receipt(3, signed_checkpoint)
    lines = text.split("\n")
    assert lines[0] == HEADER
    assert lines[1] == "index 3"
    # Eleven leaves: leaf 3 has siblings at four levels.
    assert len(lines[2:6]) == 4 and lines[6] == ""
    assert text.endswith("\n\n" + signed_checkpoint)


def test_every_entry_of_the_log_verifies(signer: Signer, signed_checkpoint: str):
    for index, entry in enumerate(ENTRIES):
        text = receipt(index, signed_checkpoint)
        assert parse_tlog_proof(text).checkpoint == signed_checkpoint
        checkpoint = verify_tlog_proof(text, entry, signer.verifier, origin=ORIGIN)
        assert checkpoint.size == len(ENTRIES)
        assert verify_tlog_proof_leaf_hash(text, leaf_hash(entry), signer.verifier) == checkpoint


def test_a_one_entry_log_has_an_empty_proof(signer: Signer):
    note = sign_checkpoint(Checkpoint(ORIGIN, 1, leaf_hash(b"genesis")), signer)
    text = format_tlog_proof(0, [], note)
    assert text == f"{HEADER}\nindex 0\n\n{note}"
    verify_tlog_proof(text, b"genesis", signer.verifier)


def test_extra_data_round_trips_but_is_not_authenticated(signer: Signer, signed_checkpoint: str):
    text = receipt(5, signed_checkpoint, extra=b"case 42")
    assert text.split("\n")[1] == "extra " + base64.b64encode(b"case 42").decode()
    assert parse_tlog_proof(text).extra == b"case 42"
    swapped = text.replace(
        base64.b64encode(b"case 42").decode(), base64.b64encode(b"other").decode()
    )
    # As the spec warns: extra data is outside what the proof proves.
    verify_tlog_proof(swapped, ENTRIES[5], signer.verifier)


# --- tampering ---


def test_another_entry_is_rejected(signer: Signer, signed_checkpoint: str):
    text = receipt(4, signed_checkpoint)
    for other in (ENTRIES[5], ENTRIES[4] + b" ", b""):
        with pytest.raises(ProofError):
            verify_tlog_proof(text, other, signer.verifier)


@pytest.mark.parametrize("other_index", [0, 3, 5, 10, 11, 12, 2**64 - 1])
def test_another_index_is_rejected(signer: Signer, signed_checkpoint: str, other_index: int):
    text = receipt(4, signed_checkpoint).replace("index 4\n", f"index {other_index}\n")
    with pytest.raises(ProofError):
        verify_tlog_proof(text, ENTRIES[4], signer.verifier)


def test_every_bit_of_every_proof_hash_matters(signer: Signer, signed_checkpoint: str):
    text = receipt(6, signed_checkpoint)
    lines = text.split("\n")
    hash_lines = range(2, 2 + len(parse_tlog_proof(text).hashes))
    for line_number in hash_lines:
        for bit in range(256):
            raw = bytearray(base64.b64decode(lines[line_number]))
            raw[bit // 8] ^= 1 << (bit % 8)
            bad = list(lines)
            bad[line_number] = base64.b64encode(raw).decode()
            with pytest.raises(ProofError):
                verify_tlog_proof("\n".join(bad), ENTRIES[6], signer.verifier)


def test_dropped_added_or_reordered_hashes_are_rejected(signer: Signer, signed_checkpoint: str):
    lines = receipt(6, signed_checkpoint).split("\n")
    hashes = lines[2:6]
    for changed in (hashes[:-1], hashes[1:], [*hashes, hashes[0]], hashes[::-1]):
        text = "\n".join([*lines[:2], *changed, *lines[6:]])
        with pytest.raises(ProofError):
            verify_tlog_proof(text, ENTRIES[6], signer.verifier)


def test_changed_checkpoint_is_rejected(signer: Signer, signed_checkpoint: str):
    text = receipt(2, signed_checkpoint)
    root_line = signed_checkpoint.split("\n")[2]
    other_root = base64.b64encode(leaf_hash(b"forged")).decode()
    for old, new in (("\n11\n", "\n12\n"), (root_line, other_root), (ORIGIN + "\n", "x.example\n")):
        with pytest.raises(NoteError):
            verify_tlog_proof(text.replace(old, new, 1), ENTRIES[2], signer.verifier)


def test_a_receipt_signed_by_another_key_is_rejected(signed_checkpoint: str):
    text = receipt(2, signed_checkpoint)
    with pytest.raises(UnknownKeyError):
        verify_tlog_proof(text, ENTRIES[2], Signer.generate(ORIGIN).verifier)


def test_a_receipt_from_another_log_is_rejected(signer: Signer, signed_checkpoint: str):
    text = receipt(2, signed_checkpoint)
    with pytest.raises(CheckpointError, match="origin"):
        verify_tlog_proof(text, ENTRIES[2], signer.verifier, origin="other.example/log")


def test_a_checkpoint_too_small_for_the_index_is_rejected(signer: Signer):
    leaves = [leaf_hash(entry) for entry in ENTRIES]
    note = sign_checkpoint(Checkpoint(ORIGIN, 8, root_of(leaves[:8])), signer)
    text = format_tlog_proof(9, inclusion_path(leaves, 9), note)
    with pytest.raises(ProofError):
        verify_tlog_proof(text, ENTRIES[9], signer.verifier)


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.replace(HEADER, "c2sp.org/tlog-proof@v2"),
        lambda t: t.replace(HEADER + "\n", ""),
        lambda t: t.replace("index 7\n", "index 07\n"),
        lambda t: t.replace("index 7\n", "index +7\n"),
        lambda t: t.replace("index 7\n", "index  7\n"),
        lambda t: t.replace("index 7\n", "Index 7\n"),
        lambda t: t.replace("index 7\n", ""),
        lambda t: t.replace("index 7\n", f"index {2**64}\n"),
        lambda t: t.replace("index 7\n", "index 7\nextra AA==\n"),
        lambda t: t.replace("\n\n", "\n", 1),
        lambda t: t.split("\n\n", 1)[0] + "\n\n",
        lambda t: t.replace("=\n", "\n", 1),
        lambda t: t.replace("=\n", "==\n", 1),
        lambda t: t.replace("=\n", "=\r\n", 1),
        lambda t: t.replace("index 7\n", "index 7\n" + base64.b64encode(bytes(31)).decode() + "\n"),
        lambda t: t.replace("index 7\n", "index 7\n" + bytes(32).hex() + "\n"),
        lambda t: t.replace(HEADER + "\n", HEADER + "\nextra !!\n"),
    ],
    ids=[
        "other-version",
        "no-header",
        "leading-zero",
        "plus-sign",
        "two-spaces",
        "capital-index",
        "no-index",
        "index-beyond-uint64",
        "extra-after-index",
        "no-empty-line",
        "no-checkpoint",
        "unpadded-hash",
        "overpadded-hash",
        "crlf",
        "31-byte-hash",
        "hex-hash",
        "bad-extra",
    ],
)
def test_malformed_receipts_are_rejected(signed_checkpoint: str, change):
    text = receipt(7, signed_checkpoint)
    changed = change(text)
    assert changed != text
    with pytest.raises(TlogProofError):
        parse_tlog_proof(changed)


def test_formatting_refuses_bad_parts(signed_checkpoint: str):
    with pytest.raises(TlogProofError):
        format_tlog_proof(-1, [], signed_checkpoint)
    with pytest.raises(TlogProofError):
        format_tlog_proof(0, [bytes(31)], signed_checkpoint)
    with pytest.raises(TlogProofError):
        format_tlog_proof(0, [], "origin\n1\nroot\n")
