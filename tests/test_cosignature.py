"""C2SP tlog-cosignature `cosignature/v1`: the spec's own example bytes, round trips, tamper
detection, and how `witnessed` counts a quorum."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest

from ledger.checkpoint import Checkpoint, format_checkpoint
from ledger.cosignature import (
    COSIGNATURE_V1,
    CosignatureError,
    CosignatureSigner,
    CosignatureVerifier,
    QuorumError,
    add_cosignatures,
    cosigned_message,
    cosigner_key_id,
    parse_cosignature_line,
    sign_cosignature,
    verify_cosignature,
    witnessed,
)
from ledger.merkle import leaf_hash, root_of
from ledger.note import (
    MalformedNoteError,
    NoteError,
    SignatureError,
    Signer,
    add_signatures,
    open_note,
    split_note,
)
from witness.protocol import parse_add_checkpoint

C2SP = Path(__file__).resolve().parents[1] / "vendor" / "c2sp"
COSIGNATURE_SPEC = (C2SP / "tlog-cosignature.md").read_text()
WITNESS_SPEC = (C2SP / "tlog-witness.md").read_text()
ORIGIN = "example.com/log"


def fenced_blocks(markdown: str) -> list[str]:
    """The ``` fenced blocks of a spec, verbatim, each ending in a newline."""
    return re.findall(r"^```\n(.*?)^```$", markdown, flags=re.M | re.S)


def indented_block(markdown: str, first_line: str) -> str:
    """The four-space indented example block whose first line starts with `first_line`."""
    lines = markdown.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("    " + first_line))
    block = []
    for line in lines[start:]:
        if line and not line.startswith("    "):
            break
        block.append(line[4:])
    return "\n".join(block).rstrip("\n") + "\n"


def checkpoint_text(size: int = 3) -> str:
    leaves = [leaf_hash(b"entry %d" % i) for i in range(size)]
    return format_checkpoint(Checkpoint(ORIGIN, size, root_of(leaves)))


@pytest.fixture
def log() -> Signer:
    return Signer.generate(ORIGIN)


@pytest.fixture
def witnesses() -> list[CosignatureSigner]:
    return [CosignatureSigner.generate(f"witness.example/w{i}") for i in range(3)]


# -- the spec's examples ------------------------------------------------------------------


def test_signed_message_is_the_spec_example_byte_for_byte():
    """§Ed25519 signed message: "two newline terminated lines (one header line and one
    timestamp line) followed by the whole note body of the cosigned checkpoint"."""
    expected = indented_block(COSIGNATURE_SPEC, "cosignature/v1")
    example_checkpoint = fenced_blocks(COSIGNATURE_SPEC)[0]
    text, _ = split_note(example_checkpoint)
    assert cosigned_message(text, 1679315147) == expected.encode()


def test_spec_example_cosignature_line_decodes_as_a_timestamped_signature():
    """§Format: base64(32-bit key ID || u64 timestamp || 64-byte signature); the example's
    timestamp is the `time` line of the signed-message example."""
    example = fenced_blocks(COSIGNATURE_SPEC)[0]
    _, signatures = split_note(example)
    name, encoded = signatures[1]
    cosignature = parse_cosignature_line(f"\u2014 {name} {encoded}")
    assert cosignature.name == "witness.example.com/w1"
    assert cosignature.key_id == int.from_bytes(base64.b64decode(encoded)[:4], "big")
    assert cosignature.timestamp == 1679315147
    assert f"time {cosignature.timestamp}\n" in indented_block(COSIGNATURE_SPEC, "cosignature/v1")
    assert len(cosignature.signature) == 64


def test_adding_the_example_cosignature_to_the_logs_note_gives_the_spec_example():
    """The example checkpoint "that contains a cosignature" is the log's note with the
    witness's line appended after the log's own."""
    example = fenced_blocks(COSIGNATURE_SPEC)[0]
    log_only = example.rsplit("\u2014 witness.example.com/w1 ", 1)[0]
    witness_line = example[len(log_only) :]
    assert add_cosignatures(log_only, [witness_line]) == example
    # Adding it again changes nothing: one line per key.
    assert add_cosignatures(example, [witness_line]) == example


def test_spec_example_request_body_parses():
    """tlog-witness §add-checkpoint example request: old size line, four proof lines, an
    empty line, the checkpoint with two signatures."""
    body = indented_block(WITNESS_SPEC, "old 20852014")
    request = parse_add_checkpoint(body.encode())
    assert request.old_size == 20852014
    assert len(request.proof) == 4
    assert request.proof[0] == base64.b64decode("PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=")
    assert request.checkpoint.origin == "example.com/behind-the-sofa"
    assert request.checkpoint.size == 20852163
    assert len(split_note(request.note)[1]) == 2


def test_spec_example_response_lines_have_the_cosignature_shape():
    """tlog-witness example response: note signature lines starting with U+2014. Its bytes are
    placeholders (their 'timestamps' exceed 2^63-1), so only the shape is checked: a key ID
    and 72 bytes, the size of an Ed25519 timestamped_signature."""
    response = indented_block(WITNESS_SPEC, "\u2014 witness.example/w1 CMp+6LWBU0anHGH5aNDT")
    lines = response.splitlines()
    assert len(lines) == 3
    for line in lines:
        assert line.startswith("\u2014 witness.example/w")
        assert len(base64.b64decode(line.split(" ")[2])) == 4 + 8 + 64


# -- keys ---------------------------------------------------------------------------------


def test_key_id_is_sha256_of_name_newline_0x04_and_public_key():
    """§Format: SHA-256(<name> || "\\n" || 0x04 || 32-byte Ed25519 cosigner public key)[:4]."""
    signer = CosignatureSigner.generate("witness.example/w1")
    public = signer.private_key.public_key().public_bytes_raw()
    digest = hashlib.sha256(b"witness.example/w1\n\x04" + public).digest()
    assert signer.key_id == int.from_bytes(digest[:4], "big")
    assert cosigner_key_id("witness.example/w1", public) == signer.key_id


def test_verifier_key_round_trip_and_type_byte():
    """Ed25519 cosigner keys "MAY be encoded as vkeys with signature type 0x04"."""
    signer = CosignatureSigner.generate("witness.example/w1")
    vkey = signer.verifier_key
    name, id_hex, encoded = vkey.split("+", 2)
    assert name == "witness.example/w1"
    assert int(id_hex, 16) == signer.key_id
    assert base64.b64decode(encoded)[0] == COSIGNATURE_V1
    assert CosignatureVerifier.from_verifier_key(vkey).verifier_key == vkey
    assert CosignatureSigner.from_skey(signer.skey).verifier_key == vkey


def test_a_note_key_of_type_0x01_is_not_a_witness_key(log):
    with pytest.raises(NoteError):
        CosignatureVerifier.from_verifier_key(log.verifier_key)


def test_a_verifier_key_with_a_wrong_key_id_is_refused():
    name, id_hex, encoded = CosignatureSigner.generate("w.example/a").verifier_key.split("+", 2)
    wrong = f"{(int(id_hex, 16) ^ 1):08x}"
    with pytest.raises(CosignatureError, match="key ID"):
        CosignatureVerifier.from_verifier_key(f"{name}+{wrong}+{encoded}")


# -- one cosignature ----------------------------------------------------------------------


def test_sign_then_verify_returns_the_timestamp(witnesses):
    text = checkpoint_text()
    line = sign_cosignature(witnesses[0], text, 1700000000)
    assert line.startswith(f"\u2014 {witnesses[0].name} ") and line.endswith("\n")
    assert verify_cosignature(witnesses[0].verifier, text, line) == 1700000000


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda text, raw: (text.replace("\n3\n", "\n4\n"), raw), id="size"),
        pytest.param(lambda text, raw: (text + "extension\n", raw), id="extension line"),
        pytest.param(lambda text, raw: (text, raw[:11] + bytes([raw[11] ^ 1]) + raw[12:]), id="ts"),
        pytest.param(lambda text, raw: (text, raw[:-1] + bytes([raw[-1] ^ 1])), id="signature"),
    ],
)
def test_any_change_to_text_timestamp_or_signature_fails(witnesses, tamper):
    text = checkpoint_text()
    line = sign_cosignature(witnesses[0], text, 1700000000)
    raw = base64.b64decode(line.split(" ")[2])
    text2, raw2 = tamper(text, raw)
    forged = f"\u2014 {witnesses[0].name} {base64.b64encode(raw2).decode()}\n"
    with pytest.raises(SignatureError):
        verify_cosignature(witnesses[0].verifier, text2, forged)


def test_a_line_by_another_key_is_not_this_witness(witnesses):
    text = checkpoint_text()
    line = sign_cosignature(witnesses[1], text)
    with pytest.raises(CosignatureError, match="not witness.example/w0"):
        verify_cosignature(witnesses[0].verifier, text, line)


def test_timestamps_beyond_2_63_are_refused(witnesses):
    """§Format: the timestamp "MUST NOT exceed 2^63 - 1"."""
    with pytest.raises(CosignatureError):
        sign_cosignature(witnesses[0], checkpoint_text(), 2**63)


def test_only_checkpoints_are_cosigned(witnesses):
    with pytest.raises(ValueError):
        sign_cosignature(witnesses[0], "just some text\n")


# -- a cosigned note and its quorum -------------------------------------------------------


def cosigned(log: Signer, cosigners: list[CosignatureSigner], size: int = 3) -> str:
    text = checkpoint_text(size)
    note = log.sign(text)
    return add_cosignatures(note, [sign_cosignature(w, text) for w in cosigners])


def test_witnessed_counts_each_trusted_witness_once(log, witnesses):
    note = cosigned(log, witnesses[:2])
    keys = [w.verifier_key for w in witnesses]
    checkpoint, names = witnessed(note, log.verifier_key, keys, 2)
    assert checkpoint.size == 3
    assert names == [witnesses[0].name, witnesses[1].name]
    with pytest.raises(QuorumError, match="2 valid cosignature"):
        witnessed(note, log.verifier_key, keys, 3)


def test_cosignatures_by_unknown_keys_are_ignored(log, witnesses):
    """signed-note: "Verifiers MUST ignore signatures from unknown keys, even if they share a
    name or ID (but not both) with a known key"."""
    impostor = CosignatureSigner.generate(witnesses[0].name)  # same name, another key
    note = cosigned(log, [impostor, witnesses[2]])
    _, names = witnessed(note, log.verifier_key, [witnesses[0].verifier_key], 0)
    assert names == []
    with pytest.raises(QuorumError):
        witnessed(note, log.verifier_key, [witnesses[0].verifier_key], 1)


def test_a_known_witness_whose_cosignature_fails_rejects_the_note(log, witnesses):
    """signed-note: "If the key name and ID match a known key, verifiers MUST verify the
    signature" — a forged cosignature is an error, not merely uncounted."""
    text = checkpoint_text()
    other_text = checkpoint_text(4)
    forged = sign_cosignature(witnesses[0], other_text)  # right key, wrong checkpoint
    note = add_cosignatures(log.sign(text), [sign_cosignature(witnesses[1], text), forged])
    keys = [w.verifier_key for w in witnesses]
    with pytest.raises(SignatureError, match="witness.example/w0"):
        witnessed(note, log.verifier_key, keys, 1)


def test_a_forged_cosignature_after_a_good_one_of_the_same_witness_rejects_the_note(log, witnesses):
    """Every line of a known witness is verified, not only its first: a good cosignature first
    let a forged one of the same key after it pass. The same good line twice counts once."""
    text = checkpoint_text()
    good = sign_cosignature(witnesses[0], text)
    forged = sign_cosignature(witnesses[0], checkpoint_text(4))
    keys = [w.verifier_key for w in witnesses]
    with pytest.raises(SignatureError, match="witness.example/w0"):
        witnessed(log.sign(text) + good + forged, log.verifier_key, keys, 1)
    twice = log.sign(text) + good + good
    assert witnessed(twice, log.verifier_key, keys, 1)[1] == [witnesses[0].name]
    with pytest.raises(QuorumError):
        witnessed(twice, log.verifier_key, keys, 2)


def test_the_log_signature_must_verify_whatever_the_cosignatures(log, witnesses):
    note = cosigned(log, witnesses)
    stranger = Signer.generate(ORIGIN)
    with pytest.raises(NoteError):
        witnessed(note, stranger.verifier_key, [w.verifier_key for w in witnesses], 1)


def test_a_cosigned_note_still_opens_with_the_log_key_alone(log, witnesses):
    """Clients that know no witness keep working: they ignore the cosignature lines."""
    note = cosigned(log, witnesses)
    assert open_note(note, log.verifier) == checkpoint_text()


def test_add_cosignatures_keeps_order_and_one_line_per_key(log, witnesses):
    text = checkpoint_text()
    note = log.sign(text)
    first = sign_cosignature(witnesses[0], text, 1)
    again = sign_cosignature(witnesses[0], text, 2)
    second = sign_cosignature(witnesses[1], text, 1)
    once = add_cosignatures(note, [second, first, again])
    assert once == note + second + first
    assert add_cosignatures(once, [first, again, second]) == once
    assert add_cosignatures(once, [sign_cosignature(witnesses[2], text, 5)]).startswith(once)


def test_add_cosignatures_refuses_a_line_that_is_not_a_cosignature(log):
    note = log.sign(checkpoint_text())
    with pytest.raises(NoteError):
        add_cosignatures(note, ["not a signature line"])
    log_line = note.split("\n\n")[1]
    with pytest.raises(CosignatureError):
        add_cosignatures(note, [log_line])  # a plain Ed25519 note signature: 64 bytes, no time


def test_add_signatures_refuses_a_multi_line_string(log):
    note = log.sign(checkpoint_text())
    with pytest.raises(MalformedNoteError):
        add_signatures(note, ["\u2014 a AAAAAAAA\n\u2014 b AAAAAAAA\n"])
