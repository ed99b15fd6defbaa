"""The `redress` command line, used as a newcomer and a compliance officer would: real processes,
a real server on loopback, a real SQLite file."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from conftest import COMPLAINT, bearer, free_port, wait_until_healthy

REDRESS = str(Path(sys.executable).parent / "redress")
COMMANDS = ("serve", "keys", "verify", "replay", "export")


def redress(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REDRESS, *args], capture_output=True, text=True, timeout=120, env=env or clean_env()
    )


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REDRESS_ADMIN_KEY"}
    return {**env, **extra}


@contextmanager
def serving(data_dir: Path, *extra: str, env: dict[str, str] | None = None) -> Iterator[tuple]:
    """Run `redress serve` until the block ends; yield (base URL, path of its stderr log)."""
    port = free_port()
    log = data_dir.parent / f"serve-{port}.log"
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [REDRESS, "serve", "--data-dir", str(data_dir), "--port", str(port), *extra],
            stdout=stderr,
            stderr=stderr,
            env=env or clean_env(),
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(base, server)
            yield base, log
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_help_explains_every_command_in_one_line():
    result = redress("--help")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    for command in COMMANDS:
        described = [line for line in lines if line.strip().startswith(command + " ")]
        assert len(described) == 1, f"{command} is not described on one line"


def test_an_incomplete_command_says_so_and_fails():
    assert redress("keys").returncode != 0
    assert redress("verify").returncode != 0  # needs --data-dir or --export


def test_verify_without_a_ledger_fails_clearly(tmp_path):
    result = redress("verify", "--data-dir", str(tmp_path / "nothing-here"))
    assert result.returncode != 0
    assert "no ledger" in result.stderr


def test_first_start_prints_the_admin_key_once_and_keeps_it_private(tmp_path):
    data = tmp_path / "data"
    with serving(data) as (base, log):
        key = (data / "admin.key").read_text().strip()
        assert key in log.read_text()
        assert stat.S_IMODE((data / "admin.key").stat().st_mode) == 0o600
        assert stat.S_IMODE((data / "signing.key").stat().st_mode) == 0o600
        assert httpx.get(f"{base}/v1/policies", headers=bearer(key)).status_code == 200
    with serving(data) as (base, log):
        assert key not in log.read_text()
        assert httpx.get(f"{base}/v1/policies", headers=bearer(key)).status_code == 200


def test_admin_key_from_the_environment_is_used(tmp_path):
    chosen = "a-key-the-operator-chose-0123456789abcdef"
    with serving(tmp_path / "data", env=clean_env(REDRESS_ADMIN_KEY=chosen)) as (base, log):
        assert httpx.get(f"{base}/v1/policies", headers=bearer(chosen)).status_code == 200
        assert chosen not in log.read_text()  # the operator's own secret is not echoed
        assert httpx.get(f"{base}/v1/policies", headers=bearer("wrong")).status_code == 401


def test_an_admin_key_chosen_after_the_first_start_is_added_and_said(tmp_path):
    """CONTRACT.md: "`REDRESS_ADMIN_KEY` in the environment, when set, is used instead of
    generating one" (on first start). Set on a later start, it is added as another admin key,
    to replace a lost one: that was silent (the first key, still working, unmentioned). It is
    said now, with the new key's id; the first key still works."""
    data = tmp_path / "data"
    with serving(data) as (base, _):
        first = (data / "admin.key").read_text().strip()
    chosen = "a-replacement-the-operator-chose-0123456789"
    with serving(data, env=clean_env(REDRESS_ADMIN_KEY=chosen)) as (base, log):
        for key in (first, chosen):
            assert httpx.get(f"{base}/v1/keys", headers=bearer(key)).status_code == 200
        listed = httpx.get(f"{base}/v1/keys", headers=bearer(chosen)).json()["items"]
        said = log.read_text()
    admins = [k["key_id"] for k in listed if k["role"] == "admin"]
    assert len(admins) == 2
    assert f"REDRESS_ADMIN_KEY, added as {admins[1]}" in said and chosen not in said
    assert (data / "admin.key").read_text().strip() == first


@pytest.mark.parametrize("chosen", ["my key", "short-0123456789", "ключ" * 10])
def test_an_admin_key_no_client_could_send_or_short_enough_to_guess_is_refused(tmp_path, chosen):
    """A chosen admin key with a space can never be presented (a bearer token has none), and
    one of 6 characters can be guessed: refused in one line, exit 2, nothing made."""
    data = tmp_path / "data"
    done = redress("serve", "--data-dir", str(data), "--port", str(free_port()),
                   env=clean_env(REDRESS_ADMIN_KEY=chosen))  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("redress serve: REDRESS_ADMIN_KEY: an admin key is 32 to 512")
    assert chosen not in done.stderr and not data.exists()


def test_a_decide_key_can_decide_but_not_audit(tmp_path):
    data = tmp_path / "data"
    created = redress("keys", "create", "--role", "decide", "--data-dir", str(data))
    assert created.returncode == 0
    key = created.stdout.strip()
    with serving(data) as (base, _):
        decided = httpx.post(f"{base}/v1/decisions", json=COMPLAINT, headers=bearer(key))
        assert decided.status_code == 201
        denied = httpx.get(f"{base}/v1/ledger/checkpoint", headers=bearer(key))
        assert denied.status_code == 403


def test_decisions_verify_export_and_replay_offline(tmp_path):
    data = tmp_path / "data"
    with serving(data) as (base, _):
        key = (data / "admin.key").read_text().strip()
        receipts = [
            httpx.post(f"{base}/v1/decisions", json=COMPLAINT, headers=bearer(key)).json()
            for _ in range(3)
        ]
        kept = httpx.get(f"{base}/v1/ledger/checkpoint", headers=bearer(key)).json()
    (tmp_path / "kept.txt").write_text(kept["checkpoint"])
    assert [r["ledger"]["index"] for r in receipts] == sorted(
        r["ledger"]["index"] for r in receipts
    )

    verified = redress(
        "verify", "--data-dir", str(data), "--checkpoint", str(tmp_path / "kept.txt")
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert len(verified.stdout.strip().splitlines()) == 1

    out = tmp_path / "ledger.jsonl"
    assert redress("export", "--data-dir", str(data), "--out", str(out)).returncode == 0
    from_export = redress("verify", "--export", str(out), "--public-key", str(data / "public.key"))
    assert from_export.returncode == 0, from_export.stdout + from_export.stderr

    replayed = redress("replay", "--data-dir", str(data))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr


def test_verify_names_the_first_damaged_entry(tmp_path):
    data = tmp_path / "data"
    with serving(data) as (base, _):
        key = (data / "admin.key").read_text().strip()
        for _ in range(3):
            httpx.post(f"{base}/v1/decisions", json=COMPLAINT, headers=bearer(key))
        last = httpx.get(f"{base}/v1/ledger/checkpoint", headers=bearer(key)).json()
    damaged = last["tree_size"] - 2
    tamper_with_entry(data / "redress.db", damaged)
    result = redress("verify", "--data-dir", str(data))
    assert result.returncode != 0
    assert str(damaged) in result.stdout


def tamper_with_entry(database: Path, index: int) -> None:
    """Change one byte of the stored entry at `index`, as an intruder with the file would."""
    with sqlite3.connect(database) as db:
        (entry,) = db.execute("select entry from entries where idx = ?", (index,)).fetchone()
        changed = entry.replace(b"misconduct", b"misconducT")
        assert changed != entry
        db.execute("update entries set entry = ? where idx = ?", (changed, index))


def test_several_workers_append_to_one_valid_ledger(tmp_path):
    data = tmp_path / "data"
    with serving(data, "--workers", "2") as (base, _):
        key = (data / "admin.key").read_text().strip()

        def decide(_: int) -> int:
            response = httpx.post(
                f"{base}/v1/decisions", json=COMPLAINT, headers=bearer(key), timeout=60
            )
            assert response.status_code == 201, response.text
            return response.json()["ledger"]["index"]

        with ThreadPoolExecutor(8) as pool:
            indexes = list(pool.map(decide, range(40)))
    assert len(set(indexes)) == 40
    verified = redress("verify", "--data-dir", str(data))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_receipt_verifies_on_its_own_and_a_changed_one_does_not(tmp_path):
    data = tmp_path / "data"
    with serving(data) as (base, _):
        key = (data / "admin.key").read_text().strip()
        decision = httpx.post(f"{base}/v1/decisions", json=COMPLAINT, headers=bearer(key)).json()
        url = f"{base}/v1/decisions/{decision['decision_id']}/receipt"
        receipt = httpx.get(url, headers=bearer(key)).text
    kept = tmp_path / "receipt.txt"
    kept.write_text(receipt)
    public_key = str(data / "public.key")
    verified = redress("verify", "--receipt", str(kept), "--public-key", public_key)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    lines = receipt.splitlines(keepends=True)
    index_line = next(i for i, line in enumerate(lines) if line.startswith("index "))
    lines[index_line] = f"index {decision['ledger']['index'] + 1}\n"
    kept.write_text("".join(lines))
    forged = redress("verify", "--receipt", str(kept), "--public-key", public_key)
    assert forged.returncode != 0


@pytest.mark.parametrize("url", ["sqlite:///tmp/x.db", "mysql://root@localhost/test", "nothing"])
def test_migrate_to_a_url_that_is_not_postgresql_says_so_in_one_line(tmp_path, url):
    from ledger.store import Ledger

    data = tmp_path / "data"
    Ledger.open(data).close()
    done = redress("migrate", "--data-dir", str(data), "--to-database", url)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "postgresql://" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "command", [["serve", "--port", "1"], ["keys", "create", "--role", "audit"]]
)
def test_a_data_directory_that_cannot_be_opened_is_one_line(tmp_path, command):
    """An operator's mistake (here a file where the data directory should be) is said in one
    line naming it, exit 2, never a traceback."""
    where = tmp_path / "not-a-directory"
    where.write_text("")
    done = redress(*command, "--data-dir", str(where))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and str(where) in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


STORE_COMMANDS = [
    ["serve", "--port", "1"],
    ["keys", "create", "--role", "audit"],
    ["keys", "list"],
    ["keys", "revoke", "key_0000000000000000"],
    ["report", "routing"],
    ["export", "--out", "OUT"],
    ["cases", "check"],
    ["index", "rebuild"],
    ["index", "check"],
]


@pytest.mark.parametrize("what", ["garbage", "another program's database"])
@pytest.mark.parametrize("command", STORE_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_file_that_is_no_store_is_refused_in_one_line_and_left_alone(tmp_path, command, what):
    """CONTRACT.md: "First start creates the store"; no command turns a file that is not a
    Redress store into one (nor writes a ledger entry or key files beside it), and none fails
    with a traceback: one line naming the file, exit 2."""
    data = tmp_path / "data"
    data.mkdir()
    database = data / "redress.db"
    if what == "garbage":
        database.write_bytes(b"garbage\n")
    else:
        with sqlite3.connect(database) as conn:
            conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
        conn.close()
    before = database.read_bytes()
    args = [str(tmp_path / "out.jsonl") if a == "OUT" else a for a in command]
    done = redress(*args, "--data-dir", str(data))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "is not a Redress store" in done.stderr, done.stderr
    assert str(database) in done.stderr
    assert database.read_bytes() == before
    assert sorted(p.name for p in data.iterdir()) == ["redress.db"]


@pytest.mark.parametrize("command", STORE_COMMANDS[2:], ids=lambda c: " ".join(c[:2]))
def test_a_command_that_reads_a_store_does_not_make_one_of_an_empty_file(tmp_path, command):
    """Only `serve` and `keys create` make a store; the others find none in an empty file."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "redress.db").write_bytes(b"")
    args = [str(tmp_path / "out.jsonl") if a == "OUT" else a for a in command]
    done = redress(*args, "--data-dir", str(data))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no ledger at" in done.stderr and "empty" in done.stderr, done.stderr
    assert (data / "redress.db").read_bytes() == b""
    assert sorted(p.name for p in data.iterdir()) == ["redress.db"]


def test_verify_of_an_empty_export_says_it_is_empty(tmp_path):
    empty = tmp_path / "ledger.jsonl"
    empty.write_bytes(b"")
    done = redress("verify", "--export", str(empty))
    assert done.returncode != 0
    assert "the file is empty" in done.stdout + done.stderr, done.stdout + done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--port", "99999"],
        ["serve", "--port", "-1"],
        ["serve", "--workers", "0"],
        ["serve", "--workers", "100000"],
        ["verify", "--jobs", "0"],
        ["witness", "serve", "--data-dir", "W", "--port", "70000", "--log", "x"],
    ],
)
def test_an_option_out_of_range_is_refused_before_anything_starts(tmp_path, args):
    """A port past 65535 or a worker count of 0 used to start (uvicorn printing a port it could
    not have bound); now argparse refuses it, naming the option (exit 2)."""
    args = [str(tmp_path / "w") if a == "W" else a for a in args]
    done = redress(*args)
    assert done.returncode == 2
    assert "argument --" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("command", STORE_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_database_path_that_is_a_directory_is_refused_in_one_line(tmp_path, command):
    data = tmp_path / "data"
    (data / "redress.db").mkdir(parents=True)
    args = [str(tmp_path / "out.jsonl") if a == "OUT" else a for a in command]
    done = redress(*args, "--data-dir", str(data))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "is not a file" in done.stderr, done.stderr
    whole = " ".join(command[:2]) if command[0] in ("keys", "cases", "index") else command[0]
    assert done.stderr.startswith(f"redress {whole}:"), done.stderr  # `keys list`, not `list`


@pytest.mark.parametrize("command", STORE_COMMANDS[:2], ids=lambda c: " ".join(c[:2]))
def test_a_write_ahead_log_without_its_database_is_not_made_a_new_store(tmp_path, command):
    """SQLite would open a new, empty ledger beside a WAL whose database is gone: a fork signed
    with the same key, and the log's commits lost. The commands that make a store refuse."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "redress.db-wal").write_bytes(b"left over")
    done = redress(*command, "--data-dir", str(data))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "without" in done.stderr and "redress.db-wal" in done.stderr, done.stderr
    assert sorted(p.name for p in data.iterdir()) == ["redress.db-wal"]


def test_serve_on_a_port_in_use_says_so_in_one_line_and_makes_nothing(tmp_path):
    """A newcomer's second `make serve` (the README's port 8000 taken): one line naming the
    port, exit 2, before a store and an admin key are made (uvicorn said it in JSON log lines
    after printing a fresh admin key and "Redress on http://…")."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        data = tmp_path / "data"
        done = redress("serve", "--data-dir", str(data), "--port", str(port))
    assert done.returncode == 2
    assert done.stderr == (
        f"redress serve: port {port} on 127.0.0.1 is in use (another server?): "
        "`--port` picks another\n"
    )
    assert not data.exists()


def test_witness_serve_on_a_port_in_use_says_so_before_claiming_to_run(tmp_path):
    """`witness serve` on a busy port printed its key and "Witness on …", then uvicorn's
    error, exit 3; like `serve`: one line, exit 2, before anything is made."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        data = tmp_path / "witness"
        log_key = tmp_path / "public.key"
        assert (
            redress("keys", "create", "--role", "audit", "--data-dir", str(tmp_path)).returncode
            == 0
        )
        done = redress("witness", "serve", "--data-dir", str(data), "--port", str(port),
                       "--log", str(log_key))  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        f"redress witness serve: port {port} on 127.0.0.1 is in use (another server?): "
        "`--port` picks another\n"
    )
    assert not data.exists()


def test_what_the_system_refuses_is_said_as_the_file_and_why(tmp_path):
    """A data directory that is a file, a directory that cannot be made, an --out whose
    directory is missing, a signing key's directory that is missing: `[Errno 17] File
    exists: …`, or an internal temporary file's name, had been printed; one line now names the
    path given and why, exit 2."""
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    store = tmp_path / "store"
    assert redress("keys", "create", "--role", "audit", "--data-dir", str(store)).returncode == 0
    port = str(free_port())
    cases = {
        ("serve", "--data-dir", str(a_file), "--port", port): f"{a_file} is not a directory",
        ("serve", "--data-dir", str(tmp_path / "d"), "--port", port, "--signing-key",
         str(tmp_path / "no" / "k")): f"{tmp_path / 'no' / 'k'}: No such file or directory",
        ("export", "--data-dir", str(store), "--out", str(tmp_path / "no" / "x.jsonl")):
            f"{tmp_path / 'no' / 'x.jsonl'}: No such file or directory",
    }  # fmt: skip
    for args, said in cases.items():
        done = redress(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert said in done.stderr and done.stderr.count("\n") == 1, done.stderr
        assert "Errno" not in done.stderr and ".signing-" not in done.stderr


def test_verify_names_a_store_replaced_by_another_file_and_asks_a_receipts_key(tmp_path):
    """`verify --data-dir D` where D's redress.db is not SQLite read it as an export and said
    "line 1: Expecting value"; it names the store (damage: exit 1). `--receipt` without
    `--public-key` ran and failed as if the receipt were bad (exit 1): it is a usage error."""
    (tmp_path / "redress.db").write_text("hello\n")
    done = redress("verify", "--data-dir", str(tmp_path))
    assert done.returncode == 1
    assert "is not a Redress store: it is not a SQLite database" in done.stdout, done.stdout
    receipt = tmp_path / "receipt.txt"
    receipt.write_text("c2sp.org/tlog-proof@v1\nindex 1\n")
    done = redress("verify", "--receipt", str(receipt))
    assert done.returncode == 2 and "--receipt needs --public-key FILE" in done.stderr


def test_replay_given_an_export_and_a_database_names_the_clash(tmp_path):
    """`replay --export FILE --database URL` replayed the export and ignored the database: two
    sources named, one line, exit 2 (a URL from the environment is not a choice made here)."""
    done = redress(
        "replay", "--export", str(tmp_path / "x.jsonl"), "--database", "postgresql://h/db"
    )
    assert done.returncode == 2
    assert done.stderr == "redress replay: give --export or --database, not both\n"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["verify", "--quorum", "2"], "--quorum 2 needs at least 2 --witness-key (0 given)"),
        (["witness", "serve", "--log", "garbage"], "'garbage' is neither a verifier key nor a"),
        (["verify", "--witness-key", "w+1234abcd+AAAA"], "is not a witness's verifier key"),
    ],
)
def test_what_the_auditor_brings_is_checked_and_named_in_one_line(tmp_path, args, said):
    """A quorum of witnesses not given, a log key that is neither a key nor a file, a witness
    key that is no key: one line saying so (not "--quorum must be 0 to 0", not the ledger
    blamed for a malformed key), exit 2."""
    done = redress(*args, "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 2 and said in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1


@pytest.mark.parametrize("command", [["verify", "--public-key"], ["witness", "serve", "--log"]])
def test_a_secret_given_for_a_verifier_key_is_refused_and_never_echoed(tmp_path, command):
    """An officer passing `admin.key` where `public.key` belongs: verify compared it with the
    ledger's key and printed it (the admin API secret, on the terminal and in CI logs), with
    exit 1 as if the ledger were damaged; witness serve echoed it too. One line naming the
    file, exit 2, and never its text."""
    secret = "rk_admin_" + "s3cr3t" * 7
    given = tmp_path / "admin.key"
    given.write_text(secret + "\n")
    data = tmp_path / "data"
    assert redress("keys", "create", "--role", "audit", "--data-dir", str(data)).returncode == 0
    done = redress(*command, str(given), "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert str(given) in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert secret not in done.stdout + done.stderr


def test_an_officer_without_the_signing_key_checks_the_index_and_reads_reports(tmp_path):
    """README: "Keep the signing key away from the data". `index check` and `report` read the
    stored tree's root, not a ledger that would open the signing key: they ran only where the
    key was (or refused after a rotation that said to destroy the old one)."""
    data = tmp_path / "data"
    assert redress("keys", "create", "--data-dir", str(data), "--role", "audit").returncode == 0
    (data / "signing.key").rename(tmp_path / "signing.key")
    checked = redress("index", "check", "--data-dir", str(data))
    assert checked.returncode == 0 and checked.stdout.startswith("ok: "), checked.stderr
    report = redress("report", "routing", "--data-dir", str(data), "--format", "csv")
    assert report.returncode == 0, report.stderr
    assert "Redress-Root-Hash: " in report.stderr
    assert checked.stdout.split("root hash ")[1].rstrip(")\n") in report.stderr
    assert not (data / "signing.key").exists()  # and no new key was made in its place


def test_a_report_period_backwards_names_the_options(tmp_path):
    """`report --from A --to B` with B before A said "is before from A": the API's field name;
    the command line's words are its options."""
    store = tmp_path / "store"
    assert redress("keys", "create", "--role", "audit", "--data-dir", str(store)).returncode == 0
    done = redress("report", "timeliness", "--data-dir", str(store),
                   "--from", "2026-11-30", "--to", "2026-11-01")  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == "redress report: --to: 2026-11-01 is before --from 2026-11-30\n"
