"""Lossless write-back: change some cells of one worksheet of an .xlsx/.xlsm, keep every other byte.

The workbook is the record (DESIGN §3), so a save edits only the cells it is given. Every zip entry
but the sheet (and ``styles.xml`` when a date format has to be added once) is copied as raw bytes:
local header, compressed data, timestamps, extra fields, entry order and the archive comment. The
sheet is spliced at the byte level, row by row: rows and cells that are not written are copied
verbatim, so a 10,000-row sheet is never held as a tree of objects.

Values are written as Excel writes them: text as inline strings (``sharedStrings.xml`` stays as it
is), dates as serial numbers with a date format, numbers and booleans as themselves; ``None`` clears
a cell's value (its style stays).

What is refused (``UnsupportedWorkbook``, raised before anything is written): ZIP64 or encrypted
archives, a sheet in another encoding than UTF-8, DTDs, CDATA or XML comments inside the sheet's
data, rows or cells out of order, and writing into a cell that holds a formula or lies inside an
array formula or data table (see ``blocked_cells``).

The parts: ``rawzip`` (the zip container), ``bookparts`` (which entries), ``styles`` (the date
format), ``sheetscan`` (rows and cells found in the sheet's bytes), ``cellxml`` (one new cell);
this module splices the written cells into the sheet and drives the whole write-back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

from .a1 import column_letter
from .bookparts import find_parts
from .cellxml import CellValue, cell_xml, format_of
from .rawzip import read_archive, read_entry, rewrite_zip
from .sheetscan import Sheet, parse_range
from .styles import ensure_format
from .unsupported import UnsupportedWorkbook
from .xmlbytes import ATTRS, attr_list, attr_value

Cells = Mapping[tuple[int, int], CellValue]  # (row, column), both 1-based -> value


# Attributes of a written cell that describe the old value, not the cell: dropped.
_VALUE_ATTRS = {b"r", b"t", b"cm", b"vm"}


def _edit_row(
    sheet: Sheet,
    number: int,
    tag: re.Match[bytes] | None,
    content: bytes,
    edits: dict[int, CellValue],
    styles: Mapping[str, int],
    d1904: bool,
) -> bytes:
    p = sheet.p
    ps = p.decode()
    out: list[bytes] = []
    pending = sorted(edits)
    i = 0
    tail_from = 0

    def new(column: int, kept: list[tuple[bytes, bytes]]) -> bytes:
        value = edits[column]
        fmt = format_of(value)
        style = styles[fmt] if fmt else None
        carried = "".join(
            f" {k.decode()}={v.decode()}" for k, v in kept if not (k == b"s" and style is not None)
        )
        ref = f"{column_letter(column)}{number}"
        return cell_xml(ref, carried, value, ps, style, d1904).encode()

    last = sheet.last_column(content)
    if last is not None and pending[0] > last:
        # The usual case, every cell to write right of the row's last one: no cell is parsed.
        out.append(content)
        tail_from = len(content)
        cells: Iterator[tuple[int, re.Match[bytes]]] = iter(())
    else:
        cells = sheet.cells(content, number)
    for column, m in cells:
        while i < len(pending) and pending[i] < column:
            out.append(new(pending[i], []))
            i += 1
        if i < len(pending) and pending[i] == column:
            inner = m.group(2) or b""
            if b"<" + p + b"f" in inner:
                raise UnsupportedWorkbook(
                    f"セル {column_letter(column)}{number} には数式があり、上書きできません"
                )
            kept = [(k, v) for k, v in attr_list(m.group(1)) if k not in _VALUE_ATTRS]
            out.append(new(column, kept))
            i += 1
        elif attr_value(m.group(1), b"r") is None:
            # give it its reference: cells may be inserted before
            ref = f"{column_letter(column)}{number}".encode()
            out.append(m.group(0).replace(b"<" + p + b"c", b'<%sc r="%s"' % (p, ref), 1))
        else:
            out.append(m.group(0))
        tail_from = m.end()
    out.extend(new(column, []) for column in pending[i:])
    tail = content[tail_from:]
    start = _row_start(p, number, tag, edits)
    return start + b"".join(out) + tail + b"</" + p + b"row>"


def _row_start(p: bytes, number: int, tag: re.Match[bytes] | None, columns: Iterable[int]) -> bytes:
    """The row's start tag: ``r`` made explicit, ``spans`` widened to the written ``columns``."""
    if tag is None:
        return b'<%srow r="%d">' % (p, number)
    attrs = tag.group(1)
    if attr_value(attrs, b"r") is None:
        attrs = b' r="%d"' % number + attrs
    spans = attr_value(attrs, b"spans")
    if spans is not None:
        bounds = [int(x) for x in re.findall(rb"[0-9]+", spans)] + list(columns)
        wider = b"%d:%d" % (min(bounds), max(bounds))
        if wider != spans and len(re.findall(rb"[0-9]+", spans)) <= 2:
            attrs = re.sub(rb"\bspans\s*=\s*([\"'])[^\"']*\1", b'spans="' + wider + b'"', attrs)
        elif wider != spans:  # several ranges: a hint only, keep it simple and true
            attrs = re.sub(rb"\s*\bspans\s*=\s*([\"'])[^\"']*\1", b"", attrs)
    return b"<" + p + b"row" + attrs + b">"


def _with_r(tag: re.Match[bytes], number: int, p: bytes) -> bytes:
    if attr_value(tag.group(1), b"r") is not None:
        return tag.group(0)
    return tag.group(0).replace(b"<" + p + b"row", b'<%srow r="%d"' % (p, number), 1)


def rewrite_sheet(
    data: bytes, cells: Cells, styles: Mapping[str, int], *, date1904: bool = False
) -> bytes:
    """The sheet XML ``data`` with ``cells`` written; everything else byte for byte.

    ``styles`` maps a date/time format (``DATETIME_FORMAT`` …) to the xf index its cells get.
    """
    sheet = Sheet.parse(data)
    p = sheet.p
    by_row: dict[int, dict[int, CellValue]] = {}
    for (row, column), value in cells.items():
        if row < 1 or column < 1 or row > 1_048_576 or column > 16_384:
            raise ValueError(f"cell ({row}, {column}) is outside a worksheet")
        by_row.setdefault(row, {})[column] = value
    targets = sorted(by_row)
    out: list[bytes] = [data[: sheet.rows_start]]
    if sheet.empty_tag:
        out[0] = data[: sheet.rows_start] + b"<" + p + b"sheetData>"
    pos = sheet.rows_start
    t = 0
    for number, tag, content_end, end in sheet.rows():
        while t < len(targets) and targets[t] < number:
            out.append(data[pos : tag.start()])
            pos = tag.start()
            out.append(
                _edit_row(sheet, targets[t], None, b"", by_row[targets[t]], styles, date1904)
            )
            t += 1
        if t < len(targets) and targets[t] == number:
            out.append(data[pos : tag.start()])
            content = data[tag.end() : content_end]
            out.append(_edit_row(sheet, number, tag, content, by_row[number], styles, date1904))
            pos = end
            t += 1
        elif attr_value(tag.group(1), b"r") is None:
            # a row may be inserted before it: make r explicit
            out.append(data[pos : tag.start()])
            out.append(_with_r(tag, number, p))
            pos = tag.end()
    out.append(data[pos : sheet.rows_end] if not sheet.empty_tag else b"")
    out.extend(_edit_row(sheet, r, None, b"", by_row[r], styles, date1904) for r in targets[t:])
    if sheet.empty_tag:
        out.append(b"</" + p + b"sheetData>")
        out.append(data[sheet.rows_end :])
    else:
        out.append(data[sheet.rows_end :])
    result = b"".join(out)
    return _widen_dimension(result, p, cells) if cells else result


def _widen_dimension(data: bytes, p: bytes, cells: Cells) -> bytes:
    m = re.search(rb"<" + p + rb"dimension\b" + ATTRS + rb"/?>", data)
    if m is None:
        return data
    ref = attr_value(m.group(1), b"ref")
    if ref is None:
        return data
    rows = [r for r, _ in cells]
    cols = [c for _, c in cells]
    try:
        r1, c1, r2, c2 = parse_range(ref)
    except UnsupportedWorkbook:
        return data
    nr1, nc1 = min(r1, *rows), min(c1, *cols)
    nr2, nc2 = max(r2, *rows), max(c2, *cols)
    if (nr1, nc1, nr2, nc2) == (r1, c1, r2, c2):
        return data
    new = f"{column_letter(nc1)}{nr1}:{column_letter(nc2)}{nr2}".encode()
    attrs = re.sub(rb"\bref\s*=\s*([\"'])[^\"']*\1", b'ref="' + new + b'"', m.group(1))
    return data[: m.start()] + b"<" + p + b"dimension" + attrs + b"/>" + data[m.end() :]


def blocked_cells(data: bytes, columns: set[int], below_row: int) -> list[str]:
    """Cells in ``columns`` below ``below_row`` that a write would break: formulas, array parts.

    A formula cell is never overwritten (its calculation chain and shared formulas depend on it);
    a cell inside an array formula or data table is part of that whole.
    """
    sheet = Sheet.parse(data)
    found: list[str] = []
    f_open = b"<" + sheet.p + b"f"
    for number, tag, content_end, _ in sheet.rows():
        content = data[tag.end() : content_end]
        if f_open not in content:
            continue
        for column, m in sheet.cells(content, number):
            inner = m.group(2) or b""
            if f_open not in inner:
                continue
            if number > below_row and column in columns:
                found.append(f"{column_letter(column)}{number}")
            f = re.search(rb"<" + sheet.p + rb"f\b" + ATTRS + rb"/?>", inner)
            if f is None:
                continue
            kind = attr_value(f.group(1), b"t")
            ref = attr_value(f.group(1), b"ref")
            if kind in (b"array", b"dataTable") and ref:
                r1, c1, r2, c2 = parse_range(ref)
                for c in sorted(columns):
                    if c1 <= c <= c2 and r2 > below_row:
                        cell = f"{column_letter(c)}{max(r1, below_row + 1)}"
                        if cell not in found:
                            found.append(cell)
    return found


# -- the whole write-back -----------------------------------------------------------------------
def sheet_xml(path: Path, sheet: str) -> bytes:
    """The XML of worksheet ``sheet`` of the workbook at ``path``."""
    with open(path, "rb") as src:
        archive = read_archive(src)
        parts = find_parts(src, archive, sheet)
        entry = next(e for e in archive.entries if e.name == parts.sheet)
        return read_entry(src, entry)


def write_back(
    src_path: Path, dst: BinaryIO, sheet: str, cells: Cells, *, formats: Iterable[str] = ()
) -> None:
    """Write the workbook at ``src_path`` to ``dst`` with ``cells`` of ``sheet`` changed.

    ``formats`` are number formats to prepare as if a cell used them (a trial save does this).

    Raises:
        UnsupportedWorkbook: a part of the format this writer does not handle (nothing useful
            was written to ``dst``; the caller discards it).
    """
    with open(src_path, "rb") as src:
        archive = read_archive(src)
        parts = find_parts(src, archive, sheet)
        by_name = {e.name: e for e in archive.entries}
        changed: dict[str, bytes] = {}
        formats = {f for f in map(format_of, cells.values()) if f} | set(formats)
        styles: dict[str, int] = {}
        if formats:
            if parts.styles is None:
                raise UnsupportedWorkbook("styles.xml がなく、日時の書式を付けられません")
            xml = original = read_entry(src, by_name[parts.styles])
            for code in sorted(formats):
                xml, styles[code] = ensure_format(xml, code)
            if xml is not original:
                changed[parts.styles] = xml
        data = read_entry(src, by_name[parts.sheet])
        changed[parts.sheet] = rewrite_sheet(data, cells, styles, date1904=parts.date1904)
        rewrite_zip(src, dst, archive, changed)
