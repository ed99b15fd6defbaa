"""The entries of a SQLite store checked in aligned chunks, in worker processes: the part of
`verify` that takes its time, started first.

`start_entry_checks` opens the snapshot `verify` reads, counts and plans the chunks in it and
starts the workers on them before anything else is loaded: the signature code and the rest of
`ledger.verify` load, the key is found and the checkpoints' signatures checked while the
workers check entries. So this module imports only what a worker needs (the entry check, the
tree hashes): a worker forked from here has it all, and the parent nothing more yet.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import msgspec

from ledger.canonical import (
    ZERO_HASH,
    entry_checker,
    entry_of,
    entry_parser,
    parse_entry_fast,
    run_checker,
    sha256_hex,
)
from ledger.merkle import HASH_SIZE, LEAF_PREFIX, subtree_levels
from ledger.tree import frontier_keys
from store.base import blob

SQLITE_MAGIC = b"SQLite format 3\x00"


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
    UNKEYED = "unkeyed"  # a table no longer keeps unique what the service's reads rely on
    REDECLARED = "redeclared"  # a table's columns are not declared as the service declares them


INDEX_MISMATCH = "index_mismatch"  # entries.kind / entries.ref not what the entry says


class Failure(Exception):
    def __init__(self, damage: str, summary: str, first_bad_index: int | None = None) -> None:
        super().__init__(summary)
        self.damage, self.summary, self.first_bad_index = damage, summary, first_bad_index

    def __reduce__(self) -> tuple:
        # Sent back from `--jobs` worker processes.
        return (Failure, (self.damage, self.summary, self.first_bad_index))


CHUNK_LEVEL = 14
CHUNK = 1 << CHUNK_LEVEL  # entries per chunk: an aligned complete subtree
# A chunk's reader maps the file rather than copying each page in with a system call (pread
# was ~8% of a chunk's time); the mapping is read-only and bounded by the file's own size.
MMAP_SIZE = 1 << 31  # SQLite's own ceiling


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
    index: IndexWalk  # the id index over the good entries, for `check_tables`


def _check_chunk(
    db_path: Path,
    start: int,
    low: int,
    high: int,
    dense: bool,
    sizes: list[int],
    chunk_level: int = CHUNK_LEVEL,
) -> Chunk:
    """Entries at positions start… (indices low ≤ idx < high, each idx its position if
    `dense`), start a multiple of the chunk size 2^chunk_level, checked on their own: canonical
    form, index, hash, the chain (from the entry stored before them), the id index, and every
    complete subtree among them against the stored node."""
    collecting = gc.isenabled()
    gc.disable()  # each entry's document is made and dropped, no cycles: nothing to collect
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        conn.execute(f"PRAGMA mmap_size = {MMAP_SIZE}")
        conn.execute("BEGIN")
        before = conn.execute(
            "SELECT entry FROM entries WHERE idx < ? ORDER BY idx DESC LIMIT 1", (low,)
        ).fetchone()
        prev_hash = sha256_hex(before[0]) if before and start else ZERO_HASH
        bounds = (low, high)
        # A dense chunk's idx is its position: not read (a quarter of a row's reading time).
        indices = None
        if not dense:
            where = "SELECT idx FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx"
            indices = [idx for (idx,) in conn.execute(where, bounds)]
        rows = conn.execute(DECISION_ROWS, bounds)
        decisions: list[tuple[int, Any]] = []
        leaves, failure, index = _check_entries(conn, rows, start, prev_hash, indices, decisions)
        levels = subtree_levels(leaves)
        differing, missing = _compare_nodes(conn, start, levels)
        count = len(leaves) // HASH_SIZE
        if count and failure is None:
            last = _idx(start + count - 1, start, indices)
            found = [(_idx(position, start, indices), body) for position, body in decisions]
            index.indexed = _decision_index_check(conn, low, last, found)
        conn.execute("COMMIT")
    finally:
        conn.close()
        if collecting:
            gc.enable()

    def frontier(size: int) -> list[bytes]:
        return [levels[lv][p * HASH_SIZE : (p + 1) * HASH_SIZE] for lv, p in frontier_keys(size)]

    return Chunk(
        start,
        count,
        failure,
        frontier(count),
        {size: frontier(size - start) for size in sizes if start < size <= start + count},
        differing,
        missing,
        index,
    )


def _decision_index_check(
    conn: sqlite3.Connection, first: int, last: int, decisions: list[tuple[int, Any]]
) -> Any:
    """The decision index's rows of entries `first`..`last` held to `decisions`, their
    decision entries' (index, body) as the loop decoded them, in this chunk's snapshot
    (`reports.index.IndexCheck`: its tallies go to `check_tables`, which checks what depends on
    the whole ledger). A row of an entry never changes but for its `latest` mark, which
    `check_tables` reads in its own snapshot. Loaded with the first chunk: the policies'
    calendars and the store's SQL are a worker's only other imports."""
    from reports.index import IndexCheck
    from store.sqlite import SqliteTx

    check = IndexCheck(policy_timezones())
    bodies = [(idx, _as_dict(body)) for idx, body in decisions]
    check.check_bodies(SqliteTx(conn), first, last, bodies)
    return check


def _as_dict(body: Any) -> Any:
    """A decision body as the index reads it: a mapping (the loop decodes the service's as a
    struct)."""
    return msgspec.structs.asdict(body) if isinstance(body, msgspec.Struct) else body


@functools.cache
def policy_timezones() -> dict[str, str]:
    """Each built-in policy's time zone (the decision index's local dates are in it)."""
    import rules

    return {p.id: p.timezone for p in rules.policy_summaries()}


# A chunk's rows: `ref` where `kind` is exactly the text 'decision' (whatever collation the
# table declares), else NULL, then `entry_hash` and `entry`. Most entries are decisions: their
# kind is not read into Python (each column read costs the sqlite3 module a release and
# retake of the GIL; this one was an eighth of a row's reading time). An entry whose first
# column is NULL has its kind and ref read by `_indexed_as` when the id index walk needs them.
DECISION_ROWS = (
    "SELECT CASE WHEN kind = 'decision' COLLATE BINARY THEN ref END, entry_hash, entry "
    "FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx"
)


# Entries checked together by `run_checker`: enough to share its calls, few enough that the
# run's bytes and documents stay in the core's cache while the loop hashes them.
RUN = 32


def _check_entries(
    conn: sqlite3.Connection,
    rows: Iterable[tuple[str | None, str, bytes]],
    start: int,
    prev_hash: str,
    indices: list[int] | None = None,
    decisions: list[tuple[int, Any]] | None = None,
) -> tuple[bytearray, Failure | None, IndexWalk]:
    """Each row of `DECISION_ROWS` in order, the first at position `start` (its idx
    `indices[0]`, or `start` when None): the checks of `_entry_failure`, written out here for
    speed (this loop is where `verify` spends its time) and left to it to name the damage, then
    the id index. Returns the good entries' leaf hashes (joined, as `subtree_levels`
    takes them), the first failure (where the walk stopped) and the id index walked so far;
    adds each good decision entry's (position, body) to `decisions`, if given (the decision
    index's check reads them, not decoding the entries again)."""
    leaves = bytearray()
    index = IndexWalk(find_twice=False)  # the whole table's question is not a chunk's
    # Bound to locals: each name below is looked up once an entry, a million times.
    check_run, sha256, walk = run_checker(), hashlib.sha256, index.add
    keep = (lambda *_: None) if decisions is None else decisions.append
    # RFC 9162 §2.1.1 (`leaf_hash`): a copy of a hash already fed the leaf prefix, then the
    # entry's bytes, rather than the prefix and the bytes joined into a new copy of them.
    leaf = hashlib.sha256(LEAF_PREFIX).copy
    rows, position = iter(rows), start
    while run := list(islice(rows, RUN)):
        # The entry when certainly canonical, else None (`run_checker`).
        checked = check_run([raw for _, _, raw in run])
        for (decision_ref, stored_hash, raw), entry in zip(run, checked, strict=True):
            if (
                entry is None
                or entry.index != position
                or entry.prev_hash != prev_hash
                or sha256(raw).hexdigest() != stored_hash
            ):
                failure = _entry_failure(conn, position, stored_hash, raw, prev_hash)
                if failure is not None:
                    return leaves, failure, index
                # Canonical after all (the exact check, `parse_entry`, says so), in its place.
                idx = _idx(position, start, indices)
                document = parse_entry_fast(raw)
                walk(idx, *_indexed_as(conn, idx), document)
                if document["kind"] == "decision":
                    keep((position, document["body"]))
            elif not (
                # The usual entry, a decision outside a case whose id the index holds (kind
                # 'decision', ref its id), leaves nothing for the walk to keep
                # (`IndexWalk.add`): only the others go through it. A decision's body as the
                # service writes it is a struct (`entry_checker`), any other a dict, which has
                # no attribute `decision_id`.
                decision_ref is not None
                and decision_ref == getattr(entry.body, "decision_id", None)
                and entry.kind == "decision"
                and not entry.body.case_id
            ):
                idx = _idx(position, start, indices)
                walk(idx, *_indexed_as(conn, idx), entry_of(entry))
            if entry is not None and entry.kind == "decision":
                keep((position, entry.body))
            prev_hash = stored_hash  # the bytes' hash, just checked
            hashed = leaf()
            hashed.update(raw)
            leaves += hashed.digest()
            position += 1
    return leaves, None, index


def _indexed_as(conn: sqlite3.Connection, idx: int) -> tuple[Any, Any]:
    """The id index's `(kind, ref)` of the entry at `idx`."""
    return conn.execute("SELECT kind, ref FROM entries WHERE idx = ?", (idx,)).fetchone()


def _idx(position: int, start: int, indices: list[int] | None) -> int:
    return position if indices is None else indices[position - start]


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
    return _link_failure(position, document, stored_hash, raw, prev_hash)


def _link_failure(
    position: int, document: dict, stored_hash: str, raw: bytes, prev_hash: str
) -> Failure | None:
    """An entry in its place: its `prev_hash` must be the bytes' hash of the one before (else
    that predecessor's bytes changed, its stored hash made to match), and its own bytes must
    hash to its stored hash."""
    if document["prev_hash"] != prev_hash and not position:
        return Failure(Damage.MODIFIED, "entry 0's prev_hash is not 64 zeros: it follows none", 0)
    if document["prev_hash"] != prev_hash:
        bad = position - 1
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
    conn: sqlite3.Connection, start: int, levels: list[bytes]
) -> tuple[tuple[int, int] | None, int | None]:
    """Each recomputed level (its hashes joined, `subtree_levels`) against the stored
    nodes at its positions: compared whole in SQLite (the usual case: they are all there and
    equal); a level that differs is compared node by node to find the lowest differing and the
    first missing one."""
    differing: tuple[int, int] | None = None
    missing: int | None = None
    for level, hashes in enumerate(levels):
        base = start >> level
        if _level_matches(conn, level, base, hashes):
            continue
        level_differing, level_missing = _compare_level(conn, level, base, hashes)
        if differing is None:
            differing = level_differing
        if level_missing is not None:
            missing = level_missing if missing is None else min(missing, level_missing)
    return differing, missing


def _level_matches(conn: sqlite3.Connection, level: int, base: int, hashes: bytes) -> bool:
    """Whether the stored nodes of `level` at positions base… are exactly `hashes` (joined:
    node i at bytes 32i..32i+31): counted in SQLite against them, so no row becomes a Python
    object. Integer positions only, each there once (the primary key), and a blob equal to its
    32-byte slice, so the count is the number of hashes only if every node is stored and the
    same. (An integral position is an INTEGER: the column's affinity stores 5.0 as 5; the test
    of that by CAST costs a third of the one by typeof().)"""
    if not hashes:
        return True
    (equal,) = conn.execute(
        "SELECT COUNT(*) FROM tree_nodes WHERE level = ?1 AND position >= ?2 "
        "AND position < ?2 + ?3 AND CAST(position AS INTEGER) = position "
        "AND hash = substr(?4, (position - ?2) * ?5 + 1, ?5)",
        (level, base, len(hashes) // HASH_SIZE, hashes, HASH_SIZE),
    ).fetchone()
    return equal == len(hashes) // HASH_SIZE


def _compare_level(
    conn: sqlite3.Connection, level: int, base: int, hashes: bytes
) -> tuple[tuple[int, int] | None, int | None]:
    """(level, first leaf) of the first stored node of `level` from position `base` that
    differs from `hashes` (joined), and the first leaf of the first one not stored."""
    differing: tuple[int, int] | None = None
    missing: int | None = None
    count = len(hashes) // HASH_SIZE
    stored = dict(
        conn.execute(
            "SELECT position, hash FROM tree_nodes WHERE level = ? AND position >= ? "
            "AND position < ?",
            (level, base, base + count),
        ).fetchall()
    )
    for i in range(count):
        found = stored.get(base + i)
        if found is None:
            leaf = (base + i) << level
            missing = leaf if missing is None else min(missing, leaf)
        elif differing is None and blob(found) != hashes[i * HASH_SIZE : (i + 1) * HASH_SIZE]:
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
    parse = entry_parser()
    for (raw,) in later:
        try:
            if parse(raw)["index"] == position:
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


def _chunks(
    conn: sqlite3.Connection, count: int, chunk_level: int
) -> list[tuple[int, int, int, bool]]:
    """(first position, first idx, idx past the last, whether each idx is its position) of each
    chunk of 2^chunk_level of the `count` stored entries. The last chunk ends after the last
    entry of this snapshot: a worker reads in its own, where the log may have grown since."""
    size = 1 << chunk_level
    # Two subqueries: SQLite seeks a lone MIN or MAX in the index, but scans for a pair.
    lowest, highest = conn.execute(
        "SELECT (SELECT MIN(idx) FROM entries), (SELECT MAX(idx) FROM entries)"
    ).fetchone()
    if count and (lowest, highest) == (0, count - 1):
        # idx is the rowid, unique: count of them from 0 to count - 1 are each position's own.
        return [(p, p, min(p + size, count), True) for p in range(0, count, size)]
    bounds = []
    for position, (idx,) in enumerate(conn.execute("SELECT idx FROM entries ORDER BY idx")):
        if position % size == 0:
            bounds.append((position, idx))
        last = idx
    highs = [idx for _, idx in bounds[1:]] + [last + 1] if bounds else []
    return [(p, low, high, False) for (p, low), high in zip(bounds, highs, strict=True)]


def outline(conn: Any) -> tuple[int, list[tuple[int, str, str]], list[tuple[str, bytes]]]:
    """A store's entry count, stored checkpoints by size, and [entry 0], in `conn`'s snapshot
    (a SQLite connection, or a PostgreSQL one through `_Qmark`)."""
    count = conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
    checkpoints = [
        tuple(c)
        for c in conn.execute(
            "SELECT tree_size, root_hash, note FROM checkpoints ORDER BY tree_size"
        )
    ]
    first = [
        (h, blob(raw))
        for h, raw in conn.execute("SELECT entry_hash, entry FROM entries ORDER BY idx LIMIT 1")
    ]
    return count, checkpoints, first  # type: ignore[return-value]


def expected_ref(kind: str, body: dict) -> str | None:
    """What `entries.ref` holds for an entry (the id the API finds it by)."""
    if kind == "decision":
        return body.get("decision_id")
    if kind == "policy":
        return body.get("policy_version")
    if kind == "erasure":
        return body.get("case_id")
    if kind == "key":
        return body.get("key_id") or body.get("verifier_key")
    return None


def decision_twice(conn: Any, count: int | None = None) -> tuple[str, int, int] | None:
    """A decision id in two entries or more: the one whose last entry comes first, with its
    first and last entry. Asked first without naming them: fewer distinct ids than entries
    (two index scans, each cheaper than grouping: 0.19 s against 0.23 s at a million, and
    half the work of naming them). `count`, the entries in `conn`'s snapshot when known, spares
    one scan: the entries with a decision's id are then the others less the few without."""
    where = "FROM entries WHERE kind = 'decision' AND ref IS NOT NULL"
    entries = _decisions_with_ids(conn, count)
    (ids,) = conn.execute(f"SELECT COUNT(DISTINCT ref) {where}").fetchone()
    if ids == entries:
        return None
    return conn.execute(
        "SELECT ref, MIN(idx), MAX(idx) FROM entries WHERE kind = 'decision' AND ref IS NOT NULL "
        "GROUP BY ref HAVING COUNT(*) > 1 ORDER BY MAX(idx) LIMIT 1"
    ).fetchone()


# Every entry that is not a decision with an id (kind = 'decision' AND ref IS NOT NULL), in four
# parts that never overlap: whatever the kind column's collation, a kind not NULL is below,
# equal to or above 'decision'. Each part is a seek in the (kind, ref) index, not a scan: the
# decisions with an id are nearly every entry, and none of these.
_NOT_DECISIONS_WITH_IDS = (
    "SELECT (SELECT COUNT(*) FROM entries WHERE kind IS NULL)"
    " + (SELECT COUNT(*) FROM entries WHERE kind < 'decision')"
    " + (SELECT COUNT(*) FROM entries WHERE kind > 'decision')"
    " + (SELECT COUNT(*) FROM entries WHERE kind = 'decision' AND ref IS NULL)"
)


def _decisions_with_ids(conn: Any, count: int | None) -> int:
    """The entries with kind 'decision' and a ref, in `conn`'s snapshot of `count` entries."""
    if count is None:
        where = "FROM entries WHERE kind = 'decision' AND ref IS NOT NULL"
        return conn.execute(f"SELECT COUNT(*) {where}").fetchone()[0]
    return count - conn.execute(_NOT_DECISIONS_WITH_IDS).fetchone()[0]


@dataclass
class IndexWalk:
    """The id index checked entry by entry, in index order, against what the bytes say, and
    what the case and key checks need from the entries. `verify_sqlite`'s chunks each walk
    their entries; `extend` joins their walks in order."""

    failure: Failure | None = None  # the first entry the id index misstates
    case_decisions: list[dict] = field(default_factory=list)  # decisions of a case
    erasures: list[dict] = field(default_factory=list)  # erasure entries (a case's state)
    # API key entries' bodies, with their entry's `_index` and `_recorded_at`
    key_entries: list[dict] = field(default_factory=list)
    # Whether `decision_twice` is still to be asked, and its answer once asked (by
    # `_checked_chunks` while the workers check the entries, or else by `check_tables`).
    find_twice: bool = True
    twice: tuple[str, int, int] | None = None
    # The decision index held to the entries walked (`reports.index.IndexCheck`); None where
    # the walk did not check it (then `check_tables` checks the whole index at once).
    indexed: Any = None

    def add(self, idx: int, kind: str, ref: str | None, document: dict) -> None:
        body = document["body"]
        if self.failure is None and (kind != document["kind"] or ref != expected_ref(kind, body)):
            self.failure = _index_failure(idx, kind, ref, document)
        if kind == "decision" and ref is not None:
            if body.get("case_id"):
                self.case_decisions.append(document)
        elif kind == "key" and "action" in body:
            self.key_entries.append(
                body | {"_index": idx, "_recorded_at": document.get("recorded_at")}
            )
        elif kind == "erasure":
            self.erasures.append(document)

    def extend(self, later: IndexWalk) -> None:
        self.failure = self.failure or later.failure
        self.case_decisions += later.case_decisions
        self.erasures += later.erasures
        self.key_entries += later.key_entries
        if self.indexed is None:
            self.indexed = later.indexed
        elif later.indexed is not None:
            self.indexed.merge(later.indexed)


def _index_failure(idx: int, kind: str, ref: str | None, document: dict) -> Failure | None:
    if kind != document["kind"]:
        return Failure(
            INDEX_MISMATCH,
            f"the id index says entry {idx} is a {kind!r}, its bytes say {document['kind']!r}",
            idx,
        )
    expected = expected_ref(kind, document["body"])
    # Decisions and policies are looked up by id: theirs must be exact. Another entry may
    # carry no ref (`Ledger.append` without one): nothing finds it by a wrong id then.
    if ref != expected and (kind in ("decision", "policy") or ref is not None):
        return Failure(
            INDEX_MISMATCH,
            f"the id index finds entry {idx} by {ref!r}, but it is {expected!r}: the API "
            "would serve it for another id",
            idx,
        )
    return None


class EntryChecks:
    """The entry checks of a SQLite store under way: the planning snapshot (`conn`, its read
    transaction open: the rest of `verify` reads in it), what that snapshot holds, and each
    chunk's `Chunk`, in order, from `checked` (checked ahead in the workers, if any)."""

    def __init__(self, db_path: Path, jobs: int) -> None:
        self.conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        self.pool: Any = None
        try:
            self.conn.execute("BEGIN")
            self.count, self.checkpoints, self.first = outline(self.conn)
            self.chunk_level = CHUNK_LEVEL  # read once, here: the workers are given it
            chunks = _chunks(self.conn, self.count, self.chunk_level)
        except BaseException:
            self.conn.close()
            raise
        sizes = sorted({c[0] for c in self.checkpoints})
        if min(jobs, len(chunks)) <= 1:
            level = self.chunk_level
            self.checked: Iterator[Chunk] = (
                _check_chunk(db_path, *chunk, sizes, level) for chunk in chunks
            )
            return
        from concurrent.futures import ProcessPoolExecutor

        entry_checker()  # its decoders are built once, here, and forked into the workers
        self.pool = ProcessPoolExecutor(min(jobs, len(chunks)))
        n = len(chunks)
        columns = [list(c) for c in zip(*chunks, strict=True)]
        # Every chunk is queued now: each worker takes the next as it finishes one.
        self.checked = self.pool.map(
            _check_chunk, [db_path] * n, *columns, [sizes] * n, [self.chunk_level] * n
        )

    def close(self) -> None:
        """End the snapshot; chunks not yet begun are dropped (the verdict is known)."""
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None
        self.conn.close()


def start_entry_checks(source: Path, jobs: int) -> EntryChecks | None:
    """The entry checks of the SQLite store at `source`, started in `jobs` workers (one: each
    chunk checked as it is asked for); None when `source` is not a readable SQLite store
    (`verify` says what is wrong with it)."""
    try:
        with Path(source).open("rb") as f:
            if f.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
                return None
        return EntryChecks(Path(source), jobs)
    except (OSError, sqlite3.Error):
        return None
