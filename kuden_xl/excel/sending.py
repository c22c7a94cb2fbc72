"""選択行を送信: confirm once, then send in slices (``slices.py``), and say what happened, in
Japanese (``summary``, also shown when 中止 in ``ribbon.py`` stops the send).

``send_selected`` takes its confirmation, progress display and slice scheduler as arguments
defaulting to Excel's (an OK/Cancel alert; the status bar; ``Application.OnTime``), so
``RunPython``'s ``r.send_selected()`` uses Excel and tests hand in their own: xlwings' remote
engine cannot answer an alert (it returns None, which reads as Cancel), has no status bar and no
OnTime.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfirmationDeclined
from . import slices
from .common import (
    TITLE,
    Confirm,
    Progress,
    Schedule,
    count_lines,
    entry_point,
    selected_rows,
    table_of,
    workbook_path,
)

if TYPE_CHECKING:
    from ..books.excel import ExcelTable
    from ..gateways.base import DeliveryStatus, Gateway, OutgoingMessage, Receipt
    from ..plan import SendPlan


def confirmation_text(plan: SendPlan) -> str:
    """The OK/Cancel question before a send: rows per code, segments and estimated cost."""
    outgoing = plan.outgoing
    scheduled = sum(1 for r in outgoing if r.scheduled_at)
    lines = [
        f"ブック「{plan.book}」の「{plan.sheet}」シート",
        f"選択した {len(plan.rows)} 行のうち {len(outgoing)} 件にSMSを送信します。",
        "",
    ]
    lines += count_lines(plan.counts())
    lines.append("")
    lines.append(f"合計 {plan.segments} 通 / 概算 {plan.cost:,.0f} 円")
    if scheduled:
        lines.append(f"（うち {scheduled} 件は送信時間帯に合わせて予約送信）")
    lines += [f"注意: {w}" for w in plan.warnings]
    lines += ["", "送信してよろしいですか？"]
    return "\n".join(lines)


class CountingGateway:
    """A gateway that counts the messages it accepted (or may have) in this run, for the
    message when a run stops early. Everything else is the wrapped gateway's."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.name = gateway.name
        self.capabilities = gateway.capabilities
        self._accepted: set[str] = set()
        self._maybe: set[str] = set()
        self._lock = threading.Lock()

    @property
    def accepted(self) -> int:
        return len(self._accepted)

    @property
    def maybe(self) -> int:
        return len(self._maybe - self._accepted)

    def send(self, message: OutgoingMessage) -> Receipt:
        from ..gateways.base import Attempt

        receipt = self.gateway.send(message)
        with self._lock:
            if receipt.attempt in (Attempt.ACCEPTED, Attempt.SCHEDULED):
                self._accepted.add(message.send_id)
            elif receipt.attempt is Attempt.MAYBE_PROCESSED:
                self._maybe.add(message.send_id)
        return receipt

    def status(self, message_ids: Sequence[str]) -> list[DeliveryStatus]:
        return self.gateway.status(message_ids)

    def lookup(self, send_id: str) -> Receipt | None:
        return self.gateway.lookup(send_id)

    def close(self) -> None:
        self.gateway.close()

    def __getattr__(self, name: str) -> Any:  # anything else a gateway offers, unchanged
        return getattr(self.gateway, name)


def write_failed_text(reason: str, sent: int, maybe: int = 0) -> str:
    """A result write failed mid-send: what stopped, how many went out, how to get them back."""
    unknown = f"（ほかに結果不明 {maybe} 件）" if maybe else ""
    return (
        f"{reason}\n\n送信を止めました。この実行で {sent} 件を送信しました{unknown}。"
        "結果は送信記録に残っています。\n書き込めない原因（シートの保護、セルの編集中など）を"
        "取り除いてから、同じ行を選んでもう一度「選択行を送信」を押すと、送信済みの行は再送せずに"
        "結果を書き戻します。"
    )


def excel_confirm(book: Any) -> Confirm:
    """Ask with an OK/Cancel alert; a plan with nothing to send writes its skips unasked."""

    def confirm(plan: SendPlan) -> bool:
        if not plan.outgoing:
            return True
        answer = book.app.alert(
            confirmation_text(plan), title=TITLE, buttons="ok_cancel", mode="info"
        )
        return bool(answer == "ok")  # None (an engine that cannot ask) is a Cancel

    return confirm


# --- entry points ----------------------------------------------------------------------------


def send_selected(
    confirm: Confirm | None = None,
    progress: Progress | None = None,
    *,
    schedule: Schedule | None = None,
    slice_rows: int | None = None,
) -> None:
    """選択行を送信: plan the selected rows, confirm once, then send in slices (``slices.py``).

    ``schedule`` asks for the next slice (default: Excel's ``Application.OnTime``; without Excel
    and without a ``schedule``, every slice runs in this call). ``slice_rows`` fixes the slice
    size (default: what fits in a few seconds, from the rate limit and the measured pace).
    """

    def run(book: Any) -> None:
        from .. import jobs
        from ..dispatch import DispatchSettings, effective_rate
        from ..outputs import plan_outputs

        table = table_of(book)
        rows = selected_rows(table)
        slices.busy(str(workbook_path(book)), "選択行を送信")
        table.check_writable()  # before the question: protection, read-only, merged cells
        # The workbook's lock covers the plan, the question and the rows written now, as in
        # the CLI's send (each slice takes it again).
        with jobs.connect(table) as (gateway, ledger):
            plan, reconciled = jobs.prepare_send(
                table, gateway, ledger, rows=None, row_numbers=rows
            )
            rate = effective_rate(DispatchSettings(), gateway)
            if not (confirm or excel_confirm(book))(plan):
                raise ConfirmationDeclined(
                    "送信を取り消しました。何も送信していません。 / Cancelled; nothing sent."
                )
            table.write(plan_outputs(plan))  # the rows that will not be sent, written at once
            table.flush()
        size = slice_rows or slices.first_slice_rows(rate)
        state = slices.start(slices.key_of(book, table), plan, size, adaptive=slice_rows is None)
        state.counts.update(r.code.value for r in plan.rows if r.code is not None)
        state.reconciled = reconciled
        SLICES.drive(book, table, state, progress, schedule)

    entry_point(run)


def send_next_slice(progress: Progress | None = None, *, schedule: Schedule | None = None) -> None:
    """The next slice of a confirmed send (run by Excel through ``Application.OnTime``).

    The send it continues is the oldest one Excel was asked to continue, in whichever workbook
    it is: the workbook active now may be another one.
    """
    SLICES.next_slice(progress, schedule)


NO_SEND = (
    "送信の続きの情報がありません（Python が再起動したなど）。同じ行を選んで、"
    "もう一度「選択行を送信」を押してください。送信済みの行は再送しません。"
    " / No send to continue."
)


def _gone(state: slices.SliceRun) -> str:
    return (
        f"送信中のブック「{Path(state.key[0]).name}」のシート「{state.key[1]}」が見つからないため、"
        f"送信を止めました（{state.done} 件送信済み）。ブックを開き直し、同じ行を選んで"
        "もう一度「選択行を送信」を押すと、残りを送ります（送信済みの行は再送しません）。"
        " / The workbook or sheet of the send is gone."
    )


NEXT_SLICE_MACRO = "'kuden_xl.xlam'!RibbonKuden.SendNextSlice"


def _one_slice(table: ExcelTable, state: slices.SliceRun, shown: Progress) -> None:
    from .. import jobs
    from ..books.excel import ExcelWriteError

    rows = state.take()
    started = time.monotonic()
    with jobs.connect(table) as (gateway, ledger):
        counted = CountingGateway(gateway)
        try:
            outcome = jobs.send(
                table,
                counted,
                ledger,
                rows=None,
                row_numbers=rows,
                confirm=state.check,
                progress=lambda done, _: shown(state.sent + done, state.total),
            )
        except ExcelWriteError as exc:
            # Messages in flight finish after the refusal: the gateway saw them all.
            sent = state.sent + counted.accepted
            raise ExcelWriteError(write_failed_text(str(exc), sent, counted.maybe)) from exc
    state.sent += len(rows)
    state.slices += 1
    state.counts.update(outcome.counts())
    state.deferred.update(outcome.deferred())
    state.reconciled += outcome.reconciled
    state.incomplete = state.incomplete or outcome.incomplete
    state.pace(len(rows), time.monotonic() - started)


def summary(state: slices.SliceRun) -> str:
    """The alert at the end of a send (or when it was stopped)."""
    from ..schema import INCOMPLETE_NOTE
    from ..texts import deferred_lines

    where = f"ブック「{Path(state.key[0]).name}」の「{state.key[1]}」シート"
    if state.cancelled:
        left = state.total - state.sent
        lines = [
            f"{where}の送信を中止しました。{state.sent} 件を送り、残りの {left} 件は送っていません。",
            "残りを送るときは、同じ行を選んでもう一度「選択行を送信」を押してください"
            "（送信済みの行は再送しません）。",
            "",
        ]
    else:
        rows = sum(state.counts.values())
        lines = [f"{where}の送信が終わりました（{rows} 行）。", ""]
    lines += count_lines(dict(sorted(state.counts.items())))
    lines += deferred_lines(state.deferred)
    if state.reconciled:
        lines.append(f"前回中断した送信 {state.reconciled} 件を事業者に照会して記録しました。")
    if state.incomplete:
        lines.append(INCOMPLETE_NOTE)
    lines += ["", "結果は各行の右側の列に記録しました。ブックを保存してください。"]
    return "\n".join(lines)


SLICES = slices.Driver(
    slices.SliceRun,
    label="SMS送信中（「中止」で止められます）",
    macro=NEXT_SLICE_MACRO,
    one_slice=_one_slice,
    summary=summary,
    lost=NO_SEND,
    gone=_gone,
)
excel_schedule = SLICES.excel_schedule  # Application.OnTime of SendNextSlice
