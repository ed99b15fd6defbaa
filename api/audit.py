"""The ledger for auditors: checkpoints, entries, RFC 9162 proofs and the verifier key.

Indices and sizes are bounded in the document (0 ≤ n < 2^53), so a number out of range is a 400
before it reaches SQLite; a proof the ledger cannot give (a tree larger than it is, or a
consistency proof from a larger tree to a smaller one) and an entry that does not exist (yet)
are 404: that resource is not there, and the problem names the parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import msgspec
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import Parameter

from api.paging import bad_cursor, check_limit, page_limit
from api.problems import ApiProblem
from api.responses import READ, problems
from api.services import Services
from ledger.store import BadProofRequest, EntryNotFound, Ledger
from schemas.api import EntryPage
from schemas.ledger import CheckpointView, ConsistencyProof, Entry, InclusionProof
from schemas.problems import SAFE_INTEGER, FieldError

T = TypeVar("T")
TAGS = ["ledger"]
EntryIndex = Annotated[int, Parameter(ge=0, le=SAFE_INTEGER, description="Entry index.")]
PROOFS = problems(400, 401, 403, 404, 422)
MAX_PAGE_ITEMS = 1000
EntryLimit = page_limit("entries", MAX_PAGE_ITEMS)
MAX_PAGE_BYTES = 4 * 1024 * 1024


def refuse_unordered(lower: int, higher: int | None, names: tuple[str, str], strict: bool) -> None:
    """422 naming `names[0]` when it does not come before `higher` (`strict`: below it, as an
    entry index in a tree; else at most it, as a tree size in a later one): a request that no
    ledger could answer. A size the ledger has not reached yet is a 404 (`ledger_call`)."""
    if higher is None or lower < higher or (lower == higher and not strict):
        return
    relation = "below" if strict else "at most"
    message = f"{names[0]} must be {relation} {names[1]} ({higher})"
    raise ApiProblem(422, message, [FieldError(pointer=f"/{names[0]}", message=message)])


def ledger_call(call: Callable[..., T], *args: int | None, pointer: str = "") -> T:
    """Call the ledger; its "no such entry" and "no such proof" are 404s (at `pointer`)."""
    try:
        return call(*args)
    except (EntryNotFound, BadProofRequest) as exc:
        errors = [FieldError(pointer=pointer, message=str(exc))] if pointer else []
        raise ApiProblem(404, str(exc), errors) from None


@get(
    "/ledger/checkpoint",
    operation_id="getCheckpoint",
    tags=TAGS,
    sync_to_thread=True,
    responses=problems(401, 403),
    summary="The latest signed checkpoint (C2SP tlog-checkpoint in a signed note)",
)
def get_checkpoint(services: NamedDependency[Services]) -> CheckpointView:
    return services.ledger.checkpoint_view()


@get(
    "/ledger/entries",
    operation_id="listEntries",
    tags=TAGS,
    sync_to_thread=True,
    responses=problems(400, 401, 403, 404, 422),
    summary="Entries in order, from `start` (or `cursor`), paged",
    description=(
        f"At most `limit` entries (1–{MAX_PAGE_ITEMS:,}, else 422) and at most 4 MiB of encoded "
        "entries a page (a single larger entry is sent alone); `next_cursor` continues the "
        "listing, null at the end of the ledger."
    ),
)
def list_entries(
    services: NamedDependency[Services],
    start: Annotated[int, Parameter(ge=0, le=SAFE_INTEGER, description="First index.")] = 0,
    cursor: Annotated[
        str | None,
        Parameter(
            max_length=20,
            description="A page's `next_cursor`: the listing goes on from there, not `start`.",
            schema_extra={"pattern": "^[0-9]{1,15}$"},
        ),
    ] = None,
    limit: EntryLimit = 100,
) -> Response[EntryPage]:
    check_limit(limit, MAX_PAGE_ITEMS)
    if cursor is not None:
        start = cursor_start(cursor)
    page = entry_page(services.ledger, start, limit)
    return Response(page, media_type=MediaType.JSON)


def cursor_start(cursor: str) -> int:
    """The index a `next_cursor` stands for (the cursor is the index, in decimal)."""
    if not cursor.isascii() or not cursor.isdigit() or int(cursor) > SAFE_INTEGER:
        raise bad_cursor()
    return int(cursor)


def entry_page(ledger: Ledger, start: int, limit: int) -> bytes:
    """One page as JSON bytes: `{items, next_cursor}`, stopped at `limit` entries or 4 MiB.

    Entries are read one at a time and kept only encoded, so a page costs about its own size in
    memory however large the entries are (reading ahead cannot know how large the next ones
    are: 64 entries of 1 MiB each decode to over 100 MiB).
    """
    encoded: list[bytes] = []
    size = 0
    position = start
    while len(encoded) < limit:
        entries = ledger_call(ledger.entries, position, 1)
        if not entries:
            return page_bytes(encoded, None)
        item = msgspec.json.encode(entries[0])
        if encoded and size + len(item) > MAX_PAGE_BYTES:
            return page_bytes(encoded, str(position))
        encoded.append(item)
        size += len(item)
        position = entries[0].index + 1
        del entries
    more = position < ledger.tree_size()
    return page_bytes(encoded, str(position) if more else None)


def page_bytes(items: list[bytes], next_cursor: str | None) -> bytes:
    cursor = msgspec.json.encode(next_cursor)
    return b'{"items":[' + b",".join(items) + b'],"next_cursor":' + cursor + b"}"


@get(
    "/ledger/entries/{index:str}",
    operation_id="getEntry",
    tags=TAGS,
    sync_to_thread=True,
    responses=READ,
    summary="One entry, with its entry_hash",
)
def get_entry(
    services: NamedDependency[Services],
    index: EntryIndex,
) -> Entry:
    return ledger_call(services.ledger.entry, index)


@get(
    "/ledger/proofs/inclusion",
    operation_id="getInclusionProof",
    tags=TAGS,
    sync_to_thread=True,
    responses=PROOFS,
    summary="RFC 9162 inclusion proof of entry `index` in the tree of `tree_size` entries",
)
def get_inclusion_proof(
    services: NamedDependency[Services],
    index: EntryIndex,
    tree_size: Annotated[
        int | None,
        Parameter(ge=1, le=SAFE_INTEGER, description="Tree size; the current one when absent."),
    ] = None,
) -> InclusionProof:
    refuse_unordered(index, tree_size, ("index", "tree_size"), strict=True)
    return ledger_call(services.ledger.inclusion_proof, index, tree_size, pointer="/tree_size")


@get(
    "/ledger/proofs/consistency",
    operation_id="getConsistencyProof",
    tags=TAGS,
    sync_to_thread=True,
    responses=PROOFS,
    summary="RFC 9162 consistency proof between the trees of `first` and `second` entries",
)
def get_consistency_proof(
    services: NamedDependency[Services],
    first: Annotated[int, Parameter(ge=1, le=SAFE_INTEGER, description="The older tree size.")],
    second: Annotated[
        int | None,
        Parameter(
            ge=1, le=SAFE_INTEGER, description="The newer tree size; the current one when absent."
        ),
    ] = None,
) -> ConsistencyProof:
    refuse_unordered(first, second, ("first", "second"), strict=False)
    return ledger_call(
        services.ledger.consistency_proof, first, second, pointer="/second" if second else "/first"
    )


@get(
    "/ledger/public-key",
    operation_id="getPublicKey",
    tags=TAGS,
    sync_to_thread=False,
    responses=problems(401, 403),
    media_type="text/plain",
    summary="The checkpoint verifier key: <name>+<key hash hex>+<base64(0x01 ‖ public key)>",
)
def get_public_key(services: NamedDependency[Services]) -> str:
    return services.ledger.verifier_key


HANDLERS = [
    get_checkpoint,
    list_entries,
    get_entry,
    get_inclusion_proof,
    get_consistency_proof,
    get_public_key,
]
