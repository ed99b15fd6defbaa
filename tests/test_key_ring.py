"""The key ring a worker's event loop checks requests against (`KeyRing.caller_async`): answered
from memory, yet a revocation by another process is refused within `REVISION_EVERY_S`, and a
key another process made is found on its first use."""

from __future__ import annotations

import asyncio
import time

from keys import REFRESH_AFTER_S, REVISION_EVERY_S, KeyRing, create_job, revoke_job
from store import open_store


def test_a_key_revoked_by_another_process_is_refused_within_the_revision_interval(tmp_path):
    ours, theirs = open_store(tmp_path), open_store(tmp_path)  # two processes' stores
    try:
        made, job = create_job("decide", "clerk")
        ours.write(job)
        ring = KeyRing(ours)

        async def check() -> None:
            caller = await ring.caller_async(made.key)
            assert caller is not None and caller.key_id == made.key_id
            theirs.write(revoke_job(made.key_id))
            time.sleep(REVISION_EVERY_S)
            assert await ring.caller_async(made.key) is None
            assert ring.caller(made.key) is None

        asyncio.run(check())
    finally:
        ours.close()
        theirs.close()


def test_a_key_made_by_another_process_is_found_on_its_first_use(tmp_path):
    ours, theirs = open_store(tmp_path), open_store(tmp_path)
    try:
        ring = KeyRing(ours)
        made, job = create_job("audit")
        theirs.write(job)

        async def check() -> None:
            callers = await asyncio.gather(*(ring.caller_async(made.key) for _ in range(8)))
            assert {c.role for c in callers if c is not None} == {"audit"}
            assert all(c is not None for c in callers)
            assert await ring.caller_async("not a key") is None

        asyncio.run(check())
    finally:
        ours.close()
        theirs.close()


def test_many_requests_at_a_stale_copy_share_one_re_read_and_all_see_the_revocation(tmp_path):
    ours, theirs = open_store(tmp_path), open_store(tmp_path)
    try:
        made, job = create_job("decide")
        ours.write(job)
        kept, job = create_job("decide")
        ours.write(job)
        ring = KeyRing(ours)
        theirs.write(revoke_job(made.key_id))
        time.sleep(REVISION_EVERY_S)

        async def check() -> None:
            revoked = [ring.caller_async(made.key) for _ in range(16)]
            still = [ring.caller_async(kept.key) for _ in range(16)]
            found = await asyncio.gather(*revoked, *still)
            assert found[:16] == [None] * 16
            assert all(c is not None and c.key_id == kept.key_id for c in found[16:])

        asyncio.run(check())
    finally:
        ours.close()
        theirs.close()


def test_settle_waits_for_the_background_re_read_so_the_store_can_close(tmp_path):
    store = open_store(tmp_path)
    try:
        made, job = create_job("decide")
        store.write(job)
        ring = KeyRing(store)
        time.sleep(REFRESH_AFTER_S)

        async def check() -> None:
            assert await ring.caller_async(made.key) is not None  # answered from memory
            rereading = ring._rereading  # noqa: SLF001 - the read it started in the background
            assert rereading is not None
            await ring.settle()
            assert rereading.done() and rereading.exception() is None

        asyncio.run(check())
    finally:
        store.close()


def test_a_key_row_edited_by_other_hands_authorises_nothing_and_fails_no_other_key(tmp_path):
    """A key row with no hash (SQLite lets a TEXT primary key be NULL), a BLOB hash or id, or a
    role the service does not have: the keys are matched together, and such a row had every request
    answer 500. It authorises nothing now (`redress verify` names it); every other key works."""
    import sqlite3

    store = open_store(tmp_path)
    try:
        made = {}
        for name in ("good", "no-hash", "bytes", "role", "id"):
            key, job = create_job("decide", name)
            store.write(job)
            made[name] = key
        edits = {
            "no-hash": "key_hash = NULL",
            "bytes": "key_hash = CAST(key_hash AS BLOB)",
            "role": "role = 'Audit'",
            # Its id went into every decision's entry, which could not be encoded (500).
            "id": "key_id = CAST(key_id AS BLOB)",
        }
        db = sqlite3.connect(tmp_path / "redress.db", isolation_level=None)
        for name, edit in edits.items():
            db.execute(f"UPDATE api_keys SET {edit} WHERE key_id = ?", (made[name].key_id,))
        db.close()
        ring = KeyRing(store)

        async def check() -> None:
            good = await ring.caller_async(made["good"].key)
            assert good is not None and good.key_id == made["good"].key_id
            for name in edits:
                assert await ring.caller_async(made[name].key) is None, name

        asyncio.run(check())
    finally:
        store.close()


def test_a_role_or_name_edited_by_hand_is_seen_within_the_revision_interval(tmp_path):
    """A running node had kept serving a key with the role and name it first read until some
    key was revoked (the revision counted revocations). Edited by hand (`redress verify` names
    such a row), the key now acts with what its row says within `REVISION_EVERY_S`, as a
    revocation does: the name decides whose cases' personal data the key reads."""
    import sqlite3

    store = open_store(tmp_path)
    try:
        made, job = create_job("admin", "clerk")
        store.write(job)
        ring = KeyRing(store)

        async def check() -> None:
            caller = await ring.caller_async(made.key)
            assert (caller.role, caller.name) == ("admin", "clerk")
            with sqlite3.connect(tmp_path / "redress.db") as db:
                db.execute(
                    "UPDATE api_keys SET role = 'audit', name = 'auditor' WHERE key_id = ?",
                    (made.key_id,),
                )
            time.sleep(REVISION_EVERY_S)
            assert ring.caller(made.key) is not None  # read again, not refused
            caller = await ring.caller_async(made.key)
            assert (caller.role, caller.name) == ("audit", "auditor")

        asyncio.run(check())
    finally:
        store.close()
