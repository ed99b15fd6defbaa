"""C2SP signed notes: Go's sumdb/note reference example byte for byte, and every rejection."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ledger.note import (
    MAX_SIGNATURES,
    MalformedNoteError,
    NoteError,
    SignatureError,
    Signer,
    UnknownKeyError,
    Verifier,
    key_id,
    open_note,
    sign_note,
)

# vendor/ holds copies of the public vectors (see vendor/README.md).
SHARED = Path(__file__).resolve().parents[1] / "vendor"
REFERENCE = json.loads(
    (SHARED / "vectors" / "signed-note" / "go-sumdb-note-reference.json").read_text()
)
TEXT = REFERENCE["text"]
SIGNED = REFERENCE["signed_note"]


@pytest.fixture
def reference_signer() -> Signer:
    return Signer.from_skey(REFERENCE["signer_key"])


@pytest.fixture
def reference_verifier() -> Verifier:
    return Verifier.from_verifier_key(REFERENCE["verifier_key"])


# --- the Go reference example ---


def test_signer_reproduces_the_go_note_byte_for_byte(reference_signer: Signer):
    assert reference_signer.sign(TEXT).encode() == SIGNED.encode()


def test_signer_key_strings_round_trip(reference_signer: Signer):
    assert reference_signer.verifier_key == REFERENCE["verifier_key"]
    assert reference_signer.skey == REFERENCE["signer_key"]
    again = Signer.from_bytes("PeterNeumann", reference_signer.private_bytes())
    assert again.skey == REFERENCE["signer_key"]


def test_key_id_is_the_first_four_bytes_of_the_named_key_hash(reference_verifier: Verifier):
    public = base64.b64decode(REFERENCE["verifier_key"].split("+")[2])
    digest = hashlib.sha256(b"PeterNeumann\n" + public).digest()
    assert public[0] == 0x01
    assert key_id("PeterNeumann", public[1:]) == int.from_bytes(digest[:4], "big") == 0xC74F20A3
    assert reference_verifier.key_id == 0xC74F20A3


def test_verifier_accepts_the_go_note(reference_verifier: Verifier):
    assert open_note(SIGNED, reference_verifier) == TEXT


# --- rejections ---


def test_changed_text_is_rejected(reference_verifier: Verifier):
    tampered = SIGNED.replace("cryptography", "cryptographY", 1)
    with pytest.raises(SignatureError):
        open_note(tampered, reference_verifier)


@pytest.mark.parametrize("byte", [4, 20, 67])
def test_changed_signature_is_rejected(reference_verifier: Verifier, byte: int):
    text, line = SIGNED.rsplit("\n\n", 1)
    prefix, encoded = line.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[byte] ^= 0x01
    tampered = f"{text}\n\n{prefix} {base64.b64encode(raw).decode()}\n"
    # Byte 0-3 is the key ID: changing it makes the signature one by an unknown key.
    with pytest.raises(SignatureError):
        open_note(tampered, reference_verifier)


def test_changed_key_id_makes_the_signature_unknown(reference_verifier: Verifier):
    text, line = SIGNED.rsplit("\n\n", 1)
    prefix, encoded = line.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[0] ^= 0x80
    tampered = f"{text}\n\n{prefix} {base64.b64encode(raw).decode()}\n"
    with pytest.raises(UnknownKeyError):
        open_note(tampered, reference_verifier)


def test_a_note_by_another_key_is_rejected():
    other = Signer.generate("example.com/other")
    with pytest.raises(UnknownKeyError):
        open_note(other.sign(TEXT), Verifier.from_verifier_key(REFERENCE["verifier_key"]))


def test_same_name_different_key_is_rejected(reference_verifier: Verifier):
    impostor = Signer.generate("PeterNeumann")
    assert impostor.key_id != reference_verifier.key_id
    with pytest.raises(UnknownKeyError):
        open_note(impostor.sign(TEXT), reference_verifier)


def test_missing_blank_line_is_rejected(reference_verifier: Verifier):
    with pytest.raises(MalformedNoteError):
        open_note(SIGNED.replace("\n\n", "\n", 1), reference_verifier)


@pytest.mark.parametrize(
    "note",
    [
        SIGNED.rstrip("\n"),  # the last signature line has no newline
        TEXT + "\n",  # no signature lines at all
        SIGNED.replace("\u2014 ", "- ", 1),  # a hyphen instead of the em dash
        SIGNED.replace("\u2014 PeterNeumann ", "\u2014 PeterNeumann  ", 1),  # empty base64
        SIGNED.replace("PeterNeumann ", "Peter+Neumann ", 1),  # plus in the key name
        SIGNED.replace("x08go", "x08g!", 1),  # not base64
        TEXT + "\n\u2014 PeterNeumann AAAA\n",  # three bytes, shorter than a key ID
        "If you think\tcryptography is the answer\n\n" + SIGNED.split("\n\n")[1],  # a tab
        SIGNED.replace("answer", "answer\r", 1),  # a carriage return
        SIGNED.replace("answer", "answer\ud800", 1),  # not encodable as UTF-8
    ],
    ids=[
        "no-final-newline",
        "no-signatures",
        "hyphen",
        "empty-signature",
        "plus-in-name",
        "bad-base64",
        "short-signature",
        "tab",
        "carriage-return",
        "lone-surrogate",
    ],
)
def test_malformed_notes_are_rejected(reference_verifier: Verifier, note: str):
    with pytest.raises(MalformedNoteError):
        open_note(note, reference_verifier)


def test_a_truncated_signature_by_the_trusted_key_fails_to_verify(reference_verifier: Verifier):
    # Key ID c74f20a3 and two bytes of signature: the key is known, the signature is not valid.
    with pytest.raises(SignatureError):
        open_note(TEXT + "\n\u2014 PeterNeumann x08go/ZJ\n", reference_verifier)


def test_more_than_the_signature_limit_is_rejected(reference_signer: Signer):
    strangers = "".join(
        Signer.generate(f"stranger{i}").signature_line(TEXT) for i in range(MAX_SIGNATURES)
    )
    crowded = reference_signer.sign(TEXT) + strangers
    with pytest.raises(MalformedNoteError, match="more than"):
        open_note(crowded, reference_signer.verifier)
    # One fewer fits, and the strangers' signatures are simply ignored.
    fits = reference_signer.sign(TEXT) + strangers.split("\n", 1)[1]
    assert open_note(fits, reference_signer.verifier) == TEXT


def test_sixteen_cosignatures_are_accepted(reference_signer: Signer):
    others = [Signer.generate(f"witness{i}.example") for i in range(15)]
    note = sign_note(TEXT, *others, reference_signer)
    assert open_note(note, reference_signer.verifier) == TEXT
    assert open_note(note, [others[3].verifier, others[9].verifier]) == TEXT


def test_a_bad_signature_by_a_trusted_key_spoils_the_note_even_with_a_good_one():
    good, second = Signer.generate("log.example"), Signer.generate("witness.example")
    note = sign_note(TEXT, good) + second.signature_line(TEXT.upper())
    with pytest.raises(SignatureError):
        open_note(note, [good.verifier, second.verifier])
    assert open_note(note, good.verifier) == TEXT


def test_a_forged_line_of_a_trusted_key_spoils_the_note_after_a_good_line_of_that_key():
    """signed-note: "If the key name and ID match a known key, verifiers MUST verify the
    signature" — every such line, not only the first (a valid line first let a forged one
    after it pass)."""
    signer = Signer.generate("log.example")
    note = signer.sign(TEXT)
    good_line = note.split("\n\n", 1)[1]
    forged = signer.signature_line(TEXT.upper())  # the same key's name and ID, another text
    with pytest.raises(SignatureError):
        open_note(note + forged, signer.verifier)
    assert open_note(note + good_line, signer.verifier) == TEXT  # the same good line twice


def test_text_may_contain_blank_lines():
    signer = Signer.generate("example.com/log")
    text = "first paragraph\n\nsecond paragraph\n"
    assert open_note(signer.sign(text), signer.verifier) == text


# --- signing refuses what could not be opened ---


@pytest.mark.parametrize("text", ["no final newline", "", "bell\x07\n"])
def test_signing_refuses_malformed_text(text: str):
    with pytest.raises(MalformedNoteError):
        Signer.generate("example.com/log").sign(text)


@pytest.mark.parametrize("name", ["", "has space", "has+plus", "tab\tname", "nbsp\u00a0name"])
def test_invalid_key_names_are_refused(name: str):
    with pytest.raises(NoteError):
        Signer.generate(name)


def test_duplicate_signers_are_refused(reference_signer: Signer):
    with pytest.raises(NoteError, match="duplicate"):
        sign_note(TEXT, reference_signer, reference_signer)


# --- key strings ---


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key ID
        "PeterNeumannn+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong name
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # short ID
        "PeterNeumann+c74f20a3+AhpcNkcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # type 0x02
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",  # 31-byte key
        "PeterNeumann+c74f20a3",  # no key
        "PeterNeumann",
    ],
)
def test_malformed_verifier_keys_are_refused(vkey: str):
    with pytest.raises(NoteError):
        Verifier.from_verifier_key(vkey)


def test_malformed_signer_keys_are_refused():
    good = REFERENCE["signer_key"]
    for skey in (
        good.replace("PRIVATE+KEY", "PUBLIC+KEY"),
        good.replace("c74f20a3", "c74f20a4"),
        good.replace("PeterNeumann", "PaulNeumann"),
        good[:-4],
    ):
        with pytest.raises(NoteError):
            Signer.from_skey(skey)


def test_generated_keys_round_trip_through_their_strings():
    signer = Signer.generate("redress.example/ledger")
    verifier = Verifier.from_verifier_key(signer.verifier_key)
    assert Signer.from_skey(signer.skey).verifier_key == verifier.verifier_key
    assert open_note(signer.sign("a\nb\n"), verifier) == "a\nb\n"


# --- any well-formed text round trips; any change to it is caught ---

NOTE_TEXT = st.lists(
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40), min_size=1
).map(lambda lines: "\n".join(lines) + "\n")
LOG_SIGNER = Signer.from_bytes("redress.example/ledger", bytes(range(32)))


@given(text=NOTE_TEXT)
def test_any_text_round_trips(text: str):
    assert open_note(LOG_SIGNER.sign(text), LOG_SIGNER.verifier) == text


@given(text=NOTE_TEXT, data=st.data())
def test_any_changed_character_is_caught(text: str, data: st.DataObject):
    position = data.draw(st.integers(0, len(text) - 1), label="position")
    replacement = data.draw(st.sampled_from("a\u00e9\u2014 \n"), label="replacement")
    assume(text[position] != replacement)
    changed = text[:position] + replacement + text[position + 1 :]
    note = changed + LOG_SIGNER.sign(text)[len(text) :]
    # Either the note no longer parses, or the signature no longer matches its text.
    with pytest.raises(NoteError):
        open_note(note, LOG_SIGNER.verifier)


def test_no_trusted_keys_means_no_trust(reference_signer: Signer):
    with pytest.raises(UnknownKeyError):
        open_note(reference_signer.sign(TEXT), [])
