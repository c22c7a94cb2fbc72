"""The Table protocol: what jobs need from a worksheet, whoever holds it (openpyxl or Excel)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from ..errors import HeaderError, RowSpecError, WorkbookError
from ..schema import PHONE, Header, find_header, is_phone_header

# Shared by both adapters, so a workbook reads the same in Excel and headless.
HEADER_SCAN_ROWS = 20  # the header is looked for in the sheet's first rows
DATETIME_FORMAT = "yyyy/mm/dd hh:mm"  # 送信日時 / 配信確認日時
_SETTINGS_HEADER_KEYS = {"項目", "キー", "key", "設定項目"}


def settings_from_rows(rows: Iterable[Sequence[object]]) -> dict[str, object]:
    """The 設定 sheet's key/value rows (column A key, column B value) as a dict.

    Empty keys and a heading row (項目 / キー …) are skipped; keys are trimmed.
    """
    result: dict[str, object] = {}
    for row in rows:
        key = row[0] if row else None
        text = str(key).strip() if key is not None else ""
        if text and text not in _SETTINGS_HEADER_KEYS:
            result[text] = row[1] if len(row) > 1 else None
    return result


def has_value(value: object) -> bool:
    """A cell holds something: not empty and not only spaces (a formula counts, computed or not)."""
    if isinstance(value, str):
        return value.strip() != ""
    return value is not None


def header_in(
    top: Sequence[Sequence[object]],
    *,
    sheet: str,
    below: Iterable[tuple[int, Sequence[object]]] = (),
) -> Header:
    """The header among ``top``, the sheet's first ``HEADER_SCAN_ROWS`` rows.

    ``below`` (row number, values) are the rows under them, looked at only to explain a miss.

    Raises:
        HeaderError: no phone column in the first rows; when one sits lower, the message says
            which row, that only the first rows are searched, and to move the header up.
    """
    try:
        return find_header(top[:HEADER_SCAN_ROWS], sheet=sheet)
    except HeaderError:
        lower = next((r for r, values in below if any(is_phone_header(v) for v in values)), None)
        if lower is None:
            raise
        raise HeaderError(
            f"シート「{sheet}」の電話番号の見出しが{lower}行目にあります。見出しは先頭"
            f"{HEADER_SCAN_ROWS}行の中だけを探します。見出しより上の空の行や説明の行を削除して、"
            f"見出しの行を{HEADER_SCAN_ROWS}行目までに移してください。"
            f" / The header is in row {lower} of {sheet!r}; only the first {HEADER_SCAN_ROWS}"
            " rows are searched. Move it up.",
            sheet=sheet,
            row=lower,
        ) from None


@dataclass(frozen=True)
class Uncomputed:
    """A formula cell with no value computed by Excel (the file was never opened since)."""

    cell: str  # A1 reference, e.g. 'D5'

    def error(self, sheet: str) -> WorkbookError:
        return WorkbookError(
            f"シート「{sheet}」のセル {self.cell} の数式に計算結果が保存されていません。"
            "Excel でブックを開いて保存してから、もう一度実行してください。"
            f" / Formula in {sheet}!{self.cell} has no computed value; open and save in Excel."
        )


@dataclass(frozen=True)
class SheetRows:
    """One bulk read of a sheet: its header and the data rows below it."""

    book: str
    sheet: str
    header: Header
    # Sheet row number -> values, one per header column. As a Table reads it: every row with a
    # value in some header column; after ``data_rows``: the data rows only.
    rows: Mapping[int, Sequence[object]]
    last_row: int  # the last row of ``rows`` (the header row when there is none)
    # (sheet row, column index) -> Excel number format of a number cell that has one other than
    # General (headless reader only; empty when unknown). Bodies show numbers as Excel does.
    number_formats: Mapping[tuple[int, int], str] = field(default_factory=dict)

    def value(self, row: int, name: str) -> object:
        """The value of column ``name`` in ``row`` (None when the column is missing)."""
        column = self.header.columns.get(name)
        if column is None:
            return None
        values = self.rows.get(row, ())
        return values[column] if column < len(values) else None

    def data_rows(self, columns: Collection[str] = ()) -> SheetRows:
        """Only the data rows (DESIGN §3 "Which rows"), and ``last_row`` the last of them.

        A data row is one whose phone column or one of ``columns`` (the columns the body uses)
        holds a value. Values in other columns never make a row: a filled-down
        ``=KUDEN_CHECK(C2)``, notes, results, a stray value far below the list.
        """
        names = (PHONE, *columns)
        indices = sorted({self.header.columns[n] for n in names if n in self.header.columns})
        rows = {
            r: values
            for r, values in self.rows.items()
            if any(i < len(values) and has_value(values[i]) for i in indices)
        }
        return replace(self, rows=rows, last_row=max(rows, default=self.header.row))


@dataclass(frozen=True)
class OutputRow:
    """Output cells to write for one row: output column name -> value (only those given)."""

    row: int
    values: Mapping[str, object]


class Table(Protocol):
    """A worksheet of recipients. Jobs use nothing else of a workbook."""

    @property
    def book_name(self) -> str: ...

    @property
    def sheet_name(self) -> str: ...

    @property
    def workbook(self) -> Path:
        """The workbook's file (the source, not an ``--output`` copy): one run per file at a
        time is keyed on it (``books.lock``)."""
        ...

    def read(self) -> SheetRows:
        """Header and every data row, in one bulk read."""
        ...

    def settings(self) -> dict[str, object] | None:
        """The 設定 sheet as key -> value (None when the workbook has none)."""
        ...

    def hidden_rows(self, rows: Collection[int]) -> frozenset[int]:
        """Which of ``rows`` are hidden (by a filter or by hand)."""
        ...

    def check_writable(self) -> None:
        """Raise before anything is sent when results could not be written back safely."""
        ...

    def write(self, outputs: Sequence[OutputRow]) -> None:
        """Buffer result cells; output columns are created when missing (DESIGN §3)."""
        ...

    def flush(self) -> None:
        """Persist what ``write`` buffered (a save, or one block write per contiguous run)."""
        ...


def parse_rows(spec: str, *, first: int, last: int) -> list[int]:
    """Sheet row numbers from ``2-40,45``; rows outside ``first..last`` are an error.

    Raises:
        RowSpecError: a part cannot be read or points outside the data rows.
    """
    text = unicodedata.normalize("NFKC", spec).replace(" ", "")
    rows: set[int] = set()
    for part in filter(None, re.split(r"[,、]", text)):
        m = re.fullmatch(r"(\d+)(?:[-~〜:](\d+))?", part)
        if not m:
            raise RowSpecError(
                f"行の指定「{part}」が読めません。「2-40,45」のように行番号で指定してください。"
                f" / Cannot read row spec {part!r}."
            )
        lo = int(m.group(1))
        hi = int(m.group(2) or lo)
        if lo > hi:
            lo, hi = hi, lo
        if lo < first or hi > last:
            where = f"{first}〜{last}行目" if last >= first else "なし（データ行がありません）"
            raise RowSpecError(
                f"行の指定「{part}」がデータの範囲外です（データ行: {where}）。"
                f" / Rows {part} are outside the data rows {first}-{last}."
            )
        rows.update(range(lo, hi + 1))
    if not rows:
        raise RowSpecError("送信する行が指定されていません。 / No rows selected.")
    return sorted(rows)
