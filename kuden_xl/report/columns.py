"""A year of records as columns: each field read once, for C-level passes over every record.

The summary takes its figures with ``map``, ``compress`` and ``Counter`` over whole columns, not
a Python step per record: a quarter of a million records would otherwise cost seconds. Reading a
field of every record is itself a fetch from memory per record, so each field is read once and
shared. No tuple per record is kept either: that would wake the garbage collector over all of
them, again and again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from itertools import compress
from operator import itemgetter
from typing import Any

from ..schema import SEND_RECORD_CODES
from .collect import Record

SEND_CODES = frozenset(c.value for c in SEND_RECORD_CODES)
_GET = {name: itemgetter(i) for i, name in enumerate(Record._fields)}
_IS_SEND = "is_send"


class Columns:
    """The fields of ``records`` as lists in record order, each read when first asked for."""

    def __init__(self, records: Sequence[Record]) -> None:
        self.records = records
        self._read: dict[str, list[Any]] = {}

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, name: str) -> list[Any]:
        values = self._read.get(name)
        if values is None:
            values = self._read[name] = list(map(_GET[name], self.records))
        return values

    def sends(self) -> list[bool]:
        """Whether each record is a send (ACCEPTED, SCHEDULED or UNKNOWN)."""
        values = self._read.get(_IS_SEND)
        if values is None:
            values = self._read[_IS_SEND] = list(map(SEND_CODES.__contains__, self["code"]))
        return values

    def only(self, keep: Sequence[bool]) -> Columns:
        """The records where ``keep`` is true, with the columns read so far."""
        kept = Columns(tuple(compress(self.records, keep)))
        kept._read = {name: list(compress(values, keep)) for name, values in self._read.items()}
        return kept


def days(moments: Sequence[datetime | None]) -> list[date | None]:
    """The day of each moment (each distinct moment converted once; None stays None)."""
    day_of: dict[datetime | None, date | None] = {None: None}
    day_of.update((m, m.date()) for m in set(moments) if m is not None)
    return list(map(day_of.__getitem__, moments))
