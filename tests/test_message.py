from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from conftest import mobile

from kuden_xl.books.base import SheetRows
from kuden_xl.campaign import parse_window
from kuden_xl.clock import JST
from kuden_xl.config import campaign_settings
from kuden_xl.errors import SettingsError
from kuden_xl.message import (
    DEFAULT_MAX_LENGTH,
    BadChar,
    BodyCheck,
    DateStyle,
    Template,
    bad_chars,
    check_body,
    count,
    format_value,
    placeholders,
    render,
)
from kuden_xl.plan import Scheduling, plan
from kuden_xl.schema import ResultCode, find_header

SEIREKI = DateStyle.SEIREKI
WAREKI = DateStyle.WAREKI

# --- refused and allowed characters ---------------------------------------------------------

# (character, suggested replacement or None): each must be refused on its own.
REFUSED = [
    ("①", "(1)"),
    ("⑩", "(10)"),
    ("⑳", "(20)"),
    ("Ⅰ", "I"),
    ("Ⅲ", "III"),
    ("Ⅹ", "X"),
    ("ⅰ", "i"),
    ("ⅹ", "x"),
    ("㈱", "(株)"),
    ("㈲", "(有)"),
    ("㍉", "ミリ"),
    ("㌔", "キロ"),
    ("㍻", "平成"),
    ("㍼", "昭和"),
    ("㍽", "大正"),
    ("㍾", "明治"),
    ("№", "No."),
    ("℡", "TEL"),
    ("髙", "高"),
    ("﨑", "崎"),
    ("德", "徳"),
    ("\ufa10", "\u585a"),  # 塚 in the IBM extension; NFKC gives the common 塚
    ("∮", None),  # cp932 puts it in the NEC row (0x8793)
    ("∟", None),  # 0x8798
    ("＂", '"'),  # U+FF02 encodes to 0xEEFC, the IBM area
    ("😀", None),
    ("𠮷", "吉"),
    ("\u00a0", " "),  # no-break space: not in cp932
    ("—", "―"),  # U+2014 em dash: not in cp932
    ("\t", " "),
    ("\x07", None),
    ("\x7f", None),
    ("\ue000", None),  # user-defined area (外字), 0xF040
    ("\ud800", None),  # a lone surrogate
]

ALLOWED = list("－～ｱｶﾞー〒※々〆あ漢A1！？「」・…―〜￢≒≡∫√⊥∠∵∩∪\n ")


@pytest.mark.parametrize(("char", "replacement"), REFUSED)
def test_refused_character_and_its_replacement(char: str, replacement: str | None) -> None:
    found = bad_chars(f"あ{char}い")
    assert found == (BadChar(char, 2, f"U+{ord(char):04X}", replacement),)
    result = check_body(f"あ{char}い")
    assert result.code is ResultCode.ERR_BAD_CHAR
    assert not result.ok
    assert "2文字目" in result.reason


@pytest.mark.parametrize("char", ALLOWED)
def test_allowed_character(char: str) -> None:
    assert bad_chars(f"あ{char}い") == ()
    assert check_body(f"あ{char}い").ok


def test_replacements_are_themselves_allowed() -> None:
    for _, replacement in REFUSED:
        if replacement is not None:
            assert bad_chars(replacement) == (), replacement


def test_bad_characters_at_start_and_end_have_positions_1_and_len() -> None:
    body = "①お知らせです😀"
    found = bad_chars(body)
    assert [(b.char, b.position) for b in found] == [("①", 1), ("😀", len(body))]
    assert found[1].codepoint == "U+1F600"
    reason = check_body(body).reason
    assert reason.startswith("使用できない文字があります: ")
    assert "1文字目「①」→「(1)」" in reason
    assert f"{len(body)}文字目「😀」（置き換え候補なし）" in reason


def test_position_counts_code_points_after_an_astral_character() -> None:
    # 𠮷 is one code point (two UTF-16 units): the next character is at position 2.
    assert [b.position for b in bad_chars("𠮷①")] == [1, 2]


def test_reason_for_invisible_characters_names_them() -> None:
    reason = check_body("お知らせ\tです\x07").reason
    assert "5文字目タブ(U+0009)→「 」" in reason
    assert "8文字目制御文字(U+0007)（置き換え候補なし）" in reason


def test_many_bad_characters_are_summarised() -> None:
    result = check_body("①" * 15)
    assert len(result.bad_chars) == 15
    assert "10文字目" in result.reason
    assert "11文字目" not in result.reason
    assert "ほか5件" in result.reason


# --- counting and length --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "segments"),
    [(0, 0), (1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (660, 10), (661, 10)],
)
def test_segments(length: int, segments: int) -> None:
    assert count("あ" * length) == (length, segments)


def test_newline_counts_one_and_crlf_is_normalised() -> None:
    assert count("あ\nい") == (3, 1)
    assert count("あ\r\nい\rう") == (5, 1)
    result = check_body("あ\r\nい")
    assert result.ok
    assert result.body == "あ\nい"
    assert result.length == 3


def test_70_and_71_characters() -> None:
    one = check_body("あ" * 70)
    two = check_body("あ" * 71)
    assert (one.ok, one.length, one.segments) == (True, 70, 1)
    assert (two.ok, two.length, two.segments) == (True, 71, 2)


def test_660_is_fine_and_661_is_too_long() -> None:
    assert DEFAULT_MAX_LENGTH == 660
    fine = check_body("あ" * 660)
    assert fine.ok and fine.segments == 10
    long = check_body("あ" * 661)
    assert long.code is ResultCode.ERR_TOO_LONG
    assert long.reason == "本文が661文字です。上限は660文字です"
    assert (long.length, long.segments) == (661, 10)


def test_custom_max_length() -> None:
    assert check_body("あ" * 70, max_length=70).ok
    result = check_body("あ" * 71, max_length=70)
    assert result.code is ResultCode.ERR_TOO_LONG
    assert result.reason == "本文が71文字です。上限は70文字です"
    with pytest.raises(ValueError):
        check_body("あ", max_length=0)


def test_too_long_and_bad_char_reports_both() -> None:
    result = check_body("①" + "あ" * 660)
    assert result.code is ResultCode.ERR_BAD_CHAR
    assert "1文字目「①」" in result.reason
    assert "本文が661文字です。上限は660文字です" in result.reason


@pytest.mark.parametrize("body", ["", " ", "\n", "\r\n", "　"])
def test_empty_body(body: str) -> None:
    result = check_body(body)
    assert result.code is ResultCode.ERR_TEMPLATE
    assert result.reason == "本文が空です"


# --- placeholders ---------------------------------------------------------------------------


def test_placeholders_in_order_without_repeats() -> None:
    assert placeholders("{氏名}様 {金額}円 {氏名}") == ("氏名", "金額")
    assert placeholders("{ 氏名 }｛金額｝") == ("氏名", "金額")
    assert placeholders("お知らせ") == ()


def test_escaped_braces_are_literal() -> None:
    assert placeholders("{{氏名}} {{ }}") == ()
    result = render("{{{氏名}}}様 {{例}} ｛｛全角｝｝", {"氏名": "山田"})
    assert result.ok
    assert result.body == "{山田}様 {例} ｛全角｝"


@pytest.mark.parametrize(
    ("template", "position", "gloss"),
    [
        ("お知らせ{氏名", 5, "unclosed"),
        ("お知らせ{氏名\n}", 5, "unclosed"),
        ("お知らせ}です", 5, "lone '}'"),
        ("{氏名}}", 5, "lone '}'"),
        ("あ{}", 2, "empty placeholder"),
        ("あ{ }", 2, "empty placeholder"),
        ("{氏{名}", 1, "inside a placeholder"),
        ("あ｝", 2, "lone '}'"),
        ("あ｛氏名", 2, "unclosed"),
    ],
)
def test_malformed_template_says_where(template: str, position: int, gloss: str) -> None:
    with pytest.raises(SettingsError) as info:
        placeholders(template)
    message = str(info.value)
    assert f"{position}文字目" in message
    assert gloss in message
    assert " / " in message  # Japanese first, then the English gloss
    with pytest.raises(SettingsError):
        render(template, {"氏名": "山田"})


def test_full_width_and_spaced_placeholders_match_the_column() -> None:
    row = {"氏名": "山田", "金額": 100}
    assert render("｛氏名｝様 { 金額 }円", row).body == "山田様 100円"


def test_placeholder_matches_a_header_written_differently() -> None:
    # Full-width letters and case differ; the alias 'phone' finds the canonical 電話番号.
    assert render("{ＩＤ}", {"id": "A-1"}).body == "A-1"
    assert render("{phone}", {"電話番号": "09012345678"}).body == "09012345678"
    assert render("{電話番号}", {"Phone": "09012345678"}).body == "09012345678"


def test_missing_column() -> None:
    result = render("{氏名}様 {金額}円", {"氏名": "山田"})
    assert result.code is ResultCode.ERR_TEMPLATE
    assert result.reason == "差し込み項目「金額」の列がありません"
    assert result.body == "山田様 {金額}円"
    assert (result.length, result.segments) == (0, 0)


@pytest.mark.parametrize("value", [None, "", "   ", "　", "\n"])
def test_empty_or_blank_value(value: object) -> None:
    result = render("{氏名}様 {金額}円", {"氏名": "山田", "金額": value})
    assert result.code is ResultCode.ERR_TEMPLATE
    assert result.reason == "差し込み項目「金額」が空です"


def test_several_problems_in_one_reason() -> None:
    result = render("{氏名}{金額}{納期限}{氏名}", {"氏名": None, "金額": None})
    assert (
        result.reason
        == "差し込み項目「納期限」の列がありません。差し込み項目「氏名」「金額」が空です"
    )


def test_non_finite_number_is_a_template_error() -> None:
    result = render("{金額}円", {"金額": float("nan")})
    assert result.code is ResultCode.ERR_TEMPLATE
    assert "「金額」" in result.reason


def test_rendered_body_is_checked() -> None:
    assert render("{氏名}様", {"氏名": "髙橋"}).code is ResultCode.ERR_BAD_CHAR
    result = render("{氏名}様", {"氏名": "あ" * 70}, max_length=70)
    assert result.code is ResultCode.ERR_TOO_LONG
    assert render("{氏名}", {"氏名": "山田"}).segments == 1


def test_two_rows_with_one_template_never_mix() -> None:
    template = Template.parse("{氏名}様 {金額}円 {納期限}")
    first = {"氏名": "山田", "金額": 1000, "納期限": date(2026, 10, 31)}
    second = {"氏名": "佐藤", "金額": None, "納期限": date(2026, 11, 30)}
    third = {"氏名": "鈴木", "金額": 3000, "納期限": date(2026, 12, 25)}
    a = template.render(first)
    b = template.render(second)
    c = template.render(third)
    assert a.body == "山田様 1,000円 2026年10月31日"
    assert b.code is ResultCode.ERR_TEMPLATE and "山田" not in b.body and "1,000" not in b.body
    assert c.body == "鈴木様 3,000円 2026年12月25日"
    # The module-level function (cached parse) gives the same, row by row.
    assert [render(template.text, r).body for r in (first, third)] == [a.body, c.body]


def test_template_object() -> None:
    template = Template.parse("{氏名}様 {金額}円")
    assert template.placeholders == ("氏名", "金額")
    assert template.missing_columns(["電話番号", "ＩＤ", " 氏名 "]) == ("金額",)
    assert template.missing_columns(["氏名", "金額"]) == ()
    assert template.used_columns(["電話番号", "金額", "住所", " 氏名 "]) == ("金額", " 氏名 ")
    aliased = Template.parse("{ＩＤ} {Phone}")
    assert aliased.placeholders == ("ID", "Phone")
    assert aliased.used_columns(["管理番号", "電話番号", "氏名"]) == ("管理番号", "電話番号")


# --- values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seireki", "wareki"),
    [
        (date(2026, 10, 31), "2026年10月31日", "令和8年10月31日"),
        (date(2019, 5, 1), "2019年5月1日", "令和元年5月1日"),
        (date(2019, 12, 31), "2019年12月31日", "令和元年12月31日"),
        (date(2020, 1, 1), "2020年1月1日", "令和2年1月1日"),
        (date(2019, 4, 30), "2019年4月30日", "平成31年4月30日"),
        (date(2005, 3, 15), "2005年3月15日", "平成17年3月15日"),
        (date(1989, 1, 8), "1989年1月8日", "平成元年1月8日"),
        (date(1989, 1, 7), "1989年1月7日", "昭和64年1月7日"),
        (date(1926, 12, 25), "1926年12月25日", "昭和元年12月25日"),
        (date(1912, 7, 30), "1912年7月30日", "大正元年7月30日"),
        (date(1900, 1, 1), "1900年1月1日", "明治33年1月1日"),
        (datetime(2026, 10, 31, 0, 0), "2026年10月31日", "令和8年10月31日"),
        (datetime(2026, 10, 31, 13, 5, 42), "2026年10月31日 13時05分", "令和8年10月31日 13時05分"),
    ],
)
def test_dates(value: object, seireki: str, wareki: str) -> None:
    assert format_value(value, date_style=SEIREKI) == seireki
    assert format_value(value, date_style=WAREKI) == wareki


def test_aware_datetime_is_shown_in_japan_time() -> None:
    utc = datetime(2026, 10, 30, 15, 0, tzinfo=timezone.utc)  # 2026-10-31 00:00 in Japan
    assert format_value(utc, date_style=SEIREKI) == "2026年10月31日"
    assert format_value(utc + timedelta(hours=4, minutes=30), date_style=SEIREKI) == (
        "2026年10月31日 4時30分"
    )


def test_date_style_in_render() -> None:
    row = {"納期限": date(2026, 10, 31)}
    assert render("{納期限}", row).body == "2026年10月31日"
    assert render("{納期限}", row, date_style=WAREKI).body == "令和8年10月31日"
    assert DateStyle("和暦") is WAREKI


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (12345, "12,345"),
        (0, "0"),
        (-12345, "-12,345"),
        (1234567890123, "1,234,567,890,123"),
        (12345.0, "12,345"),
        (-12345.0, "-12,345"),
        (12345.5, "12,345.5"),
        (1e15, "1,000,000,000,000,000"),
        (0.1 + 0.2, "0.3"),
        (Decimal("12345.50"), "12,345.5"),
        (Decimal("1000"), "1,000"),
        (True, "はい"),
        (False, "いいえ"),
        ("  山田　太郎 \n", "山田　太郎"),
        ("A\nB", "A\nB"),
        (time(9, 30), "9時30分"),
    ],
)
def test_values(value: object, shown: str) -> None:
    assert format_value(value, date_style=SEIREKI) == shown


def test_newlines_inside_a_value_are_normalised() -> None:
    result = render("{住所}", {"住所": "一丁目\r\n二番"})
    assert result.body == "一丁目\n二番"
    assert result.length == 6


def test_ten_thousand_rows_render_independently() -> None:
    template = Template.parse("{氏名}様 保険料{金額}円の納期限は{納期限}です。○○市保険年金課")
    rows = [
        {"氏名": f"山田{i}", "金額": 1000 + i, "納期限": date(2026, 10, 31)} for i in range(10_000)
    ]
    results = [template.render(row, date_style=WAREKI) for row in rows]
    assert all(r.ok for r in results)
    assert results[9999].body.startswith("山田9999様 保険料10,999円")


def test_amount_in_a_body() -> None:
    assert render("{金額}円", {"金額": 12345.0}).body == "12,345円"
    assert render("{金額}円", {"金額": -500}).body == "-500円"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("NaN")])
def test_non_finite_number_raises(value: object) -> None:
    with pytest.raises(ValueError):
        format_value(value, date_style=SEIREKI)


def test_body_check_is_frozen() -> None:
    result = check_body("あ")
    assert isinstance(result, BodyCheck)
    with pytest.raises(AttributeError):
        result.body = "い"  # type: ignore[misc]


# --- URLs (DESIGN §5: cities promise residents that their SMS carry no links) ----------------

# (template, row, 1-based position of the URL in the body, the URL as quoted, column or None)
URLS = [
    (
        "https-value",
        "{氏名}様 {案内}",
        {"氏名": "山田", "案内": "https://example.jp/a?b=1"},
        5,
        "https://example.jp/a?b=1",
        "案内",
    ),
    (
        "http-value",
        "{氏名}様 {案内}",
        {"氏名": "山田", "案内": "http://example.jp"},
        5,
        "http://example.jp",
        "案内",
    ),
    (
        "www-value",
        "{氏名}様 詳しくは{案内}へ",
        {"氏名": "山田", "案内": "www.city.example.jp"},
        9,
        "www.city.example.jp",
        "案内",
    ),
    ("upper-case", "{案内}", {"案内": "HTTPS://EXAMPLE.JP"}, 1, "HTTPS://EXAMPLE.JP", "案内"),
    (
        "full-width",
        "{氏名}様 {案内}",
        {"氏名": "山田", "案内": "ｈｔｔｐｓ：／／ｅｘａｍｐｌｅ．ｊｐ"},
        5,
        "ｈｔｔｐｓ：／／ｅｘａｍｐｌｅ．ｊｐ",
        "案内",
    ),
    (
        "full-width-www",
        "{氏名}様 {案内}",
        {"氏名": "山田", "案内": "ＷＷＷ．ｃｉｔｙ．ｊｐ"},
        5,
        "ＷＷＷ．ｃｉｔｙ．ｊｐ",
        "案内",
    ),
    ("inside-a-name", "{氏名}様", {"氏名": "山田http"}, 3, "http", "氏名"),
    (
        "after-a-crlf-value",
        "{氏名}様\r\n{案内}",
        {"氏名": "山田\r\n太郎", "案内": "www.city.jp"},
        8,
        "www.city.jp",
        "案内",
    ),
    (
        "in-the-template",
        "{氏名}様 http://example.jp",
        {"氏名": "山田"},
        5,
        "http://example.jp",
        None,
    ),
]


@pytest.mark.parametrize(
    ("template", "row", "position", "url", "column"),
    [case[1:] for case in URLS],
    ids=[case[0] for case in URLS],
)
def test_a_url_refuses_the_row(
    template: str, row: dict[str, object], position: int, url: str, column: str | None
) -> None:
    result = render(template, row)
    assert result.code is ResultCode.ERR_BAD_CHAR and not result.ok
    assert result.body[position - 1 :].startswith(url)
    assert f"{position}文字目「{url}」" in result.reason and "URL" in result.reason
    assert (f"差し込み項目「{column}」" in result.reason) is (column is not None)


def test_a_url_in_a_finished_body_is_refused() -> None:
    result = check_body("詳細はwww.city.example.jpへ")
    assert (
        result.code is ResultCode.ERR_BAD_CHAR and "4文字目「www.city.example.jp」" in result.reason
    )


def test_a_url_and_a_refused_character_are_both_reported() -> None:
    result = render("{氏名}様 {案内}", {"氏名": "髙橋", "案内": "https://example.jp"})
    assert result.code is ResultCode.ERR_BAD_CHAR
    assert "1文字目「髙」" in result.reason and "5文字目「https://example.jp」" in result.reason


@pytest.mark.parametrize(
    "body", ["ホームページをご覧ください", "WWW", "ww.example", "htp://x", "h t t p"]
)
def test_text_without_a_url_is_not_refused(body: str) -> None:
    assert check_body(body).ok


def test_the_plan_points_at_the_column_holding_the_url() -> None:
    header = find_header([["氏名", "電話番号", "案内"]], sheet="送信リスト")
    rows = SheetRows(
        "book.xlsx", "送信リスト", header, {2: ["山田", mobile(10), "www.city.example.jp"]}, 2
    )
    settings = campaign_settings({"本文": "{氏名}様 {案内}"}, environ={}, config={})
    now = datetime(2026, 11, 27, 10, 0, tzinfo=JST)
    row = plan(
        rows, [2], settings, scheduling=Scheduling(now, parse_window("09:00-19:00"), None, True)
    ).rows[0]
    assert (row.code, row.column) == (ResultCode.ERR_BAD_CHAR, "案内")
    assert "URL" in row.reason
