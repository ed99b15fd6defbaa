"""The witness at work: one `add-checkpoint` from body to cosignature line, with the check of
the old size and the recording of the new checkpoint done atomically per origin."""

from __future__ import annotations

import threading
from collections.abc import Iterable

import clock
from ledger.cosignature import CosignatureSigner, sign_cosignature
from ledger.merkle import EMPTY_ROOT
from ledger.note import Verifier, add_signatures, open_note, split_note
from witness.protocol import (
    AddCheckpoint,
    Refusal,
    check_consistency,
    check_log_signature,
    parse_add_checkpoint,
)
from witness.state import Cosigned, WitnessState


def log_keys_by_origin(vkeys: Iterable[str | Verifier]) -> dict[str, list[Verifier]]:
    """The trusted log keys by origin: a log's origin is its key's name (`ledger.keys`)."""
    by_origin: dict[str, list[Verifier]] = {}
    for vkey in vkeys:
        verifier = vkey if isinstance(vkey, Verifier) else Verifier.from_verifier_key(vkey.strip())
        by_origin.setdefault(verifier.name, []).append(verifier)
    return by_origin


class Witness:
    """Cosigns checkpoints of the trusted logs that extend what it cosigned before."""

    def __init__(
        self, state: WitnessState, signer: CosignatureSigner, log_keys: Iterable[str | Verifier]
    ) -> None:
        self.state = state
        self.signer = signer
        self.log_keys = log_keys_by_origin(log_keys)
        self._locks = {origin: threading.Lock() for origin in self.log_keys}

    def add_checkpoint(self, body: bytes) -> str:
        """The cosignature line(s) for the request `body`, or a `Refusal` with its status."""
        request = parse_add_checkpoint(body)
        check_log_signature(request, self.log_keys)
        origin = request.checkpoint.origin
        # Serialised per origin in this process; the state's compare-and-swap guards against
        # another process sharing the directory.
        with self._locks[origin]:
            stored = self.state.latest(origin)
            if stored is None:
                check_consistency(request, 0, EMPTY_ROOT)
            else:
                check_consistency(request, stored.size, stored.root_hash)
            line = sign_cosignature(self.signer, split_note(request.note)[0], _now())
            checkpoint = request.checkpoint
            new = Cosigned(checkpoint.size, checkpoint.root_hash, self._kept_note(request, line))
            if not self.state.advance(origin, stored, new):
                latest = self.state.latest(origin)
                size = 0 if latest is None else latest.size
                raise Refusal(409, "another request moved this log first; retry", size)
        return line

    def _kept_note(self, request: AddCheckpoint, line: str) -> str:
        """The note as kept for monitors: the verified log signature(s) and this cosignature
        (tlog-witness §Monitor Retrieval Mechanism), nothing from unknown keys."""
        text, signatures = split_note(request.note)
        keys = self.log_keys[request.checkpoint.origin]
        log_lines = []
        for name, encoded in signatures:
            candidate = f"{text}\n\u2014 {name} {encoded}\n"
            try:
                open_note(candidate, keys)
            except ValueError:
                continue
            log_lines.append(f"\u2014 {name} {encoded}\n")
        return add_signatures(f"{text}\n{log_lines[0]}", [*log_lines[1:], line])

    def cosigned_note(self, origin: str) -> str | None:
        """The latest cosigned checkpoint note for `origin`, or None."""
        stored = self.state.latest(origin)
        return None if stored is None else stored.note


def _now() -> int:
    # "The cosignature MUST NOT omit the timestamp, i.e. the timestamp MUST NOT be zero."
    return max(1, int(clock.unix_seconds()))
