"""The live sheet read in one bulk call: the used range's values from A1, and the rows in them."""

from __future__ import annotations

from typing import Any

from ..schema import PHONE
from .base import HEADER_SCAN_ROWS, SheetRows, has_value, header_in

_ERROR_LITERALS = {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#DATA!"}


def used_values(sheet: Any, max_columns: int | None = None) -> list[list[object]]:
    """The sheet's values from A1 to the used range's last cell, in one read."""
    used = sheet.used_range
    last_row = used.row + used.shape[0] - 1
    last_col = used.column + used.shape[1] - 1
    if max_columns is not None:
        last_col = min(last_col, max_columns)
    rng = sheet.range((1, 1), (last_row, last_col))
    values = rng.options(ndim=2, err_to_str=True).value
    return [list(row) for row in values]


def sheet_rows(cells: list[list[object]], book: str, sheet: str) -> SheetRows:
    """Header and every data row of ``cells`` (the used values); error cells are cleared in place.

    An error cell (``#N/A``…) is kept as its text in the phone column, so the check names it;
    elsewhere it reads as empty, so it can never land in a message body.
    """
    below = enumerate(cells[HEADER_SCAN_ROWS:], HEADER_SCAN_ROWS + 1)
    header = header_in(cells, sheet=sheet, below=below)
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
    return SheetRows(book, sheet, header, rows, last)
