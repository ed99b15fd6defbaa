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
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from ledger.canonical import ZERO_HASH, entry_parser, parse_entry, sha256_hex
from ledger.checkpoint import parse_checkpoint
from ledger.export import read_export_file
from ledger.keys import ORIGIN, PUBLIC_KEY_FILE
from ledger.merkle import ProofError, leaf_hash, verify_consistency
from ledger.note import NoteError, Verifier, open_note
from ledger.tlog_proof import HEADER as TLOG_PROOF_HEADER
from ledger.tlog_proof import parse_tlog_proof, verify_tlog_proof
from ledger.tree import Frontier, MemoryTree, consistency_hashes
from ledger.verify_chunks import (
    INDEX_MISMATCH,
    SQLITE_MAGIC,
    Damage,
    EntryChecks,
    Failure,
    IndexWalk,
    _entry_failure,
    _link_failure,
    decision_twice,
    outline,
    policy_timezones,
    start_entry_checks,
)
from store.base import blob
from store.schema import TYPED_COLUMNS


class Report(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    summary: str
    first_bad_index: int | None = None
    damage: str | None = None
    tree_size: int = 0
    checkpoints_checked: int = 0


@dataclass
class Material:
    """What a source holds, read without interpretation."""

    entries: list[tuple[str, bytes]]  # (stored entry_hash, entry bytes), in stored order
    checkpoints: list[tuple[int, str, str]]  # (tree_size, root_hash hex, signed note)
    published_key: str | None  # public.key next to the database, or the export header's
    nodes: dict[tuple[int, int], bytes] | None = field(default=None)  # stored tree nodes


RECEIPT_MAGIC = TLOG_PROOF_HEADER


def verify(
    source: Path,
    public_key: str | None = None,
    checkpoint: str | None = None,
    jobs: int = 1,
    index: IndexWalk | None = None,
    started: EntryChecks | None = None,
) -> Report:
    """Check the ledger (or receipt) in `source`; see the module docstring. A SQLite store is
    streamed (`verify_sqlite`); `jobs` > 1 checks its entries in that many processes (or the
    `started` checks of it do), and its id index is walked into `index` on the way."""
    source = Path(source)
    try:
        head = _head(source)
    except OSError as e:
        return Report(ok=False, summary=f"cannot read {source}: {e}", damage=Damage.UNREADABLE)
    if head.startswith(RECEIPT_MAGIC.encode()):
        return verify_receipt_file(source, public_key)
    try:
        if head.startswith(SQLITE_MAGIC):
            return verify_sqlite(source, public_key, checkpoint, jobs, index, started)
        material = read_export(source)
    except (ValueError, KeyError, TypeError, IndexError, sqlite3.Error) as e:
        return Report(ok=False, summary=f"{source} is not a ledger: {e}", damage=Damage.UNREADABLE)
    return verify_material(material, public_key, checkpoint)


def _head(source: Path) -> bytes:
    """The first bytes of `source`, enough to tell a store, an export and a receipt apart (a
    store is hundreds of megabytes: never read whole for that)."""
    with source.open("rb") as f:
        return f.read(64)


def read_sqlite(db_path: Path) -> Material:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        conn.execute("BEGIN")
        entries = [
            (h, blob(raw))
            for h, raw in conn.execute("SELECT entry_hash, entry FROM entries ORDER BY idx")
        ]
        checkpoints = conn.execute(
            "SELECT tree_size, root_hash, note FROM checkpoints ORDER BY tree_size"
        ).fetchall()
        nodes = {
            (level, position): blob(h)
            for level, position, h in conn.execute("SELECT level, position, hash FROM tree_nodes")
        }
        conn.execute("COMMIT")
    finally:
        conn.close()
    key_path = db_path.parent / PUBLIC_KEY_FILE
    published = key_path.read_text().strip() if key_path.exists() else None
    return Material(entries, [tuple(c) for c in checkpoints], published, nodes)


def verify_database(
    url: str, public_key: str | None = None, checkpoint: str | None = None
) -> Report:
    """`verify_sqlite` for the PostgreSQL store at `url`, in one snapshot, streamed: entries
    come through a server-side cursor and are checked one by one (form, index, chain, hash),
    the tree is rebuilt leaf by leaf and every node it completes is compared with the stored one
    (in batches), and each stored checkpoint is checked against the root at its size."""
    import psycopg

    from store.postgres import StoreUnavailable, ledger_snapshot

    try:
        with ledger_snapshot(url) as snapshot:
            kept = [] if checkpoint is None else [checkpoint]
            return _verify_snapshot(_Qmark(snapshot.conn), snapshot, public_key, kept)
    except (StoreUnavailable, psycopg.Error) as e:
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        summary = f"not a readable ledger: {reason}"
        return Report(ok=False, summary=summary, damage=Damage.UNREADABLE)


class _Qmark:
    """A psycopg connection taking this module's SQLite-style queries (`?`, `LIMIT -1`)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: tuple = ()) -> Any:
        sql = sql.replace("?", "%s").replace("LIMIT -1", "LIMIT ALL")
        return self.conn.execute(sql, params)


NODE_BATCH = 8192


def _verify_snapshot(conn: Any, snapshot: Any, public_key: str | None, kept: list[str]) -> Report:
    count, checkpoints, first = outline(conn)
    material = Material(first, checkpoints, None)
    sizes = {c[0] for c in checkpoints}
    return _report(
        material, count, public_key, kept, lambda: _stream_database(conn, snapshot, count, sizes)
    )


EXTENDS_KEPT = "; it extends the kept checkpoint"


def _as_witnessed(report: Report, checkpoint: str | None, witnessed: list[str]) -> Report:
    """A verdict reached against the checkpoints witnesses answered, the officer having kept
    none: it says so, rather than that the ledger extends a kept checkpoint."""
    if checkpoint is not None or not witnessed:
        return report
    if report.ok:
        return msgspec.structs.replace(report, summary=report.summary.replace(EXTENDS_KEPT, ""))
    summary = f"{report.summary} (checked against the checkpoint a witness cosigned)"
    return msgspec.structs.replace(report, summary=summary)


def _report(
    material: Material,
    size: int,
    public_key: str | None,
    kept: list[str],
    recompute: Callable[[], Any],
) -> Report:
    """The one verdict of every source: the trusted key, the tree `recompute` rebuilds from the
    entries (raising `Failure` at the first damage), each stored checkpoint against it, and
    each kept checkpoint against it."""
    try:
        verifier = _verifier(trusted_key(material, public_key))
        # Their signatures first: while `--jobs` workers check the entries.
        opened = open_checkpoints(material.checkpoints, verifier)
        tree = recompute()
        checked = check_checkpoints(opened, tree)
        for note in kept:
            check_kept_checkpoint(note, tree, verifier, material.checkpoints)
            checked += 1
    except Failure as f:
        return _failed(f, size)
    extends = EXTENDS_KEPT if kept else ""
    signed = "1 signed checkpoint" if checked == 1 else f"{checked} signed checkpoints"
    return Report(
        ok=True,
        summary=f"ok: {size} entries, chain and tree recomputed, {signed} verified and "
        f"consistent{extends}",
        tree_size=size,
        checkpoints_checked=checked,
    )


def _redeclared_table(
    declared: dict[str, list[tuple]], schema: dict[str, list[tuple]]
) -> str | None:
    """The first table of the service's that does not declare its columns as the service does
    (each name with its type and its place in the primary key, `PRAGMA table_info`), or None.
    SQLite keeps a value of any type in any column, but a declared `INTEGER PRIMARY KEY` holds
    integers only: a table rebuilt without it (`CREATE TABLE … AS SELECT`) could hold a row
    again under a key of another type (text, bytes), unique to SQLite but not to the service's
    reads."""
    for table, columns in schema.items():
        want = {(c[1], c[2].upper(), c[5]) for c in columns}
        have = {(c[1], str(c[2]).upper(), c[5]) for c in declared.get(table, [])}
        if have != want:
            return table
    return None


def _check_declared(redeclared: str | None) -> None:
    if redeclared is not None:
        raise Failure(
            Damage.REDECLARED,
            f"table {redeclared} is not declared as the service declares it (columns, their "
            "types and its primary key): rebuilt by other hands, it could hold what the "
            "service's own never could",
        )


def _check_schema_version(version: int, known: int, tables_current: bool) -> None:
    """The store's schema version is this Redress's (`store.schema.schema_version_problem`):
    one set back by other hands is damage `serve` refuses; a newer or an older one is a store
    this Redress cannot hold to its tables as they are."""
    from store.schema import schema_version_problem

    problem = schema_version_problem(version, known, tables_current)
    if problem is not None:
        set_back = version < known and tables_current
        raise Failure(Damage.REDECLARED if set_back else Damage.UNREADABLE, problem)


def _check_value_types(mistyped: str | None) -> None:
    """No table holds, in a column the ledger does not hold, a value the service never writes
    there (`mistyped`: the first such table, `store.sqlite.mistyped_table` or
    `store.postgres.mistyped_table`)."""
    if mistyped is not None:
        raise Failure(
            Damage.REDECLARED,
            f"table {mistyped} holds, in {', '.join(TYPED_COLUMNS[mistyped])}, a value the "
            "service never writes there (of another type, or out of its range): written by "
            "other hands",
        )


def _check_unique_keys(kept: dict[str, list[tuple[str, ...]]]) -> None:
    """Every table still keeps unique what the service's reads rely on (`store.schema`): the
    checks below read a table by its key, and would not see a row there twice."""
    from store.schema import missing_unique_key

    missing = missing_unique_key(kept)
    if missing is not None:
        table, columns = missing
        raise Failure(
            Damage.UNKEYED,
            f"table {table} no longer keeps ({', '.join(columns)}) unique, as the service's "
            "schema does: a row could be there twice, listed or counted twice",
        )


def _stream_database(conn: Any, snapshot: Any, count: int, sizes: set[int]) -> StoredTree:
    from store.pg_migrations import SCHEMA_VERSION, schema_version
    from store.postgres import mistyped_table, tables_current, unique_keys

    version = schema_version(snapshot.conn)
    _check_schema_version(version, SCHEMA_VERSION, tables_current(snapshot.conn))
    _check_unique_keys(unique_keys(snapshot.conn))
    _check_value_types(mistyped_table(snapshot.conn))
    frontier = Frontier()
    roots: dict[int, bytes] = {0: frontier.root()}
    prev_hash = ZERO_HASH
    produced: list[tuple[int, int, bytes]] = []
    differing: list[tuple[int, int]] = []
    missing: list[int] = []

    def compare() -> None:
        if not produced:
            return
        stored = dict(
            ((level, position), blob(value))
            for level, position, value in conn.conn.execute(
                "SELECT n.level, n.position, n.hash FROM tree_nodes AS n "
                "JOIN unnest(%s::int[], %s::bigint[]) AS k (level, position) "
                "ON n.level = k.level AND n.position = k.position",
                ([n[0] for n in produced], [n[1] for n in produced]),
            )
        )
        for level, position, value in produced:
            found = stored.get((level, position))
            if found is None:
                missing.append(position << level)
            elif found != value:
                differing.append((level, position << level))
        produced.clear()

    for position, (_, raw, stored_hash) in enumerate(snapshot.entries()):
        failure = _entry_failure(conn, position, stored_hash, raw, prev_hash)
        if failure is not None:
            raise failure
        prev_hash = stored_hash
        produced.extend(frontier.append(leaf_hash(raw)))
        if frontier.size in sizes:
            roots[frontier.size] = frontier.root()
        if len(produced) >= NODE_BATCH:
            compare()
    compare()
    _refuse_stored_damage(_nodes_beyond(conn, count), count, differing, missing)
    _check_tail(snapshot.conn, count, prev_hash)
    roots[count] = frontier.root()
    return StoredTree(conn, count, roots)  # type: ignore[arg-type]


def _check_tail(conn: Any, count: int, last_hash: str) -> None:
    """PostgreSQL's `ledger_tail` row, which the writers append after (`store.postgres`): the
    ledger's size and its last entry's hash (64 zeros when empty). `serve` refuses one it
    cannot read; one it can read but that is wrong would have the next entry misplaced or
    chained to no entry."""
    row = conn.execute("SELECT size, tail_hash FROM ledger_tail WHERE id = 1").fetchone()
    if row is not None and tuple(row) == (count, last_hash):
        return
    said = (
        "no row" if row is None else f"{row[0]!r} entries, the last hashing to {str(row[1])[:16]}…"
    )
    raise Failure(
        TAIL_MISMATCH,
        f"the ledger's tail row says {said}; the ledger holds {count}, the last hashing to "
        f"{last_hash[:16]}…: the next entry would be appended after the row's",
    )


# -- a SQLite store, streamed -------------------------------------------------------------------


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
        return blob(row[0])

    def root(self, size: int | None = None) -> bytes:
        return self.roots[self.size if size is None else size]


def _load_case_checks() -> None:
    """Import what `_check_cases` imports to rebuild cases (the store, the case rebuild and
    the policies' calendars: a tenth of a second), while the workers still check entries."""
    import rules  # noqa: F401
    import store.sqlite  # noqa: F401
    from cases import rebuild, register  # noqa: F401


def verify_sqlite(
    db_path: Path,
    public_key: str | None,
    kept_checkpoint: str | None,
    jobs: int = 1,
    index: IndexWalk | None = None,
    started: EntryChecks | None = None,
) -> Report:
    """`verify_material` for a SQLite store without holding it in memory: the entries are
    streamed in order (checked in `jobs` processes, or by the `started` checks), the tree is
    rebuilt leaf by leaf from their bytes and compared node by node with the stored subtree
    hashes as they complete, and each stored checkpoint is checked against the root
    recomputed at its size. The id index found on the way is added to `index`, if given, for
    `check_tables`."""
    checks = started or EntryChecks(db_path, jobs)  # `started` is its caller's to close
    try:
        key_path = db_path.parent / PUBLIC_KEY_FILE
        published = key_path.read_text().strip() if key_path.exists() else None
        material = Material(checks.first, checks.checkpoints, published)
        walked = IndexWalk(find_twice=False) if index is None else index
        return _report(
            material,
            checks.count,
            public_key,
            [] if kept_checkpoint is None else [kept_checkpoint],
            lambda: _stream_tree(checks, walked),
        )
    finally:
        if started is None:
            checks.close()


def _stream_tree(checks: EntryChecks, index: IndexWalk) -> StoredTree:
    """Join the chunks in order: chain failures first (the earliest), then the stored nodes
    above the chunks, then what the chunks found of the stored nodes within them."""
    from store.migrations import SCHEMA_VERSION, schema_version
    from store.sqlite import declared_columns, mistyped_table, schema_columns, unique_keys

    conn, count, chunk_level = checks.conn, checks.count, checks.chunk_level
    redeclared = _redeclared_table(declared_columns(conn), schema_columns())
    _check_schema_version(schema_version(conn), SCHEMA_VERSION, redeclared is None)
    _check_declared(redeclared)
    _check_unique_keys(unique_keys(conn))
    _check_value_types(mistyped_table(conn))
    if checks.pool is not None and index.find_twice:
        # This process would only wait for the workers: it asks the id index's one
        # whole-table question meanwhile, in the same snapshot.
        index.twice, index.find_twice = decision_twice(conn, count), False
    upper = Frontier()  # over whole chunks: each a complete subtree at chunk_level
    roots: dict[int, bytes] = {0: Frontier().root()}
    differing: list[tuple[int, int]] = []
    missing: list[int] = []
    final: list[bytes] = []
    for chunk in checks.checked:
        if chunk.failure is not None:
            raise chunk.failure
        if chunk.index.case_decisions and not index.case_decisions:
            _load_case_checks()  # only a ledger with cases needs them
        index.extend(chunk.index)
        for size, prefix in chunk.prefixes.items():
            roots[size] = Frontier(size, upper.hashes + prefix).root()
        differing += [chunk.differing] if chunk.differing else []
        missing += [chunk.missing] if chunk.missing is not None else []
        if chunk.count == 1 << chunk_level:
            for level, position, value in upper.append(chunk.top[0])[1:]:
                level += chunk_level
                row = conn.execute(
                    "SELECT hash FROM tree_nodes WHERE level = ? AND position = ?",
                    (level, position),
                ).fetchone()
                if row is None:
                    missing.append(position << level)
                elif blob(row[0]) != value:
                    differing.append((level, position << level))
        else:
            final = chunk.top
    _refuse_stored_damage(_nodes_beyond(conn, count), count, differing, missing)
    roots[count] = Frontier(count, upper.hashes + final).root()
    return StoredTree(conn, count, roots)


def _nodes_beyond(conn: Any, count: int) -> bool:
    """Whether the stored tree holds a node covering a leaf at or past `count`: level by level
    (each distinct stored level found by an index seek), from the first position that could."""
    level = conn.execute("SELECT MIN(level) FROM tree_nodes").fetchone()[0]
    while level is not None:
        # (position + 1) << level > count, for an integer position, is position >= count >>
        # level: that bound lets the primary key skip the level's earlier nodes.
        first = count >> level if isinstance(level, int) and 0 <= level < 63 else None
        found = conn.execute(
            "SELECT 1 FROM tree_nodes WHERE level = ? AND position >= ? "
            "AND ((position + 1) << level) > ? LIMIT 1",
            (level, first if first is not None else -(2**63), count),
        ).fetchone()
        if found is not None:
            return True
        level = conn.execute(
            "SELECT MIN(level) FROM tree_nodes WHERE level > ?", (level,)
        ).fetchone()[0]
    return False


def _refuse_stored_damage(
    beyond: bool, size: int, differing: list[tuple[int, int]], missing: list[int]
) -> None:
    """The stored subtree hashes against the recomputed tree: nodes past the last entry (the
    tail was cut), then the lowest leaf under a differing node (a changed leaf changes every
    node above it: name the leaf, not the widest subtree), then the first leaf of a node not
    stored."""
    if beyond:
        raise Failure(
            Damage.TRUNCATED,
            f"the stored tree has nodes past the last entry {size - 1}: "
            "entries were removed from the end",
            size,
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


def read_export(path: Path) -> Material:
    """An export's entries, checkpoints and published key (`ledger.export.read_export_file`)."""
    export = read_export_file(path)
    return Material(export.entries, export.checkpoints, export.public_key)


def verify_material(
    material: Material, public_key: str | None, kept_checkpoint: str | None
) -> Report:

    def recompute() -> MemoryTree:
        tree = check_chain(material.entries)
        check_stored_nodes(material.nodes, tree)
        return tree

    kept = [] if kept_checkpoint is None else [kept_checkpoint]
    return _report(material, len(material.entries), public_key, kept, recompute)


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
    # Only an absent key (None) falls back to the ledger's own: "" is a key that matches none.
    trusted = public_key.strip() if public_key is not None else None
    trusted = trusted if trusted is not None else material.published_key or genesis_key
    if trusted is None:
        raise Failure(Damage.SWAPPED_KEY, "no verifier key given, published or in entry 0", 0)
    # A rotation chain (one key per line): entry 0 names its first key, public.key its last.
    chain = trusted.split() or [trusted]
    if genesis_key is not None and genesis_key != chain[0]:
        raise Failure(
            Damage.SWAPPED_KEY,
            f"entry 0 names verifier key {genesis_key!r}, not the trusted {trusted!r}",
            0,
        )
    if material.published_key is not None and material.published_key != chain[-1]:
        raise Failure(
            Damage.SWAPPED_KEY,
            f"the published key {material.published_key!r} is not the trusted {trusted!r}",
            0,
        )
    return trusted


def _verifier(verifier_key: str) -> Verifier:
    """The verifier of a key; of each key of a signing-key rotation chain (`verify_trusted`
    passes the chain, one key per line, and checks which key signed which checkpoint)."""
    try:
        verifiers = [Verifier.from_verifier_key(k) for k in verifier_key.split()]
    except (NoteError, ValueError) as e:
        raise Failure(Damage.SWAPPED_KEY, f"unusable verifier key: {e}", 0) from None
    return verifiers[0] if len(verifiers) == 1 else verifiers  # type: ignore[return-value]


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
        failure = _link_failure(position, parse_entry(raw), stored_hash, raw, prev_hash)
        if failure is not None:
            raise failure
        prev_hash = stored_hash  # equal to the bytes' hash, just checked
        tree.append_entry(raw)
    return tree


def check_stored_nodes(nodes: dict[tuple[int, int], bytes] | None, tree: MemoryTree) -> None:
    """The stored subtree hashes were written as entries arrived: they still show the tree as
    it was, so an entry rewritten later (with every later hash recomputed) disagrees."""
    if nodes is None:
        return
    # A row at a position that is not an integer is no node of the tree (as `_level_matches`
    # and `_compare_level` read the store): the node it may stand for is missing.
    nodes = {key: h for key, h in nodes.items() if all(type(k) is int for k in key)}
    beyond = any((p + 1) << lv > tree.size for (lv, p) in nodes)
    differing = [(lv, p << lv) for (lv, p), h in nodes.items() if tree.nodes.get((lv, p), h) != h]
    missing = [p << lv for (lv, p) in tree.nodes if (lv, p) not in nodes]
    _refuse_stored_damage(beyond, tree.size, differing, missing)


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


def open_checkpoints(
    checkpoints: list[tuple[int, str, str]], verifier: Verifier
) -> list[tuple[int, bytes] | Failure]:
    """Each stored checkpoint's signed (size, root), if signed by the trusted key and agreeing
    with its columns, else the failure to report in its turn (`check_checkpoints`): the
    entries' damage, found later, comes first."""
    opened: list[tuple[int, bytes] | Failure] = []
    for column_size, column_root, note in checkpoints:
        what = f"stored checkpoint of size {column_size}"
        try:
            size, root = _open_checkpoint(note, verifier, what)
            if size != column_size or root.hex() != column_root:
                raise Failure(
                    Damage.FORGED_CHECKPOINT, f"{what}: its columns disagree with its text"
                )
        except Failure as f:
            opened.append(f)
        else:
            opened.append((size, root))
    return opened


def check_checkpoints(opened: list[tuple[int, bytes] | Failure], tree: MemoryTree) -> int:
    """Every stored checkpoint (`open_checkpoints`): signed by the trusted key, committing to
    the recomputed tree, and consistent with the one before it."""
    previous: tuple[int, bytes] | None = None
    for checkpoint in opened:
        if isinstance(checkpoint, Failure):
            raise checkpoint
        size, root = checkpoint
        _check_against_tree(size, root, tree, f"stored checkpoint of size {size}", previous)
        previous = (size, root)
    return len(opened)


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
    _refuse_truncation(size, tree, "the kept checkpoint")
    if size == 0:
        return
    proof = consistency_hashes(size, tree.size, tree.lookup)
    try:
        verify_consistency(size, tree.size, root, tree.root(), proof)
    except ProofError:
        raise Failure(Damage.REWRITTEN, _not_extended(size, root, stored), 0) from None


def _not_extended(size: int, root: bytes, stored: list[tuple[int, str, str]]) -> str:
    """What a log that does not extend a kept checkpoint shows. One kept root cannot say which
    entry changed: the log's own checkpoints narrow it only if whoever holds the log's key did
    not sign them anew, which is what the kept checkpoint is there to catch (so the first bad
    index named is 0)."""
    said = f"the log does not extend the kept checkpoint of size {size}: "
    twin = next((c for c in stored if c[0] == size), None)
    if twin is not None and bytes.fromhex(twin[1]) != root:
        return said + (
            f"the log's key signed two different trees of size {size}, the kept checkpoint's "
            f"and the log's own: either an entry before {size} was rewritten, or the key signed "
            "a tree this log never held"
        )
    said += f"an entry before {size} "
    vouched = max((c[0] for c in stored if 0 < c[0] < size), default=None)
    if vouched is None:
        return said + "was rewritten"
    return said + (
        f"was rewritten; at or after entry {vouched} if the log's own checkpoint of size "
        f"{vouched} was signed before the change, anywhere before {size} if it was signed anew "
        "by whoever holds the log's key"
    )


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


# -- trust: witnesses, coverage, and the tables the API answers from (issue 12) ---------------
#
# Kept apart from the checks above: `verify_trusted` runs them first (`verify`), then asks what
# they cannot: is the newest checkpoint cosigned by witnesses the auditor trusts, does it cover
# the whole ledger, is the log still consistent with what a witness last cosigned, and do the
# id index, the case store, the key table, the kept answers and the decision index say what the
# entry bytes say (CONTRACT.md: "`verify` checks every table the API answers from").

UNCOVERED = "uncovered"  # entries no (cosigned) checkpoint covers, or no checkpoint at all
UNWITNESSED = "unwitnessed"  # no checkpoint carries the quorum of trusted cosignatures
FORGED_COSIGNATURE = "forged_cosignature"  # a trusted witness's line that does not verify
ROLLED_BACK = "rolled_back"  # a witness cosigned a larger tree than the ledger holds
DECISION_INDEX_MISMATCH = "decision_index_mismatch"  # the index reports read, not the entries
CASE_MISMATCH = "case_mismatch"  # a case row, its decisions or obligations not the ledger's
KEY_MISMATCH = "key_mismatch"  # the API key table not what the `key` entries say
ANSWER_MISMATCH = "answer_mismatch"  # an answer kept for a retry not what the ledger holds
TAIL_MISMATCH = "tail_mismatch"  # PostgreSQL's ledger_tail row not the ledger's size and last hash


@dataclass
class Trust:
    """What the auditor brings besides the log's key: witness keys and a quorum, witnesses to
    ask (`--witness-url`), and whether entries not yet covered fail (`--strict`)."""

    witness_keys: list[str] = field(default_factory=list)
    quorum: int | None = None  # default: every witness key given
    witness_urls: list[str] = field(default_factory=list)
    strict: bool = False

    @property
    def needed(self) -> int:
        return len(self.witness_keys) if self.quorum is None else self.quorum


def verify_trusted(
    source: Path,
    public_key: str | None = None,
    checkpoint: str | None = None,
    jobs: int = 1,
    trust: Trust | None = None,
    started: EntryChecks | None = None,
) -> Report:
    """`verify`, then coverage by (cosigned) checkpoints, what witnesses last cosigned, and
    the tables the API answers from. See the section comment. `started` are the entry checks
    of `source` already under way (`start_entry_checks`: not with `trust.witness_urls`, whose
    checkpoints a snapshot taken before asking them may not hold yet); else they start here."""
    source, trust = Path(source), trust or Trust()
    try:
        head = _head(source)
    except OSError as e:
        return Report(ok=False, summary=f"cannot read {source}: {e}", damage=Damage.UNREADABLE)
    if head.startswith(RECEIPT_MAGIC.encode()):
        return verify_receipt_trusted(source, public_key, checkpoint, trust)
    is_sqlite = head.startswith(SQLITE_MAGIC)
    if is_sqlite and started is None and not trust.witness_urls:
        # The entries are checked from the first moment: in the workers, while this process
        # finds the key and checks the signatures. (Not before asking witnesses: the snapshot
        # must be at least as new as what they cosigned; `_verify_trusted` takes it then.)
        started = start_entry_checks(source, jobs)
    with ExitStack() as closing:
        if started is not None:
            closing.callback(started.close)
        return _verify_trusted(
            source, public_key, checkpoint, jobs, trust, is_sqlite, started, closing
        )


def _verify_trusted(
    source: Path,
    public_key: str | None,
    checkpoint: str | None,
    jobs: int,
    trust: Trust,
    is_sqlite: bool,
    started: EntryChecks | None,
    closing: ExitStack,
) -> Report:
    """`verify_trusted` with the entries' snapshot `started` (or, with witnesses to ask first,
    taken here after them and left to `closing`)."""
    try:
        if started is not None:
            count, checkpoints, first = started.count, started.checkpoints, started.first
            rotations = _rotations_in(started.conn)
        else:
            count, checkpoints, first = _ledger_outline(source, is_sqlite)
            rotations = _rotations(source, is_sqlite)
        chain = trusted_chain(rotations, public_key, _genesis_key(first), checkpoints)
        if len(chain) > 1:
            public_key = "\n".join(key for _, key in chain)
        trusted = trusted_key(
            Material(first, checkpoints, _published_key(source, is_sqlite)), public_key
        )
        witnessed_notes = _witness_checkpoints(trust, trusted)
    except Failure as f:
        return _failed(f, 0)
    except (ValueError, KeyError, TypeError, IndexError, sqlite3.Error) as e:
        return Report(ok=False, summary=f"{source} is not a ledger: {e}", damage=Damage.UNREADABLE)
    kept = [checkpoint] if checkpoint is not None else []
    kept += witnessed_notes
    if is_sqlite and started is None:  # the witnesses asked: now a snapshot at least as new
        started = start_entry_checks(source, jobs)
        if started is not None:
            closing.callback(started.close)
    walked = IndexWalk()  # filled by verify_sqlite for check_tables, which reads no entry again
    report = verify(source, public_key, kept[0] if kept else None, jobs, walked, started)
    for note in kept[1:]:
        if not report.ok:
            break
        report = verify(source, public_key, note, jobs)
    report = _as_witnessed(report, checkpoint, witnessed_notes)
    if not report.ok:
        return report
    try:
        check_signing_chain(checkpoints, chain)
        coverage = check_coverage(count, checkpoints, trusted, trust, exported=not is_sqlite)
        if is_sqlite:
            check_tables(source, walked, None if started is None else started.conn)
    except Failure as f:
        return _failed(f, count)
    witnesses = (
        f"; consistent with {len(witnessed_notes)} witness checkpoint(s)" if witnessed_notes else ""
    )
    tables = "; id index, decision index, cases and keys match the entries" if is_sqlite else ""
    return msgspec.structs.replace(
        report, summary=f"{report.summary}; {coverage}{witnesses}{tables}"
    )


def _failed(f: Failure, size: int) -> Report:
    return Report(
        ok=False,
        summary=f.summary,
        first_bad_index=f.first_bad_index,
        damage=f.damage,
        tree_size=size,
    )


def _published_key(source: Path, is_sqlite: bool) -> str | None:
    if not is_sqlite:
        return json.loads(source.open(encoding="utf-8").readline()).get("public_key")
    key_path = source.parent / PUBLIC_KEY_FILE
    return key_path.read_text().strip() if key_path.exists() else None


def _ledger_outline(
    source: Path, is_sqlite: bool
) -> tuple[int, list[tuple[int, str, str]], list[tuple[str, bytes]]]:
    """(entry count, stored checkpoints by size, [entry 0]) without reading every entry."""
    if not is_sqlite:
        material = read_export(source)
        return len(material.entries), material.checkpoints, material.entries[:1]
    conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        conn.execute("BEGIN")
        counted = outline(conn)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return counted


def check_coverage(
    count: int,
    checkpoints: list[tuple[int, str, str]],
    log_key: str,
    trust: Trust,
    exported: bool = False,
) -> str:
    """The newest signed checkpoint (cosigned by `trust.needed` trusted witnesses when witness
    keys are given) must exist; entries after it are not yet covered (a failure under
    `strict`); an export must end with a checkpoint covering every entry it holds. Returns a
    phrase for the summary. The signatures themselves were checked by `verify`."""
    if not checkpoints:
        raise Failure(
            UNCOVERED, f"no signed checkpoint covers the ledger: 0 of {count} entries covered", 0
        )
    newest = checkpoints[-1][0]
    if exported and newest < count:
        raise Failure(
            Damage.TRUNCATED,
            f"the export ends with a checkpoint of size {newest}, not one covering its {count} "
            "entries: lines were removed from its end, or it was not written by `redress export`",
            newest,
        )
    covered, what = newest, "the newest signed checkpoint"
    if trust.witness_keys and trust.needed > 0:  # a quorum of 0 asks for no cosignature
        covered, names = _newest_cosigned(checkpoints, log_key, trust)
        what = f"a checkpoint cosigned by {', '.join(names)}"
    uncovered = count - covered
    if uncovered > 0 and trust.strict:
        raise Failure(
            UNCOVERED,
            f"entries {covered}..{count - 1} are not yet covered by {what}: "
            f"{covered} of {count} entries covered (--strict)",
            covered,
        )
    if uncovered > 0:
        return f"{covered} of {count} entries covered by {what}; {uncovered} not yet covered"
    return f"all {count} entries covered by {what}"


def _newest_cosigned(
    checkpoints: list[tuple[int, str, str]], log_key: str, trust: Trust
) -> tuple[int, list[str]]:
    """The newest checkpoint with `trust.needed` valid cosignatures by the witness keys given:
    its size and the witnesses' names."""
    from ledger.cosignature import CosignatureError, QuorumError, witnessed

    keys = [k.strip() for k in trust.witness_keys]
    if not 0 <= trust.needed <= len(keys):
        raise Failure(UNWITNESSED, f"quorum {trust.needed} is more than the {len(keys)} keys", 0)
    for size, _, note in reversed(checkpoints):
        try:
            return size, witnessed(note, log_key.split(), keys, trust.needed)[1]
        except QuorumError:
            continue
        except (CosignatureError, NoteError, ValueError) as e:
            raise Failure(
                FORGED_COSIGNATURE,
                f"the checkpoint of size {size}: a trusted witness's cosignature does not "
                f"verify ({e})",
                size,
            ) from None
    raise Failure(
        UNWITNESSED,
        f"no checkpoint carries {trust.needed} valid cosignature(s) from the witness keys given: "
        "the ledger was never witnessed, or the cosigned checkpoints were removed",
        0,
    )


def _witness_checkpoints(trust: Trust, log_key: str) -> list[str]:
    """The checkpoint each `--witness-url` last cosigned for our origin (log signature checked
    here; its consistency with the ledger by `verify` as a kept checkpoint). A witness that
    cannot be reached fails verification: the auditor asked for its word."""
    if not trust.witness_urls:
        return []  # without importing the HTTP client (a serial 20 ms before `verify`)
    from ledger.cosignature import CosignatureError, QuorumError, witnessed
    from ledger.witnessing import WitnessError, fetch_cosigned_checkpoint

    notes = []
    for url in trust.witness_urls:
        try:
            note = fetch_cosigned_checkpoint(url, ORIGIN)
        except WitnessError as e:
            raise Failure(UNWITNESSED, f"cannot ask the witness at {url}: {e}", 0) from None
        if note is None:
            # Its silence cannot vouch that the ledger was not rolled back: a wrong URL, or a
            # witness this log never used, must not pass for one that saw nothing amiss.
            raise Failure(
                UNWITNESSED,
                f"the witness at {url} has cosigned no checkpoint of this log ({ORIGIN}): it "
                "cannot vouch for it (a wrong URL, or a witness the log does not use)",
                0,
            )
        try:
            # With witness keys given, what a witness answers must carry a trusted witness's
            # cosignature: a checkpoint the log signed alone proves nothing about the witness.
            witnessed(note, log_key.split(), trust.witness_keys, min(1, len(trust.witness_keys)))
        except QuorumError:
            raise Failure(
                UNWITNESSED,
                f"the checkpoint the witness at {url} answered carries no cosignature by a "
                "witness key given: it is not that witness's word",
                0,
            ) from None
        except (CosignatureError, NoteError, ValueError) as e:
            raise Failure(
                Damage.SWAPPED_KEY,
                f"the witness at {url} answered a checkpoint the trusted keys did not sign: {e}",
                0,
            ) from None
        notes.append(note)
    return notes


# -- the signing-key rotation chain ------------------------------------------------------------


def _genesis_key(first: list[tuple[str, bytes]]) -> str | None:
    try:
        body = parse_entry(first[0][1])["body"]
        return body.get("verifier_key")
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def _rotations(source: Path, is_sqlite: bool) -> list[tuple[int, dict]]:
    """(index, body) of every signing-key rotation entry, in order."""
    if is_sqlite:
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            return _rotations_in(conn)
        finally:
            conn.close()
    entries = read_export(source).entries
    return _rotation_bodies([(i, _chain_entry(i, raw)) for i, (_, raw) in enumerate(entries)])


def _rotations_in(conn: sqlite3.Connection) -> list[tuple[int, dict]]:
    """`_rotations` of a SQLite store, read through `conn` (in its snapshot)."""
    rows = conn.execute("SELECT idx, entry FROM entries WHERE kind = 'key' ORDER BY idx")
    return _rotation_bodies([(idx, _chain_entry(idx, blob(raw))) for idx, raw in rows])


def _chain_entry(idx: int, raw: bytes) -> dict:
    """A key entry read for the signing-key chain, before the entries are checked: one that is
    JSON but not canonical is read all the same, since the entry checks name its damage with
    its index, and any earlier damage first (a rotation's signature holds the chain anyway)."""
    try:
        return parse_entry(raw)
    except ValueError:
        pass
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    if not isinstance(document, dict) or not isinstance(document.get("body"), dict):
        raise Failure(Damage.MODIFIED, f"entry {idx} is not a canonical entry", idx)
    return document


def _rotation_bodies(documents: list[tuple[int, dict]]) -> list[tuple[int, dict]]:
    from ledger.keys import ROTATE_SIGNING

    return [
        (idx, d["body"])
        for idx, d in documents
        if d.get("kind") == "key" and d["body"].get("action") == ROTATE_SIGNING
    ]


def signing_chain(rotations: list[tuple[int, dict]], root: str | None) -> list[tuple[int, str]]:
    """The signing keys in force, from `root` (the pinned or genesis key): `(index of the
    rotation entry that made it, key)`, -1 for the root. Each rotation must be signed by the
    key in force before it."""
    from ledger.keys import follow_rotation

    if root is None:
        return [(-1, "")] if not rotations else []
    chain = [(-1, root.strip())]
    for index, body in rotations:
        try:
            chain.append((index, follow_rotation(body, chain[-1][1])))
        except ValueError as e:
            raise Failure(Damage.SWAPPED_KEY, f"entry {index}: {e}", index) from None
    return chain


def trusted_chain(
    rotations: list[tuple[int, dict]],
    public_key: str | None,
    genesis: str | None,
    checkpoints: list[tuple[int, str, str]],
) -> list[tuple[int, str]]:
    """The signing chain `verify` follows: from the officer's key (or the genesis key when none
    is given), or, when the officer's key is one a rotation in the ledger handed over to (the
    `public.key` of a store after `keys rotate-signing`), from the genesis key through that
    rotation. Then a checkpoint signed by that key or a later one must exist: it is what vouches
    for every entry before it, the older keys' included (a retired key, even leaked, cannot
    make one)."""
    given = public_key.strip() if public_key is not None else None
    if given is None or genesis is None or given == genesis:
        return signing_chain(rotations, given or genesis)
    from_genesis = signing_chain(rotations, genesis)
    handed_over = [index for index, key in from_genesis if key == given and index >= 0]
    if not handed_over:
        return signing_chain(rotations, given)  # not a key of this ledger: refused as such
    if not any(size - 1 > handed_over[0] for size, _, _ in checkpoints):
        raise Failure(
            Damage.SWAPPED_KEY,
            f"the trusted key took over at entry {handed_over[0]} and has signed no checkpoint "
            "since: nothing it signed vouches for the ledger (give the genesis key)",
            handed_over[0],
        )
    return from_genesis


def check_signing_chain(
    checkpoints: list[tuple[int, str, str]], chain: list[tuple[int, str]]
) -> None:
    """After a rotation, each checkpoint must be signed by the key in force for its last entry:
    a checkpoint ending at or before the rotation entry by the old key, later ones by the new
    (so a retired key can sign nothing new)."""
    if len(chain) < 2:
        return
    for size, _, note in checkpoints:
        in_force = [key for index, key in chain if index < size - 1][-1]
        try:
            open_note(note, Verifier.from_verifier_key(in_force))
        except (NoteError, ValueError):
            raise Failure(
                Damage.FORGED_CHECKPOINT,
                f"the checkpoint of size {size} is not signed by the key in force then "
                f"({in_force.split('+')[0]}…): a retired key signed it",
                max(size - 1, 0),
            ) from None


# -- the tables the API answers from ----------------------------------------------------------


def check_tables(
    db_path: Path, walked: IndexWalk | None = None, snapshot: sqlite3.Connection | None = None
) -> None:
    """The id index (`entries.kind`, `entries.ref`), the case store (rows, decision ids,
    obligation registers), the API key table, the kept answers and the decision index must be
    what the entry bytes imply; the first mismatch is a `Failure` naming it. Console sessions
    are private: not read. `walked` is the id index as `verify_sqlite` walked it with the
    entries (and the decision index rows its chunks checked), so they are not read again;
    `snapshot`, the connection whose read transaction they were read in (`EntryChecks.conn`),
    else a new one."""
    from store.sqlite import SqliteTx

    conn = snapshot or sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        if snapshot is None:
            conn.execute("BEGIN")
        if walked is None:
            rows = conn.execute("SELECT idx, kind, ref, entry FROM entries ORDER BY idx")
            check_tables_on(conn, SqliteTx(conn), rows)
        else:
            check_walked_tables(conn, SqliteTx(conn), walked)
    finally:
        if snapshot is None:
            conn.close()


def check_tables_on(conn: Any, tx: Any, rows: Iterable[tuple[int, str, str | None, bytes]]) -> None:
    """`check_tables` through `conn` (`?` placeholders) and the store's read transaction `tx`
    on the same snapshot, `rows` being every `(idx, kind, ref, entry)` in index order."""
    walk, parse = IndexWalk(), entry_parser()
    for idx, kind, ref, raw in rows:
        walk.add(idx, kind, ref, parse(blob(raw)))
        if walk.failure is not None:
            break
    check_walked_tables(conn, tx, walk)


def check_walked_tables(conn: Any, tx: Any, walk: IndexWalk) -> None:
    """`check_tables_on` with the entries already walked (`walk`)."""
    twice = decision_twice(conn) if walk.find_twice else walk.twice
    if twice is not None:
        raise Failure(
            INDEX_MISMATCH, f"decision {twice[0]} is in entries {twice[1]} and {twice[2]}", twice[2]
        )
    if walk.failure is not None:
        raise walk.failure
    checks = (
        (
            CASE_MISMATCH,
            "case tables",
            lambda: _check_cases(tx, walk.case_decisions, walk.erasures),
        ),
        (KEY_MISMATCH, "API key table", lambda: _check_keys(conn, walk.key_entries)),
        (ANSWER_MISMATCH, "kept answers", lambda: _check_kept_answers(conn, tx, walk.key_entries)),
        (
            DECISION_INDEX_MISMATCH,
            "decision index",
            lambda: _check_decision_index(tx, walk.indexed),
        ),
    )
    for damage, table, check in checks:
        try:
            check()
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as e:
            # A value of a type or shape the service never writes (NULL where it writes text,
            # text where it writes bytes): damage to name, not a traceback.
            reason = f"a value the service never writes is in the {table}: {e!r}"
            raise Failure(damage, reason) from None


def _check_decision_index(tx: Any, checked: Any) -> None:
    """The decision index (what reports, the decision listing's filters and the console read):
    every row, flag, case-less register row, latest mark and day count must be what the
    decision entries give (`reports.index`). `checked`: the rows already held to their entries
    by the chunks (`IndexWalk.indexed`), else None (all of it is checked here)."""
    from reports.index import index_difference

    if checked is None:
        difference, _ = index_difference(tx, policy_timezones())
    else:
        difference = checked.finish(tx, tx.tree_size())
    if difference is not None:
        raise Failure(
            DECISION_INDEX_MISMATCH,
            f"decision index: {difference} (what reports read; `redress index rebuild` remakes "
            "it from the ledger)",
            difference.at,
        )


CASE_FIELDS = {"obligations": "obligation register", "decisions": "decision ids"}


def _check_cases(tx: Any, case_decisions: list[dict], erasures: list[dict]) -> None:
    """Each case row (its state, stage, route, purpose and personal data's state), its decision
    ids and its obligation register, as `redress cases check` rebuilds them from the case's
    decisions and erasures in ledger order (`cases.rebuild.compare`), after their places."""
    misplaced = tx.case_misplaced_decisions()
    if misplaced is not None:
        raise Failure(
            CASE_MISMATCH,
            f"case {misplaced}: its decisions' places (seq) are not 0, 1, 2…, as the service "
            "numbers them: edited by other hands (the next event would be listed out of order)",
        )
    if not case_decisions:
        # Nothing to rebuild: the case store must hold no case, which is what `compare` finds
        # then, without loading the rebuild and the policies' calendars for it.
        stored = tx.case_ids()
        if stored:
            raise Failure(CASE_MISMATCH, f"case {min(stored)} has no decision in the ledger")
        return
    import rules
    from cases.rebuild import compare
    from cases.register import registers_from_entries

    timezones = {p.id: p.timezone for p in rules.policy_summaries()}
    try:
        cases = registers_from_entries(case_decisions + erasures, timezones=timezones)
    except (KeyError, ValueError, TypeError) as e:
        raise Failure(CASE_MISMATCH, f"a case's decisions cannot be rebuilt: {e!r}") from None
    difference = compare(tx, cases, timezones)
    if difference is None:
        return
    case_id, name = difference.case_id, difference.field
    if name == "case" and difference.rebuilt == "not in ledger":
        raise Failure(CASE_MISMATCH, f"case {case_id} has no decision in the ledger")
    if name == "case":
        raise Failure(CASE_MISMATCH, f"case {case_id} is in the ledger but not in the case store")
    raise Failure(
        CASE_MISMATCH,
        f"case {case_id}: the case tables and its decisions in the ledger disagree on its "
        f"{CASE_FIELDS.get(name, name)}",
    )


def _check_keys(conn: Any, key_entries: list[dict]) -> None:
    """Every API key row was recorded by a `create` entry with its role and name (the name
    decides whose cases' personal data a key reads) and that entry's `recorded_at` as its
    `created_at`, and is revoked exactly when a `revoke` entry says so, at that entry's time;
    every created key has its row. (A key's hash is kept out of the ledger.)"""
    expected: dict[str, dict] = {}
    for body in key_entries:
        key_id = body.get("key_id")
        if body["action"] == "create":
            expected[key_id] = {
                "role": body.get("role"),
                "name": body.get("name"),
                "created_at": body["_recorded_at"],
                "revoked_at": None,
                "at": body["_index"],
            }
        elif body["action"] == "revoke" and key_id in expected:
            want = expected[key_id]
            want["revoked_at"] = want["revoked_at"] or body["_recorded_at"]
    rows = {
        key_id: (role, name, created_at, revoked_at)
        for key_id, role, name, created_at, revoked_at in conn.execute(
            "SELECT key_id, role, name, created_at, revoked_at FROM api_keys"
        )
    }
    for key_id in sorted(set(rows) | set(expected)):
        if key_id not in expected:
            raise Failure(
                KEY_MISMATCH,
                f"API key {key_id} ({rows[key_id][0]}) was never recorded in the ledger",
            )
        want = expected[key_id]
        if key_id not in rows:
            raise Failure(
                KEY_MISMATCH, f"API key {key_id} is in the ledger but not stored", want["at"]
            )
        _check_key_row(key_id, rows[key_id], want)


def _check_key_row(key_id: str, row: tuple, want: dict) -> None:
    """One stored key (role, name, created_at, revoked_at) against what its entries say."""
    role, name, created_at, revoked_at = row
    if name != want["name"]:
        raise Failure(
            KEY_MISMATCH,
            f"API key {key_id} is named {name!r}; the ledger recorded {want['name']!r}",
            want["at"],
        )
    if role != want["role"]:
        raise Failure(
            KEY_MISMATCH,
            f"API key {key_id} has role {role!r}; the ledger recorded {want['role']!r}",
            want["at"],
        )
    if (revoked_at is not None) != (want["revoked_at"] is not None):
        state = "revoked" if want["revoked_at"] else "not revoked"
        raise Failure(KEY_MISMATCH, f"API key {key_id}: the ledger says it is {state}", want["at"])
    for what, have, given in (
        ("created", created_at, want["created_at"]),
        ("revoked", revoked_at, want["revoked_at"]),
    ):
        if have != given:
            raise Failure(
                KEY_MISMATCH,
                f"API key {key_id} is dated {what} {have}; the ledger recorded it at {given}",
                want["at"],
            )


def _check_kept_answers(conn: Any, tx: Any, key_entries: list[dict] | None = None) -> None:
    """Every answer kept for an `Idempotency-Key` retry is a creation's (201: a refused request
    records nothing, CONTRACT.md) and says what the ledger says. Each decision in it (a
    decision's, an event's, a new case's) as its entry holds it, with a receipt naming that
    entry and a tree that holds it, whose root is the ledger's at that size (its batch's: no
    checkpoint need have it); a new case's fields as its decisions give them; a new key's id,
    role, name and date as its `create` entry records them, and never its secret. What a retry's
    key and hash were, the ledger never held."""
    size = conn.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries").fetchone()[0]
    created = {
        body.get("key_id"): body for body in key_entries or [] if body.get("action") == "create"
    }
    roots: dict[int, str] = {}
    for status, response in conn.execute("SELECT status, response FROM idempotency"):
        raw = blob(response)  # kept as bytes: text there is a retry's 503, and damage
        try:
            answer = json.loads(raw)
        except ValueError:
            raise Failure(ANSWER_MISMATCH, "an answer kept for a retry is not JSON") from None
        _check_kept_shape(raw)
        if status != 201:
            raise Failure(
                ANSWER_MISMATCH,
                f"an answer kept for a retry has status {status}, not the 201 of a creation "
                "(a refused request records nothing, so nothing is kept for it)",
            )
        decisions = _decisions_in(answer)
        for decision in decisions:
            _check_kept_decision(conn, tx, decision, size, roots)
        if isinstance(answer, dict) and "case_id" in answer and "decisions" in answer:
            _check_kept_case(conn, answer)
        elif isinstance(answer, dict) and "key_id" in answer and "role" in answer:
            _check_kept_key(answer, created)


def _check_kept_shape(raw: bytes) -> None:
    """A kept answer is, byte for byte, one the API writes: a decision (`POST /v1/decisions`,
    an event), a case or a new key, encoded as the service encodes it. A field the API never
    answers (an operator's `"note"`, a case's `complainant`) would reach the client on a retry;
    the checks of what each field says follow."""
    from schemas.api import Case, CreatedKey
    from schemas.decision import RecordedDecision

    for shape in (RecordedDecision, Case, CreatedKey):
        try:
            if msgspec.json.encode(msgspec.json.decode(raw, type=shape)) == raw:
                return
        except msgspec.ValidationError:
            continue
    raise Failure(
        ANSWER_MISMATCH,
        "an answer kept for a retry is not one the API gives (a decision, a case or a new key, "
        f"as the service writes it): a retry would be answered with {raw[:80]!r}…",
    )


def _check_kept_case(conn: Any, kept: dict) -> None:
    """A new case's kept answer: its fields as its decisions in the ledger give them (the
    client sends its events to the `case_id` it was answered)."""
    from cases.register import registers_from_entries

    documents = []
    for decision in kept.get("decisions") or []:
        row = conn.execute(
            "SELECT entry FROM entries WHERE kind = 'decision' AND ref = ?",
            (decision.get("decision_id"),),
        ).fetchone()
        documents.append(parse_entry(blob(row[0])))
    case_id = kept.get("case_id")
    try:
        found = registers_from_entries(documents, timezones=policy_timezones()).get(case_id)
    except (KeyError, ValueError, TypeError):
        found = None
    fields = ("policy", "state", "purpose", "opened_at", "facts", "personal")
    stored = conn.execute("SELECT reference FROM cases WHERE case_id = ?", (case_id,)).fetchone()
    shown = ("name", "rule", "due", "done_at", "status", "first_decision_id", "last_decision_id")
    if (
        found is None
        or any(kept.get(f) != found[f] for f in fields)
        or stored is None
        or kept.get("reference") != stored[0]
        or kept.get("obligations") != [{k: row.get(k) for k in shown} for row in found["rows"]]
    ):
        raise Failure(
            ANSWER_MISMATCH,
            f"the answer kept for a retry of case {case_id} is not what its decisions in the "
            "ledger give: a retry would be answered with it",
        )


def _check_kept_key(kept: dict, created: dict[str, dict]) -> None:
    """A new key's kept answer: as its `create` entry records it (its `created_at` the entry's
    `recorded_at`), and without its secret (kept nowhere but as its hash: a retry answers
    `key: null`)."""
    key_id = kept.get("key_id")
    body = created.get(key_id)
    if kept.get("key") is not None:
        raise Failure(
            ANSWER_MISMATCH, f"the answer kept for a retry of key {key_id} holds a secret"
        )
    given = (kept.get("role"), kept.get("name"), kept.get("created_at"))
    if body is None or given != (body.get("role"), body.get("name"), body["_recorded_at"]):
        raise Failure(
            ANSWER_MISMATCH,
            f"the answer kept for a retry of key {key_id} is not what the ledger's key entries "
            "record",
        )


def _decisions_in(answer: Any) -> list[dict]:
    if not isinstance(answer, dict):
        return []
    if "decision_id" in answer and "ledger" in answer:
        return [answer]
    decisions = answer.get("decisions")
    return [d for d in decisions if isinstance(d, dict)] if isinstance(decisions, list) else []


def _check_kept_decision(conn: Any, tx: Any, kept: dict, size: int, roots: dict[int, str]) -> None:
    from schemas.decision import Decision, fields_of_entry

    decision_id = kept.get("decision_id")
    row = conn.execute(
        "SELECT idx, entry_hash, entry FROM entries WHERE kind = 'decision' AND ref = ?",
        (decision_id,),
    ).fetchone()
    if row is None:
        raise Failure(
            ANSWER_MISMATCH,
            f"an answer kept for a retry carries decision {decision_id}, which no entry holds",
        )
    index, entry_hash, raw = row
    try:
        recorded = fields_of_entry(parse_entry(blob(raw))["body"])
        answered = msgspec.to_builtins(
            msgspec.convert({n: kept.get(n) for n in recorded}, Decision)
        )
        held = msgspec.to_builtins(msgspec.convert(recorded, Decision))
        receipt = kept["ledger"]
        same_entry = receipt["index"] == index and receipt["entry_hash"] == entry_hash
    except (msgspec.ValidationError, KeyError, TypeError):
        answered, held, same_entry = None, True, False
    if answered != held or not same_entry:
        raise Failure(
            ANSWER_MISMATCH,
            f"the answer kept for a retry of decision {decision_id} is not what entry {index} "
            "holds: a retry would be answered with it",
            index,
        )
    tree_size, root_hash = receipt.get("tree_size"), receipt.get("root_hash")
    if not (isinstance(tree_size, int) and index < tree_size <= size) or root_hash != (
        roots.get(tree_size) or roots.setdefault(tree_size, _stored_root(tx, tree_size))
    ):
        raise Failure(
            ANSWER_MISMATCH,
            f"the answer kept for a retry of decision {decision_id} names a tree of size "
            f"{tree_size!r} with root {root_hash!r}: not a tree of this ledger that holds entry "
            f"{index}",
            index,
        )


def _stored_root(tx: Any, size: int) -> str:
    """The root hash (hex) of the stored tree of `size` leaves (`ledger.store.tree_root`: the
    stored subtree hashes, which the entry checks have held to the entries by now); "" when a
    node it needs is missing."""
    from ledger.store import tree_root

    try:
        return tree_root(tx, size).hex()
    except LookupError:
        return ""


# -- a receipt against a kept checkpoint and witnesses ---------------------------------------


def verify_receipt_trusted(
    path: Path, public_key: str | None, kept: str | None, trust: Trust
) -> Report:
    """`verify_receipt_file`, then: the receipt's checkpoint must be the kept one's tree (a
    receipt carries no consistency proof, so another tree cannot be shown consistent), must not
    be another tree of the same size as one a `--witness-url` last cosigned (a split view), and
    must carry the quorum of trusted cosignatures when witness keys are given."""
    report = verify_receipt_file(path, public_key)
    if not report.ok:
        return report
    proof = parse_tlog_proof(path.read_text())
    log_key = (
        public_key if public_key is not None else (path.parent / PUBLIC_KEY_FILE).read_text()
    ).strip()
    verifier = _verifier(log_key)
    receipt_size, receipt_root = _open_checkpoint(
        proof.checkpoint, verifier, "the receipt's checkpoint"
    )
    notes = []
    if kept is not None:
        try:
            size, root = _open_checkpoint(kept, verifier, "the kept checkpoint")
        except Failure as f:
            return Report(ok=False, summary=f.summary, damage=Damage.BAD_RECEIPT)
        if (size, root) != (receipt_size, receipt_root):
            same = (
                "the same size with another root: the log was rewritten"
                if size == receipt_size
                else (
                    f"size {size}, the receipt's is {receipt_size}; a receipt carries no "
                    "consistency proof, so it is checked only against a kept checkpoint of the "
                    "same tree (verify the ledger or an export with --checkpoint for that)"
                )
            )
            return Report(
                ok=False,
                summary=f"the kept checkpoint is not the receipt's tree: {same}",
                damage=Damage.BAD_RECEIPT,
                first_bad_index=proof.index,
            )
        notes.append("it is the kept checkpoint's tree")
    try:
        asked = [
            _open_checkpoint(n, verifier, "a witness's checkpoint")
            for n in _witness_checkpoints(trust, log_key)
        ]
    except Failure as f:
        return Report(ok=False, summary=f.summary, damage=f.damage)
    for size, root in asked:
        if size == receipt_size and root != receipt_root:
            return Report(
                ok=False,
                summary="a witness cosigned another tree of the receipt's size: the log showed "
                "the witness and this receipt two different histories",
                damage=Damage.REWRITTEN,
                first_bad_index=proof.index,
            )
    if asked:
        same = sum(size == receipt_size for size, _ in asked)
        notes.append(
            f"{same} of {len(asked)} witness checkpoint(s) asked are its tree"
            + ("" if same == len(asked) else " (of another size, no proof links them to it)")
        )
    if trust.witness_keys:
        from ledger.cosignature import CosignatureError, witnessed

        try:
            names = witnessed(proof.checkpoint, log_key, trust.witness_keys, trust.needed)[1]
        except (CosignatureError, NoteError, ValueError) as e:
            return Report(ok=False, summary=f"the receipt's checkpoint: {e}", damage=UNWITNESSED)
        notes.append(f"cosigned by {', '.join(names)}")
    extra = f"; {'; '.join(notes)}" if notes else ""
    return msgspec.structs.replace(report, summary=report.summary + extra)


# -- a PostgreSQL store, with the same trust ---------------------------------------------------


def verify_database_trusted(
    url: str,
    public_key: str | None = None,
    checkpoint: str | None = None,
    trust: Trust | None = None,
) -> Report:
    """`verify_trusted` for the PostgreSQL store at `url`, in one snapshot: `verify_database`
    (against the kept checkpoint and what the `--witness-url`s last cosigned), then the
    signing-key chain, coverage by (cosigned) checkpoints, and the id index, case and key
    tables."""
    import psycopg

    from ledger.keys import ROTATE_SIGNING
    from store.postgres import PgTx, StoreUnavailable, ledger_snapshot

    trust = trust or Trust()
    try:
        with ledger_snapshot(url) as snapshot:
            conn = _Qmark(snapshot.conn)
            count, checkpoints, first = outline(conn)
            keys = conn.execute("SELECT idx, entry FROM entries WHERE kind = 'key' ORDER BY idx")
            try:
                documents = [(idx, _chain_entry(idx, blob(raw))) for idx, raw in keys]
                rotations = [
                    (idx, d["body"])
                    for idx, d in documents
                    if d["body"].get("action") == ROTATE_SIGNING
                ]
                chain = trusted_chain(rotations, public_key, _genesis_key(first), checkpoints)
                if len(chain) > 1:
                    public_key = "\n".join(key for _, key in chain)
                trusted = trusted_key(Material(first, checkpoints, None), public_key)
                witnessed_notes = _witness_checkpoints(trust, trusted)
            except Failure as f:
                return _failed(f, 0)
            kept = ([checkpoint] if checkpoint is not None else []) + witnessed_notes
            report = _as_witnessed(
                _verify_snapshot(conn, snapshot, public_key, kept), checkpoint, witnessed_notes
            )
            if not report.ok:
                return report
            try:
                check_signing_chain(checkpoints, chain)
                coverage = check_coverage(count, checkpoints, trusted, trust)
                rows = ((idx, kind, ref, blob(raw)) for idx, kind, ref, raw in snapshot.indexed())
                check_tables_on(conn, PgTx(snapshot.conn), rows)
            except Failure as f:
                return _failed(f, count)
    except (StoreUnavailable, psycopg.Error) as e:
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        summary = f"not a readable ledger: {reason}"
        return Report(ok=False, summary=summary, damage=Damage.UNREADABLE)
    witnesses = (
        f"; consistent with {len(witnessed_notes)} witness checkpoint(s)" if witnessed_notes else ""
    )
    return msgspec.structs.replace(
        report,
        summary=f"{report.summary}; {coverage}{witnesses}; id index, decision index, cases and "
        "keys match the entries",
    )
