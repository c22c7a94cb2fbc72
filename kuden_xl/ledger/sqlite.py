"""SQLite plumbing of the send ledger: schema, opening, group commit, holder locks, errors.

``store.py`` (``Ledger``) is the API; this module is what makes it safe and fast on one SQLite file:

- ``connect``: WAL, ``synchronous=FULL`` (a commit is on disk when it returns: a reservation
  survives a process kill *and* a power cut), busy timeout, schema checked by ``user_version``
  (v1 ledgers are migrated in place), ``PRAGMA quick_check`` (a damaged file stops here, before
  anything is planned from it). ``begin_run`` then bumps the sequence once for the run.
- ``commit``: group commit. Worker threads queue their writes; whoever next holds the
  connection commits every queued write in one transaction (one fsync for many threads). Each
  write still returns only after the transaction holding it committed. Every committed batch
  bumps the ledger's sequence in the same transaction (see ``ledger.marker``).
- ``checkpoint``: on close, the WAL is copied into the file and truncated; with
  ``journal_size_limit`` it never grows without bound.
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

from ..errors import DataDirError, LedgerError
from ..oslock import try_lock, unlock
from ..paths import ensure_dir

SCHEMA_VERSION = 2
BUSY_TIMEOUT_S = 10.0
# After a checkpoint SQLite truncates a WAL larger than this (bytes), so a long run's WAL
# shrinks back instead of keeping its high-water size on disk.
JOURNAL_SIZE_LIMIT = 16 * 1024 * 1024

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
    delivery_checked_at TEXT,
    gateway_url TEXT,                   -- GatewayIdentity.base_url (NULL: recorded before v2)
    gateway_account TEXT                -- GatewayIdentity.account
);
CREATE INDEX sends_identity ON sends (number_hash, body_hash);
CREATE INDEX sends_open ON sends (state) WHERE state IN ('reserved', 'unknown');
CREATE INDEX sends_message_id ON sends (message_id) WHERE message_id IS NOT NULL;
"""

# v1 -> v2: which gateway each send went through, and the ledger's identity and sequence.
# Entries written by v1 keep NULL there: reconcile treats them conservatively (reconcile.py).
MIGRATE_V1 = (
    "ALTER TABLE sends ADD COLUMN gateway_url TEXT",
    "ALTER TABLE sends ADD COLUMN gateway_account TEXT",
)

BUMP_SEQUENCE = "UPDATE meta SET value = value + 1 WHERE key = 'sequence'"


@dataclass(frozen=True)
class Meta:
    """What a ledger says about itself: its hashing secret, identity and write sequence."""

    secret: bytes
    ledger_id: str  # random, created with the ledger: a replaced file has another
    sequence: int  # bumped by every open and every committed write batch; never goes back


def connect(path: Path, busy_timeout_s: float) -> tuple[sqlite3.Connection, Meta]:
    """Open (creating if missing) the ledger file; the connection and what it says of itself.

    Raises:
        LedgerError: the folder cannot be created, or the file cannot be read, is not a
            ledger, is damaged, or is locked.
    """
    try:
        ensure_dir(path.parent, what="送信記録（台帳）")
    except DataDirError as exc:
        raise LedgerError(str(exc)) from exc
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
        conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
        _quick_check(conn, path)
        return conn, _prepare(conn, path)
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        raise ledger_error(path, exc) from exc
    except BaseException:
        if conn is not None:
            conn.close()
        raise


def _quick_check(conn: sqlite3.Connection, path: Path) -> None:
    """Stop on a damaged file before anything is planned from it (or written into it)."""
    problems = [str(r[0]) for r in conn.execute("PRAGMA quick_check(5)").fetchall()]
    if problems != ["ok"]:
        raise LedgerError(
            f"送信記録（台帳）のファイル「{path}」が壊れています。送信を中止しました。"
            "ファイルをそのまま保管し（削除しないでください）、担当者に連絡してください。"
            f" / Ledger damaged (quick_check: {'; '.join(problems)[:200]})."
        )


def _prepare(conn: sqlite3.Connection, path: Path) -> Meta:
    """Create the schema on a new file, check (and migrate) an existing one; what it says."""
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
        elif version == 1:
            for statement in MIGRATE_V1:
                conn.execute(statement)
        elif version > SCHEMA_VERSION:
            raise LedgerError(
                f"送信記録（台帳）「{path}」は新しい版の kuden_xl で作られています。"
                f"kuden_xl を更新してください。 / Ledger schema v{version} is newer than"
                f" this kuden_xl (v{SCHEMA_VERSION})."
            )
        if version < SCHEMA_VERSION:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('ledger_id', ?), ('sequence', 0)",
                (uuid.uuid4().hex,),
            )
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        secret, ledger_id, sequence = (
            meta.get("secret"),
            meta.get("ledger_id"),
            meta.get("sequence"),
        )
        if not isinstance(secret, bytes) or len(secret) != 32:
            raise LedgerError(
                f"送信記録（台帳）「{path}」が壊れています（鍵がありません）。"
                f" / Ledger has no secret."
            )
        if not isinstance(ledger_id, str) or not isinstance(sequence, int):
            raise LedgerError(
                f"送信記録（台帳）「{path}」が壊れています（台帳の識別子がありません）。"
                f" / Ledger has no id or sequence."
            )
        conn.execute("COMMIT")
        return Meta(bytes(secret), ledger_id, sequence)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def sequence(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT value FROM meta WHERE key = 'sequence'").fetchone()[0])


def begin_run(conn: sqlite3.Connection) -> int:
    """Bump the sequence for this run (so its WAL holds committed data); the new value.

    Called only after the marker check: bumping first would let an older copy creep past the
    marker one refused open at a time.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(BUMP_SEQUENCE)
        value = sequence(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return value


CHECKPOINT_WAIT_MS = 1000  # a close waits at most this long for another process's write


def checkpoint(conn: sqlite3.Connection) -> None:
    """Copy the WAL into the file and truncate it (best effort: another process writing or
    reading an older snapshot may keep part of it, and then a later close does the rest)."""
    conn.execute(f"PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()


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
        conn.execute(BUMP_SEQUENCE)
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
