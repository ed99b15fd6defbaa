"""C2SP tlog-checkpoint text: the spec's example, round trips, and strict rejection."""

from __future__ import annotations

import base64

import pytest

from ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    format_checkpoint,
    open_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
)
from ledger.merkle import EMPTY_ROOT, leaf_hash
from ledger.note import NoteError, Signer

# The example in c2sp.org/tlog-checkpoint, without its signature.
SPEC_EXAMPLE = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)
ROOT_B64 = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="


def test_the_spec_example_parses():
    cp = parse_checkpoint(SPEC_EXAMPLE)
    assert cp == Checkpoint(
        origin="example.com/behind-the-sofa",
        size=20852163,
        root_hash=base64.b64decode(ROOT_B64),
        extensions=(),
    )
    assert format_checkpoint(cp) == SPEC_EXAMPLE


def test_the_empty_tree_is_size_zero_with_the_empty_root():
    cp = Checkpoint("redress.example/ledger", 0, EMPTY_ROOT)
    text = format_checkpoint(cp)
    assert text == "redress.example/ledger\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    assert parse_checkpoint(text) == cp


def test_extension_lines_round_trip():
    cp = Checkpoint("redress.example/ledger", 7, leaf_hash(b"x"), ("note one", "— two"))
    text = format_checkpoint(cp)
    assert text.endswith("\nnote one\n— two\n")
    assert parse_checkpoint(text) == cp


@pytest.mark.parametrize(
    "text",
    [
        SPEC_EXAMPLE.rstrip("\n"),
        "example.com/log\n5\n",
        f"\n5\n{ROOT_B64}\n",
        f"example.com/log\n\n{ROOT_B64}\n",
        f"example.com/log\n05\n{ROOT_B64}\n",
        f"example.com/log\n00\n{ROOT_B64}\n",
        f"example.com/log\n+5\n{ROOT_B64}\n",
        f"example.com/log\n-1\n{ROOT_B64}\n",
        f"example.com/log\n 5\n{ROOT_B64}\n",
        f"example.com/log\n5 \n{ROOT_B64}\n",
        f"example.com/log\n1_000\n{ROOT_B64}\n",
        f"example.com/log\n\u0665\n{ROOT_B64}\n",
        f"example.com/log\n0x10\n{ROOT_B64}\n",
        f"example.com/log\n{2**64}\n{ROOT_B64}\n",
        "example.com/log\n5\n" + base64.b64encode(bytes(31)).decode() + "\n",
        "example.com/log\n5\n" + base64.b64encode(bytes(33)).decode() + "\n",
        "example.com/log\n5\n" + ROOT_B64.rstrip("=") + "\n",
        "example.com/log\n5\n" + ROOT_B64[:-2] + "J=\n",
        "example.com/log\n5\n" + ROOT_B64.replace("+", "-").replace("/", "_") + "\n",
        "example.com/log\n5\n " + ROOT_B64 + "\n",
        "example.com/log\n5\n" + bytes(32).hex() + "\n",
        f"example.com/log\n5\n{ROOT_B64}\n\n",
        f"example.com/log\n5\n{ROOT_B64}\n\nextension\n",
        f"example.com/\tlog\n5\n{ROOT_B64}\n",
        f"example.com/log\r\n5\n{ROOT_B64}\n",
    ],
    ids=[
        "no-final-newline",
        "no-root-line",
        "empty-origin",
        "empty-size",
        "leading-zero",
        "double-zero",
        "plus-sign",
        "negative",
        "leading-space",
        "trailing-space",
        "underscore",
        "arabic-indic-digit",
        "hex-size",
        "size-beyond-uint64",
        "31-byte-root",
        "33-byte-root",
        "unpadded-root",
        "non-canonical-root",
        "url-safe-alphabet",
        "space-in-root",
        "hex-root",
        "empty-extension",
        "empty-line-before-extension",
        "tab-in-origin",
        "crlf",
    ],
)
def test_malformed_checkpoints_are_rejected(text: str):
    with pytest.raises(CheckpointError):
        parse_checkpoint(text)


@pytest.mark.parametrize(
    "cp",
    [
        Checkpoint("", 1, EMPTY_ROOT),
        Checkpoint("two\nlines", 1, EMPTY_ROOT),
        Checkpoint("example.com/log", -1, EMPTY_ROOT),
        Checkpoint("example.com/log", 2**64, EMPTY_ROOT),
        Checkpoint("example.com/log", True, EMPTY_ROOT),
        Checkpoint("example.com/log", 1, EMPTY_ROOT[:31]),
        Checkpoint("example.com/log", 1, EMPTY_ROOT, ("",)),
        Checkpoint("example.com/log", 1, EMPTY_ROOT, ("a\nb",)),
    ],
)
def test_formatting_refuses_what_could_not_be_parsed(cp: Checkpoint):
    with pytest.raises(CheckpointError):
        format_checkpoint(cp)


def test_signed_checkpoint_opens_with_the_log_key():
    signer = Signer.generate("redress.example/ledger")
    cp = Checkpoint("redress.example/ledger", 42, leaf_hash(b"entry"))
    note = sign_checkpoint(cp, signer)
    assert note.startswith(format_checkpoint(cp) + "\n\u2014 redress.example/ledger ")
    assert open_checkpoint(note, signer.verifier) == cp
    assert open_checkpoint(note, signer.verifier, origin="redress.example/ledger") == cp


def test_signed_checkpoint_from_another_origin_is_rejected():
    signer = Signer.generate("redress.example/ledger")
    note = sign_checkpoint(Checkpoint("other.example/log", 1, EMPTY_ROOT), signer)
    with pytest.raises(CheckpointError, match="origin"):
        open_checkpoint(note, signer.verifier, origin="redress.example/ledger")


def test_signed_checkpoint_with_a_changed_size_or_other_key_is_rejected():
    signer = Signer.generate("redress.example/ledger")
    note = sign_checkpoint(Checkpoint("redress.example/ledger", 42, EMPTY_ROOT), signer)
    with pytest.raises(NoteError):
        open_checkpoint(note.replace("\n42\n", "\n43\n"), signer.verifier)
    with pytest.raises(NoteError):
        open_checkpoint(note, Signer.generate("redress.example/ledger").verifier)
