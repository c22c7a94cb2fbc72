"""The planning jobs: prepare_send (read, reconcile the ledger, plan) and its row-by-row preview.

Nothing is sent or written here. The ledger, reconciliation and gateways are imported lazily:
``check`` and the UDFs must stay cheap to import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from .. import schema
from ..books.base import Table
from ..clock import JST, now
from ..plan import SendPlan, plan
from ..row_plan import LedgerRecord
from ..slots import Scheduling, hour_of
from .connecting import refuse_sample
from .reading import load_settings, read_data, selected_rows

if TYPE_CHECKING:
    from ..gateways.base import Gateway
    from ..ledger import Entry, Ledger


class _LedgerRecords:
    """The planner's view of the ledger (number + body → the newest settled send).

    ``elsewhere``: entries reconciliation left open because another gateway took them.
    """

    def __init__(self, ledger: Ledger, elsewhere: Sequence[Entry] = ()):
        from ..reconcile import gateway_label

        self.ledger = ledger
        self._elsewhere = {e.identity: gateway_label(e) for e in elsewhere}

    def unresolved_elsewhere(self, number: str, body: str) -> str | None:
        if not self._elsewhere:
            return None
        return self._elsewhere.get(self.ledger.identity(number, body))

    def sent_records(self, sends: Sequence[tuple[str, str]]) -> list[LedgerRecord | None]:
        identities = [self.ledger.identity(number, body) for number, body in sends]
        found = self.ledger.find_sent_many(identities)
        return [self._record(found.get(i)) for i in identities]

    def latest_record(self, number: str, body: str) -> LedgerRecord | None:
        return self._record(self.ledger.find_last_settled(self.ledger.identity(number, body)))

    @staticmethod
    def _record(entry: Entry | None) -> LedgerRecord | None:
        if entry is None or entry.code is None:
            return None
        at = entry.sent_at.astimezone(JST)
        return LedgerRecord(
            entry.code, entry.message_id, at, entry.workbook, entry.sheet, entry.reason or ""
        )


def prepare_send(
    table: Table,
    gateway: Gateway,
    ledger: Ledger,
    *,
    rows: str | None,
    row_numbers: Sequence[int] | None = None,
    cli: Mapping[str, object] | None = None,
    allow_resend: bool = False,
    clock: Callable[[], datetime] = now,
) -> tuple[SendPlan, int]:
    """Read, reconcile the ledger, plan. Nothing is sent or written. Returns (plan, reconciled)."""
    settings = load_settings(table, cli)
    data = read_data(table, settings)
    refuse_sample(settings, gateway.name)
    from ..gateways.registry import number_rule
    from ..reconcile import reconcile

    chosen = selected_rows(data, rows, row_numbers)
    reconciled = reconcile(ledger, gateway)
    caps = gateway.capabilities
    at = clock()
    already: dict[datetime, int] = {}
    if settings.hourly_cap is not None:
        already = ledger.sends_per_hour(hour_of(at), JST)
    scheduling = Scheduling(
        at,
        settings.window,
        settings.hourly_cap,
        caps.can_schedule,
        already,
        min_ahead=caps.schedule_min_ahead,
        max_ahead=caps.schedule_max_ahead,
    )
    send_plan = plan(
        data,
        chosen,
        settings,
        max_length=caps.max_length,
        hidden=table.hidden_rows(chosen),
        ledger=_LedgerRecords(ledger, reconciled.elsewhere),
        allow_resend=allow_resend,
        scheduling=scheduling,
        accepted=number_rule(gateway.name),
    )
    if reconciled.elsewhere:
        warnings = (*send_plan.warnings, *reconciled.elsewhere_warnings())
        send_plan = replace(send_plan, warnings=warnings)
    return send_plan, reconciled.settled


@dataclass(frozen=True)
class PreviewRow:
    """One selected row as a preview shows it: what would be sent, or why not."""

    row: int
    number: str | None  # masked (090****5678); None when the cell could not be read
    code: str  # schema.SENDABLE for a row to send
    label: str  # the code's 日本語 label
    segments: int
    scheduled_at: datetime | None
    body: str | None
    reason: str


@dataclass(frozen=True)
class Preview:
    """The plan of the selected rows, row by row, for a face to show; nothing sent or written."""

    plan: SendPlan
    rows: tuple[PreviewRow, ...]

    @property
    def book(self) -> str:
        return self.plan.book

    @property
    def sheet(self) -> str:
        return self.plan.sheet


def preview(
    table: Table,
    gateway: Gateway,
    ledger: Ledger,
    *,
    rows: str | None,
    row_numbers: Sequence[int] | None = None,
    cli: Mapping[str, object] | None = None,
    allow_resend: bool = False,
    clock: Callable[[], datetime] = now,
) -> Preview:
    """What ``send`` would do with the rows (the CLI's ``--dry-run``, the ribbon's 送信プレビュー):
    read, reconcile the ledger, plan. Nothing is sent or written."""
    from ..phone import mask

    send_plan, _ = prepare_send(
        table,
        gateway,
        ledger,
        rows=rows,
        row_numbers=row_numbers,
        cli=cli,
        allow_resend=allow_resend,
        clock=clock,
    )
    shown = tuple(
        PreviewRow(
            r.row,
            mask(r.number) if r.number else None,
            r.shown_code,
            schema.label(r.shown_code),
            r.segments,
            r.scheduled_at,
            r.body,
            r.reason,
        )
        for r in send_plan.rows
    )
    return Preview(send_plan, shown)
