"""Entry points of the ribbon buttons (SMS送信 tab), called by xlwings' ``RunPython``.

Each takes the workbook from ``xw.Book.caller()`` (the active workbook), works on its active
sheet and reports to the user through Excel alerts, in Japanese. A ``KudenError`` shows its own
message; anything else shows a short "unexpected problem, contact the person in charge" alert,
never a Python traceback dialog (``KUDEN_XL_DEBUG=1`` lets the exception through for
developers). A declined confirmation ends quietly: nothing was sent or written.

``send_selected`` takes its confirmation and progress display as arguments defaulting to
Excel's (an OK/Cancel alert; the status bar), so ``RunPython``'s ``r.send_selected()`` uses
Excel and tests hand in their own: xlwings' remote engine cannot answer an alert (it returns
None, which reads as Cancel) and has no status bar.

Import cost matters (DESIGN §7): a click runs ``import kuden_xl.excel.ribbon`` in the UDF
server. Only xlwings and the error tree load here; jobs, gateways (requests) and the ledger
load inside the functions.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xlwings as xw

from ..errors import ConfirmationDeclined, KudenError, RowSpecError

if TYPE_CHECKING:
    from ..books.excel import ExcelTable
    from ..gateways.base import Gateway
    from ..ledger import Ledger
    from ..plan import SendPlan

TITLE = "SMS送信"
PREVIEW_SHEET = "送信プレビュー"
CHECK_SHEET = "確認"
Confirm = Callable[["SendPlan"], bool]
Progress = Callable[[int, int], None]

_NO_SELECTION = (
    "送信する行が選択されていません。データの行（見出しより下の行）を選択してから、"
    "もう一度押してください。 / No data rows selected."
)


# --- plumbing --------------------------------------------------------------------------------


def _alert(book: Any, text: str, *, mode: str = "info") -> None:
    book.app.alert(text, title=TITLE, buttons="ok", mode=mode)


def _entry_point(action: Callable[[Any], None]) -> None:
    """Run ``action(book)`` for the calling workbook; turn every failure into one alert."""
    book = xw.Book.caller()
    try:
        action(book)
    except ConfirmationDeclined:
        return  # the user pressed Cancel: nothing was sent or written
    except KudenError as exc:
        _alert(book, str(exc), mode="critical")
    except Exception as exc:
        if os.environ.get("KUDEN_XL_DEBUG"):
            raise
        _alert(
            book,
            f"予期しない問題が起きました（{type(exc).__name__}: {exc}）。"
            "何をしたときに起きたかを添えて、担当者に連絡してください。"
            " / Unexpected error; rerun with KUDEN_XL_DEBUG=1 for details.",
            mode="critical",
        )


def _table(book: Any) -> ExcelTable:
    from ..books.excel import ExcelTable

    return ExcelTable(book)


def _selected(table: ExcelTable) -> list[int]:
    rows = table.selected_rows()
    if not rows:
        raise RowSpecError(_NO_SELECTION)
    return rows


@contextmanager
def _connection(book: Any, table: ExcelTable) -> Iterator[tuple[Gateway, Ledger]]:
    """The workbook lock, the gateway and the ledger, opened as the CLI opens them."""
    from .. import jobs
    from ..books.lock import workbook_lock

    # Keyed on the workbook's full path: a ribbon click and a CLI run on the same file exclude
    # each other (an unsaved book's "Book1" gets its own key).
    with workbook_lock(Path(str(book.fullname))), jobs.connect(table) as connection:
        yield connection


class StatusBar:
    """Progress on Excel's status bar, at most a few updates a second (each is a COM call).

    Engines without a status bar (xlwings' remote engine) show nothing.
    """

    def __init__(self, book: Any, label: str, *, interval_s: float = 0.25) -> None:
        self.book = book
        self.label = label
        self.interval_s = interval_s
        self._last = 0.0
        self._shown = False
        self._works = True

    def _set(self, value: str | bool) -> None:
        if not self._works:
            return
        try:
            self.book.app.status_bar = value
        except NotImplementedError:
            self._works = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < self.interval_s:
            return
        self._last = now
        self._set(f"{self.label} {done}/{total}件")
        self._shown = self._works

    def clear(self) -> None:
        if self._shown:
            self._set(False)  # False gives the status bar back to Excel
            self._shown = False


def _label(code: str) -> str:
    from ..report_text import label

    return f"{label(code)}（{code}）" if code != "OK" else "送信可能"


def _count_lines(counts: dict[str, int]) -> list[str]:
    return [f"  {_label(code)}: {n}件" for code, n in counts.items()]


def confirmation_text(plan: SendPlan) -> str:
    """The OK/Cancel question before a send: rows per code, segments and estimated cost."""
    outgoing = plan.outgoing
    scheduled = sum(1 for r in outgoing if r.scheduled_at)
    lines = [
        f"ブック「{plan.book}」の「{plan.sheet}」シート",
        f"選択した {len(plan.rows)} 行のうち {len(outgoing)} 件にSMSを送信します。",
        "",
    ]
    lines += _count_lines(plan.counts())
    lines.append("")
    lines.append(f"合計 {plan.segments} 通 / 概算 {plan.cost:,.0f} 円")
    if scheduled:
        lines.append(f"（うち {scheduled} 件は送信時間帯に合わせて予約送信）")
    lines += [f"注意: {w}" for w in plan.warnings]
    lines += ["", "送信してよろしいですか？"]
    return "\n".join(lines)


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


# --- entry points ----------------------------------------------------------------------------


def send_selected(confirm: Confirm | None = None, progress: Progress | None = None) -> None:
    """選択行を送信: plan the selected rows, confirm once, send, write results beside them."""

    def run(book: Any) -> None:
        from .. import jobs

        table = _table(book)
        rows = _selected(table)
        bar = StatusBar(book, "SMS送信中")
        try:
            with _connection(book, table) as (gateway, ledger):
                outcome = jobs.send(
                    table,
                    gateway,
                    ledger,
                    rows=None,
                    row_numbers=rows,
                    confirm=confirm or excel_confirm(book),
                    progress=progress or bar,
                )
        finally:
            bar.clear()
        where = f"ブック「{table.book_name}」の「{table.sheet_name}」シート"
        lines = [f"{where}の送信が終わりました（{len(outcome.plan.rows)} 行）。", ""]
        lines += _count_lines(outcome.counts())
        if outcome.reconciled:
            lines.append(
                f"前回中断した送信 {outcome.reconciled} 件を事業者に照会して記録しました。"
            )
        if outcome.incomplete:
            lines.append(
                "結果不明（UNKNOWN）または送信エラー（GATEWAY_ERROR）の行があります。"
                "送信エラーの行はもう一度送信できます。結果不明の行は次回の送信で照合します。"
            )
        lines += ["", "結果は各行の右側の列に記録しました。ブックを保存してください。"]
        _alert(book, "\n".join(lines))

    _entry_point(run)


def preview_selected() -> None:
    """送信プレビュー: the plan of the selected rows on a sheet; nothing is sent or written."""

    def run(book: Any) -> None:
        from .. import jobs
        from ..phone import mask

        table = _table(book)
        rows = _selected(table)
        with _connection(book, table) as (gateway, ledger):
            plan, _ = jobs.prepare_send(table, gateway, ledger, rows=None, row_numbers=rows)
        out: list[list[object]] = [
            ["ブック", plan.book, "シート", plan.sheet],
            [],
            ["行", "宛先（伏字）", "判定", "内容", "通数", "予約日時", "本文", "理由"],
        ]
        for r in plan.rows:
            code = r.code.value if r.code else "OK"
            when = r.scheduled_at.replace(tzinfo=None) if r.scheduled_at else None
            number = mask(r.number) if r.number else ""
            out.append(
                [r.row, number, code, _label(code), r.segments or None, when, r.body, r.reason]
            )
        _write_sheet(book, PREVIEW_SHEET, out)
        _alert(
            book,
            f"ブック「{plan.book}」の「{plan.sheet}」シートの {len(plan.rows)} 行の送信内容を"
            f"「{PREVIEW_SHEET}」シートに書き出しました"
            f"（送信可能 {len(plan.outgoing)} 件 / 合計 {plan.segments} 通 / "
            f"概算 {plan.cost:,.0f} 円）。SMSは送信していません。",
        )

    _entry_point(run)


def check_sheet() -> None:
    """番号チェック: the ``kuden-xl check`` rules on every row; problems go to a 確認 sheet."""

    def run(book: Any) -> None:
        from .. import jobs
        from ..schema import PHONE

        table = _table(book)
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
        _alert(book, "\n".join(lines))

    _entry_point(run)


def refresh_status(progress: Progress | None = None) -> None:
    """配信結果を更新: delivery results for rows with a メッセージID."""

    def run(book: Any) -> None:
        from .. import jobs

        table = _table(book)
        bar = StatusBar(book, "配信結果を確認中")
        try:
            with _connection(book, table) as (gateway, ledger):
                outcome = jobs.refresh_status(table, gateway, ledger, progress=progress or bar)
        finally:
            bar.clear()
        if not outcome.checked:
            _alert(
                book,
                "配信結果を確認する行はありません（メッセージIDがあり、配信結果が未確定の行）。",
            )
            return
        counts = "\n".join(f"  {k}: {v}件" for k, v in outcome.counts.items())
        where = f"ブック「{table.book_name}」の「{table.sheet_name}」シート"
        _alert(book, f"{where}の {outcome.checked} 件の配信結果を確認しました。\n{counts}")

    _entry_point(run)


def build_report() -> None:
    """年次レポート: not available yet."""

    def run(book: Any) -> None:
        _alert(
            book,
            "年次レポートはまだ使えません。次の版で追加します。"
            "それまでは各ブックの結果コード・配信結果の列を集計してください。",
        )

    _entry_point(run)


def new_settings_sheet() -> None:
    """設定シート作成: add a 設定 sheet with the defaults (an existing one is left alone)."""

    def run(book: Any) -> None:
        from ..schema import SETTINGS_SHEET
        from ..workbook_templates.generate import SETTINGS_ROWS

        if SETTINGS_SHEET in [s.name for s in book.sheets]:
            _alert(
                book,
                f"このブックには「{SETTINGS_SHEET}」シートが既にあります。内容は変更していません。",
            )
            return
        rows: list[list[object]] = [["項目", "値", "説明"]]
        rows += [[key, value, note] for key, value, note in SETTINGS_ROWS]
        _write_sheet(book, SETTINGS_SHEET, rows)
        _alert(
            book,
            f"「{SETTINGS_SHEET}」シートを追加しました。「本文」に送信する文面を入力してください。",
        )

    _entry_point(run)
