"""Entry bytes: the RFC 8785 (JCS) form of `{index, kind, recorded_at, prev_hash, body}`.

Everything hashed goes through `canonical_bytes`, which refuses floats: JCS and our JSON encoder
disagree on them, and a float in a hashed document would make its hash depend on the encoder.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import rfc8785

ZERO_HASH = "0" * 64
ENTRY_KINDS = frozenset({"key", "policy", "decision", "erasure"})


class FloatInHashedDocument(ValueError):
    """A float was found in a document that is about to be hashed."""


def _refuse_floats(value: Any, path: str = "") -> None:
    if isinstance(value, float):
        raise FloatInHashedDocument(f"float at {path or '/'}: keep floats out of hashed documents")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _refuse_floats(item, f"{path}/{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _refuse_floats(item, f"{path}/{i}")


def canonical_bytes(document: Any) -> bytes:
    """The RFC 8785 bytes of a JSON document that holds no floats."""
    _refuse_floats(document)
    return rfc8785.dumps(document)


def entry_document(index: int, kind: str, recorded_at: str, prev_hash: str, body: dict) -> dict:
    return {
        "index": index,
        "kind": kind,
        "recorded_at": recorded_at,
        "prev_hash": prev_hash,
        "body": body,
    }


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_entry(raw: bytes) -> dict:
    """The entry document in `raw`, which must be exactly its own canonical form."""
    document = json.loads(raw)
    if not isinstance(document, dict) or set(document) != {
        "index",
        "kind",
        "recorded_at",
        "prev_hash",
        "body",
    }:
        raise ValueError("not an entry: expected exactly index, kind, recorded_at, prev_hash, body")
    if rfc8785.dumps(document) != raw:
        raise ValueError("entry bytes are not in RFC 8785 canonical form")
    return document
