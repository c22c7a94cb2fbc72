"""One run per workbook, however the jobs nest: each job that writes a workbook holds its lock.

A second flock on the same file is refused even in the same process (``oslock``), so a job
called inside ``connect`` (or another job) on the same workbook must not lock again. What the
current context (thread, task) holds is remembered in a ContextVar: another thread or process
still meets the OS lock and is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

# The lock keys (``books.lock.lock_keys``) of the workbooks this context holds.
_HELD: ContextVar[frozenset[str]] = ContextVar("kuden_xl_held_workbooks", default=frozenset())


@contextmanager
def holding(workbook: Path) -> Iterator[None]:
    """Hold ``workbook``'s run lock unless this context holds it already.

    Held means a key in common: the path's key survives an atomic save (a new file id), and a
    shared file id means the OS lock is ours either way.

    Raises:
        WorkbookLockedError: another run (thread or process) holds the workbook.
        DataDirError: the user data folder (where the locks live) cannot be written.
    """
    from ..books.lock import lock_keys, workbook_lock

    keys = frozenset(lock_keys(Path(workbook)))
    if keys & _HELD.get():
        yield
        return
    with workbook_lock(workbook):
        token = _HELD.set(_HELD.get() | keys)
        try:
            yield
        finally:
            _HELD.reset(token)
