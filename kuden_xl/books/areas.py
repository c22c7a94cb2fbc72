"""Rectangles of a worksheet in A1 terms: addresses parsed into areas, rows grouped into blocks.

``parse_address`` reads what Excel's ``Range.Address`` gives (the selection, visible rows);
``runs`` and ``span_address`` shape the rectangles one write covers.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from ..errors import WorkbookError
from .a1 import column_letter, column_number

MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384


@dataclass(frozen=True)
class Area:
    """One rectangle of an address, 1-based and inclusive."""

    first_row: int
    last_row: int
    first_column: int
    last_column: int


_ENDPOINT = re.compile(r"\$?([A-Za-z]{1,3})?\$?(\d+)?")


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
        cols = [column_number(m.group(1)) if m and m.group(1) else None for m in ends]
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


def _a1(row: int, col: int) -> str:
    return f"{column_letter(col)}{row}"


def span_address(first_row: int, last_row: int, first_col: int, last_col: int) -> str:
    """An A1 address of a rectangle (1-based, inclusive): ``I2:P334`` or ``I2``."""
    start, end = _a1(first_row, first_col), _a1(last_row, last_col)
    return start if start == end else f"{start}:{end}"


def runs(numbers: Sequence[int], bridge: Collection[int] = ()) -> list[tuple[int, int]]:
    """Sorted numbers (rows, or columns) → (first, last) of each run of consecutive ones.

    A gap whose every number is in ``bridge`` does not end a run: for rows, the rows between are
    rewritten with the values they hold; for columns, the columns between are output columns.
    One write then covers the run.
    """
    found: list[tuple[int, int]] = []
    for n in numbers:
        if found and all(g in bridge for g in range(found[-1][1] + 1, n)):
            found[-1] = (found[-1][0], n)
        else:
            found.append((n, n))
    return found
