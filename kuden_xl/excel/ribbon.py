"""Entry points of the ribbon buttons (SMS送信 tab), called by xlwings' ``RunPython``
(``import kuden_xl.excel.ribbon as r; r.<entry point>()``).

Sending lives in ``sending.py`` and 配信結果を更新 in ``refreshing.py`` (both in slices,
``slices.py``), what every entry point shares in ``common.py``; this module holds the other
buttons and names every entry point the add-in's VBA calls.

Import cost matters (DESIGN §7): a click runs ``import kuden_xl.excel.ribbon`` in the UDF
server. Only xlwings and the error tree load here; jobs, gateways (requests) and the ledger
load inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import refreshing, sending, slices
from .common import (
    StatusBar,
    alert,
    entry_point,
    label,
    open_book,
    selected_rows,
    table_of,
    version_mismatch,
    workbook_path,
)
from .refreshing import REFRESH_NEXT_SLICE_MACRO, refresh_next_slice, refresh_status
from .sending import (
    NEXT_SLICE_MACRO,
    CountingGateway,
    confirmation_text,
    excel_confirm,
    excel_schedule,
    send_next_slice,
    send_selected,
    write_failed_text,
)

__all__ = [
    "NEXT_SLICE_MACRO",
    "REFRESH_NEXT_SLICE_MACRO",
    "CountingGateway",
    "StatusBar",
    "build_report",
    "cancel_send",
    "check_sheet",
    "confirmation_text",
    "connection_test",
    "excel_confirm",
    "excel_schedule",
    "new_settings_sheet",
    "open_book",
    "preview_selected",
    "refresh_next_slice",
    "refresh_status",
    "send_next_slice",
    "send_selected",
    "version_mismatch",
    "write_failed_text",
]


def cancel_send() -> None:
    """中止: the send or status refresh of this workbook (else the one running) stops before
    its next slice."""

    def run(book: Any) -> None:
        fullname = str(workbook_path(book))
        runs = [s for s in slices.running() if s.key[0] == fullname] or slices.running()
        if not runs:
            alert(book, "中止する送信や配信結果の更新はありません（終わっています）。")
            return
        for state in runs:
            state.cancelled = True
            slices.finish(state.key)
            StatusBar(book, "").clear(force=True)
            if isinstance(state, slices.SliceRun):
                text = sending.summary(state)
            else:
                text = refreshing.summary(state)
            alert(book, text, mode="warning")

    entry_point(run)


PREVIEW_SHEET = "送信プレビュー"
CHECK_SHEET = "確認"


def _write_sheet(book: Any, name: str, rows: Sequence[Sequence[object]]) -> None:
    """Create (or clear) sheet ``name``, write ``rows`` from A1 in one write and show it."""
    from ..books.excel import cell_value

    if name in [s.name for s in book.sheets]:
        sheet = book.sheets[name]
        sheet.clear_contents()
    else:
        sheet = book.sheets.add(name, after=book.sheets[len(book.sheets) - 1])
    width = max((len(row) for row in rows), default=0)  # Excel takes rectangles only
    sheet.range((1, 1)).value = [
        [cell_value(None, v) for v in row] + [None] * (width - len(row)) for row in rows
    ]
    sheet.activate()


def preview_selected() -> None:
    """送信プレビュー: the plan of the selected rows on a sheet; nothing is sent or written."""

    def run(book: Any) -> None:
        from .. import jobs

        table = table_of(book)
        rows = selected_rows(table)
        with jobs.connect(table) as (gateway, ledger):
            shown = jobs.preview(table, gateway, ledger, rows=None, row_numbers=rows)
        plan = shown.plan
        out: list[list[object]] = [
            ["ブック", shown.book, "シート", shown.sheet],
            [],
            ["行", "宛先（伏字）", "判定", "内容", "通数", "予約日時", "本文", "理由"],
        ]
        for r in shown.rows:
            when = r.scheduled_at.replace(tzinfo=None) if r.scheduled_at else None
            out.append(
                [
                    r.row,
                    r.number or "",
                    r.code,
                    label(r.code),
                    r.segments or None,
                    when,
                    r.body,
                    r.reason,
                ]
            )
        _write_sheet(book, PREVIEW_SHEET, out)
        alert(
            book,
            f"ブック「{plan.book}」の「{plan.sheet}」シートの {len(plan.rows)} 行の送信内容を"
            f"「{PREVIEW_SHEET}」シートに書き出しました"
            f"（送信可能 {len(plan.outgoing)} 件 / 合計 {plan.segments} 通 / "
            f"概算 {plan.cost:,.0f} 円）。SMSは送信していません。",
        )

    entry_point(run)


def check_sheet() -> None:
    """番号チェック: the ``kuden-xl check`` rules on every row; problems go to a 確認 sheet."""

    def run(book: Any) -> None:
        from .. import jobs
        from ..schema import PHONE

        table = table_of(book)
        report = jobs.check(table)
        out: list[list[object]] = [["行", "列", "結果コード", "結果", "理由", "番号（セルの値）"]]
        problems = [r for r in report.plan.rows if r.code is not None]
        for r in problems:
            assert r.code is not None
            cell = report.data.value(r.row, PHONE)
            number = str(int(cell)) if isinstance(cell, float) and cell.is_integer() else cell
            out.append([r.row, r.column or "", r.code.value, r.code.label, r.reason, number])
        _write_sheet(book, CHECK_SHEET, out)
        lines = [
            f"ブック「{table.book_name}」の「{table.sheet_name}」シートの"
            f"{len(report.plan.rows)} 行を確認しました。送信できる行 {len(report.plan.outgoing)} 件、"
            f"送信しない行 {len(problems)} 件（「{CHECK_SHEET}」シート）。"
        ]
        if not report.has_body:
            lines.append(
                "本文がないため、本文の確認（差し込み・文字数・使用不可文字）はしていません。"
            )
        lines += [f"注意: {w}" for w in report.plan.warnings]
        alert(book, "\n".join(lines))

    entry_point(run)


def build_report() -> None:
    """年次レポート: the yearly report of the workbooks in the active workbook's folder, for
    today's fiscal year (Japan time); Excel opens it."""

    def run(book: Any) -> None:
        from .. import jobs
        from ..books.excel import is_com

        folder = workbook_path(book).parent
        bar = StatusBar(book, "年次レポートを作成中")
        try:
            outcome = jobs.report([folder], progress=lambda done, total, _path: bar(done, total))
        finally:
            bar.clear()
        summary = outcome.summary
        lines = [
            f"{summary.fiscal_year}年度の年次レポートを作りました: {outcome.path}",
            f"読み込んだブック {summary.files_read} 件、送信 {summary.total.messages} 件、"
            f"{summary.total.segments} 通。",
        ]
        if summary.errors:
            lines.append(
                f"読み込めなかったファイル {len(summary.errors)} 件（「読込エラー」シート）。"
            )
        if is_com(book):  # the remote engine (tests) cannot open files
            book.app.books.open(str(outcome.path))
        alert(book, "\n".join(lines))

    entry_point(run)


def connection_test() -> None:
    """接続テスト: proxy, CONNECT, TLS and credentials step by step (``jobs.connection_test``,
    as ``kuden-xl connection test``); nothing is sent."""

    def run(book: Any) -> None:
        from .. import jobs

        # The workbook's 設定 プロバイダ, as a send from it would use; else the configured one.
        provider = jobs.load_settings(table_of(book)).provider
        bar = StatusBar(book, "接続を確認中")
        try:
            report = jobs.connection_test(provider)
        finally:
            bar.clear()
        alert(book, "\n".join(report.lines()))

    entry_point(run)


BODY_KEY = "本文"  # the 設定 sheet's key for the message body
BODY_NOTE = (
    "送信する文面を入力してください。{氏名} のように列名を波かっこで囲むと、その行の値が入ります。"
    "文面の例は「文例」シート（kuden_xl のテンプレート reminder_template.xlsx にもあります）を"
    "参考にしてください。"
)


def new_settings_sheet() -> None:
    """設定シート作成: add a 設定 sheet with the defaults (an existing one is left alone).

    本文 stays empty, with a note pointing to the 文例 sheet: a sample body (○○市,
    0120-000-000) in a real workbook would be one OK away from going out to residents.
    """

    def run(book: Any) -> None:
        from ..config import SETTINGS_ROWS
        from ..schema import SETTINGS_SHEET

        if SETTINGS_SHEET in [s.name for s in book.sheets]:
            alert(
                book,
                f"このブックには「{SETTINGS_SHEET}」シートが既にあります。内容は変更していません。",
            )
            return
        rows: list[list[object]] = [["項目", "値", "説明"]]
        for key, value, note in SETTINGS_ROWS:
            if key == BODY_KEY:
                rows.append([key, None, f"{note}。文面の例は「文例」シートにあります"])
            else:
                rows.append([key, value, note])
        _write_sheet(book, SETTINGS_SHEET, rows)
        body_row = next(i for i, row in enumerate(rows, start=1) if row[0] == BODY_KEY)
        try:
            book.sheets[SETTINGS_SHEET].range((body_row, 2)).add_note(BODY_NOTE)
        except NotImplementedError:
            pass  # xlwings' remote engine with a VBA client holds no notes; Excel does
        alert(
            book,
            f"「{SETTINGS_SHEET}」シートを追加しました。「本文」は空欄です。"
            "送信する文面を入力してください（文面の例は「文例」シートにあります）。",
        )

    entry_point(run)
