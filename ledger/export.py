"""JSON Lines export: everything `verify` needs to check a ledger without its database.

Line 1 is a header `{"type": "redress-ledger-export", "format": 1, "origin", "public_key"}`;
then one `{"type": "entry", "entry_hash", "entry"}` per entry in index order, where `entry` is
the entry document (its RFC 8785 form is the hashed bytes); then one
`{"type": "checkpoint", "tree_size", "root_hash", "checkpoint"}` per stored signed checkpoint
(with the witnesses' cosignature lines when it was cosigned), oldest first. Only the entries the
newest checkpoint covers are written, so an export always ends with a checkpoint covering every
entry line (`redress export` has the writer sign one first): `verify` refuses an export whose
last lines were cut. Personal data is never exported: it is not in the chain.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

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
        count = 0
        with out.open("w", encoding="utf-8") as f:
            header = {"type": EXPORT_TYPE, "format": 1, "origin": ORIGIN}
            f.write(_line(header | {"public_key": public_key}))
            for entry_hash, raw in entries:
                entry = json.loads(raw)
                f.write(_line({"type": "entry", "entry_hash": entry_hash, "entry": entry}))
                count += 1
            checkpoints = conn.execute(
                "SELECT tree_size, root_hash, note FROM checkpoints WHERE tree_size <= ? "
                "ORDER BY tree_size",
                (newest,),
            )
            for tree_size, root_hash, note in checkpoints:
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
        conn.execute("COMMIT")
    finally:
        conn.close()
    return count
