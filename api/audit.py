"""The ledger for auditors: checkpoints, entries, RFC 9162 proofs and the verifier key.

Indices and sizes are bounded in the document (0 ≤ n < 2^53), so a number out of range is a 400
before it reaches SQLite; a well-formed request for a proof the tree cannot give is a 422, and
an entry that does not exist (yet) a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from litestar import get
from litestar.datastructures import State
from litestar.params import Parameter

from api.problems import ApiProblem
from api.routes import READ, keyed, problems, services_of
from ledger.store import BadProofRequest, EntryNotFound
from schemas.ledger import CheckpointView, ConsistencyProof, Entry, InclusionProof
from schemas.problems import SAFE_INTEGER

T = TypeVar("T")
EntryIndex = Annotated[int, Parameter(ge=0, le=SAFE_INTEGER, description="Entry index.")]
PROOFS = problems(400, 401, 403, 404, 422)


def ledger_call(call: Callable[..., T], *args: int | None) -> T:
    """Call the ledger; its "no such entry" is a 404, its "no such proof" a 422."""
    try:
        return call(*args)
    except EntryNotFound as exc:
        raise ApiProblem(404, str(exc)) from None
    except BadProofRequest as exc:
        raise ApiProblem(422, str(exc)) from None


@get(
    "/v1/ledger/checkpoint",
    **keyed("audit", "ledger"),
    sync_to_thread=True,
    responses=problems(401, 403),
    summary="The latest signed checkpoint (C2SP tlog-checkpoint in a signed note)",
)
def get_checkpoint(state: State) -> CheckpointView:
    return services_of(state).ledger.checkpoint_view()


@get(
    "/v1/ledger/entries",
    **keyed("audit", "ledger"),
    sync_to_thread=True,
    responses=READ,
    summary="Entries in order, from `start`",
)
def list_entries(
    state: State,
    start: Annotated[int, Parameter(ge=0, le=SAFE_INTEGER, description="First index.")] = 0,
    limit: Annotated[int, Parameter(ge=1, le=1000, description="At most this many.")] = 100,
) -> list[Entry]:
    return ledger_call(services_of(state).ledger.entries, start, limit)


@get(
    "/v1/ledger/entries/{index:int}",
    **keyed("audit", "ledger"),
    sync_to_thread=True,
    responses=READ,
    summary="One entry, with its entry_hash",
)
def get_entry(
    state: State,
    index: EntryIndex,
) -> Entry:
    return ledger_call(services_of(state).ledger.entry, index)


@get(
    "/v1/ledger/proofs/inclusion",
    **keyed("audit", "ledger"),
    sync_to_thread=True,
    responses=PROOFS,
    summary="RFC 9162 inclusion proof of entry `index` in the tree of `tree_size` entries",
)
def get_inclusion_proof(
    state: State,
    index: EntryIndex,
    tree_size: Annotated[
        int | None,
        Parameter(ge=1, le=SAFE_INTEGER, description="Tree size; the current one when absent."),
    ] = None,
) -> InclusionProof:
    return ledger_call(services_of(state).ledger.inclusion_proof, index, tree_size)


@get(
    "/v1/ledger/proofs/consistency",
    **keyed("audit", "ledger"),
    sync_to_thread=True,
    responses=PROOFS,
    summary="RFC 9162 consistency proof between the trees of `first` and `second` entries",
)
def get_consistency_proof(
    state: State,
    first: Annotated[int, Parameter(ge=1, le=SAFE_INTEGER, description="The older tree size.")],
    second: Annotated[
        int | None,
        Parameter(
            ge=1, le=SAFE_INTEGER, description="The newer tree size; the current one when absent."
        ),
    ] = None,
) -> ConsistencyProof:
    return ledger_call(services_of(state).ledger.consistency_proof, first, second)


@get(
    "/v1/ledger/public-key",
    **keyed("audit", "ledger"),
    sync_to_thread=False,
    responses=problems(401, 403),
    media_type="text/plain",
    summary="The checkpoint verifier key: <name>+<key hash hex>+<base64(0x01 ‖ public key)>",
)
def get_public_key(state: State) -> str:
    return services_of(state).ledger.verifier_key


AUDIT_ROUTES = [
    get_checkpoint,
    list_entries,
    get_entry,
    get_inclusion_proof,
    get_consistency_proof,
    get_public_key,
]
