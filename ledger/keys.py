"""The checkpoint signing key: created once per data directory, mode 0600, never overwritten.

Creation races between processes are settled by `os.link`, which fails if the name exists: the
loser reads the winner's key, so every process signs with the same one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from ledger.note import Signer

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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".signing-")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
        os.close(fd)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


def load_or_create_signer(data_dir: Path, origin: str = ORIGIN) -> Signer:
    """The data directory's signer, creating the key (0600) and `public.key` on first use."""
    key_path = signing_key_path(data_dir)
    if not key_path.exists():
        _write_private(key_path, Signer.generate(origin).private_bytes())
    signer = Signer.from_bytes(origin, key_path.read_bytes())
    public_path = data_dir / PUBLIC_KEY_FILE
    if not public_path.exists():
        tmp = public_path.with_name(f".public-{os.getpid()}")
        tmp.write_text(signer.verifier_key + "\n")
        os.replace(tmp, public_path)
    return signer
