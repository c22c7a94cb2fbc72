"""A merged cell where results go is refused before anything is sent (issue 7 item 7); merged
cells elsewhere (a title above the header, input columns) are fine."""

from __future__ import annotations

from pathlib import Path

import openpyxl
from conftest import MakeBook, StandaloneSandbox
from test_send import BODY, recipients, send_cmd


def merged_book(make_book: MakeBook, *ranges: str, rows: list[list[object]] | None = None) -> Path:
    book = make_book(rows or recipients(4), {"本文": BODY})
    wb = openpyxl.load_workbook(book)
    for cells in ranges:
        wb.active.merge_cells(cells)
    wb.save(book)
    return book


def test_merged_cells_where_new_output_columns_go_are_refused_before_sending(
    make_book: MakeBook, standalone_sandbox: StandaloneSandbox
) -> None:
    # 氏名 · 電話番号: the output columns will be C (送信日時) … J (配信確認日時).
    book = merged_book(make_book, "E4:F4", "I2:J3")
    before = book.read_bytes()
    run = send_cmd(book, standalone_sandbox, "--all", "--yes")
    assert run.returncode == 2, run.stdout
    assert "送信リスト!E4:F4" in run.stderr and "送信リスト!I2:J3" in run.stderr
    assert "結合を解除" in run.stderr and "Traceback" not in run.stderr
    assert standalone_sandbox.messages() == [] and book.read_bytes() == before


def test_merged_cells_in_existing_output_columns_are_refused(
    make_book: MakeBook, standalone_sandbox: StandaloneSandbox
) -> None:
    rows = recipients(4)
    rows[0] += ["備考", "結果コード", "結果"]
    book = merged_book(make_book, "D5:E5", rows=rows)
    run = send_cmd(book, standalone_sandbox, "--all", "--yes")
    assert run.returncode == 2 and "送信リスト!D5:E5" in run.stderr
    assert standalone_sandbox.messages() == []


def test_merged_cells_elsewhere_are_fine(
    make_book: MakeBook, standalone_sandbox: StandaloneSandbox
) -> None:
    rows: list[list[object]] = [["令和8年度 督促一覧"], *recipients(4)]  # header in row 2
    book = merged_book(make_book, "A1:L1", "A3:A4", rows=rows)
    run = send_cmd(book, standalone_sandbox, "--all", "--yes")
    assert run.returncode == 0, run.stderr
    assert len(standalone_sandbox.messages()) == 3  # row 4's name sits in the merged A3:A4
    ws = openpyxl.load_workbook(book).active
    assert ws.cell(row=2, column=5).value == "結果コード"
    assert [ws.cell(row=r, column=5).value for r in (3, 5, 6)] == ["ACCEPTED"] * 3
