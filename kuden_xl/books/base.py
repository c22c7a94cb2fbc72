"""The Table protocol: what jobs need from a worksheet, whoever holds it (openpyxl or Excel)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import RowSpecError, WorkbookError
from ..schema import Header

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
    rows: Mapping[int, Sequence[object]]  # sheet row number -> values, one per header column
    last_row: int  # last sheet row holding data (the header row when there is none)
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
