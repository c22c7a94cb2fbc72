"""The add-in's OOXML parts: the ``<PROJECT_NAME>.conf`` sheet, its shared strings and name.

xlwings' VBA reads its settings from a sheet named ``<PROJECT_NAME>.conf`` (column A keys,
column B values, from A1 down to the first empty cell). The template ships it as
``_myaddin.conf``; the leading underscore disables it. Edits are targeted string replacements,
not an XML round trip, so namespace prefixes the ``mc:Ignorable`` attribute relies on survive.
"""

from __future__ import annotations

import importlib.metadata
import posixpath
import re
from collections.abc import Sequence
from importlib import resources
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from kuden_xl.version import installed_version

CONF_ROWS_FILE = "kuden_xl.conf.tsv"
_SHEET = re.compile(r'<sheet\b[^>]*\bname="([^"]*\.conf)"[^>]*/>')
_R_ID = re.compile(r'\br:id="([^"]+)"')
_RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

ConfValue = str | bool | None


class WorkbookPartError(ValueError):
    """The template's workbook parts do not have the expected shape."""


def conf_rows(
    udf_modules: Sequence[str], interpreter: str | None = None
) -> list[tuple[str, ConfValue]]:
    """The conf sheet rows from ``src/kuden_xl.conf.tsv``, with the UDF modules and the
    interpreter filled in. Rows left empty are dropped: xlwings' ``GetConfig`` stops at the
    first source that has the key, so an empty row would hide the user's own conf file."""
    text = (resources.files(__package__) / "src" / CONF_ROWS_FILE).read_text("utf-8")
    fill = {
        "{udf_modules}": ";".join(udf_modules),
        "{interpreter}": interpreter or "",
        # kuden_xl as the add-in's version check reads it (excel/common.py: version_mismatch)
        "{kuden_xl_version}": installed_version(),
        "{xlwings_version}": importlib.metadata.version("xlwings"),
    }
    rows: list[tuple[str, ConfValue]] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, _, raw = line.partition("\t")
        for placeholder, value_text in fill.items():
            raw = raw.replace(placeholder, value_text)
        raw = raw.strip()
        if not raw:
            continue
        value: ConfValue = {"TRUE": True, "FALSE": False}.get(raw, raw)
        rows.append((key.strip(), value))
    keys = [k.upper() for k, _ in rows]
    if len(set(keys)) != len(keys):  # GetConfig adds the keys to a Dictionary: no duplicates
        raise WorkbookPartError("duplicate key in the conf rows")
    return rows


def find_conf_sheet(workbook_xml: str, workbook_rels_xml: str) -> tuple[str, str]:
    """(sheet name, zip path of its part) of the template's single ``*.conf`` sheet."""
    sheets = list(_SHEET.finditer(workbook_xml))
    if len(sheets) != 1:
        raise WorkbookPartError(f"expected one *.conf sheet in the template, found {len(sheets)}")
    rid = _R_ID.search(sheets[0][0])
    if rid is None:
        raise WorkbookPartError("the conf sheet has no r:id")
    for rel in ElementTree.fromstring(workbook_rels_xml).iter(f"{_RELS_NS}Relationship"):
        if rel.get("Id") == rid[1]:
            return sheets[0][1], posixpath.normpath(posixpath.join("xl", rel.get("Target", "")))
    raise WorkbookPartError(f"relationship {rid[1]} of the conf sheet not found")


def rename_sheet(workbook_xml: str, old: str, new: str) -> str:
    """``workbook.xml`` with the sheet ``old`` renamed to ``new``."""
    old_attr, new_attr = f"name={quoteattr(old)}", f"name={quoteattr(new)}"
    if workbook_xml.count(old_attr) != 1:
        raise WorkbookPartError(f"sheet {old!r} not found exactly once in workbook.xml")
    return workbook_xml.replace(old_attr, new_attr)


def _cell(ref: str, value: ConfValue, strings: dict[str, int]) -> str:
    if isinstance(value, bool):
        return f'<c r="{ref}" s="1" t="b"><v>{int(value)}</v></c>'
    index = strings.setdefault(value or "", len(strings))
    return f'<c r="{ref}" s="1" t="s"><v>{index}</v></c>'


def render_conf_sheet(sheet_xml: str, rows: Sequence[tuple[str, ConfValue]]) -> tuple[str, str]:
    """(sheet XML, sharedStrings XML): the template sheet with ``rows`` as its only data."""
    strings: dict[str, int] = {}  # shared string → index, in order of first use
    xml_rows = []
    for i, (key, value) in enumerate(rows, start=1):
        cells = _cell(f"A{i}", key, strings)
        if value is not None and value != "":
            cells += _cell(f"B{i}", value, strings)
        xml_rows.append(f'<row r="{i}">{cells}</row>')
    data = "<sheetData>" + "".join(xml_rows) + "</sheetData>"
    sheet, n = re.subn(r"<sheetData\s*/>|<sheetData>.*?</sheetData>", data, sheet_xml, flags=re.S)
    if n != 1:
        raise WorkbookPartError("conf sheet XML has no sheetData")
    sheet = re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="A1:B{len(rows)}"', sheet)
    items = "".join(
        f'<si><t xml:space="preserve">{escape(s)}</t></si>'
        if s != s.strip()
        else f"<si><t>{escape(s)}</t></si>"
        for s in strings
    )
    references = data.count(' t="s"')
    shared = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<sst xmlns="{_MAIN_NS}" count="{references}" uniqueCount="{len(strings)}">'
        f"{items}</sst>"
    )
    return sheet, shared
