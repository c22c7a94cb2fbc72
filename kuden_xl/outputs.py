"""What the output columns show for each outcome (DESIGN §3): one OutputRow per row.

A send record (ACCEPTED, SCHEDULED, UNKNOWN) carries 送信日時, the exact 送信本文, 通数 and
メッセージID; a row that was not sent carries only 結果コード and 結果 (the label, then what to
do), and its other output cells are cleared so no stale value looks like a send.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from . import schema
from .books.base import OutputRow
from .clock import JST
from .schema import ResultCode

if TYPE_CHECKING:
    from .dispatch import RowResult
    from .plan import SendPlan


def excel_time(value: datetime) -> datetime:
    """Japan time, naive (Excel has no zones), to the second."""
    return value.astimezone(JST).replace(tzinfo=None, microsecond=0)


def _row_output(
    row: int,
    code: ResultCode,
    *,
    reason: str = "",
    sent_at: datetime | None = None,
    body: str | None = None,
    segments: int | None = None,
    message_id: str | None = None,
) -> OutputRow:
    # 結果 is the label staff filter on; the reason follows where it tells them what to do.
    plain = not reason or code in (ResultCode.ACCEPTED, ResultCode.SCHEDULED)
    label = code.label if plain else f"{code.label}: {reason}"
    return OutputRow(
        row,
        {
            schema.SENT_AT: excel_time(sent_at) if sent_at else None,
            schema.BODY: body,
            schema.CODE: code.value,
            schema.RESULT: label,
            schema.SEGMENTS: segments,
            schema.MESSAGE_ID: message_id,
            schema.DELIVERY: None,
            schema.DELIVERY_CHECKED_AT: None,
        },
    )


def plan_outputs(send_plan: SendPlan) -> list[OutputRow]:
    """Cells for rows the plan settles without a send: skips, errors, restored records."""
    outputs: list[OutputRow] = []
    for r in send_plan.rows:
        if r.code is None or r.code is ResultCode.SKIP_ALREADY_SENT:
            continue  # sent below, or a record that nothing may overwrite
        if r.restored is not None:
            rec = r.restored
            outputs.append(
                _row_output(
                    r.row,
                    rec.code,
                    sent_at=rec.sent_at,
                    body=r.body,
                    segments=r.segments,
                    message_id=rec.message_id,
                )
            )
        else:
            outputs.append(_row_output(r.row, r.code, reason=r.reason))
    return outputs


def result_output(result: RowResult) -> OutputRow:
    if result.code in (ResultCode.SKIP_RECENT, ResultCode.HOLD_WINDOW):
        # The dispatcher's last-moment guard or window check: not a send, so no 送信日時.
        return _row_output(result.row, result.code, reason=result.reason)
    return _row_output(
        result.row,
        result.code,
        reason=result.reason,
        sent_at=result.sent_at,
        body=result.body,
        segments=result.segments,
        message_id=result.message_id,
    )
