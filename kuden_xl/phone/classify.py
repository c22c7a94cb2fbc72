"""Step 2 of a phone check: a national number → its kind, with phonenumbers' JP metadata.

The fast path compiles the metadata's own patterns once; 総務省's number plan wins where it is more
precise than the metadata. phonenumbers is imported on first use.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..schema import ResultCode
from .clean import _COUNTRY_CODE
from .result import _ASK_MOBILE, _M2M_REASON, NumberKind, PhoneCheck, _foreign, _invalid

if TYPE_CHECKING:
    import phonenumbers  # imported for real on first use (see _tables), not with this module


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


def _desc_pattern(desc: phonenumbers.PhoneNumberDesc | None, n: int) -> str | None:
    """A description's pattern for nsn length ``n``; None where it cannot match that length."""
    # As _is_number_matching_desc: no desc or pattern → no match; no lengths → any length.
    if desc is None or not desc.national_number_pattern:
        return None
    if desc.possible_length and n not in desc.possible_length:
        return None
    return desc.national_number_pattern


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

    tables = {}
    for n in meta.general_desc.possible_length if meta.general_desc else ():
        general = _desc_pattern(meta.general_desc, n)
        if general is None:
            continue
        alternatives = "|".join(
            f"(?P<t{pn_type}>{p})" for pn_type, desc in order if (p := _desc_pattern(desc, n))
        )
        # A fixed-line match is FIXED_LINE_OR_MOBILE when mobile also matches (or `same`).
        either = ".*" if same else _desc_pattern(meta.mobile, n)
        compiled = re.compile(f"(?=(?:{general})\\Z)(?:{alternatives})")
        # match.lastindex is the outermost group that closed last: the type's named group.
        types = [_UNKNOWN] * (compiled.groups + 1)
        for name, index in compiled.groupindex.items():
            types[index] = int(name[1:])
        tables[n] = (compiled, tuple(types), re.compile(either) if either else None)
        # MOBILE iff: eligible for the fast path (see _classify), the general description
        # matches, no type before mobile matches, mobile matches.
        earlier = [p for t, d in order[:-1] if (p := _desc_pattern(d, n))]
        mobile = _desc_pattern(order[-1][1], n)
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
