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

Text safety (DESIGN §3): Excel parses a string put into ``Range.Value`` like typed input, so
``=…`` becomes a formula, ``0120…`` a number and ``R8/10/31`` a date. Such strings are written
with a leading apostrophe, which Excel stores as a quote prefix: the cell's value is the text
without it. Only strings Excel could read as something else get the prefix (``excel_text``), so
ordinary Japanese results show no apostrophe in the formula bar.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..errors import WorkbookError
from ..schema import (
    DELIVERY_CHECKED_AT,
    OUTPUT_COLUMNS,
    PHONE,
    SEGMENTS,
    SENT_AT,
    SETTINGS_SHEET,
    Header,
)
from .base import (
    DATETIME_FORMAT,
    HEADER_SCAN_ROWS,
    OutputRow,
    SheetRows,
    has_value,
    header_in,
    settings_from_rows,
)

DATE_COLUMNS = (SENT_AT, DELIVERY_CHECKED_AT)
MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384
XL_CELL_TYPE_VISIBLE = 12
_ERROR_LITERALS = {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#DATA!"}
# COM's Range.Address is cut at 255 characters for ranges of many areas; near that, read areas.
_ADDRESS_LIMIT = 240


# --- addresses -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    """One rectangle of an address, 1-based and inclusive."""

    first_row: int
    last_row: int
    first_column: int
    last_column: int


_ENDPOINT = re.compile(r"\$?([A-Za-z]{1,3})?\$?(\d+)?")


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def parse_address(address: str) -> tuple[Area, ...]:
    """Areas of an A1 address as Excel's ``Range.Address`` gives it.

    Accepts cells (``$A$2``), rectangles (``A2:C9``), whole columns (``$C:$C``), whole rows
    (``$2:$5``) and several areas separated by commas (``$A$2:$A$3,$A$5``), with an optional
    sheet prefix (``'送信リスト'!$A$2``).

    Raises:
        WorkbookError: a part that is not an address.
    """
    areas: list[Area] = []
    for raw in re.split(r"[,;]", address):
        part = raw.strip().rsplit("!", 1)[-1]
        if not part:
            continue
        start, _, end = part.partition(":")
        ends = [_ENDPOINT.fullmatch(start), _ENDPOINT.fullmatch(end or start)]
        if any(m is None or not (m.group(1) or m.group(2)) for m in ends):
            raise WorkbookError(
                f"選択範囲「{address}」を読み取れません。セルを選択し直してください。"
                f" / Cannot parse the address {address!r}."
            )
        cols = [_column_number(m.group(1)) if m and m.group(1) else None for m in ends]
        rows = [int(m.group(2)) if m and m.group(2) else None for m in ends]
        r1, r2 = (rows[0] or 1, rows[1] or MAX_ROWS) if None in rows else (rows[0], rows[1])
        c1, c2 = (cols[0] or 1, cols[1] or MAX_COLUMNS) if None in cols else (cols[0], cols[1])
        assert r1 is not None and r2 is not None and c1 is not None and c2 is not None
        areas.append(Area(min(r1, r2), max(r1, r2), min(c1, c2), max(c1, c2)))
    return tuple(areas)


def rows_in(areas: Iterable[Area], first: int, last: int) -> set[int]:
    """Sheet rows that ``areas`` cover within ``first..last`` (whole columns are clipped first)."""
    rows: set[int] = set()
    for a in areas:
        rows.update(range(max(a.first_row, first), min(a.last_row, last) + 1))
    return rows


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

_FORMULA_OR_PREFIX = set("=+-@'#")
_NUMBER_START = set("0123456789.(¥$€£")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_ERA = re.compile(r"(明治|大正|昭和|平成|令和|午前|午後|[MTSHR]\d{1,2}[/.-]\d)", re.IGNORECASE)


def excel_text(text: str) -> str:
    """``text`` as written to a cell so that Excel keeps it as that text.

    A leading apostrophe (Excel's quote prefix, not part of the value) is added when Excel would
    read the string as something else: a formula or error (``= + - @ #``), a string already
    starting with ``'``, a number, date, time, fraction or currency (a digit, ``.``, ``(`` or a
    currency sign first), a Japanese era date or a time (``令和…``, ``R8/…``, ``午前…``), an
    English month date (``Jan-26``) or TRUE/FALSE. Full-width forms count as Excel reads them.
    """
    if not text:
        return text
    shown = unicodedata.normalize("NFKC", text).strip()
    if not shown:
        return text
    first = shown[0]
    risky = (
        first in _FORMULA_OR_PREFIX
        or text[0] in _FORMULA_OR_PREFIX
        or first in _NUMBER_START
        or _ERA.match(shown) is not None
        or shown.casefold() in ("true", "false")
        or shown[:3].casefold() in _MONTHS
    )
    return "'" + text if risky else text


def cell_value(name: str | None, value: object) -> object:
    """A Python value as written to one cell (text-safe strings, naive date-times)."""
    if isinstance(value, str):
        return excel_text(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    if name == SEGMENTS and value is not None and not isinstance(value, (bool, date)):
        return int(value)  # type: ignore[call-overload]
    return value


def _runs(columns: Sequence[int], is_output: Collection[int]) -> list[tuple[int, int]]:
    """Group sorted column indices into spans that cross only output columns."""
    spans: list[tuple[int, int]] = []
    for c in columns:
        if spans and all(x in is_output for x in range(spans[-1][1] + 1, c)):
            spans[-1] = (spans[-1][0], c)
        else:
            spans.append((c, c))
    return spans


def _blocks(rows: Sequence[int], bridge: Collection[int] = ()) -> list[tuple[int, int]]:
    """Sorted row numbers → (first, last) of each run of consecutive rows.

    A gap whose every row is in ``bridge`` does not end a run: the rows between are rewritten
    with the values they hold, so one write covers the run.
    """
    blocks: list[tuple[int, int]] = []
    for r in rows:
        if blocks and all(g in bridge for g in range(blocks[-1][1] + 1, r)):
            blocks[-1] = (blocks[-1][0], r)
        else:
            blocks.append((r, r))
    return blocks


# --- can Excel take our writes? ----------------------------------------------------------------


class ExcelWriteError(WorkbookError):
    """Excel refused a result write in the middle of a send (the run stops at once)."""


def _a1(row: int, col: int) -> str:
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row}"


def _span(first_row: int, last_row: int, first_col: int, last_col: int) -> str:
    """An A1 address of a rectangle (1-based, inclusive): ``I2:P334`` or ``I2``."""
    start, end = _a1(first_row, first_col), _a1(last_row, last_col)
    return start if start == end else f"{start}:{end}"


def com_refusal(book_api: Any, sheet_api: Any, sheet: str, output: Sequence[str]) -> str | None:
    """Why Excel could not take the results, asked through COM before anything is sent.

    ``output`` are the A1 addresses of the output cells the send will write (its rows × the
    output columns). Checked: a workbook opened read-only (a colleague has it open, or it came
    from a mail attachment), a protected sheet whose output cells are locked, and merged cells
    in the output (Excel refuses a block write across part of a merged area).
    """
    if bool(book_api.ReadOnly):
        return (
            f"ブック「{book_api.Name}」は読み取り専用で開かれています（他の人が開いている、"
            "メールの添付から開いたなど）。結果を保存できないため送信しません。"
            "編集できる状態で開き直してから、もう一度押してください。"
            " / The workbook is read-only; nothing was sent."
        )
    # ProtectionMode: protected with UserInterfaceOnly, which lets macros and COM write.
    protected = bool(sheet_api.ProtectContents) and not bool(sheet_api.ProtectionMode)
    locked: list[str] = []
    merged: list[str] = []
    for address in output:
        cells = sheet_api.Range(address)
        if protected and cells.Locked is not False:  # None: some of them are locked
            locked.append(address)
        if cells.MergeCells is not False:  # None: some of them are merged
            merged.append(address)
    if locked:
        return (
            f"シート「{sheet}」は保護されていて、結果を書き込むセル（{', '.join(locked)}）を"
            "変更できません。［校閲］→［シート保護の解除］をしてから、もう一度押してください。"
            "何も送信していません。 / The sheet is protected; nothing was sent."
        )
    if merged:
        return (
            f"シート「{sheet}」の結果を書き込むセル（{', '.join(merged)}）に結合されたセルが"
            "あります。［ホーム］→［セルを結合して中央揃え］で結合を解除してから、"
            "もう一度押してください。何も送信していません。 / Merged output cells; nothing sent."
        )
    return None


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
    def _used_values(self, sheet: Any, max_columns: int | None = None) -> list[list[object]]:
        """The sheet's values from A1 to the used range's last cell, in one read."""
        used = sheet.used_range
        last_row = used.row + used.shape[0] - 1
        last_col = used.column + used.shape[1] - 1
        if max_columns is not None:
            last_col = min(last_col, max_columns)
        rng = sheet.range((1, 1), (last_row, last_col))
        values = rng.options(ndim=2, err_to_str=True).value
        return [list(row) for row in values]

    def read(self) -> SheetRows:
        """Header and every data row, from one bulk read (kept: later calls reuse it).

        An error cell (``#N/A``…) is kept as its text in the phone column, so the check names
        it; elsewhere it reads as empty, so it can never land in a message body.
        """
        if self._data is not None:
            return self._data
        cells = self._used_values(self.sheet)
        below = enumerate(cells[HEADER_SCAN_ROWS:], HEADER_SCAN_ROWS + 1)
        header = header_in(cells, sheet=self.sheet_name, below=below)
        phone = header.columns.get(PHONE)
        width = len(header.names)
        rows: dict[int, list[object]] = {}
        last = header.row
        for r in range(header.row + 1, len(cells) + 1):
            values = cells[r - 1]
            for c, v in enumerate(values):
                if c != phone and isinstance(v, str) and v in _ERROR_LITERALS:
                    values[c] = None
            if any(has_value(v) for v in values[:width]):
                rows[r] = values[:width]
                last = r
        self._cells = cells
        self._out_cols = {n: i for i, n in enumerate(header.names) if n in OUTPUT_COLUMNS}
        self._data = SheetRows(self.book_name, self.sheet_name, header, rows, last)
        return self._data

    def settings(self) -> dict[str, object] | None:
        if self._settings_read:
            return self._settings
        self._settings_read = True
        if SETTINGS_SHEET not in [s.name for s in self.book.sheets]:
            return None
        rows = self._used_values(self.book.sheets[SETTINGS_SHEET], max_columns=2)
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
        spans = _runs(sorted(self._out_cols.values()), names_by_col)
        return [
            _span(first, last, c0 + 1, c1 + 1) for first, last in _blocks(rows) for c0, c1 in spans
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
        for first, last in _blocks(sorted(pending), bridge):
            for c0, c1 in _runs(touched, names_by_col):
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
            where = _span(row, row + len(matrix) - 1, col, col + len(matrix[0]) - 1)
            raise ExcelWriteError(
                f"シート「{self.sheet_name}」のセル {where} に結果を書き込めませんでした"
                f"（{exc}）。 / Excel refused a result write."
            ) from exc
