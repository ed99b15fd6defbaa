"""Exhaustive and property checks of ledger.merkle against the recursive RFC 9162 definitions.

Every leaf of every tree of size 1..64 is proved, every consistency pair 1 <= m <= n <= 64 is
proved, and tampered proofs, roots, leaves, indices and sizes are rejected.
"""

from __future__ import annotations

import hashlib
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    ProofError,
    consistency_path,
    inclusion_path,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    root_of,
    subtree_levels,
    verify_consistency,
    verify_inclusion,
)

MAX_SIZE = 64
SIZES = range(1, MAX_SIZE + 1)


@cache
def leaves(size: int) -> tuple[bytes, ...]:
    return tuple(leaf_hash(f"entry {i}".encode()) for i in range(size))


@cache
def root(size: int) -> bytes:
    return root_of(leaves(size))


def flip_bit(value: bytes, bit: int) -> bytes:
    data = bytearray(value)
    data[bit // 8] ^= 1 << (bit % 8)
    return bytes(data)


def inclusion_shape(index: int, size: int) -> tuple[str, ...]:
    """Which side each audit-path hash sits on, leaf upwards, read off the MTH recursion."""
    if size == 1:
        return ()
    k = 1 << ((size - 1).bit_length() - 1)
    if index < k:
        return (*inclusion_shape(index, k), "right")
    return (*inclusion_shape(index - k, size - k), "left")


def consistency_shape(first: int, second: int, whole: bool = True) -> tuple[str, ...]:
    """The SUBPROOF recursion as tags: where the proof starts, then each hash's role."""
    if first == second:
        return ("given root",) if whole else ("subtree root",)
    k = 1 << ((second - 1).bit_length() - 1)
    if first <= k:
        return (*consistency_shape(first, k, whole), "new, right")
    return (*consistency_shape(first - k, second - k, False), "shared, left")


# --- hashing, as RFC 9162 §2.1.1 defines it ---


def test_leaf_and_node_hashes_are_domain_separated_sha256():
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert (
        node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    )
    assert EMPTY_ROOT == hashlib.sha256(b"").digest() == root_of([])


def test_small_roots_by_hand():
    a, b, c = (leaf_hash(x) for x in (b"a", b"b", b"c"))
    assert root_of([a]) == a
    assert root_of([a, b]) == node_hash(a, b)
    # Three leaves split 2 + 1: the largest power of two below 3 is 2.
    assert root_of([a, b, c]) == node_hash(node_hash(a, b), c)


@pytest.mark.parametrize("size", [0, 1, 2, 5, 8, 13, 32, 63])
def test_subtree_levels_hold_the_root_of_every_complete_subtree(size: int):
    """`verify` rebuilds a chunk's tree a level at a time (`subtree_levels`, its own hashing):
    node i of level h is MTH of leaves [i·2^h, (i+1)·2^h), by the recursive definition."""
    levels = subtree_levels(b"".join(leaves(size)))
    for height, level in enumerate(levels):
        width = 1 << height
        assert [level[at : at + HASH_SIZE] for at in range(0, len(level), HASH_SIZE)] == [
            root_of(leaves(size)[i : i + width]) for i in range(0, size - width + 1, width)
        ]
    assert len(levels[-1]) == (HASH_SIZE if size else 0)


def test_reference_paths_by_hand_for_five_leaves():
    d = [leaf_hash(bytes([i])) for i in range(5)]
    left4 = node_hash(node_hash(d[0], d[1]), node_hash(d[2], d[3]))
    assert inclusion_path(d, 0) == [d[1], node_hash(d[2], d[3]), d[4]]
    assert inclusion_path(d, 4) == [left4]
    # RFC 9162 §2.1.4.1: the first tree (3 leaves) is rebuilt from d2, d3, then d4 extends it.
    assert consistency_path(d, 3) == [d[2], d[3], node_hash(d[0], d[1]), d[4]]
    assert consistency_path(d, 4) == [d[4]]
    assert consistency_path(d, 5) == []


# --- every proof of every small tree verifies ---


@pytest.mark.parametrize("size", SIZES)
def test_every_leaf_of_the_tree_is_proved(size: int):
    tree = leaves(size)
    for index in range(size):
        proof = inclusion_path(tree, index)
        assert len(proof) == len(inclusion_shape(index, size))
        assert root_from_inclusion_proof(index, size, tree[index], proof) == root(size)
        verify_inclusion(index, size, tree[index], proof, root(size))


@pytest.mark.parametrize("second", SIZES)
def test_every_earlier_tree_is_proved_consistent(second: int):
    for first in range(1, second + 1):
        proof = consistency_path(leaves(second), first)
        verify_consistency(first, second, root(first), root(second), proof)


# --- tampering with any part is rejected ---


@pytest.mark.parametrize("size", SIZES)
def test_inclusion_rejects_a_flipped_bit_anywhere(size: int):
    tree = leaves(size)
    for index in range(size):
        proof = inclusion_path(tree, index)
        # One bit per hash, a different bit for each index and position, covers the bytes
        # of every hash across the loop; the hypothesis test below picks arbitrary bits.
        for position in range(len(proof)):
            bad = list(proof)
            bad[position] = flip_bit(bad[position], (index * 37 + position * 11) % 256)
            with pytest.raises(ProofError):
                verify_inclusion(index, size, tree[index], bad, root(size))
        bit = (index * 53 + size) % 256
        with pytest.raises(ProofError):
            verify_inclusion(index, size, flip_bit(tree[index], bit), proof, root(size))
        with pytest.raises(ProofError):
            verify_inclusion(index, size, tree[index], proof, flip_bit(root(size), bit))


@pytest.mark.parametrize("size", [1, 2, 5, 8, 13])
def test_inclusion_rejects_every_single_bit_flip(size: int):
    tree = leaves(size)
    for index in range(size):
        proof = inclusion_path(tree, index)
        for bit in range(256):
            with pytest.raises(ProofError):
                verify_inclusion(index, size, flip_bit(tree[index], bit), proof, root(size))
            with pytest.raises(ProofError):
                verify_inclusion(index, size, tree[index], proof, flip_bit(root(size), bit))
            for position in range(len(proof)):
                bad = list(proof)
                bad[position] = flip_bit(bad[position], bit)
                with pytest.raises(ProofError):
                    verify_inclusion(index, size, tree[index], bad, root(size))


@given(
    size=st.integers(1, MAX_SIZE),
    data=st.data(),
)
def test_inclusion_rejects_random_bit_flips(size: int, data: st.DataObject):
    tree = leaves(size)
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = inclusion_path(tree, index)
    bit = data.draw(st.integers(0, 255), label="bit")
    target = data.draw(st.sampled_from(["leaf", "root", *range(len(proof))]), label="target")
    leaf, top, bad = tree[index], root(size), list(proof)
    if target == "leaf":
        leaf = flip_bit(leaf, bit)
    elif target == "root":
        top = flip_bit(top, bit)
    else:
        bad[target] = flip_bit(bad[target], bit)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf, bad, top)


@pytest.mark.parametrize("size", SIZES)
def test_inclusion_rejects_another_index_in_the_same_tree(size: int):
    tree = leaves(size)
    for index in range(size):
        proof = inclusion_path(tree, index)
        for other in [*range(size + 2), 2**64 - 1]:
            if other != index:
                with pytest.raises(ProofError):
                    verify_inclusion(other, size, tree[index], proof, root(size))


@pytest.mark.parametrize("size", SIZES)
def test_inclusion_with_another_size_holds_only_for_the_same_path_shape(size: int):
    # The inclusion proof binds the root, not the size: a size whose audit path for this index
    # has exactly the same shape yields the same root (e.g. leaf 0 of 7 and of 8). Every other
    # size must be rejected; the checkpoint signature is what binds size and root together.
    tree = leaves(size)
    for index in range(size):
        proof = inclusion_path(tree, index)
        for other in range(index + 1, 2 * MAX_SIZE + 1):
            if other == size:
                continue
            if inclusion_shape(index, other) == inclusion_shape(index, size):
                verify_inclusion(index, other, tree[index], proof, root(size))
            else:
                with pytest.raises(ProofError):
                    verify_inclusion(index, other, tree[index], proof, root(size))


def test_inclusion_rejects_a_proof_one_hash_too_long_or_short():
    tree = leaves(13)
    proof = inclusion_path(tree, 6)
    for bad in (proof[:-1], []):
        with pytest.raises(ProofError, match="shorter"):
            verify_inclusion(6, 13, tree[6], bad, root(13))
    # RFC 9162 §2.1.3.2 step 4a stops at the root rather than hashing on past it.
    for bad in ([*proof, proof[-1]], [proof[0], *proof]):
        with pytest.raises(ProofError, match="longer"):
            verify_inclusion(6, 13, tree[6], bad, root(13))


@pytest.mark.parametrize("second", SIZES)
def test_consistency_rejects_a_flipped_bit_anywhere(second: int):
    for first in range(1, second + 1):
        proof = consistency_path(leaves(second), first)
        for position in range(len(proof)):
            bad = list(proof)
            bad[position] = flip_bit(bad[position], (first * 41 + position * 13) % 256)
            with pytest.raises(ProofError):
                verify_consistency(first, second, root(first), root(second), bad)
        bit = (first * 29 + second) % 256
        with pytest.raises(ProofError):
            verify_consistency(first, second, flip_bit(root(first), bit), root(second), proof)
        with pytest.raises(ProofError):
            verify_consistency(first, second, root(first), flip_bit(root(second), bit), proof)


@given(second=st.integers(1, MAX_SIZE), data=st.data())
def test_consistency_rejects_random_bit_flips(second: int, data: st.DataObject):
    first = data.draw(st.integers(1, second), label="first")
    proof = consistency_path(leaves(second), first)
    bit = data.draw(st.integers(0, 255), label="bit")
    target = data.draw(st.sampled_from(["first", "second", *range(len(proof))]), label="target")
    old, new, bad = root(first), root(second), list(proof)
    if target == "first":
        old = flip_bit(old, bit)
    elif target == "second":
        new = flip_bit(new, bit)
    else:
        bad[target] = flip_bit(bad[target], bit)
    with pytest.raises(ProofError):
        verify_consistency(first, second, old, new, bad)


@pytest.mark.parametrize("second", range(1, 33))
def test_consistency_with_other_sizes_holds_only_for_the_same_proof_shape(second: int):
    # As with inclusion, the roots carry the sizes: other sizes pass only when the proof has
    # the same structure, which then recomputes the very same two roots.
    for first in range(1, second + 1):
        proof = consistency_path(leaves(second), first)
        shape = consistency_shape(first, second)
        for other_first in range(1, 65):
            for other_second in range(other_first, 65):
                if (other_first, other_second) == (first, second):
                    continue
                claim = (other_first, other_second, root(first), root(second), proof)
                if consistency_shape(other_first, other_second) == shape:
                    verify_consistency(*claim)
                else:
                    with pytest.raises(ProofError):
                        verify_consistency(*claim)


def test_consistency_of_equal_sizes_needs_equal_roots_and_no_proof():
    verify_consistency(5, 5, root(5), root(5), [])
    with pytest.raises(ProofError, match="not empty"):
        verify_consistency(5, 5, root(5), root(5), [root(5)])
    with pytest.raises(ProofError, match="differ"):
        verify_consistency(5, 5, root(5), root(6), [])


def test_consistency_rejects_shrinking_and_the_empty_tree():
    with pytest.raises(ProofError, match="larger"):
        verify_consistency(6, 5, root(6), root(5), consistency_path(leaves(6), 5))
    with pytest.raises(ProofError, match="empty tree"):
        verify_consistency(0, 5, EMPTY_ROOT, root(5), [])


def test_reference_generators_refuse_impossible_requests():
    with pytest.raises(ProofError):
        inclusion_path(leaves(4), 4)
    with pytest.raises(ProofError):
        consistency_path(leaves(4), 0)
    with pytest.raises(ProofError):
        consistency_path(leaves(4), 5)
