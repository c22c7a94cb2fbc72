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
"""

from __future__ import annotations

import functools
import math
import posixpath
import re
import struct
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import BinaryIO, TypeAlias
from xml.etree import ElementTree
from xml.sax.saxutils import escape, unescape

from .base import DATETIME_FORMAT  # one format for both adapters

CellValue: TypeAlias = str | int | float | bool | datetime | date | time | None
Cells = Mapping[tuple[int, int], CellValue]  # (row, column), both 1-based -> value

DATE_FORMAT = "yyyy/mm/dd"
TIME_FORMAT = "hh:mm"

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_ATTRS = rb"((?:[^>\"']|\"[^\"]*\"|'[^']*')*?)"  # a start tag's attributes, quotes respected
_ATTR = re.compile(rb"([\w:.-]+)\s*=\s*(\"[^\"]*\"|'[^']*')")
_REF = re.compile(rb"\$?([A-Z]{1,3})\$?([0-9]+)")
_COLUMN = re.compile(rb"\s*\$?([A-Z]{1,3})")
# Characters XML 1.0 cannot carry, and \r (a parser turns it into \n): Excel writes them _xHHHH_.
_BAD_XML_CHAR = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff\ud800-\udfff]")
_EXCEL_ESCAPE = re.compile("_(x[0-9A-Fa-f]{4}_)")
_NEEDS_ESCAPE = re.compile("[&<>_\x00-\x08\x0b-\x1f\ufffe\uffff\ud800-\udfff]")


class UnsupportedWorkbook(Exception):
    """The workbook uses a part of the format the write-back does not handle; nothing was written.

    ``str(exc)`` is a Japanese reason fit to follow the workbook's name in a message.
    """


# -- cell references ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=1024)
def column_letter(column: int) -> str:
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _parse_ref(ref: bytes) -> tuple[int, int]:
    m = _REF.fullmatch(ref.strip())
    if not m:
        raise UnsupportedWorkbook(f"セル参照「{ref.decode(errors='replace')}」が読めません")
    return int(m.group(2)), column_index(m.group(1))


def _parse_range(ref: bytes) -> tuple[int, int, int, int]:
    """(first row, first column, last row, last column) of ``A1`` or ``A1:D10``."""
    first, _, last = ref.partition(b":")
    r1, c1 = _parse_ref(first)
    r2, c2 = _parse_ref(last) if last else (r1, c1)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def _attrs(raw: bytes) -> list[tuple[bytes, bytes]]:
    """A start tag's attributes as (name, raw quoted value), in document order."""
    return [(m.group(1), m.group(2)) for m in _ATTR.finditer(raw)]


@functools.lru_cache(maxsize=64)
def _attr_pattern(name: bytes) -> re.Pattern[bytes]:
    return re.compile(rb"(?:^|\s)" + re.escape(name) + rb"\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


def _attr(raw: bytes, name: bytes) -> bytes | None:
    """The raw (still escaped) value of attribute ``name`` in a start tag's attributes."""
    m = _attr_pattern(name).search(raw)
    if m is None:
        return None
    return m.group(1) if m.group(1) is not None else m.group(2)


# -- the raw zip ---------------------------------------------------------------------------------
_EOCD = struct.Struct("<4sHHHHIIH")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_LOCAL = struct.Struct("<4sHHHHHIIIHH")


@dataclass
class _Entry:
    name: str
    central: bytes  # the raw central directory record
    offset: int  # of the local header in the source
    end: int = 0  # where the next entry (or the central directory) starts

    @property
    def fields(self) -> tuple[int, ...]:
        return _CENTRAL.unpack_from(self.central)


@dataclass
class _Archive:
    entries: list[_Entry]  # central directory order
    comment: bytes
    cd_offset: int


def _read_archive(f: BinaryIO) -> _Archive:
    f.seek(0, 2)
    size = f.tell()
    tail_len = min(size, 65536 + _EOCD.size)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0:
        raise UnsupportedWorkbook("ZIP 形式として読めません")
    _, disk, cd_disk, n_here, n_total, cd_size, cd_offset, comment_len = _EOCD.unpack_from(tail, at)
    if (
        disk or cd_disk or n_here != n_total
        or 0xFFFF in (n_here, n_total)
        or 0xFFFFFFFF in (cd_size, cd_offset)
        or tail.rfind(b"PK\x06\x07", 0, at) >= 0
    ):  # fmt: skip
        raise UnsupportedWorkbook("ZIP64 または分割された ZIP 形式には書き込めません")
    comment = tail[at + _EOCD.size : at + _EOCD.size + comment_len]
    f.seek(cd_offset)
    cd = f.read(cd_size)
    entries: list[_Entry] = []
    pos = 0
    for _ in range(n_total):
        fields = _CENTRAL.unpack_from(cd, pos)
        if fields[0] != b"PK\x01\x02":
            raise UnsupportedWorkbook("ZIP の目次が壊れています")
        flags, nlen, xlen, clen, offset = fields[3], fields[10], fields[11], fields[12], fields[16]
        if flags & 0x1:
            raise UnsupportedWorkbook("暗号化された ZIP には書き込めません")
        record = cd[pos : pos + _CENTRAL.size + nlen + xlen + clen]
        raw_name = record[_CENTRAL.size : _CENTRAL.size + nlen]
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437")
        entries.append(_Entry(name, record, offset))
        pos += len(record)
    ordered = sorted(entries, key=lambda e: e.offset)
    for entry, following in zip(ordered, [*ordered[1:], None], strict=True):
        entry.end = following.offset if following else cd_offset
    return _Archive(entries, comment, cd_offset)


def _copy_range(src: BinaryIO, dst: BinaryIO, start: int, end: int) -> None:
    src.seek(start)
    left = end - start
    while left > 0:
        chunk = src.read(min(left, 1 << 20))
        if not chunk:
            raise UnsupportedWorkbook("ZIP の内容が途中で切れています")
        dst.write(chunk)
        left -= len(chunk)


def _write_replaced(src: BinaryIO, dst: BinaryIO, entry: _Entry, data: bytes) -> bytes:
    """Write ``data`` as ``entry``'s new content; returns its new central directory record."""
    src.seek(entry.offset)
    local = _LOCAL.unpack(src.read(_LOCAL.size))
    if local[0] != b"PK\x03\x04":
        raise UnsupportedWorkbook("ZIP の内容が壊れています")
    name_extra = src.read(local[9] + local[10])
    fields = list(entry.fields)
    method = 0 if fields[4] == 0 else 8
    if method:
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        packed = packer.compress(data) + packer.flush()
    else:
        packed = data
    crc = zlib.crc32(data)
    flags = fields[3] & ~0x8  # sizes are in the header: no data descriptor
    version = max(local[1], 20)
    header = _LOCAL.pack(
        b"PK\x03\x04", version, flags, method, local[4], local[5], crc, len(packed), len(data),
        local[9], local[10],
    )  # fmt: skip
    offset = dst.tell()
    dst.write(header + name_extra)
    dst.write(packed)
    fields[2] = max(fields[2], 20)
    fields[3], fields[4], fields[7], fields[8], fields[9] = (
        flags,
        method,
        crc,
        len(packed),
        len(data),
    )
    fields[16] = offset
    return _CENTRAL.pack(*fields) + entry.central[_CENTRAL.size :]


def _moved(entry: _Entry, offset: int) -> bytes:
    fields = list(entry.fields)
    fields[16] = offset
    return _CENTRAL.pack(*fields) + entry.central[_CENTRAL.size :]


def _rewrite_zip(src: BinaryIO, dst: BinaryIO, archive: _Archive, parts: dict[str, bytes]) -> None:
    """Copy ``src`` to ``dst`` byte for byte, except the entries named in ``parts``."""
    ordered = sorted(archive.entries, key=lambda e: e.offset)
    if ordered and ordered[0].offset:
        _copy_range(src, dst, 0, ordered[0].offset)  # anything before the first entry
    central: dict[int, bytes] = {}
    for entry in ordered:
        if entry.name in parts:
            central[id(entry)] = _write_replaced(src, dst, entry, parts[entry.name])
        else:
            offset = dst.tell()
            if offset > 0xFFFFFFFF:
                raise UnsupportedWorkbook("4 GB を超えるブックには書き込めません")
            _copy_range(src, dst, entry.offset, entry.end)
            central[id(entry)] = _moved(entry, offset)
    cd_offset = dst.tell()
    for entry in archive.entries:
        dst.write(central[id(entry)])
    cd_size = dst.tell() - cd_offset
    if cd_offset > 0xFFFFFFFF:
        raise UnsupportedWorkbook("4 GB を超えるブックには書き込めません")
    n = len(archive.entries)
    dst.write(
        _EOCD.pack(b"PK\x05\x06", 0, 0, n, n, cd_size, cd_offset, len(archive.comment))
        + archive.comment
    )


def _read_entry(src: BinaryIO, entry: _Entry) -> bytes:
    src.seek(entry.offset)
    local = _LOCAL.unpack(src.read(_LOCAL.size))
    src.seek(entry.offset + _LOCAL.size + local[9] + local[10])
    fields = entry.fields
    packed = src.read(fields[8])
    if fields[4] == 0:
        data = packed
    elif fields[4] == 8:
        data = zlib.decompress(packed, -15)
    else:
        raise UnsupportedWorkbook(f"圧縮方式 {fields[4]} の ZIP には書き込めません")
    if zlib.crc32(data) != fields[7]:
        raise UnsupportedWorkbook(f"「{entry.name}」が壊れています（CRC 不一致）")
    return data


# -- finding the parts ---------------------------------------------------------------------------
@dataclass(frozen=True)
class BookParts:
    sheet: str  # zip entry name of the worksheet
    styles: str | None
    date1904: bool


def _rels_of(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _target(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def _find_parts(src: BinaryIO, archive: _Archive, sheet: str) -> BookParts:
    by_name = {e.name: e for e in archive.entries}

    def xml(name: str) -> ElementTree.Element:
        if name not in by_name:
            raise UnsupportedWorkbook(f"「{name}」がありません")
        return ElementTree.fromstring(_read_entry(src, by_name[name]))

    workbook = next(
        (
            _target("", rel.get("Target", ""))
            for rel in xml("_rels/.rels").iter(f"{{{_PKG_REL_NS}}}Relationship")
            if rel.get("Type", "").endswith("/officeDocument")
        ),
        "xl/workbook.xml",
    )
    rels = {
        rel.get("Id"): (rel.get("Type", ""), _target(workbook, rel.get("Target", "")))
        for rel in xml(_rels_of(workbook)).iter(f"{{{_PKG_REL_NS}}}Relationship")
    }
    book = xml(workbook)
    pr = book.find(f"{{{_MAIN_NS}}}workbookPr")
    date1904 = pr is not None and pr.get("date1904", "0").lower() in ("1", "true")
    for el in book.iter(f"{{{_MAIN_NS}}}sheet"):
        if el.get("name") == sheet:
            _, part = rels.get(el.get(f"{{{_REL_NS}}}id"), ("", ""))
            break
    else:
        raise UnsupportedWorkbook(f"シート「{sheet}」が見つかりません")
    if part not in by_name:
        raise UnsupportedWorkbook(f"シート「{sheet}」の内容（{part}）がありません")
    styles = next((t for kind, t in rels.values() if kind.endswith("/styles")), None)
    return BookParts(part, styles if styles in by_name else None, date1904)


# -- XML text ------------------------------------------------------------------------------------
def _excel_text(text: str) -> str:
    """Escape what XML cannot carry the way Excel does (``_xHHHH_``), then XML-escape."""
    if not _NEEDS_ESCAPE.search(text):
        return text
    text = _EXCEL_ESCAPE.sub(r"_x005F_\1", text)
    text = _BAD_XML_CHAR.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    return escape(text)


def _check_utf8_xml(data: bytes, what: str) -> None:
    head = data[:200]
    m = re.match(rb"(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding=[\"']([^\"']+)", head)
    if m and m.group(1).lower().replace(b"-", b"") != b"utf8":
        raise UnsupportedWorkbook(f"{what}の文字コード（{m.group(1).decode()}）には書き込めません")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnsupportedWorkbook(f"{what}の文字コード（UTF-16）には書き込めません")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise UnsupportedWorkbook(f"{what}に DTD があり、書き込めません")


def _prefix(data: bytes, root: bytes) -> bytes:
    m = re.search(rb"<(?:([A-Za-z_][\w.-]*):)?" + root + rb"[\s>/]", data)
    if not m:
        raise UnsupportedWorkbook(f"<{root.decode()}> がありません")
    return m.group(1) + b":" if m.group(1) else b""


# -- styles --------------------------------------------------------------------------------------
def ensure_format(styles: bytes, code: str) -> tuple[bytes, int]:
    """The index of a plain cell format (xf) showing numbers as ``code``, added when missing.

    An existing xf is reused when it has this number format and the default font, fill, border
    and alignment; so a workbook gains at most one xf per format however often it is saved.
    Returns ``styles`` itself when nothing was added.
    """
    _check_utf8_xml(styles, "styles.xml ")
    p = _prefix(styles, b"styleSheet")
    fmt_id: int | None = None
    ids: list[int] = []
    for m in re.finditer(rb"<" + p + rb"numFmt\b" + _ATTRS + rb"/?>", styles):
        raw_id = _attr(m.group(1), b"numFmtId")
        raw_code = _attr(m.group(1), b"formatCode")
        if raw_id is None or raw_code is None:
            continue
        ids.append(int(raw_id))
        text = unescape(raw_code.decode("utf-8"), {"&quot;": '"', "&apos;": "'"})
        if text == code and fmt_id is None:
            fmt_id = int(raw_id)
    if fmt_id is None:
        fmt_id = max([163, *ids]) + 1
        new = b'<%snumFmt numFmtId="%d" formatCode="%s"/>' % (
            p,
            fmt_id,
            escape(code, {'"': "&quot;"}).encode(),
        )
        styles = _append_child(styles, p, b"numFmts", new, after_root=b"styleSheet")

    xfs = re.search(
        rb"<" + p + rb"cellXfs\b" + _ATTRS + rb">(.*?)</" + p + rb"cellXfs>", styles, re.S
    )
    if not xfs:
        raise UnsupportedWorkbook("styles.xml にセルの書式（cellXfs）がありません")
    index = 0
    for m in re.finditer(
        rb"<" + p + rb"xf\b" + _ATTRS + rb"(?:/>|>(.*?)</" + p + rb"xf>)", xfs.group(2), re.S
    ):
        attrs = {k: v[1:-1] for k, v in _attrs(m.group(1))}
        plain = all(attrs.get(k, b"0") == b"0" for k in (b"fontId", b"fillId", b"borderId"))
        if (
            plain
            and attrs.get(b"numFmtId") == str(fmt_id).encode()
            and not (m.group(2) or b"").strip()
        ):
            return styles, index
        index += 1
    new = (
        b'<%sxf numFmtId="%d" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        % (p, fmt_id)
    )
    return _append_child(styles, p, b"cellXfs", new), index


def _append_child(
    data: bytes, p: bytes, parent: bytes, child: bytes, *, after_root: bytes | None = None
) -> bytes:
    """``data`` with ``child`` appended to the element ``parent`` and its ``count`` raised."""
    m = re.search(rb"<" + p + parent + rb"\b" + _ATTRS + rb"(/?)>", data)
    if m is None:
        if after_root is None:
            raise UnsupportedWorkbook(f"<{parent.decode()}> がありません")
        root = re.search(rb"<" + p + after_root + rb"\b" + _ATTRS + rb">", data)
        if root is None:
            raise UnsupportedWorkbook(f"<{after_root.decode()}> がありません")
        block = b'<%s%s count="1">%s</%s%s>' % (p, parent, child, p, parent)
        return data[: root.end()] + block + data[root.end() :]
    attrs = m.group(1)
    count = _attr(attrs, b"count")
    if count is not None:
        attrs = re.sub(rb"\bcount\s*=\s*([\"'])[0-9]*\1", b'count="%d"' % (int(count) + 1), attrs)
    if m.group(2):  # <parent/>
        return (
            data[: m.start()]
            + b"<" + p + parent + attrs + b">" + child + b"</" + p + parent + b">"
            + data[m.end() :]
        )  # fmt: skip
    close = data.index(b"</" + p + parent + b">", m.end())
    return (
        data[: m.start()]
        + b"<"
        + p
        + parent
        + attrs
        + b">"
        + data[m.end() : close]
        + child
        + data[close:]
    )


# -- the sheet -----------------------------------------------------------------------------------
@dataclass
class _Sheet:
    data: bytes
    p: bytes  # the main namespace's prefix, b"" or b"x:"
    rows_start: int  # just inside <sheetData>, or the position of <sheetData/>
    rows_end: int  # of </sheetData>, or the end of <sheetData/>
    empty_tag: bool  # <sheetData/>

    def __post_init__(self) -> None:
        p = self.p
        self._row_tag = re.compile(rb"<" + p + rb"row\b" + _ATTRS + rb"(/?)>")
        self._row_close = b"</" + p + b"row>"
        self._cell = re.compile(
            rb"<" + p + rb"c\b" + _ATTRS + rb"(?:/>|>(.*?)</" + p + rb"c>)", re.S
        )

    @classmethod
    def parse(cls, data: bytes) -> _Sheet:
        _check_utf8_xml(data, "シートの内容")
        p = _prefix(data, b"worksheet")
        m = re.search(rb"<" + p + rb"sheetData\b" + _ATTRS + rb"(/?)>", data)
        if m is None:
            raise UnsupportedWorkbook("シートに sheetData がありません")
        if m.group(2):
            return cls(data, p, m.start(), m.end(), True)
        end = data.find(b"</" + p + b"sheetData>", m.end())
        if end < 0:
            raise UnsupportedWorkbook("シートの sheetData が閉じていません")
        body = data[m.end() : end]
        if b"<![CDATA[" in body or b"<!--" in body or b"<?" in body:
            raise UnsupportedWorkbook("シートのデータ部分に CDATA・コメント・処理命令があります")
        return cls(data, p, m.end(), end, False)

    def rows(self) -> Iterator[tuple[int, re.Match[bytes], int, int]]:
        """(row number, start-tag match, content end, element end) for every row, in order."""
        tag, close = self._row_tag, self._row_close
        pos, previous = self.rows_start, 0
        while not self.empty_tag:
            m = tag.search(self.data, pos, self.rows_end)
            if m is None:
                return
            raw_r = _attr(m.group(1), b"r")
            number = int(raw_r) if raw_r is not None else previous + 1
            if number <= previous:
                raise UnsupportedWorkbook(f"シートの行の順序が正しくありません（{number} 行目）")
            if m.group(2):
                content_end = end = m.end()
            else:
                content_end = self.data.find(close, m.end(), self.rows_end)
                if content_end < 0:
                    raise UnsupportedWorkbook(f"シートの {number} 行目が閉じていません")
                end = content_end + len(close)
            yield number, m, content_end, end
            previous, pos = number, end

    def last_column(self, content: bytes) -> int | None:
        """The column of a row's last cell (0: no cells), or None when that takes a full parse."""
        if not content.strip():
            return 0
        at = content.rfind(b"<" + self.p + b"c ")
        m = self._cell.match(content, at) if at >= 0 else None
        if m is None or content[m.end() :].strip():
            return None  # no cell with attributes last, or something (extLst) after the cells
        raw_r = _attr(m.group(1), b"r")
        letters = _COLUMN.match(raw_r) if raw_r is not None else None
        return column_index(letters.group(1)) if letters is not None else None

    def cells(self, content: bytes, row: int) -> Iterator[tuple[int, re.Match[bytes]]]:
        """(column, match) for each ``<c>`` of a row's content; groups: attrs, inner (or None)."""
        pos, previous = 0, 0
        for m in self._cell.finditer(content):
            if m.start() != pos and content[pos : m.start()].strip():
                raise UnsupportedWorkbook(f"シートの {row} 行目に読めない要素があります")
            raw_r = _attr(m.group(1), b"r")
            letters = _COLUMN.match(raw_r) if raw_r is not None else None
            if raw_r is not None and letters is None:
                raise UnsupportedWorkbook(
                    f"セル参照「{raw_r.decode(errors='replace')}」が読めません"
                )
            column = column_index(letters.group(1)) if letters is not None else previous + 1
            if column <= previous:
                raise UnsupportedWorkbook(f"シートの {row} 行目のセルの順序が正しくありません")
            yield column, m
            previous, pos = column, m.end()


@functools.lru_cache(maxsize=256)
def _serial(value: date | datetime | time, date1904: bool) -> str:
    if isinstance(value, time):
        seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
        return repr(seconds / 86400)
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    value = value.replace(tzinfo=None)
    epoch = datetime(1904, 1, 1) if date1904 else datetime(1899, 12, 30)
    delta = value - epoch
    serial = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
    return str(delta.days) if serial == delta.days else repr(serial)


_FORMATS: dict[type, str] = {datetime: DATETIME_FORMAT, date: DATE_FORMAT, time: TIME_FORMAT}


def _format_of(value: CellValue) -> str | None:
    kind = type(value)
    if kind is str or kind is int or value is None:
        return None
    if kind in _FORMATS:
        return _FORMATS[kind]
    if isinstance(value, datetime):
        return DATETIME_FORMAT
    if isinstance(value, date):
        return DATE_FORMAT
    if isinstance(value, time):
        return TIME_FORMAT
    return None


def _cell(ref: str, kept: str, value: CellValue, p: str, style: int | None, d1904: bool) -> str:
    """A ``<c>`` element holding ``value``; ``kept`` are attributes carried over (`` s="3"`` …)."""
    attrs = f'<{p}c r="{ref}"{kept}' if style is None else f'<{p}c r="{ref}"{kept} s="{style}"'
    if value is None:
        return attrs + "/>"
    if isinstance(value, str):
        text = _excel_text(value)
        spaced = value != value.strip() or "\n" in value or "\t" in value or "  " in value
        space = ' xml:space="preserve"' if spaced else ""
        return f'{attrs} t="inlineStr"><{p}is><{p}t{space}>{text}</{p}t></{p}is></{p}c>'
    if isinstance(value, bool):
        return f'{attrs} t="b"><{p}v>{int(value)}</{p}v></{p}c>'
    if isinstance(value, (datetime, date, time)):
        number = _serial(value, d1904)
    elif isinstance(value, int):
        number = str(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            return _cell(ref, kept, str(value), p, None, d1904)
        number = repr(value)
        if number.endswith(".0"):
            number = number[:-2]
    else:
        raise TypeError(f"cannot write {type(value).__name__} to a cell")
    return f"{attrs}><{p}v>{number}</{p}v></{p}c>"


# Attributes of a written cell that describe the old value, not the cell: dropped.
_VALUE_ATTRS = {b"r", b"t", b"cm", b"vm"}


def _edit_row(
    sheet: _Sheet,
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
        fmt = _format_of(value)
        style = styles[fmt] if fmt else None
        carried = "".join(
            f" {k.decode()}={v.decode()}" for k, v in kept if not (k == b"s" and style is not None)
        )
        ref = f"{column_letter(column)}{number}"
        return _cell(ref, carried, value, ps, style, d1904).encode()

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
            kept = [(k, v) for k, v in _attrs(m.group(1)) if k not in _VALUE_ATTRS]
            out.append(new(column, kept))
            i += 1
        elif _attr(m.group(1), b"r") is None:  # give it its reference: cells may be inserted before
            ref = f"{column_letter(column)}{number}".encode()
            out.append(m.group(0).replace(b"<" + p + b"c", b'<%sc r="%s"' % (p, ref), 1))
        else:
            out.append(m.group(0))
        tail_from = m.end()
    out.extend(new(column, []) for column in pending[i:])
    tail = content[tail_from:]

    if tag is None:
        start = b'<%srow r="%d">' % (p, number)
    else:
        attrs = tag.group(1)
        if _attr(attrs, b"r") is None:
            attrs = b' r="%d"' % number + attrs
        spans = _attr(attrs, b"spans")
        if spans is not None:
            bounds = [int(x) for x in re.findall(rb"[0-9]+", spans)] + list(edits)
            wider = b"%d:%d" % (min(bounds), max(bounds))
            if wider != spans and len(re.findall(rb"[0-9]+", spans)) <= 2:
                attrs = re.sub(rb"\bspans\s*=\s*([\"'])[^\"']*\1", b'spans="' + wider + b'"', attrs)
            elif wider != spans:  # several ranges: a hint only, keep it simple and true
                attrs = re.sub(rb"\s*\bspans\s*=\s*([\"'])[^\"']*\1", b"", attrs)
        start = b"<" + p + b"row" + attrs + b">"
    return start + b"".join(out) + tail + b"</" + p + b"row>"


def _with_r(tag: re.Match[bytes], number: int, p: bytes) -> bytes:
    if _attr(tag.group(1), b"r") is not None:
        return tag.group(0)
    return tag.group(0).replace(b"<" + p + b"row", b'<%srow r="%d"' % (p, number), 1)


def rewrite_sheet(
    data: bytes, cells: Cells, styles: Mapping[str, int], *, date1904: bool = False
) -> bytes:
    """The sheet XML ``data`` with ``cells`` written; everything else byte for byte.

    ``styles`` maps a date/time format (``DATETIME_FORMAT`` …) to the xf index its cells get.
    """
    sheet = _Sheet.parse(data)
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
        elif _attr(tag.group(1), b"r") is None:  # a row may be inserted before it: make r explicit
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
    m = re.search(rb"<" + p + rb"dimension\b" + _ATTRS + rb"/?>", data)
    if m is None:
        return data
    ref = _attr(m.group(1), b"ref")
    if ref is None:
        return data
    rows = [r for r, _ in cells]
    cols = [c for _, c in cells]
    try:
        r1, c1, r2, c2 = _parse_range(ref)
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
    sheet = _Sheet.parse(data)
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
            f = re.search(rb"<" + sheet.p + rb"f\b" + _ATTRS + rb"/?>", inner)
            if f is None:
                continue
            kind = _attr(f.group(1), b"t")
            ref = _attr(f.group(1), b"ref")
            if kind in (b"array", b"dataTable") and ref:
                r1, c1, r2, c2 = _parse_range(ref)
                for c in sorted(columns):
                    if c1 <= c <= c2 and r2 > below_row:
                        cell = f"{column_letter(c)}{max(r1, below_row + 1)}"
                        if cell not in found:
                            found.append(cell)
    return found


# -- the whole write-back -----------------------------------------------------------------------
def book_parts(path: Path, sheet: str) -> BookParts:
    """The zip entries of worksheet ``sheet`` and of the styles, and the date system."""
    with open(path, "rb") as src:
        return _find_parts(src, _read_archive(src), sheet)


def sheet_xml(path: Path, sheet: str) -> bytes:
    """The XML of worksheet ``sheet`` of the workbook at ``path``."""
    with open(path, "rb") as src:
        archive = _read_archive(src)
        parts = _find_parts(src, archive, sheet)
        entry = next(e for e in archive.entries if e.name == parts.sheet)
        return _read_entry(src, entry)


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
        archive = _read_archive(src)
        parts = _find_parts(src, archive, sheet)
        by_name = {e.name: e for e in archive.entries}
        changed: dict[str, bytes] = {}
        formats = {f for f in map(_format_of, cells.values()) if f} | set(formats)
        styles: dict[str, int] = {}
        if formats:
            if parts.styles is None:
                raise UnsupportedWorkbook("styles.xml がなく、日時の書式を付けられません")
            xml = original = _read_entry(src, by_name[parts.styles])
            for code in sorted(formats):
                xml, styles[code] = ensure_format(xml, code)
            if xml is not original:
                changed[parts.styles] = xml
        data = _read_entry(src, by_name[parts.sheet])
        changed[parts.sheet] = rewrite_sheet(data, cells, styles, date1904=parts.date1904)
        _rewrite_zip(src, dst, archive, changed)
