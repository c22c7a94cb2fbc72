"""明細, the sheet of every record: an Excel table whose rows are streamed into the sheet's XML.

openpyxl writes 明細's header, one styled empty row and the Excel table (``write_template``);
once the workbook is saved, ``stream_detail`` replaces that row by a row per record, reusing its
cell styles. A year can be a quarter of a million records: openpyxl alone would take longer than
reading the year.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from itertools import chain, islice, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any, cast
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from .collect import Record
from .columns import SEND_CODES
from .layout import print_setup
from .values import excel_serial

INT = "#,##0"
DAY, MOMENT = "yyyy/mm/dd", "yyyy/mm/dd hh:mm"
DETAIL_COLUMNS: tuple[tuple[str, str | None, float], ...] = (
    ("ファイル", None, 36),
    ("シート", None, 14),
    ("行", INT, 7),
    ("管理番号", None, 12),
    ("用途", None, 14),
    ("送信日時", MOMENT, 17),
    ("結果コード", None, 18),
    ("通数", INT, 7),
    ("配信結果", None, 16),
    ("納期限", DAY, 12),
    ("納付日", DAY, 12),
)


_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f]")
_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}


def _sheet_part(z: zipfile.ZipFile, title: str) -> str:
    """The zip part of the worksheet named ``title``."""
    book = ElementTree.fromstring(z.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    rid = next(
        s.get(f"{{{_NS['r']}}}id")
        for s in book.iterfind("m:sheets/m:sheet", _NS)
        if s.get("name") == title
    )
    target = next(
        r.get("Target") for r in rels.iterfind("rel:Relationship", _NS) if r.get("Id") == rid
    )
    assert target is not None
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def _cell(value: object, style: str) -> str:
    """One ``<c>`` element of 明細 (no ``r``: cells are placed by order, an empty one included)."""
    kind = value.__class__
    if value is None or value == "":
        return f"<c{style}/>"
    if kind is str:
        text = str(value)
        if _SPECIAL.search(text):
            text = escape(_ILLEGAL.sub("", text))
        return f'<c{style} t="inlineStr"><is><t>{text}</t></is></c>'
    if kind is int or kind is float:
        return f"<c{style}><v>{value}</v></c>"
    if isinstance(value, (date, datetime)):
        return f"<c{style}><v>{excel_serial(value)!r}</v></c>"
    return _cell(str(value), style)


def _xml_column(values: Sequence[object], style: str) -> list[bytes]:
    """A column of 明細 as UTF-8 cell XML; a column that repeats encodes each distinct value once.

    Bytes, not text: joining a hundred megabytes of mostly-ASCII text with Japanese in it would
    widen every piece, and encoding it would copy it once more.
    """
    distinct = set(values)
    if len(distinct) * 4 <= len(values):
        cells = {v: _cell(v, style).encode() for v in distinct}
        return list(map(cells.__getitem__, values))
    if "" not in distinct and set(map(type, distinct)) == {str}:
        texts = cast("set[str]", distinct)
        if not _SPECIAL.search("".join(texts)):  # plain text (管理番号): no call per cell
            template = f'<c{style} t="inlineStr"><is><t>%s</t></is></c>'.encode()
            return list(map(template.__mod__, map(str.encode, cast("list[str]", values))))
    return [_cell(v, style).encode() for v in values]


def _detail_columns(records: Sequence[Record]) -> list[list[object]]:
    """明細's columns (DETAIL_COLUMNS order) from the records."""
    names = (
        "file",
        "sheet",
        "row",
        "id",
        "purpose",
        "sent_at",
        "code",
        "segments",
        "delivery",
        "due",
        "paid",
    )
    columns: list[list[object]] = [
        list(map(itemgetter(Record._fields.index(n)), records)) for n in names
    ]
    codes, segments = columns[6], columns[7]
    columns[7] = [n if c in SEND_CODES else None for n, c in zip(segments, codes, strict=True)]
    return columns


def stream_detail(path: Path, records: Sequence[Record]) -> None:
    """Replace 明細's styled empty row 2 by one row per record, reusing its cell styles."""
    if not records:
        return
    with zipfile.ZipFile(path) as z:
        part = _sheet_part(z, "明細")
        xml = z.read(part).decode("utf-8")
        items = [(info, z.read(info.filename)) for info in z.infolist() if info.filename != part]
    start = xml.index('<row r="2"')
    stop = xml.index("</sheetData>")
    styles = [
        f' s="{m}"' if m else ""
        for m in re.findall(r'<c r="[A-Z]+2"(?: s="(\d+)")?', xml[start:stop])
    ]
    if len(styles) != len(DETAIL_COLUMNS):
        raise AssertionError(f"明細 template row has {len(styles)} cells")
    columns = [
        _xml_column(values, style)
        for values, style in zip(_detail_columns(records), styles, strict=True)
    ]
    last_col = chr(ord("A") + len(DETAIL_COLUMNS) - 1)
    head = xml[:start].replace(
        '<dimension ref="A1:K2"/>', f'<dimension ref="A1:{last_col}{len(records) + 1}"/>'
    )
    opens = map(b'<row r="%d">'.__mod__, range(2, len(records) + 2))
    pieces = chain.from_iterable(zip(opens, *columns, repeat(b"</row>"), strict=False))
    step = 2000 * (len(columns) + 2)  # 2,000 rows a write
    tmp = path.with_suffix(".tmp.xlsx")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for info, data in items:
            out.writestr(info, data)
        with out.open(part, "w", force_zip64=True) as f:
            f.write(head.encode("utf-8"))
            while chunk := b"".join(islice(pieces, step)):
                f.write(chunk)
            f.write(xml[stop:].encode("utf-8"))
    os.replace(tmp, path)


def write_template(ws: Any, st: dict[str, Any], count: int) -> None:
    """明細's header, one styled empty row (its cell styles are reused) and the Excel table."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

    for col, (name, fmt, width) in enumerate(DETAIL_COLUMNS, 1):
        head = ws.cell(1, col, name)
        head.font, head.fill, head.alignment = st["bold"], st["fill"], st["center"]
        cell = ws.cell(2, col)
        cell.font = st["font"]
        if fmt:
            cell.number_format = fmt
        ws.column_dimensions[get_column_letter(col)].width = width
    ref = f"A1:{get_column_letter(len(DETAIL_COLUMNS))}{1 + max(count, 1)}"
    # Columns named here: else openpyxl's writer creates every cell of ``ref`` to read the header.
    columns = [TableColumn(id=i, name=name) for i, (name, _, _) in enumerate(DETAIL_COLUMNS, 1)]
    table = Table(displayName="明細", ref=ref, tableColumns=columns)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)
    ws.freeze_panes = "A2"
    print_setup(ws, "1:1")
