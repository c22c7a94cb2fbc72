"""Finding a worksheet's part in the package: its zip entry, the styles part and the date system.

Relationships are followed, not paths assumed: ``_rels/.rels`` names the workbook part, the
workbook's relationships its sheets and its styles; ``workbookPr`` tells the date system.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import BinaryIO
from xml.etree import ElementTree

from .rawzip import Archive, read_entry
from .unsupported import UnsupportedWorkbook

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


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


def find_parts(src: BinaryIO, archive: Archive, sheet: str) -> BookParts:
    by_name = {e.name: e for e in archive.entries}

    def xml(name: str) -> ElementTree.Element:
        if name not in by_name:
            raise UnsupportedWorkbook(f"「{name}」がありません")
        return ElementTree.fromstring(read_entry(src, by_name[name]))

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
