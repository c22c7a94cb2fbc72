"""The headless Table adapter: an .xlsx/.xlsm file through openpyxl.

Reads formula cells by the value Excel last computed, through openpyxl. Saves never go through
openpyxl: ``sheetxml`` edits only kuden_xl's output cells in the sheet's XML and copies every other
part byte for byte (cached formula values, charts, pivots, VBA), and ``saving`` puts the new file in
place atomically, keeping its mode and symlinks (DESIGN §3, §6). Which sheet is used is
``sheetchoice``'s; the stored cells and computed formula values come from ``xlsxcells``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..errors import WorkbookError, WorkbookLockedError, WorkbookSaveError
from ..schema import (
    OUTPUT_COLUMNS,
    SEGMENTS,
    SETTINGS_SHEET,
    Header,
)
from . import saving, sheetxml
from .a1 import column_letter
from .base import (
    DATETIME_FORMAT,
    HEADER_SCAN_ROWS,
    OutputRow,
    SheetRows,
    has_value,
    header_in,
    settings_from_rows,
)
from .cellxml import CellValue
from .sheetchoice import pick_sheet
from .unsupported import UnsupportedWorkbook
from .xlsxcells import fill_computed, header_rows, stored_rows
from .xlsxfile import refuse_unreadable, unescape

MAX_COLUMNS = 16_384  # Excel's last column, XFD


def open_locks(path: Path) -> list[Path]:
    """Lock files Excel (``~$NAME``) or LibreOffice (``.~lock.NAME#``) keep beside an open book."""
    candidates = [path.with_name("~$" + path.name), path.with_name(f".~lock.{path.name}#")]
    if len(path.name) > 2:  # Excel shortens long names: ~$ replaces the first two characters
        candidates.append(path.with_name("~$" + path.name[2:]))
    return [p for p in candidates if p.exists()]


class XlsxTable:
    """A worksheet in an .xlsx/.xlsm file. ``output`` saves results to a copy instead."""

    def __init__(self, path: Path, *, sheet: str | None = None, output: Path | None = None):
        self.path = Path(path)
        self.output = Path(output) if output else None
        self._requested_sheet = sheet
        self._wb: Any = None
        self._ws: Any = None
        self._header: Header | None = None
        self._out_cols: dict[str, int] = {}  # output name -> 1-based column
        self._dirty = False
        self._rightmost = ""  # the rightmost cell holding a value, from the header down
        self._pending: dict[tuple[int, int], CellValue] = {}  # cells not saved yet
        self._saved_to: Path | None = None  # where the last save went (the next one edits it)
        self._load()

    # -- opening ----------------------------------------------------------------------------
    def _load(self) -> None:
        import openpyxl

        if not self.path.is_file():
            raise WorkbookError(
                f"ファイル「{self.path}」が見つかりません。 / File not found: {self.path}"
            )
        refuse_unreadable(self.path)
        keep_vba = self.path.suffix.lower() in (".xlsm", ".xltm")
        try:
            self._wb = openpyxl.load_workbook(self.path, keep_vba=keep_vba, data_only=False)
        except Exception as exc:  # openpyxl raises many types for a non-workbook
            raise WorkbookError(
                f"「{self.path.name}」を Excel ブック（.xlsx/.xlsm）として開けません: {type(exc).__name__}"
                f" / Not a readable .xlsx/.xlsm workbook: {self.path}"
            ) from exc
        self._ws = pick_sheet(self._wb, self._requested_sheet)

    @property
    def book_name(self) -> str:
        return self.path.name

    @property
    def workbook(self) -> Path:
        return self.path

    @property
    def sheet_name(self) -> str:
        return str(self._ws.title)

    # -- reading ----------------------------------------------------------------------------
    def _read_header(self, stored: dict[int, list[Any]] | None = None) -> Header:
        stored = stored_rows(self._ws) if stored is None else stored
        below = ((r, [c.value for c in stored[r]]) for r in sorted(stored) if r > HEADER_SCAN_ROWS)
        header = header_in(header_rows(stored), sheet=self.sheet_name, below=below)
        # Output columns go right of every column in use from the header down, named or not,
        # so that they never overwrite a column of notes that has no header.
        width = len(header.names)
        used = max(
            (
                (c, r)
                for (r, c), cell in self._ws._cells.items()
                if c > width and r >= header.row and has_value(cell.value)
            ),
            default=(0, 0),
        )
        self._rightmost = f"{column_letter(used[0])}{used[1]}" if used[0] else ""
        if used[0] > width:
            header = Header(header.row, header.names + ("",) * (used[0] - width), header.columns)
        self._header = header
        return header

    def refuse_unwritable_outputs(self) -> None:
        """Refuse when result cells could not be written: no room right of the last column in
        use, or a merged cell where results go (writing it would crash after sending).

        Raises:
            WorkbookError: naming the cells and what to do; nothing has been sent.
        """
        header = self._header_row()
        missing = sum(1 for n in OUTPUT_COLUMNS if n not in header.columns)
        if missing and len(header.names) + missing > MAX_COLUMNS:
            raise WorkbookError(
                f"シート「{self.sheet_name}」の右端近くのセル {self._rightmost} に値があるため、"
                "その右に結果の列を作れません。不要な値なら削除して、もう一度実行してください。"
                f" / No room for the output columns right of {self._rightmost}."
            )
        merged = self.merged_output_cells()
        if merged:
            more = f" ほか{len(merged) - 5}か所" if len(merged) > 5 else ""
            raise WorkbookError(
                f"結果を書き込む列に結合されたセルがあります（{'、'.join(merged[:5])}{more}）。"
                "そのセルを選び、［ホーム］→［セルを結合して中央揃え］の▼→［セル結合の解除］で"
                "結合を解除してから、もう一度実行してください。何も送信していません。"
                f" / Merged cells in the output columns ({', '.join(merged)}); unmerge them."
            )

    def merged_output_cells(self) -> list[str]:
        """Merged ranges (``送信リスト!M5:N5``) that hold an output cell: results cannot be
        written there. The columns where missing output columns will be created count too;
        merged cells above the header (a title) or in other columns are fine.
        """
        header = self._header_row()
        columns = set(self._output_positions(header).values())
        return [
            f"{self.sheet_name}!{merged.coord}"
            for merged in self._ws.merged_cells.ranges
            if merged.max_row >= header.row
            and any(merged.min_col <= c <= merged.max_col for c in columns)
        ]

    def read(self) -> SheetRows:
        """Header and every row holding a value in a header column (cells the file holds only).

        ``SheetRows.data_rows`` then keeps the rows that are data by DESIGN §3 "Which rows".
        """
        stored = stored_rows(self._ws)
        header = self._read_header(stored)
        self._out_cols = {n: i + 1 for i, n in enumerate(header.names) if n in OUTPUT_COLUMNS}
        width = len(header.names)
        rows: dict[int, list[object]] = {}
        formulas: list[tuple[int, int]] = []
        number_formats: dict[tuple[int, int], str] = {}
        for r in sorted(stored):
            if r <= header.row:
                continue
            values: list[object] = [None] * width
            for cell in stored[r]:
                c = cell.column
                if c > width:
                    continue
                if cell.data_type == "f":
                    formulas.append((r, c))
                if cell.data_type in ("n", "f") and cell.number_format != "General":
                    number_formats[(r, c - 1)] = cell.number_format
                values[c - 1] = unescape(cell.value)
            if any(has_value(v) for v in values):
                rows[r] = values
        if formulas:
            fill_computed(self.path, self.sheet_name, rows, formulas)
        last = max(rows, default=header.row)
        return SheetRows(self.book_name, self.sheet_name, header, rows, last, number_formats)

    def settings(self) -> dict[str, object] | None:
        if SETTINGS_SHEET not in self._wb.sheetnames:
            return None
        rows: list[list[object]] = []
        stored = stored_rows(self._wb[SETTINGS_SHEET])
        for r in sorted(stored):
            values: list[object] = [None, None]
            for cell in stored[r]:
                if cell.column <= 2:
                    values[cell.column - 1] = unescape(cell.value)
            rows.append(values)
        return settings_from_rows(rows)

    def hidden_rows(self, rows: Collection[int]) -> frozenset[int]:
        dims = self._ws.row_dimensions
        return frozenset(r for r in rows if r in dims and dims[r].hidden)

    # -- writing ----------------------------------------------------------------------------
    # Cells are buffered in ``_pending`` (and mirrored into the openpyxl sheet, so a later read
    # sees them); ``flush`` writes them with ``sheetxml`` and never saves through openpyxl.
    def _header_row(self) -> Header:
        return self._header or self._read_header()

    def _output_positions(self, header: Header) -> dict[str, int]:
        """Output name -> 1-based column, the missing ones placed where they will be created."""
        cols = {n: i + 1 for i, n in enumerate(header.names) if n in OUTPUT_COLUMNS}
        next_col = max([len(header.names), *cols.values()]) + 1
        for name in OUTPUT_COLUMNS:
            if name not in cols:
                cols[name] = next_col
                next_col += 1
        return cols

    def _ensure_output_columns(self) -> None:
        if self._header is None:
            self.read()
        assert self._header is not None
        if all(n in self._out_cols for n in OUTPUT_COLUMNS):
            return
        existing = set(self._out_cols)
        self._out_cols = self._output_positions(self._header)
        for name, column in self._out_cols.items():
            if name not in existing:
                self._set(self._header.row, column, name)
        self._dirty = True

    def _set(self, row: int, column: int, value: CellValue) -> None:
        self._pending[(row, column)] = value
        self._ws.cell(row=row, column=column).value = value

    def write(self, outputs: Sequence[OutputRow]) -> None:
        if not outputs:
            return
        self._ensure_output_columns()
        for out in outputs:
            for name, value in out.values.items():
                column = self._out_cols[name]
                if isinstance(value, datetime):
                    self._set(out.row, column, value.replace(tzinfo=None))
                elif isinstance(value, (date, str)):  # text stays text: = + - @ are no formula
                    self._set(out.row, column, value)
                elif name == SEGMENTS and value is not None:
                    self._set(out.row, column, int(value))  # type: ignore[call-overload]
                elif value is None or isinstance(value, (int, float)):
                    self._set(out.row, column, value)
                else:
                    self._set(out.row, column, str(value))
        self._dirty = True

    def check_writable(self) -> None:
        """Refuse before anything is sent when results could not be saved safely.

        Raises:
            WorkbookLockedError: the workbook is open in Excel or LibreOffice.
            WorkbookError: a result cell is merged, an output cell holds a formula, or the file
                uses a part of the format the write-back does not handle.
            WorkbookSaveError: the folder cannot take the save (not writable, too little space).
        """
        self.refuse_unwritable_outputs()
        locks = open_locks(self.path)
        if locks:
            raise WorkbookLockedError(
                f"「{self.path.name}」は Excel または LibreOffice で開かれています"
                f"（{locks[0].name}）。ブックを閉じてから、もう一度実行してください。"
                f" / The workbook is open in Excel or LibreOffice; close it first.",
                path=self.path,
            )
        self._check_save()

    def _check_save(self) -> None:
        """The save this run needs, tried before the first message (DESIGN §6)."""
        header = self._header_row()
        columns = self._output_positions(header)
        try:
            blocked = sheetxml.blocked_cells(
                sheetxml.sheet_xml(self.path, self.sheet_name), set(columns.values()), header.row
            )
        except (UnsupportedWorkbook, OSError) as exc:
            raise self._unsupported(exc) from exc
        if blocked:
            shown = "、".join(blocked[:5]) + (
                f" ほか {len(blocked) - 5} 個" if len(blocked) > 5 else ""
            )
            raise WorkbookError(
                f"シート「{self.sheet_name}」の結果の列（送信日時〜配信確認日時）に数式のセルがあります"
                f"（{shown}）。結果で上書きすると数式が失われるため、送信しません。"
                "数式を消すか、結果の列を空けてから、もう一度実行してください。"
                f" / Output cells hold formulas ({', '.join(blocked[:5])}); nothing was sent."
            )
        header_cells = {(header.row, c): n for n, c in columns.items() if n not in header.names}
        target = self.output or self.path

        def trial(f: Any) -> None:
            try:
                sheetxml.write_back(
                    self.path, f, self.sheet_name, header_cells, formats=[DATETIME_FORMAT]
                )
            except UnsupportedWorkbook as exc:
                raise self._unsupported(exc) from exc

        saving.preflight(target, self.path, trial)

    def _unsupported(
        self, exc: Exception, kind: type[WorkbookError] = WorkbookError
    ) -> WorkbookError:
        return kind(
            f"「{self.path.name}」には結果を書き戻せません: {exc}。"
            "--output に別のファイル名を指定しても同じです。Excel で開いて保存し直すと直ることがあります。"
            f" / Cannot write results back to {self.path.name}: {exc}"
        )

    def flush(self) -> None:
        """Save the buffered cells: only they change, every other byte of the file stays.

        Raises:
            WorkbookSaveError: the file could not be written (unchanged; the cells stay buffered).
            WorkbookError: the workbook uses a part of the format the write-back cannot handle.
        """
        if not self._dirty:
            return
        target = self.output or self.path
        source = self._saved_to or self.path
        cells = dict(self._pending)

        def write(f: Any) -> None:
            try:
                sheetxml.write_back(source, f, self.sheet_name, cells)
            except UnsupportedWorkbook as exc:  # mid-run: stop like any failed save
                raise self._unsupported(exc, WorkbookSaveError) from exc

        saving.save_atomically(target, write)
        self._saved_to = target
        self._pending.clear()
        self._dirty = False
