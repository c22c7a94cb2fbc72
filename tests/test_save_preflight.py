"""The save is proven possible before the first message, a failed save stops sending, temp files
of a killed run are cleaned up, and a save keeps the file's mode, owner and symlinks.

Real faults only: a real small filesystem (tmpfs, mounted as root) that is full, a folder the run
may not write to (the run as the unprivileged user ``nobody`` through ``setpriv``, because root
bypasses permission checks), a real process killed with SIGKILL.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import MakeBook, StandaloneSandbox, mobile

IN_WINDOW = "2026-11-27T10:00:00"
BODY = "【○○市】{氏名}様 お知らせです"
NOBODY = 65534


def recipients(n: int) -> list[list[Any]]:
    # Last two digits 10-99: numbers that trigger no sandbox fault.
    return [["氏名", "電話番号"]] + [
        [f"住民{i}", mobile(1010 + i % 90 + i // 90 * 100)] for i in range(n)
    ]


def send_cli(
    book: Path, sandbox: StandaloneSandbox, *args: str, env: dict[str, str] | None = None,
    user: int | None = None,
) -> subprocess.CompletedProcess[str]:  # fmt: skip
    prefix = []
    if user is not None:
        prefix = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]
    return subprocess.run(
        [*prefix, sys.executable, "-m", "kuden_xl", "send", str(book), "--yes", *args]
        + ["--base-url", sandbox.url],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "KUDEN_XL_NOW": IN_WINDOW, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def codes(path: Path) -> dict[int, Any]:
    ws = openpyxl.load_workbook(path)["送信リスト"]
    header = [c.value for c in ws[1]]
    col = header.index("結果コード") if "結果コード" in header else None
    return {
        r: (row[col] if col is not None else None)
        for r, row in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2)
    }


def temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".~kuden-"))


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 2 MB filesystem (tmpfs), so that it can be filled; needs root (CI runs as root)."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root on Linux")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace')}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(folder: Path, leave: int = 0) -> Path:
    """Write zeros into ``folder`` until its filesystem has at most ``leave`` bytes free."""
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        while shutil.disk_usage(folder).free > leave:
            chunk = min(1 << 16, max(4096, shutil.disk_usage(folder).free - leave))
            try:
                os.write(fd, b"\0" * chunk)
            except OSError:
                break
    finally:
        os.close(fd)
    return filler


def test_full_disk_is_refused_before_the_first_message(
    small_disk: Path, make_book: MakeBook, standalone_sandbox: StandaloneSandbox
) -> None:
    made = make_book(recipients(300), {"本文": BODY})
    book = small_disk / "book.xlsx"
    shutil.copyfile(made, book)
    size = book.stat().st_size
    fill(small_disk, leave=int(1.5 * size))  # room for one more copy, not for two
    before = book.read_bytes()
    run = send_cli(book, standalone_sandbox, "--all")
    assert run.returncode == 2, run.stderr
    assert "空き容量" in run.stderr and str(small_disk) in run.stderr, run.stderr
    assert "何も送信していません" in run.stderr and "Traceback" not in run.stderr
    assert standalone_sandbox.messages() == []
    assert book.read_bytes() == before and temps(small_disk) == []


def nobody_can_run_kuden() -> bool:
    """Whether ``nobody`` can run this interpreter with kuden_xl (CI's venv may be private)."""
    if shutil.which("setpriv") is None:
        return False
    probe = subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        + [sys.executable, "-c", "import kuden_xl"],
        capture_output=True,
        cwd="/",
    )
    return probe.returncode == 0


def test_unwritable_folder_is_refused_before_the_first_message(
    make_book: MakeBook, standalone_sandbox: StandaloneSandbox
) -> None:
    """A folder the run may not write to. Root bypasses permissions, so the run is made as
    ``nobody`` on a folder of root's (mode 555); where ``nobody`` cannot run this interpreter
    (a private venv), the folder is made read-only for root too by a read-only bind mount."""
    if os.geteuid() != 0:
        pytest.skip("needs root: to run the send as nobody, or to mount the folder read-only")
    base = Path(tempfile.mkdtemp(prefix="kuden-ro-"))
    mounted = False
    try:
        base.chmod(0o755)
        folder = base / "読み取り専用"
        folder.mkdir()
        book = folder / "book.xlsx"
        shutil.copyfile(make_book(recipients(3), {"本文": BODY}), book)
        book.chmod(0o666)  # the file itself is writable: the folder is not
        data = base / "data"
        data.mkdir()
        os.chown(data, NOBODY, NOBODY)
        env = {
            "KUDEN_XL_DATA_DIR": str(data),
            "KUDEN_XL_LEDGER": str(data / "ledger.sqlite3"),
            "KUDEN_XL_CONFIG": str(data / "none.toml"),
            "HOME": str(data),
        }
        user: int | None = NOBODY
        if nobody_can_run_kuden():
            folder.chmod(0o555)
        else:
            user = None
            for command in (
                ["mount", "--bind", str(folder), str(folder)],
                ["mount", "-o", "remount,bind,ro", str(folder)],
            ):
                done = subprocess.run(command, capture_output=True)
                mounted = mounted or done.returncode == 0
                if done.returncode != 0:
                    pytest.skip("nobody cannot run this venv and a read-only bind mount failed")
        before = book.read_bytes()
        run = send_cli(book, standalone_sandbox, "--all", env=env, user=user)
        assert run.returncode == 2, run.stdout + run.stderr
        assert str(folder) in run.stderr and "書き込み" in run.stderr, run.stderr
        assert "何も送信していません" in run.stderr and "Traceback" not in run.stderr
        assert "予期しない" not in run.stderr
        assert standalone_sandbox.messages() == []
        assert book.read_bytes() == before
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=False)
        shutil.rmtree(base, ignore_errors=True)


class FillsTheDisk:
    """The real sandbox gateway; after the ``after``-th message it fills the workbook's disk."""

    def __init__(self, inner: Any, folder: Path, after: int):
        self._inner, self._folder, self._after, self._sent = inner, folder, after, 0
        # Workers send in parallel: an unlocked ``+= 1`` could skip the count that fills the disk.
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def send(self, message: Any) -> Any:
        receipt = self._inner.send(message)
        with self._lock:
            self._sent += 1
            if self._sent == self._after:
                fill(self._folder)
        return receipt


def test_a_save_failing_mid_run_stops_sending_and_the_next_run_writes_back(
    small_disk: Path,
    make_book: MakeBook,
    standalone_sandbox: StandaloneSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kuden_xl import jobs
    from kuden_xl.books.xlsx import XlsxTable
    from kuden_xl.dispatch import DispatchSettings
    from kuden_xl.errors import WorkbookSaveError
    from kuden_xl.gateways.registry import open_gateway
    from kuden_xl.ledger import Ledger, default_ledger_path
    from kuden_xl.schema import DEFAULT_GUARD

    monkeypatch.setenv("KUDEN_XL_NOW", IN_WINDOW)
    # Save after every result, so the first save after the disk fills is the next one.
    monkeypatch.setattr(jobs.SavePacer, "MIN_INTERVAL_S", 0.0)
    monkeypatch.setattr(jobs.SavePacer, "BUDGET", float("inf"))
    total = 40
    book = small_disk / "book.xlsx"
    shutil.copyfile(make_book(recipients(total), {"本文": BODY}), book)
    settings = DispatchSettings(concurrency=2, guard=DEFAULT_GUARD)
    with (
        open_gateway("sandbox", base_url=standalone_sandbox.url) as gateway,
        Ledger.open(default_ledger_path(sandbox=True)) as ledger,
    ):
        with pytest.raises(WorkbookSaveError) as stopped:
            jobs.send(
                XlsxTable(book),
                FillsTheDisk(gateway, small_disk, after=5),  # type: ignore[arg-type]
                ledger,
                rows=None,
                confirm=lambda plan: True,
                settings=settings,
            )
    sent = len(standalone_sandbox.messages())
    # Stopped at once: past the 5th, only messages already handed to the workers went out.
    assert 5 <= sent <= 5 + 2 * settings.concurrency < total
    message = str(stopped.value)
    assert f"{sent} 件を送信しました" in message and "書き戻" in message, message
    assert str(small_disk) in message
    assert temps(small_disk) == []
    saved = codes(book)  # the workbook is whole: the failed save never replaced it
    assert sum(v == "ACCEPTED" for v in saved.values()) < sent

    (small_disk / "filler.bin").unlink()
    with (
        open_gateway("sandbox", base_url=standalone_sandbox.url) as gateway,
        Ledger.open(default_ledger_path(sandbox=True)) as ledger,
    ):
        jobs.send(XlsxTable(book), gateway, ledger, rows=None, confirm=lambda plan: True)
    received = [m["to"] for m in standalone_sandbox.messages()]
    assert len(received) == len(set(received)) == total  # the sent ones were not sent again
    assert set(codes(book).values()) == {"ACCEPTED"}


def test_temp_files_of_a_killed_run_are_removed_on_the_next_run(
    tmp_path: Path, make_book: MakeBook, standalone_sandbox: StandaloneSandbox
) -> None:
    book = make_book(recipients(2), {"本文": BODY})
    folder = book.parent
    # A save in progress, killed: the child makes the temp file a save makes, then dies.
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from kuden_xl.books import saving;"
            "p = saving.temp_path(Path(sys.argv[1]), '.xlsx'); p.write_bytes(b'PK\\x03\\x04');"
            "print(p.name, flush=True); sys.stdin.read()",
            str(folder),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    killed = child.stdout.readline().strip()
    child.send_signal(signal.SIGKILL)
    child.communicate()
    # One from a version that named temp files like tempfile.mkstemp, an hour old.
    legacy = folder / ".~kuden-k2j4_x9a.xlsx"
    legacy.write_bytes(b"PK")
    old = time.time() - 7200
    os.utime(legacy, (old, old))
    # One of a run that is still saving (a live process): it must stay.
    alive = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        live = folder / f".~kuden-{alive.pid}-0123abcd.xlsx"
        live.write_bytes(b"PK")
        other = folder / "notes.xlsx"
        other.write_bytes(b"not ours")
        assert killed in temps(folder) and legacy.name in temps(folder)

        run = send_cli(book, standalone_sandbox, "--all")
        assert run.returncode == 0, run.stderr
        assert temps(folder) == [live.name] and other.exists()
        assert codes(book) == {2: "ACCEPTED", 3: "ACCEPTED"}
    finally:
        alive.kill()
        alive.communicate()


def test_a_save_keeps_the_files_mode_and_owner(
    make_book: MakeBook, standalone_sandbox: StandaloneSandbox
) -> None:
    book = make_book(recipients(2), {"本文": BODY})
    book.chmod(0o640)
    if os.geteuid() == 0:
        os.chown(book, NOBODY, NOBODY)  # root may give the new file the same owner
    run = send_cli(book, standalone_sandbox, "--all")
    assert run.returncode == 0, run.stderr
    st = book.stat()
    assert stat.S_IMODE(st.st_mode) == 0o640
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY)
    assert codes(book) == {2: "ACCEPTED", 3: "ACCEPTED"}
    assert temps(book.parent) == []


def test_a_symlinked_workbook_is_written_through_and_stays_a_link(
    tmp_path: Path, make_book: MakeBook, standalone_sandbox: StandaloneSandbox
) -> None:
    real_dir = tmp_path / "共有"
    real_dir.mkdir()
    real = real_dir / "名簿.xlsx"
    shutil.move(make_book(recipients(2), {"本文": BODY}), real)
    links = tmp_path / "links"
    links.mkdir()
    link = links / "名簿.xlsx"
    link.symlink_to(Path("..") / "共有" / "名簿.xlsx")
    run = send_cli(link, standalone_sandbox, "--all")
    assert run.returncode == 0, run.stderr
    assert link.is_symlink() and os.readlink(link) == str(Path("..") / "共有" / "名簿.xlsx")
    assert codes(real) == {2: "ACCEPTED", 3: "ACCEPTED"}
    assert temps(real_dir) == [] and temps(links) == []
