"""Frozen copies of every earlier version of the built-in ruleset documents.

A ledger stores in full each document it recorded decisions under, so replay does not need these
files; they pin what each earlier version was (its version hash is tested) and let tests record
decisions under it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent


@cache
def _text(policy_id: str, number: int) -> str:
    return (_HERE / f"{policy_id}.{number}.json").read_text(encoding="utf-8")


def load(policy_id: str, number: int) -> dict:
    """A fresh copy of version `number` of the built-in policy `policy_id`."""
    return json.loads(_text(policy_id, number))
