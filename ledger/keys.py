"""The checkpoint signing key: created once per data directory, mode 0600, never overwritten.

Creation races between processes are settled by `os.link`, which fails if the name exists: the
loser reads the winner's key, so every process signs with the same one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from ledger.note import Signer

if TYPE_CHECKING:
    from store.base import ReadTx

ORIGIN = "redress.local/ledger"
SIGNING_KEY_FILE = "signing.key"
PUBLIC_KEY_FILE = "public.key"
# Where the signing key lives when not in the data directory (`redress serve --signing-key`):
# whoever can write the data directory then cannot also sign for the log.
SIGNING_KEY_ENV = "REDRESS_SIGNING_KEY"


def signing_key_path(data_dir: Path) -> Path:
    """The signing key's file: `$REDRESS_SIGNING_KEY` when set, else `DIR/signing.key`."""
    configured = os.environ.get(SIGNING_KEY_ENV)
    return Path(configured) if configured else Path(data_dir) / SIGNING_KEY_FILE


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` with mode 0600, only if `path` does not exist yet."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".signing-")
    except OSError as error:  # named as the key's file, not the temporary one beside it
        raise OSError(error.errno, error.strerror, str(path)) from None
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
        os.close(fd)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


class KeyRetired(RuntimeError):
    """This process's signing key was retired by a rotation made elsewhere while it ran: it
    signs nothing more (`KeyInForce`), so its writes fail until it restarts with the new key."""


class SigningKeyMismatch(ValueError):
    """The signing key found is not the ledger's key in force (`public.key`): signing with it
    would make checkpoints `verify` refuses (after a rotation, give `--signing-key NEW`)."""


def load_or_create_signer(data_dir: Path, origin: str = ORIGIN) -> Signer:
    """The data directory's signer, creating the key (0600) and `public.key` on first use.
    Raises `SigningKeyMismatch` when `public.key` names another key, or names one while the
    signing key is missing: a ledger never silently gets a new signing key."""
    key_path = signing_key_path(data_dir)
    public_path = data_dir / PUBLIC_KEY_FILE
    if not key_path.exists():
        if public_path.exists():
            raise SigningKeyMismatch(
                f"no signing key at {key_path} for the ledger whose key is in {public_path} "
                "(give --signing-key FILE)"
            )
        _write_private(key_path, Signer.generate(origin).private_bytes())
    signer = Signer.from_bytes(origin, key_path.read_bytes())
    if not public_path.exists():
        tmp = public_path.with_name(f".public-{os.getpid()}")
        tmp.write_text(signer.verifier_key + "\n")
        os.replace(tmp, public_path)
    elif public_path.read_text().strip() != signer.verifier_key:
        raise SigningKeyMismatch(
            f"the signing key at {key_path} is not the ledger's current key ({public_path}); "
            "after `redress keys rotate-signing`, give --signing-key with the new key"
        )
    return signer


# -- signing-key rotation -------------------------------------------------------------------
#
# A rotation is a `key` entry `{action: "rotate_signing", verifier_key: NEW, previous_key: OLD,
# statement: NOTE}` where NOTE is a signed note by the OLD key whose text names the NEW one.
# It is appended (and covered by a checkpoint) while the old key still signs; checkpoints after
# it are signed by the new key. `verify` follows the chain from the genesis key.

ROTATE_SIGNING = "rotate_signing"


def rotation_text(new_verifier_key: str, origin: str = ORIGIN) -> str:
    return f"{origin}\nsigning key rotation\n{new_verifier_key}\n"


def rotation_body(old: Signer, new: Signer) -> dict:
    """The body of the `key` entry that hands the log from `old` to `new`, signed by `old`."""
    return {
        "action": ROTATE_SIGNING,
        "verifier_key": new.verifier_key,
        "previous_key": old.verifier_key,
        "statement": old.sign(rotation_text(new.verifier_key)),
    }


def signing_keys(key_entries: Iterable[dict]) -> list[str]:
    """The signing keys a ledger has been in the hands of, oldest first, from its `key`
    entries in order (parsed): the genesis key (entry 0's), then the one each rotation handed
    over to; the last is the key in force. API keys' entries share the kind and are passed
    over; `verify` checks each hand-over, not this."""
    return [
        document["body"]["verifier_key"]
        for document in key_entries
        if document["index"] == 0 or document["body"].get("action") == ROTATE_SIGNING
    ]


class KeyInForce:
    """Whether this process's signing key (`mine`) is still the ledger's key in force, followed
    through the `key` entries other processes append (`follow`, the store's
    `on_appended_elsewhere`): after a rotation by another node, or by `keys rotate-signing`
    beside a running server, the retired key must sign no checkpoint, which `verify` would
    refuse (`check`)."""

    def __init__(self, mine: str) -> None:
        self.mine = mine
        self.in_force = mine
        self.handed_over_at: int | None = None  # the index of the rotation that retired it
        self.recorded: set[str] = set()  # the signing keys the ledger names, so far

    def follow(self, tx: ReadTx, start: int) -> None:
        """Take the `key` entries from index `start` (every one when `start` is 0)."""
        documents = [msgspec.json.decode(raw) for raw in tx.entries_of_kind("key", start)]
        keys = signing_keys(documents)
        self.recorded.update(keys)
        if not keys or keys[-1] == self.in_force:
            return
        self.in_force = keys[-1]
        rotations = [d["index"] for d in documents if d["body"].get("action") == ROTATE_SIGNING]
        self.handed_over_at = rotations[-1] if rotations else None

    def retired(self) -> str | None:
        """Why `mine` must sign nothing more; None while it is the key in force."""
        if self.in_force == self.mine:
            return None
        if self.mine not in self.recorded:  # another data directory's key, or a new one
            return (
                f"this node's signing key ({self.mine}) is not one the ledger recorded: give it "
                f"the ledger's key files (--data-dir, or --signing-key giving the key in force, "
                f"{self.in_force})"
            )
        where = "" if self.handed_over_at is None else f" at entry {self.handed_over_at}"
        return (
            f"this node's signing key ({self.mine}) was retired by a rotation{where}: it signs "
            f"nothing more; restart it with --signing-key giving the key in force ({self.in_force})"
        )

    def check(self) -> None:
        """`KeyRetired` unless `mine` is the key in force."""
        why = self.retired()
        if why is not None:
            raise KeyRetired(why)


def follow_rotation(body: dict, current: str) -> str:
    """The key a rotation entry hands over to, checked: it names the key in force as the
    previous one, and that key signed the statement naming the new one. `ValueError` if not."""
    from ledger.note import NoteError, Verifier, open_note

    new = body.get("verifier_key")
    if body.get("previous_key") != current or not isinstance(new, str):
        raise ValueError(f"a rotation from {body.get('previous_key')!r}, not from the key in force")
    try:
        text = open_note(str(body.get("statement")), Verifier.from_verifier_key(current))
        Verifier.from_verifier_key(new)
    except (NoteError, ValueError) as e:
        raise ValueError(f"the rotation is not signed by the key in force: {e}") from None
    if text != rotation_text(new):
        raise ValueError("the rotation's signed statement names another key")
    return new


def load_signer(path: Path, origin: str = ORIGIN) -> Signer:
    return Signer.from_bytes(origin, Path(path).read_bytes())


def create_signer_file(path: Path, origin: str = ORIGIN) -> Signer:
    """A new signing key written to `path` (0600; refused if it exists)."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists: give a new file for the new key")
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_private(path, Signer.generate(origin).private_bytes())
    return load_signer(path, origin)
