"""The send ledger's say in a plan (DESIGN §4, §6): a lost record restored, the recently-sent
guard, a send still unresolved through another gateway, an UNKNOWN row settled since.

The planner asks through ``LedgerView`` (kept abstract: the core knows no SQLite) and hands each
rule the row as it would otherwise stand; a rule returns that row changed, or None / the row.
The rows to send are looked up in one batch (``sent_records``), not one query a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Protocol

from .books.base import SheetRows
from .row_plan import LedgerRecord, RowPlan
from .schema import BODY, DEFAULT_GUARD, SEGMENTS, ResultCode
from .slots import Scheduling


class LedgerView(Protocol):
    """What the planner asks of the send ledger (kept abstract: the core knows no SQLite)."""

    def sent_records(self, sends: Sequence[tuple[str, str]]) -> list[LedgerRecord | None]:
        """For each (number, body): its newest accepted / scheduled / unknown send, if any."""
        ...

    def latest_record(self, number: str, body: str) -> LedgerRecord | None:
        """The newest settled entry of this (number, body), whatever its outcome."""
        ...

    def unresolved_elsewhere(self, number: str, body: str) -> str | None:
        """The gateway (a label for staff) through which a send of this (number, body) is
        still unresolved and cannot be settled by this run's gateway; None when there is none."""
        ...


def resolved_unknown(
    data: SheetRows, recorded: RowPlan, ledger: LedgerView | None
) -> RowPlan | None:
    """An UNKNOWN row (``recorded``: its SKIP_ALREADY_SENT plan) whose send the ledger has since
    settled (by reconciliation); None while it has not.

    Sent: its record is written back. Provably not sent (or refused): the row gets that code and
    the reason, so the next run sends it again. The identity is the body the row records as
    sent (送信本文), not a fresh rendering.
    """
    row, number = recorded.row, recorded.number
    body = data.value(row, BODY)
    if ledger is None or number is None or not isinstance(body, str) or not body:
        return None
    record = ledger.latest_record(number, body)
    if record is None or record.code is ResultCode.UNKNOWN:
        return None
    if (record.workbook, record.sheet) != (data.book, data.sheet):
        return None
    if not record.code.is_send_record:
        reason = record.reason or "照会の結果、送信されていませんでした"
        return replace(recorded, code=record.code, reason=reason, recorded=None)
    segments = data.value(row, SEGMENTS)
    return replace(
        recorded,
        code=record.code,
        reason="結果不明だった送信を事業者に照会し、記録を更新しました",
        body=body,
        segments=int(segments) if isinstance(segments, (int, float)) else 0,
        restored=record,
        recorded=None,
    )


def ledger_decisions(
    rows: list[RowPlan],
    data: SheetRows,
    ledger: LedgerView | None,
    guard: timedelta | None,
    allow_resend: bool,
    scheduling: Scheduling | None,
) -> list[RowPlan]:
    """The rows as the ledger leaves them: each row to send sent, restored or held back."""
    if ledger is None:
        return rows
    sending = [r for r in rows if r.sends]
    records = ledger.sent_records([(r.number or "", r.body or "") for r in sending])
    decided = {
        r.row: _decision(r, record, data, ledger, guard, allow_resend, scheduling)
        for r, record in zip(sending, records, strict=True)
    }
    return [decided.get(r.row, r) for r in rows]


def _decision(
    row: RowPlan,
    record: LedgerRecord | None,
    data: SheetRows,
    ledger: LedgerView,
    guard: timedelta | None,
    allow_resend: bool,
    scheduling: Scheduling | None,
) -> RowPlan:
    """A row to send as the ledger leaves it (``record``: its newest send, if any)."""
    assert row.number is not None and row.body is not None
    elsewhere = ledger.unresolved_elsewhere(row.number, row.body)
    if elsewhere is not None:
        # Maybe sent, and only that gateway can tell: never send it again from here, whatever
        # its age and even with --allow-resend (DESIGN §6).
        return replace(
            row,
            code=ResultCode.SKIP_RECENT,
            reason=f"別の送信先（{elsewhere}）で送信した結果が不明です。その送信先で照会するまで送信しません",
            column=None,
        )
    if record is None:
        return row
    now = scheduling.now if scheduling else None
    within = now is None or now - record.sent_at <= (guard or DEFAULT_GUARD)
    if within and (record.workbook, record.sheet) == (data.book, data.sheet):
        # This sheet's record of the send was lost (a crash before the save, a run whose result
        # never reached the file): write it back, never resend. Past the guard window the same
        # (number, body) on this sheet is a new campaign and is sent.
        return replace(
            row, code=record.code, reason="送信記録を台帳から復元しました", restored=record
        )
    if allow_resend or guard is None or not within:
        return row
    when = f"{record.sent_at:%Y年%m月%d日 %H:%M}"
    return replace(
        row,
        code=ResultCode.SKIP_RECENT,
        reason=f"同じ番号に同じ本文を{when}に送信済みです（再送は --allow-resend）",
        column=None,
    )
