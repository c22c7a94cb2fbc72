"""Opening and closing a ledger file: the lost-ledger guard around SQLite, the holder lock.

``Ledger.open`` / ``Ledger.close`` (``store.py``) call these. Guarded, the marker (``marker.py``)
is checked before SQLite touches the file (it would recreate a missing one) and after it is read
(another ledger, an older copy), and recorded once this run's sequence is bumped and again on
close, with what the WAL then holds.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from pathlib import Path

from ..errors import KudenError, LedgerError
from . import marker
from .sqlite import (
    Holder,
    Meta,
    begin_run,
    checkpoint,
    connect,
    holders_dir,
    ledger_error,
    sequence,
)

log = logging.getLogger("kuden_xl.ledger")


def open_file(
    path: Path, busy_timeout_s: float, guard: bool
) -> tuple[sqlite3.Connection, Meta, Holder]:
    """The connection, what the ledger says of itself, and this instance's holder lock.

    Raises:
        LedgerLostError: (``guard``) the ledger is not the one this PC last saw.
        LedgerError: the file cannot be created or read, is not a ledger, is damaged, or is
            locked, or its folder cannot be written.
    """
    last = marker.seen(path) if guard else None
    marker.check_before(path, last)
    conn, meta = connect(path, busy_timeout_s)
    try:
        if guard:
            marker.check_after(path, last, meta.ledger_id, meta.sequence)
        run_sequence = begin_run(conn)
        if guard:
            marker.record(path, meta.ledger_id, run_sequence, wal=True)
        holder = Holder.create(holders_dir(path))
    except OSError as exc:
        conn.close()
        raise LedgerError(
            f"送信記録（台帳）のフォルダ「{path.parent}」に書き込めません（{exc.strerror}）。"
            f" / Cannot write beside the ledger."
        ) from exc
    except sqlite3.Error as exc:
        conn.close()
        raise ledger_error(path, exc) from exc
    except BaseException:
        conn.close()
        raise
    return conn, meta, holder


def close_file(
    path: Path, conn: sqlite3.Connection, holder: Holder, ledger_id: str, guarded: bool
) -> None:
    """Checkpoint the WAL into the file, close, release the holder, (guarded) tell the marker.

    Raises:
        LedgerError: closing the connection failed.
    """
    last: int | None = None
    try:
        with contextlib.suppress(sqlite3.Error):  # another writer: a later close does it
            checkpoint(conn)
        with contextlib.suppress(sqlite3.Error):
            last = sequence(conn)
        conn.close()
    except sqlite3.Error as exc:
        raise ledger_error(path, exc) from exc
    finally:
        holder.release()  # after the connection: nothing of ours is in flight now
        if guarded and last is not None:
            # Another process may still have it open: its WAL then stays, and says so.
            try:
                marker.record(path, ledger_id, last, marker.wal_has_data(path))
            except KudenError as exc:  # open proved the folder writable: log, go on
                log.warning("ledger marker not updated: %s", exc)
