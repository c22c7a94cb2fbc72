"""SQLite plumbing of the send ledger: schema, opening, group commit, holder locks, errors.

``ledger.py`` is the API; this module is what makes it safe and fast on one SQLite file:

- ``connect``: WAL, ``synchronous=FULL`` (a commit is on disk when it returns: a reservation
  survives a process kill *and* a power cut), busy timeout, schema checked by ``user_version``.
- ``commit``: group commit. Worker threads queue their writes; whoever next holds the
  connection commits every queued write in one transaction (one fsync for many threads). Each
  write still returns only after the transaction holding it committed.
- ``Holder``: each open Ledger keeps an OS lock on its own file in ``<ledger>.holders/``. The OS
  drops it when the process dies, SIGKILL included, which tells a crash's leftover reservation
  from one a live run is sending right now.
- ``ledger_error``: what SQLite said, as a Japanese message naming the file.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..errors import LedgerError
from ..oslock import try_lock, unlock

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 10.0

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE sends (
    seq INTEGER PRIMARY KEY,            -- insertion order: 'newest' even under a fixed clock
    send_id TEXT NOT NULL UNIQUE,       -- ours: the idempotency key at the provider
    number_hash TEXT NOT NULL,          -- HMAC-SHA256(secret, 'n:' + number), hex
    body_hash TEXT NOT NULL,            -- HMAC-SHA256(secret, 'b:' + body), hex
    segments INTEGER NOT NULL,
    provider TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN
        ('reserved', 'accepted', 'scheduled', 'rejected', 'failed', 'unknown')),
    code TEXT,                          -- ResultCode once settled
    message_id TEXT,                    -- the provider's
    reason TEXT,
    reserved_at TEXT NOT NULL,          -- UTC ISO-8601: when the request was about to leave
    settled_at TEXT,
    scheduled_at TEXT,                  -- UTC ISO-8601: the provider delivers then
    os_user TEXT NOT NULL,
    holder TEXT,                        -- the Ledger instance that reserved it (liveness)
    workbook TEXT NOT NULL,
    sheet TEXT NOT NULL,
    row INTEGER,
    delivery TEXT,                      -- Delivery value (配信結果)
    delivery_reason TEXT,
    delivery_checked_at TEXT
);
CREATE INDEX sends_identity ON sends (number_hash, body_hash);
CREATE INDEX sends_open ON sends (state) WHERE state IN ('reserved', 'unknown');
CREATE INDEX sends_message_id ON sends (message_id) WHERE message_id IS NOT NULL;
"""


def connect(path: Path, busy_timeout_s: float) -> tuple[sqlite3.Connection, bytes]:
    """Open (creating if missing) the ledger file; the connection and the ledger's secret.

    Raises:
        LedgerError: the file cannot be created or read, is not a ledger, or is locked.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LedgerError(
            f"送信記録（台帳）のフォルダ「{path.parent}」を作成できません（{exc.strerror}）。"
            f" / Cannot create the ledger folder."
        ) from exc
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(
            str(path),
            timeout=busy_timeout_s,
            isolation_level=None,  # autocommit; transactions are explicit BEGIN IMMEDIATE
            check_same_thread=False,  # shared by worker threads, always under the Ledger's lock
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL").fetchone()
        conn.execute("PRAGMA synchronous = FULL")
        return conn, _prepare(conn, path)
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        raise ledger_error(path, exc) from exc
    except BaseException:
        if conn is not None:
            conn.close()
        raise


def _prepare(conn: sqlite3.Connection, path: Path) -> bytes:
    """Create the schema on a new file, check it on an existing one; return the secret."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables:
                raise LedgerError(
                    f"「{path}」は送信記録（台帳）ではないデータベースです。"
                    f" / Not a kuden_xl ledger: an unrelated SQLite database."
                )
            for statement in SCHEMA.split(";\n"):  # no ";" inside the comments
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('secret', ?)", (secrets.token_bytes(32),)
            )
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif version > SCHEMA_VERSION:
            raise LedgerError(
                f"送信記録（台帳）「{path}」は新しい版の kuden_xl で作られています。"
                f"kuden_xl を更新してください。 / Ledger schema v{version} is newer than"
                f" this kuden_xl (v{SCHEMA_VERSION})."
            )
        row = conn.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
        if row is None or len(row[0]) != 32:
            raise LedgerError(
                f"送信記録（台帳）「{path}」が壊れています（鍵がありません）。"
                f" / Ledger has no secret."
            )
        conn.execute("COMMIT")
        return bytes(row[0])
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


HOLDER_ID = re.compile(r"[0-9a-f]{32}")


def holders_dir(path: Path) -> Path:
    return path.with_name(path.name + ".holders")


class Holder:
    """An open Ledger's liveness mark: a file it keeps OS-locked until it closes or dies."""

    def __init__(self, holder_id: str, path: Path, fd: int) -> None:
        self.id, self.path, self._fd = holder_id, path, fd

    @classmethod
    def create(cls, folder: Path) -> Holder:
        folder.mkdir(exist_ok=True)
        holder_id = uuid.uuid4().hex
        path = folder / f"{holder_id}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if not try_lock(fd):  # a fresh random name: nobody else can hold it
            os.close(fd)
            raise OSError(0, "cannot lock a new holder file")
        return cls(holder_id, path, fd)

    def release(self) -> None:
        try:
            unlock(self._fd)
        finally:
            os.close(self._fd)
        with contextlib.suppress(OSError):
            self.path.unlink()

    @staticmethod
    def alive(path: Path) -> bool:
        """Whether someone holds the lock file at ``path``; a dead holder's file is removed."""
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False  # closed cleanly (or already cleaned up): nothing in flight
        except OSError:
            return True  # cannot tell: the safe answer
        try:
            if not try_lock(fd):
                return True
            unlock(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(OSError):
            path.unlink()
        return False


@dataclass
class Job:
    """One queued write; ``done`` and the results are set under the connection lock."""

    sql: str
    args: tuple[object, ...]
    rowcount: int = 0
    error: sqlite3.Error | None = None
    done: bool = False


def commit(conn: sqlite3.Connection, batch: list[Job]) -> None:
    """Run ``batch`` in one transaction. A statement's own error (a duplicate send id) fails
    that job only; an error that ends the transaction fails every job in it."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        for job in batch:
            try:
                job.rowcount = conn.execute(job.sql, job.args).rowcount
            except sqlite3.Error as exc:
                job.error = exc
                if not conn.in_transaction:  # SQLite rolled the whole transaction back
                    raise
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the original error is the one worth reporting
        for job in batch:
            job.error = job.error or exc
    finally:
        for job in batch:
            job.done = True


# What SQLite said -> what the user reads (after "送信記録（台帳）のファイル「path」").
ERROR_TEXTS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("locked", "busy"), "は他の処理が使用中です。しばらく待ってからやり直してください", "locked"),
    (
        ("not a database", "malformed", "encrypted"),
        "は送信記録のファイルではないか、壊れています",
        "not a ledger, or damaged",
    ),
    (("full",), "に書き込めません。ディスクの空き容量が足りません", "disk full"),
    (("readonly", "read-only"), "は読み取り専用のため書き込めません", "read-only"),
    (("unable to open",), "を開けません", "cannot open"),
    (("disk i/o",), "の読み書きでディスクのエラーが起きました", "disk I/O error"),
)


def ledger_error(path: Path, exc: sqlite3.Error) -> LedgerError:
    """A Japanese message naming the file, chosen by what SQLite said."""
    text = str(exc).lower()
    what, gloss = "の読み書きに失敗しました", "database error"
    for needles, what_ja, gloss_en in ERROR_TEXTS:
        if any(n in text for n in needles):
            what, gloss = what_ja, gloss_en
            break
    return LedgerError(f"送信記録（台帳）のファイル「{path}」{what}。 / Ledger {gloss}: {exc}")
