"""`Store.write_async` on PostgreSQL: `test_store_async`, on a schema of its own."""

from __future__ import annotations

from test_store_async import cancelled_waiter_leaves_its_batch_answered, reading_thread


def test_a_cancelled_waiter_leaves_its_job_and_its_batch_answered(tmp_path, store_url):
    cancelled_waiter_leaves_its_batch_answered(tmp_path)


def test_a_postgresql_read_runs_in_a_worker_thread(tmp_path, store_url):
    # It waits on the database server: the event loop must not.
    assert reading_thread(tmp_path) is False
