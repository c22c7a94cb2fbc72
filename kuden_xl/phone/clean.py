"""Step 1 of a phone check: a cell value → a national digit string, or an early verdict."""

from __future__ import annotations

import math
import numbers
import re
import unicodedata
from datetime import date, time, timedelta

from ..schema import ResultCode
from .result import (
    _MULTI_REASON,
    _NO_NUMBER,
    _SCI_REASON,
    PhoneCheck,
    _fail,
    _foreign,
    _invalid,
)

# Dash look-alikes NFKC leaves alone (ー − ‐ ‑ ‒ – — ― ⁃ ─ ｰ→ー) become '-'; typographic
# apostrophes become Excel's text mark.
_DASHES = str.maketrans(
    dict.fromkeys("ー−‐‑‒–—―⁃─━", "-") | dict.fromkeys("’‘`", "'") | dict.fromkeys("\u200b\ufeff")
)
_EXCEL_ERROR = re.compile(r"#(?:NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A|[A-Z_]+!)")
_SCIENTIFIC = re.compile(r"\d(?:[.,]\d*)?\s*[eE]\s*[+-]?\s*\d", re.ASCII)
# Separators between two numbers in one cell ("090-… / 080-…", "…、…", a line break, または).
_SEPARATORS = re.compile(r"[/,;|・、，；\n\r\t]|または|又は|もしくは|\bor\b", re.IGNORECASE)
_ALLOWED = re.compile(r"\+?[\d\s().-]*", re.ASCII)
_NOT_ALLOWED = re.compile(r"[^\d\s().-]", re.ASCII)
_DIGIT = re.compile(r"\d", re.ASCII)
_LOST_ZERO_TEXT = re.compile(r"[256789]0\d{8}", re.ASCII)
# Shortcuts (speed only: a column is mostly these shapes); the general path gives the same.
_PLAIN = re.compile(r"'?0[1-9][\d ().-]*", re.ASCII)
_PAREN_COUNTRY_CODE = re.compile(r"('?)\(\s*\+\s*(\d{1,3})\s*\)", re.ASCII)
_PLUS81 = re.compile(r"(?:\+81|0081)[ -]?(?:\(0\)[ -]?)?([1-9][\d().-]*)", re.ASCII)


def _clean(value: object) -> str | PhoneCheck:
    """A cell value → national digits starting with 0 (unvalidated), or an early verdict."""
    if value is None:
        return _NO_NUMBER
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, bool):
        return _invalid("TRUE/FALSE（論理値）が入っています。番号を入力してください")
    if isinstance(value, (int, float)):  # the common cell numbers, before the slow ABC checks
        return _clean_number(value)
    if isinstance(value, numbers.Integral):
        return _clean_number(int(value))
    if isinstance(value, numbers.Number):  # float, Decimal, numpy scalars
        try:
            return _clean_number(float(value))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return _invalid(f"番号として読めない値です（{value}）")
    if isinstance(value, (date, time, timedelta)):
        return _invalid(
            "日付・時刻が入っています。セルの書式を「文字列」にして番号を入力し直してください"
        )
    return _invalid(f"番号として読めない値です（{type(value).__name__}）")


def _clean_number(number: int | float) -> str | PhoneCheck:
    if isinstance(number, float):
        if not math.isfinite(number):
            return _invalid(f"番号として読めない値です（{number}）")
        if not number.is_integer():
            return _invalid(
                f"数値が小数になっています（{number:.15g}）。"
                "セルの書式を「文字列」にして番号を入力し直してください"
            )
        number = int(number)
    if number == 0:  # what a formula referring to an empty cell shows
        return _fail(ResultCode.ERR_NO_NUMBER, "番号がありません（セルの値が0です）")
    if number < 0:
        return _invalid("負の数が入っています。番号を入力し直してください")
    digits = str(number)
    if len(digits) in (11, 12) and digits.startswith("81"):
        return _after_country_code(digits[2:])
    return "0" + digits  # an int never keeps a leading 0: Excel dropped it


def _after_country_code(rest: str) -> str:
    # "+81 90…" and "+81 (0)90…" alike: keep a trunk 0 the writer left in, else add it.
    national = rest if rest.startswith("0") else "0" + rest
    # What follows a country code is the national number, never a dial string: "+81 10…" must not
    # become the international call prefix 010. Such a national travels as "+81" + its digits.
    return _COUNTRY_CODE + national[1:] if national.startswith("010") else national


_COUNTRY_CODE = "+81"


def _clean_text(raw: str) -> str | PhoneCheck:
    text = raw
    if not text.isascii():
        text = unicodedata.normalize("NFKC", raw).replace("ー", "-")  # the IME's usual dash
        if not text.isascii():
            text = text.translate(_DASHES)
    text = text.strip()
    if text.startswith(("(", "'(")):  # "(+81)90-1234-5678": the country code in parentheses
        text = _PAREN_COUNTRY_CODE.sub(r"\1+\2 ", text, count=1)
    if _PLAIN.fullmatch(text):
        digits = text.replace("-", "")
        if not digits.isdigit():  # ASCII here: _PLAIN matched
            digits = _drop_marks(digits).replace(" ", "")
        if len(digits) < 20:  # else: maybe two numbers, for the general path to say
            return digits
    elif (plus81 := _PLUS81.fullmatch(text)) is not None:
        digits = _drop_marks(plus81[1])
        if len(digits) < 19:
            return _after_country_code(digits)
    elif _LOST_ZERO_TEXT.fullmatch(text):
        return "0" + text
    if text.startswith("'"):  # Excel's text mark, when it reaches us as a character
        text = text[1:].strip()
    if not text:
        return _NO_NUMBER
    if _ALLOWED.fullmatch(text) is None:
        early = _clean_odd_text(text)
        if early is not None:
            return early
    digits = _drop_marks("".join(text.split()))
    if digits.startswith("+"):
        if digits.startswith("+81"):
            return _after_country_code(digits[3:])
        return _foreign("（+81以外で始まっています）")
    if not digits:
        return _fail(ResultCode.ERR_NO_NUMBER, f"番号がありません（「{text[:10]}」）")
    if len(digits) >= 20 and len(text.split()) > 1:
        return _invalid(_MULTI_REASON)
    if digits.startswith("0081"):
        return _after_country_code(digits[4:])
    if digits.startswith("0"):
        return digits
    if digits.startswith("81") and len(digits) in (11, 12, 13):
        rest = digits[2:]
        if len(rest) + (not rest.startswith("0")) in (10, 11):
            return _after_country_code(rest)
    if digits == text and _LOST_ZERO_TEXT.fullmatch(digits):
        return "0" + digits  # Excel/CSV dropped the 0 of an 11-digit number
    return _invalid(f"番号が0で始まっていません（{len(digits)}桁）。先頭の0が抜けていませんか")


def _drop_marks(text: str) -> str:
    # str.replace is several times faster than str.translate with deletions, for short text.
    return text.replace("-", "").replace("(", "").replace(")", "").replace(".", "").replace("'", "")


def _clean_odd_text(text: str) -> PhoneCheck | None:
    """Verdicts for text holding more than digits and separators; None when it is still fine."""
    if _EXCEL_ERROR.fullmatch(text.upper()):
        return _invalid(f"セルがエラー値（{text}）です")
    if _SCIENTIFIC.search(text):
        return _SCI_REASON_CHECK
    if _DIGIT.search(text) is None:
        return _fail(ResultCode.ERR_NO_NUMBER, f"番号がありません（「{text[:10]}」）")
    parts = [p for p in _SEPARATORS.split(text) if len(_DIGIT.findall(p)) >= 6]
    if len(parts) >= 2:
        return _invalid(_MULTI_REASON)
    body = text[1:] if text.startswith("+") else text
    bad = "".join(dict.fromkeys(_NOT_ALLOWED.findall(body)))
    if not bad:
        return None
    hint = "英字のO・I・lと数字の0・1を取り違えていませんか。" if set(bad) & set("OoIl") else ""
    shown = bad.replace("\n", "(改行)")[:10]
    return _invalid(f"数字以外の文字が含まれています（{shown}）。{hint}番号だけを入力してください")


_SCI_REASON_CHECK = _invalid(_SCI_REASON)
