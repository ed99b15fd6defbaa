"""Entry bytes: the RFC 8785 (JCS) form of `{index, kind, recorded_at, prev_hash, body}`.

Everything hashed goes through `canonical_bytes`, which refuses what JCS cannot hash faithfully
(`unhashable_values`): floats (JCS and our JSON encoder disagree on them, so the hash would
depend on the encoder), integers past 2^53 - 1, text that is not Unicode, very deep nesting.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import rfc8785

from schemas.problems import SAFE_INTEGER, FieldError, escape_pointer

ZERO_HASH = "0" * 64
ENTRY_KINDS = frozenset({"key", "policy", "decision", "erasure"})


MAX_DEPTH = 32  # for a value a client sends (facts, personal data)
ENVELOPE_DEPTH = 8  # what wraps such a value in a hashed document: entry, body, facts, ...


def unhashable_values(
    value: Any, pointer: str = "", max_depth: int = MAX_DEPTH
) -> list[FieldError]:
    """Values the ledger cannot hash canonically (RFC 8785): fractional numbers, integers
    beyond ±(2^53 − 1), text that is not Unicode (lone surrogates), and nesting deeper than
    `max_depth`. The API checks requests with it before anything is recorded (a 422, not a failed
    write); `canonical_bytes` checks every hashed document with it again."""
    errors: list[FieldError] = []
    pending: list[tuple[Any, str, int]] = [(value, pointer, 0)]
    while pending:
        item, where, depth = pending.pop()
        if depth > max_depth:
            errors.append(FieldError(pointer=where, message=f"nested deeper than {max_depth}"))
        elif isinstance(item, dict):
            for key, child in item.items():
                token = f"{where}/{escape_pointer(key)}"
                if not _is_unicode(key):
                    errors.append(FieldError(pointer=where, message="a key is not valid Unicode"))
                pending.append((child, token, depth + 1))
        elif isinstance(item, list):
            pending.extend((child, f"{where}/{i}", depth + 1) for i, child in enumerate(item))
        elif isinstance(item, float):
            errors.append(FieldError(pointer=where, message="a float cannot be hashed exactly"))
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > SAFE_INTEGER:
            errors.append(FieldError(pointer=where, message="integer out of range (±2^53 − 1)"))
        elif isinstance(item, str) and not _is_unicode(item):
            errors.append(FieldError(pointer=where, message="text is not valid Unicode"))
    return sorted(errors, key=lambda e: e.pointer)


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class UnhashableDocument(ValueError):
    """A document about to be hashed holds a value RFC 8785 cannot hash faithfully."""

    def __init__(self, problems: list[FieldError]) -> None:
        super().__init__("; ".join(f"{p.pointer or '/'}: {p.message}" for p in problems))
        self.problems = problems


def canonical_bytes(document: Any) -> bytes:
    """The RFC 8785 bytes of a JSON document that `unhashable_values` finds nothing wrong with."""
    problems = unhashable_values(document, max_depth=MAX_DEPTH + ENVELOPE_DEPTH)
    if problems:
        raise UnhashableDocument(problems)
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
