"""The live-Excel Table adapter: a worksheet of an open workbook, through xlwings.

Mirrors ``books/xlsx.py`` with Excel's economy in mind (each xlwings call is a COM round trip):

* **One bulk read.** ``read()`` takes the used range's values from A1 in one call and keeps
  them; the selection, the header, the rows and every later write are worked out from that copy
  (reads never come back for our own writes: xlwings' remote engine could not see them anyway).
* **The selection** is read as its full address string and parsed here, because xlwings' Range
  keeps only the first area of a multi-area selection (``$A$2:$A$3,$A$5``) and cannot build
  whole columns (``$C:$C``) in the remote engine.
* **Hidden rows** (filter or by hand) come from one ``SpecialCells(xlCellTypeVisible)`` call on
  Windows Excel. The remote engine carries no row visibility: there, no row is hidden.
* **Writes** are buffered; each ``flush()`` issues one value write per contiguous block of rows
  (× the output columns touched), plus at most one number-format write per date column.

Text safety (DESIGN §3): strings Excel would read as something else are written with its quote
prefix (``exceltext``). The address geometry is ``areas``, the bulk read ``excelread`` and the
check before a send ``excelchecks``.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..errors import WorkbookError
from ..schema import (
    DELIVERY_CHECKED_AT,
    OUTPUT_COLUMNS,
    SEGMENTS,
    SENT_AT,
    SETTINGS_SHEET,
    Header,
)
from .areas import parse_address, rows_in, runs, span_address
from .base import DATETIME_FORMAT, OutputRow, SheetRows, settings_from_rows
from .excelchecks import com_refusal
from .excelread import sheet_rows, used_values
from .exceltext import excel_text

DATE_COLUMNS = (SENT_AT, DELIVERY_CHECKED_AT)
XL_CELL_TYPE_VISIBLE = 12
# COM's Range.Address is cut at 255 characters for ranges of many areas; near that, read areas.
_ADDRESS_LIMIT = 240


# --- engines ---------------------------------------------------------------------------------


def is_com(book: Any) -> bool:
    """True for Windows Excel over COM (the add-in); False for xlwings' remote engine (tests)."""
    return sys.platform == "win32" and book.app.engine.name == "excel"


def com_address(com_range: Any) -> str:
    """The full address of a COM Range, every area included (avoids the 255-character cut)."""
    address = str(com_range.Address)
    if len(address) < _ADDRESS_LIMIT:
        return address
    areas = com_range.Areas
    return ",".join(str(areas.Item(i).Address) for i in range(1, int(areas.Count) + 1))


def selection_address(book: Any, sheet_name: str) -> str | None:
    """The address of the selection on ``sheet_name`` (None: nothing selected there).

    Remote engine: the payload's ``book.selection`` string, as the client sent it.
    """
    if not is_com(book):
        api = book.api
        if not isinstance(api, dict):
            return None
        selection = api.get("book", {}).get("selection")
        return str(selection) if selection else None
    try:
        selection = book.app.api.Selection
        if str(selection.Worksheet.Name) != sheet_name:
            return None
        return com_address(selection)
    except Exception:  # a shape or chart is selected: it has no cells
        return None


def visible_rows(sheet: Any, first: int, last: int) -> frozenset[int] | None:
    """Rows of ``first..last`` that Excel shows, or None where the engine cannot tell.

    On Windows Excel: one ``SpecialCells(xlCellTypeVisible)`` call over the rows, whose address
    is parsed. The remote engine carries no row visibility, so there every row counts as shown.

    Raises:
        WorkbookError: Excel would not say which rows are visible (and not all are hidden).
    """
    if not is_com(sheet.book):
        return None
    rows = sheet.range((first, 1), (last, 1)).api.EntireRow
    if first == last:  # SpecialCells on one cell would look at the whole used range
        return frozenset() if rows.Hidden else frozenset({first})
    try:
        visible = rows.SpecialCells(XL_CELL_TYPE_VISIBLE)
    except Exception as exc:  # "No cells were found": every row is hidden
        if rows.Hidden is True:
            return frozenset()
        raise WorkbookError(
            "非表示の行を確認できませんでした。シートの保護を解除してから、もう一度実行してください。"
            " / Cannot tell which rows are visible."
        ) from exc
    return frozenset(rows_in(parse_address(com_address(visible)), first, last))


# --- values ----------------------------------------------------------------------------------


def cell_value(name: str | None, value: object) -> object:
    """A Python value as written to one cell (text-safe strings, naive date-times)."""
    if isinstance(value, str):
        return excel_text(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    if name == SEGMENTS and value is not None and not isinstance(value, (bool, date)):
        return int(value)  # type: ignore[call-overload]
    return value


# --- a refused write -------------------------------------------------------------------------


class ExcelWriteError(WorkbookError):
    """Excel refused a result write in the middle of a send (the run stops at once)."""


# --- the Table -------------------------------------------------------------------------------


def workbook_path(book: Any) -> Path:
    """The workbook's full path (the lock's key); a clear refusal when Excel cannot give one."""
    try:
        return Path(str(book.fullname))
    except Exception as exc:  # OneDrive / SharePoint: xlwings cannot map the URL to a file
        raise WorkbookError(
            "このブックの保存場所を確かめられません（OneDrive や SharePoint 上のブックなど）。"
            "PC のフォルダー（ドキュメントなど）に「名前を付けて保存」してから、"
            "もう一度押してください。何も送信していません。 / Cannot resolve the workbook path."
        ) from exc


class ExcelTable:
    """A worksheet of an open workbook (default: the active sheet, where the selection is)."""

    def __init__(self, book: Any, sheet: Any | None = None) -> None:
        self.book = book
        self.sheet = sheet if sheet is not None else book.sheets.active
        self._data: SheetRows | None = None
        self._cells: list[list[object]] = []  # A1-anchored values: the bulk read + our writes
        self._out_cols: dict[str, int] = {}  # output name -> 0-based column
        self._pending: dict[int, dict[str, object]] = {}  # row -> output name -> value
        self._settings: dict[str, object] | None = None
        self._settings_read = False
        self._selected: frozenset[int] = frozenset()  # the rows a job was handed (a run's rows)
        self._write_failed = False
        self._owned: set[int] = set()  # rows whose output cells this table has written

    @property
    def book_name(self) -> str:
        return str(self.book.name)

    @property
    def sheet_name(self) -> str:
        return str(self.sheet.name)

    @property
    def workbook(self) -> Path:
        return workbook_path(self.book)

    # -- reading ----------------------------------------------------------------------------
    def read(self) -> SheetRows:
        """Header and every data row, from one bulk read (kept: later calls reuse it).

        An error cell (``#N/A``…) is kept as its text in the phone column, so the check names
        it; elsewhere it reads as empty, so it can never land in a message body.
        """
        if self._data is not None:
            return self._data
        cells = used_values(self.sheet)
        data = sheet_rows(cells, self.book_name, self.sheet_name)
        self._cells = cells
        self._out_cols = {n: i for i, n in enumerate(data.header.names) if n in OUTPUT_COLUMNS}
        self._data = data
        return self._data

    def settings(self) -> dict[str, object] | None:
        if self._settings_read:
            return self._settings
        self._settings_read = True
        if SETTINGS_SHEET not in [s.name for s in self.book.sheets]:
            return None
        rows = used_values(self.book.sheets[SETTINGS_SHEET], max_columns=2)
        self._settings = settings_from_rows(rows)
        return self._settings

    def selected_rows(self) -> list[int]:
        """Data rows under the current selection: sorted; the header, rows above it, empty
        rows and rows past the last data row are dropped (so ``$C:$C`` means every data row).
        """
        data = self.read()
        address = selection_address(self.book, self.sheet_name)
        if not address:
            return []
        covered = rows_in(parse_address(address), data.header.row + 1, data.last_row)
        selected = sorted(r for r in covered if r in data.rows)
        self._selected = frozenset(selected)
        return selected

    def hidden_rows(self, rows: Collection[int]) -> frozenset[int]:
        if not rows:
            return frozenset()
        visible = visible_rows(self.sheet, min(rows), max(rows))
        if visible is None:
            return frozenset()
        return frozenset(r for r in rows if r not in visible)

    def _com(self) -> tuple[Any, Any] | None:
        """The COM workbook and worksheet on Windows Excel; None on the remote engine."""
        if not is_com(self.book):
            return None
        return self.book.api, self.sheet.api

    def _output_addresses(self) -> list[str]:
        """Output cells of the rows a send will write: each block of rows × each column span."""
        data = self.read()
        rows = sorted(self._selected or data.rows)
        names_by_col = {c: n for n, c in self._out_cols.items()}
        spans = runs(sorted(self._out_cols.values()), names_by_col)
        return [
            span_address(first, last, c0 + 1, c1 + 1)
            for first, last in runs(rows)
            for c0, c1 in spans
        ]

    def check_writable(self) -> None:
        """Before anything is sent: the output header cells are written (created when missing)
        and, on Windows Excel, the workbook must not be read-only and the output cells of the
        selected rows neither locked on a protected sheet nor merged.

        Raises:
            WorkbookError: a Japanese reason naming the workbook, the sheet or the cells.
        """
        data = self.read()
        com = self._com()
        if com is not None and bool(com[0].ReadOnly):  # before the header lands in the book
            raise WorkbookError(str(com_refusal(com[0], None, self.sheet_name, ())))
        try:
            self._ensure_output_columns(data.header)
        except Exception as exc:  # COM refused the header cells: protected or read-only
            raise WorkbookError(
                f"シート「{self.sheet_name}」の {data.header.row} 行目に結果の列の見出しを"
                f"書き込めませんでした（{exc}）。シートの保護を解除してから、もう一度押して"
                "ください。何も送信していません。 / Cannot write the output header."
            ) from exc
        if com is None:
            return
        refusal = com_refusal(*com, self.sheet_name, self._output_addresses())
        if refusal:
            raise WorkbookError(refusal)

    # -- writing ----------------------------------------------------------------------------
    def write(self, outputs: Sequence[OutputRow]) -> None:
        for out in outputs:
            self._pending.setdefault(out.row, {}).update(out.values)

    def _cell(self, row: int, col: int) -> object:
        values = self._cells[row - 1] if row <= len(self._cells) else []
        return values[col] if col < len(values) else None

    def _store(self, row: int, col: int, value: object) -> None:
        while len(self._cells) < row:
            self._cells.append([])
        values = self._cells[row - 1]
        if len(values) <= col:
            values.extend([None] * (col + 1 - len(values)))
        values[col] = value

    def _ensure_output_columns(self, header: Header) -> None:
        """Create missing output columns right of the last input column: one header write."""
        missing = [n for n in OUTPUT_COLUMNS if n not in self._out_cols]
        if not missing:
            return
        start = max([len(header.names) - 1, *self._out_cols.values()]) + 1
        for i, name in enumerate(missing):
            self._out_cols[name] = start + i
            self._store(header.row, start + i, name)
        self.sheet.range((header.row, start + 1)).value = [missing]

    def flush(self) -> None:
        """Write what ``write`` buffered: one value write per block of selected rows (per span
        of adjacent output columns: one span in the standard layout), and per block one number
        format per date column that received a date-time.

        Results arrive out of order (messages finish in parallel), so the rows of one flush can
        have gaps. A gap of selected rows whose output cells are empty or ours (a message still
        in flight) does not split the write: those rows are rewritten with what they hold, so a
        flush costs at most one write per block of rows the run writes, whatever the order.
        Rows outside the selection and records from earlier runs are never touched.
        """
        if not self._pending or self._write_failed:
            return  # after a failed write nothing more is written; the ledger holds the rest
        data = self.read()
        self._ensure_output_columns(data.header)
        pending, self._pending = self._pending, {}
        names_by_col = {c: n for n, c in self._out_cols.items()}
        touched = sorted({self._out_cols[n] for values in pending.values() for n in values})
        outputs = list(self._out_cols.values())
        bridge = {
            r
            for r in self._selected
            if r in self._owned or all(self._cell(r, c) in (None, "") for c in outputs)
        }
        self._owned.update(pending)
        for first, last in runs(sorted(pending), bridge):
            for c0, c1 in runs(touched, names_by_col):
                matrix: list[list[object]] = []
                for r in range(first, last + 1):
                    given = pending.get(r, {})
                    line: list[object] = []
                    for c in range(c0, c1 + 1):
                        name = names_by_col.get(c)
                        # Cells not given keep what the sheet holds (read once, or written by us).
                        value = given[name] if name in given else self._cell(r, c)
                        self._store(r, c, value)
                        line.append(cell_value(name, value))
                    matrix.append(line)
                self._put(first, c0 + 1, matrix)
            for name in DATE_COLUMNS:
                dated = [
                    r
                    for r in range(first, last + 1)
                    if isinstance(pending.get(r, {}).get(name), datetime)
                ]
                if dated:
                    col = self._out_cols[name] + 1
                    rng = self.sheet.range((dated[0], col), (dated[-1], col))
                    rng.number_format = DATETIME_FORMAT

    def _put(self, row: int, col: int, matrix: list[list[object]]) -> None:
        """One block write (a COM call); a refusal stops the run with where and why."""
        try:
            self.sheet.range((row, col)).value = matrix
        except Exception as exc:  # COM: protected meanwhile, cell being edited, Excel busy
            self._write_failed = True
            where = span_address(row, row + len(matrix) - 1, col, col + len(matrix[0]) - 1)
            raise ExcelWriteError(
                f"シート「{self.sheet_name}」のセル {where} に結果を書き込めませんでした"
                f"（{exc}）。 / Excel refused a result write."
            ) from exc
