"""kuden_xl.numfmt and amounts in bodies (issue 10 item 9), against Excel's documented formats.

Expected values come from the documentation, not from this code:
- MS: Microsoft's "Number format codes" / "Review guidelines for customizing a number format"
  (support.microsoft.com), the "To display / As / Use this code" tables.
- ECMA: ECMA-376 Part 1 §18.8.31 (numFmts), the format-code symbol table.
- OSU: Oregon State's Excel formatting notes (16.475 under several codes).
- Issue: issue 10 item 9 (12345.678 under #,##0 is 12,346).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import mobile

from kuden_xl.cli import cli
from kuden_xl.message import format_value, render
from kuden_xl.numfmt import format_number, general

# (id, value, format, shown)
DOCUMENTED = [
    ("issue-thousands-rounded", 12345.678, "#,##0", "12,346"),
    ("ms-hash-one-decimal", 1234.59, "####.#", "1234.6"),
    ("ms-three-zero-decimals", 8.9, "#.000", "8.900"),
    ("ms-leading-zero", 0.631, "0.#", "0.6"),
    ("ms-optional-second-decimal", 12, "#.0#", "12.0"),
    ("ms-rounded-second-decimal", 1234.568, "#.0#", "1234.57"),
    ("ms-thousands", 12000, "#,###", "12,000"),
    ("ms-scale-thousand", 12000, "#,", "12"),
    ("ms-scale-million", 12200000, "0.0,,", "12.2"),
    ("ms-scientific", 12200000, "0.00E+00", "1.22E+07"),
    ("ecma-two-zero-decimals", 8.9, "#.00", "8.90"),
    ("ecma-hash-decimals", 8.9, "#.##", "8.9"),
    ("ecma-scale-after-decimals", 12200000, "#.0,,", "12.2"),
    ("ecma-percent", 0.5, "0%", "50%"),
    (
        "ecma-four-sections-positive",
        1234.5,
        '#,###.00_);[Red](#,###.00);0.00;"sales "@',
        "1,234.50 ",
    ),
    (
        "ecma-four-sections-negative",
        -1234.5,
        '#,###.00_);[Red](#,###.00);0.00;"sales "@',
        "(1,234.50)",
    ),
    ("ecma-four-sections-zero", 0, '#,###.00_);[Red](#,###.00);0.00;"sales "@', "0.00"),
    ("osu-round-half-up", 16.475, "0.00", "16.48"),
    ("osu-padded-thousands", 16.475, "0,000.00", "0,016.48"),
    ("osu-percent", 16.475, "0%", "1648%"),
    ("osu-negative-section", -12, "[Blue]#,##0.00;[Red]-(#,##0.00);[Green]0.00", "-(12.00)"),
    ("osu-zero-section", 0, "[Blue]#,##0.00;[Red]-(#,##0.00);[Green]0.00", "0.00"),
]


@pytest.mark.parametrize(
    ("value", "number_format", "shown"),
    [row[1:] for row in DOCUMENTED],
    ids=[row[0] for row in DOCUMENTED],
)
def test_documented_formats(value: float, number_format: str, shown: str) -> None:
    assert format_number(value, number_format) == shown


# Formats a Japanese list uses; Excel's output with its ¥ given as the CP932 form ￥.
JAPANESE = [
    ("yen-suffix", 1234567, '#,##0"円"', "1,234,567円"),
    ("yen-suffix-unquoted", 1500, "#,##0円", "1,500円"),
    ("yen-currency-tag", 12345.678, "[$¥-411]#,##0", "￥12,346"),
    ("yen-builtin-negative", -5000, '"¥"#,##0;"¥"\\-#,##0', "￥-5,000"),
    ("yen-single-section-negative", -5000, '"¥"#,##0', "-￥5,000"),
    ("locale-tag-only", 3000, "[$-411]#,##0", "3,000"),
    ("count-suffix", 3, '0"人"', "3人"),
    ("postal-code", 1000001, "000-0000", "100-0001"),
]


@pytest.mark.parametrize(
    ("value", "number_format", "shown"),
    [row[1:] for row in JAPANESE],
    ids=[row[0] for row in JAPANESE],
)
def test_japanese_list_formats(value: float, number_format: str, shown: str) -> None:
    assert format_number(value, number_format) == shown


GENERAL = [
    ("integer", 1000, "1000"),
    ("decimals", 12345.678, "12345.678"),
    ("float-noise", 0.1 + 0.2, "0.3"),
    ("negative", -5, "-5"),
    ("whole-float", 3.0, "3"),
    ("huge", 1e20, "1E+20"),
]


@pytest.mark.parametrize(
    ("value", "shown"), [row[1:] for row in GENERAL], ids=[row[0] for row in GENERAL]
)
def test_general(value: float, shown: str) -> None:
    assert general(value) == shown
    assert format_number(value, "General") == shown


@pytest.mark.parametrize(
    "number_format",
    ["yyyy/mm/dd", "h:mm", "# ?/?", "[>100]0;0", "[DBNum1]0", "@", 'ge"年"'],
)
def test_formats_it_does_not_render_give_none(number_format: str) -> None:
    assert format_number(45000, number_format) is None


def test_non_finite_numbers_raise() -> None:
    for value in (float("nan"), float("inf"), Decimal("NaN")):
        with pytest.raises(ValueError):
            format_number(value, "#,##0")


# --- in a body ------------------------------------------------------------------------------


def test_an_amount_is_shown_as_its_cell_format_shows_it() -> None:
    result = render("{金額}円", {"金額": 12345.678}, number_formats={"金額": "#,##0"})
    assert result.body == "12,346円"
    assert format_value(12345.678, number_format="#,##0") == "12,346"
    assert format_value(0.125, number_format="0.0%") == "12.5%"


def test_without_a_format_integers_keep_no_decimals() -> None:
    assert render("{金額}円", {"金額": 12345.0}).body == "12,345円"
    assert format_value(12345.678, number_format=None) == "12,345.678"


def test_a_format_it_does_not_render_falls_back() -> None:
    assert format_value(1500, number_format="[>100]0;0") == "1,500"


def test_whole_floats_above_2_to_the_53_have_no_float_noise() -> None:
    # Excel keeps 15 significant digits: 2**60 shows as 1152921504606850000.
    assert format_value(float(2**60)) == "1,152,921,504,606,850,000"
    assert format_value(1e17 + 1) == "100,000,000,000,000,000"
    assert format_number(float(2**60), "0") == "1152921504606850000"


def test_the_headless_preview_shows_amounts_as_the_workbook_formats_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUDEN_XL_NOW", "2026-11-27T10:00:00")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "送信リスト"
    ws.append(["氏名", "電話番号", "金額", "割合"])
    ws.append(["山田", mobile(10), 12345.678, 0.125])
    ws.append(["佐藤", mobile(11), 1000, 0.5])
    ws["C2"].number_format = "#,##0"
    ws["D2"].number_format = "0.0%"
    ws["C3"].number_format = "[$¥-411]#,##0.00"
    ws["D3"].number_format = "0%"
    settings = wb.create_sheet("設定")
    settings.append(["項目", "値"])
    settings.append(["本文", "{氏名}様 {金額}円 {割合}"])
    book = tmp_path / "book.xlsx"
    wb.save(book)
    result = CliRunner().invoke(cli, ["send", str(book), "--all", "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    bodies = [row["body"] for row in json.loads(result.output)]
    assert bodies == ["山田様 12,346円 12.5%", "佐藤様 ￥1,000.00円 50%"]
