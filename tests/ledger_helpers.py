"""Test-only ledger queries: which sends the resend guard would see (no production caller)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from kuden_xl.ledger import Entry, Identity, Ledger
from kuden_xl.ledger.entries import GUARD_STATES
from kuden_xl.ledger.queries import newest
from kuden_xl.schema import DEFAULT_GUARD


def recent(
    ledger: Ledger,
    identity: Identity,
    within: timedelta = DEFAULT_GUARD,
    now: datetime | None = None,
) -> Entry | None:
    """The newest send of (number, body) whose ``sent_at`` is at or after ``now - within``.

    Counts accepted, scheduled and unknown entries, and reserved ones (maybe in flight). The
    window is inclusive: an entry exactly ``within`` old is still recent.
    """
    return recent_many(ledger, [identity], within, now).get(identity)


def recent_many(
    ledger: Ledger,
    identities: Iterable[Identity],
    within: timedelta = DEFAULT_GUARD,
    now: datetime | None = None,
) -> dict[Identity, Entry]:
    """``recent`` for many identities at once."""
    since = (now or datetime.now(timezone.utc)) - within
    with ledger._tx(write=False) as conn:
        return newest(conn, list(identities), GUARD_STATES, since)
