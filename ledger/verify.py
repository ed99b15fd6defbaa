"""Offline verification of a ledger (SQLite file or JSON Lines export) or of one receipt.

Trust comes from one thing only: the verifier key the officer holds (or, failing that, the one
published next to the database). Everything else is recomputed: each entry's bytes and hash, the
chain of `prev_hash`, the Merkle tree, every stored checkpoint's signature and root, the
consistency between successive checkpoints, and, given a checkpoint the officer kept, a
consistency proof that today's log extends it. The first failure found is reported with the
first bad index and a short damage name (see `Damage`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import rfc8785

from ledger.canonical import ZERO_HASH, parse_entry, parse_entry_fast, sha256_hex
from ledger.checkpoint import parse_checkpoint
from ledger.export import EXPORT_TYPE
from ledger.keys import ORIGIN, PUBLIC_KEY_FILE
from ledger.merkle import ProofError, leaf_hash, node_hash, verify_consistency
from ledger.note import NoteError, Verifier, open_note
from ledger.tlog_proof import parse_tlog_proof, verify_tlog_proof
from ledger.tree import Frontier, MemoryTree, consistency_hashes, frontier_keys


class Damage:
    """The kinds of damage `verify` names."""

    MODIFIED = "modified"  # an entry's bytes no longer match its hash or its successor's
    DELETED = "deleted"  # an index is missing from the sequence
    INSERTED = "inserted"  # an entry that was never appended sits in the sequence
    REORDERED = "reordered"  # entries are present but out of order
    TRUNCATED = "truncated"  # the log is shorter than a checkpoint says it was
    REWRITTEN = "rewritten"  # a self-consistent chain that signed checkpoints contradict
    FORGED_CHECKPOINT = "forged_checkpoint"  # a checkpoint whose signature does not verify
    SWAPPED_KEY = "swapped_key"  # the log's key is not the key the verifier trusts
    UNREADABLE = "unreadable"  # the source is not a ledger at all
    BAD_RECEIPT = "bad_receipt"  # a receipt that does not prove its entry


class Report(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    summary: str
    first_bad_index: int | None = None
    damage: str | None = None
    tree_size: int = 0
    checkpoints_checked: int = 0


class Failure(Exception):
    def __init__(self, damage: str, summary: str, first_bad_index: int | None = None) -> None:
        super().__init__(summary)
        self.damage, self.summary, self.first_bad_index = damage, summary, first_bad_index

    def __reduce__(self) -> tuple:
        # Sent back from `--jobs` worker processes.
        return (Failure, (self.damage, self.summary, self.first_bad_index))


@dataclass
class Material:
    """What a source holds, read without interpretation."""

    entries: list[tuple[str, bytes]]  # (stored entry_hash, entry bytes), in stored order
    checkpoints: list[tuple[int, str, str]]  # (tree_size, root_hash hex, signed note)
    published_key: str | None  # public.key next to the database, or the export header's
    nodes: dict[tuple[int, int], bytes] | None = field(default=None)  # stored tree nodes


SQLITE_MAGIC = b"SQLite format 3\x00"
RECEIPT_MAGIC = "c2sp.org/tlog-proof@v1"


def verify(
    source: Path, public_key: str | None = None, checkpoint: str | None = None, jobs: int = 1
) -> Report:
    """Check the ledger (or receipt) in `source`; see the module docstring. A SQLite store is
    streamed (`verify_sqlite`); `jobs` > 1 checks its entries in that many processes."""
    source = Path(source)
    try:
        head = source.read_bytes()[:64]
    except OSError as e:
        return Report(ok=False, summary=f"cannot read {source}: {e}", damage=Damage.UNREADABLE)
    if head.startswith(RECEIPT_MAGIC.encode()):
        return verify_receipt_file(source, public_key)
    try:
        if head.startswith(SQLITE_MAGIC):
            return verify_sqlite(source, public_key, checkpoint, jobs)
        material = read_export(source)
    except (ValueError, KeyError, TypeError, IndexError, sqlite3.Error) as e:
        return Report(ok=False, summary=f"{source} is not a ledger: {e}", damage=Damage.UNREADABLE)
    return verify_material(material, public_key, checkpoint)


def read_sqlite(db_path: Path) -> Material:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        conn.execute("BEGIN")
        entries = [
            (h, bytes(raw))
            for h, raw in conn.execute("SELECT entry_hash, entry FROM entries ORDER BY idx")
        ]
        checkpoints = conn.execute(
            "SELECT tree_size, root_hash, note FROM checkpoints ORDER BY tree_size"
        ).fetchall()
        nodes = {
            (level, position): bytes(h)
            for level, position, h in conn.execute("SELECT level, position, hash FROM tree_nodes")
        }
        conn.execute("COMMIT")
    finally:
        conn.close()
    key_path = db_path.parent / PUBLIC_KEY_FILE
    published = key_path.read_text().strip() if key_path.exists() else None
    return Material(entries, [tuple(c) for c in checkpoints], published, nodes)


# -- a SQLite store, streamed -------------------------------------------------------------------

CHUNK_LEVEL = 14
CHUNK = 1 << CHUNK_LEVEL  # entries per chunk: an aligned complete subtree


class StoredTree:
    """`MemoryTree`'s reading side over the recomputed roots and the stored nodes (which the
    stream has checked against the recomputed ones), for the consistency proofs."""

    def __init__(self, conn: sqlite3.Connection, size: int, roots: dict[int, bytes]) -> None:
        self.conn, self.size, self.roots = conn, size, roots

    def lookup(self, level: int, position: int) -> bytes:
        row = self.conn.execute(
            "SELECT hash FROM tree_nodes WHERE level = ? AND position = ?", (level, position)
        ).fetchone()
        if row is None:
            raise Failure(Damage.REWRITTEN, f"the stored tree lacks node ({level}, {position})")
        return bytes(row[0])

    def root(self, size: int | None = None) -> bytes:
        return self.roots[self.size if size is None else size]


@dataclass
class Chunk:
    """What a worker found in one aligned chunk of entries (see `_check_chunk`)."""

    start: int
    count: int  # entries that passed, from `start`
    failure: Failure | None
    top: list[bytes]  # the frontier of the good entries, largest subtree first
    prefixes: dict[int, list[bytes]]  # the frontier at each asked-for size inside the chunk
    differing: tuple[int, int] | None  # lowest (level, first leaf) of a stored node that differs
    missing: int | None  # first leaf of the first recomputed node not stored


def _check_chunk(db_path: Path, start: int, low: int, high: int | None, sizes: list[int]) -> Chunk:
    """Entries at positions start… (indices low ≤ idx < high), start a multiple of CHUNK, checked
    on their own: canonical form, index, hash, the chain (from the entry stored before them),
    and every complete subtree among them against the stored node."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        conn.execute("BEGIN")
        before = conn.execute(
            "SELECT entry FROM entries WHERE idx < ? ORDER BY idx DESC LIMIT 1", (low,)
        ).fetchone()
        prev_hash = sha256_hex(before[0]) if before and start else ZERO_HASH
        leaves: list[bytes] = []
        failure = None
        rows = conn.execute(
            "SELECT entry_hash, entry FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx",
            (low, high if high is not None else 2**62),
        )
        for position, (stored_hash, raw) in enumerate(rows, start):
            failure = _entry_failure(conn, position, stored_hash, raw, prev_hash)
            if failure is not None:
                break
            prev_hash = stored_hash
            leaves.append(leaf_hash(raw))
        levels = [leaves]
        while len(levels[-1]) > 1:
            below = levels[-1]
            levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
        differing, missing = _compare_nodes(conn, start, levels)
        conn.execute("COMMIT")
    finally:
        conn.close()

    def frontier(size: int) -> list[bytes]:
        return [levels[lv][p] for lv, p in frontier_keys(size)]

    return Chunk(
        start,
        len(leaves),
        failure,
        frontier(len(leaves)),
        {size: frontier(size - start) for size in sizes if start < size <= start + len(leaves)},
        differing,
        missing,
    )


def _entry_failure(
    conn: sqlite3.Connection, position: int, stored_hash: str, raw: bytes, prev_hash: str
) -> Failure | None:
    try:
        document = parse_entry_fast(raw)
        index = document["index"]
    except (ValueError, KeyError, TypeError):
        return Failure(Damage.MODIFIED, f"entry {position} is not a canonical entry", position)
    if index != position:
        return _misplaced(conn, position, index)
    if document["prev_hash"] != prev_hash:
        bad = position - 1 if position else 0
        return Failure(
            Damage.MODIFIED, f"entry {position}'s prev_hash does not match entry {bad}'s bytes", bad
        )
    actual = sha256_hex(raw)
    if stored_hash != actual:
        return Failure(
            Damage.MODIFIED,
            f"entry {position}'s bytes hash to {actual[:16]}…, not its recorded "
            f"{stored_hash[:16]}…",
            position,
        )
    return None


def _compare_nodes(
    conn: sqlite3.Connection, start: int, levels: list[list[bytes]]
) -> tuple[tuple[int, int] | None, int | None]:
    differing: tuple[int, int] | None = None
    missing: int | None = None
    for level, hashes in enumerate(levels):
        base = start >> level
        stored = dict(
            conn.execute(
                "SELECT position, hash FROM tree_nodes WHERE level = ? AND position >= ? "
                "AND position < ?",
                (level, base, base + len(hashes)),
            ).fetchall()
        )
        for i, value in enumerate(hashes):
            found = stored.get(base + i)
            if found is None:
                leaf = (base + i) << level
                missing = leaf if missing is None else min(missing, leaf)
            elif differing is None and bytes(found) != value:
                differing = (level, (base + i) << level)
    return differing, missing


def _misplaced(conn: sqlite3.Connection, position: int, index: int) -> Failure:
    if index < position:
        return Failure(
            Damage.INSERTED,
            f"entry {index} appears again at position {position}: "
            f"entries {index}..{position - 1} were inserted",
            index,
        )
    later = conn.execute("SELECT entry FROM entries ORDER BY idx LIMIT -1 OFFSET ?", (position,))
    for (raw,) in later:
        try:
            if parse_entry_fast(raw)["index"] == position:
                return Failure(
                    Damage.REORDERED,
                    f"entry {index} stands where entry {position} should, which comes later",
                    position,
                )
        except (ValueError, KeyError, TypeError):
            continue
    return Failure(
        Damage.DELETED,
        f"entry {position} is missing: entry {index} follows entry {position - 1}",
        position,
    )


def _chunks(conn: sqlite3.Connection) -> list[tuple[int, int, int | None]]:
    """(first position, first idx, idx past the last) of each chunk of CHUNK stored entries."""
    bounds = [
        (position, idx)
        for position, (idx,) in enumerate(conn.execute("SELECT idx FROM entries ORDER BY idx"))
        if position % CHUNK == 0
    ]
    highs = [idx for _, idx in bounds[1:]] + [None]
    return [(p, low, high) for (p, low), high in zip(bounds, highs, strict=True)]


def _checked_chunks(
    conn: sqlite3.Connection, db_path: Path, jobs: int, sizes: list[int]
) -> Iterator[Chunk]:
    chunks = _chunks(conn)
    if jobs <= 1:
        for start, low, high in chunks:
            yield _check_chunk(db_path, start, low, high, sizes)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(jobs) as pool:
        columns = [list(c) for c in zip(*chunks, strict=True)] or [[], [], []]
        n = len(chunks)
        # Checked ahead in `jobs` processes, consumed in order.
        yield from pool.map(_check_chunk, [db_path] * n, *columns, [sizes] * n)


def verify_sqlite(
    db_path: Path, public_key: str | None, kept_checkpoint: str | None, jobs: int = 1
) -> Report:
    """`verify_material` for a SQLite store without holding it in memory: the entries are
    streamed in order (checked in `jobs` processes), the tree is rebuilt leaf by leaf from their
    bytes and compared node by node with the stored subtree hashes as they complete, and each
    stored checkpoint is checked against the root recomputed at its size."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        conn.execute("BEGIN")
        count = conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        checkpoints = [
            tuple(c)
            for c in conn.execute(
                "SELECT tree_size, root_hash, note FROM checkpoints ORDER BY tree_size"
            )
        ]
        key_path = db_path.parent / PUBLIC_KEY_FILE
        published = key_path.read_text().strip() if key_path.exists() else None
        first = conn.execute("SELECT entry_hash, entry FROM entries ORDER BY idx LIMIT 1")
        material = Material([tuple(r) for r in first.fetchall()], checkpoints, published)
        try:
            verifier = _verifier(trusted_key(material, public_key))
            tree = _stream_tree(conn, db_path, count, jobs, {c[0] for c in checkpoints})
            checked = check_checkpoints(checkpoints, tree, verifier)  # type: ignore[arg-type]
            if kept_checkpoint is not None:
                check_kept_checkpoint(kept_checkpoint, tree, verifier, checkpoints)  # type: ignore[arg-type]
                checked += 1
        except Failure as f:
            return Report(
                ok=False,
                summary=f.summary,
                first_bad_index=f.first_bad_index,
                damage=f.damage,
                tree_size=count,
            )
        conn.execute("COMMIT")
    finally:
        conn.close()
    kept = "; it extends the kept checkpoint" if kept_checkpoint is not None else ""
    signed = "1 signed checkpoint" if checked == 1 else f"{checked} signed checkpoints"
    return Report(
        ok=True,
        summary=f"ok: {count} entries, chain and tree recomputed, {signed} verified and "
        f"consistent{kept}",
        tree_size=count,
        checkpoints_checked=checked,
    )


def _stream_tree(
    conn: sqlite3.Connection, db_path: Path, count: int, jobs: int, sizes: set[int]
) -> StoredTree:
    """Join the chunks in order: chain failures first (the earliest), then the stored nodes
    above the chunks, then what the chunks found of the stored nodes within them."""
    upper = Frontier()  # over whole chunks: each a complete subtree at CHUNK_LEVEL
    roots: dict[int, bytes] = {0: Frontier().root()}
    differing: list[tuple[int, int]] = []
    missing: list[int] = []
    final: list[bytes] = []
    for chunk in _checked_chunks(conn, db_path, jobs, sorted(sizes)):
        if chunk.failure is not None:
            raise chunk.failure
        for size, prefix in chunk.prefixes.items():
            roots[size] = Frontier(size, upper.hashes + prefix).root()
        differing += [chunk.differing] if chunk.differing else []
        missing += [chunk.missing] if chunk.missing is not None else []
        if chunk.count == CHUNK:
            for level, position, value in upper.append(chunk.top[0])[1:]:
                level += CHUNK_LEVEL
                row = conn.execute(
                    "SELECT hash FROM tree_nodes WHERE level = ? AND position = ?",
                    (level, position),
                ).fetchone()
                if row is None:
                    missing.append(position << level)
                elif bytes(row[0]) != value:
                    differing.append((level, position << level))
        else:
            final = chunk.top
    beyond = conn.execute(
        "SELECT 1 FROM tree_nodes WHERE ((position + 1) << level) > ? LIMIT 1", (count,)
    ).fetchone()
    if beyond:
        raise Failure(
            Damage.TRUNCATED,
            f"the stored tree has nodes past the last entry {count - 1}: "
            "entries were removed from the end",
            count,
        )
    if differing:
        first = min(differing)[1]
        raise Failure(
            Damage.REWRITTEN,
            f"entry {first} differs from the tree hash stored when it was appended",
            first,
        )
    if missing:
        first = min(missing)
        raise Failure(Damage.REWRITTEN, f"the stored tree lacks nodes from entry {first}", first)
    roots[count] = Frontier(count, upper.hashes + final).root()
    return StoredTree(conn, count, roots)


def read_export(path: Path) -> Material:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    if header.get("type") != EXPORT_TYPE:
        raise ValueError("no export header")
    entries: list[tuple[str, bytes]] = []
    checkpoints: list[tuple[int, str, str]] = []
    for line in lines[1:]:
        item = json.loads(line)
        if item["type"] == "entry":
            entries.append((item["entry_hash"], rfc8785.dumps(item["entry"])))
        elif item["type"] == "checkpoint":
            checkpoints.append((item["tree_size"], item["root_hash"], item["checkpoint"]))
    return Material(entries, checkpoints, header.get("public_key"))


def verify_material(
    material: Material, public_key: str | None, kept_checkpoint: str | None
) -> Report:
    size = len(material.entries)
    try:
        trusted = trusted_key(material, public_key)
        verifier = _verifier(trusted)
        tree = check_chain(material.entries)
        check_stored_nodes(material.nodes, tree)
        checked = check_checkpoints(material.checkpoints, tree, verifier)
        if kept_checkpoint is not None:
            check_kept_checkpoint(kept_checkpoint, tree, verifier, material.checkpoints)
            checked += 1
    except Failure as f:
        return Report(
            ok=False,
            summary=f.summary,
            first_bad_index=f.first_bad_index,
            damage=f.damage,
            tree_size=size,
        )
    kept = "; it extends the kept checkpoint" if kept_checkpoint is not None else ""
    signed = "1 signed checkpoint" if checked == 1 else f"{checked} signed checkpoints"
    return Report(
        ok=True,
        summary=f"ok: {size} entries, chain and tree recomputed, {signed} verified and "
        f"consistent{kept}",
        tree_size=size,
        checkpoints_checked=checked,
    )


def trusted_key(material: Material, public_key: str | None) -> str:
    """The key to trust: the officer's if given; it, the published key and the genesis `key`
    entry must all agree."""
    if not material.entries:
        raise Failure(Damage.TRUNCATED, "the ledger has no entries, not even its genesis", 0)
    try:
        genesis = parse_entry(material.entries[0][1])
        genesis_key = genesis["body"]["verifier_key"] if genesis["kind"] == "key" else None
    except (ValueError, KeyError, TypeError):
        genesis_key = None
    trusted = public_key.strip() if public_key else material.published_key or genesis_key
    if trusted is None:
        raise Failure(Damage.SWAPPED_KEY, "no verifier key given, published or in entry 0", 0)
    if genesis_key is not None and genesis_key != trusted:
        raise Failure(
            Damage.SWAPPED_KEY,
            f"entry 0 names verifier key {genesis_key!r}, not the trusted {trusted!r}",
            0,
        )
    if material.published_key is not None and material.published_key != trusted:
        raise Failure(
            Damage.SWAPPED_KEY,
            f"the published key {material.published_key!r} is not the trusted {trusted!r}",
            0,
        )
    return trusted


def _verifier(verifier_key: str) -> Verifier:
    try:
        return Verifier.from_verifier_key(verifier_key)
    except (NoteError, ValueError) as e:
        raise Failure(Damage.SWAPPED_KEY, f"unusable verifier key: {e}", 0) from None


def check_chain(entries: list[tuple[str, bytes]]) -> MemoryTree:
    """Walk the chain; return the tree recomputed from the entries' bytes."""
    claimed = []
    for _, raw in entries:
        try:
            claimed.append(parse_entry(raw)["index"])
        except (ValueError, KeyError, TypeError):
            claimed.append(None)
    tree = MemoryTree()
    prev_hash = ZERO_HASH
    for position, (stored_hash, raw) in enumerate(entries):
        index = claimed[position]
        if index is None:
            raise Failure(Damage.MODIFIED, f"entry {position} is not a canonical entry", position)
        if index > position:
            if position in claimed[position + 1 :]:
                raise Failure(
                    Damage.REORDERED,
                    f"entry {index} stands where entry {position} should, which comes later",
                    position,
                )
            raise Failure(
                Damage.DELETED,
                f"entry {position} is missing: entry {index} follows entry {position - 1}",
                position,
            )
        if index < position:
            raise Failure(
                Damage.INSERTED,
                f"entry {index} appears again at position {position}: "
                f"entries {index}..{position - 1} were inserted",
                index,
            )
        document = parse_entry(raw)
        if document["prev_hash"] != prev_hash:
            # The predecessor's bytes changed (its stored hash was made to match them).
            bad = position - 1 if position else 0
            raise Failure(
                Damage.MODIFIED,
                f"entry {position}'s prev_hash does not match entry {bad}'s bytes",
                bad,
            )
        actual = sha256_hex(raw)
        if stored_hash != actual:
            raise Failure(
                Damage.MODIFIED,
                f"entry {position}'s bytes hash to {actual[:16]}…, not its recorded "
                f"{stored_hash[:16]}…",
                position,
            )
        prev_hash = actual
        tree.append_entry(raw)
    return tree


def check_stored_nodes(nodes: dict[tuple[int, int], bytes] | None, tree: MemoryTree) -> None:
    """The stored subtree hashes were written as entries arrived: they still show the tree as
    it was, so an entry rewritten later (with every later hash recomputed) disagrees."""
    if nodes is None:
        return
    beyond = [(lv, p) for (lv, p) in nodes if (p + 1) << lv > tree.size]
    if beyond:
        raise Failure(
            Damage.TRUNCATED,
            f"the stored tree has nodes past the last entry {tree.size - 1}: "
            "entries were removed from the end",
            tree.size,
        )
    # A changed leaf changes every node above it: name the leaf, not the widest subtree.
    differing = sorted(
        ((lv, p << lv) for (lv, p), h in nodes.items() if tree.nodes.get((lv, p), h) != h)
    )
    missing = [p << lv for (lv, p) in tree.nodes if (lv, p) not in nodes]
    if differing:
        first = differing[0][1]
        raise Failure(
            Damage.REWRITTEN,
            f"entry {first} differs from the tree hash stored when it was appended",
            first,
        )
    if missing:
        first = min(missing)
        raise Failure(Damage.REWRITTEN, f"the stored tree lacks nodes from entry {first}", first)


def _open_checkpoint(note: str, verifier: Verifier, what: str) -> tuple[int, bytes]:
    try:
        text = open_note(note, verifier)
    except (NoteError, ValueError) as e:
        raise Failure(
            Damage.FORGED_CHECKPOINT, f"{what}: signature does not verify ({e})"
        ) from None
    try:
        parsed = parse_checkpoint(text)
    except ValueError as e:
        raise Failure(Damage.FORGED_CHECKPOINT, f"{what}: not a checkpoint ({e})") from None
    if parsed.origin != ORIGIN:
        raise Failure(Damage.FORGED_CHECKPOINT, f"{what}: origin {parsed.origin!r} is not ours")
    return parsed.size, bytes(parsed.root_hash)


def check_checkpoints(
    checkpoints: list[tuple[int, str, str]], tree: MemoryTree, verifier: Verifier
) -> int:
    """Every stored checkpoint: signed by the trusted key, committing to the recomputed tree,
    and consistent with the one before it."""
    previous: tuple[int, bytes] | None = None
    for column_size, column_root, note in checkpoints:
        what = f"stored checkpoint of size {column_size}"
        size, root = _open_checkpoint(note, verifier, what)
        if size != column_size or root.hex() != column_root:
            raise Failure(Damage.FORGED_CHECKPOINT, f"{what}: its columns disagree with its text")
        _check_against_tree(size, root, tree, what, previous)
        previous = (size, root)
    return len(checkpoints)


def _refuse_truncation(size: int, tree: MemoryTree, what: str) -> None:
    """A signed size larger than the log: entries it vouched for are gone from the tail."""
    if size > tree.size:
        raise Failure(
            Damage.TRUNCATED, f"{what} covers {size} entries but only {tree.size} remain", tree.size
        )


def _check_against_tree(
    size: int, root: bytes, tree: MemoryTree, what: str, vouched: tuple[int, bytes] | None
) -> None:
    _refuse_truncation(size, tree, what)
    if size == 0:
        return
    if tree.root(size) != root:
        first = vouched[0] if vouched else 0
        raise Failure(
            Damage.REWRITTEN,
            f"{what}: the entries no longer hash to its signed root; the change is at or "
            f"after entry {first}, the first one no earlier checkpoint vouches for",
            first,
        )
    if vouched is not None and vouched[0] > 0:
        # Redundant once both roots match the recomputed tree; proved anyway, so the check is
        # the one a verifier holding only the two checkpoints would run.
        proof = consistency_hashes(vouched[0], size, tree.lookup)
        try:
            verify_consistency(vouched[0], size, vouched[1], root, proof)
        except ProofError as e:
            raise Failure(Damage.REWRITTEN, f"{what}: {e}", vouched[0]) from None


def check_kept_checkpoint(
    note: str, tree: MemoryTree, verifier: Verifier, stored: list[tuple[int, str, str]]
) -> None:
    """Prove with a consistency proof that the log still extends a checkpoint kept offline."""
    size, root = _open_checkpoint(note, verifier, "kept checkpoint")
    vouched = max((c for c in stored if c[0] < size), default=None, key=lambda c: c[0])
    vouched_pair = (vouched[0], bytes.fromhex(vouched[1])) if vouched else None
    _refuse_truncation(size, tree, "the kept checkpoint")
    if size == 0:
        return
    proof = consistency_hashes(size, tree.size, tree.lookup)
    try:
        verify_consistency(size, tree.size, root, tree.root(), proof)
    except ProofError:
        first = vouched_pair[0] if vouched_pair else 0
        raise Failure(
            Damage.REWRITTEN,
            f"the log does not extend the kept checkpoint of size {size}: an entry before "
            f"{size} was rewritten, at or after entry {first}",
            first,
        ) from None


# -- receipts ---------------------------------------------------------------------------------


def verify_receipt(receipt: str, entry: bytes | None, public_key: str) -> Report:
    """Check a receipt (C2SP tlog-proof) for `entry`, or for the entry the receipt embeds in
    its `extra` line (base64 of the entry's bytes) when `entry` is None."""
    try:
        proof = parse_tlog_proof(receipt)
        if entry is None:
            if proof.extra is None:
                raise ValueError("the receipt embeds no entry and none was given")
            entry = proof.extra
        verifier = Verifier.from_verifier_key(public_key.strip())
        checkpoint = verify_tlog_proof(receipt, entry, verifier, origin=ORIGIN)
        document = parse_entry(entry)
    except ValueError as e:
        # NoteError, CheckpointError, TlogProofError and ProofError are all ValueErrors.
        return Report(ok=False, summary=f"receipt does not verify: {e}", damage=Damage.BAD_RECEIPT)
    if document["index"] != proof.index:
        return Report(
            ok=False,
            summary=f"receipt is for index {proof.index} but the entry says {document['index']}",
            first_bad_index=proof.index,
            damage=Damage.BAD_RECEIPT,
        )
    return Report(
        ok=True,
        summary=f"ok: entry {proof.index} ({document['kind']}, {sha256_hex(entry)[:16]}…) is in "
        f"the signed tree of size {checkpoint.size} the receipt carries",
        tree_size=checkpoint.size,
        checkpoints_checked=1,
    )


def verify_receipt_file(path: Path, public_key: str | None) -> Report:
    """A receipt file; the entry is the one it embeds, or `<path>.entry` beside it; the key is
    the one given, or `public.key` beside it."""
    if public_key is None:
        key_path = path.parent / PUBLIC_KEY_FILE
        if not key_path.exists():
            return Report(
                ok=False,
                summary="a receipt is checked against a verifier key: none was given",
                damage=Damage.BAD_RECEIPT,
            )
        public_key = key_path.read_text()
    entry_path = path.with_name(path.name + ".entry")
    entry = entry_path.read_bytes() if entry_path.exists() else None
    return verify_receipt(path.read_text(), entry, public_key)
