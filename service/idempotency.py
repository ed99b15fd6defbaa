"""`Idempotency-Key`: a write remembered with its response, in the write's own transaction.

The first request with a key claims it inside the write's transaction and stores its response
just before that transaction commits (`WriteTx.before_commit`, once the receipt's tree head is
known), so the write and its remembered answer are durable together, for every worker and after
a restart. A second request with the key finds the stored response and is answered from it; two
racing requests are ordered by the store's write lock, and the later one finds the earlier's
claim (`AlreadyClaimed`) without writing anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import clock
from store import ReadTx, Store, WriteTx
from store.base import StoredResponse

T = TypeVar("T")
WINDOW = timedelta(hours=24)


class AlreadyClaimed(RuntimeError):
    """The key was claimed by an earlier request (whose response is now stored)."""


def expired_before() -> str:
    """Claims made before this instant are forgotten (24 hours ago)."""
    return clock.instant_text(clock.now() - WINDOW)


def remembered(store: Store, key_id: str, key: str) -> StoredResponse | None:
    """The response stored for this caller's key within the last 24 hours, if any."""
    with store.read() as tx:
        found = tx.stored_response(key_id, key)
    if found is None or found.status == 0 or found.created_at < expired_before():
        return None
    return found


@dataclass(frozen=True)
class Once:
    """A request that carried an `Idempotency-Key`: whose (the caller's key id), the key, a hash
    of the request, and how to render its response from what the write recorded."""

    key_id: str
    key: str
    request_hash: str
    render: Callable[[ReadTx, Any], bytes]
    status: int = 201

    def wrap(
        self, job: Callable[[WriteTx], T], result: Callable[[T], Any]
    ) -> Callable[[WriteTx], T]:
        """`job`, claiming the key first and storing the response before the commit;
        `result` turns the job's return value into what `render` takes."""

        def claimed(tx: WriteTx) -> T:
            if tx.claim_response(self.key_id, self.key, self.request_hash, expired_before()):
                raise AlreadyClaimed(self.key)
            done = job(tx)

            def remember(t: WriteTx) -> None:
                body = self.render(t, result(done))
                t.put_response(self.key_id, self.key, self.status, body)

            tx.before_commit(remember)
            return done

        return claimed
