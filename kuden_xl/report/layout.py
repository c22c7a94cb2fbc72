"""The report's look, shared by its sheets: fonts, fills, titles, bordered tables, A4 printing.

openpyxl styles and page setup; the sheets themselves are written by ``render`` and ``detail``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

FONT = "游ゴシック"


def styles() -> dict[str, Any]:
    """The fonts, fills, border and alignments the sheets use, by role (made once per report)."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="A6A6A6")
    return {
        "font": Font(name=FONT, size=10),
        "bold": Font(name=FONT, size=10, bold=True, color="FFFFFF"),
        "title": Font(name=FONT, size=14, bold=True),
        "heading": Font(name=FONT, size=11, bold=True),
        "strong": Font(name=FONT, size=10, bold=True),
        "note": Font(name=FONT, size=9, color="595959"),
        "fill": PatternFill("solid", fgColor="1F4E78"),
        "total": PatternFill("solid", fgColor="DDEBF7"),
        "border": Border(left=thin, right=thin, top=thin, bottom=thin),
        "wrap": Alignment(vertical="center", wrap_text=True),
        "center": Alignment(horizontal="center", vertical="center", wrap_text=True),
    }


def print_setup(ws: Any, title_rows: str | None = None) -> None:
    """A4 landscape, one page wide, centred, with the sheet name and page in the footer."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    if title_rows:
        ws.print_title_rows = title_rows
    ws.oddFooter.center.text = "&A — &P / &N"


def title(ws: Any, st: dict[str, Any], text: str, note: str = "") -> int:
    """Sheet title in A1 (and a note in A2); returns the first free row."""
    ws["A1"] = text
    ws["A1"].font = st["title"]
    ws.row_dimensions[1].height = 24
    if note:
        ws["A2"] = note
        ws["A2"].font = st["note"]
    return 4 if note else 3


def table(
    ws: Any,
    st: dict[str, Any],
    top: int,
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    formats: Sequence[str | None],
    *,
    total: bool = False,
) -> int:
    """A bordered table with a coloured header at ``top``; returns the last row written."""
    for col, name in enumerate(headers, 1):
        cell = ws.cell(top, col, name)
        cell.font, cell.fill, cell.border, cell.alignment = (
            st["bold"],
            st["fill"],
            st["border"],
            st["center"],
        )
    r = top
    for r, values in enumerate(rows, top + 1):
        for col, value in enumerate(values, 1):
            cell = ws.cell(r, col, value)
            cell.font, cell.border = st["font"], st["border"]
            fmt = formats[col - 1] if col - 1 < len(formats) else None
            if fmt:
                cell.number_format = fmt
    if total and r > top:
        for col in range(1, len(headers) + 1):
            ws.cell(r, col).fill = st["total"]
            ws.cell(r, col).font = st["strong"]
    return r


def widths(ws: Any, sizes: Sequence[float]) -> None:
    """Column widths from column A on."""
    from openpyxl.utils import get_column_letter

    for i, width in enumerate(sizes, 1):
        ws.column_dimensions[get_column_letter(i)].width = width


def rate(value: float | None) -> float | str:
    """A rate cell: the value, or a dash when there was nothing to divide by."""
    return "—" if value is None else value
