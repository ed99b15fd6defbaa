"""The log's side of C2SP tlog-witness: asking witnesses to cosign its checkpoints.

`request_cosignature` is one `add-checkpoint` round trip. `Cosigner` runs in a background thread
and keeps the witnesses up to date: each new checkpoint goes to every witness with a consistency
proof from the size that witness last cosigned; once `quorum` of them answered, the checkpoint
note with their cosignature lines is handed to `store_cosigned`. A witness that is down or slow
only delays cosigning: nothing here blocks the caller.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ledger.checkpoint import parse_checkpoint, strict_decimal
from ledger.cosignature import (
    CosignatureError,
    CosignatureVerifier,
    add_cosignatures,
    parse_cosignature_line,
    verify_cosignature,
)
from ledger.note import NoteError, split_note

log = logging.getLogger("redress.witnessing")

SIZE_CONTENT_TYPE = "text/x.tlog.size"
DEFAULT_TIMEOUT = 2.0
MAX_RESPONSE_BYTES = 64 * 1024


class WitnessError(Exception):
    """A witness did not cosign."""


class WitnessUnavailable(WitnessError):
    """The witness could not be reached, or did not answer in time."""


class WitnessConflict(WitnessError):
    """409: the witness last cosigned another size; retry with a proof from `size`."""

    def __init__(self, size: int) -> None:
        super().__init__(f"the witness last cosigned size {size}")
        self.size = size


class WitnessRefused(WitnessError):
    """The witness answered with another error status (400, 403, 404, 422, ...)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"witness refused with {status}: {body.strip()[:300]}")
        self.status = status
        self.body = body


def add_checkpoint_url(url: str) -> str:
    """The `add-checkpoint` URL of a witness given by its submission prefix (or by that URL)."""
    url = url.rstrip("/")
    return url if url.endswith("/add-checkpoint") else f"{url}/add-checkpoint"


def add_checkpoint_body(checkpoint_note: str, old_size: int, proof_hashes: Sequence[bytes]) -> str:
    """tlog-witness: `old <size>`, one base64 hash per line, an empty line, the checkpoint."""
    if len(proof_hashes) > 63:
        raise ValueError("a consistency proof sent to a witness has at most 63 hashes")
    proof = "".join(base64.b64encode(h).decode() + "\n" for h in proof_hashes)
    return f"old {old_size}\n{proof}\n{checkpoint_note}"


def _witness_key(witness_vkey: str | CosignatureVerifier) -> CosignatureVerifier:
    if isinstance(witness_vkey, CosignatureVerifier):
        return witness_vkey
    return CosignatureVerifier.from_verifier_key(witness_vkey)


def request_cosignature(
    url: str,
    witness_vkey: str | CosignatureVerifier,
    checkpoint_note: str,
    old_size: int,
    proof_hashes: Sequence[bytes],
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Send one checkpoint to the witness at `url`; return its verified cosignature line.

    Raises `WitnessConflict` (409, with the size it last cosigned), `WitnessRefused` (other
    statuses), `WitnessUnavailable` (network, timeout) or `WitnessError` (a 200 without a valid
    cosignature by `witness_vkey`; lines by other keys are ignored, as tlog-witness says).
    """
    witness = _witness_key(witness_vkey)
    text, _ = split_note(checkpoint_note)
    body = add_checkpoint_body(checkpoint_note, old_size, proof_hashes).encode()
    request = urllib.request.Request(add_checkpoint_url(url), data=body, method="POST")
    request.add_header("Content-Type", "text/plain; charset=utf-8")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = response.read(MAX_RESPONSE_BYTES).decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        with error:
            answer = error.read(MAX_RESPONSE_BYTES).decode("utf-8", "replace")
            content_type = error.headers.get("Content-Type", "")
        if error.code == 409 and content_type.split(";")[0].strip() == SIZE_CONTENT_TYPE:
            size = strict_decimal(answer[:-1], 2**64 - 1) if answer.endswith("\n") else None
            if size is not None:
                raise WitnessConflict(size) from None
        raise WitnessRefused(error.code, answer) from None
    except (OSError, TimeoutError) as error:  # URLError is an OSError
        raise WitnessUnavailable(f"witness at {url} unreachable: {error}") from error
    return _own_cosignature(witness, text, answer)


def _own_cosignature(witness: CosignatureVerifier, checkpoint_text: str, answer: str) -> str:
    """The line of `answer` by `witness`, verified on the checkpoint text."""
    for line in answer.splitlines():
        try:
            cosignature = parse_cosignature_line(line)
        except NoteError:
            continue
        if witness.matches(cosignature):
            try:
                verify_cosignature(witness, checkpoint_text, line)
            except NoteError as error:
                raise WitnessError(f"witness {witness.name} answered a bad cosignature") from error
            return line + "\n"
    raise WitnessError(f"witness {witness.name} answered no cosignature of its own")


def witness_size(
    url: str,
    witness_vkey: str | CosignatureVerifier,
    checkpoint_note: str,
    timeout: float = DEFAULT_TIMEOUT,
) -> int:
    """The size of the checkpoint the witness last cosigned for the note's log, learned as
    tlog-witness suggests: an add-checkpoint with old size 0 answers 409 with it. (If the
    witness had cosigned nothing it cosigns this checkpoint instead: its size is returned.)"""
    try:
        request_cosignature(url, witness_vkey, checkpoint_note, 0, [], timeout)
    except WitnessConflict as conflict:
        return conflict.size
    return parse_checkpoint(split_note(checkpoint_note)[0]).size


def fetch_cosigned_checkpoint(
    url: str, origin: str, timeout: float = DEFAULT_TIMEOUT
) -> str | None:
    """The latest checkpoint note the witness cosigned for `origin` (tlog-witness §Monitor
    Retrieval: `GET <prefix>/<sha256(origin) hex>/checkpoint`), or None (404: it cosigned none).
    Unverified: check it with `ledger.cosignature.witnessed`."""
    prefix = url.rstrip("/").removesuffix("/add-checkpoint")
    digest = hashlib.sha256(origin.encode()).hexdigest()
    try:
        with urllib.request.urlopen(f"{prefix}/{digest}/checkpoint", timeout=timeout) as response:
            return response.read(MAX_RESPONSE_BYTES).decode("utf-8")
    except urllib.error.HTTPError as error:
        with error:
            if error.code == 404:
                return None
            raise WitnessRefused(error.code, error.read(MAX_RESPONSE_BYTES).decode()) from None
    except (OSError, TimeoutError, UnicodeDecodeError) as error:
        raise WitnessUnavailable(f"witness at {url} unreachable: {error}") from error


@dataclass
class _WitnessTrack:
    """What the cosigner knows of one witness."""

    verifier: CosignatureVerifier
    url: str
    size: int = 0  # the size it last cosigned, as far as we know (0: unknown or none)
    failures: int = 0
    retry_at: float = 0.0
    last_error: str | None = None
    lines: dict[int, str] = field(default_factory=dict)  # checkpoint size -> cosignature line


class Cosigner:
    """Keeps the witnesses cosigning the log's latest checkpoint, in a background thread.

    - `latest_checkpoint()` returns `(note, size)` of the log's newest signed checkpoint, or
      None when there is none yet;
    - `consistency_proof(old, new)` returns the RFC 9162 proof hashes between two sizes;
    - `store_cosigned(size, note)` records the note with the cosignatures added; it is called
      once per checkpoint, when `quorum` witnesses have cosigned it.
    - `witnesses` are `(vkey, url)` pairs, `url` each witness's submission prefix.

    Call `wake()` after a new checkpoint to send it at once; otherwise the log is polled
    every `interval` seconds. A failing witness is retried with exponential backoff (from
    `interval` up to `max_backoff`), each request bounded by `timeout`.
    """

    def __init__(
        self,
        latest_checkpoint: Callable[[], tuple[str, int] | None],
        consistency_proof: Callable[[int, int], Sequence[bytes]],
        store_cosigned: Callable[[int, str], None],
        witnesses: Sequence[tuple[str | CosignatureVerifier, str]],
        quorum: int,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        interval: float = 1.0,
        max_backoff: float = 30.0,
    ) -> None:
        if not 1 <= quorum <= len(witnesses):
            raise ValueError(f"quorum {quorum} must be between 1 and {len(witnesses)} witnesses")
        self._latest = latest_checkpoint
        self._proof = consistency_proof
        self._store = store_cosigned
        self._tracks = [_WitnessTrack(_witness_key(v), url) for v, url in witnesses]
        self.quorum = quorum
        self.timeout = timeout
        self.interval = interval
        self.max_backoff = max_backoff
        self._stored_size: int | None = None
        self._round = threading.Lock()  # one round at a time
        self._control = threading.Lock()  # start/stop
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the thread ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the background thread (again after `stop`); a no-op when running."""
        with self._control:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="cosigner", daemon=True)
            self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop the thread and wait for it (at most one request `timeout` plus a little)."""
        with self._control:
            thread, self._thread = self._thread, None
            self._stopping.set()
            self._wake.set()
        if thread is not None:
            thread.join(self.timeout * 2 + 1 if timeout is None else timeout)

    def wake(self) -> None:
        """A new checkpoint exists: run a round now rather than at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_once()
            except Exception:  # never let a bad callable end cosigning for good
                log.exception("cosigning round failed")
            self._wake.wait(self._next_wait())
            self._wake.clear()

    def _next_wait(self) -> float:
        now = time.monotonic()
        due = [t.retry_at - now for t in self._tracks if t.retry_at > now]
        return max(0.01, min([self.interval, *due]))

    # -- one round ----------------------------------------------------------------------

    def run_once(self) -> bool:
        """Send the latest checkpoint to every witness that has not cosigned it and is not
        backing off; store it once `quorum` cosigned. True when it is stored (now or before)."""
        with self._round:
            latest = self._latest()
            if latest is None:
                return False
            note, size = latest
            if self._stored_size is not None and size <= self._stored_size:
                return True
            for track in self._tracks:
                if size not in track.lines and time.monotonic() >= track.retry_at:
                    self._ask(track, note, size)
            lines = [t.lines[size] for t in self._tracks if size in t.lines]
            if len(lines) < self.quorum:
                return False
            self._store(size, add_cosignatures(note, lines))
            self._stored_size = size
            for track in self._tracks:
                track.lines = {s: line for s, line in track.lines.items() if s > size}
            return True

    def _ask(self, track: _WitnessTrack, note: str, size: int) -> None:
        # At most two tries: a 409 teaches us the witness's size, then we send the right proof.
        for _ in range(2):
            if track.size > size:
                self._failed(track, f"witness has cosigned size {track.size}, beyond {size}")
                return
            old = track.size
            proof = list(self._proof(old, size)) if 0 < old < size else []
            try:
                track.lines[size] = request_cosignature(
                    track.url, track.verifier, note, old, proof, self.timeout
                )
            except WitnessConflict as conflict:
                track.size = conflict.size
                continue
            except (WitnessError, CosignatureError, NoteError) as error:
                self._failed(track, str(error))
                return
            track.size, track.failures, track.retry_at, track.last_error = size, 0, 0.0, None
            return
        self._failed(track, "witness kept answering 409")

    def _failed(self, track: _WitnessTrack, error: str) -> None:
        track.failures += 1
        track.last_error = error
        backoff = min(self.max_backoff, self.interval * 2 ** (track.failures - 1))
        track.retry_at = time.monotonic() + backoff
        log.warning("witness %s: %s (retry in %.1fs)", track.verifier.name, error, backoff)

    def status(self) -> list[dict[str, object]]:
        """Per witness: name, URL, the size it last cosigned as far as known, the last error."""
        return [
            {
                "witness": t.verifier.name,
                "url": t.url,
                "cosigned_size": t.size,
                "last_error": t.last_error,
            }
            for t in self._tracks
        ]
