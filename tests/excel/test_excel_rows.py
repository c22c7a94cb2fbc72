"""The Excel path uses the same data-row rule and names the workbook and sheet: ribbon entry
points against xlwings' remote engine, sending through a real sandbox server."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
import xlharness as xh
from conftest import mobile

from kuden_xl.excel import ribbon
from kuden_xl.plan import SendPlan
from kuden_xl.sandbox import SandboxServer

BOOK = "送信リスト.xlsx"
WHERE = f"ブック「{BOOK}」の「送信リスト」シート"
pytestmark = pytest.mark.usefixtures("sandbox_env")


def sent(sandbox: SandboxServer) -> list[str]:
    with urllib.request.urlopen(f"{sandbox.url}/_sandbox/messages", timeout=10) as response:
        return [m["to"] for m in json.load(response)]


def filled_down(real: list[str], selection: str, to_row: int = 500) -> xh.Payload:
    """Recipients with ``=KUDEN_CHECK(C2)`` filled down to ``to_row``: Excel sends the values
    the formula shows, here the text today's UDF returns for an empty cell."""
    rows: list[list[Any]] = [["管理番号", "氏名", "電話番号", "番号チェック"]]
    rows += [[f"K{i}", f"住民{i}", n, "OK"] for i, n in enumerate(real)]
    rows += [["", "", "", "番号がありません"] for _ in range(len(real) + 2, to_row + 1)]
    settings = [["項目", "値"], ["本文", "【○○市】{氏名}様 お知らせです"]]
    return xh.make_payload({"送信リスト": rows, "設定": settings}, selection=selection, book=BOOK)


def test_check_reports_only_real_rows_beside_a_filled_down_helper_column() -> None:
    numbers = [mobile(i) for i in range(1, 16)]
    run = xh.run_macro(ribbon.check_sheet, filled_down(numbers, "$A$2"))
    assert run.sheet(ribbon.CHECK_SHEET)[1:] == []  # no problem rows: blank rows are no rows
    prompt = run.alerts[0]["prompt"]
    assert f"{WHERE}の15 行を確認しました" in prompt and "送信しない行 0 件" in prompt


def test_column_selection_sends_real_rows_and_writes_nothing_below(
    sandbox: SandboxServer,
) -> None:
    numbers = [mobile(i) for i in range(1020, 1025)]  # tails 20-24: no sandbox fault
    asked: list[str] = []

    def confirm(plan: SendPlan) -> bool:
        asked.append(ribbon.confirmation_text(plan))
        return True

    run = xh.run_macro(
        lambda: ribbon.send_selected(confirm=confirm, progress=lambda d, t: None),
        filled_down(numbers, "$C:$C"),
    )
    assert sorted(n for n in sent(sandbox) if n in numbers) == numbers
    codes = xh.column(run.sheet("送信リスト"), "結果コード")
    assert [codes[r] for r in range(2, 7)] == ["ACCEPTED"] * 5
    assert {r for r, v in codes.items() if v} == set(range(2, 7))  # nothing in rows 7-500
    writes = [a for a in run.funcs("setValues") if a["sheet_position"] == 0 and a["start_row"]]
    assert max(a["start_row"] + a["row_count"] for a in writes) == 6  # 0-based end: row 6
    assert WHERE in asked[0]
    assert f"{WHERE}の送信が終わりました（5 行）" in run.alerts[0]["prompt"]


def test_header_below_the_rows_searched_says_so_in_excel() -> None:
    rows: list[list[Any]] = [["説明"]] + [[""]] * 24 + [["氏名", "電話番号"], ["山田", mobile(1)]]
    payload = xh.make_payload({"送信リスト": rows}, selection="$A$27", book=BOOK)
    run = xh.run_macro(ribbon.check_sheet, payload)
    assert "26行目" in run.alerts[0]["prompt"] and "先頭20行" in run.alerts[0]["prompt"]
