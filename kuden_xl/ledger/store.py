"""``Ledger``: the SQLite store behind the send ledger (see the package docstring)."""

from __future__ import annotations

import getpass
import hashlib
import hmac
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from types import TracebackType

from ..errors import LedgerError
from ..gateways.base import GatewayIdentity
from ..schema import Delivery, ResultCode
from . import marker
from .entries import (
    GUARD_STATES,
    OPEN_STATES,
    SENT_STATES,
    SETTLED_STATES,
    STATE_CODES,
    Entry,
    Identity,
    State,
    scrub_reason,
)
from .opening import close_file, open_file
from .queries import Reservation, newest, row_entry, utc_text
from .sqlite import (
    BUSY_TIMEOUT_S,
    HOLDER_ID,
    Holder,
    Job,
    Meta,
    commit,
    holders_dir,
    ledger_error,
    sequence,
)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (service account, odd env): the audit field stays empty
        return ""


class Ledger:
    """The send ledger in one SQLite file. Thread-safe; use as a context manager."""

    def __init__(
        self, path: Path, conn: sqlite3.Connection, meta: Meta, holder: Holder, guarded: bool
    ) -> None:
        self.path = path
        self.ledger_id = meta.ledger_id
        self._holder = holder
        self._conn = conn
        self._secret = meta.secret
        self._guarded = guarded
        self._lock = threading.Lock()
        self._user = _os_user()
        self._closed = False
        self._queue: list[Job] = []  # writes waiting for the next group commit
        self._queue_lock = threading.Lock()

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(
        cls, path: Path, *, busy_timeout_s: float = BUSY_TIMEOUT_S, guard: bool = False
    ) -> Ledger:
        """Open (creating if missing) the ledger at ``path``.

        ``busy_timeout_s``: how long a write waits for another process holding the file.
        ``guard``: compare the ledger with what this PC last saw (``ledger.marker``) and stop
        on a missing, empty, replaced or older one; the real ledger is opened this way, the
        sandbox's and the demo's (practice only) are not.

        Raises:
            LedgerLostError: (``guard``) the ledger is not the one this PC last saw.
            LedgerError: the file cannot be created or read, is not a ledger, is damaged, or
                is locked.
        """
        path = Path(path)
        conn, meta, holder = open_file(path, busy_timeout_s, guard)
        return cls(path, conn, meta, holder, guard)

    @property
    def sequence(self) -> int:
        """The ledger's write sequence now (every open and committed write batch bumps it)."""
        with self._locked() as conn:
            return sequence(conn)

    def close(self) -> None:
        """Checkpoint the WAL into the file, close, and (guarded) tell the marker what we saw."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            close_file(self.path, self._conn, self._holder, self.ledger_id, self._guarded)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        """The connection under the lock; sqlite3 errors become LedgerError."""
        with self._lock:
            if self._closed:
                raise LedgerError(
                    f"送信記録（台帳）のファイル「{self.path}」は閉じられています。"
                    f" / Ledger is closed."
                )
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise ledger_error(self.path, exc) from exc

    @contextmanager
    def _tx(self, write: bool) -> Iterator[sqlite3.Connection]:
        """One explicit transaction (for several statements that must agree)."""
        with self._locked() as conn:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the original error is the one worth reporting
                raise
            conn.execute("COMMIT")

    def _write(self, sql: str, args: tuple[object, ...]) -> int:
        """Run one write statement, committed (to disk) when this returns; its row count.

        Group commit: the write is queued, then whoever next holds the connection commits
        *every* queued write in one transaction — one fsync for many worker threads instead of
        one each. A write still returns only after the transaction holding it committed, so
        reserve-before-send is untouched; only the fsyncs are shared.
        """
        job = Job(sql, args)
        with self._queue_lock:
            self._queue.append(job)
        with self._locked() as conn:
            if not job.done:  # nobody took it yet: commit it and whatever queued meanwhile
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                commit(conn, batch)
        if job.error is not None:
            raise ledger_error(self.path, job.error) from job.error
        return job.rowcount

    def _hash(self, prefix: bytes, text: str) -> str:
        return hmac.new(self._secret, prefix + text.encode("utf-8"), hashlib.sha256).hexdigest()

    # -- writing -------------------------------------------------------------------------------

    def identity(self, number: str, body: str) -> Identity:
        """This ledger's identity of (number, body). ``number`` is the national 11-digit form."""
        return Identity(self._hash(b"n:", number), self._hash(b"b:", body))

    def reserve(
        self,
        identity: Identity,
        *,
        send_id: str,
        provider: str,
        segments: int,
        gateway: GatewayIdentity | None = None,
        workbook: str = "",
        sheet: str = "",
        row: int | None = None,
        scheduled_at: datetime | None = None,
        at: datetime | None = None,
        guard_within: timedelta | None = None,
    ) -> Entry:
        """Record that ``send_id`` is about to leave; committed to disk when this returns.

        ``gateway`` is the identity of the gateway it leaves through: only that gateway may
        settle it by a lookup (``reconcile``). ``at`` is the reservation time (default: now). With ``guard_within``, the check for a
        recent send of the same identity and the insert are one transaction: if an entry in
        ``GUARD_STATES`` exists whose ``sent_at`` is at or after ``at - guard_within``, nothing
        is written and *that* entry is returned (its ``send_id`` differs from the one asked for).
        This closes the gap between planning and sending, e.g. another process sending the same
        message meanwhile.
        """
        reserved_at = at or datetime.now(timezone.utc)
        reservation = Reservation(
            send_id=send_id,
            identity=identity,
            segments=segments,
            provider=provider,
            reserved_at=reserved_at,
            scheduled_at=scheduled_at,
            os_user=self._user,
            workbook=workbook,
            sheet=sheet,
            row=row,
            holder=self._holder.id,
            gateway=gateway,
        )
        since = None if guard_within is None else reserved_at - guard_within
        if self._write(*reservation.insert(since)) == 0:
            with self._tx(write=False) as conn:
                found = newest(conn, [identity], GUARD_STATES, since)
            if identity in found:
                return found[identity]
            raise LedgerError(  # the guarding entry vanished meanwhile: cannot happen normally
                f"送信記録（台帳）「{self.path}」に予約を書き込めませんでした。"
                f" / Reservation not written."
            )
        return reservation.entry()

    def settle(
        self,
        send_id: str,
        *,
        state: State,
        code: ResultCode,
        message_id: str | None = None,
        reason: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Record the answer for a reserved (or unknown, when reconciling) entry.

        Raises:
            ValueError: ``state`` is not a settled state or does not match ``code``.
            LedgerError: no such entry, or it is already settled for good.
        """
        state = State(state)
        if STATE_CODES.get(state) != code:
            raise ValueError(f"state {state} cannot be settled with code {code}")
        settled_at = utc_text(at or datetime.now(timezone.utc))
        changed = self._write(
            "UPDATE sends SET state = ?, code = ?, message_id = coalesce(?, message_id),"
            " reason = ?, settled_at = ? WHERE send_id = ? AND state IN (?, ?)",
            (
                state.value,
                code.value,
                message_id,
                scrub_reason(reason),
                settled_at,
                send_id,
                *(s.value for s in OPEN_STATES),
            ),
        )
        if changed != 1:
            held = self.get(send_id)
            raise LedgerError(
                f"送信記録（台帳）「{self.path}」を更新できません（送信ID {send_id} は"
                f"{'ありません' if held is None else '確定済みです'}）。"
                f" / Cannot settle {send_id}: "
                f"{'no such entry' if held is None else 'already settled as ' + held.state}."
            )

    def set_delivery(
        self, message_id: str, delivery: Delivery, reason: str | None, checked_at: datetime
    ) -> int:
        """Record a delivery status for the entry with the provider's ``message_id``; count."""
        return self._write(
            "UPDATE sends SET delivery = ?, delivery_reason = ?, delivery_checked_at = ?"
            " WHERE message_id = ?",
            (delivery.value, scrub_reason(reason), utc_text(checked_at), message_id),
        )

    # -- reading -------------------------------------------------------------------------------

    def in_flight_elsewhere(self, entry: Entry) -> bool:
        """True when ``entry`` is reserved by a Ledger still open — maybe sending it right now.

        Each open Ledger holds an OS lock on its own file in ``<ledger>.holders/``; the OS drops
        it when the process dies, SIGKILL included. So a reserved entry whose holder's lock can
        be taken was left by a crash (reconcile it now), while one whose holder is alive — in
        another process, or this very instance — must be left alone: calling it failed could
        let it be sent twice.
        """
        if entry.state is not State.RESERVED or entry.holder is None:
            return False
        if entry.holder == self._holder.id:
            return True
        if not HOLDER_ID.fullmatch(entry.holder):
            return False
        return Holder.alive(holders_dir(self.path) / f"{entry.holder}.lock")

    def get(self, send_id: str) -> Entry | None:
        with self._locked() as conn:
            row = conn.execute("SELECT * FROM sends WHERE send_id = ?", (send_id,)).fetchone()
            return None if row is None else row_entry(row)

    def records_message(self, message_id: str, *, besides: str) -> bool:
        """Whether an entry other than ``besides`` records the provider's ``message_id``."""
        with self._tx(write=False) as conn:
            row = conn.execute(
                "SELECT 1 FROM sends WHERE message_id = ? AND send_id != ? LIMIT 1",
                (message_id, besides),
            ).fetchone()
            return row is not None

    def find_sent(self, identity: Identity) -> Entry | None:
        """The newest entry for (number, body) in a sent state (accepted / scheduled / unknown)."""
        return self.find_sent_many([identity]).get(identity)

    def find_last_settled(self, identity: Identity) -> Entry | None:
        """The newest settled entry for (number, body), whatever its outcome (not reserved)."""
        with self._tx(write=False) as conn:
            return newest(conn, [identity], SETTLED_STATES, None).get(identity)

    def find_sent_many(self, identities: Iterable[Identity]) -> dict[Identity, Entry]:
        """``find_sent`` for many identities at once (a few queries per 500, not one per row)."""
        with self._tx(write=False) as conn:
            return newest(conn, list(identities), SENT_STATES, None)

    def sends_per_hour(self, since: datetime, zone: tzinfo) -> dict[datetime, int]:
        """Sends (reserved, accepted, scheduled, unknown) from ``since`` on, per clock hour.

        Keys are the hours' starts in ``zone``; a scheduled send counts in the hour it leaves.
        """
        with self._tx(write=False) as conn:
            rows = conn.execute(
                "SELECT coalesce(scheduled_at, reserved_at) AS at FROM sends"
                f" WHERE state IN ({', '.join('?' * len(GUARD_STATES))})"
                " AND coalesce(scheduled_at, reserved_at) >= ?",
                (*(s.value for s in GUARD_STATES), utc_text(since)),
            ).fetchall()
        counts: dict[datetime, int] = {}
        for row in rows:
            at = datetime.fromisoformat(row["at"]).astimezone(zone)
            hour = at.replace(minute=0, second=0, microsecond=0)
            counts[hour] = counts.get(hour, 0) + 1
        return counts

    def unsettled(self) -> list[Entry]:
        """Entries left reserved or unknown (a crash, a timeout), oldest first."""
        with self._tx(write=False) as conn:
            rows = conn.execute(
                "SELECT * FROM sends WHERE state IN (?, ?) ORDER BY seq",
                tuple(s.value for s in OPEN_STATES),
            ).fetchall()
            return [row_entry(r) for r in rows]

    def count(self) -> int:
        with self._tx(write=False) as conn:
            return int(conn.execute("SELECT count(*) FROM sends").fetchone()[0])


def accept_as_is(path: Path) -> tuple[str, int]:
    """Make the ledger at ``path``, as it is now, the one this PC has seen (created if missing).

    What ``kuden-xl ledger reset --i-understand`` does after a loss was reported: it records the
    ledger's id and sequence in the marker and never deletes or rewrites a send. Returns the
    ledger id and how many sends it holds.

    Raises:
        LedgerError: the file cannot be opened (e.g. it is damaged: move it aside first).
    """
    path = Path(path)
    with Ledger.open(path) as ledger:  # unguarded: this is the one place that skips the check
        ledger_id, count, last = ledger.ledger_id, ledger.count(), ledger.sequence
    marker.record(path, ledger_id, last, marker.wal_has_data(path), reset=True)
    return ledger_id, count
