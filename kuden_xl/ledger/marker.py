"""The marker: which ledger, at which sequence, this PC last saw at each ledger path (DESIGN §6).

A ledger that silently disappears takes its protection with it: deleted, truncated, restored
from an older copy, or stripped of its ``-wal``, it would be recreated or read as if nothing had
been sent, and every row it protected sent again. So a small JSON file outside the database, in
the user data dir, remembers per ledger path the ledger's random id, the highest sequence seen
(bumped by every open and every committed write batch) and whether its WAL may hold committed
data. ``check_before`` / ``check_after`` stop a run on a ledger that does not match;
``accept`` records the ledger as it is now, which only ``kuden-xl ledger reset --i-understand``
does for a mismatch.

No marker entry (the first open on this PC, or a new ledger path) is accepted silently: there is
nothing to compare with. Writes are atomic (temp file + replace) under an OS lock, and the
sequence only ever rises, so concurrent runs on one ledger cannot move the marker back.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import LedgerError, LedgerLostError
from ..oslock import try_lock, unlock
from ..paths import data_dir, ensure_dir

MARKER_NAME = "ledger-marker.json"
RESET_COMMAND = "kuden-xl ledger reset --i-understand"
LOCK_WAIT_S = 10.0  # a marker update takes milliseconds; longer means a stuck process


@dataclass(frozen=True)
class Seen:
    """What this PC last saw of the ledger at one path."""

    ledger_id: str
    sequence: int
    wal: bool  # the last session may have left committed data in <ledger>-wal


def marker_path() -> Path:
    return data_dir() / MARKER_NAME


def wal_path(ledger: Path) -> Path:
    return ledger.with_name(ledger.name + "-wal")


def wal_has_data(ledger: Path) -> bool:
    """Whether ``<ledger>-wal`` holds anything (a clean last close deletes or empties it)."""
    try:
        return wal_path(ledger).stat().st_size > 0
    except OSError:
        return False


def _key(ledger: Path) -> str:
    return os.path.normcase(str(ledger.resolve()))


def _load() -> dict[str, dict[str, object]]:
    try:
        data = json.loads(marker_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # none yet (or unreadable: nothing to compare with, rewritten on close)
    return data if isinstance(data, dict) else {}


def seen(ledger: Path) -> Seen | None:
    """What this PC last saw at ``ledger``; None on the first open there.

    Raises:
        DataDirError: the user data folder cannot be written.
    """
    with _locked():  # Windows cannot replace a file someone is reading: read under the lock
        entry = _load().get(_key(ledger))
    if not isinstance(entry, dict):
        return None
    ledger_id, sequence, wal = entry.get("id"), entry.get("sequence"), entry.get("wal")
    if not isinstance(ledger_id, str) or not isinstance(sequence, int):
        return None
    return Seen(ledger_id, sequence, wal is True)


def _lost(ledger: Path, what_ja: str, what_en: str) -> LedgerLostError:
    return LedgerLostError(
        f"送信記録（台帳）のファイル「{ledger}」{what_ja}。このまま送ると、記録されていた送信を"
        "もう一度送ってしまうおそれがあるため中止しました。バックアップから最新の台帳を元の場所に"
        f"戻してください。意図して今の台帳で続ける場合だけ `{RESET_COMMAND}` を実行してください。"
        f" / Ledger {what_en}; run `{RESET_COMMAND}` to accept it on purpose."
    )


def check_before(ledger: Path, last: Seen | None) -> None:
    """What can be told before SQLite touches the file (it would recreate a missing one).

    Raises:
        LedgerLostError: the file is missing or empty, or its WAL is gone while it may have
            held committed data.
    """
    if last is None:
        return
    if not ledger.exists():
        raise _lost(ledger, "が見つかりません（削除または移動されました）", "is missing")
    if ledger.stat().st_size == 0:
        raise _lost(ledger, "が空です（0 バイト）", "is empty (0 bytes)")
    if last.wal and not wal_path(ledger).exists():
        raise _lost(
            ledger,
            f"の書き込み途中の記録（{wal_path(ledger).name}）がありません",
            "has lost its -wal file holding committed sends",
        )


def check_after(ledger: Path, last: Seen | None, ledger_id: str, sequence: int) -> None:
    """What can be told once the file is open: another ledger, or an older copy.

    ``sequence`` is the ledger's before this open bumped it.

    Raises:
        LedgerLostError: another ledger than last seen, or an older state of it.
    """
    if last is None:
        return
    if ledger_id != last.ledger_id:
        raise _lost(
            ledger, "が、前回この PC で使った台帳とは別のものに置き換わっています", "was replaced"
        )
    if sequence < last.sequence:
        raise _lost(
            ledger,
            "が、前回この PC で使ったときより古い状態です（古いコピーから戻された可能性）",
            f"is older than last seen (sequence {sequence} < {last.sequence})",
        )


def record(ledger: Path, ledger_id: str, sequence: int, wal: bool, *, reset: bool = False) -> None:
    """Remember the ledger at ``ledger``; the sequence only rises unless ``reset``.

    Raises:
        DataDirError: the user data folder cannot be written.
    """
    with _locked():
        data = _load()
        key = _key(ledger)
        old = data.get(key)
        if (
            not reset
            and isinstance(old, dict)
            and old.get("id") == ledger_id
            and isinstance(old.get("sequence"), int)
        ):
            sequence = max(sequence, int(old["sequence"]))  # type: ignore[call-overload]
        data[key] = {"id": ledger_id, "sequence": sequence, "wal": wal}
        _write(data)


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """One writer of the marker at a time (the OS drops the lock if the process dies)."""
    folder = ensure_dir(data_dir())
    fd = os.open(folder / (MARKER_NAME + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + LOCK_WAIT_S
        while not try_lock(fd):  # held only for a read-modify-write of a small file
            if time.monotonic() > deadline:
                raise LedgerError(
                    f"送信記録（台帳）の確認用ファイル「{marker_path()}」が他の処理で使用中です。"
                    "しばらく待ってからやり直してください。 / Ledger marker is locked."
                )
            time.sleep(0.005)
        try:
            yield
        finally:
            unlock(fd)
    finally:
        os.close(fd)


def _write(data: dict[str, dict[str, object]]) -> None:
    target = marker_path()
    fd, temp = tempfile.mkstemp(prefix=".ledger-marker-", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
