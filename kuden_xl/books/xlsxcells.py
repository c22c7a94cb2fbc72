"""An openpyxl worksheet's stored cells, read without creating any; formulas by computed value.

openpyxl's ``iter_rows`` creates a cell for every position it passes; reading only the stored
cells keeps a stray far-away value from costing a million rows. Formula cells are read in a
second, read-only pass by the value Excel last computed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .a1 import column_letter
from .base import HEADER_SCAN_ROWS, Uncomputed
from .xlsxfile import unescape


def stored_rows(ws: Any) -> dict[int, list[Any]]:
    """The cells the file holds, by row (rows in file order), without creating any.

    openpyxl's ``iter_rows`` creates an empty cell for every position up to ``max_row`` ×
    ``max_column``, and a save then writes them all: one stray value in row 1,048,576 made
    every run read and write a million rows. Its cell store (``ws._cells``, keyed by
    ``(row, column)``) holds only what the file had and what we wrote: one pass over it.
    """
    by_row: dict[int, list[Any]] = {}
    for (r, _), cell in ws._cells.items():
        cells = by_row.get(r)
        if cells is None:
            by_row[r] = [cell]
        else:
            cells.append(cell)
    return by_row


def header_rows(stored: dict[int, list[Any]]) -> list[list[object]]:
    """The values of the first ``HEADER_SCAN_ROWS`` rows, as dense lists from column A."""
    rows: list[list[object]] = [[] for _ in range(HEADER_SCAN_ROWS)]
    for r in range(1, HEADER_SCAN_ROWS + 1):
        values = rows[r - 1]
        for cell in stored.get(r, ()):
            if len(values) < cell.column:
                values.extend([None] * (cell.column - len(values)))
            values[cell.column - 1] = unescape(cell.value)
    return rows


def fill_computed(
    path: Path, sheet: str, rows: dict[int, list[object]], formulas: list[tuple[int, int]]
) -> None:
    """Replace formula text by Excel's last computed value (a second, read-only pass)."""
    import openpyxl

    wanted = set(formulas)
    formula_rows = {r for r, _ in formulas}
    min_row, max_row = min(formula_rows), max(formula_rows)
    computed = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = computed[sheet]
        # The read-only reader yields a filler for every row the file skips: only rows
        # holding formulas are looked at, so a far-away formula costs a loop, not a scan.
        max_col = max(c for _, c in formulas)  # else each row is padded to the dimension tag
        rows_read = ws.iter_rows(min_row=min_row, max_row=max_row, max_col=max_col)
        for r, cells in enumerate(rows_read, min_row):
            if r not in formula_rows:
                continue
            for cell in cells:
                key = (r, getattr(cell, "column", None))
                if key in wanted:
                    c = key[1]
                    assert c is not None
                    value = unescape(cell.value)
                    rows[r][c - 1] = (
                        Uncomputed(f"{column_letter(c)}{r}") if value is None else value
                    )
                    wanted.discard(key)
    finally:
        computed.close()
    for r, c in wanted:  # cells the computed pass did not list at all: no value stored
        rows[r][c - 1] = Uncomputed(f"{column_letter(c)}{r}")
