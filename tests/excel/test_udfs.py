"""The worksheet functions as plain Python (on Linux xlwings' decorators are no-ops), their
metadata and VBA wrappers through the add-in builder's generator (real xlwings decorators with
pywin32 stubbed for one call), and Excel error values with pywin32 stubbed.
"""

from __future__ import annotations

import sys
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
        (None, "", "", ""),  # an empty cell: nothing shown (a formula filled down past the data)
        ("", "", "", ""),
        ("  ", "番号がありません", False, ""),  # a space is not an empty cell
        ("#N/A", "セルがエラー値（#N/A）です", False, "#N/A"),  # an error cell (err_to_str)
        ("9.01E+09", "指数表記", False, "#N/A"),
        ("03-1234-5678", "固定電話", False, "0312345678"),
        (M2M, "020番号", False, M2M),
        (True, "論理値", False, "#N/A"),
    ],
)
def test_phone_functions_on_one_cell(
    cell: Any, check: str, valid: bool | str, normalized: str
) -> None:
    assert check in KUDEN_CHECK(cell) and (check or KUDEN_CHECK(cell) == "")
    assert KUDEN_VALID(cell) is valid if isinstance(valid, bool) else KUDEN_VALID(cell) == valid
    assert KUDEN_NORMALIZE(cell) == normalized


def test_m2m_numbers_pass_when_allowed() -> None:
    assert KUDEN_CHECK(M2M, "許可") == "OK" and KUDEN_VALID(M2M, True) is True
    assert KUDEN_CHECK(M2M, "不可") != "OK"


def test_a_range_returns_an_array_of_the_same_shape() -> None:
    column = [[OK_NUMBER], [None], ["03-1234-5678"], [9012341011.0]]
    checked = KUDEN_CHECK(column)
    assert [len(r) for r in checked] == [1, 1, 1, 1]
    assert checked[0] == ["OK"] and checked[1] == [""] and checked[3] == ["OK"]
    assert "固定電話" in checked[2][0]
    assert KUDEN_VALID(column) == [[True], [""], [False], [True]]
    assert KUDEN_NORMALIZE(column) == [[OK_NUMBER], [""], ["0312345678"], [mobile(1011)]]
    block = [[OK_NUMBER, "x"], ["", mobile(1012)]]
    assert KUDEN_VALID(block) == [[True, False], ["", True]]
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


def test_unreadable_numbers_return_the_na_sentinel_the_wrapper_converts() -> None:
    """Python returns the text "#N/A" (pywin32 would drop a VT_ERROR's code, xlwings #776);
    the generated VBA wrapper turns it into CVErr(xlErrNA): see the wrapper test below."""
    assert udfs.NA_SENTINEL == "#N/A" and udfs.ERROR_RESULTS == {"KUDEN_NORMALIZE"}
    assert KUDEN_NORMALIZE("abc") == "#N/A"
    assert KUDEN_NORMALIZE([[OK_NUMBER], ["abc"], [None]]) == [[OK_NUMBER], ["#N/A"], [""]]
    assert not hasattr(udfs, "excel_error")  # no VARIANT: it never reached Excel as an error


def kuden_errors(result: Any) -> Any:
    """What the wrapper's VBA ``KudenErrors`` does, read off its source line by line (the VBA
    itself runs only in Excel): "#N/A" strings, alone or in a 1-D/2-D array, become #N/A."""
    source = udf_wrappers.ERROR_CONVERSION
    assert "If KudenIsNA(result(i, j)) Then result(i, j) = CVErr(xlErrNA)" in source
    assert "If KudenIsNA(result(i)) Then result(i) = CVErr(xlErrNA)" in source
    assert "ElseIf KudenIsNA(result) Then" in source and "result = CVErr(xlErrNA)" in source
    assert 'If VarType(v) = vbString Then KudenIsNA = (v = "#N/A")' in source
    na = "CVErr(xlErrNA)"
    if isinstance(result, list):
        return [kuden_errors(v) if isinstance(v, list) else na if v == "#N/A" else v
                for v in result]  # fmt: skip
    return na if result == "#N/A" else result


def test_isna_of_normalize_through_the_wrapper() -> None:
    assert kuden_errors(KUDEN_NORMALIZE("abc")) == "CVErr(xlErrNA)"  # ISNA(...) is TRUE
    assert kuden_errors(KUDEN_NORMALIZE(OK_NUMBER)) == OK_NUMBER
    column = KUDEN_NORMALIZE([[OK_NUMBER], ["abc"], [""]])
    assert kuden_errors(column) == [[OK_NUMBER], ["CVErr(xlErrNA)"], [""]]


def test_only_normalize_wrapper_converts_errors_the_rest_is_xlwings_own() -> None:
    source = udf_wrappers.generate(["kuden_xl.excel.udfs"]).source
    assert source.count("KudenErrors(XLPy.CallUDF(") == 1
    assert (
        'KUDEN_NORMALIZE = KudenErrors(XLPy.CallUDF("kuden_xl.excel.udfs", "KUDEN_NORMALIZE", '
        "Array(number), ActiveWorkbook, Application.Caller))" in source
    )
    assert "Private Function KudenErrors(ByVal result As Variant) As Variant" in source
    # Without the conversion the module is exactly xlwings' generator output.
    plain = source.replace("KudenErrors(XLPy.CallUDF(", "XLPy.CallUDF(").replace(
        "Application.Caller))", "Application.Caller)"
    )
    plain = plain[: plain.index(udf_wrappers.ERROR_CONVERSION.replace("\n", "\r\n"))]
    assert source.isascii() and plain.count("\r\nFunction KUDEN_") == len(NAMES)


def test_long_texts_in_range_results_stay_within_255_characters() -> None:
    long_body = "あ" * 300
    headers = [["氏名"]]
    rows = [["山田"], ["佐藤"]]
    rendered = KUDEN_RENDER(long_body + "{氏名}", headers, rows)
    assert all(len(r[0]) == 255 and r[0].endswith("…") for r in rendered)
    one = KUDEN_RENDER("い" * 300 + "{氏名}", headers, [["山田"]])
    assert len(one) == 302  # one cell: the whole text (Excel takes long scalar strings)
    bad = "①" * 40
    listed = KUDEN_BADCHARS([[bad], ["ok"]])
    assert len(listed[0][0]) == 255 and listed[0][0].endswith("…") and listed[1] == [""]
    assert len(KUDEN_BADCHARS(bad)) > 255


# --- bodies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "length", "segments"),
    [
        ("", "", 0),  # an empty cell has no length to show
        (None, "", 0),
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
    assert KUDEN_LENGTH(bodies) == [[71, ""], [1, 2]]
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
