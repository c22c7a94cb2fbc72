"""The one yes/no rule (kuden_xl.yesno) and its faces: the 設定 sheet's 020番号 / サンプル keys
(config) and the worksheet functions' m2m argument (udfs) accept exactly the same values; the 除外
column (plan.is_excluded) keeps a row for exactly its no values."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from kuden_xl.config import campaign_settings
from kuden_xl.errors import SettingsError
from kuden_xl.excel.udfs import KUDEN_CHECK, KUDEN_VALID
from kuden_xl.plan import is_excluded
from kuden_xl.yesno import NO_WORDS, YES_WORDS, yes_no

M2M = "02012341010"


def full_width(word: str) -> str:
    """ASCII letters and digits as their full-width forms (NFKC maps them back)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)


YES = [*YES_WORDS, "ＴＲＵＥ", "１", "Yes", " はい ", "ＯＮ", True, 1, 1.0]
NO = [*NO_WORDS, "ＦＡＬＳＥ", "０", "No", "　いいえ　", "ｏｆｆ", False, 0, 0.0]
NEITHER = ["たぶん", "オン", "2", "1.0", "y", "n", "許可する", 2.0, 0.5, -1, None, [1]]
READ_AS_NEITHER = [v for v in NEITHER if v is not None]  # None: an unset key, an empty cell


def test_the_word_lists() -> None:
    assert YES_WORDS == ("はい", "許可", "yes", "true", "1", "on")
    assert NO_WORDS == ("いいえ", "不可", "no", "false", "0", "off", "")
    assert not set(YES_WORDS) & set(NO_WORDS)


@pytest.mark.parametrize("value", YES)
def test_yes(value: Any) -> None:
    assert yes_no(value) is True


@pytest.mark.parametrize("value", NO)
def test_no(value: Any) -> None:
    assert yes_no(value) is False


@pytest.mark.parametrize("value", NEITHER)
def test_neither(value: Any) -> None:
    assert yes_no(value) is None


@pytest.mark.parametrize("word", [w for w in YES_WORDS + NO_WORDS if w.isascii()])
def test_full_width_and_upper_case_words_match(word: str) -> None:
    assert unicodedata.normalize("NFKC", full_width(word)) == word
    assert yes_no(full_width(word).upper()) is yes_no(word)


def settings(sheet: dict[str, object]) -> Any:
    return campaign_settings(sheet, environ={}, config={})


@pytest.mark.parametrize("key", ["020番号", "サンプル"])
@pytest.mark.parametrize(("value", "expected"), [(v, True) for v in YES] + [(v, False) for v in NO])
def test_the_settings_sheet_follows_the_rule(key: str, value: Any, expected: bool) -> None:
    s = settings({key: value})
    field = s.allow_m2m if key == "020番号" else s.sample
    assert field is expected  # "" leaves the key unset: its default, no


@pytest.mark.parametrize(
    ("key", "words"), [("020番号", "「許可」か「不可」"), ("サンプル", "「はい」か「いいえ」")]
)
@pytest.mark.parametrize("value", READ_AS_NEITHER)
def test_the_settings_sheet_names_the_key_and_its_words(key: str, words: str, value: Any) -> None:
    with pytest.raises(SettingsError, match=key) as caught:
        settings({key: value})
    assert words in str(caught.value)


@pytest.mark.parametrize(("value", "expected"), [(v, True) for v in YES] + [(v, False) for v in NO])
def test_the_m2m_argument_follows_the_rule(value: Any, expected: bool) -> None:
    assert KUDEN_VALID(M2M, value) is expected
    assert (KUDEN_CHECK(M2M, value) == "OK") is expected


def test_an_empty_m2m_cell_is_no() -> None:
    assert KUDEN_VALID(M2M, None) is False


@pytest.mark.parametrize("value", READ_AS_NEITHER)
def test_an_unreadable_m2m_argument_is_reported(value: Any) -> None:
    for function in (KUDEN_CHECK, KUDEN_VALID):
        for number in (M2M, [[M2M], ["090-1234-1010"]]):
            result = function(number, value)
            assert (
                isinstance(result, str)
                and f"「{value}」" in result
                and "「許可」か「不可」" in result
            )


@pytest.mark.parametrize("value", NO)
def test_a_no_in_the_exclusion_column_keeps_the_row(value: Any) -> None:
    assert is_excluded(value) is False


@pytest.mark.parametrize("value", [*YES, *READ_AS_NEITHER, "転居", "本人から連絡"])
def test_anything_else_in_the_exclusion_column_excludes_the_row(value: Any) -> None:
    assert is_excluded(value) is True


def test_an_empty_exclusion_cell_keeps_the_row() -> None:
    assert is_excluded(None) is False
