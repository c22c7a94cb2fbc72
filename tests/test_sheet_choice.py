"""Which sheet (DESIGN §3): ``--sheet``; else the active sheet when it has a phone column; else
the first visible one. A hidden or veryHidden sheet only when named. Every plan, confirmation,
preview and summary names the workbook and the sheet.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import StandaloneSandbox, mobile
from test_send import BODY, kuden, send_cmd

LAST_YEAR = [["氏名", "電話番号"], ["去年さん", mobile(1)], ["去年二郎", mobile(2)]]
THIS_YEAR = [["氏名", "電話番号"], ["今年さん", mobile(3)]]


def make(
    tmp_path: Path,
    sheets: Sequence[tuple[str, str, list[list[Any]]]],
    *,
    active: int | None = None,
) -> Path:
    """A workbook of (name, state, rows) sheets plus a 設定 sheet with the body."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, state, rows in sheets:
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
        ws.sheet_state = state
    settings = wb.create_sheet("設定")
    settings.append(["本文", BODY])
    if active is not None:
        wb.active = active
    else:
        wb.active = next(i for i, ws in enumerate(wb.worksheets) if ws.sheet_state == "visible")
    path = tmp_path / "名簿.xlsx"
    wb.save(path)
    return path


def checked(path: Path, *args: str) -> tuple[str, list[int]]:
    run = kuden("check", str(path), "--json", *args)
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert {r["book"] for r in rows} == {"名簿.xlsx"}
    (sheet,) = {r["sheet"] for r in rows}
    return sheet, [r["row"] for r in rows]


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_a_hidden_first_sheet_is_passed_over(tmp_path: Path, state: str) -> None:
    book = make(tmp_path, [("昨年度", state, LAST_YEAR), ("今年度", "visible", THIS_YEAR)])
    assert checked(book) == ("今年度", [2])


def test_the_active_sheet_wins_when_it_has_a_phone_column(tmp_path: Path) -> None:
    sheets = [("一覧A", "visible", LAST_YEAR), ("一覧B", "visible", THIS_YEAR)]
    assert checked(make(tmp_path, sheets, active=1))[0] == "一覧B"


def test_an_active_sheet_without_a_phone_column_falls_back_to_the_first_visible(
    tmp_path: Path,
) -> None:
    sheets = [
        ("昨年度", "hidden", LAST_YEAR),
        ("今年度", "visible", THIS_YEAR),
        ("メモ", "visible", [["備考"], ["なし"]]),
    ]
    assert checked(make(tmp_path, sheets, active=2))[0] == "今年度"


def test_a_hidden_sheet_is_used_when_named(tmp_path: Path) -> None:
    book = make(tmp_path, [("昨年度", "hidden", LAST_YEAR), ("今年度", "visible", THIS_YEAR)])
    assert checked(book, "--sheet", "昨年度") == ("昨年度", [2, 3])


def test_only_hidden_sheets_with_a_phone_column_is_a_clear_refusal(tmp_path: Path) -> None:
    book = make(
        tmp_path, [("昨年度", "veryHidden", LAST_YEAR), ("メモ", "visible", [["備考"], ["x"]])]
    )
    run = kuden("check", str(book))
    assert run.returncode == 2
    assert "非表示のシート「昨年度」" in run.stderr and "--sheet" in run.stderr
    assert "Traceback" not in run.stderr


def test_send_goes_to_the_visible_sheet_and_every_text_names_book_and_sheet(
    tmp_path: Path, standalone_sandbox: StandaloneSandbox
) -> None:
    book = make(tmp_path, [("昨年度", "hidden", LAST_YEAR), ("今年度", "visible", THIS_YEAR)])
    where = "ブック: 名簿.xlsx  シート: 今年度"
    preview = send_cmd(book, standalone_sandbox, "--all", "--dry-run")
    assert preview.returncode == 0, preview.stderr
    assert f"送信の計画（{where}）" in preview.stdout
    preview_json = json.loads(
        send_cmd(book, standalone_sandbox, "--all", "--dry-run", "--json").stdout
    )
    assert [(r["book"], r["sheet"], r["row"]) for r in preview_json] == [("名簿.xlsx", "今年度", 2)]
    run = send_cmd(book, standalone_sandbox, "--all", "--yes")
    assert run.returncode == 0, run.stderr
    assert f"送信の計画（{where}）" in run.stdout and f"送信結果（{where}）" in run.stdout
    assert [m["to"] for m in standalone_sandbox.messages()] == [mobile(3)]
    wb = openpyxl.load_workbook(book)
    assert wb["昨年度"].max_column == 2  # last year's list got no result columns
    assert "結果コード" in [c.value for c in wb["今年度"][1]]


def test_send_json_rows_name_book_and_sheet(
    tmp_path: Path, standalone_sandbox: StandaloneSandbox
) -> None:
    book = make(tmp_path, [("今年度", "visible", THIS_YEAR)])
    run = send_cmd(book, standalone_sandbox, "--all", "--yes", "--json")
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert [(r["book"], r["sheet"], r["row"], r["code"]) for r in rows] == [
        ("名簿.xlsx", "今年度", 2, "ACCEPTED")
    ]
