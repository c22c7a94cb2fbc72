"""Parse, normalise and classify Japanese phone numbers from worksheet cells (DESIGN §5).

A cell value goes through two steps:

1. ``_clean`` turns the value into a national digit string (``'09012345678'``) or an early verdict
   (empty cell, scientific notation, letters, several numbers, a foreign number). Cleaning
   accepts full-width digits, dash variants, spaces, ``()``, dots, ``+81``/``(+81)``/``0081``/
   ``81`` prefixes, Excel's leading ``'``, and numbers whose leading 0 was lost:

   * an int (or exactly integral float) of 9-10 digits gets its 0 back (an int cannot keep one);
     one of 11-12 digits starting with 81 is read as ``+81``;
   * a text of *only* digits, exactly 10 of them, starting 20/50/60/70/80/90 gets its 0 back:
     that is what Excel or a CSV round trip leaves of an 11-digit number. Any other text not
     starting with 0 is refused (a guessed number texts a stranger);
   * text in scientific notation (``9.01E+09``) has lost digits and is always refused.

2. The national number is classified with phonenumbers' JP metadata. The fast path reproduces
   ``phonenumbers.parse(n, 'JP')`` + ``is_valid_number`` + ``number_type`` with the metadata's own
   patterns compiled once; anything it cannot vouch for (``00``/``010`` prefixes) goes to
   phonenumbers itself. Where 総務省's number plan is more precise than the metadata, the plan
   wins: 14-digit ``0200`` numbers (absent from the metadata) are M2M; 0204 (pager), 11-digit
   0600 (FMC) and 0170/0180 get their own kind, 11-digit 0200 is no number.

   A country code is followed by the national number: ``+81 10…`` is never read as ``010``, the
   international call prefix (``_clean`` hands such a number on as ``'+8110…'``).

phonenumbers is imported on first use, so importing this module stays cheap for the Excel UDFs.
"""

from __future__ import annotations

import math
import numbers
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from .schema import ResultCode

if TYPE_CHECKING:
    import phonenumbers  # imported for real on first use (see _tables), not with this module


class NumberKind(str, Enum):
    """What a (valid) Japanese number is; its Japanese name is ``.label``."""

    MOBILE = "mobile"
    M2M = "m2m"  # 020 (phonenumbers calls it PAGER) and 14-digit 0200
    LANDLINE = "landline"
    TOLL_FREE = "toll_free"  # 0120, 0800, 00xx
    IP = "ip"  # 050
    NAVI_DIAL = "navi_dial"  # 0570
    PREMIUM = "premium"  # 0990
    PERSONAL = "personal"  # 060 + 7 digits (10 digits in all)
    PAGER = "pager"  # 0204 + 7 digits: 無線呼出番号 (phonenumbers: PAGER, like M2M)
    FMC = "fmc"  # 0600 + 7 digits (11 digits in all): FMC電話番号
    SERVICE = "service"  # 0170, 0180 + 6 digits: 付加的役務電話番号 (0AB0番号)
    OTHER = "other"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {
    NumberKind.MOBILE: "携帯電話",
    NumberKind.M2M: "020番号（M2M・IoT用）",
    NumberKind.LANDLINE: "固定電話",
    NumberKind.TOLL_FREE: "フリーダイヤル等（着信課金）",
    NumberKind.IP: "IP電話（050）",
    NumberKind.NAVI_DIAL: "ナビダイヤル（0570）",
    NumberKind.PREMIUM: "有料情報サービス（0990）",
    NumberKind.PERSONAL: "パーソナル通信（060・10桁）",
    NumberKind.PAGER: "無線呼出し（ポケットベル・020-4）",
    NumberKind.FMC: "FMC電話番号（0600・11桁）",
    NumberKind.SERVICE: "付加的役務電話番号（0170・0180）",
    NumberKind.OTHER: "その他",
}


@dataclass(frozen=True, slots=True)
class PhoneCheck:
    """The verdict on one cell. ``national``/``e164``/``kind`` are set when the number is valid."""

    ok: bool
    code: ResultCode | None
    reason: str
    national: str | None
    e164: str | None
    kind: NumberKind | None


_ASK_MOBILE = "携帯電話の番号（090/080/070/060）を入力してください"
_M2M_REASON = (
    "020番号（M2M・IoT用）です。送信するには設定シートの「020番号」を「許可」にしてください"
)
_SCI_REASON = (
    "セルが指数表記（9.01E+09 など）になっていて番号の桁が失われています。"
    "セルの書式を「文字列」にして番号を入力し直してください"
)
_MULTI_REASON = "1つのセルに複数の番号が入っています。1つのセルには1つの番号を入力してください"


def _fail(code: ResultCode, reason: str) -> PhoneCheck:
    return PhoneCheck(False, code, reason, None, None, None)


def _invalid(reason: str) -> PhoneCheck:
    return _fail(ResultCode.ERR_INVALID_NUMBER, reason)


def _foreign(detail: str) -> PhoneCheck:
    reason = f"海外の電話番号です{detail}。日本の{_ASK_MOBILE}"
    return PhoneCheck(False, ResultCode.ERR_NOT_MOBILE, reason, None, None, NumberKind.OTHER)


_NO_NUMBER = _fail(ResultCode.ERR_NO_NUMBER, "番号がありません")

# ---- step 1: cleaning -------------------------------------------------------------------------

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

# ---- step 2: classification -------------------------------------------------------------------

# phonenumbers.PhoneNumberType values (stable ints in its API), so the verdict table needs no import.
_FIXED_LINE, _MOBILE, _FIXED_OR_MOBILE, _TOLL_FREE, _PREMIUM = 0, 1, 2, 3, 4
_SHARED_COST, _VOIP, _PERSONAL, _PAGER, _UAN, _VOICEMAIL, _UNKNOWN = 5, 6, 7, 8, 9, 10, 99
# Per phonenumbers type: (kind, reason when refused); looked up once per number.
_OUTCOMES = {
    t: (k, _M2M_REASON if k is NumberKind.M2M else f"{k.label}の番号です。{_ASK_MOBILE}")
    for t, k in {
        _MOBILE: NumberKind.MOBILE,
        _PAGER: NumberKind.M2M,
        _FIXED_LINE: NumberKind.LANDLINE,
        _FIXED_OR_MOBILE: NumberKind.OTHER,  # never in JP metadata; not provably mobile
        _TOLL_FREE: NumberKind.TOLL_FREE,
        _PREMIUM: NumberKind.PREMIUM,
        _VOIP: NumberKind.IP,
        _PERSONAL: NumberKind.PERSONAL,
        _UAN: NumberKind.NAVI_DIAL,
        _SHARED_COST: NumberKind.OTHER,
        _VOICEMAIL: NumberKind.OTHER,
    }.items()
}
_NOT_MOBILE = ResultCode.ERR_NOT_MOBILE
_MOBILE_KIND = NumberKind.MOBILE
_M2M_14_DIGITS = re.compile(r"0200\d{10}", re.ASCII)
_ELEVEN_DIGIT_PREFIX = re.compile(r"0[256789]0")


def _verdict(national: str, nsn: str, pn_type: int | None, *, allow_m2m: bool) -> PhoneCheck:
    """The verdict for a national number given phonenumbers' type (None: not a valid number)."""
    if pn_type is None or pn_type == _UNKNOWN:
        if _M2M_14_DIGITS.fullmatch(national) is None:
            return _invalid(_invalid_reason(national))
        pn_type, nsn = _PAGER, national[1:]
    kind, reason = _OUTCOMES.get(pn_type) or _OUTCOMES[_SHARED_COST]
    if pn_type == _MOBILE or (allow_m2m and pn_type == _PAGER):
        return PhoneCheck(True, None, "", national, "+81" + nsn, kind)
    return PhoneCheck(False, _NOT_MOBILE, reason, national, "+81" + nsn, kind)


# 総務省's number plan (電気通信番号計画) where phonenumbers' metadata lumps or leaves out blocks:
# 0204 is 無線呼出番号 and 11-digit 0200 is not a number (020 M2M is 020CDEFGHJK with C not 0 or 4,
# and 0200 has 14 digits); 0600DEFGHJK is an FMC電話番号; 0170/0180 are 付加的役務電話番号
# (0AB0DEFGHJ). None of them can receive an SMS, whatever the 020番号 setting says.
_PLAN_BLOCKS = r"0(?:204\d{7}|200\d{7}|600\d{7}|1[78]0\d{6})"
# (first four digits, length) → kind, for the blocks above that are numbers.
_PLAN_KINDS = {
    ("0204", 11): NumberKind.PAGER,
    ("0600", 11): NumberKind.FMC,
    ("0170", 10): NumberKind.SERVICE,
    ("0180", 10): NumberKind.SERVICE,
}
_M2M_11_DIGITS = _invalid("桁数が違います（11桁）。0200で始まる020番号（M2M・IoT用）は14桁です")


def _plan_verdict(national: str) -> PhoneCheck | None:
    """The verdict for a number in one of the _PLAN_BLOCKS; None for any other number."""
    kind = _PLAN_KINDS.get((national[:4], len(national)))
    if kind is not None:
        reason = f"{kind.label}の番号です。SMSは届きません。{_ASK_MOBILE}"
        return PhoneCheck(False, _NOT_MOBILE, reason, national, "+81" + national[1:], kind)
    if len(national) == 11 and national.startswith("0200"):
        return _M2M_11_DIGITS
    return None


def _invalid_reason(national: str) -> str:
    length = len(national)
    eleven = _ELEVEN_DIGIT_PREFIX.match(national) is not None
    if eleven and length != 11:
        return f"桁数が違います（{length}桁）。携帯電話の番号は11桁です"
    if not eleven and not national.startswith("00") and length != 10:
        return f"桁数が違います（{length}桁）。固定電話は10桁、携帯電話は11桁です"
    return f"有効な電話番号ではありません（{length}桁）。使われていない番号帯です"


_Table = dict[int, tuple[re.Pattern[str], tuple[int, ...], re.Pattern[str] | None]]
_TABLES: _Table = {}  # filled on first use: phonenumbers is imported then, not with this module
# National length → a pattern matching exactly the nationals the fast path calls MOBILE.
_MOBILE_EXACT: dict[int, re.Pattern[str]] = {}


def _tables() -> _Table:
    """JP metadata compiled once: nsn length → (type pattern, fixed-or-mobile pattern or None).

    The type pattern mirrors phonenumberutil._number_type_helper: the general description must
    match (a lookahead), then the first type to match in phonenumbers' order wins (alternation
    order), each alternative present only for the lengths its possible_length allows. The group
    that matched is named after the type: ``t3`` → TOLL_FREE.
    """
    import phonenumbers

    meta = phonenumbers.PhoneMetadata.metadata_for_region("JP")
    assert meta is not None
    same = bool(meta.same_mobile_and_fixed_line_pattern)
    order = [
        (_PREMIUM, meta.premium_rate),
        (_TOLL_FREE, meta.toll_free),
        (_SHARED_COST, meta.shared_cost),
        (_VOIP, meta.voip),
        (_PERSONAL, meta.personal_number),
        (_PAGER, meta.pager),
        (_UAN, meta.uan),
        (_VOICEMAIL, meta.voicemail),
        (_FIXED_LINE, meta.fixed_line),
        (_MOBILE, None if same else meta.mobile),
    ]

    def pattern(desc: phonenumbers.PhoneNumberDesc | None, n: int) -> str | None:
        # As _is_number_matching_desc: no desc or pattern → no match; no lengths → any length.
        if desc is None or not desc.national_number_pattern:
            return None
        if desc.possible_length and n not in desc.possible_length:
            return None
        return desc.national_number_pattern

    tables = {}
    for n in meta.general_desc.possible_length if meta.general_desc else ():
        general = pattern(meta.general_desc, n)
        if general is None:
            continue
        alternatives = "|".join(
            f"(?P<t{pn_type}>{p})" for pn_type, desc in order if (p := pattern(desc, n))
        )
        # A fixed-line match is FIXED_LINE_OR_MOBILE when mobile also matches (or `same`).
        either = ".*" if same else pattern(meta.mobile, n)
        compiled = re.compile(f"(?=(?:{general})\\Z)(?:{alternatives})")
        # match.lastindex is the outermost group that closed last: the type's named group.
        types = [_UNKNOWN] * (compiled.groups + 1)
        for name, index in compiled.groupindex.items():
            types[index] = int(name[1:])
        tables[n] = (compiled, tuple(types), re.compile(either) if either else None)
        # MOBILE iff: eligible for the fast path (see _classify), the general description
        # matches, no type before mobile matches, mobile matches.
        earlier = [p for t, d in order[:-1] if (p := pattern(d, n))]
        mobile = pattern(order[-1][1], n)
        if mobile:
            _MOBILE_EXACT[n + 1] = re.compile(
                f"(?!{_PLAN_BLOCKS}\\Z)0(?!0|10)(?=(?:{general})\\Z)"
                f"(?!(?:{'|'.join(earlier) or '(?!)'})\\Z)(?:{mobile})"
            )
    _TABLES.update(tables)
    return _TABLES


def _fast_type(nsn: str) -> int:
    """phonenumberutil._number_type_helper for JP, in one precompiled match."""
    entry = (_TABLES or _tables()).get(len(nsn))
    if entry is None:
        return _UNKNOWN
    pattern, types, either = entry
    match = pattern.fullmatch(nsn)
    if match is None or match.lastindex is None:
        return _UNKNOWN
    pn_type = types[match.lastindex]
    if pn_type == _FIXED_LINE and either is not None and either.fullmatch(nsn):
        return _FIXED_OR_MOBILE  # never in JP metadata today; kept for parity
    return pn_type


_NOT_FAST = ("", "0")


def _slow_check(national: str, *, allow_m2m: bool) -> PhoneCheck:
    """The plain phonenumbers verdict: parse + is_valid_number + number_type."""
    import phonenumbers

    try:
        number = phonenumbers.parse(national, "JP")
    except phonenumbers.NumberParseException:
        return _verdict(national, national[1:], None, allow_m2m=allow_m2m)
    valid = phonenumbers.is_valid_number(number)
    if number.country_code != 81:  # '010 1 …' dialled abroad from Japan
        return _foreign("") if valid else _invalid(_invalid_reason(national))
    nsn = phonenumbers.national_significant_number(number)
    if not valid:
        return _verdict(national, nsn, None, allow_m2m=allow_m2m)
    canonical = nsn if nsn.startswith("0") else "0" + nsn  # '0037…' keeps its zeros in nsn
    return _verdict(canonical, nsn, int(phonenumbers.number_type(number)), allow_m2m=allow_m2m)


def _classify(national: str, *, allow_m2m: bool) -> PhoneCheck:
    # The common case first, in one match (this runs once per distinct number of a column).
    if not _TABLES:
        _tables()
    mobile = _MOBILE_EXACT.get(len(national))
    if mobile is not None and mobile.fullmatch(national):
        return PhoneCheck(True, None, "", national, "+81" + national[1:], _MOBILE_KIND)
    if national.startswith(_COUNTRY_CODE):  # "+81 10…": a national number, classified as one
        nsn = national[len(_COUNTRY_CODE) :]
        return _verdict("0" + nsn, nsn, _fast_type(nsn), allow_m2m=allow_m2m)
    planned = _plan_verdict(national)
    if planned is not None:
        return planned
    # For '0' + a non-zero digit, phonenumbers strips exactly that '0' and classifies the rest
    # (or, for lengths it cannot hold, keeps '0…', which is never valid either). '00…' (toll-free
    # 00xx, national-prefix transforms) and '010…' (the international call prefix) go the slow way.
    if national[1:2] in _NOT_FAST or national.startswith("010"):
        return _slow_check(national, allow_m2m=allow_m2m)
    if len(national) > 18:  # longer than any number plan; phonenumbers would refuse it too
        return _invalid(_invalid_reason(national))
    nsn = national[1:]
    return _verdict(national, nsn, _fast_type(nsn), allow_m2m=allow_m2m)


# ---- public API -------------------------------------------------------------------------------


def check(value: object, *, allow_m2m: bool = False) -> PhoneCheck:
    """Check one cell value; ``ok`` means an SMS can be sent to ``national``."""
    cleaned = _clean(value)
    if isinstance(cleaned, PhoneCheck):
        return cleaned
    return _classify(cleaned, allow_m2m=allow_m2m)


def check_many(values: Iterable[object], *, allow_m2m: bool = False) -> list[PhoneCheck]:
    """``[check(v) for v in values]``, computed once per distinct value and national number."""
    values = values if isinstance(values, (list, tuple)) else list(values)
    # A text is its own key; other values carry their class, which keeps True, 1 and 1.0 apart.
    keys = [v if v.__class__ is str else (v.__class__, v) for v in values]
    try:
        distinct = dict.fromkeys(keys)
    except TypeError:  # an unhashable cell value: no caching
        return [check(v, allow_m2m=allow_m2m) for v in values]
    # Whole-column stages as comprehensions: much cheaper per value than one loop with branches.
    cleaned = [_clean_text(k) if isinstance(k, str) else _clean(k[1]) for k in distinct]
    nationals = dict.fromkeys(c for c in cleaned if isinstance(c, str))
    by_national = {n: _classify(n, allow_m2m=allow_m2m) for n in nationals}
    by_key = {
        k: c if isinstance(c, PhoneCheck) else by_national[c]
        for k, c in zip(distinct, cleaned, strict=True)
    }
    return list(map(by_key.__getitem__, keys))


def mask(number: str) -> str:
    """A number fit for logs: ``090-****-5678``; never more than the last 4 digits (+ 0X0)."""
    cleaned = _clean(number)
    if isinstance(cleaned, str):
        digits = cleaned
    else:
        text = unicodedata.normalize("NFKC", str(number))
        digits = "".join(c for c in text if c.isascii() and c.isdigit())
    if len(digits) < 8:  # too short for the last 4 to be a small part of it
        return "*" * len(digits) if digits else "****"
    if _ELEVEN_DIGIT_PREFIX.match(digits):
        return f"{digits[:3]}-****-{digits[-4:]}"
    return f"***-****-{digits[-4:]}"
