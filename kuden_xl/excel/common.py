"""What every ribbon entry point shares: the calling workbook, one alert per failure, the
add-in's version check and the status bar.

Each entry point takes the workbook from ``xw.Book.caller()`` (the active workbook) and reports
to the user through Excel alerts, in Japanese. A ``KudenError`` shows its own message; anything
else shows a short "unexpected problem, contact the person in charge" alert, never a Python
traceback dialog (``KUDEN_XL_DEBUG=1`` lets the exception through for developers). A declined
confirmation ends quietly: nothing was sent or written.

Import cost matters (DESIGN §7): only xlwings and the error tree load here; jobs, gateways
(requests) and the ledger load inside the functions.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xlwings as xw

from ..errors import ConfirmationDeclined, KudenError, RowSpecError, SettingsError

if TYPE_CHECKING:
    from ..books.excel import ExcelTable
    from ..plan import SendPlan

TITLE = "SMS送信"
Confirm = Callable[["SendPlan"], bool]
Progress = Callable[[int, int], None]
Schedule = Callable[[Any], None]  # asks Excel to run the next slice of a send or refresh

NO_SELECTION = (
    "送信する行が選択されていません。データの行（見出しより下の行）を選択してから、"
    "もう一度押してください。 / No data rows selected."
)


def alert(book: Any, text: str, *, mode: str = "info") -> None:
    book.app.alert(text, title=TITLE, buttons="ok", mode=mode)


ADDIN_NAME = "kuden_xl.xlam"
ADDIN_CONF = "kuden_xl.conf"


def addin_conf(book: Any) -> dict[str, object] | None:
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
    from ..version import installed_version

    if not conf:
        return None
    wrong = []
    for package in ("kuden_xl", "xlwings"):
        built = conf.get(f"{package} Version")
        installed = installed_version() if package == "kuden_xl" else xw.__version__
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


def workbook_path(book: Any) -> Path:
    """The workbook's full path (the lock's and the slices' key): ``books.excel.workbook_path``."""
    from ..books.excel import workbook_path

    return workbook_path(book)


def open_book(caller: Any, fullname: str) -> Any:
    """The open workbook whose full name is ``fullname`` (the caller when it is that one).

    Raises:
        LookupError: no open workbook has that name.
    """
    if str(workbook_path(caller)) == fullname:
        return caller
    for book in caller.app.books:
        try:
            if str(book.fullname) == fullname:
                return book
        except Exception:  # a workbook without a file path: not ours
            continue
    raise LookupError(fullname)


def entry_point(action: Callable[[Any], None]) -> None:
    """Run ``action(book)`` for the calling workbook; turn every failure into one alert."""
    book = xw.Book.caller()
    try:
        mismatch = version_mismatch(addin_conf(book))
        if mismatch:
            raise SettingsError(mismatch)
        action(book)
    except ConfirmationDeclined:
        return  # the user pressed Cancel: nothing was sent or written
    except KudenError as exc:
        alert(book, str(exc), mode="critical")
    except Exception as exc:
        if os.environ.get("KUDEN_XL_DEBUG"):
            raise
        alert(
            book,
            f"予期しない問題が起きました（{type(exc).__name__}: {exc}）。"
            "何をしたときに起きたかを添えて、担当者に連絡してください。"
            " / Unexpected error; rerun with KUDEN_XL_DEBUG=1 for details.",
            mode="critical",
        )


def table_of(book: Any) -> ExcelTable:
    from ..books.excel import ExcelTable

    return ExcelTable(book)


def selected_rows(table: ExcelTable) -> list[int]:
    rows = table.selected_rows()
    if not rows:
        raise RowSpecError(NO_SELECTION)
    return rows


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


def label(code: str) -> str:
    from ..schema import SENDABLE, label

    return f"{label(code)}（{code}）" if code != SENDABLE else label(code)


def count_lines(counts: dict[str, int]) -> list[str]:
    return [f"  {label(code)}: {n}件" for code, n in counts.items()]
