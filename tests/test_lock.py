"""One run per workbook: a second path to the same file (a hardlink) is refused like a second run.

The lock holder is a real separate process; the contender is this process or the CLI in a
third one. No timing: the holder says "locked" once it holds the lock and holds it until its
stdin closes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import MakeBook, mobile

from kuden_xl.books.lock import workbook_lock
from kuden_xl.errors import WorkbookLockedError

Hold = Callable[[Path], None]  # hold the lock of a workbook in another process

_HOLDER = """
import sys
from pathlib import Path
from kuden_xl.books.lock import workbook_lock
with workbook_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def hold_lock() -> Iterator[Hold]:
    procs: list[subprocess.Popen[str]] = []

    def hold(path: Path) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"

    yield hold
    for proc in procs:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        proc.wait(timeout=10)
        proc.stdout.close()


def _book(make_book: MakeBook) -> Path:
    return make_book([["電話番号"], [mobile(1)]], {"本文": "テスト"})


def test_a_hardlink_to_a_locked_workbook_is_refused(make_book: MakeBook, hold_lock: Hold) -> None:
    book = _book(make_book)
    link = book.with_name("link.xlsx")
    os.link(book, link)
    hold_lock(book)
    with pytest.raises(WorkbookLockedError, match="使用中"):
        with workbook_lock(link):
            pass


def test_cli_send_through_a_hardlink_is_refused_and_sends_nothing(
    make_book: MakeBook,
    hold_lock: Hold,
) -> None:
    book = _book(make_book)
    link = book.parent / "別名" / "link.xlsx"
    link.parent.mkdir()
    os.link(book, link)
    hold_lock(book)
    before = book.read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "kuden_xl", "send", str(link), "--all", "--yes"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "使用中" in proc.stderr and "Traceback" not in proc.stderr
    assert book.read_bytes() == before


def test_the_same_path_stays_locked_after_the_file_is_replaced(
    make_book: MakeBook,
    hold_lock: Hold,
) -> None:
    """An atomic save gives the path a new inode; the run that saved still owns the path."""
    book = _book(make_book)
    hold_lock(book)
    copy = book.with_name("copy.xlsx")
    shutil.copyfile(book, copy)
    os.replace(copy, book)
    with pytest.raises(WorkbookLockedError):
        with workbook_lock(book):
            pass


def test_different_files_do_not_block_each_other(make_book: MakeBook, hold_lock: Hold) -> None:
    book = _book(make_book)
    other = book.with_name("other.xlsx")
    shutil.copyfile(book, other)
    hold_lock(book)
    entered = False
    with workbook_lock(other):
        entered = True
        with pytest.raises(WorkbookLockedError):  # the held one stays held meanwhile
            with workbook_lock(book):
                pass
    assert entered


def test_lock_keys_name_the_file_id_and_the_path(make_book: MakeBook, tmp_path: Path) -> None:
    from kuden_xl.books.lock import lock_keys

    book = _book(make_book)
    st = os.stat(book)
    assert lock_keys(book)[0] == f"id:{st.st_dev}:{st.st_ino}"
    missing = tmp_path / "Book1"
    assert [k.split(":", 1)[0] for k in lock_keys(missing)] == ["path"]


def test_the_lock_error_names_the_workbook_for_a_program(
    make_book: MakeBook, hold_lock: Hold
) -> None:
    book = _book(make_book)
    hold_lock(book)
    with pytest.raises(WorkbookLockedError) as caught:
        with workbook_lock(book):
            pass
    assert caught.value.path == book and caught.value.sheet is None
