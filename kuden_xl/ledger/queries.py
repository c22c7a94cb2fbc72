"""The ledger's SQL over ``sends``: the reservation's insert, newest-entry reads, rows as Entry.

``Ledger`` (``store.py``) decides when a statement runs and under which lock; this module only
says what the statements are and how a row reads back. Times are stored as UTC ISO-8601 text
with microseconds, so text order is time order (see the package docstring).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone

from ..gateways.base import GatewayIdentity
from ..schema import Delivery, ResultCode
from .entries import GUARD_STATES, Entry, Identity, State

IN_CHUNK = 500  # identities per IN (...) query: well under SQLite's variable limit


def utc_text(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("ledger times must be aware datetimes")
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


def utc_or_none(value: datetime | None) -> str | None:
    return None if value is None else utc_text(value)


@dataclass(frozen=True)
class Reservation:
    """A ``reserved`` row about to be inserted, and the Entry it stands for once it is."""

    send_id: str
    identity: Identity
    segments: int
    provider: str
    reserved_at: datetime
    scheduled_at: datetime | None
    os_user: str
    workbook: str
    sheet: str
    row: int | None
    holder: str
    gateway: GatewayIdentity | None

    def insert(self, since: datetime | None) -> tuple[str, tuple[object, ...]]:
        """The INSERT and its arguments. With ``since``, nothing is inserted when an entry of
        the same identity in ``GUARD_STATES`` was sent at or after it: check and insert are one
        statement, so one transaction, with no gap for another process."""
        values = (
            self.send_id,
            self.identity.number_hash,
            self.identity.body_hash,
            self.segments,
            self.provider,
            State.RESERVED.value,
            utc_text(self.reserved_at),
            utc_or_none(self.scheduled_at),
            self.os_user,
            self.workbook,
            self.sheet,
            self.row,
            self.holder,
            None if self.gateway is None else self.gateway.base_url,
            None if self.gateway is None else self.gateway.account,
        )
        insert = (
            "INSERT INTO sends (send_id, number_hash, body_hash, segments, provider, state,"
            " reserved_at, scheduled_at, os_user, workbook, sheet, row, holder, gateway_url,"
            " gateway_account) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
        )
        if since is None:
            return insert, values
        insert += (
            " WHERE NOT EXISTS (SELECT 1 FROM sends WHERE number_hash = ? AND body_hash = ?"
            f" AND state IN ({', '.join('?' * len(GUARD_STATES))})"
            " AND coalesce(scheduled_at, reserved_at) >= ?)"
        )
        guard = (
            self.identity.number_hash,
            self.identity.body_hash,
            *(s.value for s in GUARD_STATES),
            utc_text(since),
        )
        return insert, values + guard

    def entry(self) -> Entry:
        """The entry as inserted (what ``Ledger.get`` would read back)."""
        return Entry(
            send_id=self.send_id,
            identity=self.identity,
            segments=self.segments,
            provider=self.provider,
            state=State.RESERVED,
            code=None,
            message_id=None,
            reason=None,
            reserved_at=self.reserved_at.astimezone(timezone.utc),
            settled_at=None,
            scheduled_at=(
                None if self.scheduled_at is None else self.scheduled_at.astimezone(timezone.utc)
            ),
            os_user=self.os_user,
            workbook=self.workbook,
            sheet=self.sheet,
            row=self.row,
            delivery=None,
            delivery_reason=None,
            delivery_checked_at=None,
            holder=self.holder,
            gateway=self.gateway,
        )


def newest(
    conn: sqlite3.Connection,
    identities: list[Identity],
    states: tuple[State, ...],
    since: datetime | None,
) -> dict[Identity, Entry]:
    """Newest entry per identity in ``states`` (and with sent_at >= since, when given)."""
    wanted = set(identities)
    numbers = sorted({i.number_hash for i in wanted})
    best: dict[Identity, tuple[int, Entry]] = {}
    state_marks = ", ".join("?" * len(states))
    time_clause = ""
    time_args: tuple[str, ...] = ()
    if since is not None:
        time_clause = " AND coalesce(scheduled_at, reserved_at) >= ?"
        time_args = (utc_text(since),)
    for start in range(0, len(numbers), IN_CHUNK):
        chunk = numbers[start : start + IN_CHUNK]
        rows = conn.execute(
            f"SELECT * FROM sends"
            f" WHERE number_hash IN ({', '.join('?' * len(chunk))})"
            f" AND state IN ({state_marks}){time_clause}",
            (*chunk, *(s.value for s in states), *time_args),
        ).fetchall()
        for row in rows:
            entry = row_entry(row)
            if entry.identity in wanted:
                held = best.get(entry.identity)
                if held is None or row["seq"] > held[0]:
                    best[entry.identity] = (row["seq"], entry)
    return {identity: entry for identity, (_, entry) in best.items()}


def row_entry(r: sqlite3.Row) -> Entry:
    """One ``sends`` row read back as an Entry."""

    def time(name: str) -> datetime | None:
        return None if r[name] is None else datetime.fromisoformat(r[name])

    return Entry(
        send_id=r["send_id"],
        identity=Identity(r["number_hash"], r["body_hash"]),
        segments=r["segments"],
        provider=r["provider"],
        state=State(r["state"]),
        code=None if r["code"] is None else ResultCode(r["code"]),
        message_id=r["message_id"],
        reason=r["reason"],
        reserved_at=datetime.fromisoformat(r["reserved_at"]),
        settled_at=time("settled_at"),
        scheduled_at=time("scheduled_at"),
        os_user=r["os_user"],
        workbook=r["workbook"],
        sheet=r["sheet"],
        row=r["row"],
        delivery=None if r["delivery"] is None else Delivery(r["delivery"]),
        delivery_reason=r["delivery_reason"],
        delivery_checked_at=time("delivery_checked_at"),
        holder=r["holder"],
        gateway=(
            None
            if r["gateway_url"] is None
            else GatewayIdentity(r["provider"], r["gateway_url"], r["gateway_account"] or "")
        ),
    )
