"""The ledger as the API shows it: entries, proofs and checkpoints, hashes as lowercase hex."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

EntryKind = Literal["key", "policy", "decision", "erasure"]


class Entry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One ledger entry: the hashed document `{index, kind, recorded_at, prev_hash, body}` and
    `entry_hash`, the SHA-256 of its RFC 8785 bytes."""

    index: int
    kind: EntryKind
    recorded_at: str
    prev_hash: str
    body: dict[str, Any]
    entry_hash: str


class InclusionProof(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """RFC 9162 audit path of leaf `index` in the tree of `tree_size` leaves."""

    index: int
    tree_size: int
    leaf_hash: str
    hashes: list[str]


class ConsistencyProof(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """RFC 9162 proof that the tree of `first` leaves is a prefix of the tree of `second`."""

    first: int
    second: int
    hashes: list[str]


class CheckpointView(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A signed checkpoint (C2SP signed-note text) and what it commits to."""

    checkpoint: str
    tree_size: int
    root_hash: str
