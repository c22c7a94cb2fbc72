"""The sandbox's memory: accepted messages and "first attempt" fault marks, in SQLite.

SQLite rather than a JSON file because every accepted message is one small transaction: a
commit is durable against a SIGKILL of the server (WAL, synchronous=NORMAL: the commit is in
the OS's page cache once COMMIT returns; only a power cut could lose the last ones, which a
simulator can afford), nothing is ever half-written, and two processes sharing one state file
(a standalone server and the CLI's embedded one) stay consistent through SQLite's own file
locks. ``BEGIN IMMEDIATE`` makes "look up the key, then insert" atomic across processes; the
in-process lock makes it atomic across the server's threads (one connection is shared).
Without a path the same code runs on ``:memory:``.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from ..errors import SettingsError
from .rules import (
    FIRST_ATTEMPT_FAULTS,
    UNDELIVERED_REASON,
    Fault,
    SendRequest,
    iso_now,
    segments,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    idempotency_key TEXT NOT NULL UNIQUE,
    to_number TEXT NOT NULL,
    body TEXT NOT NULL,
    segments INTEGER NOT NULL,
    scheduled_at TEXT,
    scheduled_ts REAL,
    received_at TEXT NOT NULL,
    received_ts REAL NOT NULL,
    initial_status TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT
);
CREATE TABLE IF NOT EXISTS fault_marks (
    idempotency_key TEXT PRIMARY KEY,
    fault TEXT NOT NULL,
    at REAL NOT NULL
);
"""
_COLUMNS = (
    "id, idempotency_key, to_number, body, segments, scheduled_at, scheduled_ts, "
    "received_at, received_ts, initial_status, outcome, reason"
)


@dataclass(frozen=True)
class Message:
    id: str
    idempotency_key: str
    to: str
    body: str
    segments: int
    scheduled_at: str | None
    scheduled_ts: float | None
    received_at: str
    received_ts: float
    initial_status: str  # "accepted" | "scheduled": the answer given, replayed as is
    outcome: str  # "delivered" | "undelivered": the final status once due
    reason: str | None


class Verdict(str, Enum):
    NEW = "new"  # recorded now
    REPLAY = "replay"  # the key was already recorded: answer as before (or 422 if it differs)
    FAULT = "fault"  # a first-attempt fault fires now (SLOW has also recorded the message)


@dataclass(frozen=True)
class Admission:
    verdict: Verdict
    message: Message | None  # None for a fault that records nothing


class SandboxState:
    """Thread-safe store; every method is one transaction."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            if path is None:
                db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(
                    str(path), timeout=10.0, check_same_thread=False, isolation_level=None
                )
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise SettingsError(
                f"サンドボックスの状態ファイルを開けません: {path} ({exc})"
                f" / cannot open the sandbox state file"
            ) from exc
        self._db = db

    @contextmanager
    def _tx(self, write: bool) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def admit(self, key: str, request: SendRequest, fault: Fault | None, now: float) -> Admission:
        """Decide a POST atomically: replay a known key, fire a first-attempt fault, or record."""
        with self._tx(write=True) as db:
            existing = _one(db, "idempotency_key = ?", key)
            if existing is not None:
                return Admission(Verdict.REPLAY, existing)
            if fault in FIRST_ATTEMPT_FAULTS:
                marked = db.execute(
                    "SELECT 1 FROM fault_marks WHERE idempotency_key = ?", (key,)
                ).fetchone()
                if marked is None:
                    assert fault is not None
                    db.execute(
                        "INSERT INTO fault_marks (idempotency_key, fault, at) VALUES (?, ?, ?)",
                        (key, fault.value, now),
                    )
                    recorded = (
                        _insert(db, key, request, fault, now) if fault is Fault.SLOW else None
                    )
                    return Admission(Verdict.FAULT, recorded)
            return Admission(Verdict.NEW, _insert(db, key, request, fault, now))

    def by_key(self, key: str) -> Message | None:
        with self._tx(write=False) as db:
            return _one(db, "idempotency_key = ?", key)

    def by_ids(self, ids: Sequence[str]) -> dict[str, Message]:
        found: dict[str, Message] = {}
        with self._tx(write=False) as db:
            for start in range(0, len(ids), 500):  # stay under SQLite's variable limit
                chunk = list(ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    f"SELECT {_COLUMNS} FROM messages WHERE id IN ({marks})", chunk
                ).fetchall()
                found.update((m.id, m) for m in map(_message, rows))
        return found

    def messages(self) -> list[Message]:
        with self._tx(write=False) as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM messages ORDER BY seq").fetchall()
        return [_message(r) for r in rows]

    def reset(self) -> None:
        with self._tx(write=True) as db:
            db.execute("DELETE FROM messages")
            db.execute("DELETE FROM fault_marks")

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _one(db: sqlite3.Connection, where: str, value: str) -> Message | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM messages WHERE {where}", (value,)).fetchone()
    return None if row is None else _message(row)


def _insert(
    db: sqlite3.Connection, key: str, request: SendRequest, fault: Fault | None, now: float
) -> Message:
    scheduled = request.scheduled_ts is not None and request.scheduled_ts > now
    undelivered = fault is Fault.UNDELIVERED
    message = Message(
        id="sbx-" + secrets.token_hex(8),
        idempotency_key=key,
        to=request.to,
        body=request.body,
        segments=segments(request.body),
        scheduled_at=request.scheduled_at,
        scheduled_ts=request.scheduled_ts,
        received_at=iso_now(now),
        received_ts=now,
        initial_status="scheduled" if scheduled else "accepted",
        outcome="undelivered" if undelivered else "delivered",
        reason=UNDELIVERED_REASON if undelivered else None,
    )
    db.execute(
        f"INSERT INTO messages ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            message.id,
            message.idempotency_key,
            message.to,
            message.body,
            message.segments,
            message.scheduled_at,
            message.scheduled_ts,
            message.received_at,
            message.received_ts,
            message.initial_status,
            message.outcome,
            message.reason,
        ),
    )
    return message


def _message(row: tuple[object, ...]) -> Message:
    return Message(*row)  # type: ignore[arg-type]  # column order matches the dataclass
