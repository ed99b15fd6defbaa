"""Random identifiers (`service.ids`): 32 lowercase hex digits, never repeated, and a forked
child does not hand out its parent's."""

from __future__ import annotations

import os
import re

from service.ids import POOL_BYTES, random_id


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
