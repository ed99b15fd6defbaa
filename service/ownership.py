"""Whose a case is: the client system that opened it, for the personal data of its cases.

CONTRACT.md gives a `decide` key "the personal data of its cases". A client system is known by
its keys: the key whose decision opened the case (its `key_id` is in the ledger entry), and any
other key of the same name (`redress keys create --name crm`), so that a client system whose key
is replaced keeps its cases. An `admin` key reads every case's personal data. A case opened
before decisions recorded their key (POLICIES.md version 1) belongs to no one in particular:
every `decide` key may read it, as then.
"""

from __future__ import annotations

from keys import Caller
from ledger.store import stored_body
from store import ReadTx, Store


def case_opener(tx: ReadTx, case_id: str) -> str | None:
    """The id of the key whose decision opened the case; None when no decision names one."""
    decision_ids = tx.case_decision_ids(case_id)
    index = tx.find_entry("decision", decision_ids[0]) if decision_ids else None
    found = tx.entry(index) if index is not None else None
    return None if found is None else stored_body(found[0]).get("key_id")


def owns_case(store: Store, caller: Caller, case_id: str) -> bool:
    """Whether `caller` may read the case's personal data: an admin, the key that opened it,
    or a key of the same name as that one (one read of the store)."""
    if caller.role == "admin":
        return True
    with store.read() as tx:
        opener = case_opener(tx, case_id)
        if opener is None or opener == caller.key_id:
            return True
        if not caller.name:
            return False
        names = {row["key_id"]: row["name"] for row in tx.key_records()}
    return names.get(opener) == caller.name
