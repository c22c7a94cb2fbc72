"""A worksheet's XML scanned as bytes: ``sheetData``'s rows and cells in order, and A1 references.

Rows and cells are found by regular expressions over the raw bytes (no tree), checked to be in
order, so the write-back can copy what it does not change verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from .unsupported import UnsupportedWorkbook, check_utf8_xml
from .xmlbytes import ATTRS, attr_value, prefix

_REF = re.compile(rb"\$?([A-Z]{1,3})\$?([0-9]+)")
_COLUMN = re.compile(rb"\s*\$?([A-Z]{1,3})")


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


def parse_range(ref: bytes) -> tuple[int, int, int, int]:
    """(first row, first column, last row, last column) of ``A1`` or ``A1:D10``."""
    first, _, last = ref.partition(b":")
    r1, c1 = _parse_ref(first)
    r2, c2 = _parse_ref(last) if last else (r1, c1)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


@dataclass
class Sheet:
    data: bytes
    p: bytes  # the main namespace's prefix, b"" or b"x:"
    rows_start: int  # just inside <sheetData>, or the position of <sheetData/>
    rows_end: int  # of </sheetData>, or the end of <sheetData/>
    empty_tag: bool  # <sheetData/>

    def __post_init__(self) -> None:
        p = self.p
        self._row_tag = re.compile(rb"<" + p + rb"row\b" + ATTRS + rb"(/?)>")
        self._row_close = b"</" + p + b"row>"
        self._cell = re.compile(
            rb"<" + p + rb"c\b" + ATTRS + rb"(?:/>|>(.*?)</" + p + rb"c>)", re.S
        )

    @classmethod
    def parse(cls, data: bytes) -> Sheet:
        check_utf8_xml(data, "シートの内容")
        p = prefix(data, b"worksheet")
        m = re.search(rb"<" + p + rb"sheetData\b" + ATTRS + rb"(/?)>", data)
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
            raw_r = attr_value(m.group(1), b"r")
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
        raw_r = attr_value(m.group(1), b"r")
        letters = _COLUMN.match(raw_r) if raw_r is not None else None
        return column_index(letters.group(1)) if letters is not None else None

    def cells(self, content: bytes, row: int) -> Iterator[tuple[int, re.Match[bytes]]]:
        """(column, match) for each ``<c>`` of a row's content; groups: attrs, inner (or None)."""
        pos, previous = 0, 0
        for m in self._cell.finditer(content):
            if m.start() != pos and content[pos : m.start()].strip():
                raise UnsupportedWorkbook(f"シートの {row} 行目に読めない要素があります")
            raw_r = attr_value(m.group(1), b"r")
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
