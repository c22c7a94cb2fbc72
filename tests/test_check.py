"""`kuden-xl check` end to end: real workbooks, the real CLI (click's runner and a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openpyxl
from click.testing import CliRunner
from conftest import MakeBook, mobile

from kuden_xl.cli import cli
from kuden_xl.workbook_templates import SAMPLE

SAMPLE_CODES = {
    2: "OK",
    3: "OK",
    4: "OK",
    5: "OK",
    6: "OK",
    7: "ERR_INVALID_NUMBER",  # 9.01E+09: digits lost, never guessed
    8: "ERR_NOT_MOBILE",  # landline
    9: "ERR_NOT_MOBILE",  # toll-free
    10: "ERR_NO_NUMBER",
    11: "SKIP_EXCLUDED",
    12: "SKIP_DUPLICATE",  # same number as row 2
    13: "OK",
    14: "OK",
    15: "ERR_INVALID_NUMBER",  # two numbers in one cell
    16: "OK",
    17: "ERR_NOT_MOBILE",  # 020 (M2M) not allowed by default
    18: "ERR_TEMPLATE",  # 金額 empty
    19: "ERR_BAD_CHAR",  # 髙 in 氏名
    20: "SKIP_EXCLUDED",  # 除外 = TRUE
    21: "OK",  # 除外 = 0 is not an exclusion
    22: "OK",
    23: "OK",
    24: "OK",
    25: "OK",
    26: "OK",
    27: "ERR_INVALID_NUMBER",  # too short
    28: "ERR_INVALID_NUMBER",  # letters
    29: "OK",
    30: "ERR_NOT_MOBILE",  # 050 IP phone
    31: "SKIP_DUPLICATE",  # same as row 3 (full-width)
}


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args))


def test_sample_workbook_json_codes() -> None:
    result = run("check", str(SAMPLE), "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {r["row"]: r["code"] for r in rows} == SAMPLE_CODES
    by_row = {r["row"]: r for r in rows}
    assert by_row[8]["number"] == "0312345678" and by_row[8]["reason"]
    assert by_row[10]["number"] is None
    assert by_row[2] == {
        "book": "sample_reminders.xlsx",
        "sheet": "送信リスト",
        "row": 2,
        "code": "OK",
        "reason": "",
        "number": mobile(5610),
        "segments": 1,
    }
    assert by_row[3]["number"] == mobile(5611)  # full-width digits and hyphens
    assert by_row[5]["number"] == mobile(5613)  # an int with the leading 0 lost
    assert by_row[19]["segments"] == 1 and "髙" in by_row[19]["reason"]


def test_sample_workbook_text_summary() -> None:
    result = run("check", str(SAMPLE))
    assert result.exit_code == 0
    out = result.output
    assert "送信可能 15件" in out
    assert "7行目  電話番号  ERR_INVALID_NUMBER" in out
    assert "19行目  氏名  ERR_BAD_CHAR" in out
    assert "18行目  金額  ERR_TEMPLATE" in out


def test_rows_spec_limits_the_check(make_book: MakeBook) -> None:
    book = make_book(
        [["電話番号"], [mobile(1)], [mobile(1)], ["03-1234-5678"], [mobile(2)]],
        {"本文": "お知らせです"},
    )
    result = run("check", str(book), "--rows", "3-4", "--json")
    assert [(r["row"], r["code"]) for r in json.loads(result.output)] == [
        (3, "OK"),
        (4, "ERR_NOT_MOBILE"),
    ]  # row 2 not checked: row 3 is no duplicate here


def test_duplicates_among_checked_rows(make_book: MakeBook) -> None:
    book = make_book([["電話番号"], [mobile(1)], [mobile(1)]], {"本文": "x"})
    codes = [r["code"] for r in json.loads(run("check", str(book), "--json").output)]
    assert codes == ["OK", "SKIP_DUPLICATE"]


def test_already_sent_row_is_reported_and_claims_its_number(make_book: MakeBook) -> None:
    book = make_book(
        [
            ["電話番号", "結果コード"],
            [mobile(1), "ACCEPTED"],
            [mobile(1), None],
            [mobile(2), "GATEWAY_ERROR"],
        ],
        {"本文": "x"},
    )
    codes = [r["code"] for r in json.loads(run("check", str(book), "--json").output)]
    assert codes == ["SKIP_ALREADY_SENT", "SKIP_DUPLICATE", "OK"]


def test_without_body_only_numbers_are_checked(make_book: MakeBook) -> None:
    book = make_book([["電話番号"], [mobile(1)], ["12345"]])
    result = run("check", str(book))
    assert result.exit_code == 0
    assert "本文がないため" in result.output
    assert "3行目  電話番号  ERR_INVALID_NUMBER" in result.output


def test_hidden_rows_are_skipped(make_book: MakeBook) -> None:
    book = make_book([["電話番号"], [mobile(1)], [mobile(2)]], {"本文": "x"}, hidden=[3])
    codes = [r["code"] for r in json.loads(run("check", str(book), "--json").output)]
    assert codes == ["OK", "SKIP_HIDDEN"]


def test_missing_file_exit_2_one_line(tmp_path: Path) -> None:
    result = run("check", str(tmp_path / "nothing.xlsx"))
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "見つかりません" in result.output
    assert "Traceback" not in result.output


def test_not_a_workbook_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "notes.xlsx"
    path.write_text("not a workbook")
    result = run("check", str(path))
    assert result.exit_code == 2 and "Excel ブックではなく、CSV（テキスト）" in result.output
    path.write_bytes(bytes(range(256)) * 4)
    result = run("check", str(path))
    assert result.exit_code == 2 and "ではないか、壊れています" in result.output


def test_no_phone_column_exit_2(make_book: MakeBook) -> None:
    book = make_book([["氏名", "TEL"], ["山田", mobile(1)]])
    result = run("check", str(book))
    assert result.exit_code == 2
    assert "送信リスト" in result.output and "携帯電話番号" in result.output


def test_rows_outside_the_sheet_exit_2(make_book: MakeBook) -> None:
    book = make_book([["電話番号"], [mobile(1)]], {"本文": "x"})
    result = run("check", str(book), "--rows", "2-90")
    assert result.exit_code == 2 and "範囲外" in result.output


def test_formula_cells_read_by_computed_value(make_book: MakeBook, tmp_path: Path) -> None:
    """A cached value written as Excel would: openpyxl can't, so patch the sheet XML."""
    import zipfile

    book = make_book(
        [["電話番号", "氏名"], ["=A3", "山田"], [mobile(1), "佐藤"]], {"本文": "{氏名}様"}
    )
    patched = tmp_path / "patched.xlsx"
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(patched, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<f>A3</f><v></v>", f"<f>A3</f><v>{mobile(1)}</v>".encode())
                data = data.replace(b"<f>A3</f><v />", f"<f>A3</f><v>{mobile(1)}</v>".encode())
            dst.writestr(item, data)
    rows = json.loads(run("check", str(patched), "--json").output)
    assert [(r["code"], r["number"]) for r in rows] == [
        ("OK", mobile(1)),
        ("SKIP_DUPLICATE", mobile(1)),
    ]


def test_formula_without_computed_value_names_the_cell(make_book: MakeBook) -> None:
    book = make_book([["電話番号"], ['="0901234"&"0001"']], {"本文": "x"})
    result = run("check", str(book))
    assert result.exit_code == 2
    assert "A2" in result.output and "計算結果" in result.output


def test_check_writes_nothing(make_book: MakeBook) -> None:
    book = make_book([["電話番号"], [mobile(1)]], {"本文": "x"})
    before = book.read_bytes()
    run("check", str(book))
    assert book.read_bytes() == before


def test_python_m_and_console_script_agree(make_book: MakeBook) -> None:
    book = make_book([["電話番号"], [mobile(1)], ["03-1234-5678"]], {"本文": "x"})
    out = subprocess.run(
        [sys.executable, "-m", "kuden_xl", "check", str(book), "--json"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
    ).stdout
    assert [r["code"] for r in json.loads(out)] == ["OK", "ERR_NOT_MOBILE"]


def test_regenerating_workbooks_changes_no_cell(tmp_path: Path) -> None:
    from kuden_xl.workbook_templates import TEMPLATE
    from kuden_xl.workbook_templates.generate import main

    main([str(tmp_path)])
    for shipped in (TEMPLATE, SAMPLE):
        fresh = openpyxl.load_workbook(tmp_path / shipped.name)
        old = openpyxl.load_workbook(shipped)
        assert fresh.sheetnames == old.sheetnames == ["送信リスト", "設定", "使い方", "文例"]
        for name in fresh.sheetnames:
            a = [[c.value for c in row] for row in fresh[name].iter_rows()]
            b = [[c.value for c in row] for row in old[name].iter_rows()]
            assert a == b, f"{shipped.name}!{name} differs from a fresh generation"


def test_template_sheets_follow_the_contract() -> None:
    from kuden_xl.message import count
    from kuden_xl.workbook_templates import TEMPLATE

    wb = openpyxl.load_workbook(TEMPLATE)
    ws = wb["送信リスト"]
    header = [c.value for c in ws[1]]
    assert header[-8:] == [
        "送信日時",
        "送信本文",
        "結果コード",
        "結果",
        "通数",
        "メッセージID",
        "配信結果",
        "配信確認日時",
    ]
    phone = header.index("電話番号") + 1
    assert ws.cell(row=2, column=phone).number_format == "@"
    # Rows 2..500 are formatted (the phone column as text) and hold no data.
    assert ws.max_row == 500
    assert all(c.value is None for row in ws.iter_rows(min_row=2) for c in row)
    examples = list(wb["文例"].iter_rows(min_row=2, values_only=True))
    assert len(examples) >= 6
    for purpose, body, *_ in examples:
        assert "http" not in body and "www" not in body, purpose
        assert count(body)[1] == 1, f"{purpose}: fits one SMS"
    settings = {r[0]: r[1] for r in wb["設定"].iter_rows(min_row=2, values_only=True)}
    assert settings["送信時間帯"] == "09:00-19:00" and "サンプル" not in settings
    sample_settings = {
        r[0]: r[1]
        for r in openpyxl.load_workbook(SAMPLE)["設定"].iter_rows(min_row=2, values_only=True)
    }
    assert sample_settings["サンプル"] == "はい"
