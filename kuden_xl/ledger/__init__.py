"""The send ledger: one SQLite file that records every send before and after it leaves (DESIGN §6).

Why it exists: the workbook is the record staff see, but a workbook can be closed unsaved, sorted,
or copied. The ledger is the record the code trusts to never send twice:

- ``reserve`` is committed *before* the request leaves (state ``reserved``, our send id);
- ``settle`` records the answer (``accepted`` / ``scheduled`` / ``rejected`` / ``failed`` =
  provably not sent / ``unknown``);
- entries left ``reserved`` or ``unknown`` are reconciled before the next run sends anything.

Privacy: the file never holds a phone number or a body in clear. Both are keyed hashes
(HMAC-SHA256) under a random 32-byte secret created with the ledger and stored in it, so a copied
file cannot be matched against a list of numbers without also having this ledger's secret. (The
body is keyed too, not a bare SHA-256: bodies carry names and amounts that a plain hash would let
anyone confirm by guessing.) Provider reasons are stored with long digit runs masked.

Timestamps are stored as UTC ISO-8601 text with microseconds (``2026-11-27T01:00:00.000000+00:00``)
so text order is time order; ``Entry`` hands them back as aware UTC datetimes.

Concurrency and durability (details in ``ledger.sqlite``): one connection shared by the worker
threads under a lock, WAL with ``synchronous=FULL`` (a reservation is on disk before ``reserve``
returns: it survives a process kill and a power cut), and group commit so that many threads
share one fsync. Other processes wait up to the busy timeout.

Loss (``ledger.marker``): each ledger has a random id and a sequence that only rises; a marker in
the user data dir remembers what this PC last saw, and the real ledger is opened against it, so a
deleted, emptied, replaced or older ledger stops the run instead of silently sending everything
it protected again. ``PRAGMA quick_check`` runs on every open; the WAL is checkpointed on close.
Each entry records the gateway it left through (``GatewayIdentity``): only that gateway may
settle it (``reconcile``).
"""

from __future__ import annotations

from ..paths import LEDGER_ENV, default_ledger_path  # where the file lives (paths.py)
from ..schema import DEFAULT_GUARD
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
from .store import Ledger, accept_as_is

__all__ = [
    "DEFAULT_GUARD",
    "GUARD_STATES",
    "LEDGER_ENV",
    "OPEN_STATES",
    "SENT_STATES",
    "SETTLED_STATES",
    "STATE_CODES",
    "Entry",
    "Identity",
    "Ledger",
    "State",
    "accept_as_is",
    "default_ledger_path",
    "scrub_reason",
]
