"""Random identifiers (`service.ids`): 32 lowercase hex digits, never repeated, and a forked
child does not hand out its parent's; decision and case ids begin with the time."""

from __future__ import annotations

import os
import re
import time

from service.ids import POOL_BYTES, ordered_id, random_id
from service.workflows import new_id


def test_ids_are_128_bits_of_hex_and_do_not_repeat_across_pool_refills():
    ids = [random_id() for _ in range(3 * POOL_BYTES // 16 + 5)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_a_forked_child_does_not_reuse_its_parents_pooled_bytes():
    random_id()  # the pool holds bytes the parent has not used yet
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, random_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    assert child != random_id()


def test_ordered_ids_are_128_bits_of_hex_time_first_and_do_not_repeat():
    before = time.time_ns() // 1_000_000
    ids = [ordered_id() for _ in range(3 * POOL_BYTES // 10 + 5)]
    after = time.time_ns() // 1_000_000
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    stamps = [int(i[:12], 16) for i in ids]
    assert before <= stamps[0] and stamps == sorted(stamps) and stamps[-1] <= after
    assert len({i[12:] for i in ids}) == len(ids)  # the random part alone never repeats
    time.sleep(0.002)
    assert ordered_id() > ids[-1]  # a later millisecond sorts after


def test_decisions_and_cases_take_ordered_ids():
    before = time.time_ns() // 1_000_000
    made = new_id()
    assert before <= int(made[:12], 16) <= time.time_ns() // 1_000_000
