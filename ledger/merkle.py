"""RFC 9162 section 2.1 Merkle trees: hashing, reference proofs and proof verification.

Pure functions over 32-byte SHA-256 hashes. `root_of`, `inclusion_path` and `consistency_path`
are the recursive definitions of the RFC, kept deliberately literal so they can serve as the
reference the storage-backed proof generator is tested against; they are O(n) per call and meant
for tests and small trees. The `verify_*` functions follow the RFC's verification algorithms step
by step and raise `ProofError` on any failure.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"

# RFC 9162 §2.1.1: MTH({}) = HASH(), the hash of the empty string.
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A Merkle proof, or the sizes and hashes it was checked against, is not valid."""


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 §2.1.1: MTH({d(0)}) = HASH(0x00 || d(0)), the hash of one leaf."""
    return hashlib.sha256(LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: HASH(0x01 || MTH(left) || MTH(right)), the hash of an inner node."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def parent_level(level: bytes) -> bytes:
    """The level above `level`, a run of complete subtrees of one height starting at an even
    position, their hashes joined (32 bytes each): `node_hash` of each pair, left to right
    (RFC 9162 §2.1.1), joined the same way. An odd last subtree has no complete parent yet
    and is left out. Joined, not a list: a chunk of `verify` holds one run of bytes a level
    rather than an object a node (whose memory the process was given again for each chunk,
    page by page, and gave back after it)."""
    # A copy of a hash already fed the prefix, then the pair: one join of the pair fewer than
    # `node_hash` makes (`verify` hashes a node for every entry).
    node = hashlib.sha256(NODE_PREFIX).copy
    pair = 2 * HASH_SIZE
    parents = bytearray()
    for at in range(0, len(level) - pair + 1, pair):
        hashed = node()
        hashed.update(level[at : at + pair])
        parents += hashed.digest()
    return bytes(parents)


def subtree_levels(leaves: bytes) -> list[bytes]:
    """Every complete subtree over `leaves` (leaf hashes from an aligned start, joined), built
    bottom-up a level at a time (`parent_level`): node i of level h, `levels[h][32i : 32i + 32]`,
    is the subtree of height h over leaves [i·2^h, (i+1)·2^h). The last level holds one hash,
    or none for no leaves."""
    levels = [bytes(leaves)]
    while len(levels[-1]) > HASH_SIZE:
        levels.append(parent_level(levels[-1]))
    return levels


def largest_power_of_two_below(n: int) -> int:
    """RFC 9162 §2.1.1: k, the largest power of two smaller than n (n > 1)."""
    if n < 2:
        raise ValueError(f"no power of two below {n} splits a tree")
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.1: MTH(D[n]), the root over already-hashed leaves, by the recursive
    definition: MTH(D[n]) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])).
    """
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = largest_power_of_two_below(n)
    return node_hash(root_of(leaf_hashes[:k]), root_of(leaf_hashes[k:]))


def inclusion_path(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1: PATH(m, D[n]), the audit path of leaf `index`, leaf's sibling first."""
    n = len(leaf_hashes)
    if not 0 <= index < n:
        raise ProofError(f"leaf index {index} is outside a tree of size {n}")
    if n == 1:
        return []
    k = largest_power_of_two_below(n)
    if index < k:
        return [*inclusion_path(leaf_hashes[:k], index), root_of(leaf_hashes[k:])]
    return [*inclusion_path(leaf_hashes[k:], index - k), root_of(leaf_hashes[:k])]


def consistency_path(leaf_hashes: Sequence[bytes], first: int) -> list[bytes]:
    """RFC 9162 §2.1.4.1: PROOF(m, D[n]) = SUBPROOF(m, D[n], true), proving the tree of the
    first `first` leaves is a prefix of the tree of all of them.
    """
    n = len(leaf_hashes)
    if not 0 < first <= n:
        raise ProofError(f"no consistency proof from size {first} to size {n}")
    return _subproof(leaf_hashes, first, True)


def _subproof(leaf_hashes: Sequence[bytes], m: int, whole_subtree: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1: SUBPROOF(m, D[n], b)."""
    n = len(leaf_hashes)
    if m == n:
        # The old tree is this whole subtree: its root is known to the verifier unless we are
        # below the top level, where it must be given.
        return [] if whole_subtree else [root_of(leaf_hashes)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return [*_subproof(leaf_hashes[:k], m, whole_subtree), root_of(leaf_hashes[k:])]
    return [*_subproof(leaf_hashes[k:], m - k, False), root_of(leaf_hashes[:k])]


def _check_size(value: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProofError(f"{what} must be a non-negative integer, got {value!r}")


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        size = len(value) if isinstance(value, bytes | bytearray) else type(value).__name__
        raise ProofError(f"{what} must be a {HASH_SIZE}-byte hash, got {size}")


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for position, value in enumerate(proof):
        _check_hash(value, f"proof hash {position}")


def _shift_while_lsb_clear(fn: int, sn: int) -> tuple[int, int]:
    """Right-shift fn and sn equally until LSB(fn) is set or fn is 0."""
    while fn and not fn & 1:
        fn >>= 1
        sn >>= 1
    return fn, sn


def root_from_inclusion_proof(
    index: int, tree_size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """RFC 9162 §2.1.3.2 steps 1-4: the root that `proof` implies for `leaf_hash` at `index`
    in a tree of `tree_size` leaves (step 5's sn == 0 check included; the caller compares roots).
    """
    _check_size(index, "leaf index")
    _check_size(tree_size, "tree size")
    _check_hash(leaf_hash, "leaf hash")
    _check_proof_hashes(proof)
    # Step 1: the index must fall inside the tree.
    if index >= tree_size:
        raise ProofError(f"leaf index {index} is not below tree size {tree_size}")
    # Steps 2-3.
    fn, sn = index, tree_size - 1
    r = leaf_hash
    # Step 4.
    for p in proof:
        # 4a: more hashes than the path from this leaf to the root has.
        if sn == 0:
            raise ProofError(f"inclusion proof is longer than the path in a tree of {tree_size}")
        # 4b.
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                fn, sn = _shift_while_lsb_clear(fn, sn)
        else:
            r = node_hash(r, p)
        # 4c.
        fn >>= 1
        sn >>= 1
    # Step 5, first half: every level up to the root must have been consumed.
    if sn != 0:
        raise ProofError(f"inclusion proof is shorter than the path in a tree of {tree_size}")
    return r


def verify_inclusion(
    index: int, tree_size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: check that `leaf_hash` is leaf `index` of the tree of `tree_size`
    leaves whose root is `root`; raise `ProofError` otherwise.
    """
    _check_hash(root, "root hash")
    computed = root_from_inclusion_proof(index, tree_size, leaf_hash, proof)
    # Step 5, second half.
    if not hmac.compare_digest(computed, root):
        raise ProofError(
            f"inclusion proof for leaf {index} of {tree_size} leads to "
            f"{computed.hex()}, not the expected root {bytes(root).hex()}"
        )


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2: check that the tree of `first` leaves with `first_root` is a prefix of
    the tree of `second` leaves with `second_root`; raise `ProofError` otherwise.
    """
    _check_size(first, "first tree size")
    _check_size(second, "second tree size")
    if first > second:
        raise ProofError(f"first tree size {first} is larger than second tree size {second}")
    if first == 0:
        # Every tree extends the empty tree: such a proof would prove nothing.
        raise ProofError("a consistency proof from the empty tree is meaningless")
    if first == second:
        # §2.1.4.2 covers first < second; equal trees are consistent only when identical.
        if proof:
            raise ProofError(f"trees are both of size {first}, but the proof is not empty")
        if not hmac.compare_digest(bytes(first_root), bytes(second_root)):
            raise ProofError(f"trees are both of size {first}, but their roots differ")
        return
    _check_hash(first_root, "first root hash")
    _check_hash(second_root, "second root hash")
    _check_proof_hashes(proof)
    # Step 1.
    if not proof:
        raise ProofError(f"empty consistency proof from size {first} to size {second}")
    path = list(proof)
    # Step 2: when the first tree is a complete subtree its root is not sent; use the one given.
    if first & (first - 1) == 0:
        path.insert(0, bytes(first_root))
    # Steps 3-4.
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        # 6a.
        if sn == 0:
            raise ProofError(
                f"consistency proof is longer than needed from size {first} to size {second}"
            )
        # 6b.
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                fn, sn = _shift_while_lsb_clear(fn, sn)
        else:
            sr = node_hash(sr, c)
        # 6c.
        fn >>= 1
        sn >>= 1
    # Step 7.
    if sn != 0:
        raise ProofError(
            f"consistency proof is shorter than needed from size {first} to size {second}"
        )
    if not hmac.compare_digest(fr, bytes(first_root)):
        raise ProofError(f"consistency proof does not lead to the root of the size-{first} tree")
    if not hmac.compare_digest(sr, bytes(second_root)):
        raise ProofError(f"consistency proof does not lead to the root of the size-{second} tree")
