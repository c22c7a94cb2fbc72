"""kuden_xl.phone: every cleaning and classification rule, table-driven, plus agreement with
phonenumbers itself. Synthetic numbers only (0X0-1234-NNNN for mobiles)."""

from __future__ import annotations

import datetime as dt
import random
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import phonenumbers
import pytest

from kuden_xl.phone import NumberKind, PhoneCheck, check, check_many, classify, mask
from kuden_xl.schema import ResultCode

MOBILE = "09012345678"

# --- accepted forms of one mobile number ---------------------------------------------------------

ACCEPTED = [
    ("plain", "09012345678"),
    ("hyphens", "090-1234-5678"),
    ("full-width", "０９０－１２３４－５６７８"),
    ("katakana-dash", "090ー1234ー5678"),
    ("halfwidth-katakana-dash", "090ｰ1234ｰ5678"),
    ("minus-sign", "090−1234−5678"),
    ("hyphen-U2010", "090‐1234‐5678"),
    ("horizontal-bar", "090―1234―5678"),
    ("en-dash", "090–1234–5678"),
    ("em-dash", "090—1234—5678"),
    ("spaces", "090 1234 5678"),
    ("full-width-spaces", "090　1234　5678"),
    ("surrounding-space", "  090-1234-5678 \n"),
    ("parentheses", "090(1234)5678"),
    ("full-width-parentheses", "０９０（１２３４）５６７８"),
    ("dots", "090.1234.5678"),
    ("plus81", "+81 90-1234-5678"),
    ("plus81-compact", "+819012345678"),
    ("plus81-trunk-zero", "+81-(0)90-1234-5678"),
    ("plus81-kept-zero", "+81 090 1234 5678"),
    ("full-width-plus81", "＋８１　９０－１２３４－５６７８"),
    ("0081", "0081-90-1234-5678"),
    ("plus81-in-parentheses", "(+81)90-1234-5678"),
    ("plus81-in-parentheses-spaced", "( +81 ) 90 1234 5678"),
    ("full-width-plus81-in-parentheses", "（＋８１）９０－１２３４－５６７８"),
    ("plus81-in-parentheses-trunk-zero", "(+81)(0)90-1234-5678"),
    ("plus81-in-parentheses-text-mark", "'(+81)90-1234-5678"),
    ("81-no-plus", "81-90-1234-5678"),
    ("010-81-idd", "010-81-90-1234-5678"),
    ("excel-text-mark", "'090-1234-5678"),
    ("typographic-text-mark", "’09012345678"),
    ("int-lost-zero", 9012345678),
    ("float-lost-zero", 9012345678.0),
    ("text-lost-zero", "9012345678"),
    ("int-with-81", 819012345678),
    ("decimal-lost-zero", Decimal("9012345678")),
]


@pytest.mark.parametrize("value", [v for _, v in ACCEPTED], ids=[i for i, _ in ACCEPTED])
def test_accepted_forms_of_a_mobile_number(value: object) -> None:
    assert check(value) == PhoneCheck(True, None, "", MOBILE, "+819012345678", NumberKind.MOBILE)


MOBILE_PREFIXES = [
    ("090", "090-1234-5678", "09012345678"),
    ("080", "080-1234-5678", "08012345678"),
    ("070", "070-1234-5678", "07012345678"),
    ("060", "060-1234-5678", "06012345678"),
    ("080-lost-zero-text", "8012345678", "08012345678"),
    ("070-lost-zero-int", 7012345678, "07012345678"),
    ("060-lost-zero-float", 6012345678.0, "06012345678"),
]


@pytest.mark.parametrize(
    ("value", "national"),
    [(v, n) for _, v, n in MOBILE_PREFIXES],
    ids=[i for i, _, _ in MOBILE_PREFIXES],
)
def test_every_mobile_prefix(value: object, national: str) -> None:
    result = check(value)
    assert result.ok and result.code is None and result.reason == ""
    assert (result.national, result.e164, result.kind) == (
        national,
        "+81" + national[1:],
        NumberKind.MOBILE,
    )


# --- the verdicts that refuse ----------------------------------------------------------------------

NO_NUMBER = [
    ("none", None, "番号がありません"),
    ("empty", "", "番号がありません"),
    ("blank", "   ", "番号がありません"),
    ("full-width-blank", "\u3000\u3000", "番号がありません"),
    ("only-text-mark", "'", "番号がありません"),
    ("nashi", "なし", "なし"),
    ("dash-only", "-", "番号がありません"),
    ("zero-from-empty-reference", 0, "0"),
]


@pytest.mark.parametrize(
    ("value", "in_reason"), [(v, r) for _, v, r in NO_NUMBER], ids=[i for i, _, _ in NO_NUMBER]
)
def test_no_number(value: object, in_reason: str) -> None:
    result = check(value)
    assert (result.ok, result.code, result.national, result.kind) == (
        False,
        ResultCode.ERR_NO_NUMBER,
        None,
        None,
    )
    assert "番号がありません" in result.reason and in_reason in result.reason


INVALID = [
    ("sci-short", "9.01E+09", "指数表記"),
    ("sci-long", "9.012345678E+09", "指数表記"),
    ("sci-lower", "9.01e+09", "指数表記"),
    ("sci-no-sign", "9.01E09", "指数表記"),
    ("sci-full-width", "９．０１Ｅ＋０９", "指数表記"),
    ("sci-integer-mantissa", "9E+09", "指数表記"),
    ("float-fraction", 9012345678.5, "小数"),
    ("float-small", 0.5, "小数"),
    ("float-nan", float("nan"), "読めない"),
    ("float-inf", float("inf"), "読めない"),
    ("too-short", "090-1234-567", "桁数が違います（10桁）"),
    ("too-long", "090-1234-56789", "桁数が違います（12桁）"),
    ("landline-too-short", "03-1234-567", "桁数が違います（9桁）"),
    ("huge", "0" + "9" * 30, "桁数が違います（31桁）"),
    ("unassigned-090-0", "090-0012-3456", "使われていない番号帯"),
    ("unassigned-0900000", "09000001234", "使われていない番号帯"),
    ("letter-O", "O90-1234-5678", "O"),
    ("annotation", "090-1234-5678（本人）", "本人"),
    ("tel-prefix", "TEL 090-1234-5678", "TEL"),
    ("slash-two", "090-1234-5678 / 080-1234-5678", "複数の番号"),
    ("newline-two", "090-1234-5678\n080-1234-5678", "複数の番号"),
    ("ideographic-comma", "090-1234-5678、03-1234-5678", "複数の番号"),
    ("comma", "090-1234-5678,080-1234-5678", "複数の番号"),
    ("matawa", "090-1234-5678または080-1234-5678", "複数の番号"),
    ("space-two", "090-1234-5678 080-1234-5678", "複数の番号"),
    ("space-two-compact", "09012345678 08012345678", "複数の番号"),
    ("text-no-leading-zero", "312345678", "先頭の0"),
    ("text-ten-digits-other", "1234567890", "先頭の0"),
    ("plus-in-middle", "090+1234+5678", "+"),
    ("excel-error-na", "#N/A", "エラー値"),
    ("excel-error-value", "#VALUE!", "エラー値"),
    ("bool-true", True, "論理値"),
    ("bool-false", False, "論理値"),
    ("date", dt.date(2026, 4, 1), "日付"),
    ("datetime", dt.datetime(2026, 4, 1, 9, 0), "日付"),
    ("negative", -9012345678, "負の数"),
    ("object", object(), "読めない"),
    ("only-digit-zero-text", "0", "桁数が違います（1桁）"),
]


@pytest.mark.parametrize(
    ("value", "in_reason"), [(v, r) for _, v, r in INVALID], ids=[i for i, _, _ in INVALID]
)
def test_invalid_number(value: object, in_reason: str) -> None:
    result = check(value)
    assert (result.ok, result.code, result.national, result.e164, result.kind) == (
        False,
        ResultCode.ERR_INVALID_NUMBER,
        None,
        None,
        None,
    )
    assert in_reason in result.reason


def test_sci_notation_reason_asks_for_re_entry_as_text() -> None:
    reason = check("9.01E+09").reason
    assert "指数表記" in reason and "文字列" in reason and "入力し直して" in reason


NOT_MOBILE = [
    ("tokyo", "03-1234-5678", "0312345678", NumberKind.LANDLINE, "固定電話"),
    ("osaka", "06-1234-5678", "0612345678", NumberKind.LANDLINE, "固定電話"),
    ("sapporo", "011-234-5678", "0112345678", NumberKind.LANDLINE, "固定電話"),
    ("four-digit-area", "0276-12-3456", "0276123456", NumberKind.LANDLINE, "固定電話"),
    ("landline-int", 312345678, "0312345678", NumberKind.LANDLINE, "固定電話"),
    ("landline-plus81", "+81 3-1234-5678", "0312345678", NumberKind.LANDLINE, "固定電話"),
    ("0120", "0120-123-456", "0120123456", NumberKind.TOLL_FREE, "フリーダイヤル"),
    ("0800", "0800-123-4567", "08001234567", NumberKind.TOLL_FREE, "フリーダイヤル"),
    ("080-0-is-0800", "080-0123-4567", "08001234567", NumberKind.TOLL_FREE, "フリーダイヤル"),
    ("0037", "0037-12-3456", "0037123456", NumberKind.TOLL_FREE, "フリーダイヤル"),
    ("0570", "0570-012-345", "0570012345", NumberKind.NAVI_DIAL, "ナビダイヤル"),
    ("050", "050-1234-5678", "05012345678", NumberKind.IP, "IP電話"),
    ("0990", "0990-123-456", "0990123456", NumberKind.PREMIUM, "有料情報"),
    ("060-ten-digits", "0600-123-456", "0600123456", NumberKind.PERSONAL, "060・10桁"),
]


@pytest.mark.parametrize(
    ("value", "national", "kind", "word"),
    [row[1:] for row in NOT_MOBILE],
    ids=[row[0] for row in NOT_MOBILE],
)
def test_not_mobile_names_what_it_is(
    value: object, national: str, kind: NumberKind, word: str
) -> None:
    result = check(value)
    assert (result.ok, result.code, result.national, result.kind) == (
        False,
        ResultCode.ERR_NOT_MOBILE,
        national,
        kind,
    )
    assert word in result.reason and "090/080/070/060" in result.reason
    assert result.e164 is not None and result.e164.startswith("+81")


def test_landline_reason_is_the_documented_sentence() -> None:
    assert check("03-1234-5678").reason == (
        "固定電話の番号です。携帯電話の番号（090/080/070/060）を入力してください"
    )


def test_foreign_number_is_not_mobile() -> None:
    for value in ("+1 202 555 0123", "+44 20 7946 0000"):
        result = check(value)
        assert (result.ok, result.code, result.kind) == (
            False,
            ResultCode.ERR_NOT_MOBILE,
            NumberKind.OTHER,
        )
        assert "海外" in result.reason


M2M = [
    ("020-eleven", "020-1234-5678", "02012345678", "+812012345678"),
    ("020-lost-zero-int", 2012345678, "02012345678", "+812012345678"),
    ("0200-fourteen", "0200-1234-56-7890", "02001234567890", "+812001234567890"),
]


@pytest.mark.parametrize(
    ("value", "national", "e164"), [row[1:] for row in M2M], ids=[row[0] for row in M2M]
)
def test_m2m_refused_by_default_allowed_by_setting(value: object, national: str, e164: str) -> None:
    refused = check(value)
    assert (refused.ok, refused.code, refused.kind, refused.national) == (
        False,
        ResultCode.ERR_NOT_MOBILE,
        NumberKind.M2M,
        national,
    )
    assert "020番号" in refused.reason and "許可" in refused.reason
    allowed = check(value, allow_m2m=True)
    assert allowed == PhoneCheck(True, None, "", national, e164, NumberKind.M2M)


# 総務省's number table (電気通信番号の種別, soumu.go.jp/joho_tsusin/top/tel_number): 020CDEFGHJK
# with C not 0 or 4 is M2M, 0200DEFGHJKLMN (14 digits) too; 0204DEFGHJK is 無線呼出番号;
# 0600DEFGHJK is FMC電話番号; 0AB0DEFGHJ with AB 17 or 18 is 付加的役務電話番号. None gets an SMS.
PLAN_BLOCKS = [
    ("0204-pager", "020-4123-4567", "02041234567", NumberKind.PAGER, "無線呼出し"),
    ("0204-pager-int", 2041234567, "02041234567", NumberKind.PAGER, "無線呼出し"),
    ("0600-fmc-eleven", "0600-123-4567", "06001234567", NumberKind.FMC, "FMC"),
    ("0600-fmc-lost-zero", "6001234567", "06001234567", NumberKind.FMC, "FMC"),
    ("0170", "0170-123-456", "0170123456", NumberKind.SERVICE, "付加的役務電話番号"),
    ("0180", "0180-123-456", "0180123456", NumberKind.SERVICE, "付加的役務電話番号"),
]


@pytest.mark.parametrize("allow_m2m", [False, True], ids=["020-refused", "020-allowed"])
@pytest.mark.parametrize(
    ("value", "national", "kind", "word"),
    [row[1:] for row in PLAN_BLOCKS],
    ids=[row[0] for row in PLAN_BLOCKS],
)
def test_allocated_blocks_that_get_no_sms_name_their_kind(
    value: object, national: str, kind: NumberKind, word: str, allow_m2m: bool
) -> None:
    result = check(value, allow_m2m=allow_m2m)
    assert (result.ok, result.code, result.national, result.e164, result.kind) == (
        False,
        ResultCode.ERR_NOT_MOBILE,
        national,
        "+81" + national[1:],
        kind,
    )
    assert word in result.reason and "090/080/070/060" in result.reason
    assert "使われていない" not in result.reason and "020番号」を「許可" not in result.reason


@pytest.mark.parametrize("allow_m2m", [False, True], ids=["020-refused", "020-allowed"])
@pytest.mark.parametrize("value", ["020-0123-4567", "02001234567", 2001234567])
def test_eleven_digit_0200_is_no_number(value: object, allow_m2m: bool) -> None:
    result = check(value, allow_m2m=allow_m2m)
    assert (result.ok, result.code, result.kind) == (False, ResultCode.ERR_INVALID_NUMBER, None)
    assert "14桁" in result.reason


def test_m2m_blocks_next_to_the_pager_block_stay_m2m() -> None:
    for value in ("020-1234-5678", "020-3123-4567", "020-5123-4567", "020-9123-4567"):
        assert check(value, allow_m2m=True).kind is NumberKind.M2M, value


# After a country code comes the national number: "+81 10…" is a (non-existent) Japanese number
# starting 10, never "010", the international call prefix. The reference is phonenumbers parsing
# the E.164 form, where no dial-string reading is possible.
AFTER_COUNTRY_CODE = [
    ("plus81-10", "+81 10 1234 5678", "+811012345678"),
    ("0081-10", "0081-10-1234-5678", "+811012345678"),
    ("plus81-10-us-lookalike", "+81 10 1 202 555 0123", "+811012025550123"),
    ("0081-10-us-lookalike", "0081-10-1-202-555-0123", "+811012025550123"),
    ("plus81-trunk-zero-10", "+81-(0)10-1234-5678", "+811012345678"),
    ("plus81-kept-zero-10", "+81 010 1234 5678", "+811012345678"),
    ("81-no-plus-10", "81-10-1234-5678", "+811012345678"),
    ("int-81-10", 811012345678, "+811012345678"),
    ("parenthesised-plus81-10", "(+81)10-1234-5678", "+811012345678"),
]


@pytest.mark.parametrize(
    ("value", "e164"),
    [row[1:] for row in AFTER_COUNTRY_CODE],
    ids=[row[0] for row in AFTER_COUNTRY_CODE],
)
def test_national_number_after_a_country_code_is_never_a_dial_string(
    value: object, e164: str
) -> None:
    assert not phonenumbers.is_valid_number(phonenumbers.parse(e164))
    result = check(value)
    assert (result.ok, result.code, result.kind) == (False, ResultCode.ERR_INVALID_NUMBER, None)
    assert "海外" not in result.reason
    assert check_many([value, value]) == [result, result]


def test_another_country_code_in_parentheses_is_foreign() -> None:
    result = check("(+1) 202-555-0123")
    assert (result.ok, result.code, result.kind) == (
        False,
        ResultCode.ERR_NOT_MOBILE,
        NumberKind.OTHER,
    )
    assert "海外" in result.reason


def test_010_dialled_from_japan_is_still_the_international_prefix() -> None:
    assert check("010-1-202-555-0123").kind is NumberKind.OTHER
    assert "海外" in check("010-1-202-555-0123").reason


def test_allow_m2m_changes_nothing_else() -> None:
    for value in ("090-1234-5678", "03-1234-5678", "9.01E+09", None, "050-1234-5678"):
        assert check(value, allow_m2m=True) == check(value)


SHAPES = ["090-1234-5678", "+81 90-1234-5678", "0081-90-1234-5678", "'090(1234)5678", "9012345678"]


@pytest.mark.parametrize("value", SHAPES, ids=SHAPES)
def test_shortcut_shapes_agree_with_the_general_path(value: str) -> None:
    # Surrounding blanks or a full-width digit send a value down the general path.
    assert check(f" {value}\t") == check(value)
    assert check(value.replace("5", "５")) == check(value)


# --- check_many ---------------------------------------------------------------------------------


def _mixed_column() -> list[object]:
    values: list[object] = [v for _, v in ACCEPTED]
    values += [v for _, v, _ in NO_NUMBER] + [v for _, v, _ in INVALID if v == v]  # no NaN
    values += [row[1] for row in NOT_MOBILE] + [row[1] for row in M2M]
    values += [True, 1, 1.0, "1", False, 0, 0.0]  # equal under ==, not the same cell value
    return values + values[::3]  # repeats, as in household lists


def test_check_many_agrees_with_check() -> None:
    values = _mixed_column()
    for allow in (False, True):
        assert check_many(values, allow_m2m=allow) == [check(v, allow_m2m=allow) for v in values]


def test_check_many_accepts_any_iterable_and_unhashable_values() -> None:
    values = ["090-1234-5678", ["090-1234-5678"], None, "090-1234-5678"]
    results = check_many(iter(values))
    assert [r.code for r in results] == [
        None,
        ResultCode.ERR_INVALID_NUMBER,
        ResultCode.ERR_NO_NUMBER,
        None,
    ]
    assert check_many([]) == []


def test_check_many_keeps_true_one_and_float_apart() -> None:
    results = check_many([True, 1, 1.0, 9012345678, 9012345678.0, "9012345678"])
    assert [r.code for r in results] == [
        ResultCode.ERR_INVALID_NUMBER,
        ResultCode.ERR_INVALID_NUMBER,
        ResultCode.ERR_INVALID_NUMBER,
        None,
        None,
        None,
    ]
    assert "論理値" in results[0].reason and "論理値" not in results[1].reason


# --- mask -----------------------------------------------------------------------------------------

MASKS = [
    ("mobile", "09012345678", "090-****-5678"),
    ("mobile-hyphens", "090-1234-5678", "090-****-5678"),
    ("mobile-plus81", "+81 90-1234-5678", "090-****-5678"),
    ("mobile-full-width", "０９０－１２３４－５６７８", "090-****-5678"),
    ("landline", "03-1234-5678", "***-****-5678"),
    ("toll-free", "0120-123-456", "***-****-3456"),
    ("invalid-long", "090-1234-56789", "090-****-6789"),
    ("two-numbers", "090-1234-5678 / 080-1234-5678", "090-****-5678"),
    ("short", "12345", "*****"),
    ("empty", "", "****"),
    ("letters", "なし", "****"),
]


@pytest.mark.parametrize(
    ("number", "masked"), [row[1:] for row in MASKS], ids=[row[0] for row in MASKS]
)
def test_mask(number: str, masked: str) -> None:
    assert mask(number) == masked


def test_mask_never_shows_more_than_the_last_four_digits() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 16)))
        text = "-".join(digits[i : i + 3] for i in range(0, len(digits), 3))
        for number in (digits, text, "+81" + digits):
            shown = re.sub(r"\D", "", mask(number))
            prefix = shown[:-4] if len(shown) > 4 else ""
            # at most the number's last 4 digits, after a 0X0 class prefix (not identifying)
            assert len(shown) <= 7, (number, mask(number))
            assert prefix == "" or re.fullmatch(r"0[256789]0", prefix), (number, mask(number))


# --- agreement with phonenumbers ------------------------------------------------------------------
# The parity tests (marker ``parity``) compare with phonenumbers' own parse / is_valid_number /
# number_type, never with a copy of the phone package's slow path. .ci/run runs them a second time against
# the oldest phonenumbers release pyproject.toml allows; the main run has the newest.

_KINDS = {
    phonenumbers.PhoneNumberType.MOBILE: NumberKind.MOBILE,
    phonenumbers.PhoneNumberType.PAGER: NumberKind.M2M,
    phonenumbers.PhoneNumberType.FIXED_LINE: NumberKind.LANDLINE,
    phonenumbers.PhoneNumberType.TOLL_FREE: NumberKind.TOLL_FREE,
    phonenumbers.PhoneNumberType.VOIP: NumberKind.IP,
    phonenumbers.PhoneNumberType.UAN: NumberKind.NAVI_DIAL,
    phonenumbers.PhoneNumberType.PREMIUM_RATE: NumberKind.PREMIUM,
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER: NumberKind.PERSONAL,
}
# 総務省's table where it is more precise than the metadata (see PLAN_BLOCKS above).
_PLAN = [
    (re.compile(r"0204\d{7}"), NumberKind.PAGER),
    (re.compile(r"0600\d{7}"), NumberKind.FMC),
    (re.compile(r"01[78]0\d{6}"), NumberKind.SERVICE),
    (re.compile(r"0200\d{7}"), None),  # 11-digit 0200: not a number
]


def _phonenumbers_verdict(national: str) -> tuple[object, ...]:
    """What phonenumbers alone says, as (ok, code, national, kind); written independently."""
    for block, plan_kind in _PLAN:
        if block.fullmatch(national):
            if plan_kind is None:
                return (False, ResultCode.ERR_INVALID_NUMBER, None, None)
            return (False, ResultCode.ERR_NOT_MOBILE, national, plan_kind)
    try:
        number = phonenumbers.parse(national, "JP")
    except phonenumbers.NumberParseException:
        return (False, ResultCode.ERR_INVALID_NUMBER, None, None)
    if number.country_code != 81 and phonenumbers.is_valid_number(number):  # '010 1 …'
        return (False, ResultCode.ERR_NOT_MOBILE, None, NumberKind.OTHER)
    if not phonenumbers.is_valid_number(number):
        if re.fullmatch(r"0200\d{10}", national):  # 14-digit M2M: our one extension
            return (False, ResultCode.ERR_NOT_MOBILE, national, NumberKind.M2M)
        return (False, ResultCode.ERR_INVALID_NUMBER, None, None)
    kind = _KINDS.get(phonenumbers.number_type(number), NumberKind.OTHER)
    nsn = phonenumbers.national_significant_number(number)
    canonical = nsn if nsn.startswith("0") else "0" + nsn
    if kind is NumberKind.MOBILE:
        return (True, None, canonical, kind)
    return (False, ResultCode.ERR_NOT_MOBILE, canonical, kind)


def _generated_nationals() -> list[str]:
    rng = random.Random(20260401)
    numbers: list[str] = []
    for prefix in range(1000):  # every 0XXX, each at lengths 9-12 and 14
        head = f"0{prefix:03d}"
        if head == "0081":  # read as +81 by the cleaning, on purpose: not a national number
            continue
        for length in (9, 10, 10, 11, 11, 12, 14):
            numbers.append(head + "".join(rng.choice("0123456789") for _ in range(length - 4)))
    for x in "26789":  # the 0X0 blocks digit by digit: 0X0-D…, mobile fiction 0X0-1234-NNNN
        for d in "0123456789":
            numbers += [f"0{x}0{d}{rng.randrange(10**7):07d}" for _ in range(10)]
            numbers += [f"0{x}0{d}{rng.randrange(10**6):06d}" for _ in range(3)]
    for head in range(10, 100):  # every 0AB at the lengths numbers have, two digits deeper
        for tail in range(100):
            numbers += [f"0{head}{tail:02d}{rng.randrange(10**5):05d}"]
            numbers += [f"0{head}{tail:02d}{rng.randrange(10**6):06d}"]
    return numbers


@pytest.mark.parity
def test_fast_path_agrees_with_phonenumbers() -> None:
    nationals = _generated_nationals()
    assert len(nationals) > 25000
    results = check_many(nationals)
    disagree = [
        (n, (r.ok, r.code, r.national, r.kind), _phonenumbers_verdict(n))
        for n, r in zip(nationals, results, strict=True)
        if (r.ok, r.code, r.national, r.kind) != _phonenumbers_verdict(n)
    ]
    assert disagree == []
    kinds = {r.kind for r in results}
    assert {NumberKind.MOBILE, NumberKind.LANDLINE, NumberKind.TOLL_FREE, NumberKind.M2M} <= kinds


@pytest.mark.parity
def test_type_resolution_agrees_with_phonenumbers_number_type() -> None:
    # kuden_xl.phone rebuilds phonenumbers' type resolution from the metadata; hold that rebuilt table
    # (the fast path's one match per number) against number_type/is_valid_number themselves.
    nationals = [n for n in _generated_nationals() if n[1] != "0" and not n.startswith("010")]
    unknown = int(phonenumbers.PhoneNumberType.UNKNOWN)
    disagree = []
    for national in nationals:
        number = phonenumbers.parse(national, "JP")
        valid = phonenumbers.is_valid_number(number)
        expected = int(phonenumbers.number_type(number)) if valid else unknown
        if classify._fast_type(phonenumbers.national_significant_number(number)) != expected:
            disagree.append((national, expected))
    assert disagree == []


@pytest.mark.parity
def test_the_installed_phonenumbers_decides_060_as_the_number_plan_does() -> None:
    # 060 + 8 digits is mobile (opened 2026); 0600 + 7 digits is FMC, not mobile. Releases before
    # 9.0.32 get one of the two wrong (9.0.1 refuses 060-1234-5678; 8.13.55 calls 0600… mobile).
    mobile = phonenumbers.PhoneNumberType.MOBILE
    assert phonenumbers.number_type(phonenumbers.parse("06012345678", "JP")) == mobile
    assert phonenumbers.number_type(phonenumbers.parse("06001234567", "JP")) != mobile
    assert check("060-1234-5678").ok and check("0600-123-4567").kind is NumberKind.FMC


def test_dependency_floor_is_the_first_release_that_decides_060_right() -> None:
    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text("utf-8")
    specs = re.findall(r'"phonenumbers([<>=!~][^";]*)"', pyproject)
    assert specs == [">=9.0.32,<10"]
    installed = tuple(int(p) for p in phonenumbers.__version__.split(".")[:3])
    assert (9, 0, 32) <= installed < (10,)


def test_import_is_cheap_and_defers_phonenumbers() -> None:
    code = (
        "import sys, kuden_xl.phone; "
        "print(sorted(m for m in ('phonenumbers', 'requests', 'openpyxl', 'xlwings') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
