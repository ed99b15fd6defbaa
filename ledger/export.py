"""JSON Lines export: everything `verify` needs to check a ledger without its database.

Line 1 is a header `{"type": "redress-ledger-export", "format": 1, "origin", "public_key"}`;
then one `{"type": "entry", "entry_hash", "entry"}` per entry in index order, where `entry` is
the entry document (its RFC 8785 form is the hashed bytes); then one
`{"type": "checkpoint", "tree_size", "root_hash", "checkpoint"}` per stored signed checkpoint
(with the witnesses' cosignature lines when it was cosigned), oldest first. Only the entries the
newest checkpoint covers are written, so an export always ends with a checkpoint covering every
entry line (`redress export` has the writer sign one first): `verify` refuses an export whose
last lines were cut. Personal data is never exported: it is not in the chain.

`export` writes the file; `read_export_file` reads it back, strictly, for `verify` and `replay`.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785

from ledger.keys import ORIGIN, PUBLIC_KEY_FILE

EXPORT_TYPE = "redress-ledger-export"


def _line(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"


def export(db_path: Path, out: Path, cosigned_only: bool = False) -> int:
    """Write the ledger in `db_path` to `out` as JSON Lines; return the number of entries.
    `cosigned_only`: stop at the newest checkpoint witnesses cosigned (nothing if none was)."""
    from store.base import COSIGNED_PATTERN

    db_path, out = Path(db_path), Path(out)
    public_key_path = db_path.parent / PUBLIC_KEY_FILE
    public_key = public_key_path.read_text().strip() if public_key_path.exists() else None
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        conn.execute("BEGIN")  # one snapshot for entries and checkpoints
        where, params = ("WHERE note LIKE ?", (COSIGNED_PATTERN,)) if cosigned_only else ("", ())
        newest = conn.execute(f"SELECT MAX(tree_size) FROM checkpoints {where}", params)
        newest = newest.fetchone()[0] or 0
        entries = conn.execute(
            "SELECT entry_hash, entry FROM entries ORDER BY idx LIMIT ?", (newest,)
        )
        checkpoints = lambda: conn.execute(  # noqa: E731 - read after the entries, same snapshot
            "SELECT tree_size, root_hash, note FROM checkpoints WHERE tree_size <= ? "
            "ORDER BY tree_size",
            (newest,),
        )
        count = write_export(out, public_key, entries, checkpoints)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return count


def covered_size(checkpoints: Iterable[tuple[int, str, str]], cosigned_only: bool = False) -> int:
    """The size of the newest stored checkpoint (`cosigned_only`: of the newest one witnesses
    cosigned): an export writes the entries it covers and no more."""
    from store.base import is_cosigned

    sizes = (size for size, _, note in checkpoints if not cosigned_only or is_cosigned(note))
    return max(sizes, default=0)


def write_export(
    out: Path,
    public_key: str | None,
    entries: Iterable[tuple[str, bytes]],
    checkpoints: Callable[[], Iterable[tuple[int, str, str]]],
) -> int:
    """Write an export from `(entry_hash, entry bytes)` in index order and the signed
    checkpoints of the same snapshot (any beyond the entries written are left out)."""
    count = 0
    with Path(out).open("w", encoding="utf-8") as f:
        header = {"type": EXPORT_TYPE, "format": 1, "origin": ORIGIN}
        f.write(_line(header | {"public_key": public_key}))
        for entry_hash, raw in entries:
            entry = json.loads(raw)
            f.write(_line({"type": "entry", "entry_hash": entry_hash, "entry": entry}))
            count += 1
        for tree_size, root_hash, note in checkpoints():
            if tree_size > count:
                continue
            f.write(
                _line(
                    {
                        "type": "checkpoint",
                        "tree_size": tree_size,
                        "root_hash": root_hash,
                        "checkpoint": note,
                    }
                )
            )
    return count


# -- reading it back ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFile:
    """What an export holds: each entry's stated hash and canonical bytes, in order; each
    checkpoint `(tree_size, root_hash hex, signed note)`; the header's public key."""

    entries: list[tuple[str, bytes]]
    checkpoints: list[tuple[int, str, str]]
    public_key: str | None


def read_export_file(path: Path) -> ExportFile:
    """The export's lines, read strictly: lines end at `\n` only (JSON text may hold U+2028,
    U+2029 or U+0085 as they are, which `str.splitlines` would break a line at), an object
    never repeats a key (the entry hashed is the one written, not the last of two values),
    and every line after the header is an entry or a checkpoint (`ValueError` otherwise)."""
    lines = Path(path).read_bytes().decode("utf-8").split("\n")  # no newline translation
    if lines and lines[-1] == "":
        lines.pop()  # the last line's own end
    if not lines:
        raise ValueError("the file is empty")
    header = _export_line(lines[0], 1)
    if header.get("type") != EXPORT_TYPE:
        raise ValueError("no export header")
    _members(header, HEADER_MEMBERS, 1)
    if header["format"] != 1 or isinstance(header["format"], bool):
        raise ValueError(f"line 1: export format {header['format']!r}: this verifier reads 1")
    if header["origin"] != ORIGIN:
        raise ValueError(f"line 1: origin {header['origin']!r}: a Redress ledger's is {ORIGIN}")
    entries: list[tuple[str, bytes]] = []
    checkpoints: list[tuple[int, str, str]] = []
    for number, line in enumerate(lines[1:], start=2):
        item = _export_line(line, number)
        if item.get("type") == "entry":
            _members(item, ENTRY_MEMBERS, number)
            entries.append((item["entry_hash"], rfc8785.dumps(item["entry"])))
        elif item.get("type") == "checkpoint":
            _members(item, CHECKPOINT_MEMBERS, number)
            size = item["tree_size"]
            if not isinstance(size, int) or isinstance(size, bool):
                raise ValueError(f"line {number}: a checkpoint's tree_size is not an integer")
            if checkpoints and size <= checkpoints[-1][0]:
                raise ValueError(
                    f"line {number}: a checkpoint of size {size} after one of size "
                    f"{checkpoints[-1][0]}: an export's checkpoints come once each, smallest first"
                )
            checkpoints.append((size, item["root_hash"], item["checkpoint"]))
        else:
            raise ValueError(f"line {number} is neither an entry nor a checkpoint")
    return ExportFile(entries, checkpoints, header.get("public_key"))


# Each line's members, as `write_export` writes them, and the type each takes.
HEADER_MEMBERS = {"type": str, "format": int, "origin": str, "public_key": str | None}
ENTRY_MEMBERS = {"type": str, "entry_hash": str, "entry": dict}
CHECKPOINT_MEMBERS = {"type": str, "tree_size": int, "root_hash": str, "checkpoint": str}


def _members(item: dict[str, Any], members: dict[str, Any], number: int) -> None:
    """`item` holds exactly `members`, each of its type (`ValueError` naming the line)."""
    if set(item) != set(members):
        extra, missing = sorted(set(item) - set(members)), sorted(set(members) - set(item))
        raise ValueError(
            f"line {number}: an export's {item.get('type')} line holds {', '.join(members)}"
            f" (here {'more: ' + ', '.join(extra) if extra else 'without: ' + ', '.join(missing)})"
        )
    for name, kind in members.items():
        if not isinstance(item[name], kind):
            raise ValueError(f"line {number}: {name} is {item[name]!r}, not a {kind}")


def _finite(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is no finite number")
    return number


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        repeated = next(k for k, n in Counter(k for k, _ in pairs).items() if n > 1)
        raise ValueError(f"an object repeats the key {repeated!r}")
    return document


def _export_line(line: str, number: int) -> dict[str, Any]:
    if not line.strip():
        raise ValueError(f"line {number} is blank: an export's every line is one JSON object")
    if line.endswith("\r"):
        raise ValueError(f"line {number} ends in CR LF: an export's lines end in LF alone")
    try:
        item = json.loads(
            line,
            object_pairs_hook=_unique_members,
            parse_float=_finite,
            parse_constant=_no_constant,
        )
    except ValueError as e:
        raise ValueError(f"line {number}: {e}") from None
    if not isinstance(item, dict):
        raise ValueError(f"line {number} is not a JSON object")
    return item
