"""配信結果を更新 in slices (``slices.py``): the first click lists the rows with a メッセージID
and no final delivery result; each slice asks the gateway about the next ids, writes their
配信結果 / 配信確認日時 and returns; ``RibbonKuden.RefreshNextSlice`` continues; 中止 stops it
between slices. Each id is asked once per run: rows that stay 確認中 wait for the next click.

Every slice is safe to interrupt: it reads the sheet afresh and writes only rows still without a
final result, so a row finished by hand (or a sort) between slices is never overwritten, and a
new click after a stop asks about exactly the rows still open.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import slices
from .common import (
    Progress,
    Schedule,
    alert,
    entry_point,
    table_of,
    workbook_path,
)

if TYPE_CHECKING:
    from ..books.excel import ExcelTable

REFRESH_NEXT_SLICE_MACRO = "'kuden_xl.xlam'!RibbonKuden.RefreshNextSlice"
NOTHING_TO_CHECK = "配信結果を確認する行はありません（メッセージIDがあり、配信結果が未確定の行）。"
NO_REFRESH = (
    "配信結果の更新の続きの情報がありません（Python が再起動したなど）。"
    "もう一度「配信結果を更新」を押すと、未確定の行を確認します。 / No status refresh to continue."
)


def first_slice_ids(rate_per_second: float | None) -> int:
    """Ids of a refresh's first slice: a status request per ``jobs.STATUS_BATCH`` ids, as many
    requests as the rate limit lets through in SLICE_SECONDS (at least one)."""
    from ..jobs import STATUS_BATCH

    requests = max(1, int(rate_per_second * slices.SLICE_SECONDS)) if rate_per_second else 1
    return min(slices.MAX_SLICE_ROWS, requests * STATUS_BATCH)


def refresh_status(
    progress: Progress | None = None,
    *,
    schedule: Schedule | None = None,
    slice_ids: int | None = None,
) -> None:
    """配信結果を更新: delivery results for the rows with a メッセージID, in slices.

    ``schedule`` asks for the next slice (default: Excel's ``Application.OnTime``; without Excel
    and without a ``schedule``, every slice runs in this call). ``slice_ids`` fixes the slice
    size (default: from the gateway's rate limit, then from the measured pace).
    """

    def run(book: Any) -> None:
        from .. import jobs

        slices.busy(str(workbook_path(book)), "配信結果を更新")
        table = table_of(book)
        ids = list(jobs.pending_status(table))
        if not ids:
            alert(book, NOTHING_TO_CHECK)
            return
        key = slices.key_of(book, table)
        # Size 0: the first slice sizes itself from the gateway it opens.
        state = slices.start_refresh(key, ids, slice_ids or 0, adaptive=slice_ids is None)
        SLICES.drive(book, table, state, progress, schedule)

    entry_point(run)


def refresh_next_slice(
    progress: Progress | None = None, *, schedule: Schedule | None = None
) -> None:
    """The next slice of a status refresh (run by Excel through ``Application.OnTime``)."""
    SLICES.next_slice(progress, schedule)


def summary(state: slices.RefreshRun) -> str:
    """The alert at the end of a refresh (or when it was stopped)."""
    where = f"ブック「{Path(state.key[0]).name}」の「{state.key[1]}」シート"
    if state.cancelled:
        left = state.total - state.asked
        lines = [
            f"{where}の配信結果の更新を中止しました。{state.checked} 件を確認し、"
            f"残りの {left} 件は確認していません。",
            "残りは、もう一度「配信結果を更新」を押すと確認します。",
        ]
    else:
        lines = [f"{where}の {state.checked} 件の配信結果を確認しました。"]
    lines += [f"  {delivery}: {n}件" for delivery, n in sorted(state.counts.items())]
    if state.counts.get("確認中"):
        lines.append("確認中の行は、時間をおいてもう一度「配信結果を更新」を押すと確認します。")
    lines += [
        "",
        "結果は各行の 配信結果・配信確認日時 の列に記録しました。ブックを保存してください。",
    ]
    return "\n".join(lines)


def _gone(state: slices.RefreshRun) -> str:
    return (
        f"配信結果を更新中のブック「{Path(state.key[0]).name}」のシート「{state.key[1]}」が"
        f"見つからないため、更新を止めました（{state.done} 件確認済み）。ブックを開き直して"
        "もう一度「配信結果を更新」を押すと、残りを確認します。"
        " / The workbook or sheet of the status refresh is gone."
    )


def _one_slice(table: ExcelTable, state: slices.RefreshRun, shown: Progress) -> None:
    from .. import jobs

    started = time.monotonic()
    with jobs.connect(table) as (gateway, ledger):
        if not state.slice_rows:
            state.slice_rows = first_slice_ids(gateway.capabilities.max_requests_per_second)
        ids = state.take()
        outcome = jobs.refresh_status(table, gateway, ledger, only=ids)
    state.asked += len(ids)
    state.checked += outcome.checked
    state.slices += 1
    state.counts.update(outcome.counts)
    shown(state.asked, state.total)
    state.pace(len(ids), time.monotonic() - started)


SLICES = slices.Driver(
    slices.RefreshRun,
    label="配信結果を確認中（「中止」で止められます）",
    macro=REFRESH_NEXT_SLICE_MACRO,
    one_slice=_one_slice,
    summary=summary,
    lost=NO_REFRESH,
    gone=_gone,
)
excel_schedule = SLICES.excel_schedule  # Application.OnTime of RefreshNextSlice
