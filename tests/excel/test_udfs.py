"""The worksheet functions as plain Python (on Linux xlwings' decorators are no-ops), their
metadata and VBA wrappers through the add-in builder's generator (real xlwings decorators with
pywin32 stubbed for one call), and Excel error values with pywin32 stubbed.
"""

from __future__ import annotations

import sys
import types
from datetime import datetime
from typing import Any

import pytest
from conftest import mobile

from kuden_xl.excel import udfs
from kuden_xl.excel.addin import udf_wrappers
from kuden_xl.excel.udfs import (
    KUDEN_BADCHARS,
    KUDEN_CHECK,
    KUDEN_LENGTH,
    KUDEN_NORMALIZE,
    KUDEN_RENDER,
    KUDEN_SEGMENTS,
    KUDEN_VALID,
)

OK_NUMBER = mobile(1010)
M2M = "02012341010"
NAMES = ["KUDEN_BADCHARS", "KUDEN_CHECK", "KUDEN_LENGTH", "KUDEN_NORMALIZE", "KUDEN_RENDER",
         "KUDEN_SEGMENTS", "KUDEN_VALID"]  # fmt: skip


# --- phone numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "check", "valid", "normalized"),
    [
        (OK_NUMBER, "OK", True, OK_NUMBER),
        ("090-1234-1010", "OK", True, OK_NUMBER),
        ("０９０－１２３４－１０１０", "OK", True, OK_NUMBER),
        ("+81 90-1234-1010", "OK", True, OK_NUMBER),
        (9012341010.0, "OK", True, OK_NUMBER),  # Excel's float, the leading 0 lost
        (None, "番号がありません", False, ""),  # an empty cell
        ("#N/A", "セルがエラー値（#N/A）です", False, "#N/A"),  # an error cell (err_to_str)
        ("9.01E+09", "指数表記", False, "#N/A"),
        ("03-1234-5678", "固定電話", False, "0312345678"),
        (M2M, "020番号", False, M2M),
        (True, "論理値", False, "#N/A"),
    ],
)
def test_phone_functions_on_one_cell(cell: Any, check: str, valid: bool, normalized: str) -> None:
    assert check in KUDEN_CHECK(cell)
    assert KUDEN_VALID(cell) is valid
    assert KUDEN_NORMALIZE(cell) == normalized


def test_m2m_numbers_pass_when_allowed() -> None:
    assert KUDEN_CHECK(M2M, "許可") == "OK" and KUDEN_VALID(M2M, True) is True
    assert KUDEN_CHECK(M2M, "不可") != "OK"


def test_a_range_returns_an_array_of_the_same_shape() -> None:
    column = [[OK_NUMBER], [None], ["03-1234-5678"], [9012341011.0]]
    checked = KUDEN_CHECK(column)
    assert [len(r) for r in checked] == [1, 1, 1, 1]
    assert checked[0] == ["OK"] and checked[1] == ["番号がありません"] and checked[3] == ["OK"]
    assert "固定電話" in checked[2][0]
    assert KUDEN_VALID(column) == [[True], [False], [False], [True]]
    assert KUDEN_NORMALIZE(column) == [[OK_NUMBER], [""], ["0312345678"], [mobile(1011)]]
    block = [[OK_NUMBER, "x"], ["", mobile(1012)]]
    assert KUDEN_VALID(block) == [[True, False], [False, True]]
    assert KUDEN_CHECK([[OK_NUMBER]]) == [["OK"]]  # one cell passed as a range: still 2-D
    assert KUDEN_VALID([]) == []


def test_10000_rows_recalculate_with_one_vectorised_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """A range is checked by one ``check_many`` call, never per cell (counted on the real
    functions, which still do the work)."""
    calls = {"many": 0, "one": 0}
    real_many, real_one = udfs.check_many, udfs.check

    def counted_many(*args: Any, **kwargs: Any) -> Any:
        calls["many"] += 1
        return real_many(*args, **kwargs)

    def counted_one(*args: Any, **kwargs: Any) -> Any:
        calls["one"] += 1
        return real_one(*args, **kwargs)

    monkeypatch.setattr(udfs, "check_many", counted_many)
    monkeypatch.setattr(udfs, "check", counted_one)
    column = [[mobile(i % 9000 + 1000, ("090", "080")[i % 2])] for i in range(10_000)]
    result = KUDEN_CHECK(column)
    assert len(result) == 10_000 and all(r == ["OK"] for r in result)
    assert calls == {"many": 1, "one": 0}
    monkeypatch.undo()
    # The filled-down form: each cell on its own, cached by value.
    udfs._check_cached.cache_clear()
    for row in column[:2000] * 5:
        KUDEN_VALID(row[0])
    info = udfs._check_cached.cache_info()
    assert (info.misses, info.hits) == (2000, 8000)


# --- Excel error values ----------------------------------------------------------------------


class FakeVariant:
    """What pywin32's win32com.client.VARIANT holds: a VARTYPE and a value."""

    def __init__(self, varianttype: int, value: Any) -> None:
        self.varianttype = varianttype
        self.value = value


def test_errors_are_text_without_pywin32() -> None:
    assert "pythoncom" not in sys.modules
    assert udfs.excel_error("#N/A") == "#N/A" and udfs.excel_error("#VALUE!") == "#VALUE!"


def test_errors_are_com_error_variants_with_pywin32(monkeypatch: pytest.MonkeyPatch) -> None:
    pythoncom = types.ModuleType("pythoncom")
    pythoncom.VT_ERROR = 10  # type: ignore[attr-defined]
    win32com = types.ModuleType("win32com")
    client = types.ModuleType("win32com.client")
    client.VARIANT = FakeVariant  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pythoncom", pythoncom)
    monkeypatch.setitem(sys.modules, "win32com", win32com)
    monkeypatch.setitem(sys.modules, "win32com.client", client)
    error = udfs.excel_error("#N/A")
    assert isinstance(error, FakeVariant)
    assert (error.varianttype, error.value) == (10, -2146826246)  # VT_ERROR, xlErrNA
    result = KUDEN_NORMALIZE([[OK_NUMBER], ["abc"]])
    assert result[0] == [OK_NUMBER] and isinstance(result[1][0], FakeVariant)


# --- bodies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "length", "segments"),
    [
        ("", 0, 0),
        (None, 0, 0),
        ("あ" * 70, 70, 1),
        ("あ" * 71, 71, 2),
        ("あ" * 134, 134, 2),
        ("あ" * 135, 135, 3),
        ("一行目\r\n二行目", 7, 1),  # a line break counts as one character
        (12345.0, 6, 1),  # a number reads as it would appear: 12,345
    ],
)
def test_length_and_segments(body: Any, length: int, segments: int) -> None:
    assert KUDEN_LENGTH(body) == length
    assert KUDEN_SEGMENTS(body) == segments


@pytest.mark.parametrize(
    ("body", "listed"),
    [
        ("お知らせです", ""),
        (None, ""),
        ("①テスト㈱", "1文字目「①」→(1)、5文字目「㈱」→(株)"),
        ("髙橋様", "1文字目「髙」→高"),
        ("予定😀", "3文字目「😀」（置き換え候補なし）"),
        ("a\tb", "2文字目U+0009→「 」"),
    ],
)
def test_badchars(body: Any, listed: str) -> None:
    assert KUDEN_BADCHARS(body) == listed


def test_body_functions_take_ranges() -> None:
    bodies = [["あ" * 71, None], ["①", "ok"]]
    assert KUDEN_LENGTH(bodies) == [[71, 0], [1, 2]]
    assert KUDEN_SEGMENTS(bodies) == [[2, 0], [1, 1]]
    assert KUDEN_BADCHARS(bodies) == [["", ""], ["1文字目「①」→(1)", ""]]


TEMPLATE = "{氏名}様 {金額}円 納期限{納期限}"
HEADERS = [["管理番号", "氏名", "金額", "納期限"]]
ROW = [["K1", "山田 太郎", 12345.0, datetime(2026, 10, 31)]]


@pytest.mark.parametrize(
    ("template", "headers", "row", "style", "expected"),
    [
        (TEMPLATE, HEADERS, ROW, None, "山田 太郎様 12,345円 納期限2026年10月31日"),
        (TEMPLATE, HEADERS, ROW, "和暦", "山田 太郎様 12,345円 納期限令和8年10月31日"),
        ([[TEMPLATE]], HEADERS, ROW, "西暦", "山田 太郎様 12,345円 納期限2026年10月31日"),
        ("{住所}へ", HEADERS, ROW, None, "差し込み項目「住所」の列がありません"),
        (TEMPLATE, HEADERS, [["K1", None, 1.0, datetime(2026, 10, 31)]], None,
         "差し込み項目「氏名」が空です"),
        ("{氏名", HEADERS, ROW, None, "本文の差し込み記号が正しくありません"),
        ("①{氏名}", HEADERS, ROW, None, "使用できない文字があります: 1文字目「①」"),
        ("あ" * 661, HEADERS, ROW, None, "本文が661文字です。上限は660文字です"),
        (TEMPLATE, HEADERS, [["K1", "山田"]], None, "列数が違います"),
        (TEMPLATE, HEADERS, ROW, "昭和", "「西暦」か「和暦」で指定してください"),
        (None, HEADERS, ROW, None, "本文がありません"),
        ("{phone}さん", [["電話番号"]], [[OK_NUMBER]], None, f"{OK_NUMBER}さん"),
        ("{有効}", [["有効"]], [[True]], None, "はい"),
        ("{有効}", [["有効"]], [[1.0]], None, "1"),  # TRUE and 1 are cached apart
    ],
)  # fmt: skip
def test_render(template: Any, headers: Any, row: Any, style: Any, expected: str) -> None:
    assert expected in KUDEN_RENDER(template, headers, row, style)


def test_render_many_rows_returns_a_column_of_bodies() -> None:
    rows = [["K1", "山田", 100.0, None], ["K2", "佐藤", 2000.0, None]]
    assert KUDEN_RENDER("{氏名}様 {金額}円", HEADERS, rows) == [
        ["山田様 100円"],
        ["佐藤様 2,000円"],
    ]


# --- metadata and VBA wrappers -----------------------------------------------------------------


def test_metadata_and_vba_wrappers_from_the_real_decorators() -> None:
    before = sys.modules["kuden_xl.excel.udfs"]
    wrappers = udf_wrappers.generate(["kuden_xl.excel.udfs"])
    assert sorted(wrappers.functions) == NAMES
    for name, meta in wrappers.functions.items():
        assert meta["category"] == "kuden_xl", name
        assert meta["volatile"] is False and meta["async_mode"] is None
        assert any("\u3040" <= ch <= "\u30ff" for ch in meta["ret"]["doc"]), name  # Japanese
        for arg in meta["args"]:
            assert not arg["doc"].startswith("Positional argument"), (name, arg["name"])
            assert arg["name"].isascii()  # VBA parameter names
    check = wrappers.functions["KUDEN_CHECK"]
    number = check["args"][0]
    assert number["name"] == "number" and number["options"]["ndim"] == 2
    assert number["options"]["err_to_str"] is True and "電話番号" in number["doc"]
    assert check["args"][1]["optional"] is False
    assert wrappers.functions["KUDEN_RENDER"]["args"][3]["optional"] is None
    assert "err_to_str" not in wrappers.functions["KUDEN_LENGTH"]["args"][0]["options"]
    source = wrappers.source
    assert "Function KUDEN_CHECK(number, Optional m2m)" in source
    assert "Function KUDEN_RENDER(template, headers, row, Optional date_style)" in source
    assert (
        'XLPy.CallUDF("kuden_xl.excel.udfs", "KUDEN_NORMALIZE", Array(number), '
        "ActiveWorkbook, Application.Caller)" in source
    )
    assert source.count("\r\nFunction KUDEN_") == len(NAMES)
    # Everything is put back: the same module, plain functions again.
    assert sys.modules["kuden_xl.excel.udfs"] is before
    assert not hasattr(KUDEN_CHECK, "__xlfunc__") and "pythoncom" not in sys.modules
