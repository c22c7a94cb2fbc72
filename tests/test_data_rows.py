"""Which rows are data (DESIGN §3 "Which rows"), headless: real workbooks, real processes, the
real sandbox. A data row is one whose phone column or a column the body uses holds a value;
helper formulas, notes and stray values never make a row, and work stops at the last data row.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
from conftest import MakeBook, StandaloneSandbox, mobile
from test_send import BODY, kuden, recipients, send_cmd

from kuden_xl.books.xlsx import XlsxTable

LAST_ROW = 1_048_576


def with_cached_values(path: Path, value: Callable[[str], str]) -> None:
    """Give every formula of the first sheet the text Excel would have cached for it.

    openpyxl writes formulas with no computed value; Excel stores one (``t="str"``, ``<v>``).
    """
    name = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml = parts[name].decode()
    xml = re.sub(
        r'<c r="([A-Z]+\d+)"><f>(.*?)</f><v ?/></c>',
        lambda m: f'<c r="{m[1]}" t="str"><f>{m[2]}</f><v>{value(m[1])}</v></c>',
        xml,
    )
    parts[name] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)


def filled_down_book(make_book: MakeBook, real: int, to_row: int) -> Path:
    """``real`` recipients, and ``=KUDEN_CHECK(B2)`` filled down to ``to_row`` as the guide
    invites (cached: "OK" beside a number, "" beside an empty row)."""
    rows = recipients(real)
    rows[0].append("番号チェック")
    book = make_book(rows, {"本文": BODY})
    wb = openpyxl.load_workbook(book)
    ws = wb.active
    for r in range(2, to_row + 1):
        ws.cell(row=r, column=3, value=f"=KUDEN_CHECK(B{r})")
    wb.save(book)
    with_cached_values(book, lambda ref: "OK" if int(ref[1:]) <= real + 1 else "")
    return book


def test_filled_down_check_formulas_make_no_rows_in_check(make_book: MakeBook) -> None:
    book = filled_down_book(make_book, real=15, to_row=500)
    run = kuden("check", str(book), "--json")
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert [(r["row"], r["code"]) for r in rows] == [(r, "OK") for r in range(2, 17)]


def test_all_send_writes_nothing_into_rows_holding_only_formulas(
    make_book: MakeBook, standalone_sandbox: StandaloneSandbox
) -> None:
    book = filled_down_book(make_book, real=5, to_row=500)
    run = send_cmd(book, standalone_sandbox, "--all", "--yes")
    assert run.returncode == 0, run.stderr
    assert len(standalone_sandbox.messages()) == 5
    ws = openpyxl.load_workbook(book).active
    header = [c.value for c in ws[1]]
    code = header.index("結果コード") + 1
    assert [ws.cell(row=r, column=code).value for r in range(2, 7)] == ["ACCEPTED"] * 5
    written = [r for r in range(7, 501) if ws.cell(row=r, column=code).value is not None]
    assert written == []
    assert ws.cell(row=500, column=3).value == "=KUDEN_CHECK(B500)"  # the helper column kept


def test_rows_spec_and_selection_skip_rows_that_are_no_data_rows(make_book: MakeBook) -> None:
    """A blank row inside the list, and rows of notes only, are not rows: nothing to report."""
    book = make_book(
        [
            ["氏名", "電話番号", "備考"],
            ["山田", mobile(1), ""],
            [None, None, "メモ"],
            [None, mobile(2)],
        ],
        {"本文": "お知らせです"},
    )
    run = kuden("check", str(book), "--rows", "2-4", "--json")
    assert [r["row"] for r in json.loads(run.stdout)] == [2, 4]


def test_a_column_the_body_uses_makes_a_row(make_book: MakeBook) -> None:
    """A name with no number is a data row when the body uses the name: 番号なし is reported."""
    rows = [["氏名", "電話番号"], ["山田", mobile(1)], ["佐藤", None]]
    uses_name = make_book(rows, {"本文": BODY}, name="uses.xlsx")
    codes = [r["code"] for r in json.loads(kuden("check", str(uses_name), "--json").stdout)]
    assert codes == ["OK", "ERR_NO_NUMBER"]
    no_name = make_book(rows, {"本文": "お知らせです"}, name="plain.xlsx")
    codes = [r["code"] for r in json.loads(kuden("check", str(no_name), "--json").stdout)]
    assert codes == ["OK"]


def stray_book(make_book: MakeBook, tmp_path: Path, column: int = 3) -> Path:
    """Three recipients and one stray keystroke in the sheet's last row (column C: 備考)."""
    rows = recipients(3)
    rows[0].append("備考")
    book = make_book(rows, {"本文": BODY})
    wb = openpyxl.load_workbook(book)
    wb.active.cell(row=LAST_ROW, column=column, value="メモ")
    wb.save(book)
    return book


def test_a_stray_value_in_the_last_row_creates_no_million_rows(
    make_book: MakeBook, tmp_path: Path
) -> None:
    book = stray_book(make_book, tmp_path)
    table = XlsxTable(book)
    data = table.read()
    assert sorted(data.rows) == [2, 3, 4, LAST_ROW]  # read: every row with a value
    assert sorted(data.data_rows(["氏名"]).rows) == [2, 3, 4]  # the note makes no row
    assert data.data_rows(["氏名"]).last_row == 4
    assert len(table._ws._cells) < 50  # reading created no empty cells


def test_send_with_a_stray_value_in_the_last_row_stays_small(
    make_book: MakeBook, tmp_path: Path, standalone_sandbox: StandaloneSandbox
) -> None:
    book = stray_book(make_book, tmp_path)
    before = book.stat().st_size
    run = send_cmd(book, standalone_sandbox, "--all", "--yes")
    assert run.returncode == 0, run.stderr
    assert len(standalone_sandbox.messages()) == 3
    after = book.stat().st_size
    assert after < before + 4096, (before, after)  # 5.6 KB became 2.75 MB on the old reader
    with zipfile.ZipFile(book) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count("<row ") <= 6  # header, 3 recipients, the stray row
    ws = openpyxl.load_workbook(book).active
    assert ws.cell(row=LAST_ROW, column=3).value == "メモ"  # kept, untouched
    assert ws.cell(row=LAST_ROW, column=4).value is None


def test_a_stray_value_in_the_last_column_is_named_not_written_past(
    make_book: MakeBook, tmp_path: Path, standalone_sandbox: StandaloneSandbox
) -> None:
    """Output columns go right of every column in use; right of XFD there is no room."""
    book = stray_book(make_book, tmp_path, column=16_384)
    before = book.read_bytes()
    run = send_cmd(book, standalone_sandbox, "--all", "--yes")
    assert run.returncode == 2 and "XFD1048576" in run.stderr and "削除" in run.stderr
    assert standalone_sandbox.messages() == [] and book.read_bytes() == before


def test_output_columns_never_overwrite_a_column_of_notes_without_a_header(
    make_book: MakeBook, standalone_sandbox: StandaloneSandbox
) -> None:
    rows = recipients(2)
    rows[2].append("電話で連絡済み")  # column C: no header
    book = make_book(rows, {"本文": BODY})
    assert send_cmd(book, standalone_sandbox, "--all", "--yes").returncode == 0
    ws = openpyxl.load_workbook(book).active
    assert ws["C3"].value == "電話で連絡済み" and ws["D1"].value == "送信日時"


def test_a_stray_formula_in_the_last_row_is_no_row(make_book: MakeBook, tmp_path: Path) -> None:
    """Its computed value is looked up by the formula pass, which skips the empty rows between."""
    rows = recipients(3)
    rows[0].append("備考")
    book = make_book(rows, {"本文": BODY})
    wb = openpyxl.load_workbook(book)
    wb.active.cell(row=LAST_ROW, column=3, value="=KUDEN_CHECK(B1048576)")
    wb.save(book)
    with_cached_values(book, lambda ref: "番号がありません")
    run = kuden("check", str(book), "--json")
    assert run.returncode == 0, run.stderr
    assert [r["row"] for r in json.loads(run.stdout)] == [2, 3, 4]
    data = XlsxTable(book).read()
    assert data.value(LAST_ROW, "備考") == "番号がありません"  # read by its computed value
