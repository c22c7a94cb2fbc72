"""One run per workbook at a time: an OS file lock, released by the OS when the process dies.

The lock file lives in the user's data directory (named by a hash of the workbook's resolved
path), not beside the workbook: nothing is left in staff folders, and a SIGKILLed run never
leaves the workbook stuck.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import WorkbookLockedError
from ..oslock import try_lock, unlock
from ..paths import data_dir, ensure_dir


def _lock_path(workbook: Path) -> Path:
    key = hashlib.sha256(str(workbook.resolve()).casefold().encode()).hexdigest()[:24]
    return data_dir() / "locks" / f"{key}.lock"


@contextmanager
def workbook_lock(workbook: Path) -> Iterator[None]:
    """Hold the workbook's run lock; raise at once if another run holds it.

    Raises:
        WorkbookLockedError: another kuden-xl run is using this workbook.
        DataDirError: the user data folder (where the lock lives) cannot be written.
    """
    path = _lock_path(workbook)
    ensure_dir(path.parent)  # an unwritable data dir: a message naming it, not a traceback
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if not try_lock(fd):
            raise WorkbookLockedError(
                f"「{workbook.name}」は別の kuden-xl の処理で使用中です。終わるのを待ってから、"
                "もう一度実行してください。 / Another kuden-xl run is using this workbook."
            )
        try:
            yield
        finally:
            unlock(fd)
    finally:
        os.close(fd)
