"""RFC 9162 proofs from stored complete subtrees, in O(log n) node look-ups.

A tree is stored as the hash of every complete subtree: node (level, i) covers leaves
[i * 2**level, (i + 1) * 2**level). Such a node exists as soon as its last leaf does, so appends
write at most log2(n) + 1 nodes and never change one. Any root, audit path or consistency proof
is a combination of those nodes: the RFC's recursion splits at powers of two, and every left part
it produces is an aligned complete subtree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ledger.merkle import EMPTY_ROOT, largest_power_of_two_below, leaf_hash, node_hash

NodeLookup = Callable[[int, int], bytes]


def is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def new_nodes(index: int, leaf: bytes, lookup: NodeLookup) -> list[tuple[int, int, bytes]]:
    """The nodes (level, i, hash) completed by appending `leaf` as leaf `index`."""
    nodes = [(0, index, leaf)]
    level, position, current = 0, index, leaf
    while position & 1:
        # This node is a right child: its parent is now complete.
        left = lookup(level, position - 1)
        current = node_hash(left, current)
        level, position = level + 1, position >> 1
        nodes.append((level, position, current))
    return nodes


def subtree_hash(start: int, end: int, lookup: NodeLookup) -> bytes:
    """MTH(D[start:end]) where `start` is aligned as the RFC's recursion leaves it."""
    n = end - start
    if n == 0:
        return EMPTY_ROOT
    if is_power_of_two(n) and start % n == 0:
        level = n.bit_length() - 1
        return lookup(level, start >> level)
    k = largest_power_of_two_below(n)
    return node_hash(subtree_hash(start, start + k, lookup), subtree_hash(start + k, end, lookup))


def root_hash(size: int, lookup: NodeLookup) -> bytes:
    return subtree_hash(0, size, lookup)


def inclusion_hashes(index: int, size: int, lookup: NodeLookup) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[0:size]), leaf's sibling first."""
    if not 0 <= index < size:
        raise IndexError(f"leaf {index} is not in a tree of {size}")
    path: list[bytes] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = largest_power_of_two_below(end - start)
        if m < k:
            path.append(subtree_hash(start + k, end, lookup))
            end = start + k
        else:
            path.append(subtree_hash(start, start + k, lookup))
            start, m = start + k, m - k
    path.reverse()
    return path


def consistency_hashes(first: int, second: int, lookup: NodeLookup) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(first, D[0:second]) for 0 < first <= second."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    path: list[bytes] = []
    start, end, m, whole = 0, second, first, True
    while True:
        n = end - start
        if m == n:
            if not whole:
                path.append(subtree_hash(start, end, lookup))
            break
        k = largest_power_of_two_below(n)
        if m <= k:
            path.append(subtree_hash(start + k, end, lookup))
            end = start + k
        else:
            path.append(subtree_hash(start, start + k, lookup))
            start, m, whole = start + k, m - k, False
    path.reverse()
    return path


class MemoryTree:
    """A tree held in memory, built leaf by leaf: what `verify` rebuilds from the entries."""

    def __init__(self) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.size = 0

    def lookup(self, level: int, position: int) -> bytes:
        return self.nodes[(level, position)]

    def append_entry(self, entry: bytes) -> None:
        for level, position, value in new_nodes(self.size, leaf_hash(entry), self.lookup):
            self.nodes[(level, position)] = value
        self.size += 1

    def extend(self, entries: Iterable[bytes]) -> None:
        for entry in entries:
            self.append_entry(entry)

    def root(self, size: int | None = None) -> bytes:
        return root_hash(self.size if size is None else size, self.lookup)


def frontier_keys(size: int) -> list[tuple[int, int]]:
    """The complete subtrees (level, i) whose hashes make up a tree of `size` leaves, largest
    first: one per set bit of `size`."""
    keys: list[tuple[int, int]] = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            keys.append((level, start >> level))
            start += 1 << level
    return keys


def needed_nodes(compute: Callable[[NodeLookup], object]) -> list[tuple[int, int]]:
    """The node keys that `compute(lookup)` reads, so that they can be fetched in one query."""
    seen: list[tuple[int, int]] = []

    def record(level: int, position: int) -> bytes:
        seen.append((level, position))
        return bytes(32)

    compute(record)
    return list(dict.fromkeys(seen))


class Frontier:
    """The hashes of the complete subtrees of a tree (a compact range): enough to append leaves
    and to compute the root of every size reached, in O(log n) hashes and no node look-ups."""

    def __init__(self, size: int = 0, hashes: list[bytes] | None = None) -> None:
        self.size = size
        self.hashes = list(hashes or [])  # largest subtree first, as `frontier_keys(size)`

    def copy(self) -> Frontier:
        return Frontier(self.size, self.hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf; return the nodes (level, i, hash) it completes, as `new_nodes` does."""
        index = self.size
        nodes = [(0, index, leaf)]
        level, position, current = 0, index, leaf
        while position & 1:
            current = node_hash(self.hashes.pop(), current)
            level, position = level + 1, position >> 1
            nodes.append((level, position, current))
        self.hashes.append(current)
        self.size += 1
        return nodes

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        current = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            current = node_hash(left, current)
        return current
