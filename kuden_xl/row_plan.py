"""The decision for one row (``RowPlan``) and the ledger's record it may carry (``LedgerRecord``):
the values ``plan`` and the ledger's rules (``plan_ledger``) hand each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .schema import SENDABLE, ResultCode


@dataclass(frozen=True)
class LedgerRecord:
    """A settled send found in the ledger for a row's (number, body)."""

    code: ResultCode
    message_id: str | None
    sent_at: datetime
    workbook: str
    sheet: str
    reason: str = ""


@dataclass(frozen=True)
class RowPlan:
    """The decision for one row. ``code`` None means: send ``body`` to ``number``."""

    row: int
    code: ResultCode | None
    reason: str = ""
    column: str | None = None  # the column holding the problem, for messages
    number: str | None = None  # national form, when the cell could be read
    body: str | None = None
    segments: int = 0
    scheduled_at: datetime | None = None
    restored: LedgerRecord | None = None  # a lost record written back instead of a send
    recorded: ResultCode | None = None  # SKIP_ALREADY_SENT: the code the row already carries

    @property
    def sends(self) -> bool:
        return self.code is None

    @property
    def standing(self) -> str:
        """The code this row stands at without a send ('OK' for a row to send). A record still
        UNKNOWN stands at UNKNOWN, not at SKIP_ALREADY_SENT: it is not known to be sent."""
        if self.code is ResultCode.SKIP_ALREADY_SENT and self.recorded is ResultCode.UNKNOWN:
            return ResultCode.UNKNOWN.value
        return SENDABLE if self.code is None else self.code.value

    @property
    def shown_code(self) -> str:
        """The plan's own code for this row (``SENDABLE`` for a row to send)."""
        return SENDABLE if self.code is None else self.code.value
