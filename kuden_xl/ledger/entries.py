"""The ledger's value types: states, identities, entries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from ..gateways.base import GatewayIdentity
from ..schema import Delivery, ResultCode


class State(str, Enum):
    RESERVED = "reserved"
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    REJECTED = "rejected"
    FAILED = "failed"  # provably not sent: safe to send again
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


# The result code each settled state is written with (checked in `settle`).
STATE_CODES: dict[State, ResultCode] = {
    State.ACCEPTED: ResultCode.ACCEPTED,
    State.SCHEDULED: ResultCode.SCHEDULED,
    State.REJECTED: ResultCode.REJECTED,
    State.FAILED: ResultCode.GATEWAY_ERROR,
    State.UNKNOWN: ResultCode.UNKNOWN,
}
SENT_STATES = (State.ACCEPTED, State.SCHEDULED, State.UNKNOWN)
# For the recently-sent guard a reservation counts too: it may be in flight in another process.
GUARD_STATES = (*SENT_STATES, State.RESERVED)
SETTLED_STATES = (*SENT_STATES, State.REJECTED, State.FAILED)
OPEN_STATES = (State.RESERVED, State.UNKNOWN)


@dataclass(frozen=True)
class Identity:
    """A message's identity (number, body) as this ledger's keyed hashes."""

    number_hash: str
    body_hash: str


@dataclass(frozen=True)
class Entry:
    """One ledger row, read back. Times are aware UTC datetimes."""

    send_id: str
    identity: Identity
    segments: int
    provider: str
    state: State
    code: ResultCode | None
    message_id: str | None
    reason: str | None
    reserved_at: datetime
    settled_at: datetime | None
    scheduled_at: datetime | None
    os_user: str
    workbook: str
    sheet: str
    row: int | None
    delivery: Delivery | None
    delivery_reason: str | None
    delivery_checked_at: datetime | None
    holder: str | None = None  # which open Ledger reserved it: see Ledger.in_flight_elsewhere
    gateway: GatewayIdentity | None = None  # None: recorded before ledgers kept it (schema v1)

    @property
    def sent_at(self) -> datetime:
        """When the resident gets it: the scheduled time, else when the request left."""
        return self.scheduled_at or self.reserved_at


_DIGIT_RUN = re.compile(r"(?<!\d)(\d{3})[-\d]{4,}?(\d{4})(?!\d)")


def scrub_reason(reason: str | None) -> str | None:
    """Mask phone-number-like digit runs a provider may echo back in its reason."""
    if reason is None:
        return None
    return _DIGIT_RUN.sub(r"\1-****-\2", reason)
