"""A lost ledger is never silent (issue 7 item 4, DESIGN §6): marker, integrity check, WAL.

Real SQLite files in tmp_path, a real killed process for the crash case, the real CLI. The
marker lives in the user data dir, which the autouse fixture points into tmp_path.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import MakeBook, StandaloneSandbox

from kuden_xl.cli import cli
from kuden_xl.errors import LedgerError, LedgerLostError
from kuden_xl.ledger import Ledger, default_ledger_path

REPO = Path(__file__).parent.parent
RESET = "kuden-xl ledger reset --i-understand"


def write(ledger: Ledger, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        ledger.reserve(
            ledger.identity(f"0901234{i:04d}", "本文"),
            send_id=uuid.uuid4().hex,
            provider="sandbox",
            segments=1,
        )


def guarded(path: Path) -> Ledger:
    return Ledger.open(path, guard=True)


def refused(path: Path, words: str) -> str:
    with pytest.raises(LedgerLostError) as info:
        guarded(path)
    message = str(info.value)
    assert str(path) in message and RESET in message and words in message
    return message


@pytest.fixture
def path() -> Path:
    return default_ledger_path(sandbox=False)


@pytest.fixture
def used(path: Path) -> Path:
    """A real ledger this PC has used: first opened silently (no marker yet), 5 sends."""
    with guarded(path) as ledger:
        write(ledger, 5)
    return path


def test_first_open_is_silent_and_reopening_is_fine(used: Path) -> None:
    with guarded(used) as ledger:
        assert ledger.count() == 5
        write(ledger, 1, start=5)
    with guarded(used) as ledger:
        assert ledger.count() == 6


def test_deleted_ledger_stops_the_run(used: Path) -> None:
    used.unlink()
    refused(used, "見つかりません")
    assert not used.exists()  # not silently recreated


def test_emptied_ledger_stops_the_run(used: Path) -> None:
    used.write_bytes(b"")
    refused(used, "空です")
    assert used.stat().st_size == 0


def test_an_older_copy_stops_the_run(used: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup.sqlite3"
    shutil.copyfile(used, backup)  # closed: checkpointed, the file alone is the whole ledger
    with guarded(used) as ledger:
        write(ledger, 3, start=5)
    shutil.copyfile(backup, used)
    refused(used, "古い状態")
    # Refusing never moves the copy forward: asking again, and again, still refuses.
    refused(used, "古い状態")
    refused(used, "古い状態")


def test_another_ledger_in_its_place_stops_the_run(used: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    with Ledger.open(other) as ledger:
        write(ledger, 50)  # even with more writes than ours
    shutil.copyfile(other, used)
    refused(used, "別のもの")


def test_a_missing_wal_after_a_crash_stops_the_run(used: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, time, uuid
        from pathlib import Path
        from kuden_xl.ledger import Ledger
        led = Ledger.open(Path(sys.argv[1]), guard=True)
        for i in range(20):
            ident = led.identity(f"0801234{i:04d}", "本文")
            led.reserve(ident, send_id=uuid.uuid4().hex, provider="sandbox", segments=1)
        print("ready", flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(used)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    finally:
        proc.kill()  # SIGKILL: no close, no checkpoint; its sends are in the -wal only
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    wal = used.with_name(used.name + "-wal")
    assert wal.stat().st_size > 0
    wal.unlink()
    refused(used, used.name + "-wal")


def test_after_a_crash_with_its_wal_the_ledger_opens(used: Path) -> None:
    script = (
        "import sys, time; from pathlib import Path; from kuden_xl.ledger import Ledger; "
        "Ledger.open(Path(sys.argv[1]), guard=True); print('ready', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(used)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    with guarded(used) as ledger:
        assert ledger.count() == 5


def test_a_damaged_page_stops_the_run(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger.open(path) as ledger:
        write(ledger, 2000)
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 20 * page
    data[-3 * page : -2 * page] = b"\x5a" * page  # one page of the sends table or its index
    path.write_bytes(bytes(data))
    with pytest.raises(LedgerError) as info:
        Ledger.open(path)
    assert str(path) in str(info.value) and "壊れています" in str(info.value)


def test_reset_accepts_the_ledger_as_it_is_on_purpose(used: Path) -> None:
    used.unlink()
    refused(used, "見つかりません")
    runner = CliRunner()
    declined = runner.invoke(cli, ["ledger", "reset"])
    assert declined.exit_code == 2 and "--i-understand" in declined.output
    refused(used, "見つかりません")  # nothing changed without the flag
    accepted = runner.invoke(cli, ["ledger", "reset", "--i-understand"])
    assert accepted.exit_code == 0, accepted.output
    assert str(used) in accepted.output and "記録 0 件" in accepted.output
    with guarded(used) as ledger:
        assert ledger.count() == 0
        write(ledger, 1)


def test_reset_never_deletes_sends(used: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup.sqlite3"
    shutil.copyfile(used, backup)
    with guarded(used) as ledger:
        write(ledger, 3, start=5)
    shutil.copyfile(backup, used)
    refused(used, "古い状態")
    accepted = CliRunner().invoke(cli, ["ledger", "reset", "--i-understand"])
    assert accepted.exit_code == 0 and "記録 5 件" in accepted.output
    with guarded(used) as ledger:
        assert ledger.count() == 5


def test_the_wal_does_not_keep_growing(tmp_path: Path) -> None:
    """A ledger another process keeps open (the Excel UDF server) never lets SQLite delete the
    WAL; each close checkpoints and truncates it instead of leaving it at its largest."""
    path = tmp_path / "ledger.sqlite3"
    wal = path.with_name(path.name + "-wal")
    with Ledger.open(path):  # idle, open all along
        for run in range(3):
            with Ledger.open(path) as ledger:
                write(ledger, 1500, start=run * 1500)
                assert wal.stat().st_size > 1_000_000  # one fsync'd page set per commit
            assert wal.stat().st_size == 0


def test_practice_ledger_is_not_guarded(
    tmp_path: Path, make_book: MakeBook, standalone_sandbox: StandaloneSandbox
) -> None:
    """The sandbox ledger protects practice only: deleting it must not block practice (a stop
    there would teach staff to reset the real guard by reflex)."""
    from test_send import BODY, recipients, send_cmd

    book = make_book(recipients(1), {"本文": BODY})
    assert send_cmd(book, standalone_sandbox, "--all", "--yes").returncode == 0
    practice = default_ledger_path(sandbox=True)
    assert practice.exists()
    practice.unlink()
    again = make_book(recipients(1), {"本文": BODY}, name="again.xlsx")
    run = send_cmd(again, standalone_sandbox, "--all", "--yes")
    assert run.returncode == 0, run.stderr


def test_demo_runs_twice_on_a_fresh_machine(tmp_path: Path) -> None:
    for name in ("one.xlsx", "two.xlsx"):
        result = CliRunner().invoke(cli, ["demo", str(tmp_path / name)])
        assert result.exit_code == 0, result.output


def test_a_v1_ledger_is_migrated_and_its_entries_keep_no_gateway(tmp_path: Path) -> None:
    """Ledgers written before v2 gain an id, a sequence and the gateway columns in place;
    their entries say "gateway unknown" (reconcile treats them conservatively)."""
    import sqlite3

    from kuden_xl.ledger.sqlite import SCHEMA

    path = tmp_path / "v1.sqlite3"
    v1 = "\n".join(line for line in SCHEMA.splitlines() if "gateway_" not in line)
    v1 = v1.replace("delivery_checked_at TEXT,", "delivery_checked_at TEXT")
    conn = sqlite3.connect(path)
    conn.executescript(v1)
    conn.execute("INSERT INTO meta VALUES ('secret', ?)", (b"k" * 32,))
    conn.execute(
        "INSERT INTO sends (send_id, number_hash, body_hash, segments, provider, state,"
        " reserved_at, os_user, workbook, sheet) VALUES ('s1', 'n', 'b', 1, 'sandbox',"
        " 'unknown', '2026-11-27T01:00:00.000000+00:00', 'u', 'book.xlsx', 'Sheet1')"
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with guarded(path) as ledger:
        [entry] = ledger.unsettled()
        assert entry.send_id == "s1" and entry.gateway is None and entry.provider == "sandbox"
        first_id = ledger.ledger_id
    with guarded(path) as ledger:
        assert ledger.ledger_id == first_id and ledger.count() == 1
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 2
