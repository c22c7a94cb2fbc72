"""books/excel.py: the live-Excel Table over xlwings' remote engine (no Excel on Linux).

The remote engine carries no row visibility, so hidden rows are tested through the parser of
the address Windows Excel's ``SpecialCells(xlCellTypeVisible)`` returns; the COM call itself
can only be confirmed in Excel.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import xlharness as xh
from conftest import mobile

from kuden_xl import jobs, schema
from kuden_xl.books.areas import MAX_COLUMNS, MAX_ROWS, Area, parse_address, rows_in
from kuden_xl.books.base import DATETIME_FORMAT, OutputRow
from kuden_xl.books.excel import (
    ExcelTable,
    ExcelWriteError,
    cell_value,
    com_address,
    visible_rows,
)
from kuden_xl.books.excelchecks import com_refusal
from kuden_xl.books.exceltext import excel_text
from kuden_xl.errors import HeaderError, RowSpecError, WorkbookError

HEADER = ["管理番号", "氏名", "電話番号"]


def sheet_rows(n: int, start: int = 0) -> list[list[Any]]:
    return [HEADER] + [[f"K{i:04d}", f"住民{i}", mobile(1010 + i)] for i in range(start, start + n)]


def table_for(values: list[list[Any]], selection: str | None = "A1", **sheets: Any) -> Any:
    payload = xh.make_payload({"送信リスト": values, **sheets}, selection=selection)
    book = xh.open_book(payload)
    return book, ExcelTable(book)


def with_record(values: list[list[Any]], index: int) -> list[list[Any]]:
    """``values`` with empty output columns, and an earlier run's record in row ``index + 1``."""
    values[0] = HEADER + list(schema.OUTPUT_COLUMNS)
    for row in values[1:]:
        row.extend([""] * 8)
    values[index][3:11] = [
        "2026-11-20T09:00:00.000Z",
        "前回",
        "ACCEPTED",
        "送信受付",
        1.0,
        "old",
        "",
        "",
    ]
    return values


# --- addresses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "areas"),
    [
        ("$A$2", [Area(2, 2, 1, 1)]),
        ("A2:C9", [Area(2, 9, 1, 3)]),
        ("C9:A2", [Area(2, 9, 1, 3)]),
        ("$C:$C", [Area(1, MAX_ROWS, 3, 3)]),
        ("$B:$D", [Area(1, MAX_ROWS, 2, 4)]),
        ("$2:$5", [Area(2, 5, 1, MAX_COLUMNS)]),
        ("$A$2:$A$3,$A$5", [Area(2, 3, 1, 1), Area(5, 5, 1, 1)]),
        ("'送信リスト'!$A$2:$B$3", [Area(2, 3, 1, 2)]),
        ("$A$2:$A$3, $C$7:$D$8", [Area(2, 3, 1, 1), Area(7, 8, 3, 4)]),
        ("$XFD$1048576", [Area(MAX_ROWS, MAX_ROWS, MAX_COLUMNS, MAX_COLUMNS)]),
    ],
)
def test_parse_address(address: str, areas: list[Area]) -> None:
    assert list(parse_address(address)) == areas


@pytest.mark.parametrize("address", ["送信", "A2:$$", "A1B2", "$A$2:#"])
def test_parse_address_refuses_what_is_not_an_address(address: str) -> None:
    with pytest.raises(WorkbookError, match="選択範囲"):
        parse_address(address)


@pytest.mark.parametrize(
    ("visible_address", "expected"),
    [
        # What SpecialCells(xlCellTypeVisible).Address gives for the entire rows 2..12 with
        # rows 4, 10 and 11 hidden (a filter), and the same with column B hidden.
        ("$2:$3,$5:$9,$12:$12", {2, 3, 5, 6, 7, 8, 9, 12}),
        ("$A$2:$A$3,$C$2:$XFD$3,$A$5:$A$9,$C$5:$XFD$9,$A$12,$C$12:$XFD$12",
         {2, 3, 5, 6, 7, 8, 9, 12}),
        ("$1:$20", set(range(2, 13))),  # clipped to the rows asked about
    ],
)  # fmt: skip
def test_rows_of_a_visible_cells_address(visible_address: str, expected: set[int]) -> None:
    assert rows_in(parse_address(visible_address), 2, 12) == expected


class ComAreas:
    """Stand-in for Excel's COM Areas collection (1-based Item)."""

    def __init__(self, addresses: list[str]) -> None:
        self.addresses = addresses
        self.Count = len(addresses)

    def Item(self, i: int) -> Any:
        return type("ComArea", (), {"Address": self.addresses[i - 1]})()


class ComRange:
    """Stand-in for a COM Range whose Address Excel cut at 255 characters."""

    def __init__(self, addresses: list[str]) -> None:
        self.Address = ",".join(addresses)[:255]
        self.Areas = ComAreas(addresses)


def test_a_long_com_address_is_read_area_by_area() -> None:
    areas = [f"$A${r}" for r in range(2, 400, 2)]  # a filter showing every other row
    assert len(",".join(areas)) > 255
    assert com_address(ComRange(areas)) == ",".join(areas)
    assert com_address(ComRange(["$A$2:$A$9"])) == "$A$2:$A$9"


def test_remote_engine_has_no_row_visibility_so_no_row_is_hidden() -> None:
    book, table = table_for(sheet_rows(5), "$A$2:$A$6")
    assert visible_rows(book.sheets[0], 2, 6) is None
    assert table.hidden_rows([2, 3, 4]) == frozenset()


# --- values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("送信受付", "送信受付"),
        ("【○○市】山田様 お知らせです", "【○○市】山田様 お知らせです"),
        ("ACCEPTED", "ACCEPTED"),
        ("sbx-1a2b", "sbx-1a2b"),
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+81 90", "'+81 90"),
        ("-残高", "'-残高"),
        ("@mention", "'@mention"),
        ("'quoted", "''quoted"),
        ("#N/A", "'#N/A"),
        ("＝全角", "'＝全角"),  # NFKC: Excel reads a full-width = as a formula too
        ("0120000000", "'0120000000"),
        ("１２３", "'１２３"),
        ("12345678901234567890", "'12345678901234567890"),
        ("10月31日", "'10月31日"),
        ("令和8年10月31日", "'令和8年10月31日"),
        ("R8/10/31", "'R8/10/31"),
        ("m2", "m2"),
        ("午前10時", "'午前10時"),
        ("(123)", "'(123)"),
        ("¥1,000", "'¥1,000"),
        ("true", "'true"),
        ("Jan-26", "'Jan-26"),
        (" =1", "' =1"),
        ("", ""),
        ("   ", "   "),
    ],
)
def test_excel_text_protects_what_excel_would_not_keep_as_text(text: str, written: str) -> None:
    assert excel_text(text) == written


def test_cell_value_types() -> None:
    aware = datetime(2026, 11, 27, 10, 0, tzinfo=timezone(timedelta(hours=9)))
    assert cell_value(schema.SENT_AT, aware) == datetime(2026, 11, 27, 10, 0)
    assert cell_value(schema.SEGMENTS, 2.0) == 2 and isinstance(
        cell_value(schema.SEGMENTS, 2.0), int
    )
    assert cell_value(schema.SEGMENTS, None) is None
    assert cell_value(schema.BODY, "=1+1") == "'=1+1"
    assert cell_value(None, 3.5) == 3.5


# --- reading -------------------------------------------------------------------------------


def test_read_finds_the_header_below_title_rows_and_skips_empty_rows() -> None:
    values: list[list[Any]] = [
        ["国保料 督促リスト", "", ""],
        ["", "", ""],
        HEADER,
        ["K1", "山田", mobile(1010)],
        ["", "", ""],
        ["K2", "佐藤", 9012341011.0],
        ["K3", "#N/A", "#N/A"],
    ]
    _, table = table_for(values)
    data = table.read()
    assert data.header.row == 3
    assert sorted(data.rows) == [4, 6, 7] and data.last_row == 7
    assert data.value(6, schema.PHONE) == 9012341011.0  # a float, as Excel hands it over
    assert data.value(7, schema.PHONE) == "#N/A"  # the check names the error
    assert data.value(7, "氏名") is None  # an error never lands in a body
    assert table.read() is data  # one bulk read per table


def test_read_without_a_phone_column_names_the_accepted_headers() -> None:
    _, table = table_for([["氏名", "住所"], ["山田", "市内"]])
    with pytest.raises(HeaderError, match="電話番号・phone・携帯番号・携帯電話番号"):
        table.read()


def test_settings_sheet_is_read_as_key_value_rows() -> None:
    _, table = table_for(
        sheet_rows(1),
        設定=[["項目", "値", "説明"], ["本文", "{氏名}様", "x"], ["単価", 8.0, ""], ["", "", ""]],
    )
    assert table.settings() == {"本文": "{氏名}様", "単価": 8.0}
    _, no_settings = table_for(sheet_rows(1))
    assert no_settings.settings() is None


# --- the selection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selection", "rows"),
    [
        ("$B$3", [3]),
        ("$A$2:$A$3,$A$5", [2, 3, 5]),  # multi-area: every area, not only the first
        ("$A$5,$A$2:$A$3", [2, 3, 5]),  # sorted
        ("$C:$C", [2, 3, 4, 5, 6, 8]),  # whole column: data rows only (7 is empty)
        ("$A$1:$C$3", [2, 3]),  # the header is dropped
        ("$3:$4", [3, 4]),  # whole rows
        ("$A$6:$A$40", [6, 8]),  # rows past the last data row are dropped
        ("$A$1", []),  # only the header
        ("$A$7", []),  # an empty row
        ("$A$20:$A$30", []),  # below the data
        (None, []),  # a shape is selected
    ],
)
def test_selected_rows(selection: str | None, rows: list[int]) -> None:
    values = sheet_rows(5) + [["", "", ""], ["K9", "末尾", mobile(1099)]]
    _, table = table_for(values, selection)
    assert table.selected_rows() == rows


# --- writing -------------------------------------------------------------------------------

SENT = datetime(2026, 11, 27, 10, 0)


def sent_row(row: int, body: str = "本文") -> OutputRow:
    return OutputRow(row, {
        schema.SENT_AT: SENT, schema.BODY: body, schema.CODE: "ACCEPTED", schema.RESULT: "送信受付",
        schema.SEGMENTS: 1, schema.MESSAGE_ID: f"m{row}", schema.DELIVERY: None,
        schema.DELIVERY_CHECKED_AT: None,
    })  # fmt: skip


def actions_of(book: Any, since: int = 0) -> list[dict[str, Any]]:
    actions: list[dict[str, Any]] = book.json()["actions"]
    return actions[since:]


def test_flush_writes_one_block_per_contiguous_run_of_rows() -> None:
    book, table = table_for(sheet_rows(1100))
    blocks = [range(2, 335), range(340, 674), range(700, 1033)]  # 1,000 rows in 3 blocks
    assert sum(len(b) for b in blocks) == 1000
    table.write([sent_row(r) for b in blocks for r in b])
    table.flush()
    actions = actions_of(book)
    values = [a for a in actions if a["func"] == "setValues"]
    formats = [a for a in actions if a["func"] == "setNumberFormat"]
    header, blocks_written = values[0], values[1:]
    assert header["start_row"] == 0 and header["values"] == [list(schema.OUTPUT_COLUMNS)]
    assert header["start_column"] == 3  # right of the last input column (C)
    assert len(blocks_written) == 3 and len(formats) == 3 and len(actions) == 7
    assert [(a["start_row"] + 1, a["row_count"], a["column_count"]) for a in blocks_written] == [
        (2, 333, 8), (340, 334, 8), (700, 333, 8)
    ]  # fmt: skip
    # 送信日時's format, per block: rows between the blocks keep their own format.
    assert [(a["start_row"] + 1, a["row_count"]) for a in formats] == [
        (2, 333), (340, 334), (700, 333)
    ]  # fmt: skip
    assert all(f["args"] == [DATETIME_FORMAT] and f["start_column"] == 3 for f in formats)
    first = blocks_written[0]["values"][0]
    assert first == ["2026-11-27 10:00:00", "本文", "ACCEPTED", "送信受付", 1, "m2", "", ""]


def test_a_record_row_inside_a_run_is_never_rewritten() -> None:
    values = with_record(sheet_rows(6), 3)
    book, table = table_for(values)
    table.write([sent_row(r) for r in (2, 3, 5, 6)])  # row 4 holds a record: not written
    table.flush()
    writes = [a for a in actions_of(book) if a["func"] == "setValues"]
    assert [(a["start_row"] + 1, a["row_count"]) for a in writes] == [(2, 2), (5, 2)]
    written_rows = {a["start_row"] + 1 + i for a in writes for i in range(a["row_count"])}
    assert 4 not in written_rows


def test_out_of_order_results_in_a_selection_make_one_write_and_skip_records() -> None:
    values = with_record(sheet_rows(9), 6)
    book, table = table_for(values, "$A$2:$A$10")
    assert table.selected_rows() == list(range(2, 11))
    table.write([sent_row(r) for r in (2, 4, 5)])  # row 3 still in flight
    table.write([sent_row(r) for r in (8, 10)])  # row 7 holds a record; 9 still in flight
    table.flush()
    writes = [a for a in actions_of(book) if a["func"] == "setValues"]
    assert [(a["start_row"] + 1, a["row_count"]) for a in writes] == [(2, 4), (8, 3)]
    assert writes[0]["values"][1] == [""] * 8  # row 3 rewritten as it is (empty)
    table.write([sent_row(3), sent_row(9), sent_row(6)])
    table.flush()
    again = [a for a in actions_of(book) if a["func"] == "setValues"][2:]
    # 3 and 6 join over rows 4-5 (ours); 9 stands alone: row 7 is a record, never rewritten.
    assert [(a["start_row"] + 1, a["row_count"]) for a in again] == [(3, 4), (9, 1)]
    assert again[0]["values"][1][5] == "m4"  # row 4 as we wrote it


def test_partial_outputs_write_only_the_columns_touched_and_keep_the_rest() -> None:
    values = sheet_rows(3)
    values[0] = HEADER + list(schema.OUTPUT_COLUMNS)
    for r, row in enumerate(values[1:], start=2):
        row.extend(
            ["2026-11-20T09:00:00.000Z", "本文", "ACCEPTED", "送信受付", 1.0, f"m{r}", "", ""]
        )
    book, table = table_for(values)
    checked = datetime(2026, 11, 28, 9, 30)
    table.write([OutputRow(r, {schema.DELIVERY: "配信済", schema.DELIVERY_CHECKED_AT: checked})
                 for r in (2, 3, 4)])  # fmt: skip
    table.flush()
    writes = [a for a in actions_of(book) if a["func"] == "setValues"]
    assert len(writes) == 1
    assert (writes[0]["start_column"], writes[0]["column_count"]) == (9, 2)  # 配信結果, 確認日時
    assert writes[0]["values"][0] == ["配信済", "2026-11-28 09:30:00"]
    formats = [a for a in actions_of(book) if a["func"] == "setNumberFormat"]
    assert [(f["start_column"], f["start_row"] + 1, f["row_count"]) for f in formats] == [
        (10, 2, 3)
    ]


def test_progressive_flushes_write_only_what_is_new() -> None:
    book, table = table_for(sheet_rows(10))
    table.write([sent_row(r) for r in (2, 3, 4)])
    table.flush()
    before = len(actions_of(book))
    table.flush()  # nothing new: nothing written
    assert len(actions_of(book)) == before
    table.write([sent_row(5, "=危険"), sent_row(6)])
    table.flush()
    new = actions_of(book, before)
    assert [a["func"] for a in new] == ["setValues", "setNumberFormat"]  # no second header
    assert new[0]["start_row"] + 1 == 5 and new[0]["values"][0][1] == "'=危険"


def test_skips_and_results_of_one_row_merge_into_one_write() -> None:
    book, table = table_for(sheet_rows(3))
    table.write([OutputRow(2, {schema.CODE: "SKIP_EXCLUDED", schema.RESULT: "除外"})])
    table.write([OutputRow(3, {schema.CODE: "ERR_INVALID_NUMBER", schema.RESULT: "番号不正"})])
    table.flush()
    writes = [a for a in actions_of(book) if a["func"] == "setValues"]
    assert len(writes) == 2  # the header, then rows 2-3 in one block
    assert writes[1]["values"] == [["SKIP_EXCLUDED", "除外"], ["ERR_INVALID_NUMBER", "番号不正"]]
    assert table.check_writable() is None


# --- the jobs take the selection as row numbers --------------------------------------------


def test_jobs_take_the_selected_row_numbers() -> None:
    _, table = table_for(sheet_rows(6), "$A$3,$A$5:$A$6")
    report = jobs.check(table, row_numbers=table.selected_rows())
    assert [r.row for r in report.plan.rows] == [3, 5, 6]
    with pytest.raises(RowSpecError, match="選択されていません"):
        jobs.check(table, row_numbers=[])
    with pytest.raises(RowSpecError, match="1行目はデータの範囲外"):
        jobs.check(table, row_numbers=[1, 3])  # the header is no data row
    # Rows past the data are no rows: a selection may cover them; only data rows are checked.
    assert [r.row for r in jobs.check(table, row_numbers=[3, 9]).plan.rows] == [3]
    with pytest.raises(RowSpecError, match="データの行がありません"):
        jobs.check(table, row_numbers=[9, 10])
    with pytest.raises(ValueError):
        jobs.check(table, rows="3", row_numbers=[3])
    assert [r.row for r in jobs.check(table, rows="2-3").plan.rows] == [2, 3]  # the CLI's way


# --- can Excel take the results? (fake COM: read-only, protection, merges need Excel) -------


class FakeCells:
    """A COM Range stand-in: Locked / MergeCells are True, False or None (mixed)."""

    def __init__(self, locked: bool | None = True, merged: bool | None = False) -> None:
        self.Locked = locked
        self.MergeCells = merged


class FakeSheet:
    def __init__(
        self,
        protected: bool = False,
        cells: dict[str, FakeCells] | None = None,
        *,
        ui_only: bool = False,
    ) -> None:
        self.ProtectContents = protected
        self.ProtectionMode = ui_only  # Protect UserInterfaceOnly:=True: macros may write
        self.cells = cells or {}
        self.asked: list[str] = []

    def Range(self, address: str) -> FakeCells:  # noqa: N802 (COM's name)
        self.asked.append(address)
        return self.cells.get(address, FakeCells())


class FakeWorkbook:
    def __init__(self, read_only: bool = False) -> None:
        self.ReadOnly = read_only
        self.Name = "送信リスト.xlsx"


def fake_com(monkeypatch: pytest.MonkeyPatch, book: FakeWorkbook, sheet: FakeSheet) -> None:
    """Stand-in for Excel: the remote engine has no COM workbook or worksheet behind it."""
    monkeypatch.setattr(ExcelTable, "_com", lambda self: (book, sheet))


def test_check_writable_writes_the_output_header_before_anything_is_sent() -> None:
    book, table = table_for(sheet_rows(3))
    table.check_writable()
    [header] = actions_of(book)
    assert header["func"] == "setValues" and header["values"] == [list(schema.OUTPUT_COLUMNS)]
    table.write([sent_row(2)])
    table.flush()
    assert [a["start_row"] for a in actions_of(book, 1) if a["func"] == "setValues"] == [1]


def test_a_read_only_workbook_is_refused_fake_com(monkeypatch: pytest.MonkeyPatch) -> None:
    book, table = table_for(sheet_rows(3), "$A$2:$A$4")
    table.selected_rows()
    fake_com(monkeypatch, FakeWorkbook(read_only=True), FakeSheet())
    with pytest.raises(WorkbookError, match="「送信リスト.xlsx」は読み取り専用"):
        table.check_writable()
    assert actions_of(book) == []  # refused before the header is written


def test_a_sheet_protected_for_the_user_only_takes_the_results_fake_com(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, table = table_for(sheet_rows(3), "$A$2:$A$4")
    table.selected_rows()
    fake_com(monkeypatch, FakeWorkbook(), FakeSheet(protected=True, ui_only=True))
    assert table.check_writable() is None


@pytest.mark.parametrize("locked", [True, None])
def test_locked_output_cells_of_a_protected_sheet_are_refused_fake_com(
    monkeypatch: pytest.MonkeyPatch, locked: bool | None
) -> None:
    _, table = table_for(sheet_rows(9), "$A$2:$A$4,$A$7")
    table.selected_rows()
    cells = {"D2:K4": FakeCells(locked=False), "D7:K7": FakeCells(locked=locked)}
    sheet = FakeSheet(protected=True, cells=cells)
    fake_com(monkeypatch, FakeWorkbook(), sheet)
    with pytest.raises(WorkbookError, match=r"「送信リスト」は保護されていて.*（D7:K7）"):
        table.check_writable()
    assert sheet.asked == ["D2:K4", "D7:K7"]  # the output cells of the selected rows only


def test_unlocked_output_cells_of_a_protected_sheet_pass_fake_com(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, table = table_for(sheet_rows(3), "$A$2:$A$4")
    table.selected_rows()
    sheet = FakeSheet(protected=True, cells={"D2:K4": FakeCells(locked=False)})
    fake_com(monkeypatch, FakeWorkbook(), sheet)
    assert table.check_writable() is None


def test_merged_output_cells_are_refused_by_name_fake_com(monkeypatch: pytest.MonkeyPatch) -> None:
    _, table = table_for(sheet_rows(5), "$A$2:$A$6")
    table.selected_rows()
    sheet = FakeSheet(cells={"D2:K6": FakeCells(locked=False, merged=None)})
    fake_com(monkeypatch, FakeWorkbook(), sheet)
    with pytest.raises(WorkbookError, match=r"セル（D2:K6）に結合されたセル.*結合を解除"):
        table.check_writable()


def test_com_refusal_is_none_for_a_plain_sheet() -> None:
    assert com_refusal(FakeWorkbook(), FakeSheet(), "S", ["D2:K4"]) is None


def test_a_refused_write_stops_and_writes_nothing_more_fake_com() -> None:
    book, table = table_for(sheet_rows(6))
    table.write([sent_row(2)])
    table.flush()
    before = len(actions_of(book))
    # Excel refuses a write while the send runs (the sheet was protected meanwhile).
    table.sheet = xh.RefusingSheet("送信リスト")
    table.write([sent_row(3)])
    with pytest.raises(ExcelWriteError, match="「送信リスト」のセル D3:K3 に結果を書き込めません"):
        table.flush()
    table.sheet = book.sheets[0]
    table.write([sent_row(4)])
    table.flush()  # after a refusal nothing more is written (the ledger holds the rest)
    assert len(actions_of(book)) == before
