"""The witness over HTTP (C2SP tlog-witness): `POST /add-checkpoint` answers the cosignature
line(s) or the spec's status (400, 403, 404, 409 with `text/x.tlog.size`, 422); `GET
/<sha256(origin) hex>/checkpoint` serves the latest cosigned checkpoint to monitors.

`create_witness_app(data_dir, log_vkeys)` builds it; the handlers only move bytes, the decisions
are in `witness.service` and `witness.protocol`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import anyio.to_thread
from litestar import Litestar, Request, get, post
from litestar.response import Response

from ledger.note import Verifier
from witness.protocol import SIZE_CONTENT_TYPE, Refusal
from witness.service import Witness
from witness.state import DEFAULT_NAME, WitnessState, load_or_create_key

# A checkpoint note with a hundred signatures and 63 proof lines stays well below this.
MAX_BODY_BYTES = 64 * 1024
NOTE_CONTENT_TYPE = "text/plain"  # Litestar adds "; charset=utf-8" to a text/ type
PROBLEM_CONTENT_TYPE = "application/problem+json"
TITLES = {
    400: "Malformed add-checkpoint request",
    403: "Checkpoint not signed by a trusted log key",
    404: "Unknown log origin",
    409: "Old size is not the size last cosigned",
    422: "Checkpoint not consistent with what was cosigned",
}


def _refused(refusal: Refusal) -> Response:
    if refusal.status == 409:
        # tlog-witness: the body is the size last cosigned, in decimal, and a newline.
        # Exactly this type: Litestar would otherwise add "; charset=utf-8" to a text/ type.
        return Response(
            f"{refusal.size}\n",
            status_code=409,
            media_type=SIZE_CONTENT_TYPE,
            headers={"Content-Type": SIZE_CONTENT_TYPE},
        )
    problem = {
        "type": "about:blank",
        "title": TITLES.get(refusal.status, "Refused"),
        "status": refusal.status,
        "detail": refusal.detail,
    }
    return Response(problem, status_code=refusal.status, media_type=PROBLEM_CONTENT_TYPE)


def create_witness_app(
    data_dir: Path, log_vkeys: Iterable[str | Verifier], name: str = DEFAULT_NAME
) -> Litestar:
    """The witness of `data_dir` (its key created on first start) for the logs `log_vkeys`."""
    witness = Witness(WitnessState(data_dir), load_or_create_key(data_dir, name), log_vkeys)
    origins = {hashlib.sha256(origin.encode()).hexdigest(): origin for origin in witness.log_keys}

    @post("/add-checkpoint", status_code=200)
    async def add_checkpoint(request: Request) -> Response:
        body = await request.body()
        try:
            # SQLite with fsync and a per-origin lock: off the event loop.
            lines = await anyio.to_thread.run_sync(witness.add_checkpoint, body)
        except Refusal as refusal:
            return _refused(refusal)
        return Response(lines, status_code=200, media_type=NOTE_CONTENT_TYPE)

    @get("/{origin_hash:str}/checkpoint")
    async def checkpoint(origin_hash: str) -> Response:
        origin = origins.get(origin_hash)
        note = None if origin is None else witness.cosigned_note(origin)
        if note is None:
            return _refused(Refusal(404, "this witness has cosigned no checkpoint of that log"))
        return Response(note, status_code=200, media_type=NOTE_CONTENT_TYPE)

    app = Litestar(
        route_handlers=[add_checkpoint, checkpoint],
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=None,
    )
    app.state.witness = witness
    return app
