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
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xlwings as xw

from ..errors import ConfirmationDeclined, KudenError, RowSpecError, SettingsError, WorkbookError
from . import slices

if TYPE_CHECKING:
    from ..books.excel import ExcelTable
    from ..gateways.base import DeliveryStatus, Gateway, OutgoingMessage, Receipt
    from ..ledger import Ledger
    from ..plan import SendPlan

TITLE = "SMS送信"
PREVIEW_SHEET = "送信プレビュー"
CHECK_SHEET = "確認"
Confirm = Callable[["SendPlan"], bool]
Progress = Callable[[int, int], None]
Schedule = Callable[[Any], None]  # asks Excel to run the next slice of a send

_NO_SELECTION = (
    "送信する行が選択されていません。データの行（見出しより下の行）を選択してから、"
    "もう一度押してください。 / No data rows selected."
)


# --- plumbing --------------------------------------------------------------------------------


def _alert(book: Any, text: str, *, mode: str = "info") -> None:
    book.app.alert(text, title=TITLE, buttons="ok", mode=mode)


ADDIN_NAME = "kuden_xl.xlam"
ADDIN_CONF = "kuden_xl.conf"


def _addin_conf(book: Any) -> dict[str, object] | None:
    """The add-in's conf sheet (key → value) on Windows Excel; None elsewhere or if unreadable."""
    from ..books.excel import is_com

    if not is_com(book):
        return None
    try:
        rows = book.app.api.Workbooks(ADDIN_NAME).Worksheets(ADDIN_CONF).UsedRange.Value
        return {str(r[0]): r[1] for r in rows if r and r[0]}
    except Exception:  # renamed add-in, or no conf sheet: nothing to compare
        return None


def version_mismatch(conf: dict[str, object] | None) -> str | None:
    """The alert when the add-in was built for other package versions than Python has."""
    from importlib.metadata import version

    if not conf:
        return None
    wrong = []
    for package in ("kuden_xl", "xlwings"):
        built = conf.get(f"{package} Version")
        installed = version(package) if package == "kuden_xl" else xw.__version__
        if built and str(built) != installed:
            wrong.append(f"{package}（アドイン {built} / Python {installed}）")
    if not wrong:
        return None
    return (
        "アドインと、この PC の Python に入っているパッケージの版が違います: "
        + "、".join(wrong)
        + "。情報担当者に連絡し、kuden-xl addin build でアドインを作り直すか、"
        "pip install で同じ版を入れてもらってください。 / Add-in and Python packages differ."
    )


def _workbook_path(book: Any) -> Path:
    """The workbook's full path (the lock's key); a clear refusal when Excel cannot give one."""
    try:
        return Path(str(book.fullname))
    except Exception as exc:  # OneDrive / SharePoint: xlwings cannot map the URL to a file
        raise WorkbookError(
            "このブックの保存場所を確かめられません（OneDrive や SharePoint 上のブックなど）。"
            "PC のフォルダー（ドキュメントなど）に「名前を付けて保存」してから、"
            "もう一度押してください。何も送信していません。 / Cannot resolve the workbook path."
        ) from exc


def _entry_point(action: Callable[[Any], None]) -> None:
    """Run ``action(book)`` for the calling workbook; turn every failure into one alert."""
    book = xw.Book.caller()
    try:
        mismatch = version_mismatch(_addin_conf(book))
        if mismatch:
            raise SettingsError(mismatch)
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
    with workbook_lock(_workbook_path(book)), jobs.connect(table) as connection:
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

    def clear(self, *, force: bool = False) -> None:
        """Give the status bar back to Excel (``force``: also when an earlier call set it)."""
        if self._shown or force:
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
    lines = [f"選択した {len(plan.rows)} 行のうち {len(outgoing)} 件にSMSを送信します。", ""]
    lines += _count_lines(plan.counts())
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


def _write_sheet(book: Any, name: str, rows: Sequence[Sequence[object]]) -> None:
    """Create (or clear) sheet ``name``, write ``rows`` from A1 in one write and show it."""
    from ..books.excel import cell_value

    if name in [s.name for s in book.sheets]:
        sheet = book.sheets[name]
        sheet.clear_contents()
    else:
        sheet = book.sheets.add(name, after=book.sheets[len(book.sheets) - 1])
    sheet.range((1, 1)).value = [[cell_value(None, v) for v in row] for row in rows]
    sheet.activate()


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
        from ..results import plan_outputs

        table = _table(book)
        rows = _selected(table)
        busy = [s for s in slices.running() if s.key[0] == str(_workbook_path(book))]
        if busy:
            raise WorkbookError(
                f"このブックの送信がまだ続いています（{busy[0].sent}/{busy[0].total} 件）。"
                "終わるまで待つか、「送信を中止」を押してから、もう一度押してください。"
                " / A send of this workbook is still running."
            )
        table.check_writable()  # before the question: protection, read-only, merged cells
        with _connection(book, table) as (gateway, ledger):
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
        state = slices.start(_key(book, table), plan, size, adaptive=slice_rows is None)
        state.counts.update(r.code.value for r in plan.rows if r.code is not None)
        state.reconciled = reconciled
        _run_slices(book, table, state, progress, schedule)

    _entry_point(run)


def send_next_slice(progress: Progress | None = None, *, schedule: Schedule | None = None) -> None:
    """The next slice of a confirmed send (run by Excel through ``Application.OnTime``).

    The send it continues is the oldest one Excel was asked to continue, in whichever workbook
    it is: the workbook active now may be another one.
    """

    def run(caller: Any) -> None:
        from ..books.excel import ExcelTable

        key = slices.take_pending()
        if key is None:
            raise WorkbookError(
                "送信の続きの情報がありません（Python が再起動したなど）。同じ行を選んで、"
                "もう一度「選択行を送信」を押してください。送信済みの行は再送しません。"
                " / No send to continue."
            )
        state = slices.current(key)
        if state is None:
            return  # stopped by 送信を中止 (already reported) or replaced
        try:
            book = open_book(caller, key[0])
            table = ExcelTable(book, book.sheets[key[1]])
        except Exception as exc:
            slices.finish(key)
            raise WorkbookError(
                f"送信中のブック「{Path(key[0]).name}」のシート「{key[1]}」が見つからないため、"
                f"送信を止めました（{state.sent} 件送信済み）。ブックを開き直し、同じ行を選んで"
                "もう一度「選択行を送信」を押すと、残りを送ります（送信済みの行は再送しません）。"
                " / The workbook or sheet of the send is gone."
            ) from exc
        _run_slices(book, table, state, progress, schedule)

    _entry_point(run)


def open_book(caller: Any, fullname: str) -> Any:
    """The open workbook whose full name is ``fullname`` (the caller when it is that one).

    Raises:
        LookupError: no open workbook has that name.
    """
    if str(_workbook_path(caller)) == fullname:
        return caller
    for book in caller.app.books:
        try:
            if str(book.fullname) == fullname:
                return book
        except Exception:  # a workbook without a file path: not ours
            continue
    raise LookupError(fullname)


def cancel_send() -> None:
    """送信を中止: the send of this workbook (else the one running) stops before its next slice."""

    def run(book: Any) -> None:
        fullname = str(_workbook_path(book))
        runs = [s for s in slices.running() if s.key[0] == fullname] or slices.running()
        if not runs:
            _alert(book, "中止する送信はありません（送信は終わっています）。")
            return
        for state in runs:
            state.cancelled = True
            slices.finish(state.key)
            StatusBar(book, "").clear(force=True)
            _alert(book, _summary(state), mode="warning")

    _entry_point(run)


NEXT_SLICE_MACRO = "'kuden_xl.xlam'!RibbonKuden.SendNextSlice"


def excel_schedule(book: Any) -> None:
    """Ask Excel to run the next slice as soon as it is idle (``Application.OnTime``)."""
    from datetime import datetime

    book.app.api.OnTime(datetime.now(), NEXT_SLICE_MACRO)


def _key(book: Any, table: ExcelTable) -> slices.Key:
    return (str(_workbook_path(book)), table.sheet_name)


def _run_slices(
    book: Any,
    table: ExcelTable,
    state: slices.SliceRun,
    progress: Progress | None,
    schedule: Schedule | None,
) -> None:
    """Send slices until one has to wait for Excel (scheduled) or the run is over."""
    from ..books.excel import is_com

    bar = StatusBar(book, "SMS送信中（「送信を中止」で止められます）")
    shown = progress or bar
    if schedule is None and is_com(book):
        schedule = excel_schedule
    while state.remaining and not state.cancelled:
        try:
            _one_slice(book, table, state, shown)
        except BaseException:
            slices.finish(state.key)
            bar.clear(force=True)
            raise
        if state.remaining and schedule is not None:
            slices.pending(state.key)
            schedule(book)  # Excel runs the next slice when idle: the status bar stays
            return
    slices.finish(state.key)
    bar.clear(force=True)
    _alert(book, _summary(state))


def _one_slice(book: Any, table: ExcelTable, state: slices.SliceRun, shown: Progress) -> None:
    from .. import jobs
    from ..books.excel import ExcelWriteError

    rows = state.next_rows()
    started = time.monotonic()
    with _connection(book, table) as (gateway, ledger):
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
    state.reconciled += outcome.reconciled
    state.incomplete = state.incomplete or outcome.incomplete
    state.pace(len(rows), time.monotonic() - started)


def _summary(state: slices.SliceRun) -> str:
    """The alert at the end of a send (or when it was stopped)."""
    if state.cancelled:
        left = state.total - state.sent
        lines = [
            f"送信を中止しました。{state.sent} 件を送り、残りの {left} 件は送っていません。",
            "残りを送るときは、同じ行を選んでもう一度「選択行を送信」を押してください"
            "（送信済みの行は再送しません）。",
            "",
        ]
    else:
        rows = sum(state.counts.values())
        lines = [f"送信が終わりました（{rows} 行）。", ""]
    lines += _count_lines(dict(sorted(state.counts.items())))
    if state.reconciled:
        lines.append(f"前回中断した送信 {state.reconciled} 件を事業者に照会して記録しました。")
    if state.incomplete:
        lines.append(
            "結果不明（UNKNOWN）または送信エラー（GATEWAY_ERROR）の行があります。"
            "送信エラーの行はもう一度送信できます。結果不明の行は次回の送信で照合します。"
        )
    lines += ["", "結果は各行の右側の列に記録しました。ブックを保存してください。"]
    return "\n".join(lines)


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
            ["行", "宛先（伏字）", "判定", "内容", "通数", "予約日時", "本文", "理由"]
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
            f"「{PREVIEW_SHEET}」シートに {len(plan.rows)} 行の送信内容を書き出しました"
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
        _alert(book, f"{outcome.checked} 件の配信結果を確認しました。\n{counts}")

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
        from ..schema import SETTINGS_SHEET
        from ..workbook_templates.generate import SETTINGS_ROWS

        if SETTINGS_SHEET in [s.name for s in book.sheets]:
            _alert(
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
        _alert(
            book,
            f"「{SETTINGS_SHEET}」シートを追加しました。「本文」は空欄です。"
            "送信する文面を入力してください（文面の例は「文例」シートにあります）。",
        )

    _entry_point(run)
