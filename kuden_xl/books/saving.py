"""Atomic saves that keep the file the user's: temp file beside it, mode and owner kept, symlinks.

A save writes ``.~kuden-<pid>-<random><suffix>`` in the folder of the file it replaces (the
symlink's target, so the link stays a link), copies the original's mode (and owner where the
process may set it), flushes it to disk and renames it over the original. A process killed during a
save leaves its temp file behind; ``remove_stale_temps`` deletes those whose process is gone.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import stat
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import WorkbookSaveError

TEMP_PREFIX = ".~kuden-"
# Ours: .~kuden-<pid>-<token><suffix>; before pids were in the name: .~kuden-<mkstemp 8 chars>.
_TEMP_NAME = re.compile(r"\.~kuden-(?:(\d+)-[0-9a-f]{8}|[a-z0-9_]{8})\.(?:xlsx|xlsm|xltx|xltm)")
_LEGACY_AGE_S = 3600.0  # a temp file without a pid is a crash's once it is this old

if sys.platform == "win32":
    import ctypes

    def pid_alive(pid: int) -> bool:
        """Whether a process ``pid`` exists (never signals it: os.kill would end it on Windows)."""
        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return bool(kernel32.GetLastError() == 5)  # access denied: it exists
        try:
            code = ctypes.c_ulong()
            kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)

else:

    def pid_alive(pid: int) -> bool:
        """Whether a process ``pid`` exists."""
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def real_target(path: Path) -> Path:
    """The file a save replaces: the end of a symlink chain, so the link itself stays."""
    return Path(os.path.realpath(path))


def temp_path(folder: Path, suffix: str) -> Path:
    return folder / f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}{suffix}"


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete our temp files in ``folder`` whose process is gone (a crash or kill mid-save).

    A temp file names its process; one of a live process (another run saving another workbook)
    is left alone. Files from before pids were in the name go once an hour old.
    """
    removed: list[Path] = []
    try:
        names = [e for e in os.scandir(folder) if e.name.startswith(TEMP_PREFIX)]
    except OSError:
        return removed
    for entry in names:
        m = _TEMP_NAME.fullmatch(entry.name)
        if m is None or not entry.is_file(follow_symlinks=False):
            continue
        if m.group(1) is not None:
            pid = int(m.group(1))
            if pid == os.getpid() or pid_alive(pid):
                continue
        else:
            try:
                if time.time() - entry.stat().st_mtime < _LEGACY_AGE_S:
                    continue
            except OSError:
                continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def _new_file(path: Path) -> Iterator[BinaryIO]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    with os.fdopen(fd, "wb") as f:
        yield f


def _keep_owner_and_mode(tmp: Path, original: Path) -> None:
    """Give ``tmp`` the mode (and, where allowed, the owner and group) of ``original``."""
    try:
        st = os.stat(original)
    except FileNotFoundError:
        return  # a new file (--output): the umask decided its mode, like any new file
    if hasattr(os, "chown"):
        for uid, gid in ((st.st_uid, st.st_gid), (-1, st.st_gid)):
            try:
                os.chown(tmp, uid, gid)
                break
            except OSError:  # not root, or not a member of that group: keep ours
                continue
    os.chmod(tmp, stat.S_IMODE(st.st_mode))


def _why(target: Path, exc: OSError) -> str:
    """Why ``target`` cannot be saved, in Japanese."""
    folder = target.parent
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return f"フォルダ「{folder}」のディスクの空き容量が足りないため、「{target.name}」を保存できません"
    if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        return f"フォルダ「{folder}」にファイルを作成・書き込みできないため、「{target.name}」を保存できません"
    return f"「{target.name}」を保存できません（{exc.strerror or exc}）"


def _cannot_save(target: Path, exc: OSError) -> WorkbookSaveError:
    return WorkbookSaveError(f"{_why(target, exc)}。 / Cannot save {target}: {exc}")


def save_atomically(target: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write a new version of ``target`` through ``write`` and put it in place atomically.

    Raises:
        WorkbookSaveError: the temp file could not be written or renamed (``target`` unchanged).
    """
    real = real_target(target)
    tmp = temp_path(real.parent, real.suffix)
    try:
        with _new_file(tmp) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        _keep_owner_and_mode(tmp, real)
        os.replace(tmp, real)
    except OSError as exc:
        raise _cannot_save(real, exc) from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    if sys.platform != "win32":  # the rename itself reaches the disk
        with contextlib.suppress(OSError):
            fd = os.open(real.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def preflight(target: Path, source: Path, trial: Callable[[BinaryIO], None]) -> None:
    """Before anything is sent: prove the save this run will need can be made.

    Removes our stale temp files, then creates the temp file a save will use, writes a trial
    version of the workbook into it (``trial``) and removes it; the folder must also have at
    least twice the workbook's size free.

    Raises:
        WorkbookSaveError: the folder cannot take the save; nothing was sent.
    """
    real = real_target(target)
    folder = real.parent
    for place in {folder, real_target(source).parent}:
        remove_stale_temps(place)
    try:
        size = os.path.getsize(source)
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        raise _cannot_save(real, exc) from exc
    if free < 2 * size:
        raise WorkbookSaveError(
            f"フォルダ「{folder}」のディスクの空き容量が足りないため、結果を保存できません"
            f"（空き {free / 1e6:.1f} MB、必要 {2 * size / 1e6:.1f} MB 以上）。"
            "空き容量を増やしてから、もう一度実行してください。何も送信していません。"
            f" / Not enough free space in {folder} to save results; nothing was sent."
        )
    tmp = temp_path(folder, real.suffix)
    try:
        with _new_file(tmp) as f:
            trial(f)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise WorkbookSaveError(
            f"{_why(real, exc)}。送信を始める前に確認したため、何も送信していません。"
            f" / Cannot save {real} ({exc}); nothing was sent."
        ) from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
