"""`redress`: serve the API, make API keys, verify, replay or export the ledger, rebuild or check
the cases' registers and the decision index from it, print reports, and migrate a SQLite store
to PostgreSQL.

Each command imports what it needs when it runs, so `redress --help` is instant. Every command
that reads or writes a store takes `--data-dir DIR` and `--database URL` (default
`REDRESS_DATABASE_URL`): with a URL the store is that PostgreSQL database and DIR holds only
the key files.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger import DB_FILE

if TYPE_CHECKING:
    from store import Store

DEFAULT_DATA_DIR = Path("redress-data")
ROLES = ("decide", "audit", "admin")


DATABASE_ENV = "REDRESS_DATABASE_URL"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    args.database_given = getattr(args, "database", None) is not None  # not the environment's
    try:
        _use_database(args)
        return args.run(args)
    except Exception as exc:
        if not _reported_in_one_line(exc):
            raise
        # One line, never a traceback: an unreachable database (named without its password),
        # a schema newer than this code, a URL that is not postgresql://, a data directory
        # that cannot be opened.
        print(f"redress {args.command}: {_one_line(exc)}", file=sys.stderr)
        return 2


def _one_line(exc: Exception) -> str:
    """What `main` says of `exc`: a file the system refused named first, without Python's
    `[Errno N]` (`/srv/x.jsonl: No such file or directory`)."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)


def _reported_in_one_line(exc: Exception) -> bool:
    """Whether `main` reports `exc` in one line. The store is imported only here, on the way
    out: `redress verify` of a SQLite file never loads the store package (a tenth of a second
    before its workers start)."""
    import sqlite3

    from ledger.keys import KeyRetired
    from store import SchemaTooNew, StoreBusy

    # A data directory that cannot be read or written (SQLite's "unable to open database
    # file", "file is not a database", a permission refused) is the operator's to mend, not a
    # bug.
    expected = (StoreBusy, SchemaTooNew, KeyRetired, ValueError, sqlite3.DatabaseError, OSError)
    return isinstance(exc, expected)


def _use_database(args: argparse.Namespace) -> None:
    """`--database URL` for this process and the workers it starts (`store.open_store` reads
    `REDRESS_DATABASE_URL`)."""
    given = getattr(args, "database", None)
    if args.command == "verify" and given is None and (args.export or args.receipt):
        return  # a file named is what is checked, whatever database the environment names
    from store import database_url

    url = database_url(given)
    if url is not None:
        os.environ[DATABASE_ENV] = url
        args.database = url
        if args.command == "verify" and given is None:
            # As every store command does (CONTRACT.md); said, since `--data-dir` then only
            # holds the node's key files, not the store checked.
            from store.postgres import redacted

            print(
                f"redress verify: checking the database {redacted(url)} ({DATABASE_ENV})",
                file=sys.stderr,
            )


MAX_PROCESSES = 64  # --workers, --jobs: more is a typo on any machine this runs on


def port_number(text: str) -> int:
    """A TCP port, 0 (any free one) to 65535."""
    return between(0, 65535)(text)


def between(least: int, most: int) -> Callable[[str], int]:
    """An integer option from `least` to `most`."""

    def number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not least <= value <= most:
            raise argparse.ArgumentTypeError(f"{text!r} is not from {least} to {most}")
        return value

    number.__name__ = "number"  # argparse names the type in some of its messages
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="redress",
        description="Complaint-routing decisions, recorded in a ledger you can verify offline.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    serve = _command(
        commands, "serve", "Run the HTTP API on SQLite (or PostgreSQL: --database).", run_serve
    )
    _data_dir_option(serve)
    _listen_options(serve, 8000)
    serve.add_argument(
        "--workers",
        type=between(1, MAX_PROCESSES),
        default=1,
        help=f"worker processes sharing one port (1 to {MAX_PROCESSES})",
    )
    serve.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="VKEY=URL",
        help="a witness asked to cosign each checkpoint: its verifier key (or a file holding "
        "it) and its URL (the add-checkpoint prefix); repeatable",
    )
    serve.add_argument(
        "--quorum",
        type=int,
        metavar="N",
        help="cosignatures a checkpoint needs before GET /v1/ledger/checkpoint serves it "
        "(default: every witness); a receipt whose entry no such checkpoint covers yet carries "
        "the log's own signature alone, until the witnesses cosign one",
    )
    serve.add_argument(
        "--signing-key",
        type=Path,
        metavar="FILE",
        help="the checkpoint signing key (created there if missing; default DIR/signing.key)",
    )

    keys = _command(
        commands, "keys", "API keys: create, list, revoke; rotate-signing: a new signing key.", None
    )
    key_commands = keys.add_subparsers(title="key commands", metavar="KEY_COMMAND")
    create = _command(
        key_commands, "create", "Print a new API key (once) and its key id.", run_keys_create
    )
    create.set_defaults(command="keys create")
    create.add_argument(
        "--role",
        required=True,
        type=one_of(ROLES),
        metavar="|".join(ROLES),
        help="what the key may do",
    )
    create.add_argument("--name", help="what the key is for (shown by `redress keys list`)")
    _data_dir_option(create)
    listing = _command(
        key_commands,
        "list",
        "Key id, role, name, created, revoked (never a secret).",
        run_keys_list,
    )
    _data_dir_option(listing)
    revoke = _command(
        key_commands,
        "revoke",
        "Revoke a key: every worker refuses it within a second.",
        run_keys_revoke,
    )
    revoke.add_argument("key_id", metavar="KEY_ID", help="the key's id (`redress keys list`)")
    _data_dir_option(revoke)
    rotate = _command(
        key_commands,
        "rotate-signing",
        "Hand the ledger to a new checkpoint signing key: a `key` entry signed by the old key "
        "(run with the server stopped; serve with --signing-key NEW afterwards).",
        run_keys_rotate_signing,
    )
    rotate.add_argument(
        "--new-key", type=Path, required=True, metavar="FILE", help="where to create the new key"
    )
    rotate.add_argument(
        "--signing-key",
        type=Path,
        metavar="FILE",
        help="the key signing now (default: DIR/signing.key)",
    )
    _data_dir_option(rotate)

    verify = _command(
        commands, "verify", "Check a whole ledger offline: chain, tree, checkpoints.", run_verify
    )
    source = verify.add_mutually_exclusive_group(required=True)
    source.add_argument("--data-dir", type=Path, help="a data directory (its redress.db)")
    source.add_argument(
        "--database", metavar="URL", help="a PostgreSQL database (postgresql://…), read in full"
    )
    source.add_argument("--export", type=Path, help="a file written by `redress export`")
    source.add_argument(
        "--receipt", type=Path, help="one decision's receipt (C2SP tlog-proof) on its own"
    )
    verify.add_argument(
        "--jobs",
        type=between(1, MAX_PROCESSES),
        metavar="N",
        help="check a store's entries in N processes (default: one per CPU core; a store of "
        "fewer than 16,384 entries is checked in one)",
    )
    verify.add_argument(
        "--public-key",
        type=Path,
        metavar="FILE",
        help="the verifier key you trust: a file holding it (default: DIR/public.key for a "
        "store, the key entry 0 names for --database, the key an --export names itself: "
        "each proves the ledger whole, not whose it is; for --receipt, a public.key beside "
        "it)",
    )
    verify.add_argument(
        "--checkpoint", type=Path, help="a signed checkpoint you kept: prove the log extends it"
    )
    verify.add_argument(
        "--witness-key",
        action="append",
        default=[],
        metavar="VKEY|FILE",
        help="a witness you trust (its cosignature verifier key); repeatable",
    )
    verify.add_argument(
        "--quorum",
        type=int,
        metavar="N",
        help="cosignatures a checkpoint needs to count as witnessed (default: every "
        "--witness-key); entries after the newest witnessed one are reported as not yet "
        "covered, and fail only with --strict",
    )
    verify.add_argument(
        "--witness-url",
        action="append",
        default=[],
        metavar="URL",
        help="ask this witness what it last cosigned: the ledger must extend it (catches a "
        "rollback); repeatable",
    )
    verify.add_argument(
        "--strict",
        action="store_true",
        help="fail when entries are not yet covered by a (cosigned) checkpoint",
    )

    replay = _command(
        commands, "replay", "Re-run every recorded decision; report any that differ.", run_replay
    )
    replay_source = replay.add_mutually_exclusive_group()
    replay_source.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"where the store lives (default: ./{DEFAULT_DATA_DIR})",
    )
    replay_source.add_argument("--export", type=Path, help="a file written by `redress export`")
    replay.add_argument(
        "--database",
        metavar="URL",
        help=f"a PostgreSQL database (postgresql://…) as the store (default: ${DATABASE_ENV})",
    )

    export = _command(
        commands, "export", "Write the ledger as JSON Lines for verification elsewhere.", run_export
    )
    _data_dir_option(export)
    export.add_argument("--out", type=Path, required=True, help="file to write")
    export.add_argument(
        "--cosigned",
        action="store_true",
        help="stop at the newest checkpoint the witnesses cosigned (for `verify --strict` with "
        "--witness-key)",
    )
    export.add_argument(
        "--signing-key",
        type=Path,
        metavar="FILE",
        help="the key in force, which signs a checkpoint of the whole ledger first (default: "
        "DIR/signing.key; after `keys rotate-signing`, the new key)",
    )

    cases = _command(
        commands, "cases", "Cases' registers: `redress cases rebuild` or `check`.", None
    )
    case_commands = cases.add_subparsers(title="case commands", metavar="CASE_COMMAND")
    rebuild = _command(
        case_commands,
        "rebuild",
        "Rebuild every case's register, state and facts from the ledger's decisions alone.",
        run_cases_rebuild,
    )
    _data_dir_option(rebuild)
    check = _command(
        case_commands,
        "check",
        "Report the first case whose stored register or state differs from the ledger's.",
        run_cases_check,
    )
    _data_dir_option(check)
    index = _command(
        commands, "index", "The decision index: `redress index rebuild` or `check`.", None
    )
    index_commands = index.add_subparsers(title="index commands", metavar="INDEX_COMMAND")
    index_rebuild = _command(
        index_commands,
        "rebuild",
        "Rebuild the decision index from the ledger's decision entries (one transaction).",
        run_index_rebuild,
    )
    index_rebuild.set_defaults(command="index rebuild")
    _data_dir_option(index_rebuild)
    index_check = _command(
        index_commands,
        "check",
        "Report the first decision whose index rows differ from what its ledger entry gives "
        "(read only).",
        run_index_check,
    )
    index_check.set_defaults(command="index check")
    _data_dir_option(index_check)
    report = _command(
        commands, "report", "Print a report of the ledger's decisions, from its index.", run_report
    )
    report.add_argument("name", help="register, routing, timeliness, serco-quarterly, "
                        "repeat-complainers")  # fmt: skip
    report.add_argument("--from", dest="date_from", help="first local date, YYYY-MM-DD")
    report.add_argument("--to", dest="date_to", help="last local date, YYYY-MM-DD")
    report.add_argument("--quarter", help="a quarter, YYYY-QN")
    report.add_argument("--policy", help="one policy only")
    report.add_argument(
        "--format",
        choices=("json", "csv"),
        default="json",
        help="JSON (default), or CSV with the tree size and root hash on stderr",
    )
    _data_dir_option(report)
    migrate = _command(
        commands,
        "migrate",
        "Copy a SQLite store into an empty PostgreSQL database, byte for byte.",
        run_migrate,
    )
    migrate.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="the source")
    migrate.add_argument(
        "--to-database", metavar="URL", required=True, help="an empty PostgreSQL database"
    )
    _witness_commands(commands)
    return parser


def _witness_commands(commands: argparse._SubParsersAction) -> None:
    """`redress witness serve`: a C2SP tlog-witness for the logs whose keys it is given."""
    witness = _command(commands, "witness", "Run a witness: `redress witness serve`.", None)
    witness_commands = witness.add_subparsers(title="witness commands", metavar="WITNESS_COMMAND")
    serve = _command(
        witness_commands,
        "serve",
        "Cosign checkpoints of the given logs over HTTP (C2SP tlog-witness add-checkpoint).",
        run_witness_serve,
    )
    serve.add_argument("--data-dir", type=Path, required=True, help="the witness's key and state")
    _listen_options(serve, 8100)
    serve.add_argument(
        "--log",
        action="append",
        required=True,
        metavar="VKEY|FILE",
        help="a trusted log's verifier key (its name is the origin); repeatable",
    )
    serve.add_argument("--name", help="the witness's key name, used when its key is first created")


def run_witness_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from witness.app import create_witness_app
    from witness.state import DEFAULT_NAME

    data_dir: Path = args.data_dir.resolve()
    unlistenable = _cannot_listen(args.host, args.port)
    if unlistenable is not None:  # said before its key is made and "Witness on" is claimed
        print(f"redress witness serve: {unlistenable}", file=sys.stderr)
        return 2
    try:
        log_keys = [_vkey_argument(value) for value in args.log]
        app = create_witness_app(data_dir, log_keys, args.name or DEFAULT_NAME)
    except (OSError, ValueError) as error:  # an unreadable file, a malformed key
        print(f"redress witness serve: {error}", file=sys.stderr)
        return 2
    print(app.state.witness.signer.verifier_key, flush=True)
    print(
        f"Witness on http://{args.host}:{args.port}/add-checkpoint"
        f" (key: {data_dir / 'witness.vkey'})",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, access_log=False)
    return 0


def _vkey_argument(value: str, witness: bool = False) -> str:
    """A verifier key given inline, or the file that holds it: a log's key (type 0x01), or with
    `witness` a witness's cosignature key (type 0x04). ValueError, saying which, when it is
    neither a key nor a readable file holding one."""
    path = Path(value)
    from_file = "+" not in value or path.is_file()
    if from_file:
        try:
            value = path.read_bytes().decode("utf-8").strip()
        except OSError as error:
            reason = error.strerror or error
            raise ValueError(f"{value!r} is neither a verifier key nor a file ({reason})") from None
        except UnicodeDecodeError:
            raise ValueError(f"{path}: not text, so not a verifier key") from None
        if not value:
            raise ValueError(f"{path} is empty: it holds no verifier key")
    if witness:
        from ledger.cosignature import CosignatureVerifier as parse
    else:
        from ledger.note import Verifier as parse  # type: ignore[assignment]
    kind = "witness" if witness else "log"
    try:
        parse.from_verifier_key(value)
    except ValueError as error:
        if from_file:  # never its text: a secret key file given by mistake is not echoed
            raise ValueError(f"{path} does not hold a {kind}'s verifier key") from None
        raise ValueError(f"{value!r} is not a {kind}'s verifier key: {error}") from None
    return value


def _log_keys(text: str, option: str, path: Path) -> str:
    """`text`, read from `path` for `option`, once each of its lines is a log's verifier key
    (one, or the chain a rotation leaves). ValueError naming the file and line, never their
    text: an API key or signing key given by mistake is not echoed to the terminal."""
    from ledger.note import Verifier

    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            Verifier.from_verifier_key(line.strip())
        except ValueError:
            raise ValueError(
                f"{option} {path}: line {number} is not a log's verifier key (name+id+key, "
                "as in public.key)"
            ) from None
    return text


def one_of(allowed: Sequence[str]) -> Callable[[str], str]:
    """An argparse type for an enum-like option: the error lists the allowed values and the
    nearest one."""

    def check(value: str) -> str:
        if value in allowed:
            return value
        import difflib

        listed = ", ".join(allowed)
        near = difflib.get_close_matches(value, allowed, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise argparse.ArgumentTypeError(f"{value!r} is not one of {listed}{hint}")

    return check


def _command(
    commands: argparse._SubParsersAction,
    name: str,
    summary: str,
    run: Callable[[argparse.Namespace], int] | None,
) -> argparse.ArgumentParser:
    command = commands.add_parser(name, help=summary, description=summary)
    # The whole command as typed (`keys list`, not `list`), for the one-line errors.
    whole = command.prog.split(" ", 1)[1] if " " in command.prog else name
    command.set_defaults(run=run or _shows_help(command), command=whole)
    return command


def _shows_help(command: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """For a command that only groups others (`keys`): show its help and fail."""

    def run(_args: argparse.Namespace) -> int:
        command.print_help()
        return 2

    return run


def _listen_options(command: argparse.ArgumentParser, port: int) -> None:
    """--host and --port of a command that serves HTTP."""
    command.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    command.add_argument(
        "--port", type=port_number, default=port, help="port to listen on (default: %(default)s)"
    )


def _data_dir_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"where the store lives (default: ./{DEFAULT_DATA_DIR}); with --database, "
        "only the key files",
    )
    command.add_argument(
        "--database",
        metavar="URL",
        help=f"a PostgreSQL database (postgresql://…) as the store (default: ${DATABASE_ENV})",
    )


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from keys import chosen_admin_key, start_admin

    try:
        chosen_admin_key()  # refused before a store is made for it
    except ValueError as error:
        print(f"redress serve: {error}", file=sys.stderr)
        return 2
    data_dir: Path = args.data_dir.resolve()
    if not args.database and not _existing_store(data_dir, "serve", may_create=True):
        return 2
    unlistenable = _cannot_listen(args.host, args.port)
    if unlistenable is not None:  # said before a store and an admin key are made for nothing
        print(f"redress serve: {unlistenable}", file=sys.stderr)
        return 2
    data_dir.mkdir(parents=True, exist_ok=True)
    if _serve_witness_environment(args) is None:
        return 2
    refusal = _key_not_in_force(data_dir)  # creates the store and key before workers start
    if refusal is not None:
        print(f"redress serve: {refusal}", file=sys.stderr)
        return 2
    started = start_admin(data_dir)
    admin_key = started.first_key
    if admin_key is not None and admin_key != os.environ.get("REDRESS_ADMIN_KEY"):
        print(f"Admin API key (shown once; also in {data_dir / 'admin.key'}):", file=sys.stderr)
        print(admin_key, file=sys.stderr)
    elif admin_key is not None:
        # The operator chose it: no need to echo a secret they already hold into the logs.
        print(
            f"Admin API key: the one in REDRESS_ADMIN_KEY (also in {data_dir / 'admin.key'})",
            file=sys.stderr,
        )
    elif started.added_key_id is not None:
        print(
            f"Admin API key: the one in REDRESS_ADMIN_KEY, added as {started.added_key_id}; "
            f"the store's other admin keys still work (`redress keys revoke` ends one; "
            f"{data_dir / 'admin.key'} still holds the first)",
            file=sys.stderr,
        )
    os.environ["REDRESS_DATA_DIR"] = str(data_dir)
    from api.http11 import ProblemHttpTools

    http: Any = ProblemHttpTools
    if args.workers > 1:
        from api.connections import CONNECTIONS_ENV, SharedHttpTools, create_slots

        shared = _workers_directory()
        create_slots(shared / "connections", args.workers)
        os.environ[CONNECTIONS_ENV] = str(shared / "connections")
        http = SharedHttpTools
    where = f"data: {data_dir}"
    if args.database:
        from store.postgres import redacted

        where = f"database: {redacted(args.database)}, keys: {data_dir}"
    print(f"Redress on http://{args.host}:{args.port} ({where})", file=sys.stderr)
    uvicorn.run(
        "api.app:app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # uvloop and httptools: chosen by measurement (bench/http_stack.py, bench/README.md);
        # with several workers, httptools spreading the connections (api.connections)
        loop="uvloop",
        http=http,
        access_log=False,
        log_config=JSON_LOG_CONFIG,
    )
    return 0


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the server could not listen on `host`:`port` (in use, not an address of this
    machine, a port the user may not bind), or None: a trial bind, as uvicorn binds, given up
    at once. (Uvicorn would say it in JSON log lines after the start-up messages.)"""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as error:
        return f"--host {host}: not an address to listen on ({error})"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as trial:
        trial.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            trial.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is in use (another server?): `--port` picks another"
            return f"cannot listen on {host}:{port}: {error.strerror or error}"
    return None


def _store_named(data_dir: Path) -> str:
    """The store a command opened, as a person names it: the PostgreSQL database (password
    hidden) when one is in use, else the data directory's SQLite file."""
    url = os.environ.get(DATABASE_ENV)
    if url:
        from store.postgres import redacted

        return f"at {redacted(url)}"
    return f"in {data_dir}"


def _verify_arguments(data_dir: Path) -> str:
    """What `redress verify` needs to check the store a command opened."""
    url = os.environ.get(DATABASE_ENV)
    if url:
        from store.postgres import redacted

        return f"--database {redacted(url)} --public-key {data_dir / 'public.key'}"
    return f"--data-dir {data_dir}"


def _key_not_in_force(data_dir: Path) -> str | None:
    """Why the signing key in `data_dir` must not sign for the ledger, or None when it is the
    key in force. A node given other key files, or still holding a key that a rotation (on
    another PostgreSQL node, say) retired, would sign checkpoints that `verify` refuses. The
    ledger is opened without signing anything, so that the check comes first."""
    from ledger import Ledger
    from ledger.keys import SigningKeyMismatch

    try:
        ledger = Ledger.open(data_dir, auto_checkpoint=False)
    except SigningKeyMismatch as error:
        return str(error)
    except (LookupError, ValueError, TypeError, OverflowError) as error:
        # The ledger's tail cannot be read as the writer wrote it (an index or a node edited
        # by hand): no traceback, but what to run.
        return (
            f"the store {_store_named(data_dir)} cannot be opened ({error}): it was edited by "
            f"other hands; `redress verify {_verify_arguments(data_dir)}` names where"
        )
    try:
        mine, keys = ledger.verifier_key, ledger.signing_keys()
    finally:
        ledger.close()
    if keys[-1:] == [mine]:
        return None
    if mine not in keys:
        return (
            f"the signing key in {data_dir} ({mine}) is not one the ledger recorded: give "
            "every node the same key files"
        )
    return (
        f"the signing key in {data_dir} ({mine}) was retired by a rotation; the ledger's key "
        f"in force is {keys[-1]}: give this node that key (--signing-key) and its public.key"
    )


def _workers_directory() -> Path:
    """A fresh directory that the workers of `--workers N` share for their metrics
    (prometheus-client's multiprocess mode) and their connection counts, removed when the
    server exits. One worker serves in this process, which has imported prometheus-client
    already (`api.app`, for the witness options): it keeps its metrics in memory."""
    import atexit
    import shutil
    import tempfile

    path = tempfile.mkdtemp(prefix="redress-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return Path(path)


def _serve_witness_environment(args: argparse.Namespace) -> bool | None:
    """Check `--witness`, `--quorum` and `--signing-key` and hand them to the workers through
    the environment; None (after saying why) when they do not make sense."""
    from api.app import QUORUM_ENV, WITNESSES_ENV
    from ledger.keys import SIGNING_KEY_ENV
    from service.cosigning import parse_witness

    if args.signing_key is not None:
        os.environ[SIGNING_KEY_ENV] = str(args.signing_key.resolve())
    try:
        witnesses = [parse_witness(value) for value in args.witness]
    except (OSError, ValueError) as error:
        print(f"redress serve: --witness: {error}", file=sys.stderr)
        return None
    quorum = len(witnesses) if args.quorum is None else args.quorum
    if witnesses and not 1 <= quorum <= len(witnesses):
        print(f"redress serve: --quorum must be 1 to {len(witnesses)}", file=sys.stderr)
        return None
    if not witnesses and args.quorum is not None:
        print("redress serve: --quorum needs --witness", file=sys.stderr)
        return None
    os.environ[WITNESSES_ENV] = "\n".join(f"{vkey}={url}" for vkey, url in witnesses)
    os.environ[QUORUM_ENV] = str(quorum)
    return True


# uvicorn's own processes (the supervisor of --workers N included) log as JSON lines too; the
# workers' request lines come from api.logs.
JSON_LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "api.logs.JsonLines"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}


def run_keys_create(args: argparse.Namespace) -> int:
    from keys import MAX_NAME_CHARS, create_named_key

    if args.name is not None and not 1 <= len(args.name) <= MAX_NAME_CHARS:
        print(
            f"redress keys create: --name must be 1 to {MAX_NAME_CHARS} characters", file=sys.stderr
        )
        return 2
    if not getattr(args, "database", None) and not _existing_store(
        args.data_dir, "keys create", may_create=True
    ):
        return 2
    args.data_dir.mkdir(parents=True, exist_ok=True)
    made = create_named_key(args.data_dir.resolve(), args.role, args.name)
    print(made.key)
    print(f"key id: {made.key_id} (the key above is shown once)", file=sys.stderr)
    return 0


def run_keys_list(args: argparse.Namespace) -> int:
    from keys import list_keys

    if not args.database and not _existing_store(args.data_dir, "keys list"):
        return 2
    print("\t".join(("key_id", "role", "name", "created", "revoked")))
    for row in list_keys(args.data_dir.resolve()):
        fields = (row["key_id"], row["role"], row["name"], row["created_at"], row["revoked_at"])
        print("\t".join("-" if v is None else str(v) for v in fields))
    return 0


def run_keys_revoke(args: argparse.Namespace) -> int:
    from keys import UnknownKey, revoke_key

    if not args.database and not _existing_store(args.data_dir, "keys revoke"):
        return 2
    if args.database and not _node_keys(args.data_dir, "keys revoke"):
        return 2
    try:
        now = revoke_key(args.data_dir.resolve(), args.key_id)
    except UnknownKey as exc:
        print(f"redress keys revoke: {exc} (see `redress keys list`)", file=sys.stderr)
        return 2  # a key id that names no key: bad input, as every other command says it
    print(f"revoked {args.key_id}" if now else f"{args.key_id} was revoked already")
    return 0


def run_keys_rotate_signing(args: argparse.Namespace) -> int:
    """The old key signs a statement naming the new one, recorded as a `key` entry and covered
    by a checkpoint the old key signs; from then on the new key signs, and `public.key` names
    it. The old key file is left for the operator to destroy."""
    from ledger import Ledger
    from ledger.keys import (
        PUBLIC_KEY_FILE,
        SIGNING_KEY_ENV,
        create_signer_file,
        load_signer,
        rotation_body,
        signing_key_path,
    )

    if not args.database and not _existing_store(args.data_dir, "keys rotate-signing"):
        return 2
    data_dir = args.data_dir.resolve()
    if args.signing_key is not None:
        os.environ[SIGNING_KEY_ENV] = str(args.signing_key.resolve())
    old_path = signing_key_path(data_dir)
    if not old_path.exists():
        print(f"redress keys rotate-signing: no signing key at {old_path}", file=sys.stderr)
        return 2
    # Only the key in force may hand the ledger over: a rotation from a retired one is damage.
    refusal = _key_not_in_force(data_dir)
    if refusal is not None:
        print(f"redress keys rotate-signing: {refusal}", file=sys.stderr)
        return 2
    try:
        new = create_signer_file(args.new_key.resolve())
    except OSError as error:
        print(f"redress keys rotate-signing: {error}", file=sys.stderr)
        return 2
    old = load_signer(old_path)
    ledger = Ledger.open(data_dir)  # signs with the old key, here for the last time
    try:
        if ledger.verifier_key != old.verifier_key:
            print(
                "redress keys rotate-signing: the ledger is not signed by that key", file=sys.stderr
            )
            return 2
        receipt = ledger.append("key", rotation_body(old, new), new.verifier_key)
    finally:
        ledger.close()
    public = data_dir / PUBLIC_KEY_FILE
    tmp = public.with_name(f".public-{os.getpid()}")
    tmp.write_text(new.verifier_key + "\n")
    os.replace(tmp, public)
    print(new.verifier_key)
    print(
        f"rotated at entry {receipt.index}; serve with --signing-key {args.new_key} from now on, "
        f"and destroy {old_path}",
        file=sys.stderr,
    )
    return 0


def run_verify(args: argparse.Namespace) -> int:
    try:
        witness_keys = [_vkey_argument(value, witness=True) for value in args.witness_key]
    except ValueError as error:
        print(f"redress verify: --witness-key: {error}", file=sys.stderr)
        return 2
    if len(set(witness_keys)) < len(witness_keys):
        print("redress verify: --witness-key: a key is given twice (each witness counts once "
              "towards --quorum)", file=sys.stderr)  # fmt: skip
        return 2
    if args.quorum is not None and not 0 <= args.quorum <= len(witness_keys):
        needs = (
            f"--quorum {args.quorum} needs at least {args.quorum} --witness-key"
            if args.quorum > 0
            else "--quorum cannot be negative"
        )
        print(
            f"redress verify: {needs} ({len(witness_keys)} given): a quorum counts the "
            "cosignatures of the witness keys given",
            file=sys.stderr,
        )
        return 2
    try:
        public_key = _text_argument(args.public_key, "--public-key", "a verifier key")
        if public_key is not None:
            public_key = _log_keys(public_key, "--public-key", args.public_key)
        checkpoint = _text_argument(args.checkpoint, "--checkpoint", "a signed checkpoint")
    except ValueError as error:
        print(f"redress verify: {error}", file=sys.stderr)
        return 2
    if checkpoint is not None:
        # A kept file often gains a trailing blank line (an editor, `echo`); the note itself
        # ends in exactly one newline.
        checkpoint = checkpoint.rstrip("\n") + "\n"
    trust = (witness_keys, args.quorum, list(args.witness_url), args.strict)
    try:
        return _verified(args, public_key, checkpoint, trust)
    except UNREADABLE as error:
        # What `verify` reads is untrusted: a value of a type or shape Redress never writes
        # (a number where it keeps bytes, text nested 100,000 deep) is damage, named as such.
        print(
            "unreadable: the store or file holds a value of a type or shape Redress never "
            f"writes, so the check stopped: {type(error).__name__}: {str(error)[:200]}"
        )
        return 1


# What reading a store or file that Redress did not write may raise (`run_verify`).
UNREADABLE = (
    TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError, RecursionError,
    sqlite3.DatabaseError,
)  # fmt: skip


def _verified(
    args: argparse.Namespace, public_key: str | None, checkpoint: str | None, trust: tuple
) -> int:
    """`run_verify` once its arguments are read: 0 when the ledger verifies, 1 when not, 2 when
    there is nothing to verify there."""
    if args.database:
        from ledger.verify import Trust, verify_database_trusted

        report = verify_database_trusted(args.database, public_key, checkpoint, Trust(*trust))
        print(report.summary)
        return 0 if report.ok else 1
    if args.receipt is not None:
        source: Path | None = _existing_receipt(args.receipt)
        if source is not None and public_key is None and not _key_beside(source):
            print(
                "redress verify: --receipt needs --public-key FILE (or a public.key beside the "
                "receipt): a receipt is checked against the verifier key you trust",
                file=sys.stderr,
            )
            return 2
    else:
        source = _existing_ledger(args.export or args.data_dir / DB_FILE, "verify")
    if source is None:
        return 2
    if args.receipt is None and not args.export and not _is_sqlite(source):
        # The data directory's store replaced by another file: damage, named as such (it was
        # read as an export, and said to be one that JSON could not parse).
        print(f"unreadable: {source} is not a Redress store: it is not a SQLite database")
        return 1
    jobs = args.jobs if args.jobs is not None else os.cpu_count() or 1
    # The workers check a SQLite store's entries from here on, before the rest of
    # `ledger.verify` (the signature code: a tenth of a second) is loaded; after asking the
    # witnesses, if any (`verify_trusted`): the snapshot must hold what they cosigned.
    from ledger.verify_chunks import start_entry_checks

    started = None if args.witness_url else start_entry_checks(source, jobs)
    from ledger.verify import Trust, verify_trusted

    report = verify_trusted(source, public_key, checkpoint, jobs, Trust(*trust), started)
    print(report.summary)
    return 0 if report.ok else 1


def run_replay(args: argparse.Namespace) -> int:
    from ledger.canonical import parse_entry
    from ledger.replay import replay, replay_entries

    if args.export and args.database_given:
        # Two sources named: which one would be replayed? (A URL from the environment is
        # not the operator's choice for this command: the export is read.)
        print("redress replay: give --export or --database, not both", file=sys.stderr)
        return 2
    try:
        if args.database and not args.export:
            from store.postgres import ledger_snapshot

            with ledger_snapshot(args.database) as snapshot:
                report = replay_entries(parse_entry(raw) for _, raw, _ in snapshot.entries())
        else:
            database = _existing_ledger(args.export or args.data_dir / DB_FILE, "replay")
            if database is None:
                return 2
            report = replay(database)
    except (ValueError, KeyError) as error:  # damaged entries: `verify` says where and how
        print(f"redress replay: {error}", file=sys.stderr)
        return 2
    print(report.summary)
    return 0 if report.ok else 1


def run_export(args: argparse.Namespace) -> int:
    from ledger import Ledger
    from ledger.export import covered_size, export, write_export
    from ledger.keys import SIGNING_KEY_ENV, SigningKeyMismatch, signing_key_path

    if not args.database and not _existing_store(args.data_dir, "export"):
        return 2
    database = None if args.database else args.data_dir / DB_FILE
    if args.signing_key is not None:
        os.environ[SIGNING_KEY_ENV] = str(args.signing_key.resolve())
    if signing_key_path(args.data_dir).exists() and not args.cosigned:
        # The store's writer signs a checkpoint of the whole tree, so the export ends with one
        # covering every line (without the key, it stops at the newest signed checkpoint).
        try:
            Ledger.open(args.data_dir.resolve()).close()
        except SigningKeyMismatch as error:
            print(f"redress export: {error}", file=sys.stderr)
            return 2
    if args.database:
        import itertools

        from store.postgres import ledger_snapshot

        key_file = args.data_dir / "public.key"
        key = key_file.read_text().strip() if key_file.exists() else None
        with ledger_snapshot(args.database) as snapshot:
            checkpoints = snapshot.checkpoints()
            rows = snapshot.entries()
            try:
                covered = itertools.islice(rows, covered_size(checkpoints, args.cosigned))
                entries = ((digest, raw) for _, raw, digest in covered)
                count = write_export(args.out, key, entries, lambda: checkpoints)
            finally:
                rows.close()
        print(f"wrote {count} entries, with their checkpoints, to {args.out}")
        return 0
    assert database is not None
    count = export(database, args.out, cosigned_only=args.cosigned)
    print(f"wrote {count} entries, with their checkpoints, to {args.out}")
    return 0


@contextmanager
def _case_store(
    args: argparse.Namespace, command: str
) -> Iterator[tuple[Store, dict[str, str]] | None]:
    """The data directory's store (not created when missing; None, said, when it is not one)
    and the policies' time zones, closed on leaving."""
    import rules
    from store import open_store

    if not args.database and not _existing_store(args.data_dir, command):
        yield None
        return
    timezones = {p.id: p.timezone for p in rules.policy_summaries()}
    store = open_store(args.data_dir, database=args.database)
    try:
        yield store, timezones
    finally:
        store.close()


def run_cases_rebuild(args: argparse.Namespace) -> int:
    from cases.rebuild import rebuild

    with _case_store(args, "cases rebuild") as opened:
        if opened is None:
            return 2
        count = rebuild(*opened)
    print(f"rebuilt {count} {'case' if count == 1 else 'cases'} from the ledger")
    return 0


def run_cases_check(args: argparse.Namespace) -> int:
    from cases.rebuild import check

    with _case_store(args, "cases check") as opened:
        if opened is None:
            return 2
        difference = check(*opened)
    if difference is None:
        print("ok: every case's register and state are what its ledger decisions give")
        return 0
    print(f"differs: {difference}")
    return 1


def run_index_rebuild(args: argparse.Namespace) -> int:
    from reports.index import rebuild_job

    with _case_store(args, "index rebuild") as opened:
        if opened is None:
            return 2
        store, timezones = opened
        count = store.write(rebuild_job(timezones))
    print(f"indexed {count} {'decision' if count == 1 else 'decisions'} from the ledger")
    return 0


def run_index_check(args: argparse.Namespace) -> int:
    from ledger.store import tree_root
    from reports.index import index_difference

    with _case_store(args, "index check") as opened:
        if opened is None:
            return 2
        store, timezones = opened
        with store.read() as tx:  # no signing key needed: an officer's check
            size = tx.tree_size()
            difference, count = index_difference(tx, timezones)
            root = tree_root(tx, size).hex()
    if difference is not None:
        print(f"differs: {difference}")
        return 1
    print(
        f"ok: the decision index holds what the ledger's {count} "
        f"{'decision' if count == 1 else 'decisions'} give (tree size {size}, root hash {root})"
    )
    return 0


def run_report(args: argparse.Namespace) -> int:
    import json

    import reports
    import rules
    from ledger.store import stored_root_hash
    from reports.stored import compute_stored
    from store import open_store

    if args.name not in reports.REPORT_NAMES:
        print(f"redress report: no report {args.name!r}: one of "
              f"{', '.join(reports.REPORT_NAMES)}", file=sys.stderr)  # fmt: skip
        return 2
    values = {"from": args.date_from, "to": args.date_to}
    values |= {"quarter": args.quarter, "policy": args.policy}
    try:
        query = reports.parse_query(args.name, values, rules.policy_ids())
    except reports.QueryError as exc:
        for pointer, message in exc.errors:
            # The API's words name the query's fields; here they are options.
            message = message.replace(" before from ", " before --from ")
            print(f"redress report: --{pointer.lstrip('/')}: {message}", file=sys.stderr)
        return 2
    data_dir = args.data_dir.resolve()
    if not args.database and not _existing_store(data_dir, "report"):
        return 2
    store = open_store(data_dir, database=args.database)
    try:  # the stored tree's root, not a Ledger's: no signing key needed to read a report
        report = compute_stored(args.name, store, stored_root_hash(store), query)
    finally:
        store.close()
    if args.format == "csv":
        sys.stdout.write(reports.to_csv(report))
        # The ledger state the HTTP answer names in its headers (CONTRACT.md, "Reports"): on
        # stderr, so that stdout stays the CSV itself.
        print(f"Redress-Tree-Size: {report['tree_size']}", file=sys.stderr)
        print(f"Redress-Root-Hash: {report['root_hash']}", file=sys.stderr)
    else:
        print(json.dumps(report, indent=2))
    return 0


def run_migrate(args: argparse.Namespace) -> int:
    from store import database_url
    from store.postgres import redacted
    from store.transfer import TargetNotEmpty, copy_to_postgres

    if not _existing_store(args.data_dir, "migrate"):
        return 2
    try:
        database_url(args.to_database)
    except ValueError as exc:
        print(f"redress migrate: --to-database: {exc}", file=sys.stderr)
        return 2
    try:
        copied = copy_to_postgres(args.data_dir, args.to_database)
    except TargetNotEmpty as exc:
        print(f"redress migrate: {exc}", file=sys.stderr)
        return 1
    rows = sum(copied.rows.values())
    print(
        f"copied {copied.tree_size} entries ({rows} rows) to {redacted(args.to_database)}; "
        f"tail {copied.tail_hash}; {copied.indexed} of {copied.decisions} decisions indexed"
    )
    if copied.indexed != copied.decisions:
        print(
            "redress migrate: the source's decision index was not whole (copied as it was): "
            "run `redress index rebuild --database URL` to remake it from the ledger",
            file=sys.stderr,
        )
    return 0


def _existing_receipt(path: Path) -> Path | None:
    """`path` when it holds a C2SP tlog-proof; otherwise say what it is not. (`verify` reads
    a ledger or a receipt from one path: an export or a store handed over as a receipt must
    not be checked as a whole ledger, trusting the key it names, and pass.)"""
    from ledger.tlog_proof import HEADER

    try:
        with path.open("rb") as f:
            head = f.read(len(HEADER) + 1)
    except OSError as error:
        print(f"redress verify: --receipt {path}: {error.strerror or error}", file=sys.stderr)
        return None
    if head == f"{HEADER}\n".encode():
        return path
    why = f"a C2SP tlog-proof's first line is {HEADER!r}"
    if head == f"{HEADER}\r".encode():
        why = "its lines end in CR LF; a C2SP tlog-proof's end in LF alone"
    print(f"redress verify: --receipt {path} is not a receipt: {why}", file=sys.stderr)
    return None


def _key_beside(receipt: Path) -> bool:
    return (receipt.parent / "public.key").exists()


def _is_sqlite(path: Path) -> bool:
    from ledger.verify_chunks import SQLITE_MAGIC

    with path.open("rb") as f:
        return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC


def _existing_ledger(path: Path, command: str) -> Path | None:
    """`path` when it is a file; otherwise say so, as `redress COMMAND` would."""
    if path.is_file():
        return path
    if path.exists():
        print(f"redress {command}: {path} is not a file", file=sys.stderr)
        return None
    print(f"redress {command}: no ledger at {path}", file=sys.stderr)
    return None


def _node_keys(data_dir: Path, command: str) -> bool:
    """Whether `data_dir` holds this node's signing key, for a command writing to a database
    that has a ledger already; otherwise say so in one line (opening the ledger would make a
    new key there, which the ledger then refuses: files left behind for nothing)."""
    from ledger.keys import signing_key_path

    if signing_key_path(data_dir).exists():
        return True
    print(
        f"redress {command}: no signing key at {signing_key_path(data_dir)}: with --database, "
        "--data-dir is the directory of a node's key files",
        file=sys.stderr,
    )
    return False


def _existing_store(data_dir: Path, command: str, may_create: bool = False) -> bool:
    """Whether `data_dir` holds a SQLite store `redress COMMAND` may use; otherwise say why in
    one line. Only a command that `may_create` one (`serve`, `keys create`) takes a directory
    with no store yet, or an empty file; none turns another program's database, or a file that
    is no database, into a store."""
    path = Path(data_dir) / DB_FILE
    if Path(data_dir).exists() and not Path(data_dir).is_dir():
        print(f"redress {command}: {data_dir} is not a directory (--data-dir)", file=sys.stderr)
        return False
    if path.exists() and not path.is_file():
        print(f"redress {command}: {path} is not a file", file=sys.stderr)
        return False
    wal = path.with_name(path.name + "-wal")
    if not path.exists() and wal.exists():
        # SQLite would start a new ledger beside it (signed with the same key: a fork) and
        # drop what the log held.
        print(
            f"redress {command}: {wal} is there without {path}: restore the database, or "
            "move the log aside if it is not this store's",
            file=sys.stderr,
        )
        return False
    if not path.exists() or path.stat().st_size == 0:
        if may_create:
            return True
        empty = " (its file is empty)" if path.exists() else ""
        print(f"redress {command}: no ledger at {path}{empty}", file=sys.stderr)
        return False
    why = _not_a_store(path)
    if why is not None:
        print(f"redress {command}: {path} is not a Redress store: {why}", file=sys.stderr)
        return False
    return True


def _not_a_store(path: Path) -> str | None:
    """What the file at `path` is instead of a Redress store (read only), or None."""
    import sqlite3

    if not _is_sqlite(path):
        return "it is not a SQLite database"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            names = [
                n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return None  # not a verdict on the file (busy, or a WAL a read-only open cannot use)
    except sqlite3.DatabaseError as exc:
        return f"SQLite cannot read it ({exc})"
    if "entries" not in names:
        shown = ", ".join(sorted(names)[:5]) or "none"
        return f"it holds no ledger (its tables: {shown})"
    return None


def _text_argument(path: Path | None, option: str, what: str) -> str | None:
    """The text of the file an option names (None when not given). ValueError, naming the
    option, when it cannot be read, is not text, or is empty: an empty key file must never
    stand for "no key given", which would trust the key the ledger names itself."""
    if path is None:
        return None
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise ValueError(f"{option} {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{option} {path}: not text, so not {what}") from None
    if not text.strip():
        raise ValueError(f"{option} {path} is empty: it holds no {what.split(' ', 1)[1]}")
    return text
