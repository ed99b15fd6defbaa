"""The tamper campaign of issue 12, as tests: a real data directory of a few hundred entries,
written by `redress serve --witness` and cosigned by a real witness (`redress witness serve`),
then altered on a copy the way someone with write access to the data directory AND the log's
signing key would: entries edited, forged, reordered, inserted, deleted, with the hash chain,
the Merkle tree and the checkpoints recomputed and re-signed with the log's own key.

Issue 12: "every kind of tampering in it is detected by `verify` with a witness key and quorum
1 — including the rewrite re-signed with the log's own key — and every tampered export or
receipt is rejected."

The attacker here is careful: it keeps every checkpoint (cosigned ones included) that still
verifies, i.e. those before its first change, and signs a fresh one for the whole rewritten
log. The witness cosignatures it cannot forge are then missing after the change, so the
auditor sees entries not covered by a cosigned checkpoint: `--strict` fails on them (the
ledger here is quiesced and was fully cosigned), and `--witness-url` catches the rewrite
without `--strict` (the witness's own checkpoint is not extended by the rewritten log).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec
import pytest
import rfc8785
from conftest import COMPLAINT, LIVE_COMPLAINT, free_port
from witnessed import Witness, log_process, wait_for, witness_process

import rules
from ledger import DB_FILE
from ledger.canonical import ZERO_HASH, sha256_hex
from ledger.checkpoint import Checkpoint, format_checkpoint
from ledger.export import export
from ledger.keys import ORIGIN, PUBLIC_KEY_FILE, SIGNING_KEY_FILE
from ledger.note import Signer
from ledger.tree import MemoryTree
from ledger.verify_chunks import expected_ref
from redress.cli import main
from store.base import COSIGNED_PATTERN

DECISIONS = 260
CASES = 8


@dataclass
class Campaign:
    pristine: Path  # a data directory, quiesced, its newest checkpoint cosigned
    witness: Witness
    log_vkey: str
    tmp: Path


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campaign]:
    from ledger.store import Ledger

    root = tmp_path_factory.mktemp("tamper")
    data = root / "data"
    Ledger.open(data).close()
    log_vkey = (data / PUBLIC_KEY_FILE).read_text().strip()
    with witness_process(root / "witness", log_vkey) as witness:
        with log_process(data, [witness], quorum=1) as log:
            with httpx.Client(base_url=log.base_url, headers=log.headers, timeout=30) as http:
                for i in range(DECISIONS):
                    body = COMPLAINT if i % 3 else LIVE_COMPLAINT
                    assert http.post("/v1/decisions", json=body).status_code == 201
                for _ in range(CASES):
                    case = http.post("/v1/cases", json=LIVE_COMPLAINT)
                    assert case.status_code == 201, case.text
                    event = {"facts": {"stage_two_outcome_at": "2026-12-04"}}
                    answer = http.post(f"/v1/cases/{case.json()['case_id']}/events", json=event)
                    assert answer.status_code == 201, answer.text
                made = http.post("/v1/keys", json={"role": "audit", "name": "auditor"})
                assert made.status_code == 201, made.text
                assert http.delete(f"/v1/keys/{made.json()['key_id']}").status_code in (200, 204)
            wait_for(lambda: fully_cosigned(data), timeout=60)
        yield Campaign(data, witness, log_vkey, root)


def fully_cosigned(data: Path) -> bool:
    # Closed here, not by the garbage collector during a later copy of `data` (`copy`): the
    # last connection to close deletes the WAL and its index, and the copy would fail.
    with closing(sqlite3.connect(data / DB_FILE)) as conn:
        count = conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        cosigned = conn.execute(
            "SELECT MAX(tree_size) FROM checkpoints WHERE note LIKE ?", (COSIGNED_PATTERN,)
        ).fetchone()[0]
    return cosigned == count


@pytest.fixture
def copy(campaign: Campaign, tmp_path: Path) -> Path:
    """A copy of the pristine data directory, to tamper with."""
    target = tmp_path / "data"
    shutil.copytree(campaign.pristine, target, ignore=shutil.ignore_patterns("*.lock"))
    return target


def verify(campaign: Campaign, *args: str, strict: bool = True) -> tuple[int, str]:
    """`redress verify --witness-key W --quorum 1 [--strict] ARGS`: exit code and output."""
    import contextlib
    import io

    out = io.StringIO()
    command = ["verify", "--witness-key", campaign.witness.vkey, "--quorum", "1", *args]
    with contextlib.redirect_stdout(out):
        code = main([*command, *(["--strict"] if strict else [])])
    return code, out.getvalue()


# -- the attacker's tools -------------------------------------------------------------------


def documents(db: Path) -> list[dict]:
    with sqlite3.connect(db) as conn:
        return [
            json.loads(raw) for (raw,) in conn.execute("SELECT entry FROM entries ORDER BY idx")
        ]


def rewrite(data: Path, edit: Callable[[list[dict]], list[dict]]) -> int:
    """Apply `edit` to the entry documents, then rebuild what the store derives from them as
    an attacker holding the signing key would: indices, the hash chain, the id index, every
    tree node, the decision index, and checkpoints (those before the first changed entry
    kept, with their cosignatures; one new checkpoint of the whole log signed with the log's
    key). Returns the first changed index."""
    db = data / DB_FILE
    before = [rfc8785.dumps(d) for d in documents(db)]
    after = edit(documents(db))
    prev, rows, tree = ZERO_HASH, [], MemoryTree()
    for index, document in enumerate(after):
        document["index"], document["prev_hash"] = index, prev
        raw = rfc8785.dumps(document)
        prev = sha256_hex(raw)
        ref = expected_ref(document["kind"], document["body"])
        rows.append((index, document["kind"], ref, prev, raw))
        tree.append_entry(raw)
    changed = next(
        (i for i, (a, b) in enumerate(zip(before, [r[4] for r in rows], strict=False)) if a != b),
        min(len(before), len(rows)),
    )
    signer = Signer.from_bytes(ORIGIN, (data / SIGNING_KEY_FILE).read_bytes())
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM entries")
        conn.executemany(
            "INSERT INTO entries (idx, kind, ref, entry_hash, entry) VALUES (?, ?, ?, ?, ?)", rows
        )
        conn.execute("DELETE FROM tree_nodes")
        conn.executemany(
            "INSERT INTO tree_nodes (level, position, hash) VALUES (?, ?, ?)",
            [(lv, p, h) for (lv, p), h in tree.nodes.items()],
        )
        conn.execute("DELETE FROM checkpoints WHERE tree_size > ?", (changed,))
        size, root = tree.size, tree.root()
        note = signer.sign(format_checkpoint(Checkpoint(ORIGIN, size, root)))
        conn.execute(
            "INSERT OR REPLACE INTO checkpoints (tree_size, root_hash, note, signed_at) "
            "VALUES (?, ?, ?, '2026-12-05T00:00:00Z')",
            (size, root.hex(), note),
        )
    # The decision index too (`verify` holds it to the entries), as the store derives it.
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["index", "rebuild", "--data-dir", str(data)]) == 0
    return changed


def first_standalone_decision(docs: list[dict], after: int = 100) -> int:
    return next(
        i
        for i, d in enumerate(docs)
        if i >= after and d["kind"] == "decision" and not d["body"].get("case_id")
    )


def sql(data: Path, statement: str, *params: object) -> None:
    with sqlite3.connect(data / DB_FILE) as conn:
        assert conn.execute(statement, params).rowcount >= 1


# -- the untouched ledger -------------------------------------------------------------------


def test_the_untouched_ledger_verifies_with_the_witness(campaign, copy):
    code, out = verify(campaign, "--data-dir", str(copy))
    assert code == 0, out
    assert "covered by a checkpoint cosigned by" in out
    assert "id index, decision index, cases and keys match" in out
    code, out = verify(campaign, "--data-dir", str(copy), "--witness-url", campaign.witness.url)
    assert code == 0, out
    # Held to what the witness answered, and said so: no checkpoint was kept by the officer.
    assert "consistent with 1 witness checkpoint" in out and "kept checkpoint" not in out
    code, out = verify(campaign, "--data-dir", str(copy), "--jobs", "2")
    assert code == 0, out


# -- rewrites re-signed with the log's own key --------------------------------------------------


def edit_outcome(docs: list[dict]) -> list[dict]:
    i = first_standalone_decision(docs)
    docs[i]["body"]["outcome"]["disposition"] = "close"
    return docs


def forge_facts(docs: list[dict]) -> list[dict]:
    """Other facts, and the outcome the rules really give on them: a consistent forgery."""
    i = first_standalone_decision(docs)
    body = docs[i]["body"]
    facts = {**body["facts"], "category": "service_quality"}
    document = next(
        d["body"]["ruleset"]
        for d in docs
        if d["kind"] == "policy" and d["body"]["policy_version"] == body["policy_version"]
    )
    again = rules.evaluate_ruleset(document, facts, body["as_of"])
    body |= {
        "facts": facts,
        "outcome": msgspec.to_builtins(again.outcome),
        "reasons": msgspec.to_builtins(again.reasons),
    }
    return docs


def reorder(docs: list[dict]) -> list[dict]:
    i = first_standalone_decision(docs)
    docs[i], docs[i + 1] = docs[i + 1], docs[i]
    return docs


def insert(docs: list[dict]) -> list[dict]:
    i = first_standalone_decision(docs)
    extra = json.loads(json.dumps(docs[i]))
    extra["body"]["decision_id"] = "00000000-0000-4000-8000-000000000000"
    return [*docs[: i + 1], extra, *docs[i + 1 :]]


def delete(docs: list[dict]) -> list[dict]:
    i = first_standalone_decision(docs)
    return [*docs[:i], *docs[i + 1 :]]


def edit_policy(docs: list[dict]) -> list[dict]:
    i = next(i for i, d in enumerate(docs) if d["kind"] == "policy")
    docs[i]["body"]["ruleset"]["forged"] = True
    return docs


REWRITES = [edit_outcome, forge_facts, reorder, insert, delete, edit_policy]


@pytest.mark.parametrize("edit", REWRITES, ids=lambda f: f.__name__)
def test_a_rewrite_re_signed_with_the_logs_key_is_detected(campaign, copy, edit):
    changed = rewrite(copy, edit)
    # What the log's key alone vouches for now passes: only the witness can tell.
    assert main(["verify", "--data-dir", str(copy)]) == 0
    code, out = verify(campaign, "--data-dir", str(copy))
    assert code == 1, out
    assert "not yet covered" in out
    first = int(out.split("entries ", 1)[1].split("..", 1)[0])
    assert first <= changed  # the uncovered range starts at or before the first change
    # Without --strict the uncovered entries are reported, and the witness's word catches it.
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert "not yet covered" in out
    code, out = verify(
        campaign, "--data-dir", str(copy), "--witness-url", campaign.witness.url, strict=False
    )
    assert code == 1, out
    assert "does not extend" in out or "covers" in out


def test_a_rewrite_that_keeps_the_cosigned_checkpoint_is_detected_without_strict(campaign, copy):
    """An attacker who leaves the cosigned checkpoints in place is contradicted by them."""
    db = copy / DB_FILE
    with sqlite3.connect(db) as conn:
        kept = conn.execute("SELECT tree_size, root_hash, note FROM checkpoints").fetchall()
    rewrite(copy, edit_outcome)
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT OR REPLACE INTO checkpoints (tree_size, root_hash, note, signed_at) "
            "VALUES (?, ?, ?, 'x')",
            kept,
        )
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out
    assert "no longer hash to its signed root" in out


def test_deleting_every_checkpoint_is_detected(campaign, copy):
    sql(copy, "DELETE FROM checkpoints")
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out
    assert "no signed checkpoint" in out
    assert main(["verify", "--data-dir", str(copy)]) == 1  # even with no witness key


def test_re_signing_every_checkpoint_without_cosignatures_is_detected(campaign, copy):
    rewrite(copy, lambda docs: docs)
    sql(copy, "DELETE FROM checkpoints WHERE note LIKE ?", COSIGNED_PATTERN)
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out
    assert "no checkpoint carries 1 valid cosignature" in out


def test_dropping_the_last_ten_entries_with_their_nodes_and_checkpoints(campaign, copy):
    count = len(documents(copy / DB_FILE))
    rewrite(copy, lambda docs: docs[:-10])
    code, out = verify(campaign, "--data-dir", str(copy))
    assert code == 1, out
    assert "not yet covered" in out
    code, out = verify(
        campaign, "--data-dir", str(copy), "--witness-url", campaign.witness.url, strict=False
    )
    assert code == 1, out
    assert f"covers {count} entries but only {count - 10} remain" in out


# -- the tables the API answers from ----------------------------------------------------------


def test_pointing_the_id_index_at_another_decision(campaign, copy):
    docs = documents(copy / DB_FILE)
    a = first_standalone_decision(docs)
    b = first_standalone_decision(docs, a + 1)
    victim = docs[a]["body"]["decision_id"]
    sql(copy, "UPDATE entries SET ref = 'moved' WHERE idx = ?", a)
    sql(copy, "UPDATE entries SET ref = ? WHERE idx = ?", victim, b)
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out
    assert f"finds entry {a} by 'moved'" in out


def test_the_api_never_serves_another_entry_for_a_decision_id(campaign, copy):
    from ledger.store import IndexDamaged, Ledger

    docs = documents(copy / DB_FILE)
    a = first_standalone_decision(docs)
    b = first_standalone_decision(docs, a + 1)
    victim = docs[a]["body"]["decision_id"]
    sql(copy, "UPDATE entries SET ref = 'moved' WHERE idx = ?", a)
    sql(copy, "UPDATE entries SET ref = ? WHERE idx = ?", victim, b)
    ledger = Ledger.open(copy)
    try:
        with pytest.raises(IndexDamaged):
            ledger.decision(victim)
    finally:
        ledger.close()


def test_editing_case_facts(campaign, copy):
    sql(
        copy,
        "UPDATE cases SET facts = json_set(facts, '$.category', 'service') "
        "WHERE case_id = (SELECT MIN(case_id) FROM cases)",
    )
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out
    assert "disagree on its facts" in out


@pytest.mark.parametrize(
    "change",
    [
        "due = '2030-01-01'",
        # What the overdue listings read: when the due passes, when the row stopped pending.
        "passes_at = '2030-01-01T00:00:00Z'",
        "ends_at = '2020-01-01T00:00:00Z'",
        "dropped_at = '2020-01-01T00:00:00Z', ends_at = '2020-01-01T00:00:00Z'",
        # A time it was not listed: the overdue listing would leave it out then.
        """gaps = '[["2020-01-01T00:00:00.000000Z", "2030-01-01T00:00:00.000000Z"]]'""",
    ],
)
def test_editing_a_case_register(campaign, copy, change):
    sql(
        copy,
        f"UPDATE case_obligations SET {change} "
        "WHERE case_id = (SELECT MIN(case_id) FROM case_obligations)",
    )
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out
    assert "obligation register" in out


@pytest.mark.parametrize("place", ["'[]'", "9223372036854775807", "X'00ff'", "1.5"])
def test_a_case_decisions_last_place_edited(campaign, copy, place):
    """Found by a probe damaging one cell at a time: the last decision of a case given a place
    (`seq`) the service never numbers it with still sorted last, so `verify` said ok, and the
    next event, numbered by the count, was then listed before it. The service numbers a case's
    decisions 0, 1, 2…: any other places are named."""
    sql(
        copy,
        f"UPDATE case_decisions SET seq = {place} WHERE rowid = (SELECT rowid FROM case_decisions"
        " WHERE case_id = (SELECT MIN(case_id) FROM case_decisions) ORDER BY seq DESC LIMIT 1)",
    )
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out
    assert out.startswith("case ") and "places (seq) are not 0, 1, 2" in out, out


def test_a_register_row_stored_before_schema_7_is_read_as_then(campaign, copy):
    """Rows stored before schema 7 keep no end: they are read from their status, as then,
    until `redress cases rebuild` (README), and `verify` does not call that damage."""
    sql(copy, "UPDATE case_obligations SET dropped_at = NULL, ends_at = NULL")
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 0, out


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("stage = 'stage_3'", "its stage"),
        ('route = \'{"role":"director","assignee":null}\'', "its route"),
        ("route = 'director'", "its route"),
        ("purpose = 'test'", "its purpose"),
        ("personal = 'erased'", "its personal data"),
        ("latest_decision_id = 'x'", "its latest decision"),
        ("opened_at = '2020-01-01T00:00:00.000000Z'", "its opened at"),
    ],
)
def test_editing_what_a_case_listing_shows(campaign, copy, change, named):
    """`GET /v1/cases` answers with the case row's stage, route, purpose and `opened_at`, and
    the personal data's state: each is what the case's decisions (and erasures) in the ledger
    say (a case is opened when its first decision is recorded)."""
    sql(copy, f"UPDATE cases SET {change} WHERE case_id = (SELECT MIN(case_id) FROM cases)")
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out
    assert named in out


def test_renaming_a_key(campaign, copy):
    """A key's name decides whose cases' personal data it reads (the cases its name opened):
    renamed, another client system's key would read them. The name is in its `create` entry."""
    sql(copy, "UPDATE api_keys SET name = 'crm' WHERE key_id = (SELECT MIN(key_id) FROM api_keys)")
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out
    assert "is named 'crm'; the ledger recorded" in out


@pytest.mark.parametrize(("column", "what"), [("created_at", "created"), ("revoked_at", "revoked")])
def test_redating_a_key(campaign, copy, column, what):
    """`GET /v1/keys` and `redress keys list` say when a key was made and revoked: the times
    its `create` and `revoke` entries were recorded, which an operator cannot move."""
    when = "2020-01-01T00:00:00.000000Z"
    sql(
        copy,
        f"UPDATE api_keys SET {column} = '{when}' WHERE key_id = (SELECT MIN(key_id) FROM"
        f" api_keys WHERE {column} IS NOT NULL)",
    )
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out
    assert f"is dated {what} {when}; the ledger recorded it at 20" in out


def test_adding_an_unrecorded_admin_key(campaign, copy):
    sql(
        copy,
        "INSERT INTO api_keys (key_hash, role, key_id, name, created_at) "
        "VALUES ('x', 'admin', 'key_intruder', 'x', '2026-12-05T00:00:00Z')",
    )
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out
    assert "key_intruder (admin) was never recorded" in out
    # Starting the server does not record it for the intruder (only a ledger with no key
    # entry yet, written before they existed, has keys to record so).
    from keys import bootstrap_admin

    bootstrap_admin(copy)
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1 and "key_intruder (admin) was never recorded" in out, out


# -- exports ------------------------------------------------------------------------------------


@pytest.fixture
def exported(copy: Path, tmp_path: Path) -> Path:
    out = tmp_path / "ledger.jsonl"
    assert main(["export", "--data-dir", str(copy), "--out", str(out)]) == 0
    return out


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def test_an_export_verifies_and_ends_with_a_covering_checkpoint(campaign, exported):
    code, out = verify(campaign, "--export", str(exported), strict=False)
    assert code == 0, out
    last = json.loads(lines_of(exported)[-1])
    entries = sum(1 for line in lines_of(exported) if '"type":"entry"' in line)
    assert last["type"] == "checkpoint" and last["tree_size"] == entries
    assert main(["replay", "--export", str(exported)]) == 0


def test_an_export_with_its_checkpoints_stripped(campaign, exported):
    kept = [line for line in lines_of(exported) if '"type":"checkpoint"' not in line]
    exported.write_text("".join(kept))
    code, out = verify(campaign, "--export", str(exported))
    assert code == 1, out
    assert "0 of" in out and "entries covered" in out


@pytest.mark.parametrize("cut", [1, 5, 40])
def test_a_truncated_export(campaign, exported, cut):
    exported.write_text("".join(lines_of(exported)[:-cut]))
    code, out = verify(campaign, "--export", str(exported), strict=False)
    assert code == 1, out


def test_an_export_with_an_edited_entry(campaign, exported):
    lines = lines_of(exported)
    i = next(i for i, line in enumerate(lines) if '"disposition":"accept"' in line and i > 100)
    lines[i] = lines[i].replace('"disposition":"accept"', '"disposition":"close"')
    exported.write_text("".join(lines))
    code, out = verify(campaign, "--export", str(exported), strict=False)
    assert code == 1, out


def test_an_export_of_a_rewritten_ledger(campaign, copy, tmp_path):
    rewrite(copy, edit_outcome)
    out_file = tmp_path / "rewritten.jsonl"
    export(copy / DB_FILE, out_file)
    code, out = verify(campaign, "--export", str(out_file))
    assert code == 1, out
    code, out = verify(
        campaign, "--export", str(out_file), "--witness-url", campaign.witness.url, strict=False
    )
    assert code == 1, out


# -- receipts -----------------------------------------------------------------------------------


@pytest.fixture
def receipt(campaign: Campaign, copy: Path, tmp_path: Path) -> Path:
    path = tmp_path / "receipt.txt"
    path.write_text(receipt_text(copy, 150, witnessed=True))
    (tmp_path / PUBLIC_KEY_FILE).write_text(campaign.log_vkey + "\n")
    return path


def receipt_text(data: Path, index: int, witnessed: bool) -> str:
    """The receipt the store in `data` gives for entry `index` (against the latest cosigned
    checkpoint covering it when `witnessed`, else the latest signed one)."""
    from ledger.store import Ledger

    ledger = Ledger.open(data, auto_checkpoint=False)
    ledger.witnessed = witnessed
    try:
        return ledger.receipt(index)
    finally:
        ledger.close()


def test_a_receipt_verifies_with_the_witness(campaign, receipt):
    code, out = verify(campaign, "--receipt", str(receipt))
    assert code == 0, out
    assert "cosigned by" in out


@pytest.mark.parametrize(
    "damage",
    [
        lambda t: t.replace("index 150\n", "index 151\n", 1),
        lambda t: t.replace("extra ", "extra A", 1),
        lambda t: t[: t.rindex("\u2014")],  # every cosignature and the log's signature cut
    ],
    ids=["index", "entry", "signatures"],
)
def test_a_tampered_receipt_is_rejected(campaign, receipt, damage):
    receipt.write_text(damage(receipt.read_text()))
    code, out = verify(campaign, "--receipt", str(receipt))
    assert code == 1, out


def test_a_receipt_against_a_garbage_or_other_checkpoint(campaign, receipt, copy, tmp_path):
    kept = tmp_path / "kept.txt"
    kept.write_text("garbage\n")
    code, out = verify(campaign, "--receipt", str(receipt), "--checkpoint", str(kept))
    assert code == 1, out
    with sqlite3.connect(copy / DB_FILE) as conn:
        older = conn.execute("SELECT note FROM checkpoints ORDER BY tree_size LIMIT 1").fetchone()
    kept.write_text(older[0])
    code, out = verify(campaign, "--receipt", str(receipt), "--checkpoint", str(kept))
    assert code == 1, out
    assert "not the receipt's tree" in out


def test_a_receipt_from_a_rewritten_log_of_the_same_size_fails_against_the_witness(
    campaign, copy, tmp_path
):
    """Split view: a log re-signed with its own key shows this receipt a tree of the size the
    witness cosigned, with another root. Without the witness's keys (no quorum asked), asking
    the witness (`--witness-url`) catches it; it passed before."""
    from redress.cli import main

    rewrite(copy, edit_outcome)
    receipt = tmp_path / "split.txt"
    receipt.write_text(receipt_text(copy, 150, witnessed=False))
    public_key = tmp_path / "log.vkey"
    public_key.write_text(campaign.log_vkey + "\n")
    args = ["verify", "--receipt", str(receipt), "--public-key", str(public_key)]
    assert main(args) == 0  # on its own, a receipt cannot tell
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*args, "--witness-url", campaign.witness.url])
    assert code == 1 and "two different histories" in out.getvalue(), out.getvalue()


def test_the_api_answers_503_not_another_decision(campaign, copy):
    """A decision looked up by id is checked to be that decision: a pointed-away index gives
    a problem (503), never the other entry's bytes."""
    from litestar.testing import TestClient
    from witnessed import ADMIN_KEY

    from api.app import create_app

    docs = documents(copy / DB_FILE)
    a = first_standalone_decision(docs)
    b = first_standalone_decision(docs, a + 1)
    victim = docs[a]["body"]["decision_id"]
    sql(copy, "UPDATE entries SET ref = 'moved' WHERE idx = ?", a)
    sql(copy, "UPDATE entries SET ref = ? WHERE idx = ?", victim, b)
    with TestClient(create_app(copy)) as client:
        answer = client.get(
            f"/v1/decisions/{victim}", headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        )
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert docs[b]["body"]["decision_id"] not in answer.text


def test_export_cosigned_ends_with_a_cosigned_checkpoint(campaign, copy, tmp_path):
    """`export --cosigned` stops at what the witnesses cosigned: `verify --strict` passes."""
    from ledger.store import Ledger

    ledger = Ledger.open(copy)
    ledger.append("erasure", {"case_id": "not-yet-cosigned", "commitments": []})
    ledger.close()
    out = tmp_path / "cosigned.jsonl"
    assert main(["export", "--data-dir", str(copy), "--out", str(out), "--cosigned"]) == 0
    code, text = verify(campaign, "--export", str(out))
    assert code == 0, text
    assert "not-yet-cosigned" not in out.read_text()


def test_a_whole_new_log_key_is_detected_by_the_witness_alone(campaign, copy):
    """The attacker replaces the signing key, the genesis entry and public.key, and re-signs
    everything: without a pinned key the log vouches for itself, but the witness cosigned
    nothing under that key."""
    new = Signer.generate(ORIGIN)
    (copy / SIGNING_KEY_FILE).unlink()
    (copy / SIGNING_KEY_FILE).write_bytes(new.private_bytes())
    (copy / PUBLIC_KEY_FILE).write_text(new.verifier_key + "\n")

    def swap(docs: list[dict]) -> list[dict]:
        docs[0]["body"]["verifier_key"] = new.verifier_key
        return docs

    assert rewrite(copy, swap) == 0  # every old checkpoint dropped, one new one signed
    assert main(["verify", "--data-dir", str(copy)]) == 0  # self-consistent
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out
    assert "no checkpoint carries 1 valid cosignature" in out


def test_a_receipt_with_its_cosignature_cut(campaign, receipt):
    text = receipt.read_text()
    lines = text.split("\n")
    cosigned = [i for i, line in enumerate(lines) if line.startswith("\u2014 audit.example")]
    assert cosigned
    receipt.write_text("\n".join(line for i, line in enumerate(lines) if i not in cosigned))
    assert main(["verify", "--receipt", str(receipt)]) == 0  # the log's signature still holds
    code, out = verify(campaign, "--receipt", str(receipt))
    assert code == 1, out
    assert "0 valid cosignature" in out


def test_a_forged_cosignature_by_the_trusted_witness(campaign, copy):
    """signed-note: a line whose name and key ID match a trusted key but whose signature does
    not verify rejects the note."""
    with sqlite3.connect(copy / DB_FILE) as conn:
        size, note = conn.execute(
            "SELECT tree_size, note FROM checkpoints WHERE note LIKE ? ORDER BY tree_size DESC",
            (COSIGNED_PATTERN,),
        ).fetchone()
        line = next(x for x in note.split("\n") if x.startswith("\u2014 audit.example"))
        encoded = line.rsplit(" ", 1)[1]
        forged = encoded[:-6] + ("AAAAAA" if not encoded.endswith("AAAAAA") else "BBBBBB")
        conn.execute(
            "UPDATE checkpoints SET note = ? WHERE tree_size = ?",
            (note.replace(encoded, forged), size),
        )
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out
    assert "cosignature does not verify" in out


# -- what the auditor brings: keys and witnesses that must not stand for nothing ----------------


def test_an_empty_public_key_file_is_refused_not_read_as_no_key(campaign, copy, tmp_path):
    """CONTRACT.md: "`verify` never trusts anything but entry bytes, the public key and
    checkpoints". An empty key file (a failed download) must not make `verify` fall back to
    the key the ledger names itself: it is refused, as an unreadable or binary one is."""
    empty, binary = tmp_path / "empty.vkey", tmp_path / "raw.vkey"
    empty.write_text("\n")
    binary.write_bytes(bytes(range(128, 160)))
    for key, said in (
        (empty, "is empty"),
        (binary, "not text"),
        (tmp_path / "none", "No such file"),
    ):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(["verify", "--data-dir", str(copy), "--public-key", str(key)])
        assert code == 2 and "--public-key" in err.getvalue() and said in err.getvalue()


def test_a_witness_that_cosigned_nothing_of_this_log_cannot_vouch_for_it(campaign, copy):
    """README: "`--witness-url` asks the witness what it last cosigned, so a rollback fails".
    A URL where no witness answers for this log (a wrong path: 404) fails verification rather
    than silently skipping the rollback check, `--strict` or not."""
    rolled_back_to = 120
    sql(copy, "DELETE FROM entries WHERE idx >= ?", rolled_back_to)
    sql(copy, "DELETE FROM checkpoints WHERE tree_size > ?", rolled_back_to)
    wrong = f"{campaign.witness.url}/not-the-witness"
    for strict in (True, False):
        code, out = verify(campaign, "--data-dir", str(copy), "--witness-url", wrong, strict=strict)
        assert code == 1 and "has cosigned no checkpoint of this log" in out, out


def test_a_witness_answer_without_its_cosignature_is_not_its_word(campaign, copy, tmp_path):
    """What a `--witness-url` answers must carry a cosignature by a witness key given: a
    checkpoint the log signed alone (someone between the auditor and the witness, say) does
    not count as the witness's checkpoint."""
    import http.server
    import threading

    with sqlite3.connect(copy / DB_FILE) as conn:
        (note,) = conn.execute("SELECT note FROM checkpoints ORDER BY tree_size DESC").fetchone()
    log_signed_only = "\n".join(
        line for line in note.split("\n") if not line.startswith("— ") or ORIGIN in line
    )

    class Impostor(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(log_signed_only.encode())

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Impostor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        code, out = verify(campaign, "--data-dir", str(copy), "--witness-url", url, strict=False)
    finally:
        server.shutdown()
    assert code == 1 and "carries no cosignature by a witness key given" in out, out


def test_witness_keys_given_twice_or_a_quorum_of_none_are_said_plainly(campaign, copy):
    """Each witness counts once towards a quorum, so a key given twice is refused as such
    (not as an unwitnessed ledger); a quorum of 0 asks for no cosignature and says so."""
    err = io.StringIO()
    twice = ["--witness-key", campaign.witness.vkey] * 2
    with contextlib.redirect_stderr(err):
        code = main(["verify", "--data-dir", str(copy), *twice, "--quorum", "2"])
    assert code == 2 and "given twice" in err.getvalue()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["verify", "--data-dir", str(copy), *twice[:2], "--quorum", "0", "--strict"])
    assert code == 0 and "covered by the newest signed checkpoint" in out.getvalue()
    assert "cosigned by ;" not in out.getvalue()


def test_only_a_receipt_is_checked_as_a_receipt(campaign, copy, tmp_path):
    """`verify --receipt FILE` proves one decision's inclusion: an export (a whole ledger that
    names its own key) or a store handed over as a receipt is refused for what it is, never
    checked as a ledger and passed; so is a receipt whose lines end in CR LF (C2SP tlog-proof
    lines end in LF)."""
    exported = tmp_path / "ledger.jsonl"
    export(copy / DB_FILE, exported)
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(receipt_text(copy, 150, witnessed=True).replace("\n", "\r\n").encode())
    for path, said in (
        (exported, "is not a receipt"),
        (copy / DB_FILE, "is not a receipt"),
        (crlf, "CR LF"),
    ):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(["verify", "--receipt", str(path)])
        assert code == 2 and said in err.getvalue(), err.getvalue()


@pytest.mark.parametrize("how", ["swapped", "repeated"])
def test_an_export_whose_checkpoints_are_out_of_order_or_repeated_is_refused(
    campaign, copy, tmp_path, how
):
    """An export's checkpoints come once each, smallest first (`redress export` writes them
    so): two swapped, or one given twice (which counted twice), is refused naming the line, as
    damage (exit 1), not as a failure of `verify` itself (it was exit 2, "no consistency
    proof from size 11 to size 10")."""
    exported = tmp_path / "ledger.jsonl"
    export(copy / DB_FILE, exported)
    lines = exported.read_text().split("\n")
    marks = [n for n, line in enumerate(lines) if line.startswith('{"type":"checkpoint"')]
    last, before = marks[-1], marks[-2]
    if how == "swapped":
        lines[before], lines[last] = lines[last], lines[before]
    else:
        lines.insert(last, lines[last])
    exported.write_text("\n".join(lines))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["verify", "--export", str(exported)])
    assert code == 1 and "an export's checkpoints come once each, smallest first" in out.getvalue()
    second = last + 1 if how == "swapped" else last + 2  # 1-based: the later of the two
    assert f"line {second}:" in out.getvalue(), out.getvalue()


def test_a_write_into_tables_the_ledger_was_cut_back_under_is_503_and_records_nothing(
    campaign, copy
):
    """An operator cuts the ledger back by hand (the last entries and checkpoints deleted) and
    leaves the rows derived from them: the next decision's rows collide with theirs. That is
    a store contradicting itself, answered 503 naming `redress verify`, never a 500, and the
    write is rolled back."""
    from litestar.testing import TestClient
    from witnessed import ADMIN_KEY

    from api.app import create_app

    with sqlite3.connect(copy / DB_FILE) as conn:
        size = conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        cut = size - 5
        conn.execute("DELETE FROM entries WHERE idx >= ?", (cut,))
        conn.execute("DELETE FROM checkpoints WHERE tree_size > ?", (cut,))
        conn.execute("DELETE FROM tree_nodes WHERE (position + 1) << level > ?", (cut,))
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with TestClient(create_app(copy)) as client:
        answer = client.post("/v1/decisions", json=COMPLAINT, headers=admin)
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "redress verify" in answer.json()["detail"]
    with sqlite3.connect(copy / DB_FILE) as conn:
        assert conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == cut


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        ("UPDATE cases SET state = 'Late' WHERE case_id = (SELECT MIN(case_id) FROM cases)",
         "/v1/cases"),
        ("UPDATE cases SET state = 'Late' WHERE case_id = (SELECT MIN(case_id) FROM cases)",
         "/v1/cases/{case}"),
        ("UPDATE cases SET purpose = 'Live' WHERE case_id = (SELECT MIN(case_id) FROM cases)",
         "/v1/cases/{case}"),
        ("UPDATE case_obligations SET due = '2025-13-45' WHERE case_id = (SELECT MIN(case_id)"
         " FROM cases)", "/v1/cases"),
        ("UPDATE case_obligations SET seq = 'x' WHERE case_id = (SELECT MIN(case_id) FROM"
         " cases) AND seq = 0", "/v1/reports/register"),
        ("UPDATE cases SET facts = '{bad' WHERE case_id = (SELECT MIN(case_id) FROM cases)",
         "/v1/cases/{case}"),
        ("UPDATE checkpoints SET note = 'not a note' WHERE tree_size = (SELECT MAX(tree_size)"
         " FROM checkpoints)", "/v1/decisions/{decision}/receipt"),
        ("DELETE FROM tree_nodes WHERE level = 0 AND position = 1", "/v1/ledger/proofs/inclusion"
         "?index=1"),
        ("UPDATE checkpoints SET note = X'DEADBEEF' WHERE tree_size = (SELECT MAX(tree_size)"
         " FROM checkpoints)", "/v1/decisions/{decision}/receipt"),
        ("UPDATE cases SET stage = X'00' WHERE case_id = (SELECT MIN(case_id) FROM cases)",
         "/v1/cases"),
        ("UPDATE decision_counts SET count = 9223372036854775807", "/v1/reports/routing"),
        ("UPDATE api_keys SET role = 'Audit' WHERE role = 'audit'", "/v1/keys"),
        ("UPDATE api_keys SET name = X'00' WHERE role = 'audit'", "/v1/keys"),
    ],
)  # fmt: skip
def test_a_stored_value_that_does_not_fit_what_the_api_serves_is_a_503_naming_verify(
    campaign, copy, edit, path
):
    """A value edited into the store that the answer's shape cannot hold (a case state 'Late',
    a role 'Audit', bytes for a name) was a 500; it is a 503 naming `redress verify`, in the
    API and in the console alike, and `verify` names the store."""
    from litestar.testing import TestClient
    from witnessed import ADMIN_KEY

    from api.app import create_app

    with sqlite3.connect(copy / DB_FILE) as conn:
        conn.execute("PRAGMA ignore_check_constraints = ON")
        assert conn.execute(edit).rowcount >= 1
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with sqlite3.connect(copy / DB_FILE) as conn:
        (case,) = conn.execute("SELECT MIN(case_id) FROM cases").fetchone()
        (decision,) = conn.execute(
            "SELECT ref FROM entries WHERE kind = 'decision' ORDER BY idx DESC LIMIT 1"
        ).fetchone()
    with TestClient(create_app(copy)) as client:
        answer = client.get(path.format(case=case, decision=decision), headers=admin)
        assert answer.status_code == 503, answer.text
        assert "redress verify" in answer.json()["detail"]
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out


# A case opened for the test with personal data, and its first register row ({case}, {row}).
FIRST_ROW = "case_id = '{case}' AND seq = 0"
EVENT = ("POST", "/v1/cases/{case}/events", {"facts": {"stage_two_outcome_at": "2026-12-04"}})


@pytest.mark.parametrize(
    ("edit", "request_"),
    [
        # An entry as bytes that are no JSON: every read of it had answered 500.
        ("UPDATE entries SET entry = X'00ff' WHERE ref = '{decision}'",
         ("GET", "/v1/decisions/{decision}", None)),
        ("UPDATE entries SET entry = X'00ff' WHERE ref = '{decision}'",
         ("GET", "/v1/decisions", None)),
        ("UPDATE entries SET entry = X'00ff' WHERE ref = '{decision}'",
         ("GET", "/v1/ledger/entries?limit=1000", None)),
        # Keys: a page after a cursor, and the listing's next cursor, over values no key has.
        ("UPDATE api_keys SET created_at = X'00ff'", ("GET", "/v1/keys?limit=1&cursor=0_k", None)),
        ("UPDATE api_keys SET key_id = NULL WHERE key_id = (SELECT key_id FROM api_keys ORDER BY"
         " created_at, key_id LIMIT 1 OFFSET 1)", ("GET", "/v1/keys?limit=2", None)),
        # The case's stored facts, commitment and register, read by its next event.
        ("UPDATE cases SET facts = '7' WHERE case_id = '{case}'", EVENT),
        ("UPDATE cases SET facts = '\"a\"' WHERE case_id = '{case}'", EVENT),
        ("UPDATE cases SET personal_commitment = X'00ff' WHERE case_id = '{case}'", EVENT),
        (f"UPDATE case_obligations SET due = NULL WHERE {FIRST_ROW}", EVENT),
        (f"UPDATE case_obligations SET due = 'x' WHERE {FIRST_ROW}", EVENT),
        (f"UPDATE case_obligations SET dropped_at = '\"a\"' WHERE {FIRST_ROW}", EVENT),
        (f"UPDATE case_obligations SET dropped_at = X'00ff' WHERE {FIRST_ROW}", EVENT),
        (f"UPDATE case_obligations SET gaps = '7' WHERE {FIRST_ROW}", EVENT),
        (f"UPDATE case_obligations SET gaps = 'x' WHERE {FIRST_ROW}", ("GET", "/v1/cases", None)),
        ("UPDATE personal_records SET commitment = X'00ff' WHERE case_id = '{case}'",
         ("DELETE", "/v1/cases/{case}/personal", None)),
        # A decision's entry stored under another index than its own: its receipt was a 500
        # ("no signed checkpoint covers entry -1"), and the decision was served as at -1.
        ("UPDATE entries SET idx = -1 WHERE kind = 'decision' AND ref = '{decision}'",
         ("GET", "/v1/decisions/{decision}/receipt", None)),
        ("UPDATE entries SET idx = -1 WHERE kind = 'decision' AND ref = '{decision}'",
         ("GET", "/v1/decisions/{decision}", None)),
        # Text that is no hash: erasure names each record by it (verify had said ok).
        ("UPDATE personal_records SET commitment = 'x' WHERE case_id = '{case}'",
         ("DELETE", "/v1/cases/{case}/personal", None)),
    ],
)  # fmt: skip
def test_a_request_over_a_stored_value_the_service_never_wrote_is_a_503_naming_verify(
    campaign, copy, edit, request_
):
    """One cell of the store edited to a value of a type or shape the service never writes
    there (found by a probe damaging one cell at a time): each of these requests answered 500,
    or wrote an entry no one could read. Each is a 503 naming `redress verify`, which names
    the store, and a write records nothing."""
    from litestar.testing import TestClient
    from witnessed import ADMIN_KEY

    from api.app import create_app

    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    opening = {**LIVE_COMPLAINT, "personal": {"name": "A. Person"}}
    with TestClient(create_app(copy)) as client:
        case = client.post("/v1/cases", json=opening, headers=admin).json()["case_id"]
        decision = client.get("/v1/decisions?limit=1", headers=admin).json()["items"][0]
        made = client.post("/v1/keys", json={"role": "audit"}, headers=admin)  # a third key
        assert made.status_code == 201, made.text
    places = {"case": case, "decision": decision["decision_id"]}
    with sqlite3.connect(copy / DB_FILE) as conn:
        assert conn.execute(edit.format(**places)).rowcount >= 1
        (size,) = conn.execute("SELECT COUNT(*) FROM entries").fetchone()
    method, path, body = request_
    with TestClient(create_app(copy)) as client:
        answer = client.request(method, path.format(**places), json=body, headers=admin)
        assert answer.status_code == 503, answer.text
        assert "redress verify" in answer.json()["detail"]
    with sqlite3.connect(copy / DB_FILE) as conn:
        assert conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == size
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out


def test_a_key_kept_claimed_with_no_answer_is_a_503_naming_verify(campaign, copy):
    """The service keeps an `Idempotency-Key`'s claim and its answer in one transaction; a
    claim left with no answer by other hands had the retry wait, then answer 500."""
    from litestar.testing import TestClient
    from witnessed import ADMIN_KEY

    from api.app import create_app

    once = {"Authorization": f"Bearer {ADMIN_KEY}", "Idempotency-Key": "retry-1"}
    with TestClient(create_app(copy)) as client:
        assert client.post("/v1/decisions", json=COMPLAINT, headers=once).status_code == 201
    with sqlite3.connect(copy / DB_FILE) as conn:
        assert conn.execute("UPDATE idempotency SET status = 0 WHERE key = 'retry-1'").rowcount
        (size,) = conn.execute("SELECT COUNT(*) FROM entries").fetchone()
    with TestClient(create_app(copy)) as client:
        again = client.post("/v1/decisions", json=COMPLAINT, headers=once)
        assert again.status_code == 503 and "redress verify" in again.text, again.text
    with sqlite3.connect(copy / DB_FILE) as conn:
        assert conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == size
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out


@pytest.mark.parametrize("column", ["route", "stage", "disposition"])
def test_the_routing_chart_over_bytes_in_the_day_counts_is_a_503_naming_verify(
    campaign, copy, column
):
    """The console's routing chart joined the counted route, stage and disposition as text:
    bytes there had the page answer 500."""
    from litestar.testing import TestClient
    from witnessed import ADMIN_KEY

    from api.app import create_app

    with sqlite3.connect(copy / DB_FILE) as conn:
        edit = f"UPDATE decision_counts SET {column} = X'00ff' WHERE rowid = (SELECT MIN(rowid)"
        assert conn.execute(edit + " FROM decision_counts)").rowcount == 1
    with TestClient(create_app(copy)) as client:
        signed = client.post("/console/sign-in", data={"key": ADMIN_KEY}, follow_redirects=False)
        assert signed.status_code == 303, signed.text
        page = client.get("/console/reports?name=routing", headers={"Accept": "text/html"})
        assert page.status_code == 503 and "redress verify" in page.text, page.text
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out


@pytest.mark.parametrize(
    ("edit", "page"),
    [
        ("UPDATE decision_counts SET as_of_day = '2025-13-45' WHERE rowid = (SELECT MIN(rowid)"
         " FROM decision_counts)", "/console"),
        ("UPDATE decision_counts SET as_of_day = 7 WHERE rowid = (SELECT MIN(rowid)"
         " FROM decision_counts)", "/console"),
    ],
)  # fmt: skip
def test_a_console_page_over_stored_values_the_service_never_wrote_is_a_503_naming_verify(
    campaign, copy, edit, page
):
    """A day that is no date in the day counts: the console's overview said only "Server
    error" (500); it says 503 and names `redress verify`, which names the store."""
    from litestar.testing import TestClient
    from witnessed import ADMIN_KEY

    from api.app import create_app

    with sqlite3.connect(copy / DB_FILE) as conn:
        assert conn.execute(edit).rowcount >= 1
        (case,) = conn.execute("SELECT MIN(case_id) FROM cases").fetchone()
    with TestClient(create_app(copy)) as client:
        signed = client.post("/console/sign-in", data={"key": ADMIN_KEY}, follow_redirects=False)
        assert signed.status_code == 303, signed.text
        answer = client.get(page.format(case=case), headers={"Accept": "text/html"})
        assert answer.status_code == 503 and "redress verify" in answer.text, answer.text
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out


@pytest.mark.parametrize(
    "change",
    [
        "idx = 9223372036854775807",
        # Bytes had every write answer 500; text that is no hash had the next decision answered
        # 201 with an entry that is no JSON, which every listing then answered 500.
        "entry_hash = X'00ff'",
        "entry_hash = '\"a\"'",
    ],
)
def test_serve_refuses_a_store_whose_tail_cannot_be_read_and_says_to_run_verify(
    campaign, copy, change
):
    """The last entry's index edited past 2^62, or its hash into no hash: the writer cannot
    load the tail (a traceback from `redress serve` before); serve refuses with one line naming
    `redress verify`, which names the damage."""
    with sqlite3.connect(copy / DB_FILE) as conn:
        conn.execute(f"UPDATE entries SET {change} WHERE idx = (SELECT MAX(idx) FROM entries)")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["serve", "--data-dir", str(copy), "--port", str(free_port())])
    assert code == 2, err.getvalue()
    assert "cannot be opened" in err.getvalue() and "redress verify" in err.getvalue()
    assert "Traceback" not in err.getvalue()
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out


def test_the_console_shows_a_decision_whose_entry_is_no_longer_bytes_as_a_503_naming_verify(
    campaign, copy
):
    """An entry edited into text: the API answers its decision 503 naming `redress verify`;
    the console's page of it said only "Server error" (500)."""
    from litestar.testing import TestClient
    from witnessed import ADMIN_KEY

    from api.app import create_app

    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with TestClient(create_app(copy)) as client:
        decision_id = client.get("/v1/decisions?limit=1", headers=admin).json()["items"][0][
            "decision_id"
        ]
    with sqlite3.connect(copy / DB_FILE) as conn:
        assert conn.execute("UPDATE entries SET entry = '' WHERE ref = ?", (decision_id,)).rowcount
    with TestClient(create_app(copy)) as client:
        assert client.get(f"/v1/decisions/{decision_id}", headers=admin).status_code == 503
        signed = client.post("/console/sign-in", data={"key": ADMIN_KEY})
        assert signed.status_code == 200, signed.text
        page = client.get(f"/console/decisions/{decision_id}", headers={"Accept": "text/html"})
        assert page.status_code == 503 and "redress verify" in page.text, page.text


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        ("UPDATE api_keys SET key_id = X'00ff' WHERE role = 'audit'", "in the API key table"),
        ("UPDATE decision_counts SET count = 'many'", "in the decision index"),
    ],
)
def test_a_value_of_a_type_the_service_never_writes_is_named_not_a_traceback(
    campaign, copy, edit, named
):
    """A NULL where the service writes text, text where it writes bytes: `verify` names the
    table (exit 1), as it names any other damage there; it stopped with a TypeError."""
    with sqlite3.connect(copy / DB_FILE) as conn:
        conn.execute(edit)
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1 and named in out, out


# -- tables rebuilt without their keys, and values of types the service never writes ----------


@pytest.mark.parametrize(
    ("table", "duplicate"),
    [
        # Routing would count a day's decisions twice; a case would be listed twice (an open
        # one also among the closed); a proof would carry a node the tree does not have.
        ("decision_counts", "INSERT INTO decision_counts SELECT * FROM decision_counts LIMIT 1"),
        (
            "cases",
            "INSERT INTO cases SELECT * FROM cases WHERE case_id = (SELECT MIN(case_id)"
            " FROM cases)",
        ),
        ("tree_nodes", "INSERT INTO tree_nodes VALUES (0, 0, zeroblob(32))"),
    ],
)
def test_a_table_rebuilt_without_its_key_and_a_row_there_twice(campaign, copy, table, duplicate):
    """Every check reads a table by its key: a table rebuilt without it (which SQLite allows)
    could hold a row twice, every row right alone, or again under a key of another type (bytes
    where the service's `INTEGER PRIMARY KEY` holds integers only). `verify` holds each table
    to the columns the service declares, then to the unique keys its schema declares
    (`store.schema.UNIQUE_KEYS`)."""
    with sqlite3.connect(copy / DB_FILE) as conn:
        conn.executescript(
            f"ALTER TABLE {table} RENAME TO old; CREATE TABLE {table} AS SELECT * FROM old;"
            f" DROP TABLE old; {duplicate}"
        )
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out
    assert out.startswith(f"table {table} is not declared as the service declares it"), out


@pytest.mark.parametrize(
    "change",
    [
        # The unique index dropped: a decision's row twice under one id.
        "DROP INDEX decision_index_id",
        # Kept, but for every row but one (a partial index), or over an expression.
        "DROP INDEX decision_index_id; CREATE UNIQUE INDEX x ON decision_index (decision_id)"
        " WHERE idx <> 3",
        "DROP INDEX decision_index_id; CREATE UNIQUE INDEX x ON decision_index (decision_id || '')",
    ],
)
def test_a_unique_key_no_longer_kept(campaign, copy, change):
    with sqlite3.connect(copy / DB_FILE) as conn:
        conn.executescript(change)
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out
    assert out.startswith("table decision_index no longer keeps (decision_id) unique"), out


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        ("UPDATE entries SET entry = 5 WHERE idx = 3", "int"),
        # 10**9 zero bytes, had it been taken for a length: named, not a gigabyte allocated.
        ("UPDATE tree_nodes SET hash = 1000000000 WHERE level = 1 AND position = 0", "int"),
        (
            "UPDATE checkpoints SET note = X'00ff' WHERE tree_size = (SELECT MAX(tree_size) FROM"
            " checkpoints)",
            "",
        ),  # fmt: skip
        ("UPDATE entries SET entry = 'text' WHERE idx = 4", "entry 4"),  # fmt: skip
        (
            "UPDATE entries SET idx = 9223372036854775807 WHERE idx = (SELECT MAX(idx) FROM"
            " entries)",
            "",
        ),  # fmt: skip
    ],
)
def test_a_value_of_a_type_the_service_never_writes(campaign, copy, edit, named):
    """An operator's edit may put anything in any column: `verify` names what it cannot read
    and exits 1, never a traceback."""
    sql(copy, edit)
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1, out
    assert "Traceback" not in out and named in out, out


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [("entry", "index", "3"), ("entry", "entry_hash", 5), ("checkpoint", "checkpoint", None)],
)
def test_an_export_with_a_value_of_another_type(campaign, exported, kind, field, value):
    """An export is as untrusted as a store: a value of another type is named, exit 1."""
    lines = lines_of(exported)
    at = next(i for i, line in enumerate(lines) if f'"type":"{kind}"' in line and i > 3)
    document = json.loads(lines[at])
    if field == "index":
        document["entry"]["index"] = value
    else:
        document[field] = value
    lines[at] = json.dumps(document, separators=(",", ":")) + "\n"
    exported.write_text("".join(lines))
    code, out = verify(campaign, "--export", str(exported), strict=False)
    assert code == 1, out


def test_an_export_nested_deeper_than_any_entry(campaign, exported):
    exported.write_text(exported.read_text() + "[" * 100_000 + "\n")
    code, out = verify(campaign, "--export", str(exported), strict=False)
    assert code == 1, out


@pytest.mark.parametrize(
    ("line", "before", "after", "named"),
    [
        (0, '"format":1', '"format":2', "format"),
        (0, '"format":1', '"format":NaN', "NaN"),
        (0, '"format":1', '"format":1e400', "1e400"),
        (2, "\n", "\r\n", "CR LF"),
        (2, '{"type":"entry",', '{"type":"entry","x":1,', "more: x"),
    ],
)
def test_an_export_not_as_redress_writes_one(campaign, exported, line, before, after, named):
    """An export's header says its format (1, which this verifier reads); its lines end in LF
    and hold the members `redress export` writes, in JSON (no NaN, no infinite number)."""
    lines = lines_of(exported)
    assert before in lines[line]
    lines[line] = lines[line].replace(before, after, 1)
    exported.write_text("".join(lines))
    code, out = verify(campaign, "--export", str(exported), strict=False)
    assert code == 1 and named in out, out


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        ("UPDATE cases SET reference = X'78' WHERE case_id = (SELECT MIN(case_id) FROM cases)",
         "cases"),
        ("UPDATE cases SET complainant = X'00ff' WHERE case_id = (SELECT MIN(case_id) FROM cases)",
         "cases"),
        ("UPDATE checkpoints SET signed_at = X'00' WHERE tree_size = (SELECT MIN(tree_size) FROM"
         " checkpoints)", "checkpoints"),
        # A key with no hash had every request answer 500 (the keys are matched together).
        ("UPDATE api_keys SET key_hash = NULL WHERE key_id = (SELECT MIN(key_id) FROM api_keys)",
         "api_keys"),
        # Every write to the case had answered 500 (its version is compared and added to).
        ("UPDATE cases SET version = 'x' WHERE case_id = (SELECT MIN(case_id) FROM cases)",
         "cases"),
        # The service starts a case's version at 1 and adds 1 a write: at the column's largest,
        # every write to the case failed.
        ("UPDATE cases SET version = 0 WHERE case_id = (SELECT MIN(case_id) FROM cases)",
         "cases"),
        ("UPDATE cases SET version = 9223372036854775807 WHERE case_id = (SELECT MIN(case_id)"
         " FROM cases)", "cases"),
        # The register report had answered 500 (it orders a case's obligations by seq).
        ("UPDATE case_obligations SET seq = 'x' || seq WHERE case_id = (SELECT MIN(case_id) FROM"
         " case_obligations)", "case_obligations"),
        # The listing of cases overdue on a day had answered 500 ('' is no JSON).
        ("UPDATE case_obligations SET gaps = '' WHERE case_id = (SELECT MIN(case_id) FROM"
         " case_obligations)", "case_obligations"),
        ("UPDATE case_obligations SET gaps = '[]' WHERE case_id = (SELECT MIN(case_id) FROM"
         " case_obligations)", "case_obligations"),
        ("UPDATE case_obligations SET gaps = X'5b5d' WHERE case_id = (SELECT MIN(case_id) FROM"
         " case_obligations)", "case_obligations"),
    ],
)  # fmt: skip
def test_a_value_the_ledger_does_not_hold_of_another_type(campaign, copy, edit, named):
    """A case's `reference` and `complainant` are not in the ledger, but the API answers with
    the first and the repeat-complainers report groups by the second: a value of a type the
    service never writes there (bytes served as text, or that the report failed on) is named
    (a number in a text column is stored as text: it is text). So is a value its writes or
    reports read as a number, or its listing of overdue cases as a JSON list, that is none, and
    a key with no hash."""
    sql(copy, edit)
    code, out = verify(campaign, "--data-dir", str(copy), strict=False)
    assert code == 1 and out.startswith(f"table {named} holds, in "), out


def test_an_export_of_another_origin(campaign, exported):
    lines = lines_of(exported)
    lines[0] = lines[0].replace('"origin":"redress.local/ledger"', '"origin":"evil/ledger"')
    exported.write_text("".join(lines))
    code, out = verify(campaign, "--export", str(exported), strict=False)
    assert code == 1 and "origin" in out, out
