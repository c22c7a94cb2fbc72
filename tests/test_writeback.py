"""Lossless write-back (issue 8): a send changes only kuden_xl's output cells.

A corpus made here with openpyxl, xlsxwriter and LibreOffice (an .ods converted to .xlsx, with a
pivot table) is sent twice through the CLI and the standalone sandbox; after each send every zip
entry but the sheet and styles.xml is byte-identical, every cell outside the output columns is
unchanged element by element, openpyxl and LibreOffice open the result (LibreOffice's CSV export is
the input's plus the output columns) and formulas keep their cached values. A property test writes
random cells into random sheets and compares the parsed cell map with the expected one.
"""

from __future__ import annotations

import csv
import io
import os
import random
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import openpyxl
import pytest
from conftest import StandaloneSandbox, mobile

from kuden_xl.books import sheetscan, sheetxml
from kuden_xl.books.a1 import column_letter
from kuden_xl.books.bookparts import BookParts, find_parts
from kuden_xl.books.rawzip import read_archive
from kuden_xl.schema import OUTPUT_COLUMNS

IN_WINDOW = "2026-11-27T10:00:00"
BODY = "{氏名}様 お知らせです"  # 氏名 is a formula in the xlsxwriter books
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
SHEET = "送信リスト"
HEADER = ["管理番号", "氏名", "電話番号", "金額"]
ROWS = 6


# -- helpers -------------------------------------------------------------------------------------
def soffice() -> str | None:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None and os.environ.get("CI") != "true":
        pytest.skip("LibreOffice (soffice) is not installed; CI installs it")
    assert exe is not None, "CI=true: LibreOffice must be installed (.ci/run installs it)"
    return exe


def convert(files: list[Path], to: str, outdir: Path, profile: Path) -> None:
    """``soffice --headless --convert-to`` with a profile of its own (parallel runs coexist)."""
    exe = soffice()
    assert exe is not None
    done = subprocess.run(
        [exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", to]
        + ["--outdir", str(outdir), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr


def lo_csv(book: Path, work: Path) -> list[list[str]]:
    """The first sheet as LibreOffice exports it to CSV (UTF-8)."""
    out = work / f"csv-{book.stem}"
    out.mkdir(exist_ok=True)
    convert([book], "csv:Text - txt - csv (StarCalc):44,34,76,1", out, work / "lo-profile")
    text = (out / f"{book.stem}.csv").read_text(encoding="utf-8")
    return list(csv.reader(io.StringIO(text)))


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def raw_entries(path: Path) -> list[tuple[str, bytes]]:
    """Each zip entry's name and raw local record (header + compressed data), in order."""
    data = path.read_bytes()
    out = []
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            at = info.header_offset
            nlen, xlen = struct.unpack_from("<HH", data, at + 26)
            out.append((info.filename, data[at : at + 30 + nlen + xlen + info.compress_size]))
    return out


def cell_map(xml: bytes) -> dict[str, bytes]:
    """Each cell of a sheet as canonical XML, by reference."""
    root = ET.fromstring(xml)
    return {c.get("r", ""): ET.tostring(c) for c in root.iter(f"{MAIN}c")}


def row_attrs(xml: bytes) -> dict[str, dict[str, str]]:
    root = ET.fromstring(xml)
    return {
        r.get("r", ""): {k: v for k, v in r.attrib.items() if k != "spans"}
        for r in root.iter(f"{MAIN}row")
    }


def outside_data(xml: bytes) -> list[bytes]:
    root = ET.fromstring(xml)
    keep = [el for el in root if el.tag not in (f"{MAIN}sheetData", f"{MAIN}dimension")]
    return [ET.tostring(el) for el in keep]


def column_of(ref: str) -> int:
    letters = "".join(ch for ch in ref if ch.isalpha())
    return sheetscan.column_index(letters.encode())


def cached_values(path: Path) -> dict[tuple[str, str], Any]:
    """Every formula cell's cached value, by (sheet, cell)."""
    formulas = openpyxl.load_workbook(path)
    values = openpyxl.load_workbook(path, data_only=True)
    out = {}
    for ws in formulas.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    out[(ws.title, cell.coordinate)] = values[ws.title][cell.coordinate].value
    return out


def book_parts(path: Path, sheet: str) -> BookParts:
    """The zip entries of worksheet ``sheet`` and of the styles, and the date system."""
    with open(path, "rb") as src:
        return find_parts(src, read_archive(src), sheet)


def run_send(
    book: Path, sandbox: StandaloneSandbox, *rows: str
) -> subprocess.CompletedProcess[str]:
    """``kuden-xl send`` of ``rows`` (``--rows 2-3`` or ``--all``) inside the sending hours."""
    return subprocess.run(
        [sys.executable, "-m", "kuden_xl", "send", str(book), *rows, "--yes"]
        + ["--body", BODY, "--base-url", sandbox.url],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "KUDEN_XL_NOW": IN_WINDOW},
        stdin=subprocess.DEVNULL,
    )


def send(book: Path, sandbox: StandaloneSandbox, rows: str) -> None:
    done = run_send(book, sandbox, "--rows", rows)
    assert done.returncode == 0, done.stdout + done.stderr


# -- the corpus ----------------------------------------------------------------------------------
def make_xlsxwriter(path: Path) -> None:
    """Formulas with cached values, a chart, an image, validation, conditional formats, a comment,
    a defined name, frozen panes, a hidden row and column; .xlsm carries a VBA project."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(SHEET)
    ws.write_row(0, 0, HEADER)
    for i in range(ROWS):
        r = i + 1
        ws.write_string(r, 0, f"K{i}")
        ws.write_formula(r, 1, f'="住民"&A{r + 1}', None, f"住民K{i}")
        ws.write_string(r, 2, mobile(1010 + i))
        ws.write_formula(r, 3, f"=1000+ROW()*{i + 1}", None, 1000 + (r + 1) * (i + 1))
    ws.data_validation("D2:D50", {"validate": "integer", "criteria": ">", "value": 0})
    red = wb.add_format({"font_color": "#9C0006"})
    ws.conditional_format("D2:D50", {"type": "cell", "criteria": ">", "value": 1010, "format": red})
    ws.write_comment("C2", "確認済み")
    wb.define_name("金額一覧", f"={SHEET}!$D$2:$D${ROWS + 1}")
    ws.freeze_panes(1, 0)
    ws.set_row(ROWS, None, None, {"hidden": True})  # the last data row
    ws.set_column("B:B", 12, None, {"hidden": True})
    chart = wb.add_chart({"type": "line"})
    chart.add_series({"values": f"={SHEET}!$D$2:$D${ROWS + 1}"})
    ws.insert_chart("P2", chart)
    ws.insert_image("P20", "dot.png", {"image_data": io.BytesIO(tiny_png())})
    summary = wb.add_worksheet("集計")
    summary.write_formula(0, 0, f"=SUM({SHEET}!D2:D{ROWS + 1})", None, 12345)
    if path.suffix == ".xlsm":
        import xlwings

        with zipfile.ZipFile(Path(xlwings.__file__).parent / "quickstart.xlsm") as z:
            vba = path.with_name("vbaProject.bin")
            vba.write_bytes(z.read("xl/vbaProject.bin"))
        wb.add_vba_project(str(vba))
    wb.close()


def make_openpyxl(path: Path) -> None:
    """An existing output column with a record, a merged range elsewhere, a chart, validation,
    conditional formats, a comment, a defined name, frozen panes, hidden rows and columns."""
    from openpyxl.chart import BarChart, Reference
    from openpyxl.comments import Comment
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import PatternFill
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append([*HEADER, "結果コード", "備考"])
    for i in range(ROWS):
        ws.append([f"K{i}", f"住民{i}", mobile(1010 + i), 1000 + i, None, f"メモ{i}"])
    ws["E7"] = "ACCEPTED"  # a record from an earlier run (no phone match: stays as it is)
    ws.merge_cells("A10:B11")  # below the data, in input columns: no data row, no output cell
    ws["A10"] = "注記"
    dv = DataValidation(type="whole", operator="greaterThan", formula1="0")
    ws.add_data_validation(dv)
    dv.add("D2:D50")
    fill = PatternFill(start_color="FFC7CE", end_color="FFC7CE", fill_type="solid")
    ws.conditional_formatting.add(
        "D2:D50", CellIsRule(operator="greaterThan", formula=["1003"], fill=fill)
    )
    ws["C2"].comment = Comment("確認済み", "担当")
    wb.defined_names["金額一覧"] = DefinedName("金額一覧", attr_text=f"{SHEET}!$D$2:$D$7")
    ws.freeze_panes = "B2"
    ws.row_dimensions[7].hidden = True
    ws.column_dimensions["F"].hidden = True
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=4, min_row=1, max_row=7), titles_from_data=True)
    ws.add_chart(chart, "U2")
    wb.save(path)


def make_libreoffice(path: Path) -> None:
    """An .ods made here (formulas with cached values, a pivot table), converted by LibreOffice."""
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" office:version="1.2"'
    )

    def text(v: str) -> str:
        return (
            f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>'
        )

    def number(v: int, formula: str | None = None) -> str:
        f = f' table:formula="of:={formula}"' if formula else ""
        return (
            f'<table:table-cell{f} office:value-type="float" office:value="{v}">'
            f"<text:p>{v}</text:p></table:table-cell>"
        )

    rows = "<table:table-row>" + "".join(map(text, [*HEADER, "区分"])) + "</table:table-row>"
    for i in range(ROWS):
        r = i + 2
        rows += (
            "<table:table-row>"
            + text(f"K{i}")
            + text(f"住民{i}")
            + text(mobile(1010 + i))
            + number(1000 + i)
            + text("AB"[i % 2])
            + "</table:table-row>"
        )
        del r
    content = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-content {ns}><office:body><office:spreadsheet>
<table:table table:name="{SHEET}">{rows}</table:table>
<table:table table:name="集計"><table:table-row>{number(2 * (1000 * ROWS + 15), f"SUM([.{SHEET}.D2:.D7])*2")}
</table:table-row></table:table>
<table:data-pilot-tables><table:data-pilot-table table:name="ピボット1" table:target-range-address="集計.C1:D5">
<table:source-cell-range table:cell-range-address="{SHEET}.A1:E7"/>
<table:data-pilot-field table:source-field-name="区分" table:orientation="row"/>
<table:data-pilot-field table:source-field-name="金額" table:orientation="data" table:function="sum"/>
</table:data-pilot-table></table:data-pilot-tables>
</office:spreadsheet></office:body></office:document-content>"""
    manifest = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"""
    ods = path.with_suffix(".ods")
    with zipfile.ZipFile(ods, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    convert([ods], "xlsx", path.parent, path.parent / "lo-profile")
    assert path.exists()


CORPUS: dict[str, tuple[str, Callable[[Path], None]]] = {
    "xlsxwriter": ("book.xlsx", make_xlsxwriter),
    "xlsm": ("macros.xlsm", make_xlsxwriter),
    "openpyxl": ("book.xlsx", make_openpyxl),
    "libreoffice": ("book.xlsx", make_libreoffice),
}


def assert_only_output_cells_changed(before: Path, after: Path) -> None:
    parts = book_parts(before, SHEET)
    old, new = raw_entries(before), raw_entries(after)
    assert [n for n, _ in old] == [n for n, _ in new]  # same entries, same order
    changed = {n for (n, a), (_, b) in zip(old, new, strict=True) if a != b}
    assert changed <= {parts.sheet, parts.styles}, changed
    with zipfile.ZipFile(before) as z:
        old_xml = z.read(parts.sheet)
    with zipfile.ZipFile(after) as z:
        new_xml = z.read(parts.sheet)
        assert z.testzip() is None
    header = [c.value for c in openpyxl.load_workbook(after)[SHEET][1]]
    outputs = {i + 1 for i, name in enumerate(header) if name in OUTPUT_COLUMNS}
    assert len(outputs) == len(OUTPUT_COLUMNS)
    old_cells, new_cells = cell_map(old_xml), cell_map(new_xml)
    keep_old = {r: c for r, c in old_cells.items() if column_of(r) not in outputs}
    keep_new = {r: c for r, c in new_cells.items() if column_of(r) not in outputs}
    assert keep_old == keep_new
    old_rows, new_rows = row_attrs(old_xml), row_attrs(new_xml)
    assert {r: a for r, a in new_rows.items() if r in old_rows} == old_rows
    assert outside_data(old_xml) == outside_data(new_xml)
    if after.suffix == ".xlsm":
        with zipfile.ZipFile(before) as a, zipfile.ZipFile(after) as b:
            assert a.read("xl/vbaProject.bin") == b.read("xl/vbaProject.bin")
            assert a.read("[Content_Types].xml") == b.read("[Content_Types].xml")


def result_codes(path: Path) -> dict[int, Any]:
    ws = openpyxl.load_workbook(path, keep_vba=path.suffix == ".xlsm")[SHEET]
    header = [c.value for c in ws[1]]
    col = header.index("結果コード")
    return {r: row[col] for r, row in enumerate(ws.iter_rows(min_row=2, values_only=True), 2)}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(CORPUS))
def test_a_send_changes_only_the_output_cells(
    kind: str, tmp_path: Path, standalone_sandbox: StandaloneSandbox
) -> None:
    name, make = CORPUS[kind]
    book = tmp_path / name
    make(book)
    original = tmp_path / f"original{book.suffix}"
    shutil.copyfile(book, original)
    with zipfile.ZipFile(book) as z:
        names = "\n".join(z.namelist())
    expected_parts = {
        "xlsxwriter": ["xl/charts/", "xl/media/", "xl/comments", "xl/drawings/"],
        "xlsm": ["xl/vbaProject.bin", "xl/charts/", "xl/media/"],
        "openpyxl": ["xl/charts/", "xl/comments"],
        "libreoffice": ["xl/pivotTables/", "xl/pivotCache/"],
    }[kind]
    assert all(part in names for part in expected_parts), names
    cached = cached_values(original)
    if kind != "openpyxl":
        assert cached and all(v is not None for v in cached.values()), cached

    send(book, standalone_sandbox, "2-3")
    assert_only_output_cells_changed(original, book)
    codes = result_codes(book)
    assert codes[2] == codes[3] == "ACCEPTED"
    assert cached_values(book) == cached  # formulas keep what Excel computed
    with zipfile.ZipFile(book) as z:
        styles_once = z.read(book_parts(book, SHEET).styles or "")

    second = tmp_path / f"second{book.suffix}"
    send(book, standalone_sandbox, "4-5")  # a second send of other rows
    shutil.copyfile(book, second)
    assert_only_output_cells_changed(original, second)
    codes = result_codes(second)
    assert [codes[r] for r in (2, 3, 4, 5)] == ["ACCEPTED"] * 4
    assert cached_values(second) == cached
    with zipfile.ZipFile(second) as z:  # the date format was added once, then reused
        assert z.read(book_parts(second, SHEET).styles or "") == styles_once
    received = [m["to"] for m in standalone_sandbox.messages()]
    assert len(received) == len(set(received)) == 4

    before_csv, after_csv = lo_csv(original, tmp_path), lo_csv(second, tmp_path)
    header = after_csv[0]
    assert set(OUTPUT_COLUMNS) <= set(header)
    inputs = [i for i, h in enumerate(header) if h not in OUTPUT_COLUMNS]
    width = max(map(len, before_csv + after_csv))
    pad = [row + [""] * (width - len(row)) for row in before_csv]
    got = [row + [""] * (width - len(row)) for row in after_csv]
    assert len(got) == len(pad)
    for old_row, new_row in zip(pad, got, strict=True):
        assert [new_row[i] for i in inputs] == [old_row[i] for i in inputs]
    code_col = header.index("結果コード")
    assert [got[r - 1][code_col] for r in (2, 3, 4, 5)] == ["ACCEPTED"] * 4


def test_a_formula_in_an_output_column_is_refused_before_sending(
    tmp_path: Path, standalone_sandbox: StandaloneSandbox
) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append([*HEADER, "結果コード"])
    ws.append(["K0", "住民0", mobile(1010), 1000, '=IF(D2>0,"済","")'])
    book = tmp_path / "book.xlsx"
    wb.save(book)
    before = book.read_bytes()
    done = run_send(book, standalone_sandbox, "--all")
    assert done.returncode == 2 and "E2" in done.stderr and "数式" in done.stderr, done.stderr
    assert standalone_sandbox.messages() == [] and book.read_bytes() == before


# -- the writer on its own -----------------------------------------------------------------------
def write(book: Path, cells: dict[tuple[int, int], Any], sheet: str = SHEET) -> bytes:
    out = io.BytesIO()
    sheetxml.write_back(book, out, sheet, cells)
    return out.getvalue()


def test_dates_get_one_format_reused_and_text_stays_text(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = SHEET
    wb.active.append(HEADER)
    book = tmp_path / "book.xlsx"
    wb.save(book)
    when = datetime(2026, 11, 27, 10, 30)
    cells = {
        (2, 1): "=SUM(A1)",
        (2, 2): when,
        (2, 3): " 先頭と末尾に空白 ",
        (2, 4): "改行\r\nと制御\x01文字と_x0041_",
        (3, 2): when,
        (3, 5): 3,
        (3, 6): 2.5,
        (3, 7): True,
    }
    once = tmp_path / "once.xlsx"
    once.write_bytes(write(book, cells))
    twice = tmp_path / "twice.xlsx"
    twice.write_bytes(write(once, {(4, 2): when}))
    with zipfile.ZipFile(book) as a, zipfile.ZipFile(once) as b, zipfile.ZipFile(twice) as c:
        xfs = [
            len(ET.fromstring(z.read("xl/styles.xml")).find(f"{MAIN}cellXfs") or [])
            for z in (a, b, c)
        ]
        assert xfs[1] == xfs[0] + 1 and xfs[2] == xfs[1]
        assert b.read("xl/styles.xml") == c.read("xl/styles.xml")
        assert (
            a.read("xl/sharedStrings.xml") == b.read("xl/sharedStrings.xml")
            if "xl/sharedStrings.xml" in a.namelist()
            else True
        )
    ws = openpyxl.load_workbook(twice)[SHEET]
    assert ws["A2"].value == "=SUM(A1)" and ws["A2"].data_type == "s"  # text, never a formula
    assert ws["B2"].value == when and ws["B4"].value == when
    assert ws["B2"].number_format == "yyyy/mm/dd hh:mm"
    assert ws["C2"].value == " 先頭と末尾に空白 "
    assert (ws["E3"].value, ws["F3"].value, ws["G3"].value) == (3, 2.5, True)
    raw = ET.fromstring(zipfile.ZipFile(twice).read(book_parts(twice, SHEET).sheet))
    d2 = next(c for c in raw.iter(f"{MAIN}c") if c.get("r") == "D2")
    assert d2.get("t") == "inlineStr"
    assert "".join(d2.itertext()) == "改行_x000D_\nと制御_x0001_文字と_x005F_x0041_"


def test_an_empty_sheet_and_a_prefixed_namespace(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = SHEET
    book = tmp_path / "book.xlsx"
    wb.save(book)
    part = book_parts(book, SHEET).sheet
    for xml in (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1"/><sheetData/></worksheet>',
        b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData><x:row r="3"><x:c r="B3"><x:v>1</x:v></x:c></x:row></x:sheetData></x:worksheet>',
    ):
        replaced = tmp_path / "replaced.xlsx"
        with zipfile.ZipFile(book) as src, zipfile.ZipFile(replaced, "w") as dst:
            for info in src.infolist():
                dst.writestr(info, xml if info.filename == part else src.read(info))
        result = write(replaced, {(1, 1): "見出し", (3, 3): 7, (5, 2): "下"})
        ws = openpyxl.load_workbook(io.BytesIO(result))[SHEET]
        assert (ws["A1"].value, ws["C3"].value, ws["B5"].value) == ("見出し", 7, "下")
        if b"x:worksheet" in xml:
            assert ws["B3"].value == 1


# -- property test: random sheets ----------------------------------------------------------------
def random_sheet(
    rnd: random.Random, *, implicit: bool = True
) -> tuple[bytes, dict[str, tuple[str | None, str]]]:
    """A random sheet XML and its cells as {ref: (t, canonical content)}.

    ``implicit``: leave out some ``r`` attributes where they follow the previous row or cell.
    """
    rows: list[str] = []
    cells: dict[str, tuple[str | None, str]] = {}
    shared = 0
    row_numbers = sorted(rnd.sample(range(1, 60), rnd.randint(0, 25)))
    previous_row = 0
    for r in row_numbers:
        columns = sorted(rnd.sample(range(1, 16), rnd.randint(0, 8)))
        parts = []
        previous_col = 0
        for c in columns:
            ref = f"{column_letter(c)}{r}"
            # r is optional where it follows the previous cell: some writers leave it out.
            omit = implicit and c == previous_col + 1 and rnd.random() < 0.3
            ref_attr = "" if omit else f' r="{ref}"'
            previous_col = c
            kind = rnd.choice(["n", "s", "str", "inline", "f", "shared", "empty", "b"])
            style = f' s="{rnd.randint(0, 3)}"' if rnd.random() < 0.3 else ""
            if kind == "n":
                inner, t = f"<v>{rnd.randint(-5, 10**6)}</v>", None
            elif kind == "s":
                inner, t = f"<v>{rnd.randint(0, 3)}</v>", "s"
            elif kind == "str":
                inner, t = '<f>A1&amp;"x"</f><v>x</v>', "str"
            elif kind == "inline":
                inner, t = "<is><t>既存 &lt;値&gt;</t></is>", "inlineStr"
            elif kind == "f":
                inner, t = f"<f>SUM(A1:A{r})</f><v>{r}</v>", None
            elif kind == "shared":
                inner, t = f'<f t="shared" ref="{ref}:{ref}" si="{shared}">A1+1</f><v>2</v>', None
                shared += 1
            elif kind == "b":
                inner, t = "<v>1</v>", "b"
            else:
                inner, t = "", None
            t_attr = f' t="{t}"' if t else ""
            parts.append(
                f"<c{ref_attr}{style}{t_attr}>{inner}</c>" if inner else f"<c{ref_attr}{style}/>"
            )
            cells[ref] = (t, inner)
        spans = f' spans="{columns[0]}:{columns[-1]}"' if columns and rnd.random() < 0.5 else ""
        extra = ' x14ac:dyDescent="0.25"' if rnd.random() < 0.5 else ""
        omit = implicit and r == previous_row + 1 and rnd.random() < 0.3
        row_attr = "" if omit else f' r="{r}"'
        previous_row = r
        rows.append(f"<row{row_attr}{spans}{extra}>{''.join(parts)}</row>")
    merged = (
        '<mergeCells count="1"><mergeCell ref="P1:Q2"/></mergeCells>' if rnd.random() < 0.5 else ""
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac" mc:Ignorable="x14ac">'
        '<dimension ref="A1:O59"/><sheetData>'
        + "".join(rows)
        + "</sheetData>"
        + merged
        + "</worksheet>"
    )
    return xml.encode(), cells


def shape(el: ET.Element) -> tuple[Any, ...]:
    """An element as plain data (tag, attributes, text, children), whatever its prefixes."""
    return (el.tag, sorted(el.attrib.items()), el.text or "", [shape(ch) for ch in el])


def parsed(xml: bytes) -> dict[str, tuple[str | None, str]]:
    root = ET.fromstring(xml)
    out = {}
    last_row = 0
    for row in root.iter(f"{MAIN}row"):
        number = int(row.get("r", str(last_row + 1)))  # no r: the row after the previous one
        assert number > last_row  # rows in order
        last_row, last_col = number, 0
        for c in row.iter(f"{MAIN}c"):
            ref = c.get("r", f"{column_letter(last_col + 1)}{number}")
            assert int("".join(ch for ch in ref if ch.isdigit())) == number
            assert column_of(ref) > last_col  # cells in column order
            last_col = column_of(ref)
            out[ref] = (c.get("t"), repr([shape(ch) for ch in c]))
    return out


def canonical(t: str | None, inner: str) -> tuple[str | None, str]:
    t_attr = f' t="{t}"' if t else ""
    xml = f'<worksheet xmlns="{MAIN[1:-1]}"><sheetData><row r="1"><c r="A1"{t_attr}>{inner}</c>'
    return parsed((xml + "</row></sheetData></worksheet>").encode())["A1"]


@pytest.mark.parametrize("seed", range(300))
def test_random_sheets_get_exactly_the_written_cells(seed: int) -> None:
    rnd = random.Random(seed)
    xml, cells = random_sheet(rnd)
    expected = {ref: canonical(t, inner) for ref, (t, inner) in cells.items()}
    blocked = set()
    for ref, (_, inner) in cells.items():
        if "<f" in inner:
            blocked.add(ref)
    edits: dict[tuple[int, int], Any] = {}
    out_cols = rnd.sample(range(1, 20), rnd.randint(1, 5))
    for r in rnd.sample(range(1, 70), rnd.randint(1, 20)):
        for c in out_cols:
            ref = f"{column_letter(c)}{r}"
            if ref in blocked:
                continue
            value = rnd.choice(["結果 <&>", "  空白 ", 42, 1.5, datetime(2026, 1, 2, 3, 4), None])
            edits[(r, c)] = value
            if value is None:
                expected[ref] = (None, "[]")
            elif isinstance(value, str):
                space = ' xml:space="preserve"' if value != value.strip() or "  " in value else ""
                text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                expected[ref] = canonical("inlineStr", f"<is><t{space}>{text}</t></is>")
            elif isinstance(value, datetime):
                expected[ref] = canonical(None, "<v>46024.12777777778</v>")
            else:
                expected[ref] = canonical(None, f"<v>{value}</v>")
    result = sheetxml.rewrite_sheet(xml, edits, {"yyyy/mm/dd hh:mm": 9})
    assert parsed(result) == expected
    assert sheetxml.blocked_cells(xml, set(range(1, 20)), 0) == sorted(
        blocked, key=lambda ref: (int("".join(ch for ch in ref if ch.isdigit())), column_of(ref))
    )
    if b"<mergeCells" in xml:
        assert result.endswith(
            b'<mergeCells count="1"><mergeCell ref="P1:Q2"/></mergeCells></worksheet>'
        )
    assert result[:200] == xml[:200] or b"<dimension" in result[:400]
    dim = ET.fromstring(result).find(f"{MAIN}dimension")
    assert dim is not None
    r1, c1, r2, c2 = sheetscan.parse_range(dim.get("ref", "").encode())
    for r, c in edits:
        assert r1 <= r <= r2 and c1 <= c <= c2
    for row in ET.fromstring(result).iter(f"{MAIN}row"):  # spans, where kept, cover the cells
        if row.get("spans"):
            lo, hi = map(int, row.get("spans", "").split(":"))
            refs = [c.get("r") for c in row.iter(f"{MAIN}c")]
            assert all(lo <= column_of(ref) <= hi for ref in refs if ref)


@pytest.mark.parametrize("seed", range(5))
def test_random_sheets_open_in_openpyxl_after_a_write(seed: int, tmp_path: Path) -> None:
    rnd = random.Random(1000 + seed)
    xml, cells = random_sheet(rnd, implicit=False)  # openpyxl needs r on shared formulas
    xml = xml.replace(b' s="1"', b"").replace(b' s="2"', b"").replace(b' s="3"', b"")  # one xf
    import xlsxwriter

    book = tmp_path / "book.xlsx"
    made = xlsxwriter.Workbook(str(book))
    ws = made.add_worksheet(SHEET)
    for i in range(4):
        ws.write_string(59 + i, 19, f"共有{i}")  # shared strings 0..3 for the t="s" cells
    made.close()
    part = book_parts(book, SHEET).sheet
    replaced = tmp_path / "random.xlsx"
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(replaced, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, xml if info.filename == part else src.read(info))
    edits = {(r, 16): f"値{r}" for r in range(1, 70, 3)}
    ws = openpyxl.load_workbook(io.BytesIO(write(replaced, edits)))[SHEET]
    for (r, c), value in edits.items():
        assert ws.cell(row=r, column=c).value == value
