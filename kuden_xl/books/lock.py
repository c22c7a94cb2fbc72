"""One run per workbook at a time: OS file locks, released by the OS when the process dies.

A run holds two locks, so that every way of reaching the same workbook is refused:

* one keyed on the file's identity (``st_dev`` + ``st_ino``: device and inode on POSIX; on
  Windows ``os.stat`` gives the volume serial number and the NTFS file id), so a hardlink or
  another path to the same file (a mapped drive and its UNC name) meets the same lock;
* one keyed on the resolved path, because an atomic save replaces the file: once a run has
  saved, the path names a new inode, and a second run on that path must still be refused.

Lock files live in the user's data directory (named by a hash of the key), not beside the
workbook: nothing is left in staff folders, and a SIGKILLed run never leaves the workbook stuck.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from ..errors import WorkbookLockedError
from ..oslock import try_lock, unlock
from ..paths import data_dir, ensure_dir


def lock_keys(workbook: Path) -> list[str]:
    """The keys a run on ``workbook`` locks: its file identity (when it has one) and its path.

    A file that does not exist yet (Excel's unsaved "Book1") or a file system that reports no
    file id (``st_ino`` 0, e.g. some network shares) is keyed on its path alone.
    """
    keys = []
    try:
        st = os.stat(workbook)
    except OSError:
        st = None
    if st is not None and st.st_ino:
        keys.append(f"id:{st.st_dev}:{st.st_ino}")
    keys.append("path:" + str(workbook.resolve()).casefold())
    return keys


def _lock_path(key: str) -> Path:
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return data_dir() / "locks" / f"{digest}.lock"


@contextmanager
def _hold(path: Path, workbook: Path) -> Iterator[None]:
    ensure_dir(path.parent)  # an unwritable data dir: a message naming it, not a traceback
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if not try_lock(fd):
            raise WorkbookLockedError(
                f"「{workbook.name}」は別の kuden-xl の処理で使用中です（別の場所やリンクから"
                "開いた同じファイルを含みます）。終わるのを待ってから、もう一度実行してください。"
                " / Another kuden-xl run is using this workbook (perhaps through another path).",
                path=workbook,
            )
        try:
            yield
        finally:
            unlock(fd)
    finally:
        os.close(fd)


@contextmanager
def workbook_lock(workbook: Path) -> Iterator[None]:
    """Hold the workbook's run locks; raise at once if another run holds either.

    Raises:
        WorkbookLockedError: another kuden-xl run is using this workbook, through this path or
            another path to the same file.
        DataDirError: the user data folder (where the locks live) cannot be written.
    """
    with ExitStack() as stack:
        for key in lock_keys(Path(workbook)):
            stack.enter_context(_hold(_lock_path(key), Path(workbook)))
        yield
