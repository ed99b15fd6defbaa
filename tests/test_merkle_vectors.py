"""Every transparency-dev/merkle test vector, accepted or rejected exactly as the file says."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from ledger.merkle import ProofError, verify_consistency, verify_inclusion

VECTORS = Path(__file__).resolve().parents[1] / "vendor" / "vectors" / "transparency-dev-merkle"
INCLUSION_FILES = sorted((VECTORS / "inclusion").rglob("*.json"))
CONSISTENCY_FILES = sorted((VECTORS / "consistency").rglob("*.json"))


def _name(path: Path) -> str:
    return str(path.relative_to(VECTORS).with_suffix(""))


def _decode(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _proof(value: list[str] | None) -> list[bytes]:
    # The Go vectors write an absent proof as null.
    return [_decode(item) for item in value or []]


def test_the_vector_folders_are_all_found():
    # A silent glob mismatch would make every parametrised test vanish.
    assert len(INCLUSION_FILES) > 50
    assert len(CONSISTENCY_FILES) > 50
    assert len(INCLUSION_FILES) + len(CONSISTENCY_FILES) == len(list(VECTORS.rglob("*.json")))


@pytest.mark.parametrize("path", INCLUSION_FILES, ids=_name)
def test_inclusion_vector(path: Path):
    case = json.loads(path.read_text())
    check = lambda: verify_inclusion(  # noqa: E731
        case["leafIdx"],
        case["treeSize"],
        _decode(case["leafHash"]),
        _proof(case["proof"]),
        _decode(case["root"]),
    )
    if case["wantErr"]:
        with pytest.raises(ProofError):
            check()
    else:
        check()


@pytest.mark.parametrize("path", CONSISTENCY_FILES, ids=_name)
def test_consistency_vector(path: Path):
    case = json.loads(path.read_text())
    check = lambda: verify_consistency(  # noqa: E731
        case["size1"],
        case["size2"],
        _decode(case["root1"]),
        _decode(case["root2"]),
        _proof(case["proof"]),
    )
    if case["wantErr"]:
        with pytest.raises(ProofError):
            check()
    else:
        check()
